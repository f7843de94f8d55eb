"""Coaching from the manager's clients: what the clients wait on says what the manager should learn.

Runs after the clients' actions are arbitrated (ranked, merged, vetoed) and before the managers'
decisions are handed out. For each entry of ``knowledge_base/coaching_from_clients.yaml`` whose
domain fits the manager, it looks at the manager's ``top`` highest-scored clients (each client
ranked by its best recommendation, ties by id) and counts those with a recommended action that
matches (action id, kind, and a signal the client holds). From ``min_clients`` on, the manager is
coached on the entry's topic, with a reason that names the count, the clients (ids and names) and
the actions they wait on. Such a reason merges into the manager's recommendation of the same topic,
as two rules recommending one topic do; its trace is named ``from_clients.<entry id>``.

The clients looked at are the ones decided together with the manager (a manager posted with their
clients, or a manager's book in the batch), so every door gives the same coaching.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rm_advisor.engine.inference.compiler import RuleBook
from rm_advisor.engine.language.decision import Reason, Recommendation, RuleTrace, SignalTrace, SubjectDecision
from rm_advisor.engine.language.facts import Fact, FactSet
from rm_advisor.engine.language.knowledge import ClientCoachingSpec, KnowledgeBase, Text, resolve_count
from rm_advisor.engine.language.templates import fill

#: how a trace of coaching from clients is named: this prefix and the entry id
TRACE_PREFIX = "from_clients."


@dataclass(frozen=True)
class Waiting:
    """One of the manager's highest-scored clients whose recommended actions match an entry."""

    client: SubjectDecision
    fact: Fact
    actions: tuple[Recommendation, ...]


def trace_id(entry: ClientCoachingSpec) -> str:
    """The name reasons and traces of ``entry`` go by (where a rule id stands elsewhere)."""
    return TRACE_PREFIX + entry.id


def coach_from_clients(book: RuleBook, facts: FactSet, clients: Sequence[SubjectDecision],
                       managers: Sequence[SubjectDecision]) -> list[SubjectDecision]:
    """``managers`` with the coaching their clients' recommended actions call for."""
    kb = book.kb
    if not kb.coaching_from_clients:
        return list(managers)
    decided = {c.id: c for c in clients}
    out = []
    for manager in managers:
        fact = facts.get("manager", manager.id) or {}
        book_of = [decided[str(c["id"])] for c in facts.related("client", "manager", manager.id)
                   if str(c["id"]) in decided]
        ranked = ranked_clients(book_of)
        found = []
        for entry in kb.coaching_from_clients.values():
            if entry.domain not in ("generic", fact.get("domain")):
                continue
            top = ranked[:resolve_count(entry.top, kb)]
            waiting = [w for c in top if (w := _waiting(entry, c, facts))]
            if waiting and len(waiting) >= resolve_count(entry.min_clients, kb):
                found.append(_recommendation(kb, entry, fact, len(top), waiting))
        out.append(_merged(manager, found) if found else manager)
    return out


def ranked_clients(clients: Sequence[SubjectDecision]) -> list[SubjectDecision]:
    """Clients with a recommendation, highest best score first (ties: more recommendations, then id)."""
    scored = [c for c in clients if c.recommendations]
    return sorted(scored, key=lambda c: (-c.recommendations[0].score, -len(c.recommendations), c.id))


def waiting_actions(entry: ClientCoachingSpec, client: SubjectDecision) -> tuple[Recommendation, ...]:
    """The client's recommended actions that ``entry`` matches (none when the client holds none of
    its signals)."""
    match = entry.match
    held = {s.signal for s in client.signals}
    if match.signals and not held & set(match.signals):
        return ()
    return tuple(r for r in client.recommendations
                 if (not match.actions or r.id in match.actions)
                 and (not match.kinds or r.details.get("action_kind") in match.kinds))


def _waiting(entry: ClientCoachingSpec, client: SubjectDecision, facts: FactSet) -> Waiting | None:
    actions = waiting_actions(entry, client)
    return Waiting(client, facts.get("client", client.id) or {}, actions) if actions else None


