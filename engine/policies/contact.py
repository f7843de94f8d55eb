"""Contact policies: how often a client may be approached, and when an answered action rests.

Policies live beside the rules in ``rules/*.policies.yaml`` (their own JSON Schema,
``rules/policies.schema.json``) and come in three kinds::

    suppress_after       after feedback with one of `statuses` (e.g. rejected), hold the same item
                         back from that subject for `days` days (a snoozed item until its `until`)
    client_weekly_cap    at most `max` client actions per client per calendar week (Monday-Sunday)
    action_volume_cap    at most `max` clients get `action` per calendar week across the portfolio

Each policy holds back only the action kinds in its ``holds_back`` (default: service and sales).
Risk and obligation actions (duties, :data:`~engine.language.knowledge.DUTY_KINDS`) are never
suppressed or capped by any policy, and the checker refuses a policy set to (``policy_holds_back_duty``):
the one thing that puts a duty off is a snooze to a date (status ``snoozed`` with ``until``), which a
``suppress_after`` policy on ``snoozed`` honours for every kind. A duty still counts as a contact for a
client weekly cap (it is placed first, so it takes its slot before any sales action), but it is never
the one held back. Coaching topics have no kind: any policy may hold them back.

Application is pure: it takes the arbitrated subject decisions, the feedback history as plain
:class:`~engine.language.feedback.FeedbackEvent` values and the as-of date, and moves what a policy holds
back into ``suppressed`` with ``suppressed_by``. Caps keep the highest-ranked recommendations (by
the arbitration's priority where ``rules/arbitration.yaml`` ranked them, else by score)
(ties: more supporting rules, then action id, then subject id), so the result never depends on input
order. Feedback dated after the as-of date is ignored: a decision sees the history known on its day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from rm_advisor.engine.errors import Code, Diagnostic, suggest
from rm_advisor.engine.language.decision import Recommendation, SubjectDecision, Suppression
from rm_advisor.engine.language.feedback import CONTACT_STATUSES, FeedbackEvent
from rm_advisor.engine.language.knowledge import (
    DUTY_KINDS,
    ID_PATTERN,
    ActionKind,
    Channel,
    FeedbackStatus,
    KnowledgeBase,
    Text,
)
from rm_advisor.engine.language.rules import file_json_schema
from rm_advisor.engine.language.subjects import SubjectKey
from rm_advisor.engine.language.values import shift
from rm_advisor.engine.loading.validation import validate_document
from rm_advisor.engine.loading.yaml_source import ParsedYaml, parse_yaml
from rm_advisor.engine.messages import N_, in_both


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _PolicyBase(_Strict):
    id: str = Field(pattern=ID_PATTERN, description="stable id, shown in suppressed_by")
    title: Text
    description: Text | None = None
    holds_back: tuple[ActionKind, ...] = Field(
        default=("service", "sales"), min_length=1,
        description="the action kinds this policy may hold back; risk and obligation are refused by the checker "
                    "(duties are only snoozed to a date)")


class SuppressAfter(_PolicyBase):
    """Hold an item back from a subject for some days after feedback with one of `statuses`."""

    kind: Literal["suppress_after"]
    statuses: tuple[FeedbackStatus, ...] = Field(min_length=1)
    days: int = Field(ge=1, description="days the item rests; a snoozed item with `until` rests until then")
    reasons: tuple[str, ...] | None = Field(default=None, description="only feedback with one of these reason codes")
    except_reasons: tuple[str, ...] = Field(default=(), description="never feedback with these reason codes")
    items: tuple[str, ...] | None = Field(default=None, description="only these actions or coaching topics")


class ClientWeeklyCap(_PolicyBase):
    """At most `max` actions per client per calendar week (accepted or done ones count)."""

    kind: Literal["client_weekly_cap"]
    max: int = Field(ge=0)
    channels: tuple[Channel, ...] | None = Field(default=None, description="only actions on these channels count")


class ActionVolumeCap(_PolicyBase):
    """At most `max` clients get `action` per calendar week, across every client in the history."""

    kind: Literal["action_volume_cap"]
    action: str = Field(pattern=ID_PATTERN)
    max: int = Field(ge=0)


Policy = Annotated[SuppressAfter | ClientWeeklyCap | ActionVolumeCap, Field(discriminator="kind")]


class PolicyFile(_Strict):
    """A contact-policy file: ``rules/<name>.policies.yaml``."""

    policies: tuple[Policy, ...]


def policy_file_json_schema() -> dict[str, Any]:
    """The JSON Schema of a policy file, for editors (committed as ``rules/policies.schema.json``)."""
    return file_json_schema(PolicyFile, "policies.schema.json", "rm-advisor contact-policy file")


@dataclass(frozen=True)
class PolicySet:
    """The checked contact policies of a rule set (sorted by id)."""

    policies: tuple[SuppressAfter | ClientWeeklyCap | ActionVolumeCap, ...]

    def __bool__(self) -> bool:
        return bool(self.policies)

    def lookback_days(self) -> int:
        """How far back feedback can matter for a decision (the longest rest, at least a week)."""
        rests = [p.days for p in self.policies if isinstance(p, SuppressAfter)]
        return max([7, *rests])

    def capped_actions(self) -> list[str]:
        """Actions with a portfolio volume cap: their feedback counts across every client."""
        return sorted({p.action for p in self.policies if isinstance(p, ActionVolumeCap)})


def check_policy_files(files: dict[str, str], kb: KnowledgeBase) -> tuple[PolicySet | None, list[Diagnostic]]:
    """Parse and check policy files (name -> YAML text) against the knowledge base."""
    diags: list[Diagnostic] = []
    found: list[tuple[Any, ParsedYaml, int]] = []
    for name in sorted(files):
        parsed = parse_yaml(files[name], name)
        diags.extend(parsed.diagnostics)
        if parsed.unreadable:
            continue
        doc, errs = validate_document(PolicyFile, parsed)
        diags.extend(errs)
        if doc is not None:
            found.extend((p, parsed, i) for i, p in enumerate(doc.policies))
        else:  # still check the references of the policies that are well formed
            found.extend((p, parsed, i) for i, p in _well_formed(parsed.data))
    seen: set[str] = set()
    for policy, parsed, i in found:
        at = ("policies", i)
        if policy.id in seen:
            diags.append(Diagnostic("duplicate_policy_id", f"policy id `{policy.id}` is defined twice",
                                    parsed.locate((*at, "id")), rule_id=policy.id, hint="policy ids must be unique"))
        seen.add(policy.id)
        diags.extend(_check_references(policy, parsed, at, kb))
        diags.extend(_check_duties(policy, parsed, at, kb))
    if any(d.severity == "error" for d in diags):
        return None, sorted(diags, key=Diagnostic.sort_key)
    return PolicySet(tuple(sorted((p for p, _, _ in found), key=lambda p: p.id))), diags


_POLICY = TypeAdapter(Policy)


def _well_formed(data: Any) -> list[tuple[int, Any]]:
    items = data.get("policies") if isinstance(data, dict) else None
    out = []
    for i, raw in enumerate(items if isinstance(items, list) else []):
        try:
            out.append((i, _POLICY.validate_python(raw)))
        except ValidationError:
            continue  # reported by the whole-file validation
    return out


def _check_references(policy: Any, parsed: ParsedYaml, at: tuple[Any, ...], kb: KnowledgeBase) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    items = {**kb.actions, **kb.coaching}
    refs: list[tuple[Code, str, dict[str, Any], tuple[Any, ...]]] = []
    if isinstance(policy, SuppressAfter):
        refs += [("unknown_action", x, items, ("items", j)) for j, x in enumerate(policy.items or ())]
        refs += [("unknown_reason_code", x, kb.feedback_reasons, ("reasons", j))
                 for j, x in enumerate(policy.reasons or ())]
        refs += [("unknown_reason_code", x, kb.feedback_reasons, ("except_reasons", j))
                 for j, x in enumerate(policy.except_reasons)]
    if isinstance(policy, ActionVolumeCap):
        refs.append(("unknown_action", policy.action, kb.actions, ("action",)))
    for code, name, known, path in refs:
        if name not in known:
            what = "action" if code == "unknown_action" else "reason code"
            out.append(Diagnostic(code, f"unknown {what} `{name}`", parsed.locate(at + path),
                                  rule_id=policy.id, hint=suggest(name, known)))
    return out


def _check_duties(policy: Any, parsed: ParsedYaml, at: tuple[Any, ...], kb: KnowledgeBase) -> list[Diagnostic]:
    """A policy may not be set to hold back a duty: risk or obligation in ``holds_back``, or a
    volume cap on a risk or obligation action."""
    hint = "risk and obligation actions are never suppressed or capped, only snoozed to a date; " \
           "hold back service and sales only"
    out = [Diagnostic("policy_holds_back_duty", f"policy `{policy.id}` may not hold back `{kind}` actions",
                      parsed.locate((*at, "holds_back", j)), rule_id=policy.id, hint=hint)
           for j, kind in enumerate(policy.holds_back) if kind in DUTY_KINDS]
    spec = kb.actions.get(policy.action) if isinstance(policy, ActionVolumeCap) else None
    if spec is not None and spec.duty:
        out.append(Diagnostic("policy_holds_back_duty", f"policy `{policy.id}` caps `{spec.id}`, an action of kind "
                              f"`{spec.kind}`", parsed.locate((*at, "action")), rule_id=policy.id, hint=hint))
    return out


def _priority(rec: Recommendation) -> float:
    """What a recommendation is ranked by: its arbitration priority, else its score (as a priority)."""
    return rec.ranking.priority if rec.ranking is not None else rec.score / 100


def may_hold_back(policy: SuppressAfter | ClientWeeklyCap | ActionVolumeCap, rec: Recommendation,
                  kb: KnowledgeBase) -> bool:
    """Whether ``policy`` may hold ``rec`` back (a snooze to a date aside): a coaching topic always,
    an action when its kind is one the policy holds back and not a duty."""
    return rec.kind != "action" or _may_hold_back_action(policy, rec.id, kb)


_STATUS_TEXT = {"accepted": ("已接受", "accepted"), "rejected": ("被拒绝", "rejected"),
                "done": ("已完成", "done"), "snoozed": ("已推迟", "snoozed")}


def apply_policies(clients: Sequence[SubjectDecision], managers: Sequence[SubjectDecision],
                   policies: PolicySet, history: Iterable[FeedbackEvent], as_of: dt.date,
                   kb: KnowledgeBase, settled: Settled | None = None
                   ) -> tuple[list[SubjectDecision], list[SubjectDecision]]:
    """Hold back what the contact policies forbid on ``as_of``, given the feedback ``history``.

    ``settled`` is what the weekly caps decided elsewhere about some of these clients (those with an
    action under a portfolio volume cap, ranked across the whole portfolio by :func:`settle_caps`):
    their actions are held back as it says, and the caps rank the other clients' actions here."""
    known = _known(history, as_of)
    held = _rests([*clients, *managers], policies, known, as_of, kb)
    if settled is None:
        held.update(_caps(cap_candidates(clients, held, kb), policies, known, as_of, kb))
    else:
        held.update(((SubjectKey("client", c), a), found) for (c, a), found in settled.held.items())
        own = [c for c in clients if c.id not in settled.clients]
        held.update(_caps(cap_candidates(own, held, kb), policies, known, as_of, kb))
    return [_rebuild(s, held) for s in clients], [_rebuild(s, held) for s in managers]


