"""engine/inference/cards.py: every coaching item carries a card: the behaviour metric and the
manager's value, the team benchmark (and where it came from), a diagnosis, one Keep / Start / Stop
behaviour, the evidence and when it is measured again."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rm_advisor.engine import Advisor
from rm_advisor.engine.language import CoachingCard
from tests.helpers import subject_of

AS_OF = "2026-11-23"


def _card(advisor: Advisor, facts: dict[str, Any], topic: str, manager: str = "M1") -> CoachingCard:
    decision = advisor.decide(facts)
    rec = next(r for r in subject_of(decision, "manager", manager).recommendations if r.id == topic)
    assert rec.card is not None
    return rec.card


def _tobacco(*days: float, **more: Any) -> dict[str, Any]:
    managers = [{"id": f"M{i + 1}", "name": f"经理{i + 1}", "domain": "tobacco", "avg_complaint_close_days": d}
                for i, d in enumerate(days)]
    return {"as_of": AS_OF, "managers": managers, **more}


def test_a_card_measures_the_behaviour_and_gives_one_next_behaviour(advisor: Advisor) -> None:
    card = _card(advisor, _tobacco(6.5), "complaint_to_opportunity")
    assert (card.metric.field, card.metric.value, card.metric.unit, card.metric.better) == (
        "manager.avg_complaint_close_days", 6.5, "day", "lower")
    assert card.next_behaviour.form == "start" and "same week" in card.next_behaviour.text.en
    assert card.review.date == dt.date(2026, 12, 23) and card.review.days == 30
    assert card.review.text.en.startswith("Measure again on 2026-12-23 (30 days after this decision)")
    assert card.diagnosis.en.startswith("Average days to close a complaint: 6.5 days")
    assert [e.fact for e in card.evidence] == ["manager.avg_complaint_close_days"]


def test_alone_in_the_domain_there_is_no_benchmark_and_the_card_says_so(advisor: Advisor) -> None:
    card = _card(advisor, _tobacco(6.5), "complaint_to_opportunity")
    assert card.benchmark is None
    assert "no team benchmark (fewer than two managers of the domain have a value)" in card.diagnosis.en
    assert "没有可比的团队基准" in card.diagnosis.zh


def test_the_managers_posted_make_the_team(advisor: Advisor) -> None:
    card = _card(advisor, _tobacco(6.5, 2, 3, 4), "complaint_to_opportunity")
    bench = card.benchmark
    assert bench is not None
    assert (bench.basis, bench.domain, bench.managers, bench.median, bench.mean, bench.standing) == (
        "posted", "tobacco", 4, 3.5, 3.88, "behind")
    assert bench.text.en == ("team median 3.5 days (mean 3.88 days) over 4 tobacco managers, computed from the "
                             "managers posted; this manager is behind the team")
    assert "团队中位数3.5天" in bench.text.zh and "落后于团队" in bench.text.zh


def test_a_manager_better_than_the_median_is_ahead(advisor: Advisor) -> None:
    card = _card(advisor, _tobacco(4, 10, 12), "complaint_to_opportunity")  # 4 days is still above the 3-day line
    assert card.benchmark is not None and card.benchmark.standing == "ahead"


def test_a_given_benchmark_wins_and_says_where_it_came_from(advisor: Advisor) -> None:
    given = {"id": "tobacco.avg_complaint_close_days", "domain": "tobacco", "field": "avg_complaint_close_days",
             "managers": 22, "median": 3.5, "mean": 4.1}
    card = _card(advisor, _tobacco(6.5, 2, team_benchmarks=[given]), "complaint_to_opportunity")
    assert card.benchmark is not None and (card.benchmark.basis, card.benchmark.managers) == ("given", 22)
    assert "given in the facts" in card.benchmark.text.en
    from_batch = {**given, "source": "portfolio"}
    card = _card(advisor, _tobacco(6.5, team_benchmarks=[from_batch]), "complaint_to_opportunity")
    assert card.benchmark is not None and card.benchmark.basis == "portfolio"
    assert "of the whole portfolio (computed by the batch)" in card.benchmark.text.en


def test_a_yes_or_no_metric_is_compared_by_the_share_of_the_team_at_the_target(advisor: Advisor) -> None:
    managers = [{"id": f"M{i}", "domain": "bank", "reads_statements": i > 1} for i in range(1, 5)]
    card = _card(advisor, {"as_of": AS_OF, "managers": managers}, "accounting_and_financial_statements")
    assert (card.metric.value, card.metric.target) == (False, True)
    assert card.benchmark is not None and (card.benchmark.share_pct, card.benchmark.standing) == (75.0, "behind")
    assert card.diagnosis.en.startswith("Can read financial statements: no (target: yes); 75% of 4 bank managers")


def test_coaching_from_clients_has_the_waiting_clients_as_evidence(advisor: Advisor) -> None:
    clients = [{"id": f"B{i}", "manager_id": "M1", "name": f"客户{i}", "domain": "bank", "has_collateral": True,
                "collateral_insured": False} for i in range(2)]
    facts = {"as_of": AS_OF, "managers": [{"id": "M1", "name": "李经理", "domain": "bank"}], "clients": clients}
    card = _card(advisor, facts, "credit_file_documents_and_ledger")
    assert [(e.fact, e.value) for e in card.evidence] == [("client:B0", ["complete_collateral_insurance"]),
                                                          ("client:B1", ["complete_collateral_insurance"])]
    assert card.evidence[0].text.en == "client B0 waits on: Complete the collateral insurance (score 70)"
    assert all("客户0" not in e.text.zh for e in card.evidence)  # names stay in the reason, out of the card
    assert card.metric.value is None and "unknown" in card.diagnosis.en
    assert card.review.text.en.endswith("and count again the clients waiting (now 2 of 2)")


def test_the_domain_that_scoped_a_rule_is_no_evidence(advisor: Advisor) -> None:
    facts = {"as_of": AS_OF, "managers": [{"id": "M1", "domain": "bank", "reads_statements": False}]}
    card = _card(advisor, facts, "accounting_and_financial_statements")
    assert [e.fact for e in card.evidence] == ["manager.reads_statements"]


def test_the_diagnosis_names_what_found_it_and_no_name(advisor: Advisor) -> None:
    facts = _tobacco(6.5, 2)
    facts["interactions"] = [{"id": "I1", "client_id": "T1", "manager_id": "M1", "kind": "complaint",
                              "status": "open", "days_open": 9}]
    facts["clients"] = [{"id": "T1", "manager_id": "M1", "name": "城东便民店", "domain": "tobacco"}]
    card = _card(advisor, facts, "complaint_to_opportunity")
    assert card.diagnosis.en.endswith("Found by: A complaint left open past the closing time; Complaints closed slowly")
    assert card.diagnosis.zh.endswith("依据:有投诉超期未结、投诉办结慢")
    texts = [card.diagnosis, card.review.text, *(e.text for e in card.evidence)]
    assert all("经理1" not in t.zh + t.en and "城东便民店" not in t.zh + t.en for t in texts)
