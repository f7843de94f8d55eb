"""Read models of the manager workspace: a manager's week, what was held back, the coaching, a
client, a branch's team. The JSON routes (:mod:`api.routes.worklists`) and the pages
(:mod:`api.routes.pages`) serve the same models, so a CRM and a manager see one answer.

Each is read from the newest logged batch decision of the manager's book (``rm-advisor batch
--log`` records one decision per manager, with its input): the worklist is built again from that
decision and its input with :func:`engine.portfolio.build_worklist` (the batch's own worklist, the
same function on the same decision), and the feedback recorded on the decision since is shown
beside each item. Names are masked in the log, so a client is shown by id where its name was
masked. "Why not" re-runs the logged input on the logged revision and asks the explainer
(:mod:`engine.authoring.explain`), as ``GET /v1/decisions/{id}/explain`` does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from pydantic import Field

from rm_advisor.api.schemas import FeedbackStatus, LocalText, Out
from rm_advisor.engine.language import (
    FieldSpec,
    KnowledgeBase,
    Recommendation,
    RuleTrace,
    SignalTrace,
    SubjectDecision,
    Text,
)
from rm_advisor.engine.portfolio import Contact, WorkItem, build_worklist, capacity_of
from rm_advisor.store import MASK, FeedbackRecord, LoggedDecision, Store

#: a fact value as the read models show it (dates as ISO text)
FactValue = str | int | float | bool | None


class SignalStep(Out):
    """A derived signal a rule relied on, and the rule that asserted it with what it matched."""

    signal: str
    title: LocalText
    asserted_by: str = Field(description="the rule that asserted the signal")
    rule_title: LocalText
    matched: dict[str, FactValue] = Field(description="fact.field -> value that rule matched")


class WhyRule(Out):
    """One rule behind an item: where it is written, its source quote, the facts it matched and
    the chain of derived signals it relied on."""

    rule_id: str
    title: LocalText
    file: str
    line: int
    document: str = Field(description="source document id (knowledge_base/documents.yaml)")
    quote: str = Field(description="the exact quote of the source document the rule rests on")
    matched: dict[str, FactValue] = Field(description="fact.field -> value the rule matched")
    signals: list[SignalStep] = Field(default_factory=list, description="derived signals, depth first")


class ActionView(Out):
    """One recommended action (or coaching topic) with its top reason, its why and the feedback on it."""

    item: str = Field(description="the action or coaching topic id")
    title: LocalText
    kind: str = Field(description="risk, obligation, service or sales; coaching for a topic")
    score: int
    reason: LocalText = Field(description="the top reason")
    why: list[WhyRule]
    ranking: LocalText | None = Field(default=None, description="how the arbitration ranked it (the formula with "
                                                                "its numbers and the feedback behind them)")
    feedback: FeedbackStatus | None = Field(default=None, description="the latest feedback recorded on it")
    reason_code: str | None = Field(default=None, description="the reason of that feedback")


class WeekItem(Out):
    """One contact of the week (or a client's desk work) and the actions it carries."""

    rank: int
    client_id: str
    client_name: str | None = Field(default=None, description="null where the log masked it")
    contact: Contact
    status: Literal["planned", "deferred"]
    score: int
    reason: LocalText
    actions: list[ActionView]


class SetAsideView(Out):
    """A sales action kept off a contact that carries a risk or obligation action."""

    client_id: str
    action: str
    title: LocalText
    reason: LocalText


class Capacity(Out):
    visit: int
    call: int


class WorklistView(Out):
    """A manager's week from the newest logged batch decision of the book."""

    manager_id: str
    decision_id: str
    revision: str
    as_of: dt.date
    logged_at: dt.datetime
    capacity: Capacity
    used: Capacity
    items: list[WeekItem] = Field(description="visits and calls, ranked; planned ones first fill the capacity")
    desk: list[WeekItem] = Field(description="internal actions: no visit or call capacity")
    set_aside: list[SetAsideView]
    coaching: int = Field(description="coaching topics for the manager (GET .../coaching)")
    held_back: int = Field(description="vetoed and suppressed items (GET .../held-back)")


class HeldBy(Out):
    """The veto rule or the contact policy that holds an item back."""

    by: str = Field(description="the rule id (veto) or the policy id (suppressed)")
    title: LocalText
    text: LocalText
    until: dt.date | None = Field(default=None, description="a policy: the first day the item may come back")


class HeldItem(Out):
    client_id: str
    item: str
    title: LocalText
    outcome: Literal["vetoed", "suppressed"]
    held_by: list[HeldBy]


class HeldBackView(Out):
    """What the rules vetoed and the contact policies suppressed in the manager's newest decision."""

    manager_id: str
    decision_id: str
    as_of: dt.date
    items: list[HeldItem]


class EvidenceView(Out):
    fact: str
    text: LocalText


class CoachingTopicView(Out):
    """A coaching topic for the manager with its card (when the topic has one) and evidence."""

    item: str
    title: LocalText
    score: int
    reason: LocalText
    diagnosis: LocalText | None = None
    next_behaviour: LocalText | None = None
    review: LocalText | None = None
    evidence: list[EvidenceView]
    why: list[WhyRule]
    feedback: FeedbackStatus | None = None


class CoachingView(Out):
    manager_id: str
    decision_id: str
    as_of: dt.date
    topics: list[CoachingTopicView]


class ProfileField(Out):
    field: str
    title: LocalText
    value: FactValue
    shown: LocalText = Field(description="the value as people read it: a label, yes or no, a plain number")


class InteractionView(Out):
    """One event of the client's history, newest first."""

    id: str
    date: str | None
    kind: str | None
    kind_shown: LocalText = Field(description="the kind as people read it")
    fields: list[ProfileField] = Field(description="the event's other fields")


class CatalogueAction(Out):
    id: str
    title: LocalText


class ClientView(Out):
    """A client: profile, recent interactions, ranked actions, what is held back, and the catalogue
    actions a "why not" may be asked about."""

    client_id: str
    manager_id: str
    decision_id: str
    as_of: dt.date
    profile: list[ProfileField]
    interactions: list[InteractionView]
    actions: list[ActionView]
    held_back: list[HeldItem]
    catalogue: list[CatalogueAction] = Field(description="actions of the client's domain, not recommended")


class FailingCondition(Out):
    condition: str
    actual: FactValue | list[FactValue] | dict[str, FactValue] = None
    expected: LocalText
    change: LocalText | None = Field(default=None, description="the smallest change that would flip it")


class WhyNotRule(Out):
    rule_id: str
    title: LocalText
    file: str
    line: int
    fired: bool
    note: LocalText | None = None
    failing: list[FailingCondition]


class WhyNotView(Out):
    """Why an action was (not) recommended for a client, with each candidate rule's smallest change."""

    client_id: str
    item: str
    title: LocalText
    outcome: Literal["recommended", "vetoed", "not recommended", "fired", "not fired"]
    summary: LocalText
    rules: list[WhyNotRule]


class TeamRow(Out):
    """One manager of a branch: the week's capacity used, feedback so far and coaching."""

    manager_id: str
    decision_id: str
    as_of: dt.date
    domain: str | None
    visits: str = Field(description="visits planned / capacity")
    calls: str = Field(description="calls planned / capacity")
    planned: int
    deferred: int
    accepted: int = Field(description="items accepted or done")
    rejected: int
    acceptance: float | None = Field(description="accepted / (accepted + rejected); null: no answer yet")
    coaching: int
    actions: list[str] = Field(description="the action ids of the manager's week")
    classes: list[str] = Field(description="the client classes (A, B, C) of the week's contacts")


class TeamView(Out):
    managers: list[TeamRow]


# ---------------------------------------------------------------------------------------------- building


def _text(t: Text | Mapping[str, str]) -> dict[str, str]:
    return t.model_dump() if isinstance(t, Text) else dict(t)


def _field(name: str, spec: FieldSpec, value: Any) -> dict[str, Any]:
    return {"field": name, "title": _text(spec.description), "value": _value(value), "shown": _shown(value, spec)}


def _shown(value: Any, spec: FieldSpec | None) -> dict[str, str]:
    """A fact value as the reason texts show it, in both languages (:func:`engine.language.templates.show`)."""
    from rm_advisor.engine.language import show_value

    return {"zh": show_value(value, spec, "zh"), "en": show_value(value, spec, "en")}


def _value(v: Any) -> FactValue:
    if v is None or isinstance(v, (str, int, float, bool)):
        return v
    return str(v)


def _signals(traces: Iterable[SignalTrace], seen: set[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for s in traces:
        for rule in s.asserted_by:
            key = f"{s.signal}/{rule.rule_id}"
            if key in seen:
                continue
            seen.add(key)
            out.append({"signal": s.signal, "title": _text(s.title), "asserted_by": rule.rule_id,
                        "rule_title": _text(rule.title),
                        "matched": {k: _value(v) for k, v in rule.matched.items()}})
            out += _signals(rule.signals, seen)
    return out


def _why(traces: Sequence[RuleTrace]) -> list[dict[str, Any]]:
    return [{"rule_id": t.rule_id, "title": _text(t.title), "file": t.file, "line": t.line,
             "document": t.provenance.document, "quote": t.provenance.quote,
             "matched": {k: _value(v) for k, v in t.matched.items()}, "signals": _signals(t.signals, set())}
            for t in traces]


_Latest = dict[tuple[str, str, str], FeedbackRecord]


def _latest(feedback: Iterable[FeedbackRecord]) -> _Latest:
    out: _Latest = {}
    for f in feedback:  # in the order recorded: the last one wins
        out[(f.subject_type, f.subject_id, f.item_id)] = f
    return out


def _action(rec: Recommendation, subject: SubjectDecision, kinds: Mapping[str, str], latest: _Latest
            ) -> dict[str, Any]:
    fb = latest.get((subject.subject_type, subject.id, rec.id))
    return {"item": rec.id, "title": _text(rec.title), "score": rec.score,
            "kind": "coaching" if rec.kind == "coaching" else kinds.get(rec.id, "service"),
            "reason": _text(rec.reasons[0].text), "why": _why(rec.because),
            "ranking": _text(rec.ranking.text) if rec.ranking is not None else None,
            "feedback": fb.status if fb else None, "reason_code": fb.reason_code if fb else None}


def _held(subject: SubjectDecision) -> list[dict[str, Any]]:
    out = []
    for rec in subject.vetoed:
        out.append({"client_id": subject.id, "item": rec.id, "title": _text(rec.title), "outcome": "vetoed",
                    "held_by": [{"by": v.rule_id, "title": _text(v.text), "text": _text(v.text)}
                                for v in rec.vetoed_by]})
    for rec in subject.suppressed:
        out.append({"client_id": subject.id, "item": rec.id, "title": _text(rec.title), "outcome": "suppressed",
                    "held_by": [{"by": s.policy_id, "title": _text(s.title), "text": _text(s.text), "until": s.until}
                                for s in rec.suppressed_by]})
    return out


class Workspace:
    """The read models over one store and the knowledge base being served."""

    def __init__(self, store: Store, kb: KnowledgeBase):
        self.store, self.kb = store, kb
        self.kinds: dict[str, str] = dict(kb.action_kinds())
        self._derived: dict[str, dict[str, Mapping[str, Any]]] = {}  # decision id -> its derived clients

    # ---- where the data is

    def managers(self) -> dict[str, str]:
        """Manager id -> id of the newest logged batch decision of the book."""
        return self.store.decisions.latest_by_manager()

    def decision_of(self, manager_id: str) -> LoggedDecision | None:
        """The newest logged batch decision of the manager's book (None: no batch logged it)."""
        decision_id = self.managers().get(manager_id)
        return None if decision_id is None else self.store.decisions.get(decision_id)

    def manager_of_client(self, client_id: str) -> str | None:
        return self.store.decisions.manager_of("client", client_id)

    def _clients(self, record: LoggedDecision) -> dict[str, Mapping[str, Any]]:
        """The clients ``record`` was decided on, by id, with the fields its revision derives from the
        logged history (a batch book logs its given fields and its history events, as a single decision
        is posted: :func:`engine.portfolio.facts_document`)."""
        if record.id not in self._derived:
            facts = self.store.decisions.advisor_for(record.revision).validate(record.input, as_of=record.as_of)
            self._derived[record.id] = {str(c["id"]): c for c in facts.subjects("client")}
        return self._derived[record.id]

    def _manager_fact(self, record: LoggedDecision, manager_id: str) -> dict[str, Any]:
        found: dict[str, Any] = next((m for m in record.input.get(self.kb.facts["manager"].plural, [])
                                      if str(m.get("id")) == manager_id), {})
        return found

    # ---- the models

    def worklist(self, record: LoggedDecision, manager_id: str, lang: str) -> WorklistView:
        """The manager's week from ``record`` (its newest logged batch decision)."""
        facts = {k: dict(c) for k, c in self._clients(record).items()}
        manager_fact = self._manager_fact(record, manager_id)
        params = {k: p.value for k, p in self.kb.parameters.items()}
        capacity = capacity_of(manager_fact, params)
        manager = record.decision.subject("manager", manager_id)
        wl = build_worklist(manager_id, capacity, record.decision.clients, facts, manager, self.kinds)
        latest = _latest(self.store.feedback.for_decision(record.id))
        by_client = {c.id: c for c in record.decision.clients}

        def item(w: WorkItem) -> dict[str, Any]:
            subject = by_client[w.client_id]
            recs = {r.id: r for r in subject.recommendations}
            return {"rank": w.rank, "client_id": w.client_id,
                    "client_name": None if w.client_name in (None, MASK) else w.client_name,
                    "contact": w.contact, "status": w.status, "score": w.score, "reason": _text(w.reason),
                    "actions": [_action(recs[a], subject, self.kinds, latest) for a in w.actions]}

        held = sum(len(c.vetoed) + len(c.suppressed) for c in record.decision.clients)
        data = {"manager_id": manager_id, "decision_id": record.id, "revision": record.revision,
                "as_of": record.as_of, "logged_at": record.logged_at, "capacity": wl.capacity, "used": wl.used,
                "items": [item(w) for w in wl.items], "desk": [item(w) for w in wl.desk],
                "set_aside": [{"client_id": s.client_id, "action": s.action, "title": _text(s.title),
                               "reason": _text(s.reason)} for s in wl.set_aside],
                "coaching": len(manager.recommendations) if manager else 0, "held_back": held}
        return WorklistView.model_validate(data, context={"lang": lang})

    def held_back(self, record: LoggedDecision, manager_id: str, lang: str) -> HeldBackView:
        items = [h for c in record.decision.clients for h in _held(c)]
        return HeldBackView.model_validate({"manager_id": manager_id, "decision_id": record.id,
                                            "as_of": record.as_of, "items": items}, context={"lang": lang})

    def coaching(self, record: LoggedDecision, manager_id: str, lang: str) -> CoachingView:
        manager = record.decision.subject("manager", manager_id)
        latest = _latest(self.store.feedback.for_decision(record.id))
        topics = []
        for rec in manager.recommendations if manager else []:
            card = rec.card
            fb = latest.get(("manager", manager_id, rec.id))
            topics.append({"item": rec.id, "title": _text(rec.title), "score": rec.score,
                           "reason": _text(rec.reasons[0].text), "why": _why(rec.because),
                           "diagnosis": _text(card.diagnosis) if card else None,
                           "next_behaviour": _text(card.next_behaviour.text) if card else None,
                           "review": _text(card.review.text) if card else None,
                           "evidence": [{"fact": e.fact, "text": _text(e.text)} for e in card.evidence] if card else [],
                           "feedback": fb.status if fb else None})
        return CoachingView.model_validate({"manager_id": manager_id, "decision_id": record.id,
                                            "as_of": record.as_of, "topics": topics}, context={"lang": lang})

    def client(self, record: LoggedDecision, manager_id: str, client_id: str, lang: str) -> ClientView | None:
        """The client as the manager's newest decision has it (None: not in that decision's input)."""
        spec = self.kb.facts["client"]
        fact = self._clients(record).get(client_id)
        if fact is None:
            return None
        subject = record.decision.subject("client", client_id)
        latest = _latest(self.store.feedback.for_decision(record.id))
        profile = [_field(f, spec.fields[f], v) for f, v in fact.items()
                   if f in spec.fields and v not in (None, MASK) and f != "id"]
        ispec = self.kb.facts["interaction"]
        events = sorted((e for e in record.input.get(ispec.plural, []) if str(e.get("client_id")) == client_id),
                        key=lambda e: (str(e.get("date") or ""), str(e.get("id"))), reverse=True)
        skip = {"id", "date", "kind", "client_id", "manager_id"}
        interactions = [{"id": str(e.get("id")), "date": _value(e.get("date")), "kind": _value(e.get("kind")),
                         "kind_shown": _shown(e.get("kind"), ispec.fields.get("kind")),
                         "fields": [_field(f, ispec.fields[f], v) for f, v in e.items()
                                    if f not in skip and f in ispec.fields and v not in (None, MASK)]}
                        for e in events[:20]]
        recommended = {r.id for r in subject.recommendations} if subject else set()
        domain = fact.get("domain")
        catalogue = [{"id": a.id, "title": _text(a.title)} for a in sorted(self.kb.actions.values(), key=lambda a: a.id)
                     if a.domain in (domain, "generic") and a.id not in recommended]
        data = {"client_id": client_id, "manager_id": manager_id, "decision_id": record.id, "as_of": record.as_of,
                "profile": profile, "interactions": interactions,
                "actions": [_action(r, subject, self.kinds, latest) for r in subject.recommendations] if subject
                else [],
                "held_back": _held(subject) if subject else [], "catalogue": catalogue}
        return ClientView.model_validate(data, context={"lang": lang})

    def why_not(self, record: LoggedDecision, client_id: str, item: str, lang: str) -> WhyNotView:
        """Why ``item`` was or was not recommended for the client: the logged input decided again on
        its revision, then explained (each candidate rule's failing conditions and smallest change)."""
        from rm_advisor.engine.authoring import Explainer
        from rm_advisor.engine.language import SubjectKey
        from rm_advisor.engine.loading import Locator

        advisor = self.store.decisions.advisor_for(record.revision)
        book = advisor.book
        run = advisor.run(record.input, as_of=record.as_of, history=record.history)
        ex = Explainer(book, run, Locator.from_files(dict(book.sources.rules) if book.sources else {}))
        found = ex.explain_item(item, SubjectKey("client", client_id))
        spec = self.kb.actions.get(item)
        data = {"client_id": client_id, "item": item, "title": _text(spec.title) if spec else {"zh": item, "en": item},
                "outcome": found.outcome, "summary": _text(found.summary),
                "rules": [{"rule_id": r.rule_id, "title": _text(r.title), "file": r.file, "line": r.line,
                           "fired": r.fired, "note": _text(r.note) if r.note else None,
                           "failing": [{"condition": c.condition, "actual": _actual(c.actual),
                                        "expected": _text(c.expected), "change": _text(c.change) if c.change else None}
                                       for c in r.failing]}
                          for r in found.rules]}
        return WhyNotView.model_validate(data, context={"lang": lang})

    def team(self, visible: frozenset[str] | None, lang: str) -> TeamView:
        """The managers ``visible`` (None: every manager with a logged batch decision), each with
        the week's capacity used and the feedback so far."""
        rows = []
        for manager_id, decision_id in self.managers().items():
            if visible is not None and manager_id not in visible:
                continue
            record = self.store.decisions.get(decision_id)
            week = self.worklist(record, manager_id, lang)
            answers = [a.feedback for i in week.items + week.desk for a in i.actions if a.feedback]
            accepted = sum(1 for a in answers if a in ("accepted", "done"))
            rejected = sum(1 for a in answers if a == "rejected")
            manager_fact = self._manager_fact(record, manager_id)
            planned = [i for i in week.items if i.status == "planned"]
            classes = {i: c.get("client_class") for i, c in self._clients(record).items()}
            rows.append({"manager_id": manager_id, "decision_id": decision_id, "as_of": record.as_of,
                         "domain": _value(manager_fact.get("domain")),
                         "visits": f"{week.used.visit}/{week.capacity.visit}",
                         "calls": f"{week.used.call}/{week.capacity.call}", "planned": len(planned),
                         "deferred": len(week.items) - len(planned), "accepted": accepted, "rejected": rejected,
                         "acceptance": accepted / (accepted + rejected) if accepted + rejected else None,
                         "coaching": week.coaching,
                         "actions": sorted({a.item for i in week.items for a in i.actions}),
                         "classes": sorted({str(classes[i.client_id]) for i in week.items
                                            if classes.get(i.client_id) is not None})})
        return TeamView.model_validate({"managers": rows}, context={"lang": lang})


def _actual(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_value(v) for v in value]
    return _value(value)