@dataclass(frozen=True)
class CapCandidate:
    """A client action the weekly caps rank, as they read it: a small record, so that the actions
    under a portfolio volume cap can be ranked together away from their decisions (a cluster's
    workers send them to the calling process)."""

    client_id: str
    action_id: str
    priority: float
    score: float
    rules: int

    def order(self, kb: KnowledgeBase) -> tuple[bool, float, float, int, str, str]:
        """Best first: duties (never held back, they take their slots first), then priority, score,
        supporting rules, action id and client id."""
        return (not _is_duty(self.action_id, kb), -self.priority, -self.score, -self.rules, self.action_id,
                self.client_id)


@dataclass(frozen=True)
class Settled:
    """What the weekly caps decided about ``clients`` (ranked with the whole portfolio's actions
    under a volume cap): the actions they held back, each with its suppressions."""

    clients: frozenset[str]
    held: dict[tuple[str, str], list[Suppression]]


def pending(clients: Sequence[SubjectDecision], managers: Sequence[SubjectDecision], policies: PolicySet,
            history: Iterable[FeedbackEvent], as_of: dt.date, kb: KnowledgeBase) -> list[CapCandidate]:
    """The candidates of the clients that a portfolio volume cap ties to other books: every action
    (not held back by a rest) of each client with at least one action under a volume cap. They are
    ranked together across the portfolio (:func:`settle_caps`); the other clients' actions can be
    ranked within their own book."""
    capped = set(policies.capped_actions())
    if not capped:
        return []
    known = _known(history, as_of)
    found = cap_candidates(clients, _rests([*clients, *managers], policies, known, as_of, kb), kb)
    tied = {c.client_id for c in found if c.action_id in capped}
    return [c for c in found if c.client_id in tied]