def client_reason(kb: KnowledgeBase, entry: ClientCoachingSpec, manager: Fact, clients: Sequence[Fact],
                  action_ids: Sequence[str], looked_at: int) -> Text:
    """``entry``'s reason filled: ``clients`` (the ones waiting, ids and names, in rank order) of
    the ``looked_at`` highest-scored wait on ``action_ids``. The decision log's masking fills it
    again from the masked facts, so a name is masked where it was put in and nowhere else."""
    shown = [f"{c['id']} {c['name']}" if c.get("name") else str(c["id"]) for c in clients]
    env = {"manager": manager, "param": {k: p.value for k, p in kb.parameters.items()}}
    zh = {"count": len(clients), "top": looked_at, "list": "、".join(shown),
          "actions": "、".join(kb.actions[a].title.zh for a in action_ids if a in kb.actions)}
    en = {**zh, "list": ", ".join(shown),
          "actions": ", ".join(_lower_first(kb.actions[a].title.en) for a in action_ids if a in kb.actions)}
    return Text(zh=fill(entry.reason.zh, {**env, "clients": zh}), en=fill(entry.reason.en, {**env, "clients": en}))


def _recommendation(kb: KnowledgeBase, entry: ClientCoachingSpec, manager: Fact, looked_at: int,
                    waiting: list[Waiting]) -> Recommendation:
    action_ids = list(dict.fromkeys(a.id for w in waiting for a in w.actions))
    clients = [{**w.fact, "id": w.fact.get("id", w.client.id)} for w in waiting]
    text = client_reason(kb, entry, manager, clients, action_ids, looked_at)
    file, line = kb.origins.get(entry.id, ("knowledge_base/coaching_from_clients.yaml", 0))
    signals = [s for w in waiting for s in w.client.signals if s.signal in entry.match.signals]
    trace = RuleTrace(rule_id=trace_id(entry), title=entry.title, file=file, line=line, priority=entry.priority,
                      provenance=entry.provenance,
                      matched={"clients.count": len(waiting), "clients.top": looked_at, "clients.actions": action_ids},
                      related={"client": [f"client:{w.client.id}" for w in waiting]},
                      signals=_unique(signals))
    topic = kb.coaching[entry.topic]
    return Recommendation(kind="coaching", id=entry.topic, title=topic.title, score=entry.priority,
                          reasons=[Reason(rule_id=trace_id(entry), text=text, priority=entry.priority)],
                          rules=[trace_id(entry)],
                          details={"skill_area": topic.skill_area, "formats": list(topic.formats),
                                   "domain": topic.domain},
                          because=[trace])


def _lower_first(title: str) -> str:
    """An English title inside a sentence: ``Serve a collection notice`` -> ``serve a collection notice``
    (an acronym such as ``CRM`` keeps its capitals)."""
    return title[:1].lower() + title[1:] if title[1:2].islower() else title


def _unique(signals: list[SignalTrace]) -> list[SignalTrace]:
    seen: dict[tuple[str, str], SignalTrace] = {}
    for s in signals:
        seen.setdefault((s.signal, s.subject), s)
    return list(seen.values())


def _merged(manager: SubjectDecision, found: list[Recommendation]) -> SubjectDecision:
    """``manager`` with ``found`` merged into its recommendations (one topic, one recommendation)."""
    recs = {r.id: r for r in manager.recommendations}
    for new in found:
        old = recs.get(new.id)
        if old is None:
            recs[new.id] = new
            continue
        reasons = sorted([*old.reasons, *new.reasons], key=lambda r: (-r.priority, r.rule_id))
        recs[new.id] = old.model_copy(update={
            "score": max(old.score, new.score), "reasons": reasons,
            "rules": sorted({*old.rules, *new.rules}),
            "because": sorted([*old.because, *new.because], key=lambda t: t.rule_id)})
    ordered = sorted(recs.values(), key=lambda r: (-r.score, -len(r.rules), r.id))
    return manager.model_copy(update={"recommendations": ordered})
