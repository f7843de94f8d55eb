"""A manager's worklist: the best actions across the whole book, within a week's capacity.

Capacity is counted in contacts: a **visit** (channel ``visit`` or ``in_branch``) and a **call**
(``phone``, ``message`` or ``internal``). Several actions for one client on one channel share one
contact — a manager who visits a retailer does everything due there — so a client's visit costs
one visit however many visit actions it carries. Clients are taken in order of their best action
(score, then key client, then ABC class, then id); those that do not fit this week are listed as
``deferred``, so nothing silently disappears.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from rm_advisor.engine.language.decision import Recommendation, SubjectDecision
from rm_advisor.engine.language.knowledge import Text

Contact = Literal["visit", "call"]
CONTACT: dict[str, Contact] = {"visit": "visit", "in_branch": "visit", "phone": "call", "message": "call",
                               "internal": "call"}
CLASS_RANK = {"A": 0, "B": 1, "C": 2}


class WorkItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    rank: int
    client_id: str
    contact: Contact
    actions: list[str]
    titles: list[Text]
    score: int
    reason: Text
    rules: list[str]
    status: Literal["planned", "deferred"]


class Worklist(BaseModel):
    """One manager's week: planned contacts within capacity, deferred ones, and the coaching."""

    model_config = ConfigDict(frozen=True)

    manager_id: str
    capacity: dict[str, int]
    used: dict[str, int]
    items: list[WorkItem]
    coaching: list[str]


def build_worklist(manager_id: str, capacity: dict[str, int], clients: list[SubjectDecision],
                   client_facts: dict[str, dict[str, Any]], manager: SubjectDecision | None) -> Worklist:
    """Rank every client contact in the manager's book and fill the week's capacity."""
    contacts: list[tuple[tuple[Any, ...], str, Contact, list[Recommendation]]] = []
    for dec in clients:
        by_contact: dict[Contact, list[Recommendation]] = {}
        for rec in dec.recommendations:
            by_contact.setdefault(CONTACT.get(rec.details.get("channel", "visit"), "visit"), []).append(rec)
        fact = client_facts.get(dec.id, {})
        for contact, recs in by_contact.items():
            best = recs[0]  # recommendations arrive ranked
            key = (-best.score, not fact.get("is_key", False), CLASS_RANK.get(str(fact.get("client_class")), 3),
                   dec.id, contact)
            contacts.append((key, dec.id, contact, recs))
    contacts.sort(key=lambda c: c[0])
    used: dict[str, int] = {"visit": 0, "call": 0}
    items: list[WorkItem] = []
    for rank, (_, client_id, contact, recs) in enumerate(contacts, 1):
        fits = used[contact] < capacity.get(contact, 0)
        used[contact] += fits
        items.append(WorkItem(rank=rank, client_id=client_id, contact=contact, actions=[r.id for r in recs],
                              titles=[r.title for r in recs], score=recs[0].score, reason=recs[0].reasons[0].text,
                              rules=sorted({x for r in recs for x in r.rules}),
                              status="planned" if fits else "deferred"))
    coaching = [r.id for r in manager.recommendations] if manager else []
    return Worklist(manager_id=manager_id, capacity=capacity, used=used, items=items, coaching=coaching)
