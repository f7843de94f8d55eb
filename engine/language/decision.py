"""The decision record returned for every request: recommendations with their explanations."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from rm_advisor.engine.language.feedback import FeedbackEvent
from rm_advisor.engine.language.knowledge import Provenance, Text
from rm_advisor.engine.language.propensity import PropensityTable

_M = TypeVar("_M", bound="_Model")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)

    @classmethod
    def trusted(cls: type[_M], **values: Any) -> _M:
        """The model made from values the engine built itself, each already of its field's type (a
        decision makes one rule trace per firing), without checking them again: the same model,
        field for field, as ``cls(**values)``. Every field must be given; a value of another type is
        a bug in the caller, which the model would not catch here."""
        fields = cls.__pydantic_fields__
        if len(values) != len(fields) or not values.keys() <= fields.keys():
            missing, extra = fields.keys() - values.keys(), values.keys() - fields.keys()
            raise TypeError(f"{cls.__name__}.trusted needs every field: missing {sorted(missing)}, "
                            f"unknown {sorted(extra)}")
        made = cls.__new__(cls)
        object.__setattr__(made, "__dict__", values)
        object.__setattr__(made, "__pydantic_fields_set__", set(values))
        object.__setattr__(made, "__pydantic_extra__", None)
        object.__setattr__(made, "__pydantic_private__", None)
        return made


class SignalTrace(_Model):
    """A derived signal that held, and the rule firings that asserted it."""

    signal: str
    subject: str
    title: Text
    asserted_by: list[RuleTrace]


class RuleTrace(_Model):
    """One rule firing: the fact values it matched and the signals it relied on."""

    rule_id: str
    title: Text
    file: str
    line: int
    priority: int
    provenance: Provenance
    matched: dict[str, Any] = Field(description="fact.field -> value the rule looked at")
    related: dict[str, list[str]] = Field(default_factory=dict,
                                          description="related facts (by type) the rule matched through")
    signals: list[SignalTrace] = Field(default_factory=list, description="signals the rule required")
    derived: dict[str, list[str]] = Field(default_factory=dict,
                                          description="fact.field -> ids of the events history derived it from, "
                                                      "for the matched values that came from history")
    unknown: dict[str, Literal["match", "no_match"]] = Field(
        default_factory=dict, description="fact.field -> what its missing value counted as in the rule's comparison "
                                          "(match or no_match), for the matched values that were missing")


class Reason(_Model):
    rule_id: str
    text: Text
    priority: int


class Suppression(_Model):
    """A contact policy that held a recommendation back, and the feedback behind it."""

    policy_id: str
    kind: Literal["suppress_after", "client_weekly_cap", "action_volume_cap"]
    title: Text
    text: Text = Field(description="why, with the dates and counts")
    until: dt.date | None = Field(default=None, description="the first day the item may come back")
    used: int | None = Field(default=None, description="a cap: contacts already counted this week")
    limit: int | None = Field(default=None, description="a cap: its maximum")
    feedback: list[FeedbackEvent] = Field(default_factory=list, description="the feedback events behind it")


class CardMetric(_Model):
    """The behaviour a coaching card measures: a field of the manager and its value."""

    field: str = Field(description="manager.field")
    title: Text
    value: Any = Field(description="the manager's value; null: unknown")
    unit: str | None = None
    better: Literal["lower", "higher"] | None = Field(default=None, description="a number: which way is better")
    target: bool | str | None = Field(default=None, description="a boolean or enum field: the value aimed at")


class Benchmark(_Model):
    """The manager's value against the team's: the managers of the same domain."""

    basis: Literal["portfolio", "given", "posted"] = Field(description=(
        "portfolio: computed by the batch over the whole portfolio's managers of the domain (a "
        "`team_benchmark` fact with source portfolio); given: a `team_benchmark` fact posted with the "
        "decision; posted: computed from the managers posted with the decision"))
    domain: str
    managers: int = Field(description="managers of the domain with a value, this one included")
    median: float | None = Field(default=None, description="a number: the team's median")
    mean: float | None = Field(default=None, description="a number: the team's mean")
    share_pct: float | None = Field(default=None, description="a boolean or enum field: share of the team at the "
                                                              "target, percent")
    standing: Literal["behind", "level", "ahead"] | None = Field(
        default=None, description="the manager against the team (null: the manager's value is unknown)")
    text: Text


class NextBehaviour(_Model):
    """One concrete next behaviour: keep, start or stop doing something."""

    form: Literal["keep", "start", "stop"]
    text: Text


class Evidence(_Model):
    """A fact behind a coaching item: a value a rule matched, a related fact, a client waiting."""

    fact: str = Field(description="fact.field (a value matched) or type:id (a related fact, a client waiting)")
    value: Any = None
    rule_id: str = Field(description="the rule (or coaching from clients) that used it")
    text: Text


class Review(_Model):
    """When and by what the coaching is measured again."""

    metric: str = Field(description="manager.field measured again")
    date: dt.date
    days: int = Field(description="days after the decision's as-of date")
    text: Text


class CoachingCard(_Model):
    """What a manager is coached on, measured: the metric against the team, the diagnosis, the next
    behaviour (keep, start or stop), the evidence and the review."""

    metric: CardMetric
    benchmark: Benchmark | None = Field(default=None, description="null: no team to compare with (fewer than two "
                                                                  "managers of the domain with a value)")
    diagnosis: Text
    next_behaviour: NextBehaviour
    evidence: list[Evidence]
    review: Review
class Alternative(_Model):
    """Another action answering the same cause as the recommendation it is folded into
    (``knowledge_base/alternatives.yaml``): its reasons are the recommendation's too."""

    id: str
    title: Text
    score: int
    rules: list[str]


