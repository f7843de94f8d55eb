"""Hostile requests (issue 12) answered as located 4xx problems, never a 500: the inputs that gave a
500 (dates at the ends of the calendar, lone surrogates, NaN/Infinity, NUL, ids longer than the
log's columns), the unbounded error list, and parameters read loosely (``since=0``, ``together: 0``).
The NaN/NUL/long-id inputs are also sent to an app logging into PostgreSQL, where they were 500s."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from rm_advisor.api.app import create_app
from rm_advisor.api.ruleset import LiveRuleSet
from rm_advisor.engine.errors import MAX_ERRORS
from tests.api.conftest import AUTH, problem, settings
from tests.helpers import action, rule, rule_text
from tests.hostile import HOSTILE, POSTGRES_500, body, pointer, telecom
from tests.store.conftest import db_url, pg_base_url  # noqa: F401 (fixtures: SQLite and PostgreSQL)

JSON = {"content-type": "application/json"}
KEYED = {**JSON, **AUTH}


@pytest.fixture(scope="module")
def unlogged(live: LiveRuleSet) -> Iterator[TestClient]:
    """An app run with ``decision_log=false`` (``rm-advisor serve --no-decision-log``)."""
    with TestClient(create_app(settings(decision_log=False), live)) as c:
        yield c


def post(c: TestClient, doc: Any, path: str = "/v1/decisions") -> httpx.Response:
    response: httpx.Response = c.post(path, content=body(doc), headers=JSON)
    return response


def assert_refused(response: httpx.Response, name: str) -> None:
    """The problem the API answers for ``HOSTILE[name]``: a bad ``as_of`` is refused by the request
    schema (invalid_request), anything else by the fact schema (invalid_facts), each located."""
    _, expected = HOSTILE[name]
    if ("fact_bad_value", "as_of") in expected:
        found = problem(response, 422, "invalid_request")
        assert [(e["code"], e["pointer"]) for e in found["errors"]] == [("bad_value", "/as_of")]
    else:
        found = problem(response, 422, "invalid_facts")
        assert sorted((e["code"], e["pointer"]) for e in found["errors"]) == \
            sorted((code, pointer(path)) for code, path in expected)
    assert "\\ud800" not in found["detail"] or "U+D800" in found["detail"]


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_facts_are_a_located_422_with_the_decision_log(log_client: TestClient, name: str) -> None:
    doc, _ = HOSTILE[name]
    assert_refused(post(log_client, doc), name)
    assert_refused(post(log_client, doc, "/v1/decisions/client/C1"), name)
    assert log_client.get("/v1/decisions").json()["count"] == 0  # nothing was logged


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_facts_are_a_located_422_without_the_decision_log(unlogged: TestClient, name: str) -> None:
    assert_refused(post(unlogged, HOSTILE[name][0]), name)


def test_postgresql_refuses_nothing_the_validation_lets_through(db_url: str, live: LiveRuleSet) -> None:
    # NaN reached PostgreSQL's JSONB ("invalid input syntax for type json"), a NUL its text columns
    with TestClient(create_app(settings(db_url=db_url), live)) as c:
        for name in POSTGRES_500:
            assert_refused(post(c, HOSTILE[name][0]), name)
        ok = post(c, telecom(as_of="2199-12-31", agreement_expiry="2199-12-31"))
        assert ok.status_code == 200 and ok.json()["logged"] is True
        assert c.get("/v1/decisions").json()["count"] == 1


@pytest.mark.parametrize("day", ["1900-01-01", "2199-12-31"])
def test_the_ends_of_the_business_calendar_get_a_logged_decision(log_client: TestClient, day: str) -> None:
    r = post(log_client, telecom(as_of=day, agreement_expiry=day))
    assert r.status_code == 200, r.text
    assert r.json()["as_of"] == day and r.json()["clients"][0]["recommendations"]


def test_a_megabyte_of_empty_interactions_is_a_short_answer_in_little_cpu(client: TestClient) -> None:
    # issue 12: 22 s of CPU, 2.6 GB of memory and a 158 MB answer listing a million errors
    payload = body({"interactions": [{}] * 333_000}).replace(b", ", b",")
    assert len(payload) < 1_000_000
    r = client.post("/v1/decisions", content=payload, headers=JSON)  # CPU: bench/hostile_facts.py
    found = problem(r, 422, "invalid_facts")
    assert len(r.content) < 50_000 and len(found["errors"]) == MAX_ERRORS + 1
    assert (found["errors"][-1]["code"], found["errors"][-1]["pointer"]) == ("fact_error_limit", "")
    assert found["detail"].startswith(f"more than {MAX_ERRORS} problems")


def test_a_long_list_of_non_objects_is_one_problem(client: TestClient) -> None:
    found = problem(client.post("/v1/decisions", content=b'{"interactions": [' + b"1," * 300_000 + b"1]}",
                                headers=JSON), 422, "invalid_request")
    assert [e["pointer"] for e in found["errors"]] == ["/interactions/0"]


def test_schema_problems_are_listed_up_to_the_cap(client: TestClient) -> None:
    files = [{"name": 1, "text": 2}] * 50 + [{}]  # two problems each, and 51 files
    found = problem(client.post("/v1/rules/check", json={"files": files[:50], "together": 0}), 422,
                    "invalid_request")
    assert len(found["errors"]) == MAX_ERRORS and found["detail"].startswith(f"{2 * 50 + 1} problem(s)")
    assert "first 100 are listed" in found["detail"]


@pytest.mark.parametrize("query, parameter", [
    ("since=0", "since"), ("since=20261123", "since"), ("since=2026-1-1", "since"),
    ("since=2026-11-23T00:00:00", "since"), ("since=9999-12-31", "since"), ("limit=5&since=", "since"),
])
def test_since_is_a_date_yyyy_mm_dd(log_client: TestClient, query: str, parameter: str) -> None:
    found = problem(log_client.get(f"/v1/decisions?{query}"), 422, "invalid_request")
    assert [e["parameter"] for e in found["errors"]] == [parameter]


def test_report_dates_are_parsed_strictly(log_client: TestClient) -> None:
    for query in ("since=0", "until=1700000000", "until=2026-02-30"):
        found = problem(log_client.get(f"/v1/reports/effectiveness?{query}"), 422, "invalid_request")
        assert [e["parameter"] for e in found["errors"]] == [query.split("=")[0]]
    assert log_client.get("/v1/reports/effectiveness?since=2026-11-01&until=2026-11-30").status_code == 200
    assert log_client.get("/v1/decisions?since=2026-11-23").status_code == 200


@pytest.mark.parametrize("value", ["0", "1", "no", "False", "off", ""])
def test_boolean_parameters_are_true_or_false(log_client: TestClient, value: str) -> None:
    found = problem(log_client.post(f"/v1/decisions?explain={value}", content=body(telecom()), headers=JSON), 422,
                    "invalid_request")
    assert [(e["code"], e["parameter"]) for e in found["errors"]] == [("wrong_type", "explain")]


def test_explain_false_still_works(log_client: TestClient) -> None:
    r = log_client.post("/v1/decisions?explain=false", content=body(telecom()), headers=JSON)
    assert r.status_code == 200 and not r.json()["clients"][0]["recommendations"][0].get("because")


@pytest.mark.parametrize("together", [0, 1, "false", "true", None])
def test_together_is_a_json_boolean(client: TestClient, together: Any) -> None:
    files = [{"name": "x.yaml", "text": "pack: x\nrules: []\n"}]
    found = problem(client.post("/v1/rules/check", json={"files": files, "together": together}), 422,
                    "invalid_request")
    assert [(e["code"], e["pointer"]) for e in found["errors"]] == [("wrong_type", "/together")]
    assert client.post("/v1/rules/check", json={"files": files, "together": False}).status_code == 200


@pytest.mark.parametrize("field, value", [("date", 0), ("date", "20261123"), ("until", "9999-12-31"),
                                          ("decision_id", "d-\ud800"), ("\ud800", "x"), ("item", "a\x00")])
def test_feedback_dates_and_texts_are_parsed_strictly(log_client: TestClient, field: str, value: Any) -> None:
    doc = {"decision_id": "d-20261123-0000000000000000", "subject": "C1", "item": "x", "status": "snoozed",
           field: value}
    found = problem(log_client.post("/v1/feedback", content=body(doc), headers=KEYED), 422, "invalid_request")
    # a key pydantic cannot read as text is located at the body
    assert [e["pointer"] for e in found["errors"]] == ["" if field == "\ud800" else "/" + field]


def test_an_unknown_list_is_refused_even_when_null(client: TestClient) -> None:
    # the route dropped null members before checking: {"x": null} was decided, the library refused it
    doc = {**telecom(), "clinets": None}
    found = problem(post(client, doc), 422, "invalid_facts")
    assert [(e["code"], e["pointer"]) for e in found["errors"]] == [("fact_unknown_type", "/clinets")]
    assert post(client, {**telecom(), "as_of": None}).status_code == 200  # a null as_of is today, as in the library


def test_checking_a_rule_with_a_huge_day_count_is_answered(client: TestClient) -> None:
    # the static analysis built dates from the day count: OverflowError, a 500
    text = rule_text(rule("t.never", {"client.agreement_expiry": {"older_than_days": 10**12}},
                          {"actions": [action("renew_agreement_before_expiry")]}))
    r = client.post("/v1/rules/check", json={"files": [{"name": "t.yaml", "text": text}], "together": False})
    assert r.status_code == 200, r.text
    assert [d["code"] for d in r.json()["diagnostics"] if d["severity"] == "error"] == ["impossible_condition"]
