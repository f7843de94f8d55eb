"""Request and response models of the HTTP API, kept apart from the engine's models.

Texts (titles, reasons, descriptions) are :class:`LocalText`: a response carries the language a
request asked for (``zh``, ``en``) or both. Responses are validated from the engine's records
with the language in the validation context, so one set of models serves every language.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    ValidationInfo,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError
from starlette.responses import Response

from rm_advisor.api.problems import ErrorItem
from rm_advisor.engine.authoring import ConditionKind
from rm_advisor.engine.language import (
    DATE_PATTERN,
    ActionKind,
    Channel,
    DateRangeError,
    Domain,
    Effort,
    Format,
    OwnerRole,
    SkillArea,
    parse_date,
)

Lang = Literal["zh", "en", "both"]
SubjectType = Literal["client", "manager"]
FeedbackStatus = Literal["accepted", "rejected", "done", "snoozed"]
#: Identifiers in requests that reach the database: printable, no control characters (PostgreSQL
#: refuses NUL in text, and no id has a line break).
PRINTABLE = r"^[^\x00-\x1f\x7f]+$"


def _date(value: Any) -> dt.date:
    """A date parameter or member: ``YYYY-MM-DD`` text only (not a number of seconds, not a
    datetime), within the business calendar of :mod:`engine.language.values`."""
    try:
        return parse_date(value)
    except DateRangeError as exc:
        raise PydanticCustomError("date_out_of_range", str(exc)) from None
    except ValueError as exc:
        raise PydanticCustomError("date_parsing", str(exc)) from None


def _flag(value: Any) -> bool:
    """A boolean query parameter: ``true`` or ``false``, nothing else (not 0, 1, yes, off)."""
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return bool(value == "true")
    raise PydanticCustomError("bool_parsing", "expected true or false")


#: A date in a request (body member or query parameter), parsed strictly (the spec states the
#: calendar's bounds as a pattern of years).
IsoDate = Annotated[dt.date, BeforeValidator(_date), WithJsonSchema({"type": "string", "format": "date",
                                                                     "pattern": DATE_PATTERN})]
#: A boolean query parameter, parsed strictly (a body member is a :class:`pydantic.StrictBool`).
Flag = Annotated[bool, BeforeValidator(_flag)]


class Out(BaseModel):
    """A response model: ignores engine fields it does not publish; JSON without null members."""

    model_config = ConfigDict(extra="ignore")

    def response(self, headers: dict[str, str] | None = None, status_code: int = 200) -> Response:
        """This model as a JSON response (validated once here, not again by FastAPI)."""
        return Response(self.model_dump_json(exclude_none=True, by_alias=True), status_code=status_code,
                        media_type="application/json", headers=headers)


class LocalText(Out):
    """A text in the language asked for; both members when both were asked for."""

    zh: str | None = None
    en: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _pick(cls, data: Any, info: ValidationInfo) -> Any:
        lang = (info.context or {}).get("lang", "both")
        if isinstance(data, dict) and lang in ("zh", "en"):
            return {lang: data.get(lang)}
        return data


# ---- requests -------------------------------------------------------------------------------

class FactsDocument(BaseModel):
    """Facts, shaped as ``knowledge_base/samples/demo_facts.yaml``. Each fact's fields are those of
    its fact type (``GET /v1/catalogues/facts``); the engine checks them and reports every problem
    with its JSON pointer."""

    model_config = ConfigDict(extra="allow")

    as_of: IsoDate | None = Field(default=None, description="the date relative conditions use (default: today)")
    # fail_fast: the first item that is not an object is reported, not each of a million
    clients: list[dict[str, Any]] = Field(default_factory=list, fail_fast=True, description="client facts")
    managers: list[dict[str, Any]] = Field(default_factory=list, fail_fast=True, description="manager facts")
    interactions: list[dict[str, Any]] = Field(default_factory=list, fail_fast=True,
                                               description="interactions (visits, complaints...)")
    links: list[dict[str, Any]] = Field(default_factory=list, fail_fast=True, description=(
        "links between clients (kind: guarantor_of, same_owner, member_of, related_company; "
        "from_client, to_client), which `linked` conditions reach across"))
    team_benchmarks: list[dict[str, Any]] = Field(
        default_factory=list, fail_fast=True, description="team benchmarks the coaching cards compare a manager with "
        "(by domain and manager field); without one, a card computes it from the managers posted")


class RuleFileIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.\-/]{1,200}\.ya?ml$", description="file name used in diagnostics")
    text: str = Field(max_length=500_000, description="the YAML text of the rule file")


class RuleCheckRequest(BaseModel):
    """Rule files to check against the loaded knowledge base; nothing is loaded."""

    model_config = ConfigDict(extra="forbid")

    files: list[RuleFileIn] = Field(min_length=1, max_length=50)
    together: StrictBool = Field(default=True, description="check with the loaded rule files, each posted file "
                                 "replacing the loaded file of the same name (finds duplicate ids and signal "
                                 "cycles across packs); false: the posted files alone")


class FeedbackIn(BaseModel):
    """What a manager did with one recommended item of a logged decision."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    decision_id: str = Field(min_length=1, max_length=64, pattern=PRINTABLE,
                             description="`decision_id` of the decision answer (`d-YYYYMMDD-…`)")
    subject: str = Field(min_length=1, max_length=210, pattern=PRINTABLE,
                         description="client id, or `client:ID` / `manager:ID`")
    item: str = Field(min_length=1, max_length=100, pattern=PRINTABLE,
                      description="the recommended action or coaching topic")
    status: FeedbackStatus
    reason_code: str | None = Field(default=None, max_length=64, pattern=PRINTABLE,
                                    description="required with `rejected`: a code of GET "
                                                "/v1/catalogues/feedback-reasons that goes with the status")
    date: IsoDate | None = Field(default=None, description="business date (default: the decision's as-of date; "
                                                            "not before it)")
    until: IsoDate | None = Field(default=None, description="`snoozed` only: the day the item may come back")
    manager_id: str | None = Field(default=None, max_length=200, pattern=PRINTABLE,
                                   description="who reports the feedback")


