"""engine/derivation/facts.py: a single decision derives from its interactions what a portfolio
run derives from its history table, keeps what the caller gives, and says where values came from."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rm_advisor.engine import Advisor
from rm_advisor.engine.language.facts import FactSet
from rm_advisor.engine.language.subjects import SubjectKey

AS_OF = "2026-11-23"


def _fact(fs: FactSet, fact_type: str, fact_id: str) -> Mapping[str, Any]:
    fact = fs.get(fact_type, fact_id)
    assert fact is not None, (fact_type, fact_id)
    return fact


def _retailer(**given: Any) -> dict[str, Any]:
    return {"as_of": AS_OF, "managers": [{"id": "M1", "name": "王经理", "domain": "tobacco"}],
            "clients": [{"id": "T1", "manager_id": "M1", "name": "便民烟酒店", "domain": "tobacco",
                         "client_class": "A", **given}],
            "interactions": [
                {"id": "V1", "client_id": "T1", "manager_id": "M1", "kind": "visit", "date": "2026-09-01",
                 "status": "done"},
                {"id": "Q1", "client_id": "T1", "manager_id": "M1", "kind": "complaint", "date": "2026-10-01",
                 "status": "open"}]}


def test_dated_interactions_give_the_complaint_and_the_overdue_visit(advisor: Advisor) -> None:
    decision = advisor.decide(_retailer())
    [client] = decision.clients
    scores = {r.id: r.score for r in client.recommendations}
    assert scores["resolve_retailer_complaint"] == 90 and scores["periodic_visit_by_class"] == 65
    derived = {f.field: (f.value, f.events) for f in client.derived}
    assert derived["days_since_last_visit"] == (83, ["V1"])
    assert derived["open_complaints"] == (1, ["Q1"]) and derived["oldest_open_complaint_days"] == (53, ["Q1"])
    visit = next(r for r in client.recommendations if r.id == "periodic_visit_by_class")
    assert visit.because[0].derived == {"client.days_since_last_visit": ["V1"]}
    assert "V1" in next(f.text.en for f in client.derived if f.field == "days_since_last_visit")
    assert "?" not in visit.reasons[0].text.en and "83" in visit.reasons[0].text.en
    assert decision.managers[0].recommendations  # and the manager is coached on it


def test_a_given_value_is_kept_unless_history_is_preferred(advisor: Advisor) -> None:
    kept = advisor.validate(_retailer(days_since_last_visit=2))
    assert _fact(kept, "client", "T1")["days_since_last_visit"] == 2
    assert "days_since_last_visit" not in kept.sources[SubjectKey("client", "T1")]
    replaced = advisor.validate(_retailer(days_since_last_visit=2), prefer="history")
    assert _fact(replaced, "client", "T1")["days_since_last_visit"] == 83
    assert replaced.sources[SubjectKey("client", "T1")]["days_since_last_visit"] == ("V1",)


def test_only_open_items_reach_the_rules_with_their_age(advisor: Advisor) -> None:
    fs = advisor.validate(_retailer())
    assert [(i["id"], i["days_open"]) for i in fs.subjects("interaction")] == [("Q1", 53)]


def test_late_plan_submissions_given_with_one_decision_coach_the_manager(advisor: Advisor) -> None:
    plans = [{"id": f"P{i}", "manager_id": "M1", "kind": "plan_submission", "date": day, "due_date": day,
              "closed_date": late} for i, (day, late) in enumerate([("2026-10-02", "2026-10-05"),
                                                                   ("2026-11-06", None)])]
    decision = advisor.decide({"as_of": AS_OF, "managers": [{"id": "M1", "name": "王经理", "domain": "tobacco"}],
                               "interactions": plans})
    [manager] = decision.managers
    assert "plan_submission_on_time" in {r.id for r in manager.recommendations}
    assert {f.field: f.events for f in manager.derived}["plan_lapses_90d"] == ["P1", "P0"]


def test_credit_cooperative_points_come_from_the_events(advisor: Advisor) -> None:
    doc = {"as_of": AS_OF, "managers": [{"id": "MB1", "name": "李经理", "domain": "bank"}],
           "clients": [{"id": "B1", "manager_id": "MB1", "name": "张三", "domain": "bank"}],
           "interactions": [{"id": "I1", "client_id": "B1", "manager_id": "MB1", "kind": "interest_due",
                             "date": "2026-10-20", "status": "open", "amount": 2000}]}
    fs = advisor.validate(doc)
    points = _fact(fs, "manager", "MB1")["credit_coop_points"]
    assert points < 0 and fs.sources[SubjectKey("manager", "MB1")]["credit_coop_points"] == ("I1",)


def test_a_scheme_without_events_is_unknown_and_the_decision_says_so(advisor: Advisor) -> None:
    decision = advisor.decide({"as_of": AS_OF, "managers": [{"id": "M1", "name": "王经理", "domain": "tobacco"}]})
    [unknown] = [f for f in decision.managers[0].derived if f.field == "assessment_score"]
    assert unknown.value is None and unknown.events == [] and "unknown" in unknown.text.en
    assert "未知" in unknown.text.zh
    given = advisor.decide({"as_of": AS_OF, "managers": [{"id": "M1", "name": "王经理", "domain": "tobacco",
                                                         "assessment_score": 58}]})
    assert "assessment_score" not in {f.field for f in given.managers[0].derived}
    assert given.managers[0].signals and "lagging_performer" in {s.signal for s in given.managers[0].signals}
