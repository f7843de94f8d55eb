"""api/routes/reports.py: the effectiveness report over HTTP, by period of decision as-of dates, with
the thresholds for noisy rules as parameters."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from fastapi.testclient import TestClient

from rm_advisor.api import examples
from rm_advisor.engine import Advisor
from tests.api.conftest import AUTH, located, problem
from tests.helpers import KB

REPORT = "/v1/reports/effectiveness"


def _decide_and_answer(c: TestClient, as_of: str, rank: int, status: str, **extra: Any) -> dict[str, Any]:
    """Decide for T-001 as of a date and give feedback on its service or sales recommendation of this
    rank (one a rejection's reason fits)."""
    facts = copy.deepcopy(examples.CLIENT)
    facts["as_of"] = as_of
    decision = c.post("/v1/decisions/client/T-001", json=facts).json()
    ranked = decision["subject"]["recommendations"]
    fitting = [x for x in ranked if KB.feedback_reasons["risk_concern"].fits(KB.actions[x["id"]])]
    item: dict[str, Any] = fitting[rank]
    r = c.post("/v1/feedback", headers=AUTH, json={"decision_id": decision["decision_id"], "subject": "T-001",
                                                   "item": item["id"], "status": status, **extra})
    assert r.status_code == 201, r.text
    return item


def test_the_period_picks_decisions_by_as_of_date_and_thresholds_find_noisy_rules(log_client: TestClient) -> None:
    rejected = _decide_and_answer(log_client, "2026-11-23", 0, "rejected", reason_code="risk_concern")
    accepted = _decide_and_answer(log_client, "2026-12-01", 1, "accepted")
    november = log_client.get(REPORT, params={"until": "2026-11-30"}).json()
    december = log_client.get(REPORT, params={"since": "2026-11-30"}).json()
    both = log_client.get(REPORT).json()
    assert (november["decisions"], november["total"]["rejected"], november["total"]["accepted"]) == (1, 1, 0)
    assert (december["decisions"], december["total"]["rejected"], december["total"]["accepted"]) == (1, 0, 1)
    assert both["decisions"] == 2 and both["total"]["answered"] == 2
    assert both["total"]["recommended"] == november["total"]["recommended"] + december["total"]["recommended"]
    assert (november["until"], december["since"]) == ("2026-11-30", "2026-11-30")
    assert both["by_action"][0]["key"] in (rejected["id"], accepted["id"])  # rows with feedback first
    assert both["noisy_rules"] == []  # the defaults need 20 recommendations
    loose = log_client.get(REPORT, params={"min_recommended": 1, "min_decided": 1,
                                           "min_rejection_rate": 1.0}).json()
    assert {r["key"] for r in loose["noisy_rules"]} == set(rejected["rules"]) - set(accepted["rules"])
    assert loose["thresholds"] == {"min_recommended": 1, "min_decided": 1, "min_rejection_rate": 1.0}


@pytest.mark.parametrize("params, where", [
    ({"since": "2026-12-01", "until": "2026-11-01"}, ("bad_value", "until")),
    ({"since": "yesterday"}, ("wrong_type", "since")),
    ({"min_rejection_rate": 1.5}, ("bad_value", "min_rejection_rate")),
    ({"min_recommended": 0}, ("bad_value", "min_recommended")),
])
def test_bad_report_parameters_are_located(log_client: TestClient, params: dict[str, Any],
                                           where: tuple[str, str]) -> None:
    assert where in located(problem(log_client.get(REPORT, params=params), 422, "invalid_request"))


def test_each_noisy_rule_comes_with_what_the_log_suggests_changing(log_client: TestClient) -> None:
    rejected = _decide_and_answer(log_client, "2026-11-23", 0, "rejected", reason_code="risk_concern")
    loose = {"min_recommended": 1, "min_decided": 1, "min_rejection_rate": 1.0}
    both = log_client.get(REPORT, params={**loose, "lang": "both"}).json()
    assert {h["rule_id"] for h in both["rule_health"]} == {r["key"] for r in both["noisy_rules"]} <= \
        set(rejected["rules"])
    health = both["rule_health"][0]
    assert health["file"].endswith(".yaml") and health["line"] > 0 and set(health["title"]) == {"zh", "en"}
    lower = health["suggestions"][-1]
    assert lower["kind"] == "lower_priority" and (lower["decided"], lower["rejected"]) == (1, 1)
    risk = KB.feedback_reasons["risk_concern"].title
    assert risk.en in lower["text"]["en"] and risk.zh in lower["text"]["zh"]
    zh = log_client.get(REPORT, params={**loose, "lang": "zh"})
    assert zh.headers["content-language"] == "zh"
    assert zh.json()["rule_health"][0]["suggestions"][-1]["text"] == {"zh": lower["text"]["zh"]}


def test_the_experiment_report_names_the_better_arm_and_refuses_an_unknown_experiment(
        log_client: TestClient, fresh_log: str, advisor: Advisor) -> None:
    from rm_advisor.store import ExperimentRun, Store, decide_in_experiment
    from tests.store.simulated_managers import Managers, clients
    from tests.store.test_experiments import TRIAL

    run = ExperimentRun(TRIAL, {"champion": advisor, "challenger": advisor})
    with Store(fresh_log, advisor.book.kb) as store:
        decided = [d for b in range(4) for d in decide_in_experiment(store, run, clients(b * 20, 20))]
        Managers({"champion": 0.30, "challenger": 0.50}).answer(store, decided)
    body = log_client.get("/v1/reports/experiments/trial", headers={"Accept-Language": "en"}).json()
    assert [a["name"] for a in body["arms"]] == ["champion", "challenger"] and body["enough_evidence"] is True
    acceptance = next(c for c in body["comparisons"] if c["metric"] == "acceptance")
    assert acceptance["verdict"] == "better" and acceptance["low"] > 0
    assert acceptance["summary"]["en"].startswith("challenger is better than champion")
    strict = log_client.get("/v1/reports/experiments/trial", params={"min_per_arm": 10_000}).json()
    assert strict["enough_evidence"] is False and "summary" in strict["comparisons"][0]
    problem(log_client.get("/v1/reports/experiments/nothing_logged"), 404, "experiment_not_found")
    body = problem(log_client.get("/v1/reports/experiments/trial", params={"min_per_arm": 0}), 422,
                   "invalid_request")
    assert ("bad_value", "min_per_arm") in located(body)


def test_the_simulation_replays_the_log_on_the_serving_rules(log_client: TestClient) -> None:
    _decide_and_answer(log_client, "2026-11-23", 0, "accepted")
    body = log_client.get("/v1/reports/simulation", params={"resamples": 50, "seed": 1}).json()
    assert body["decisions"] == 1 and body["changed"] == 0  # the serving rules made it: nothing changes
    est = body["acceptance"]
    assert est["coverage"] == 1.0 and est["estimate"] == est["logged_acceptance"]["rate"] and est["seed"] == 1
    body = problem(log_client.get("/v1/reports/simulation", params={"since": "2026-12-01", "until": "2026-11-01"}),
                   422, "invalid_request")
    assert ("bad_value", "until") in located(body)