# ---- decisions ------------------------------------------------------------------------------

class ProvenanceOut(Out):
    document: str
    quote: str
    ref: str | None = None


class SignalTraceOut(Out):
    signal: str
    subject: str
    title: LocalText
    asserted_by: list[RuleTraceOut]


class RuleTraceOut(Out):
    rule_id: str
    title: LocalText
    file: str
    line: int
    priority: int
    provenance: ProvenanceOut
    matched: dict[str, Any] = Field(description="fact.field -> value the rule looked at")
    related: dict[str, list[str]] = Field(default_factory=dict, description="related facts it matched through")
    signals: list[SignalTraceOut] = Field(default_factory=list, description="signals the rule required")
    derived: dict[str, list[str]] = Field(default_factory=dict,
                                          description="fact.field -> ids of the history events it was derived from")
    unknown: dict[str, Literal["match", "no_match"]] = Field(
        default_factory=dict, description="fact.field -> what its missing value counted as in the rule's comparison")


class DerivedFieldOut(Out):
    field: str
    value: Any = Field(default=None, description="the derived value; null or absent: unknown, history had "
                                                  "nothing to go on")
    events: list[str] = Field(description="ids of the events it was computed from, newest first")
    text: LocalText


class ReasonOut(Out):
    rule_id: str
    text: LocalText
    priority: int


class FeedbackEventOut(Out):
    """Feedback a contact policy counted."""

    decision_id: str
    subject_type: SubjectType
    subject_id: str
    item_id: str
    status: FeedbackStatus
    reason_code: str | None = None
    date: dt.date
    until: dt.date | None = None


class SuppressionOut(Out):
    """A contact policy that held a recommendation back, and why."""

    policy_id: str
    kind: Literal["suppress_after", "client_weekly_cap", "action_volume_cap"]
    title: LocalText
    text: LocalText = Field(description="why, with the dates and counts")
    until: dt.date | None = Field(default=None, description="the first day the item may come back")
    used: int | None = Field(default=None, description="a cap: contacts already counted this week")
    limit: int | None = Field(default=None, description="a cap: its maximum")
    feedback: list[FeedbackEventOut] = Field(default_factory=list, description="the feedback behind it")


class CardMetricOut(Out):
    field: str = Field(description="manager.field the behaviour is measured by")
    title: LocalText
    value: Any = Field(default=None, description="the manager's value; null or absent: unknown")
    unit: str | None = None
    better: Literal["lower", "higher"] | None = Field(default=None, description="a number: which way is better")
    target: bool | str | None = Field(default=None, description="a boolean or enum field: the value aimed at")


