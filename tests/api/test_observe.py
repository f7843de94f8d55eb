"""Observability over HTTP: one JSON log line per request, with no personal data, and /metrics
(in one process, and summed over the workers of a real ``serve --workers 2``)."""

from __future__ import annotations

import copy
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from rm_advisor.api import examples
from rm_advisor.api.observe import REQUEST_LOGGER, JsonFormatter
from tests.api.conftest import problem
from tests.api.real_server import Server
from tests.conftest import ROOT

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


def samples(client: TestClient | Server) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of ``GET /metrics`` by name and labels."""
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain"), r.text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(r.text) for s in family.samples}


def value(found: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_decisions_problems_latency_and_log_writes(client: TestClient) -> None:
    before = samples(client)
    route = "/v1/decisions/{subject_type}/{subject_id}"
    assert client.post(ONE, json=examples.CLIENT).status_code == 200
    problem(client.post(ONE, json={**examples.CLIENT, "clients": "nope"}), 422, "invalid_request")
    after = samples(client)
    assert value(after, "rm_advisor_decisions_total", route=route, outcome="ok") == \
        value(before, "rm_advisor_decisions_total", route=route, outcome="ok") + 1
    assert value(after, "rm_advisor_decisions_total", route=route, outcome="invalid_request") == \
        value(before, "rm_advisor_decisions_total", route=route, outcome="invalid_request") + 1
    assert value(after, "rm_advisor_problems_total", code="invalid_request") == \
        value(before, "rm_advisor_problems_total", code="invalid_request") + 1
    count = "rm_advisor_request_duration_seconds_count"
    assert value(after, count, method="POST", route=route, status="200") == \
        value(before, count, method="POST", route=route, status="200") + 1
    assert value(after, "rm_advisor_decision_log_write_seconds_count") == \
        value(before, "rm_advisor_decision_log_write_seconds_count") + 1
    revision = client.get("/healthz").json()["revision"]
    assert value(after, "rm_advisor_revision_info", revision=revision) == 1
    assert value(after, "rm_advisor_workers") == 1


def test_metrics_count_reloads_accepted_and_refused(rules_dir: Path) -> None:
    from rm_advisor.api.app import create_app
    from tests.api.conftest import AUTH, settings

    with TestClient(create_app(settings(rules_dir=rules_dir, decision_log=False))) as c:
        before = samples(c)
        assert c.post("/v1/ruleset/reload", headers=AUTH).status_code == 200
        (rules_dir / "broken.yaml").write_text("rules: [1]\n", encoding="utf-8")
        problem(c.post("/v1/ruleset/reload", headers=AUTH), 422, "rule_set_invalid")
        after = samples(c)
    for result in ("accepted", "refused"):
        assert value(after, "rm_advisor_ruleset_reloads_total", result=result) == \
            value(before, "rm_advisor_ruleset_reloads_total", result=result) + 1


def test_two_workers_serve_metrics_of_the_whole_server(tmp_path: Path) -> None:
    """``serve --workers 2``: whichever worker answers /metrics counts both workers' requests."""
    s = Server(tmp_path / "server.log", None, workers=2)
    try:
        s.wait_ready()
        pids, posted = set(), 0
        for _ in range(40):  # new connections spread over the workers; stop once both have answered
            assert s.post(ONE, json=examples.CLIENT).status_code == 200
            posted += 1
            pids.add(s.get("/healthz").json()["pid"])
            if len(pids) == 2:
                break
        assert len(pids) == 2, "the requests never reached the second worker"
        decided = value(samples(s), "rm_advisor_decisions_total", route="/v1/decisions/{subject_type}/{subject_id}",
                        outcome="ok")
        assert decided == posted
        for _ in range(4):  # every worker's answer is the same sum
            found = samples(s)
            assert value(found, "rm_advisor_workers") == 2
            assert value(found, "rm_advisor_decisions_total", route="/v1/decisions/{subject_type}/{subject_id}",
                         outcome="ok") == decided
        assert {dict(labels)["pid"] for (name, labels) in found if name == "rm_advisor_revision_info"} == \
            {str(p) for p in pids}
    finally:
        assert s.stop() == 0, s.log.read_text()


def test_the_sample_dashboard_names_only_metrics_the_server_serves(client: TestClient) -> None:
    assert client.post(ONE, json=examples.CLIENT).status_code == 200  # every labelled series has a sample
    served = {name for name, _ in samples(client)}
    dashboard = json.loads((ROOT / "docs" / "grafana-dashboard.json").read_text(encoding="utf-8"))
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    named = {n for e in exprs for n in re.findall(r"rm_advisor_\w+", e)}
    assert named and named - {"rm_advisor_ruleset_reloads_total"} <= served, named - served
