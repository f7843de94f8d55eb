"""api/routes/feedback.py: feedback over HTTP, fed back into the next decision through the contact
policies and counted by the effectiveness report; every refusal a coded, located problem."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient

from rm_advisor.api import examples
from rm_advisor.api.app import create_app
from rm_advisor.api.ruleset import LiveRuleSet
from tests.api.conftest import AUTH, KEY, located, problem, settings
from tests.helpers import duty, rejectable

ONE = "/v1/decisions/client/T-001"
AS_OF = dt.date.fromisoformat(examples.CLIENT["as_of"])


def _decide(c: TestClient, **kw: Any) -> dict[str, Any]:
    r = c.post(ONE, json=examples.CLIENT, params={"lang": "en"}, **kw)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _feedback(decision: dict[str, Any], item: str, status: str, **extra: Any) -> dict[str, Any]:
    return {"decision_id": decision["decision_id"], "subject": "T-001", "item": item, "status": status, **extra}


def test_reject_an_action_and_the_next_decision_holds_it_back_and_the_report_counts_it(live: LiveRuleSet,
                                                                                     fresh_log: str) -> None:
    # the "done when", against a server as a fresh clone starts it: no API key, log on by default
    with TestClient(create_app(settings(db_url=fresh_log, api_key=None), live)) as c:
        first = _decide(c)
        assert first["logged"] is True and first["decision_id"].startswith("d-")
        ranked = [x["id"] for x in first["subject"]["recommendations"]]
        action = rejectable(ranked)  # the best service or sales action: the open complaint is never rested
        r = c.post("/v1/feedback", json=_feedback(first, action, "rejected", reason_code="client_not_interested",
                                                  manager_id="M-T01"))
        assert r.status_code == 201, r.text
        recorded = r.json()
        assert (recorded["item_id"], recorded["status"], recorded["reason_code"], recorded["date"],
                recorded["source"]) == (action, "rejected", "client_not_interested", str(AS_OF), "api")

        second = _decide(c)
        assert action not in [x["id"] for x in second["subject"]["recommendations"]]
        [held] = [x for x in second["subject"]["suppressed"] if x["id"] == action]
        [why] = held["suppressed_by"]
        assert (why["policy_id"], why["kind"], why["until"]) == \
            ("rest_after_rejection", "suppress_after", str(AS_OF + dt.timedelta(days=30)))
        assert [(e["decision_id"], e["status"], e["reason_code"]) for e in why["feedback"]] == \
            [(first["decision_id"], "rejected", "client_not_interested")]
        assert why["text"]["en"] and set(why["text"]) == {"en"}

        report = c.get("/v1/reports/effectiveness").json()
        [row] = [x for x in report["by_action"] if x["key"] == action]
        assert (row["recommended"], row["rejected"], row["rejection_rate"], row["top_reason"]) == \
            (1, 1, 1.0, "client_not_interested")
        assert report["total"]["rejected"] == 1 and report["decisions"] == 2
        rules = set(first["subject"]["recommendations"][ranked.index(action)]["rules"])
        assert rules <= {x["key"] for x in report["by_rule"] if x["rejected"] == 1}

        logged = c.get(f"/v1/decisions/{first['decision_id']}").json()
        assert [(f["item_id"], f["status"]) for f in logged["feedback"]] == [(action, "rejected")]


def test_feedback_needs_the_key_when_the_server_has_one(log_client: TestClient) -> None:
    decision = _decide(log_client)
    given = _feedback(decision, decision["subject"]["recommendations"][0]["id"], "accepted")
    problem(log_client.post("/v1/feedback", json=given), 401, "unauthorized")
    problem(log_client.post("/v1/feedback", json=given, headers={"X-API-Key": KEY + "x"}), 401, "unauthorized")
    assert log_client.post("/v1/feedback", json=given, headers=AUTH).status_code == 201


@pytest.fixture
def decision(log_client: TestClient) -> dict[str, Any]:
    return _decide(log_client)


def _post(c: TestClient, body: dict[str, Any]) -> Any:
    return c.post("/v1/feedback", json=body, headers=AUTH)


def test_a_second_identical_feedback_is_a_duplicate_and_a_final_status_a_conflict(
        log_client: TestClient, decision: dict[str, Any]) -> None:
    ranked = [x["id"] for x in decision["subject"]["recommendations"]]
    first, second = ranked[0], rejectable(ranked[1:], "risk_concern")
    assert _post(log_client, _feedback(decision, first, "accepted")).status_code == 201
    body = problem(_post(log_client, _feedback(decision, first, "accepted")), 409, "feedback_duplicate")
    assert located(body) == {("feedback_duplicate", "/status")}
    assert _post(log_client, _feedback(decision, second, "done")).status_code == 201
    body = problem(_post(log_client, _feedback(decision, second, "rejected", reason_code="risk_concern")),
                   409, "feedback_conflict")
    assert body["errors"][0]["hint"] == "rejected and done are final"
    stored = log_client.get(f"/v1/decisions/{decision['decision_id']}").json()["feedback"]
    assert [(f["item_id"], f["status"]) for f in stored] == [(first, "accepted"), (second, "done")]


def test_unknown_decision_is_a_404_located_at_the_field(log_client: TestClient, decision: dict[str, Any]) -> None:
    given = {**_feedback(decision, "anything", "accepted"), "decision_id": "d-20261123-0000000000000000"}
    body = problem(_post(log_client, given), 404, "decision_not_found")
    assert located(body) == {("decision_not_found", "/decision_id")}


@pytest.mark.parametrize("change, code, where", [
    ({"status": "rejected", "reason_code": "client_not_intrested"}, "unknown_reason_code", "/reason_code"),
    ({"status": "rejected"}, "feedback_bad_value", "/reason_code"),
    ({"status": "snoozed", "reason_code": "risk_concern"}, "feedback_bad_value", "/reason_code"),
    ({"status": "accepted", "until": "2026-12-01"}, "feedback_bad_value", "/until"),
    ({"status": "done", "date": "2026-11-01"}, "feedback_bad_value", "/date"),
    ({"status": "accepted", "item": "resolve_retailer_complaints"}, "feedback_unknown_item", "/item"),
    ({"status": "accepted", "subject": "T-404"}, "feedback_unknown_item", "/subject"),
    # the open complaint is an obligation: not the client's to turn down, and put off only to a date
    ({"status": "rejected", "reason_code": "client_not_interested"}, "feedback_reason_kind", "/reason_code"),
    ({"status": "snoozed", "reason_code": "no_capacity"}, "feedback_bad_value", "/until"),
])
def test_bad_feedback_is_a_422_naming_the_field(log_client: TestClient, decision: dict[str, Any],
                                               change: dict[str, Any], code: str, where: str) -> None:
    given = {**_feedback(decision, "resolve_retailer_complaint", "accepted"), **change}
    body = problem(_post(log_client, given), 422, code)
    assert located(body) == {(code, where)}
    if code == "unknown_reason_code" or change.get("item"):
        assert "did you mean" in body["errors"][0]["hint"]


def test_rejecting_the_open_complaint_as_not_interesting_names_the_reason_the_action_and_its_kind(
        log_client: TestClient, decision: dict[str, Any]) -> None:
    complaint = duty([x["id"] for x in decision["subject"]["recommendations"]])
    given = _feedback(decision, complaint, "rejected", reason_code="client_not_interested")
    body = problem(_post(log_client, given), 422, "feedback_reason_kind")
    [item] = body["errors"]
    assert item["detail"] == \
        f"reason `client_not_interested` does not fit `{complaint}`, an action of kind `obligation`"
    assert item["hint"] == ("reasons for kind `obligation` on channel `visit` with status `rejected`: "
                            "already_done_elsewhere, contact_info_wrong, facts_out_of_date, no_capacity, wrong_timing")


def test_feedback_on_an_item_a_policy_held_back_is_refused(log_client: TestClient, decision: dict[str, Any]) -> None:
    held = decision["subject"]["suppressed"][0]["id"]
    body = problem(_post(log_client, _feedback(decision, held, "accepted")), 422, "feedback_unknown_item")
    assert "suppressed, not recommended" in body["detail"]


@pytest.mark.parametrize("change, where", [
    ({"status": "maybe"}, ("bad_value", "/status")),
    ({"comment": "x"}, ("unknown_field", "/comment")),
    ({"decision_id": "d-1\x00"}, ("bad_value", "/decision_id")),
    ({"subject": "   "}, ("bad_value", "/subject")),
    ({"date": "tomorrow"}, ("wrong_type", "/date")),
])
def test_feedback_that_does_not_match_the_schema_is_located(log_client: TestClient, decision: dict[str, Any],
                                                           change: dict[str, Any], where: tuple[str, str]) -> None:
    given = {**_feedback(decision, "resolve_retailer_complaint", "accepted"), **change}
    assert where in located(problem(_post(log_client, given), 422, "invalid_request"))


def test_the_reason_catalogue_in_the_language_asked_for(client: TestClient, live: LiveRuleSet) -> None:
    body = client.get("/v1/catalogues/feedback-reasons", params={"lang": "en"}).json()
    reasons = live.current().book.kb.feedback_reasons
    assert [r["id"] for r in body["reasons"]] == list(reasons) and body["count"] == len(reasons)
    by_id = {r["id"]: r for r in body["reasons"]}
    assert by_id["wrong_timing"]["statuses"] == ["rejected", "snoozed"]
    assert by_id["client_not_interested"]["kinds"] == ["service", "sales"]
    assert by_id["client_not_interested"]["channels"] == ["visit", "phone", "message", "in_branch"]
    assert "channels" not in by_id["facts_out_of_date"]  # any channel
    assert set(by_id["risk_concern"]["title"]) == {"en"} and body["revision"] == live.revision


def test_without_a_decision_log_decisions_are_not_logged_and_log_routes_say_so(live: LiveRuleSet,
                                                                                tmp_path: Any) -> None:
    db = tmp_path / "never.db"
    with TestClient(create_app(settings(decision_log=False, db_url=f"sqlite:///{db}"), live)) as c:
        body = _decide(c)
        expected = live.current().advisor.decide(examples.CLIENT).subject("client", "T-001")
        assert expected is not None
        assert [x["id"] for x in body["subject"]["recommendations"]] == [x.id for x in expected.recommendations]
        assert body["logged"] is False and body["decision_id"].startswith("d-")
        assert body["subject"]["suppressed"] == []  # no contact policies without the feedback history
        problem(_post(c, _feedback(body, "resolve_retailer_complaint", "accepted")), 503, "decision_log_off")
        problem(c.get("/v1/decisions"), 503, "decision_log_off")
        problem(c.get("/v1/reports/effectiveness"), 503, "decision_log_off")
    assert not db.exists()