class BenchmarkOut(Out):
    """The manager's value against the team: the managers of the same domain."""

    basis: Literal["portfolio", "given", "posted"] = Field(description=(
        "portfolio: computed by `rm-advisor batch` over the portfolio (a posted `team_benchmarks` entry with "
        "`source: portfolio`); given: a posted `team_benchmarks` entry; posted: computed from the managers posted"))
    domain: str
    managers: int = Field(description="managers of the domain with a value, this one included")
    median: float | None = None
    mean: float | None = None
    share_pct: float | None = Field(default=None, description="a boolean or enum metric: share of the team at the "
                                                              "target, percent")
    standing: Literal["behind", "level", "ahead"] | None = Field(default=None, description="absent: the manager's "
                                                                                           "value is unknown")
    text: LocalText


class NextBehaviourOut(Out):
    form: Literal["keep", "start", "stop"]
    text: LocalText


class EvidenceOut(Out):
    fact: str = Field(description="fact.field (a value a rule matched) or type:id (a related fact, a client waiting)")
    value: Any = None
    rule_id: str
    text: LocalText


class ReviewOut(Out):
    metric: str
    date: dt.date
    days: int
    text: LocalText


class CoachingCardOut(Out):
    """A coaching item measured: the metric against the team, the diagnosis, one next behaviour
    (keep, start or stop), the evidence and when it is measured again."""

    metric: CardMetricOut
    benchmark: BenchmarkOut | None = Field(default=None, description="absent: no team to compare with (fewer than "
                                                                     "two managers of the domain with a value)")
    diagnosis: LocalText
    next_behaviour: NextBehaviourOut
    evidence: list[EvidenceOut]
    review: ReviewOut
class AlternativeOut(Out):
    """Another action for the same cause, folded into the recommendation."""

    id: str
    title: LocalText
    score: int
    rules: list[str]


class AcceptanceOut(Out):
    """The acceptance evidence behind a propensity: counts from the decision log and the posterior."""

    segment: str
    manager: str | None = Field(default=None, description="the manager's own evidence; absent: the segment's")
    accepted: int
    decided: int
    days: int = Field(description="the window the feedback counts over, days before the decision")
    prior: float = Field(description="the acceptance rate the rules' priority predicts (score / 100)")
    rate: float = Field(description="the posterior acceptance rate (its mean, or a draw when exploring)")
    used: bool = Field(description="false: fewer decided than the minimum, the rank did not move")
    sampled: bool = Field(default=False, description="the rate is a Thompson draw (exploration)")


class RankingOut(Out):
    """How a recommended action was ranked: the factors of rules/arbitration.yaml and their product."""

    priority: float = Field(description="context^w x value^w x levers^w x propensity^w, what the ranking orders by")
    context: float = Field(description="the score / 100")
    value: float
    levers: float
    propensity: float = Field(description="the learned acceptance rate over the prior one (1: no evidence used)")
    acceptance: AcceptanceOut | None = Field(default=None, description="the evidence behind the propensity")
    text: LocalText = Field(description="the formula with its numbers, for people")


class ItemDetails(Out):
    """What the catalogue says about a recommended item: an action's channel, effort, owner and kind;
    a coaching topic's skill area and formats."""

    domain: Domain | None = None
    channel: Channel | None = Field(default=None, description="an action: how the manager reaches the client")
    effort: Effort | None = Field(default=None, description="an action")
    owner_role: OwnerRole | None = Field(default=None, description="an action: who carries it out")
    action_kind: ActionKind | None = Field(default=None, description=(
        "an action: risk, obligation, service or sales (what a contact policy may hold back)"))
    sales: bool | None = Field(default=None, description="an action: a sales ask")
    skill_area: SkillArea | None = Field(default=None, description="a coaching topic")
    formats: list[Format] | None = Field(default=None, description="a coaching topic: how it is delivered")