def settle_caps(candidates: Iterable[CapCandidate], policies: PolicySet, history: Iterable[FeedbackEvent],
                as_of: dt.date, kb: KnowledgeBase) -> Settled:
    """The weekly caps over ``candidates`` (:func:`pending` of every book) with the feedback on
    their clients and on the capped actions (``history``): what :func:`apply_policies` over the
    whole portfolio holds back of those clients' actions."""
    found = list(candidates)
    held = _caps(found, policies, _known(history, as_of), as_of, kb)
    return Settled(frozenset(c.client_id for c in found), {(k.id, a): v for (k, a), v in held.items()})


def _known(history: Iterable[FeedbackEvent], as_of: dt.date) -> list[FeedbackEvent]:
    """The feedback known on ``as_of``, in a fixed order."""
    return sorted((e for e in history if e.date <= as_of),
                  key=lambda e: (e.date, e.decision_id, e.subject, e.item_id, e.status))


def _rests(subjects: Sequence[SubjectDecision], policies: PolicySet, known: list[FeedbackEvent], as_of: dt.date,
           kb: KnowledgeBase) -> dict[tuple[SubjectKey, str], list[Suppression]]:
    """What the ``suppress_after`` policies hold back of ``subjects``' recommendations."""
    per_item: dict[tuple[SubjectKey, str], list[FeedbackEvent]] = {}
    for e in known:
        per_item.setdefault((e.subject, e.item_id), []).append(e)
    held: dict[tuple[SubjectKey, str], list[Suppression]] = {}
    rests = [p for p in policies.policies if isinstance(p, SuppressAfter)]
    for subject in subjects:
        key = SubjectKey(subject.subject_type, subject.id)
        for rec in subject.recommendations:
            events = per_item.get((key, rec.id), [])
            found = [s for p in rests if events and (s := _rest(p, rec, events, as_of, kb))]
            if found:
                held[(key, rec.id)] = found
    return held