class Acceptance(_Model):
    """The acceptance evidence behind a propensity: counts from the decision log and the posterior."""

    segment: str
    manager: str | None = Field(default=None, description="the manager's own evidence; null: the segment's")
    accepted: int
    decided: int
    days: int = Field(description="the window the feedback counts over, days before the decision")
    prior: float = Field(description="the acceptance rate the rules' priority predicts (score / 100)")
    rate: float = Field(description="the posterior acceptance rate (its mean, or a draw when exploring)")
    used: bool = Field(description="false: fewer decided than the minimum, the rank did not move")
    sampled: bool = Field(default=False, description="the rate is a Thompson draw (exploration)")


class Ranking(_Model):
    """How a recommended action was ranked: the factors of rules/arbitration.yaml and their product."""

    priority: float = Field(description="context^w x value^w x levers^w x propensity^w, what the ranking orders by")
    context: float = Field(description="the score / 100")
    value: float
    levers: float
    propensity: float = Field(description="the learned acceptance rate over the prior one (1: no evidence used)")
    acceptance: Acceptance | None = Field(default=None, description="the evidence behind the propensity")
    text: Text = Field(description="the formula with its numbers, for people")


class _Sparse(_Model):
    """A model that leaves out the fields of ``absent`` while they are None: a decision without them
    is written exactly as before they existed."""

    absent: ClassVar[tuple[str, ...]] = ()

    @model_serializer(mode="wrap")
    def serialize_present(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if isinstance(data, dict):
            for name in self.absent:
                if name in data and data[name] is None:
                    del data[name]
        return data


class Recommendation(_Sparse):
    """A next-best-action for a client or a coaching topic for a manager."""

    kind: Literal["action", "coaching"]
    id: str
    title: Text
    score: int = Field(description="highest priority among the rules behind it, 0-100")
    reasons: list[Reason]
    rules: list[str]
    details: dict[str, Any] = Field(default_factory=dict, description=(
        "an action: channel, effort, owner_role, domain, action_kind (risk, obligation, service or sales: "
        "what a contact policy may hold back) and sales; a coaching topic: skill_area, formats, domain"))
    because: list[RuleTrace]
    vetoed_by: list[Reason] = Field(default_factory=list)
    suppressed_by: list[Suppression] = Field(default_factory=list)
    card: CoachingCard | None = Field(default=None, description="a coaching topic: its coaching card")
    alternatives: list[Alternative] = Field(default_factory=list, description=(
        "other actions recommended for the same cause (knowledge_base/alternatives.yaml), folded into "
        "this one: one cause, one recommendation"))
    cause: Text | None = Field(default=None, description="the cause shared with the alternatives")
    ranking: Ranking | None = Field(default=None, description=(
        "an action ranked by rules/arbitration.yaml with values, levers or propensities: the factors and the "
        "priority it is ordered by; absent when it is ranked by score alone"))

    absent: ClassVar[tuple[str, ...]] = ("ranking",)


class DerivedField(_Model):
    """A field of the subject whose value history gave (or could not give: ``value`` null)."""

    field: str
    value: Any = Field(description="the derived value; null: unknown, history had nothing to go on")
    events: list[str] = Field(description="ids of the events it was computed from, newest first")
    text: Text = Field(description="what it is and where it came from, for people")


class ConfirmField(_Model):
    """A field whose value is missing and would change the advice if known."""

    fact: str = Field(description="the fact type: client, or the linked manager")
    field: str
    description: Text = Field(description="what the field is, from the fact schema")


class Unlock(_Model):
    """An action or coaching topic a rule would recommend once the missing fields are confirmed."""

    kind: Literal["action", "coaching"]
    id: str
    title: Text
    score: int = Field(description="the priority the rule recommends it at, 0-100")
    rule_id: str
    when: Text = Field(description="what the confirmed values must be for the rule to fire")


class ToConfirm(_Model):
    """Missing facts that would bring advice if known: confirm them, and these rules may fire."""

    fields: list[ConfirmField]
    unlocks: list[Unlock] = Field(description="best first: score, then id")
    score: int = Field(description="the highest score among what it unlocks")
    text: Text = Field(description="what to confirm and what it would bring, for people")


class SubjectDecision(_Model):
    """Everything decided about one client or one manager."""

    subject_type: Literal["client", "manager"]
    id: str
    recommendations: list[Recommendation]
    vetoed: list[Recommendation] = Field(default_factory=list)
    suppressed: list[Recommendation] = Field(default_factory=list,
                                             description="held back by contact policies (see suppressed_by)")
    signals: list[SignalTrace] = Field(default_factory=list)
    derived: list[DerivedField] = Field(default_factory=list,
                                        description="the subject's fields that came from its history")
    to_confirm: list[ToConfirm] = Field(default_factory=list, description=(
        "missing facts that would bring an action or coaching topic if known, ranked by the best score they "
        "unlock, then how many items, then how few fields; only rules of the subject's domain whose only "
        "failing conditions are on missing values"))


class Decision(_Sparse):
    """The answer to one request, with the rule-set revision that produced it."""

    id: str | None = Field(default=None, description="decision id, set when the decision is logged")
    revision: str
    as_of: dt.date
    input_hash: str
    clients: list[SubjectDecision]
    managers: list[SubjectDecision]
    firings: int
    propensities: PropensityTable | None = Field(default=None, description=(
        "the acceptance evidence the ranking looked up (from the decision log, as of the decision's date); "
        "absent without"))

    absent: ClassVar[tuple[str, ...]] = ("propensities",)

    def subject(self, subject_type: str, subject_id: str) -> SubjectDecision | None:
        group = self.clients if subject_type == "client" else self.managers
        return next((s for s in group if s.id == subject_id), None)


SignalTrace.model_rebuild()