class RecommendationOut(Out):
    """A next-best-action (client) or a coaching topic (manager), with why."""

    kind: Literal["action", "coaching"]
    id: str
    title: LocalText
    score: int
    reasons: list[ReasonOut]
    rules: list[str]
    details: ItemDetails = Field(default_factory=ItemDetails)
    because: list[RuleTraceOut] = Field(default_factory=list, description="omitted with explain=false")
    vetoed_by: list[ReasonOut] = Field(default_factory=list)
    suppressed_by: list[SuppressionOut] = Field(default_factory=list,
                                                description="the contact policies that held it back")
    card: CoachingCardOut | None = Field(default=None, description="a coaching topic: its coaching card")
    alternatives: list[AlternativeOut] = Field(default_factory=list, description=(
        "other actions recommended for the same cause, folded into this one (their reasons are "
        "this recommendation's): one cause, one recommendation"))
    cause: LocalText | None = Field(default=None, description="the cause shared with the alternatives")
    ranking: RankingOut | None = Field(default=None, description=(
        "an action ranked by rules/arbitration.yaml with values, levers or propensities: the factors and the "
        "priority it is ordered by; absent when it is ranked by score alone"))


class ConfirmFieldOut(Out):
    fact: str = Field(description="the fact type: client, or the linked manager")
    field: str
    description: LocalText = Field(description="what the field is, from the fact schema")


class UnlockOut(Out):
    """An action or coaching topic a rule would recommend once the missing fields are confirmed."""

    kind: Literal["action", "coaching"]
    id: str
    title: LocalText
    score: int
    rule_id: str
    when: LocalText = Field(description="what the confirmed values must be for the rule to fire")


class ToConfirmOut(Out):
    """Missing facts that would bring advice if known."""

    fields: list[ConfirmFieldOut]
    unlocks: list[UnlockOut] = Field(description="best first")
    score: int = Field(description="the highest score among what it unlocks")
    text: LocalText


class SubjectDecisionOut(Out):
    subject_type: SubjectType
    id: str
    recommendations: list[RecommendationOut]
    vetoed: list[RecommendationOut] = Field(default_factory=list)
    suppressed: list[RecommendationOut] = Field(default_factory=list,
                                                description="held back by contact policies (see suppressed_by)")
    signals: list[SignalTraceOut] = Field(default_factory=list, description="omitted with explain=false")
    derived: list[DerivedFieldOut] = Field(default_factory=list,
                                           description="the subject's fields that came from its history (the "
                                                       "posted interactions), each with its events")
    to_confirm: list[ToConfirmOut] = Field(default_factory=list, description=(
        "missing facts that would bring an action or coaching topic if known (conditions written with "
        "`unknown: ask`), ranked by the best score they unlock, then how many items, then how few fields"))


class DecisionMeta(Out):
    decision_id: str = Field(description="unique id of this decision; when `logged`, feedback and replay name it")
    logged: bool = Field(description="recorded in the decision log, with the contact policies applied")
    revision: str = Field(description="rule-set revision that decided")
    as_of: dt.date
    input_hash: str = Field(description="hash of the validated facts, independent of their order")
    firings: int
    lang: Lang


class ExperimentArmOut(Out):
    """The experiment arm whose rule set decided (a server started with an experiment file)."""

    id: str = Field(description="the experiment's id")
    arm: str = Field(description="the arm's name; its rule set's revision is `revision`")


class SubjectDecisionResponse(DecisionMeta):
    subject: SubjectDecisionOut
    experiment: ExperimentArmOut | None = Field(default=None, description="the experiment arm the subject is in, "
                                                                           "while the server's experiment runs")


class DecisionsResponse(DecisionMeta):
    clients: list[SubjectDecisionOut]
    managers: list[SubjectDecisionOut]


class FeedbackOut(FeedbackEventOut):
    """Recorded feedback, as acknowledged (committed before the answer is sent)."""

    id: int
    manager_id: str | None = None
    source: str = Field(description="api, cli or csv")
    recorded_at: dt.datetime


class LoggedDecisionResponse(DecisionsResponse):
    """A decision from the log: its output (every recommended item of the subjects logged, the
    first `max_per_subject` of each being the ones answered), the masked input, and its feedback."""

    logged_at: dt.datetime
    source: str = Field(description="api, cli or batch")
    subject: str | None = Field(default=None, description="`client:ID` or `manager:ID`: the one subject a "
                                "one-subject request asked for, whose decision alone is logged; null: every "
                                "subject posted")
    max_per_subject: int | None = Field(default=None, description="the `top` limit it was answered with: each "
                                        "subject's first this many recommendations were shown, all are logged")
    policies_applied: bool = Field(description="made with the contact policies and the feedback history")
    input: dict[str, Any] = Field(description="the posted facts, sensitive fields masked as `***`")
    feedback: list[FeedbackOut] = Field(description="feedback on it, in the order recorded")
    erasure_id: int | None = Field(default=None, description="the erasure (`GET /v1/admin/decision-log/erasures`) "
                                   "that removed a client's personal data from it; absent: none. Such a decision "
                                   "cannot be replayed (409 `decision_erased`)")


