"""A manager's worklist: the best actions across the whole book, within a week's capacity.

Capacity is counted in contacts: a **visit** (channel ``visit`` or ``in_branch``) and a **call**
(``phone`` or ``message``). Several actions for one client on one channel share one contact — a
manager who visits a retailer does everything due there — so a client's visit costs one visit
however many visit actions it carries. Clients are taken in order of their best action (score,
then key client, then ABC class, then id); those that do not fit this week are listed as
``deferred``, so nothing silently disappears.

Three rules make the list one a manager would accept:

* **Desk work apart.** Internal actions (channel ``internal``: a CRM update, a credit review)
  involve no contact with the client, so they use neither visit nor call capacity; they are listed
  in ``desk``, one item per client, all planned.
* **No sales ask on a duty contact.** A contact that carries a risk or obligation action (a
  collection visit, a complaint, a credit check) does not also carry sales actions (a referral, a
  cross-sell): those are taken off the contact and listed in ``set_aside`` with the reason, and come
  back in a later week's list once the duty is settled. Service actions stay on the contact.
* **Named clients.** Every item carries the client's name from the facts, beside its id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from rm_advisor.engine.language.decision import Recommendation, SubjectDecision
from rm_advisor.engine.language.knowledge import DUTY_KINDS, Text
from rm_advisor.engine.messages import N_, in_both

Contact = Literal["visit", "call", "desk"]
CONTACT: dict[str, Contact] = {"visit": "visit", "in_branch": "visit", "phone": "call", "message": "call",
                               "internal": "desk"}
CLASS_RANK = {"A": 0, "B": 1, "C": 2}
_CONTACT_TEXT = {"visit": N_("visit"), "call": N_("call")}


class WorkItem(BaseModel):
    """One contact with a client (or, in ``desk``, the client's desk work) and the actions it carries."""

    model_config = ConfigDict(frozen=True)

    rank: int
    client_id: str
    client_name: str | None = Field(default=None, description="the client's name from the facts")
    contact: Contact
    actions: list[str]
    kinds: list[str] = Field(default_factory=list, description="the kind of each action (risk, obligation, ...)")
    titles: list[Text]
    score: int
    reason: Text
    rules: list[str]
    status: Literal["planned", "deferred"]


class SetAside(BaseModel):
    """A sales action taken off a contact that carries a risk or obligation action."""

    model_config = ConfigDict(frozen=True)

    client_id: str
    client_name: str | None = None
    contact: Contact
    action: str
    title: Text
    score: int
    blocked_by: list[str] = Field(description="the risk or obligation actions on the same contact")
    reason: Text = Field(description="why it is not on this contact")


class Worklist(BaseModel):
    """One manager's week: planned contacts within capacity, deferred ones, the desk work apart,
    the sales asks set aside from duty contacts, and the coaching."""

    model_config = ConfigDict(frozen=True)

    manager_id: str
    capacity: dict[str, int]
    used: dict[str, int]
    items: list[WorkItem] = Field(description="visits and calls, ranked; each planned or deferred")
    desk: list[WorkItem] = Field(default_factory=list, description="internal actions: no visit or call capacity")
    set_aside: list[SetAside] = Field(default_factory=list,
                                      description="sales actions kept off a contact with a risk or obligation action")
    coaching: list[str]


def capacity_of(manager: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, int]:
    """A manager's visits and calls a week: the manager's own fields, else the knowledge base's
    parameters (``visit_capacity_per_week``, ``call_capacity_per_week``; name -> value)."""
    return {"visit": int(manager.get("capacity_visits_week", params["visit_capacity_per_week"])),
            "call": int(manager.get("capacity_calls_week", params["call_capacity_per_week"]))}


_Bundle = tuple[tuple[Any, ...], str, Contact, list[Recommendation]]


def build_worklist(manager_id: str, capacity: dict[str, int], clients: list[SubjectDecision],
                   client_facts: dict[str, dict[str, Any]], manager: SubjectDecision | None,
                   kinds: Mapping[str, str]) -> Worklist:
    """Rank every client contact in the manager's book and fill the week's capacity. ``kinds``: the
    kind of each action (``KnowledgeBase.action_kinds()``); an action missing from it is service."""
    bundles: list[_Bundle] = []
    set_aside: list[SetAside] = []
    for dec in clients:
        fact = client_facts.get(dec.id, {})
        for contact, recs in _by_contact(dec).items():
            kept, aside = _split_sales(recs, contact, kinds)
            set_aside += [_set_aside(dec.id, fact, contact, r, kept, kinds) for r in aside]
            bundles.append((_rank_key(dec.id, fact, contact, kept[0]), dec.id, contact, kept))
    bundles.sort(key=lambda b: b[0])
    contacts = [b for b in bundles if b[2] != "desk"]
    used: dict[str, int] = {"visit": 0, "call": 0}
    items = []
    for rank, (_, client_id, contact, recs) in enumerate(contacts, 1):
        fits = used[contact] < capacity.get(contact, 0)
        used[contact] += fits
        items.append(_item(rank, client_id, client_facts, contact, recs, kinds, "planned" if fits else "deferred"))
    desk = [_item(rank, client_id, client_facts, contact, recs, kinds, "planned")
            for rank, (_, client_id, contact, recs) in enumerate((b for b in bundles if b[2] == "desk"), 1)]
    coaching = [r.id for r in manager.recommendations] if manager else []
    return Worklist(manager_id=manager_id, capacity=capacity, used=used, items=items, desk=desk,
                    set_aside=sorted(set_aside, key=lambda s: (s.client_id, s.contact, -s.score, s.action)),
                    coaching=coaching)


def _by_contact(dec: SubjectDecision) -> dict[Contact, list[Recommendation]]:
    """A client's recommendations by the contact that carries them (ranked as they arrive)."""
    out: dict[Contact, list[Recommendation]] = {}
    for rec in dec.recommendations:
        out.setdefault(CONTACT.get(rec.details.get("channel", "visit"), "visit"), []).append(rec)
    return out


def _split_sales(recs: list[Recommendation], contact: Contact,
                 kinds: Mapping[str, str]) -> tuple[list[Recommendation], list[Recommendation]]:
    """(kept, set aside): on a visit or call that carries a risk or obligation action, sales actions
    are set aside; desk work meets no client, so nothing is set aside from it."""
    if contact == "desk" or not any(kinds.get(r.id) in DUTY_KINDS for r in recs):
        return recs, []
    return [r for r in recs if kinds.get(r.id) != "sales"], [r for r in recs if kinds.get(r.id) == "sales"]


def _rank_key(client_id: str, fact: dict[str, Any], contact: Contact, best: Recommendation) -> tuple[Any, ...]:
    return (-best.score, not fact.get("is_key", False), CLASS_RANK.get(str(fact.get("client_class")), 3),
            client_id, contact)


def _name(fact: dict[str, Any]) -> str | None:
    name = fact.get("name")
    return str(name) if name not in (None, "") else None


def _item(rank: int, client_id: str, client_facts: dict[str, dict[str, Any]], contact: Contact,
          recs: list[Recommendation], kinds: Mapping[str, str], status: Literal["planned", "deferred"]) -> WorkItem:
    return WorkItem(rank=rank, client_id=client_id, client_name=_name(client_facts.get(client_id, {})),
                    contact=contact, actions=[r.id for r in recs], kinds=[kinds.get(r.id, "service") for r in recs],
                    titles=[r.title for r in recs], score=recs[0].score, reason=recs[0].reasons[0].text,
                    rules=sorted({x for r in recs for x in r.rules}), status=status)


def _set_aside(client_id: str, fact: dict[str, Any], contact: Contact, rec: Recommendation,
               kept: list[Recommendation], kinds: Mapping[str, str]) -> SetAside:
    duties = [r for r in kept if kinds.get(r.id) in DUTY_KINDS]
    reason = in_both(N_("not raised on this {contact}: it is for {duties} (risk or obligation), and a sales ask does "
                        "not ride on it; raise it once that is settled"), contact=in_both(_CONTACT_TEXT[contact]),
                     duties={"zh": "、".join(r.title.zh for r in duties), "en": "; ".join(r.title.en for r in duties)})
    return SetAside(client_id=client_id, client_name=_name(fact), contact=contact, action=rec.id, title=rec.title,
                    score=rec.score, blocked_by=[r.id for r in duties], reason=Text(**reason))
