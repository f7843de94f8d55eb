"""The knowledge base: fact schemas, the signal, action and coaching catalogues, source documents.

All of it is plain data in ``knowledge_base/*.yaml``; this module holds the typed models those
files are checked against and the immutable :class:`KnowledgeBase` the rest of the engine reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Domain = Literal["bank", "tobacco", "telecom", "generic"]
FieldType = Literal["string", "integer", "number", "boolean", "date", "enum"]
ID_PATTERN = r"^[a-z][a-z0-9_]*$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(Strict):
    """A text in Chinese and English; both are required."""

    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class Provenance(Strict):
    """Where a piece of domain content comes from: a source document and an exact short quote."""

    document: str = Field(pattern=r"^D[0-9]$", description="source document id, see knowledge_base/documents.yaml")
    quote: str = Field(min_length=2, description="exact short quote, found verbatim in the document")
    ref: str | None = Field(default=None, description="item id in the structured extraction, e.g. D4-TB-03")


#: How a boolean reads in a text when its field gives no labels of its own.
BOOLEAN_LABELS: dict[str, Text] = {"true": Text(zh="是", en="yes"), "false": Text(zh="否", en="no")}


class FieldSpec(Strict):
    """One field of a fact type."""

    type: FieldType
    description: Text
    values: tuple[str, ...] | None = Field(default=None, description="allowed values of an enum field")
    labels: dict[str, Text] = Field(
        default_factory=dict, description="how each value reads in a text, in zh and en: every value of an enum "
                                          "field (the loader refuses a value without one); `true` and `false` of "
                                          "a boolean field (default 是/否, yes/no)")
    when_missing: Text | None = Field(
        default=None, description="what a reason text shows when the value is missing (e.g. 该客户 / the client "
                                  "for a name); a placeholder's own fallback, `{client.name|...}`, comes first")
    unit: str | None = None
    min: float | None = None
    max: float | None = None
    required: bool = False
    sensitive: bool = Field(default=False, description="a text field (name, phone, id number, note) "
                                                       "masked when decisions are logged")

    @field_validator("values")
    @classmethod
    def _values_only_for_enum(cls, v: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if v is not None and len(v) == 0:
            raise ValueError("an enum needs at least one value")
        return v

    @field_validator("labels", mode="before")
    @classmethod
    def _boolean_keys_as_written(cls, v: Any) -> Any:
        # YAML reads `true:` and `false:` as booleans; the labels of a boolean field are keyed by
        # the words, as rules write the values
        if isinstance(v, dict):
            return {("true" if k else "false") if isinstance(k, bool) else k: x for k, x in v.items()}
        return v

    @model_validator(mode="after")
    def _labels_only_for_values(self) -> FieldSpec:
        if self.labels and self.type not in ("enum", "boolean"):
            raise ValueError("only enum and boolean fields have value labels")
        return self

    def label(self, value: Any) -> Text | None:
        """How ``value`` of this field reads (an enum's label, a boolean's yes or no); None for
        values that read as themselves (numbers, dates, text) and for a value without a label."""
        if self.type == "boolean" and isinstance(value, bool):
            key = "true" if value else "false"
            return self.labels.get(key) or BOOLEAN_LABELS[key]
        if self.type == "enum":
            return self.labels.get(str(value))
        return None

    @model_validator(mode="after")
    def _sensitive_only_for_text(self) -> FieldSpec:
        # A masked value must still be a valid value of the field, so that a logged decision can be
        # replayed on its masked input; only text has a mask ("***") that stays valid.
        if self.sensitive and self.type != "string":
            raise ValueError("only string fields can be sensitive (the mask replaces the text)")
        return self


class FactSpec(Strict):
    """A fact type: its plural name in input documents, its links to other facts, its fields."""

    plural: str = Field(pattern=r"^[a-z_]+$")
    description: Text
    subject: bool = Field(default=False, description="decisions are made for facts of this type")
    links: dict[str, str] = Field(default_factory=dict,
                                  description="linked fact type -> field holding that fact's id")
    segment_by: tuple[str, ...] = Field(
        default=(), description="fields that name a subject's segment in reports (domain/first given of the "
                                "others, e.g. domain then client_class or tier)")
    fields: dict[str, FieldSpec]


class FactSchemaFile(Strict):
    facts: dict[str, FactSpec]


class FactExtension(Strict):
    fields: dict[str, FieldSpec]


class FactExtensionFile(Strict):
    """``knowledge_base/facts/*.yaml``: more fields for existing fact types (one file per domain)."""

    extend: dict[str, FactExtension]


class SignalSpec(Strict):
    """A derived signal: asserted by rules about one subject, matched by other rules."""

    id: str = Field(pattern=ID_PATTERN)
    subject: Literal["client", "manager"]
    title: Text
    description: Text


class SignalFile(Strict):
    signals: tuple[SignalSpec, ...]


Channel = Literal["visit", "phone", "message", "in_branch", "internal"]
Effort = Literal["low", "medium", "high"]
OwnerRole = Literal["client_manager", "phone_order_clerk", "delivery_staff", "monopoly_administrator",
                    "credit_department", "marketing_department", "branch_head", "service_centre"]
#: What an action is for: ``risk`` (risk and compliance), ``obligation`` (something owed: collection,
#: complaint handling), ``service`` or ``sales``. Contact policies may hold back only the kinds they
#: list, and never a duty (risk, obligation): a duty is only snoozed to a date.
ActionKind = Literal["risk", "obligation", "service", "sales"]
ACTION_KINDS: tuple[ActionKind, ...] = ("risk", "obligation", "service", "sales")
#: Kinds no contact policy may hold back (a snooze to a date still puts them off).
DUTY_KINDS: frozenset[ActionKind] = frozenset({"risk", "obligation"})
#: Each kind as people read it (decisions and worklists show this, never the code).
ACTION_KIND_TITLES: dict[ActionKind, Text] = {
    "risk": Text(zh="风险合规事项", en="risk and compliance"),
    "obligation": Text(zh="应尽义务", en="obligation"),
    "service": Text(zh="服务", en="service"),
    "sales": Text(zh="营销", en="sales"),
}


class ActionSpec(Strict):
    """A next-best-action a manager (or a role beside the manager) can take with a client."""

    id: str = Field(pattern=ID_PATTERN)
    title: Text
    description: Text
    domain: Domain
    channel: Channel
    effort: Effort
    owner_role: OwnerRole = "client_manager"
    kind: ActionKind = Field(description="risk, obligation, service or sales: what may hold it back")
    provenance: Provenance

    @property
    def sales(self) -> bool:
        """A sales action (kind ``sales``): vetoes with ``all_sales`` block it."""
        return self.kind == "sales"

    @property
    def duty(self) -> bool:
        """A risk or obligation action: no contact policy suppresses or caps it."""
        return self.kind in DUTY_KINDS


class ActionFile(Strict):
    actions: tuple[ActionSpec, ...]

    @model_validator(mode="before")
    @classmethod
    def _catalogue_before_kinds(cls, data: Any) -> Any:
        """A catalogue written before kinds (no action has a ``kind``; ``sales: true`` marked the
        sales actions) loads with every action of kind service or sales, which is how contact
        policies treated them then: decisions logged on such a revision replay the same."""
        actions = data.get("actions") if isinstance(data, dict) else None
        if not isinstance(actions, list) or not actions or not all(isinstance(a, dict) for a in actions):
            return data
        if any("kind" in a for a in actions):
            return data
        return {**data, "actions": [_with_kind_from_sales_flag(a) for a in actions]}


class AlternativeGroup(Strict):
    """Actions that answer one cause, from different packs (a retailer's open complaint: the
    tobacco pack's complaint visit, the generic pack's complaint call). Recommended together for
    one subject they become one recommendation — the first of ``actions`` present (the most
    specific first), scored as the most urgent of them — with the others listed as its
    alternatives and their reasons merged into it."""

    id: str = Field(pattern=ID_PATTERN)
    title: Text = Field(description="the cause the actions answer")
    actions: tuple[str, ...] = Field(min_length=2, description="catalogue action ids, the most specific first")
    why: Text = Field(description="why these actions answer one cause")


class AlternativesFile(Strict):
    alternatives: tuple[AlternativeGroup, ...]


def _with_kind_from_sales_flag(action: dict[str, Any]) -> dict[str, Any]:
    rest = {k: v for k, v in action.items() if k != "sales"}
    return {**rest, "kind": "sales" if action.get("sales") is True else "service"}


SkillArea = Literal["negotiation", "consultative_selling", "complaint_handling", "brand_cultivation",
                    "crm", "credit_discipline", "finance", "risk", "planning", "service", "market_info",
                    "product_knowledge", "conduct", "teamwork", "career"]
Format = Literal["role_play", "case_study", "shadowing", "course", "diary_review", "drill", "meeting"]


#: A parameter of ``parameters.yaml`` written as ``$name`` where a knowledge-base entry takes a number.
ParameterRef = Annotated[str, Field(pattern=r"^\$[a-z][a-z0-9_]*$")]
#: The form of a next behaviour on a coaching card: keep doing, start doing, stop doing.
BehaviourForm = Literal["keep", "start", "stop"]


class Behaviour(Strict):
    """One concrete next behaviour, in the Keep / Start / Stop form."""

    form: BehaviourForm = Field(description="keep (what works), start (what to begin) or stop (what to drop)")
    text: Text


class CardSpec(Strict):
    """What the coaching card of a topic shows: the manager field its behaviour is measured by, which
    way is better, the one next behaviour, and when it is measured again."""

    metric: str = Field(pattern=ID_PATTERN, description="the manager field the behaviour is measured by")
    better: Literal["lower", "higher"] | None = Field(
        default=None, description="a number: which way is better (the benchmark says behind or ahead by it)")
    target: bool | str | None = Field(default=None, description="a boolean or enum field: the value aimed at")
    behaviour: Behaviour
    review_days: Annotated[int, Field(ge=1)] | ParameterRef = Field(
        default="$coaching_review_days", description="days after the decision when the metric is measured again")


class CoachingSpec(Strict):
    """A coaching topic with the skill it builds and how it is delivered."""

    id: str = Field(pattern=ID_PATTERN)
    title: Text
    description: Text
    skill_area: SkillArea
    formats: tuple[Format, ...] = Field(min_length=1)
    domain: Domain
    provenance: Provenance
    card: CardSpec | None = Field(default=None, description="what the coaching card of this topic shows")


class CoachingFile(Strict):
    coaching: tuple[CoachingSpec, ...]


class ClientMatch(Strict):
    """Which of a client's recommended actions count: each criterion given must hold (any of its
    values); ``signals`` are held by the client."""

    actions: tuple[str, ...] = Field(default=(), description="action ids, any of them")
    kinds: tuple[ActionKind, ...] = Field(default=(), description="action kinds, any of them")
    signals: tuple[str, ...] = Field(default=(), description="client signals, any of them held by the client")

    @model_validator(mode="after")
    def _something(self) -> ClientMatch:
        if not (self.actions or self.kinds or self.signals):
            raise ValueError("name at least one of `actions`, `kinds`, `signals`")
        return self


#: The placeholders of a reason made from clients' actions, beside ``{manager.*}`` and ``{param.*}``.
CLIENT_PLACEHOLDERS = {"count": "how many clients match", "top": "how many clients were looked at",
                       "list": "the matching clients, ids and names", "actions": "the actions they wait on"}


class ClientCoachingSpec(Strict):
    """Coaching derived from a manager's clients: among the manager's ``top`` highest-scored clients
    (each client's best recommendation, after arbitration), count those whose recommended actions
    match; from ``min_clients`` on, recommend ``topic`` with a reason naming the count, the clients
    and what they wait on."""

    id: str = Field(pattern=ID_PATTERN)
    title: Text
    domain: Domain = Field(description="the managers it applies to (generic: every manager)")
    topic: str = Field(pattern=ID_PATTERN, description="the coaching topic it recommends")
    priority: int = Field(ge=0, le=100, description="the score of the coaching it gives, 0-100")
    provenance: Provenance
    match: ClientMatch
    top: Annotated[int, Field(ge=1)] | ParameterRef = Field(
        default="$coaching_from_clients_top", description="how many of the manager's highest-scored clients count")
    min_clients: Annotated[int, Field(ge=1)] | ParameterRef = Field(
        description="from how many matching clients the coaching is given")
    reason: Text = Field(description="placeholders: {clients.count}, {clients.top}, {clients.list}, "
                                     "{clients.actions}, {manager.field}, {param.name}")


class ClientCoachingFile(Strict):
    """``knowledge_base/coaching_from_clients.yaml``."""

    coaching_from_clients: tuple[ClientCoachingSpec, ...]


ParameterValue = bool | int | float | str


class ParameterSpec(Strict):
    """A tunable number the documents do not give (e.g. a visit interval), used as ``$name``."""

    value: ParameterValue
    unit: str
    domain: Domain
    description: Text


class ParameterFile(Strict):
    parameters: dict[str, ParameterSpec]


FeedbackStatus = Literal["accepted", "rejected", "done", "snoozed"]


class FeedbackReasonSpec(Strict):
    """A reason a manager gives with feedback (why a client rejected an action, why it waits)."""

    id: str = Field(pattern=ID_PATTERN)
    title: Text
    description: Text
    statuses: tuple[FeedbackStatus, ...] = Field(min_length=1, description="feedback statuses it may go with")
    kinds: tuple[ActionKind, ...] = Field(default=ACTION_KINDS, min_length=1,
                                          description="kinds of action it fits; default: every kind")
    channels: tuple[Channel, ...] | None = Field(
        default=None, description="only actions on these channels (e.g. a reason about the client's answer "
                                  "fits no internal desk action); default: any channel")
    provenance: Provenance | None = None

    def fits(self, action: ActionSpec) -> bool:
        """Whether the reason can be given for feedback on ``action``."""
        return action.kind in self.kinds and (self.channels is None or action.channel in self.channels)


class FeedbackReasonFile(Strict):
    reasons: tuple[FeedbackReasonSpec, ...]


CostKind = Literal["points", "money", "legal_right"]


class Cost(Strict):
    """What crossing a threshold costs: points off the manager's assessment, money, or a legal right."""

    kind: CostKind = Field(description="points (of the manager's assessment), money, or legal_right")
    amount: float | None = Field(default=None, description="how many points or how much money, when the "
                                                           "document gives a number")
    text: Text = Field(description="the cost as a reason says it, e.g. 每户扣10分 / 10 points per account")


class ThresholdSpec(Strict):
    """A dated threshold of the documents: after ``days`` something is lost. ``deadline`` conditions
    name it (``threshold:``) to warn before it is crossed, and their reasons say what acting saves."""

    id: str = Field(pattern=ID_PATTERN)
    title: Text
    domain: Domain
    days: Annotated[int, Field(ge=0)] | ParameterRef = Field(
        description="days after the clock starts at which the threshold is crossed (a $parameter when the "
                    "number is tunable)")
    cost: Cost
    provenance: Provenance


class ThresholdFile(Strict):
    """``knowledge_base/thresholds.yaml``."""

    thresholds: tuple[ThresholdSpec, ...]


class DocumentSpec(Strict):
    id: str = Field(pattern=r"^D[0-9]$")
    file: str
    title: str
    industries: tuple[str, ...]


class DocumentFile(Strict):
    documents: tuple[DocumentSpec, ...]


@dataclass(frozen=True)
class KnowledgeBase:
    """Everything rules are checked against. Immutable once loaded."""

    facts: dict[str, FactSpec]
    signals: dict[str, SignalSpec]
    actions: dict[str, ActionSpec]
    coaching: dict[str, CoachingSpec]
    documents: dict[str, DocumentSpec]
    parameters: dict[str, ParameterSpec]
    scoring: Any = None  # engine.language.schemes.ScoringFile (which imports this module): segments, schemes, ladders
    feedback_reasons: dict[str, FeedbackReasonSpec] = field(default_factory=dict)
    #: coaching derived from a manager's clients (``coaching_from_clients.yaml``), by id
    coaching_from_clients: dict[str, ClientCoachingSpec] = field(default_factory=dict)
    #: where each of those entries is written: id -> (file, line)
    origins: dict[str, tuple[str, int]] = field(default_factory=dict)
    alternatives: dict[str, AlternativeGroup] = field(default_factory=dict)
    #: dated thresholds and what crossing them costs (``thresholds.yaml``), by id
    thresholds: dict[str, ThresholdSpec] = field(default_factory=dict)

    def alternative_group(self, action_id: str) -> AlternativeGroup | None:
        """The group of actions answering the same cause as ``action_id``, if any."""
        return next((g for g in self.alternatives.values() if action_id in g.actions), None)

    def action_kinds(self) -> dict[str, ActionKind]:
        """The kind of every action in the catalogue."""
        return {a.id: a.kind for a in self.actions.values()}

    def sensitive_fields(self, fact_type: str) -> list[str]:
        """Fields of ``fact_type`` masked in the decision log."""
        spec = self.facts.get(fact_type)
        return sorted(n for n, f in spec.fields.items() if f.sensitive) if spec else []

    def segment_of(self, fact_type: str, fact: Mapping[str, Any]) -> str:
        """The segment a report groups a subject in: the first ``segment_by`` field, then the first
        of the others that is given (``tobacco/A``, ``bank/corporate``); ``-`` for a missing part."""
        spec = self.facts.get(fact_type)
        by = spec.segment_by if spec else ()
        if not by:
            return "-"
        head = fact.get(by[0]) or "-"
        detail = next((fact[f] for f in by[1:] if fact.get(f)), "-")
        return f"{head}/{detail}" if len(by) > 1 else str(head)

    def segment_text(self, fact_type: str, segment: str) -> Text:
        """A segment of :meth:`segment_of` as people read it: each part by its field's label
        (``tobacco/B``: 烟草 B类 · tobacco B-class); a part without a label as written."""
        spec = self.facts.get(fact_type)
        by = spec.segment_by if spec else ()
        zh, en = [], []
        for i, part in enumerate(segment.split("/")):
            fields = by[:1] if i == 0 else by[1:]
            specs = [spec.fields[f] for f in fields if spec is not None and f in spec.fields]
            label = next((t for t in (s.label(part) for s in specs) if t is not None), None)
            zh.append(label.zh if label else part)
            en.append(label.en if label else part)
        return Text(zh=" ".join(zh), en=" ".join(en))

    def plural_to_type(self) -> dict[str, str]:
        return {spec.plural: name for name, spec in self.facts.items()}

    def subjects(self) -> list[str]:
        return sorted(name for name, spec in self.facts.items() if spec.subject)

    def one_links(self, fact_type: str) -> dict[str, str]:
        """Fact types reachable as exactly one fact from ``fact_type`` (e.g. a client's manager)."""
        return dict(self.facts[fact_type].links)

    def many_links(self, fact_type: str) -> dict[str, str]:
        """Fact types that point at ``fact_type`` (a manager's clients): type -> their link field."""
        return {name: spec.links[fact_type] for name, spec in sorted(self.facts.items())
                if fact_type in spec.links}


def resolve_count(value: int | str, kb: KnowledgeBase) -> int:
    """A count written as a number or as a ``$parameter`` (checked to be a whole number when loaded)."""
    return int(resolve(value, kb))


def resolve(value: Any, kb: KnowledgeBase) -> Any:
    """Replace ``$name`` parameter references (alone or in lists) by their configured values."""
    if isinstance(value, (list, tuple)):
        return type(value)(resolve(v, kb) for v in value)
    if isinstance(value, str) and value.startswith("$"):
        return kb.parameters[value[1:]].value
    return value


def client_coaching_json_schema() -> dict[str, Any]:
    """The JSON Schema of ``knowledge_base/coaching_from_clients.yaml``, for editors (committed beside
    it as ``coaching_from_clients.schema.json``; ``rm-advisor coaching-schema`` writes it)."""
    from rm_advisor.engine.language.rules import file_json_schema  # rules.py imports this module

    return file_json_schema(ClientCoachingFile, "coaching_from_clients.schema.json",
                            "rm-advisor coaching from clients")