class DecisionSummaryOut(Out):
    id: str
    logged_at: dt.datetime
    source: str
    revision: str
    as_of: dt.date
    recommended: int = Field(description="items recommended (all logged, shown or not)")
    shown: int = Field(description="of them, those the answer showed (within its `top` limit)")
    suppressed: int


class DecisionList(Out):
    count: int
    decisions: list[DecisionSummaryOut] = Field(description="newest first")


class ChangeOut(Out):
    """One difference between the logged decision and its replay."""

    subject: str = Field(description="`client:ID` or `manager:ID`")
    item: str | None = None
    what: str = Field(description="subject, added, removed, outcome, rank, score, rules, reasons, vetoed_by, "
                                  "suppressed_by, trace, signals, card or to_confirm")
    before: str | None = None
    after: str | None = None


class ReplayRunOut(Out):
    revision: str
    identical: bool
    changes: list[ChangeOut]


class ReplayOut(Out):
    """A logged decision re-made on its own revision (from the rule texts in the log) and on the
    serving one, with the differences from the logged output."""

    decision_id: str
    logged_revision: str
    on_logged: ReplayRunOut = Field(description="must be identical: the same rules, input, as-of date and history")
    on_current: ReplayRunOut | None = Field(default=None, description="what the serving rule set decides now")


SignalTraceOut.model_rebuild()

# ---- why and why not ------------------------------------------------------------------------

class FixOut(Out):
    """A change to one fact field that flips a condition: set `value`, or remove the value."""

    field: str = Field(description="fact.field")
    value: Any = None
    remove: bool = False


class ConditionReportOut(Out):
    """One condition of a rule on one fact: whether it held, the value seen, what would flip it."""

    condition: str
    kind: ConditionKind
    subject: str = Field(description="the fact the condition looked at, e.g. client:T-001")
    file: str
    line: int
    holds: bool
    actual: Any = Field(default=None, description="the value seen (fields), both values by field (`compare`), the "
                                                  "aggregate (`events`; `never` when no event), or held / not held "
                                                  "(signals)")
    events: list[str] = Field(default_factory=list, description="`events`: the history events that counted")
    expected: LocalText = Field(description="what the condition needs, in the notation of `condition` where it has one")
    change: LocalText | None = Field(default=None, description="the smallest change that would flip the condition")
    unknown: Literal["match", "no_match"] | None = Field(
        default=None, description="a comparison that read a missing value: what the value counted as")
    fix: FixOut | None = None
    asserted_by: list[RuleReportOut] = Field(default_factory=list,
                                             description="a forbidden signal that holds: the rules that asserted it")
    producers: list[RuleReportOut] = Field(default_factory=list,
                                           description="a missing signal: the rules that would assert it")
    inner: list[ConditionReportOut] = Field(default_factory=list,
                                            description="the failing parts of an `any`, `all` or `exists`")


class RuleReportOut(Out):
    """One rule on one subject: did it fire, the values it matched, and what stopped it."""

    rule_id: str
    title: LocalText
    file: str
    line: int
    subject: str
    fired: bool
    active: bool = Field(default=True, description="in effect on the as-of date")
    note: LocalText | None = Field(default=None, description="why the rule could not be tested at all (not in "
                                                               "effect, no such fact)")
    matched: dict[str, Any] = Field(default_factory=dict, description="fact.field -> value of conditions that held")
    related: dict[str, list[str]] = Field(default_factory=dict)
    failing: list[ConditionReportOut] = Field(default_factory=list,
                                              description="the conditions that failed, first failing first")
    to_confirm: list[str] = Field(default_factory=list,
                                  description="missing values (`unknown: ask`) that alone keep the rule from firing")


class ExplanationOut(Out):
    """Why (or why not) one action, coaching topic or rule came out for the subject, or why nothing did."""

    subject: str
    target: str = Field(description="action:ID, coaching:ID, rule:ID, or `nothing` (why nothing was recommended)")
    outcome: Literal["recommended", "vetoed", "not recommended", "fired", "not fired"]
    summary: LocalText
    why: list[RuleTraceOut] = Field(default_factory=list, description="the rules and signals behind it")
    vetoed_by: list[ReasonOut] = Field(default_factory=list)
    rules: list[RuleReportOut] = Field(default_factory=list, description="candidate rules and what stopped each")