def cap_candidates(clients: Sequence[SubjectDecision], held: dict[tuple[SubjectKey, str], list[Suppression]],
                   kb: KnowledgeBase) -> list[CapCandidate]:
    """The client actions of ``clients`` that nothing in ``held`` holds back yet, as the caps read them."""
    return [CapCandidate(s.id, r.id, _priority(r), r.score, len(r.rules)) for s in clients for r in s.recommendations
            if r.kind == "action" and (SubjectKey("client", s.id), r.id) not in held]


def _rest(p: SuppressAfter, rec: Recommendation, events: list[FeedbackEvent],
          as_of: dt.date, kb: KnowledgeBase) -> Suppression | None:
    """The rest ``p`` imposes on ``rec``, given the feedback on this subject's item."""
    if p.items is not None and rec.id not in p.items:
        return None
    holdable = may_hold_back(p, rec, kb)
    best: tuple[dt.date, FeedbackEvent] | None = None
    for e in events:
        if e.status not in p.statuses or not (holdable or _snoozed_to_a_date(e)):
            continue
        if (p.reasons is not None and e.reason_code not in p.reasons) or e.reason_code in p.except_reasons:
            continue
        end = e.until if e.status == "snoozed" and e.until else shift(e.date, p.days)
        if as_of < end and (best is None or end > best[0]):
            best = (end, e)
    if best is None:
        return None
    end, e = best
    zh_status, en_status = _STATUS_TEXT[e.status]
    reason = kb.feedback_reasons.get(e.reason_code or "")
    zh_reason = f",原因:{reason.title.zh}" if reason else ""
    en_reason = f" ({reason.title.en})" if reason else ""
    text = Text(zh=f"{e.date}{zh_status}{zh_reason}(决策 {e.decision_id});{end}前不再推荐",
                en=f"{en_status} on {e.date}{en_reason} in decision {e.decision_id}; held back until {end}")
    return Suppression(policy_id=p.id, kind=p.kind, title=p.title, text=text, until=end, feedback=[e])


def _snoozed_to_a_date(e: FeedbackEvent) -> bool:
    """A snooze with ``until``: the one feedback that puts off any kind of action, duties included."""
    return e.status == "snoozed" and e.until is not None


@dataclass
class _Cap:
    """The state of one cap (per client, or per action across the portfolio) during one decision."""

    policy: ClientWeeklyCap | ActionVolumeCap
    taken: set[str]                 # what history already counted: action ids (client cap) or client ids
    events: list[FeedbackEvent]
    now: int = 0                    # slots given to higher-ranked recommendations of this decision

    def full(self, unit: str) -> bool:
        return unit not in self.taken and len(self.taken) + self.now >= self.policy.max

    def take(self, unit: str) -> None:
        if unit not in self.taken:
            self.now += 1


