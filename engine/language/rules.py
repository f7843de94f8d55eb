"""The rule language: typed models of a YAML rule file.

A rule file is a pack of rules. Each rule says about which subject it decides (a client or a
manager), when it applies (a condition tree over facts and derived signals) and what follows
(derived signals, recommended actions, coaching topics, vetoes). The JSON Schema that editors use
to validate rule files is generated from these models (:func:`rule_file_json_schema`).

Condition forms (each a mapping with one key)::

    all: [cond, ...]            every condition holds
    any: [cond, ...]            at least one holds
    not: cond                   the condition does not hold
    signal: name                the derived signal holds for the subject
    exists: {fact: interaction, where: cond}
                                some related fact (the subject's interactions, a manager's
                                clients) satisfies ``where``
    client.field: {op: value}   a comparison on a field; ``client.field: value`` means ``eq``
    compare: {left: client.a, op: gt, right: client.b, times: 1.2, plus: 0, unknown: no_match}
                                two fields of facts in scope compared: ``a > b * 1.2 + 0``
                                (``plus`` is days when both are dates); a missing value on
                                either side counts as ``unknown`` says, else the comparison fails
    events: {where: cond, within_days: 30, count: {ge: 2}}
                                an aggregate (count, sum, min, max, latest, days_since_latest)
                                of the subject's history events that match ``where``, dated in
                                the last N days, compared with operators; ``never:`` says what
                                no event at all counts as (engine/language/aggregates.py)
    deadline: {elapsed: client.interest_unpaid_days, threshold: interest_unpaid, within_days: 4}
                                a dated threshold crossed within N days: the deadline is a date
                                field (``due``), a start date plus ``after_days`` (``since``) or a
                                count of days against ``after_days`` (``elapsed``); ``threshold``
                                names what crossing it costs (engine/language/deadlines.py)
    linked: {kind: guarantor_of, where: {signal: loan_overdue}}
                                some client the subject is linked to (a ``link`` fact: guarantor
                                of, same owner, member of a group, related company) satisfies
                                ``where`` (its fields, ``link.`` fields, its signals); ``direction``
                                says which end the subject is (engine/language/links.py)
    client.field: {op: value, unknown: match}
                                ... and what a missing value counts as: ``match``, ``no_match``
                                or ``ask`` (fails, and the decision asks for the value under
                                ``to_confirm``); without it, the operators decide
"""

from __future__ import annotations

import datetime as dt
import keyword
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    RootModel,
    Tag,
    WithJsonSchema,
    create_model,
    field_validator,
    model_validator,
)

from rm_advisor.engine.language.aggregates import AGGREGATES, CAN_BE_NEVER, MEANING, NEEDS_OF
from rm_advisor.engine.language.deadlines import BASES
from rm_advisor.engine.language.deadlines import MEANING as DEADLINE_MEANING
from rm_advisor.engine.language.knowledge import Domain, Provenance, Text
from rm_advisor.engine.language.operators import COMPARE_OPERATORS, OPERATORS, UNKNOWN, CompareOp, Unknown