ConditionReportOut.model_rebuild()


class ExplanationsResponse(Out):
    revision: str = Field(description="rule-set revision that decided")
    as_of: dt.date
    lang: Lang
    explanations: list[ExplanationOut]


# ---- rules and rule set ---------------------------------------------------------------------


class EffectiveOut(Out):
    model_config = ConfigDict(populate_by_name=True)

    from_: dt.date | None = Field(default=None, alias="from")
    until: dt.date | None = None


class RuleSummary(Out):
    id: str
    title: LocalText
    domain: str
    subject: SubjectType
    priority: int
    file: str
    line: int
    provenance: ProvenanceOut
    effective: EffectiveOut | None = None
    tags: list[str] = Field(default_factory=list)
    signals: list[str] = Field(default_factory=list, description="signals it asserts")
    actions: list[str] = Field(default_factory=list, description="actions it recommends")
    coaching: list[str] = Field(default_factory=list, description="coaching topics it recommends")
    veto: bool = Field(default=False, description="whether it vetoes actions")


class RuleDetail(RuleSummary):
    when: Any = Field(description="the condition as written in the rule file")
    then: dict[str, Any] = Field(description="the outcomes as written in the rule file (texts in zh and en)")


class RuleList(Out):
    revision: str
    count: int
    rules: list[RuleSummary]


class RuleSetInfo(Out):
    revision: str
    loaded_at: dt.datetime = Field(description="when this worker loaded it (UTC)")
    rules: int
    rules_by_domain: dict[str, int]
    rules_by_subject: dict[str, int]
    actions: int
    coaching: int
    signals: int
    fact_types: int
    parameters: int
    files: list[str]


class ReloadResult(Out):
    revision: str = Field(description="revision serving now")
    previous_revision: str
    changed: bool
    rules: int
    loaded_at: dt.datetime
    removed_packs: list[str] = Field(default_factory=list, description="rule files that served before and are gone "
                                                                       "(only with allow_removed_packs=true)")


class DiagnosticOut(ErrorItem):
    """A problem found in a checked rule file."""


class RuleCheckResult(Out):
    ok: bool = Field(description="no errors (warnings allowed)")
    errors: int = Field(description="errors found, listed or not")
    warnings: int = Field(description="warnings found, listed or not")
    omitted: int = Field(default=0, description="problems counted but not listed (the server lists at most "
                                                "`max_diagnostics`, errors first)")
    revision: str = Field(description="the loaded revision the files were checked beside")
    files: list[str] = Field(description="the files checked")
    diagnostics: list[DiagnosticOut]


# ---- catalogues -----------------------------------------------------------------------------

class ActionOut(Out):
    id: str
    title: LocalText
    description: LocalText
    domain: str
    channel: str
    effort: str
    owner_role: str
    kind: str = Field(description="risk, obligation, service or sales: contact policies hold back only "
                                  "service and sales")
    sales: bool = Field(description="kind `sales`: vetoes with `all_sales` block it")
    provenance: ProvenanceOut


class CoachingOut(Out):
    id: str
    title: LocalText
    description: LocalText
    skill_area: str
    formats: list[str]
    domain: str
    provenance: ProvenanceOut


class SignalOut(Out):
    id: str
    subject: SubjectType
    title: LocalText
    description: LocalText


class FieldOut(Out):
    type: str
    description: LocalText
    values: list[str] | None = None
    unit: str | None = None
    min: float | None = None
    max: float | None = None
    required: bool = False


class FactTypeOut(Out):
    id: str
    plural: str = Field(description="its list's name in a facts document")
    description: LocalText
    subject: bool = Field(description="decisions are made for facts of this type")
    links: dict[str, str]
    fields: dict[str, FieldOut]


class ActionList(Out):
    revision: str
    count: int
    actions: list[ActionOut]


class CoachingList(Out):
    revision: str
    count: int
    coaching: list[CoachingOut]


class SignalList(Out):
    revision: str
    count: int
    signals: list[SignalOut]


class FactTypeList(Out):
    revision: str
    count: int
    fact_types: list[FactTypeOut]