def _caps(candidates: list[CapCandidate], policies: PolicySet, events: list[FeedbackEvent],
          as_of: dt.date, kb: KnowledgeBase) -> dict[tuple[SubjectKey, str], list[Suppression]]:
    """Greedy over the candidate client actions, best first: a recommendation is kept when every
    cap it falls under has room, and then takes its slot in each; what is held back, returned."""
    held: dict[tuple[SubjectKey, str], list[Suppression]] = {}
    week = shift(as_of, -as_of.weekday())
    contacts = [e for e in events if e.date >= week and e.status in CONTACT_STATUSES and e.subject_type == "client"]
    by_client: dict[str, list[FeedbackEvent]] = {}
    for e in contacts:
        by_client.setdefault(e.subject_id, []).append(e)
    client_caps = [p for p in policies.policies if isinstance(p, ClientWeeklyCap)]
    volume: dict[str, list[_Cap]] = {}
    for p in policies.policies:
        if isinstance(p, ActionVolumeCap):
            volume.setdefault(p.action, []).append(_volume_cap(p, contacts))
    per_client: dict[tuple[str, str], _Cap] = {}
    for c in sorted(candidates, key=lambda c: c.order(kb)):
        caps: list[tuple[_Cap, str]] = []
        for p in client_caps:
            if _counts(p, c.action_id, kb):
                if (p.id, c.client_id) not in per_client:
                    per_client[(p.id, c.client_id)] = _client_cap(p, by_client.get(c.client_id, []), kb)
                caps.append((per_client[(p.id, c.client_id)], c.action_id))
        caps += [(cap, c.client_id) for cap in volume.get(c.action_id, [])]
        full = [(cap, unit) for cap, unit in caps
                if cap.full(unit) and _may_hold_back_action(cap.policy, c.action_id, kb)]
        if full:
            held[(SubjectKey("client", c.client_id), c.action_id)] = [_cap_suppression(cap, c.action_id, week, kb)
                                                                      for cap, _ in full]
        else:
            for cap, unit in caps:
                cap.take(unit)
    return held


def _may_hold_back_action(policy: SuppressAfter | ClientWeeklyCap | ActionVolumeCap, action_id: str,
                          kb: KnowledgeBase) -> bool:
    """:func:`may_hold_back` for a client action known by its id."""
    spec = kb.actions.get(action_id)
    kind: ActionKind = spec.kind if spec is not None else "service"
    return kind in policy.holds_back and kind not in DUTY_KINDS


def _is_duty(action_id: str, kb: KnowledgeBase) -> bool:
    spec = kb.actions.get(action_id)
    return spec is not None and spec.duty


def _counts(p: ClientWeeklyCap, action_id: str, kb: KnowledgeBase) -> bool:
    spec = kb.actions.get(action_id)
    return spec is not None and (p.channels is None or spec.channel in p.channels)


def _client_cap(p: ClientWeeklyCap, contacts: list[FeedbackEvent], kb: KnowledgeBase) -> _Cap:
    """The cap of one client: ``contacts`` are that client's contacts this week."""
    mine = [e for e in contacts if _counts(p, e.item_id, kb)]
    return _Cap(p, {e.item_id for e in mine}, mine)


def _volume_cap(p: ActionVolumeCap, contacts: list[FeedbackEvent]) -> _Cap:
    mine = [e for e in contacts if e.item_id == p.action]
    return _Cap(p, {e.subject_id for e in mine}, mine)


def _cap_suppression(cap: _Cap, action_id: str, week: dt.date, kb: KnowledgeBase) -> Suppression:
    p = cap.policy
    before, now = len(cap.taken), cap.now
    counts = {"max": p.max, "before": before, "week": week, "now": now}
    if isinstance(p, ClientWeeklyCap):
        text = in_both(N_("at most {max} actions per client per week: {before} taken since {week}, {now} ranked "
                          "higher in this decision"), **counts)
    else:
        # the action as people know it, never its id
        spec = kb.actions.get(action_id)
        text = in_both(N_("at most {max} clients get “{title}” per week: {before} taken since {week}, {now} ranked "
                          "higher in this decision"), title=spec.title if spec else action_id, **counts)
    return Suppression(policy_id=p.id, kind=p.kind, title=p.title, text=Text(**text),
                       until=shift(week, 7), used=before + now, limit=p.max,
                       feedback=list(cap.events) if isinstance(p, ClientWeeklyCap) else [])


def _rebuild(subject: SubjectDecision, held: dict[tuple[SubjectKey, str], list[Suppression]]) -> SubjectDecision:
    key = SubjectKey(subject.subject_type, subject.id)
    kept, suppressed = [], []
    for rec in subject.recommendations:
        found = held.get((key, rec.id))
        if found:
            suppressed.append(rec.model_copy(update={"suppressed_by": sorted(found, key=lambda s: s.policy_id)}))
        else:
            kept.append(rec)
    return subject.model_copy(update={"recommendations": kept, "suppressed": suppressed})