Scalar = bool | int | float | dt.date | str
FIELD_REF = r"^[a-z][a-z_]*\.[a-z][a-z0-9_]*$"
RULE_ID = r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$"
Subject = Literal["client", "manager"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


Days = Annotated[int, Field(ge=0)] | Annotated[str, Field(pattern=r"^\$[a-z][a-z0-9_]*$")]


class _OpsBase(_Strict):
    """Comparisons on one field; several operators in one mapping must all hold. ``unknown`` says
    what a missing value counts as."""

    unknown: Unknown | None = Field(default=None, description="what a missing value counts as: " + "; ".join(
        f"{mode}: {text}" for mode, text in UNKNOWN.items()) + ". Without it, a missing value fails every comparison "
        "except `present: false`")

    @model_validator(mode="after")
    def _at_least_one(self) -> _OpsBase:
        if not self.used():
            raise ValueError(f"give at least one operator: {', '.join(OPERATORS)}")
        return self

    def used(self) -> dict[str, Any]:
        """The operators given, by their YAML names."""
        return {_YAML_NAME.get(k, k): v for k, v in self.__dict__.items() if v is not None and k != "unknown"}


#: the operand of each operator kind (engine/language/operators.py says which kind each operator takes)
_OPERAND_TYPES: dict[str, Any] = {"value": Scalar, "values": tuple[Scalar, ...], "range": tuple[Scalar, Scalar],
                                  "days": Days, "flag": bool}
_YAML_NAME = {f"{name}_": name for name in OPERATORS if keyword.iskeyword(name)}  # `in` is a Python keyword


def _ops_model() -> type[_OpsBase]:
    """The mapping ``{op: operand}``: one optional field per operator of the table."""
    fields: dict[str, Any] = {
        f"{op.name}_" if keyword.iskeyword(op.name) else op.name:
        (_OPERAND_TYPES[op.operand] | None, Field(default=None, alias=op.name, description=op.meaning))
        for op in OPERATORS.values()}
    return create_model("Ops", __base__=_OpsBase, __doc__=_OpsBase.__doc__, **fields)


if TYPE_CHECKING:
    Ops = _OpsBase
else:
    Ops = _ops_model()


def _operand_tag(value: Any) -> str:
    return "ops" if isinstance(value, (dict, Ops)) else "value"


Operand = Annotated[Annotated[Ops, Tag("ops")] | Annotated[Scalar, Tag("value")],
                    Discriminator(_operand_tag)]


class FieldCond(RootModel[dict[Annotated[str, Field(pattern=FIELD_REF)], Operand]]):
    """``fact.field: {op: value}`` or ``fact.field: value`` (equality)."""

    # In the JSON Schema, a mapping with one key that is a field reference: without this, every
    # mapping (an `all`, an `exists`) would match this form too, and the schema's `oneOf` of the
    # condition forms would refuse every `all` of the shipped rules.
    model_config = ConfigDict(frozen=True, json_schema_extra={"additionalProperties": False,
                                                              "minProperties": 1, "maxProperties": 1})

    @field_validator("root")
    @classmethod
    def _one_field(cls, v: dict[str, Any]) -> dict[str, Any]:
        if len(v) != 1:
            raise ValueError("a field condition names exactly one field; combine several with `all`")
        return v

    @property
    def ref(self) -> str:
        return next(iter(self.root))

    @property
    def ops(self) -> dict[str, Any]:
        spec = self.root[self.ref]
        return spec.used() if isinstance(spec, Ops) else {"eq": spec}

    @property
    def unknown(self) -> Unknown | None:
        """What a missing value counts as, when the condition says (``unknown:``)."""
        spec = self.root[self.ref]
        return spec.unknown if isinstance(spec, Ops) else None


class AllCond(_Strict):
    all: tuple[Condition, ...] = Field(min_length=1)


class AnyCond(_Strict):
    any: tuple[Condition, ...] = Field(min_length=1)


class NotCond(_Strict):
    not_: Condition = Field(alias="not")


class SignalCond(_Strict):
    signal: str = Field(pattern=r"^[a-z][a-z0-9_]*$")


#: a number as YAML writes it (``true`` is no number; ``1.2`` in quotes neither), or a ``$parameter``
Number = (Annotated[int, Field(strict=True)] | Annotated[float, Field(strict=True, allow_inf_nan=False)]
          | Annotated[str, Field(pattern=r"^\$[a-z][a-z0-9_]*$")])


class CompareSpec(_Strict):
    """``left <op> right * times + plus``: a field compared with another field, not with a constant."""

    left: str = Field(pattern=FIELD_REF, description="the field compared (fact.field)")
    op: CompareOp = Field(description="; ".join(f"{o}: {OPERATORS[o].meaning}" for o in COMPARE_OPERATORS))
    right: str = Field(pattern=FIELD_REF, description="the field it is compared with (fact.field)")
    times: Number | None = Field(default=None, description="multiply the right field by this (numbers only)")
    plus: Number | None = Field(default=None, description="then add this: a number, or whole days when both "
                                                          "fields are dates")
    unknown: Unknown | None = Field(default=None, description="what a missing value on either side counts as: "
                                    "match or no_match; without it the comparison fails (and `not` of it holds)")


class CompareCond(_Strict):
    compare: CompareSpec


class EventsSpec(_Strict):
    """An aggregate of the subject's history events that match ``where``, in a window before the as-of
    date, compared with operators: "at least 2 failed calls in the last 30 days"."""

    where: Condition | None = Field(default=None, description="which events count: a condition on "
                                    "`interaction.` fields (and the subject's); without it, every event")
    within_days: Days | None = Field(default=None, description="count only events dated from N days before the "
                                     "as-of date up to it; without it, every event up to the as-of date")
    of: str | None = Field(default=None, pattern=FIELD_REF, description="the interaction field that sum, min, "
                           "max and latest aggregate")
    count: Ops | None = Field(default=None, description=MEANING["count"])
    sum: Ops | None = Field(default=None, description=MEANING["sum"])
    min: Ops | None = Field(default=None, description=MEANING["min"])
    max: Ops | None = Field(default=None, description=MEANING["max"])
    latest: Ops | None = Field(default=None, description=MEANING["latest"])
    days_since_latest: Ops | None = Field(default=None, description=MEANING["days_since_latest"])
    never: Literal["match", "no_match"] | None = Field(default=None, description=(
        "what no matching event counts as for min, max, latest and days_since_latest: match or no_match; without "
        "it, it fails every comparison (and `not` of the condition holds)"))

    @model_validator(mode="after")
    def _one_aggregate(self) -> EventsSpec:
        given = [a for a in AGGREGATES if getattr(self, a) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one aggregate: {', '.join(AGGREGATES)}")
        if (given[0] in NEEDS_OF) != (self.of is not None):
            raise ValueError(f"`{given[0]}` " + ("needs `of`: the field it aggregates" if given[0] in NEEDS_OF
                                                 else "takes no `of`"))
        if self.never is not None and given[0] not in CAN_BE_NEVER:
            raise ValueError(f"`never:` beside `{given[0]}`, which is 0 when there is no event")
        return self

    @property
    def aggregate(self) -> str:
        """The aggregate given (``count``, ``sum``...)."""
        return next(a for a in AGGREGATES if getattr(self, a) is not None)

    @property
    def test(self) -> Ops:
        """The operators the aggregate is compared with."""
        ops: Ops = getattr(self, self.aggregate)
        return ops


class EventsCond(_Strict):
    events: EventsSpec


class DeadlineSpec(_Strict):
    """A deadline ahead: the day a dated threshold is crossed falls from the as-of date up to
    ``within_days`` after it ("interest unpaid 11 days, the threshold is 15: 4 days left")."""

    due: str | None = Field(default=None, pattern=FIELD_REF, description=DEADLINE_MEANING["due"])
    since: str | None = Field(default=None, pattern=FIELD_REF, description=DEADLINE_MEANING["since"])
    elapsed: str | None = Field(default=None, pattern=FIELD_REF, description=DEADLINE_MEANING["elapsed"])
    after_days: Days | None = Field(default=None, description="with `since` or `elapsed`: the days after which "
                                    "the threshold is crossed; without it, the `threshold`'s days")
    within_days: Days = Field(description="holds when the deadline is from the as-of date (0 days left) up to "
                              "this many days after it")
    threshold: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*$", description=(
        "a threshold of knowledge_base/thresholds.yaml: its days (when `after_days` is not given) and what "
        "crossing it costs, which reasons show as {deadline.cost}"))
    unknown: Literal["match", "no_match"] | None = Field(default=None, description=(
        "what a missing value (no date, no count) counts as: match or no_match; without it the condition fails "
        "(and `not` of it holds)"))

    @model_validator(mode="after")
    def _one_basis(self) -> DeadlineSpec:
        given = [b for b in BASES if getattr(self, b) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of {', '.join(BASES)}: the field that places the deadline")
        if given[0] == "due" and self.after_days is not None:
            raise ValueError("`after_days` beside `due`: the date is the deadline itself")
        if given[0] != "due" and self.after_days is None and self.threshold is None:
            raise ValueError(f"`{given[0]}` needs `after_days` or a `threshold` that gives the days")
        return self

    @property
    def basis(self) -> str:
        """How the deadline is placed: ``due``, ``since`` or ``elapsed``."""
        return next(b for b in BASES if getattr(self, b) is not None)

    @property
    def ref(self) -> str:
        """The field that places the deadline."""
        ref: str = getattr(self, self.basis)
        return ref


class DeadlineCond(_Strict):
    deadline: DeadlineSpec


class LinkedSpec(_Strict):
    """Some client the subject is linked to — by a ``link`` fact of one of ``kind`` — satisfies
    ``where``: "a client who guarantees an overdue loan", "a member of a group with a red flag"."""

    kind: Annotated[tuple[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")], ...], WithJsonSchema({
        "anyOf": [{"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
                  {"type": "array", "items": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"}, "minItems": 1}],
        "description": "the link kinds that count (values of `link.kind`): one or a list"})] = Field(min_length=1)
    direction: Literal["out", "in", "both"] = Field(default="out", description=(
        "out: the subject is the link's from_client (it guarantees, it is the member); in: its to_client (it is "
        "guaranteed, it is the group); both: either end"))
    where: Condition | None = Field(default=None, description=(
        "what the linked client must satisfy: its `client.` fields, the link's `link.` fields, and at its top "
        "its signals; without it, any linked client"))

    @field_validator("kind", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return (v,) if isinstance(v, str) else v


class LinkedCond(_Strict):
    linked: LinkedSpec


class ExistsSpec(_Strict):
    fact: str
    where: Condition | None = None


class ExistsCond(_Strict):
    exists: ExistsSpec


_KEYWORDS = ("all", "any", "not", "signal", "exists", "compare", "events", "deadline", "linked")


def _condition_tag(value: Any) -> str | None:
    if isinstance(value, dict):
        for key in _KEYWORDS:
            if key in value:
                return key
        return "field"
    tags: dict[type[BaseModel], str] = {AllCond: "all", AnyCond: "any", NotCond: "not", SignalCond: "signal",
                                        ExistsCond: "exists", CompareCond: "compare", EventsCond: "events",
                                        DeadlineCond: "deadline", LinkedCond: "linked", FieldCond: "field"}
    return tags.get(type(value))


Condition = Annotated[
    Annotated[AllCond, Tag("all")] | Annotated[AnyCond, Tag("any")] | Annotated[NotCond, Tag("not")]
    | Annotated[SignalCond, Tag("signal")] | Annotated[ExistsCond, Tag("exists")]
    | Annotated[CompareCond, Tag("compare")] | Annotated[EventsCond, Tag("events")]
    | Annotated[DeadlineCond, Tag("deadline")] | Annotated[LinkedCond, Tag("linked")]
    | Annotated[FieldCond, Tag("field")],
    Discriminator(_condition_tag, custom_error_type="condition",
                  custom_error_message="a condition is a mapping: all / any / not / signal / exists / compare / "
                                       "events / deadline / linked / fact.field"),
]


class ActionOut(_Strict):
    """Recommend an action from the action catalogue for the client."""

    action: str
    reason: Text = Field(description="why, in zh and en; {client.field} placeholders are filled from facts")
    priority: int | None = Field(default=None, ge=0, le=100, description="overrides the rule's priority")


class CoachOut(_Strict):
    """Recommend a coaching topic from the coaching catalogue for the manager."""

    topic: str
    reason: Text
    priority: int | None = Field(default=None, ge=0, le=100)


class VetoOut(_Strict):
    """Block actions for the subject, whatever their priority: risk and compliance rules."""

    actions: tuple[str, ...] = Field(default=(), description="action ids this veto blocks")
    all_sales: bool = Field(default=False, description="block every action of kind `sales` in the catalogue")
    reason: Text

    @model_validator(mode="after")
    def _blocks_something(self) -> VetoOut:
        if not self.actions and not self.all_sales:
            raise ValueError("a veto names `actions` or sets `all_sales: true`")
        return self


class Then(_Strict):
    signals: tuple[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")], ...] = Field(
        default=(), description="derived signals asserted about the subject")
    actions: tuple[ActionOut, ...] = ()
    coaching: tuple[CoachOut, ...] = ()
    veto: VetoOut | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> Then:
        if not (self.signals or self.actions or self.coaching or self.veto):
            raise ValueError("`then` needs at least one of signals, actions, coaching, veto")
        return self


class Effective(_Strict):
    from_: dt.date | None = Field(default=None, alias="from")
    until: dt.date | None = None


class Rule(_Strict):
    """One rule."""

    id: str = Field(pattern=RULE_ID, description="unique id, e.g. tobacco.network_ordering")
    title: Text
    domain: Domain
    subject: Subject = Field(description="what the rule decides about: a client or a manager")
    provenance: Provenance
    priority: int = Field(default=50, ge=0, le=100, description="rank of what it recommends, 0-100")
    effective: Effective | None = None
    owner: str | None = Field(default=None, min_length=1, max_length=100,
                              description="who answers for the rule: a user name or a team (for rule releases)")
    review_by: dt.date | None = Field(default=None, description="the date by which the rule is to be reviewed; "
                                      "`rm-advisor check` warns (review_overdue) once it is past")
    when: Condition
    then: Then
    tags: tuple[str, ...] = ()


class RuleFile(_Strict):
    """A YAML rule file: a named pack of rules."""

    pack: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: Text | None = None
    rules: tuple[Rule, ...] = Field(min_length=1)


for _model in (AllCond, AnyCond, NotCond, ExistsSpec, ExistsCond, LinkedSpec, LinkedCond, EventsSpec, EventsCond,
               Rule, RuleFile, Then):
    _model.model_rebuild()


def file_json_schema(model: type[BaseModel], file_name: str, title: str) -> dict[str, Any]:
    """The JSON Schema of a YAML file format written from its model, for editors (``rules/<file_name>``)."""
    schema = model.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://rm-advisor.invalid/{file_name}"
    schema["title"] = title
    return schema


def rule_file_json_schema() -> dict[str, Any]:
    """The JSON Schema of a rule file, for editors (committed as ``rules/rules.schema.json``)."""
    return file_json_schema(RuleFile, "rules.schema.json", "rm-advisor rule file")