class FeedbackReasonOut(Out):
    id: str
    title: LocalText
    description: LocalText
    statuses: list[FeedbackStatus] = Field(description="feedback statuses it goes with")
    kinds: list[str] = Field(description="kinds of action it fits (risk, obligation, service, sales)")
    channels: list[str] | None = Field(default=None, description="channels of action it fits; absent: any channel")
    provenance: ProvenanceOut | None = None


class FeedbackReasonList(Out):
    revision: str
    count: int
    reasons: list[FeedbackReasonOut]


# ---- reports --------------------------------------------------------------------------------

class RateRowOut(Out):
    """Counts and rates of one rule, action, manager or segment (a rate is absent when undefined)."""

    key: str
    recommended: int
    answered: int
    accepted: int = Field(description="accepted, including done")
    rejected: int
    done: int
    snoozed: int
    acceptance_rate: float | None = Field(default=None, description="accepted / (accepted + rejected)")
    rejection_rate: float | None = Field(default=None, description="rejected / (accepted + rejected)")
    completion_rate: float | None = Field(default=None, description="done / accepted")
    top_reason: str | None = Field(default=None, description="most frequent rejection reason code")


class ThresholdsOut(Out):
    min_recommended: int
    min_decided: int
    min_rejection_rate: float


class EffectivenessOut(Out):
    """Acceptance and completion of the items recommended by decisions with an as-of date in the period."""

    since: dt.date | None = None
    until: dt.date | None = None
    decisions: int
    total: RateRowOut
    by_rule: list[RateRowOut]
    by_action: list[RateRowOut]
    by_manager: list[RateRowOut]
    by_segment: list[RateRowOut]
    noisy_rules: list[RateRowOut] = Field(description="rules that fire often and are nearly always rejected")
    thresholds: ThresholdsOut
    rule_health: list[RuleHealthOut] = Field(
        default_factory=list, description="each noisy rule of the serving rule set with what the log suggests "
                                          "changing (tighten a threshold, lower the priority) and the counts behind it")


class SuggestionOut(Out):
    """One change to a noisy rule, with the counts of the log that support it."""

    kind: Literal["tighten_threshold", "lower_priority"]
    text: LocalText
    condition: str | None = Field(default=None, description="the threshold as the rule has it (tighten_threshold)")
    proposed: str | None = Field(default=None, description="the threshold proposed (tighten_threshold)")
    decided: int = Field(description="decided recommendations of the rule now (accepted, done or rejected)")
    rejected: int = Field(description="rejected of those")
    decided_after: int | None = Field(default=None, description="decided recommendations the proposal keeps")
    rejected_after: int | None = Field(default=None, description="rejected of those")


class RateOut(Out):
    """A share with its Wilson 95 % interval (rate and interval absent when nothing was counted)."""

    count: int
    total: int
    rate: float | None = None
    low: float | None = None
    high: float | None = None


class ArmResultOut(Out):
    """One experiment arm: its decisions, the recommendations shown and what managers did with them."""

    name: str
    revisions: list[str] = Field(description="rule-set revisions its decisions were made with")
    decisions: int
    shown: int = Field(description="recommendations shown")
    accepted: int = Field(description="shown recommendations accepted or done")
    done: int
    acceptance: RateOut = Field(description="accepted (incl. done) / shown")
    completion: RateOut = Field(description="done / shown")


class ComparisonOut(Out):
    """A challenger against the champion on one metric: the difference, its interval, the test."""

    challenger: str
    champion: str
    metric: Literal["acceptance", "completion"]
    difference: float | None = Field(default=None, description="challenger's rate minus the champion's")
    low: float | None = Field(default=None, description="95 % interval of the difference")
    high: float | None = None
    p_value: float | None = Field(default=None, description="two-sided two-proportion z test (pooled)")
    verdict: Literal["better", "worse", "not_enough_evidence"]
    summary: LocalText


class ExperimentReportOut(Out):
    """Acceptance and completion per arm of an experiment, each challenger tested against the champion."""

    experiment: str
    since: dt.date | None = None
    until: dt.date | None = None
    min_per_arm: int = Field(description="fewest shown recommendations per arm before a difference is judged")
    alpha: float = Field(description="significance level of the test")
    arms: list[ArmResultOut] = Field(description="the champion first")
    comparisons: list[ComparisonOut]
    enough_evidence: bool = Field(description="false: not enough evidence yet (too few, or no significant difference)")


