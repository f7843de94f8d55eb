"""engine/derivation/benchmarks.py: the team a coaching card compares a manager with is the managers
of the same domain who have a value; numbers get a median and a mean, booleans and enums the share
at the card's target, and a manager alone is no team."""

from __future__ import annotations

from rm_advisor.engine.derivation.benchmarks import MIN_TEAM, benchmark_id, metric_targets, team_benchmarks
from tests.helpers import KB


def _by_id(managers: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    return {str(b["id"]): b for b in team_benchmarks(managers, KB)}


def test_every_card_metric_is_benchmarked_with_the_target_it_aims_at() -> None:
    targets = metric_targets(KB)
    assert targets["avg_complaint_close_days"] is None and targets["reads_statements"] is True
    assert targets["crm_proficiency"] == "high"


def test_a_number_gets_the_median_and_mean_of_the_domain_only() -> None:
    found = _by_id([{"id": "T1", "domain": "tobacco", "avg_complaint_close_days": 2},
                    {"id": "T2", "domain": "tobacco", "avg_complaint_close_days": 3},
                    {"id": "T3", "domain": "tobacco", "avg_complaint_close_days": 10},
                    {"id": "B1", "domain": "bank", "avg_complaint_close_days": 50}])
    assert found["tobacco.avg_complaint_close_days"] == {
        "id": "tobacco.avg_complaint_close_days", "domain": "tobacco", "field": "avg_complaint_close_days",
        "managers": 3, "source": "portfolio", "median": 3.0, "mean": 5.0}
    assert "bank.avg_complaint_close_days" not in found  # one bank manager is no team


def test_managers_without_a_value_are_not_in_the_team() -> None:
    found = _by_id([{"id": "T1", "domain": "tobacco", "assessment_score": 60},
                    {"id": "T2", "domain": "tobacco"}, {"id": "T3", "domain": "tobacco", "assessment_score": 80}])
    assert found["tobacco.assessment_score"]["managers"] == 2 == MIN_TEAM


def test_a_boolean_or_enum_gets_the_share_of_the_team_at_the_target() -> None:
    found = _by_id([{"id": f"B{i}", "domain": "bank", "reads_statements": i < 3, "crm_proficiency": "high"}
                    for i in range(4)])
    assert found["bank.reads_statements.true"]["share_pct"] == 75.0
    assert found["bank.reads_statements.true"]["target"] == "true"
    assert found[benchmark_id("bank", "crm_proficiency", "high")]["share_pct"] == 100.0


def test_the_records_are_team_benchmark_facts_in_a_stable_order() -> None:
    managers = [{"id": f"M{i}", "domain": d, "negotiation_win_pct": 40 + i} for i, d in
                enumerate(["telecom", "bank", "telecom", "bank"])]
    records = team_benchmarks(managers, KB, "portfolio")
    assert [r["id"] for r in records] == sorted(r["id"] for r in records)
    assert records == team_benchmarks(managers[::-1], KB, "portfolio")
    assert set(records[0]) <= set(KB.facts["team_benchmark"].fields)
