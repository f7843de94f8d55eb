"""Observability over HTTP: one JSON log line per request, with no personal data."""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from rm_advisor.api import examples
from rm_advisor.api.observe import REQUEST_LOGGER, JsonFormatter
from tests.api.conftest import problem

ONE = "/v1/decisions/client/T-001"


class Lines(logging.Handler):
    """Every record of every logger, formatted as the request log writes them."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith(("httpx", "httpcore")):  # the test's own HTTP client, not the server
            self.lines.append(self.format(record))

    def requests(self) -> list[dict[str, object]]:
        return [line for line in map(json.loads, self.lines) if line["logger"] == REQUEST_LOGGER]


@pytest.fixture
def lines() -> Iterator[Lines]:
    handler = Lines()
    loggers = [logging.getLogger(), logging.getLogger(REQUEST_LOGGER)]  # the request logger does not propagate
    saved = logging.getLogger().level
    logging.getLogger().setLevel(logging.DEBUG)
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
        logging.getLogger().setLevel(saved)


def test_a_decision_logs_one_json_line_with_its_ids_and_no_personal_data(client: TestClient, lines: Lines) -> None:
    facts = copy.deepcopy(examples.CLIENT)
    name = "张三丰测试客户"
    facts["clients"][0]["name"] = name
    r = client.post(ONE, json=facts, headers={"X-Request-ID": "req-42.a"})
    assert r.status_code == 200, r.text
    assert r.headers["X-Request-ID"] == "req-42.a"
    [line] = lines.requests()
    assert line["request_id"] == "req-42.a" and line["status"] == 200 and line["method"] == "POST"
    assert line["decision_id"] == r.json()["decision_id"]
    assert line["revision"] == r.headers["X-Rule-Revision"]
    assert line["route"] == "/v1/decisions/{subject_type}/{subject_id}"  # the template, not the subject's id
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] > 0
    captured = "\n".join(lines.lines)
    assert name not in captured and examples.CLIENT["managers"][0]["name"] not in captured
    assert "T-001" not in captured  # neither the path nor the body is written


def test_a_request_id_is_made_when_none_or_an_unusable_one_is_given(client: TestClient, lines: Lines) -> None:
    made = client.get("/healthz").headers["X-Request-ID"]
    refused = client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces" + "x" * 200})
    assert len(made) == 32 and refused.headers["X-Request-ID"] not in ("", made)
    assert [line["request_id"] for line in lines.requests()] == [made, refused.headers["X-Request-ID"]]


def test_a_problem_is_logged_with_its_code_and_an_unmatched_path_is_not_written(client: TestClient,
                                                                               lines: Lines) -> None:
    problem(client.get("/v1/no-such/C-SECRET"), 404, "not_found")
    problem(client.post(ONE, content=b"{", headers={"Content-Type": "application/json"}), 400, "bad_json")
    first, second = lines.requests()
    assert (first["route"], first["status"], first["problem"]) == ("unmatched", 404, "not_found")
    assert (second["status"], second["problem"]) == (400, "bad_json") and "decision_id" not in second
    assert "C-SECRET" not in "\n".join(lines.lines)


def test_the_request_log_can_be_turned_off(lines: Lines) -> None:
    from rm_advisor.api.app import create_app
    from tests.api.conftest import settings

    try:
        with TestClient(create_app(settings(request_log=False, decision_log=False))) as quiet:
            assert quiet.get("/healthz").status_code == 200
        assert lines.requests() == []
    finally:
        create_app(settings(decision_log=False))  # back on for the other tests of this process