class OffPolicyEstimateOut(Out):
    """The estimated acceptance (accepted or done / shown) of the serving rules on logged decisions."""

    decisions: int
    subjects: int = Field(description="subjects of those decisions: the units the bootstrap resamples")
    logged_shown: int
    logged_acceptance: RateOut
    new_shown: int
    supported: int = Field(description="items the serving rules show that the logged ones showed too")
    coverage: float | None = Field(default=None, description="supported / new shown")
    estimate: float | None = Field(default=None, description="doubly robust")
    low: float | None = Field(default=None, description="95 % percentile bootstrap interval")
    high: float | None = None
    ips: float | None = Field(default=None, description="self-normalised inverse propensity, supported items only")
    ips_low: float | None = None
    ips_high: float | None = None
    resamples: int
    seed: int


class SimulationOut(Out):
    """A period of logged decisions replayed on the serving rules: what would change, and its estimated acceptance."""

    since: dt.date | None = None
    until: dt.date | None = None
    revision: str = Field(description="the serving rule set's revision")
    logged_revisions: list[str]
    decisions: int = Field(description="decisions replayed")
    erased: int = Field(description="decisions left out: a forget changed them")
    changed: int = Field(description="decisions whose replay differs")
    changes: dict[str, int] = Field(description="differences by kind (added, removed, rank, ...)")
    added_shown: int
    removed_shown: int
    acceptance: OffPolicyEstimateOut


class RuleHealthOut(Out):
    """A noisy rule, where it is written, its rates and what the log suggests changing."""

    rule_id: str
    title: LocalText
    file: str
    line: int
    priority: int
    rates: RateRowOut
    suggestions: list[SuggestionOut]


# ---- health ---------------------------------------------------------------------------------

class Health(Out):
    status: Literal["ok"]
    revision: str
    pid: int = Field(description="worker process id (tells workers apart)")


class Ready(Out):
    status: Literal["ready"]
    revision: str = Field(description="the revision this worker decides with (after following a reload)")
    rules: int
    decision_log: Literal["ok", "off"] = Field(description="ok: the decision database takes writes; off: not used")
    pid: int = Field(description="worker process id")


# ---- rule releases (four eyes) ----------------------------------------------------------------

ReleaseState = Literal["proposed", "active", "rejected", "rolled_back", "superseded"]


class ReleaseProposal(BaseModel):
    """A rule release to propose: posted rule files (each replacing the serving file of the same
    name; the others are kept), or none, for the rule files in the server's rule directory (as a
    reload reads them)."""

    model_config = ConfigDict(extra="forbid")

    files: list[RuleFileIn] | None = Field(default=None, min_length=1, max_length=50)
    note: str | None = Field(default=None, max_length=2000, description="what the change is for, for the approver")


class ReleaseEventOut(Out):
    """One change of a release's state: the audit trail."""

    event: Literal["proposed", "approved", "rejected", "superseded", "rolled_back", "reactivated", "direct"]
    state: ReleaseState = Field(description="the release's state after the event")
    by: str = Field(description="the user (or, from the command line, the operator) who made the change")
    at: dt.datetime
    serving_before: str | None = Field(default=None, description="the revision serving before the event")
    note: str | None = None


class ReleaseOut(Out):
    """A rule release: its revision, state, who proposed and decided it, the check and diff summaries."""

    id: int
    revision: str
    state: ReleaseState
    base_revision: str = Field(description="the revision serving when it was proposed (what the diff compares with)")
    files: list[str] = Field(description="the rule and policy files of the release")
    proposed_by: str
    proposed_at: dt.datetime
    decided_by: str | None = Field(default=None, description="who approved or rejected it")
    decided_at: dt.datetime | None = None
    note: str | None = None
    decision_note: str | None = None
    check: dict[str, Any] = Field(description="`errors` (0), `warnings`, `by_code` and the first 100 warnings listed")
    diff: dict[str, Any] = Field(description="what changes against base_revision: `basis` (decision_log: the newest "
                                             "logged batch run; sample_portfolio), documents, subjects, "
                                             "changed_subjects, totals, by_item, the first 100 changes")
    events: list[ReleaseEventOut] = Field(default_factory=list)


class ReleaseList(Out):
    releases: list[ReleaseOut]
    serving: str = Field(description="the revision this worker serves now")
    four_eyes: bool = Field(description="whether rule changes go through releases on this server")


class ReleaseActivated(ReleaseOut):
    """A release after approval or rollback, with what serves now."""

    serving: str = Field(description="the revision serving now")
    previous_revision: str
