"""engine/portfolio/worklist.py: a manager's week — one contact per client and channel carrying all its
actions, best first, within the visit and call capacity; what does not fit is kept as deferred."""

from __future__ import annotations

from typing import Any

from rm_advisor.engine.language.decision import Reason, Recommendation, SubjectDecision
from rm_advisor.engine.language.knowledge import Text
from rm_advisor.engine.portfolio.worklist import Worklist, build_worklist


def rec(action: str, score: int, channel: str = "visit", kind: str = "action",
        rules: tuple[str, ...] = ()) -> Recommendation:
    rule_ids = list(rules) or [f"test.{action}"]
    return Recommendation(kind=kind, id=action, title=Text(zh=f"做{action}", en=f"do {action}"), score=score,
                          reasons=[Reason(rule_id=rule_ids[0], text=Text(zh=f"因为{action}", en=f"because {action}"),
                                          priority=score)],
                          rules=rule_ids, details={"channel": channel}, because=[])


def client(cid: str, *recs: Recommendation) -> SubjectDecision:
    # recommendations arrive ranked from arbitration: best first
    return SubjectDecision(subject_type="client", id=cid, recommendations=sorted(recs, key=lambda r: -r.score))


def worklist(clients: list[SubjectDecision], facts: dict[str, dict[str, Any]] | None = None,
             visits: int = 10, calls: int = 10, manager: SubjectDecision | None = None) -> Worklist:
    return build_worklist("M1", {"visit": visits, "call": calls}, clients, facts or {}, manager)


def order(wl: Worklist) -> list[tuple[str, str, str]]:
    return [(i.client_id, i.contact, i.status) for i in wl.items]


def test_visit_capacity_is_respected_and_the_rest_deferred_in_order() -> None:
    wl = worklist([client(f"C{i}", rec("periodic_visit", 50 + i)) for i in range(1, 5)], visits=2)
    assert order(wl) == [("C4", "visit", "planned"), ("C3", "visit", "planned"),
                         ("C2", "visit", "deferred"), ("C1", "visit", "deferred")]
    assert [i.rank for i in wl.items] == [1, 2, 3, 4]
    assert wl.used == {"visit": 2, "call": 0} and wl.capacity == {"visit": 2, "call": 10}


def test_calls_and_visits_have_their_own_capacity() -> None:
    wl = worklist([client("C1", rec("a", 90, "phone")), client("C2", rec("b", 80, "visit")),
                   client("C3", rec("c", 70, "message")), client("C4", rec("d", 60, "in_branch")),
                   client("C5", rec("e", 50, "internal"))], visits=1, calls=1)
    assert order(wl) == [("C1", "call", "planned"), ("C2", "visit", "planned"), ("C3", "call", "deferred"),
                         ("C4", "visit", "deferred"), ("C5", "call", "deferred")]
    assert wl.used == {"visit": 1, "call": 1}


def test_zero_capacity_defers_everything() -> None:
    wl = worklist([client("C1", rec("a", 90)), client("C2", rec("b", 80, "phone"))], visits=0, calls=0)
    assert [i.status for i in wl.items] == ["deferred", "deferred"]
    assert wl.used == {"visit": 0, "call": 0}


def test_two_visit_actions_for_one_client_make_one_contact_carrying_both() -> None:
    c1 = client("C1", rec("check_stock", 70, rules=("t.stock",)), rec("promote_brand", 60, rules=("t.brand",)),
                rec("remind_order", 40, "phone", rules=("t.order",)))
    wl = worklist([c1, client("C2", rec("periodic_visit", 65))], visits=2)
    assert order(wl) == [("C1", "visit", "planned"), ("C2", "visit", "planned"), ("C1", "call", "planned")]
    visit = wl.items[0]
    assert visit.actions == ["check_stock", "promote_brand"]
    assert [t.en for t in visit.titles] == ["do check_stock", "do promote_brand"]
    assert visit.rules == ["t.brand", "t.stock"]
    assert visit.score == 70 and visit.reason.en == "because check_stock"
    assert wl.used == {"visit": 2, "call": 1}


def test_higher_score_first_whatever_the_input_order() -> None:
    wl = worklist([client("C1", rec("a", 40)), client("C2", rec("b", 90)), client("C3", rec("c", 65))])
    assert [i.client_id for i in wl.items] == ["C2", "C3", "C1"]
    assert [i.score for i in wl.items] == [90, 65, 40]


def test_key_client_breaks_a_score_tie_then_abc_class_then_id() -> None:
    clients = [client(c, rec("periodic_visit", 60)) for c in ("C1", "C2", "C3", "C4", "C5")]
    facts: dict[str, dict[str, Any]] = {
        "C1": {"client_class": "C"}, "C2": {"client_class": "B"}, "C3": {"is_key": True, "client_class": "C"},
        "C4": {"client_class": "A"}, "C5": {}}
    wl = worklist(clients, facts, visits=2)
    assert order(wl) == [("C3", "visit", "planned"), ("C4", "visit", "planned"), ("C2", "visit", "deferred"),
                         ("C1", "visit", "deferred"), ("C5", "visit", "deferred")]


def test_a_key_client_does_not_jump_a_higher_score() -> None:
    wl = worklist([client("C1", rec("a", 61)), client("C2", rec("b", 60))], {"C2": {"is_key": True}}, visits=1)
    assert order(wl) == [("C1", "visit", "planned"), ("C2", "visit", "deferred")]


def test_clients_without_recommendations_take_no_capacity() -> None:
    wl = worklist([client("C1"), client("C2", rec("a", 50))], visits=1)
    assert order(wl) == [("C2", "visit", "planned")]


def test_coaching_topics_of_the_manager_are_listed() -> None:
    manager = SubjectDecision(subject_type="manager", id="M1",
                              recommendations=[rec("negotiation_training", 70, "internal", "coaching"),
                                               rec("diary_review", 50, "internal", "coaching")])
    wl = worklist([client("C1", rec("a", 50))], manager=manager)
    assert wl.coaching == ["negotiation_training", "diary_review"]
    assert wl.manager_id == "M1"
    assert worklist([client("C1", rec("a", 50))]).coaching == []
