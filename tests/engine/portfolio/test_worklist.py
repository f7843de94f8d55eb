"""engine/portfolio/worklist.py: a manager's week — one contact per client and channel carrying all its
actions, best first, within the visit and call capacity; what does not fit is kept as deferred; desk
work apart and free of capacity; no sales ask on a contact with a risk or obligation action."""

from __future__ import annotations

from typing import Any

from rm_advisor.engine.language.decision import Reason, Recommendation, SubjectDecision
from rm_advisor.engine.language.knowledge import Text
from rm_advisor.engine.portfolio.worklist import Worklist, build_worklist, capacity_of


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


#: kinds of the made-up actions of these tests (any other one is service)
KINDS = {"collect_loan": "obligation", "check_credit": "risk", "referral": "sales", "cross_sell": "sales",
         "promote_brand": "sales"}


def worklist(clients: list[SubjectDecision], facts: dict[str, dict[str, Any]] | None = None,
             visits: int = 10, calls: int = 10, manager: SubjectDecision | None = None) -> Worklist:
    return build_worklist("M1", {"visit": visits, "call": calls}, clients, facts or {}, manager, KINDS)


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
                   client("C3", rec("c", 70, "message")), client("C4", rec("d", 60, "in_branch"))],
                  visits=1, calls=1)
    assert order(wl) == [("C1", "call", "planned"), ("C2", "visit", "planned"), ("C3", "call", "deferred"),
                         ("C4", "visit", "deferred")]
    assert wl.used == {"visit": 1, "call": 1}


def test_internal_actions_use_no_capacity_and_are_listed_apart() -> None:
    c1 = client("C1", rec("update_crm", 95, "internal"), rec("visit_shop", 60), rec("file_note", 40, "internal"))
    wl = worklist([c1, client("C2", rec("credit_file", 70, "internal")), client("C3", rec("call_back", 50, "phone"))],
                  visits=0, calls=1)
    # desk work takes no slot, even with no visit capacity left: the call is still planned
    assert order(wl) == [("C1", "visit", "deferred"), ("C3", "call", "planned")]
    assert wl.used == {"visit": 0, "call": 1}
    assert [(i.rank, i.client_id, i.contact, i.actions, i.status) for i in wl.desk] == [
        (1, "C1", "desk", ["update_crm", "file_note"], "planned"), (2, "C2", "desk", ["credit_file"], "planned")]
    assert all(i.contact != "desk" for i in wl.items)


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


def test_no_sales_item_is_bundled_with_an_obligation_or_risk_item() -> None:
    c1 = client("C1", rec("collect_loan", 90, rules=("b.overdue",)), rec("referral", 80), rec("periodic_visit", 50),
                rec("cross_sell", 45, "phone"))
    c2 = client("C2", rec("check_credit", 70, "phone"), rec("cross_sell", 85, "phone"))
    c3 = client("C3", rec("promote_brand", 75), rec("periodic_visit", 40))  # no duty: the sales ask stays
    wl = worklist([c1, c2, c3], {"C1": {"name": "Lin Trading"}})
    by = {(i.client_id, i.contact): i for i in wl.items}
    assert by[("C1", "visit")].actions == ["collect_loan", "periodic_visit"]  # service stays on the collection visit
    assert by[("C1", "visit")].kinds == ["obligation", "service"]
    assert by[("C1", "call")].actions == ["cross_sell"]  # another contact, without a duty on it
    assert by[("C2", "call")].actions == ["check_credit"] and by[("C2", "call")].score == 70
    assert by[("C3", "visit")].actions == ["promote_brand", "periodic_visit"]
    for item in wl.items:
        assert not ({"sales"} & set(item.kinds) and {"risk", "obligation"} & set(item.kinds)), item
    assert [(s.client_id, s.contact, s.action, s.blocked_by) for s in wl.set_aside] == [
        ("C1", "visit", "referral", ["collect_loan"]), ("C2", "call", "cross_sell", ["check_credit"])]
    first = wl.set_aside[0]
    assert first.client_name == "Lin Trading" and first.score == 80
    assert first.reason.en == ("not raised on this visit: it is for do collect_loan (risk or obligation), and a "
                               "sales ask does not ride on it; raise it once that is settled")
    assert "做collect_loan" in first.reason.zh


def test_sales_asks_are_set_aside_from_a_duty_contact_that_is_deferred_too() -> None:
    wl = worklist([client("C1", rec("other", 99)), client("C2", rec("collect_loan", 60), rec("referral", 55))],
                  visits=1)
    assert order(wl) == [("C1", "visit", "planned"), ("C2", "visit", "deferred")]
    assert wl.items[1].actions == ["collect_loan"] and [s.action for s in wl.set_aside] == ["referral"]


def test_every_item_carries_the_clients_name() -> None:
    facts: dict[str, dict[str, Any]] = {"C1": {"name": "零售户一号"}, "C2": {"name": ""}}
    wl = worklist([client("C1", rec("a", 60), rec("b", 50, "internal")), client("C2", rec("c", 40)),
                   client("C3", rec("d", 30))], facts)
    assert [(i.client_id, i.client_name) for i in wl.items] == [("C1", "零售户一号"), ("C2", None), ("C3", None)]
    assert [(i.client_id, i.client_name) for i in wl.desk] == [("C1", "零售户一号")]


def test_capacity_is_the_managers_own_else_the_knowledge_bases_parameters() -> None:
    params = {"visit_capacity_per_week": 12, "call_capacity_per_week": 30}
    assert capacity_of({"capacity_visits_week": 15, "capacity_calls_week": 40}, params) == {"visit": 15, "call": 40}
    assert capacity_of({"capacity_visits_week": 8}, params) == {"visit": 8, "call": 30}
    assert capacity_of({}, params) == {"visit": 12, "call": 30}
