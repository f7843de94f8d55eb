"""api/problems.py and api/middleware.py: one error format, stable codes, never a stack trace."""

from __future__ import annotations

import re
import sqlite3
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from rm_advisor.api import examples
from rm_advisor.api.app import create_app
from rm_advisor.api.problems import PROBLEMS, STORE_CODES, pointer
from rm_advisor.api.ruleset import LiveRuleSet, LoadedRuleSet
from rm_advisor.engine import Advisor
from rm_advisor.engine.errors import Diagnostic, Location
from rm_advisor.store.errors import StoreError
from tests.api.conftest import problem, settings
from tests.conftest import ROOT


@pytest.mark.parametrize("path, expected", [
    ("clients[0].days_since_last_visit", "/clients/0/days_since_last_visit"), ("as_of", "/as_of"),
    ("visits", "/visits"), ("clients[12]", "/clients/12"), ("<facts>", ""),
    ("clients[0].a/b~c", "/clients/0/a~1b~0c"), ("clients[0].x.y", "/clients/0/x.y"),
])
def test_engine_paths_become_json_pointers(path: str, expected: str) -> None:
    assert pointer(path) == expected


def test_unknown_routes_and_methods_are_problems_naming_the_revision(client: TestClient,
                                                                    live: LiveRuleSet) -> None:
    body = problem(client.get("/v1/nope"), 404, "not_found")
    assert body["instance"] == "/v1/nope" and body["revision"] == live.revision
    r = client.delete("/v1/rules")
    problem(r, 405, "method_not_allowed")
    assert r.headers["allow"] == "GET" and r.headers["x-rule-revision"] == live.revision


def test_an_unexpected_error_is_a_500_problem_without_a_trace(live: LiveRuleSet,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = live.current()
    broken = Advisor(loaded.book)

    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(broken, "decide", explode)
    app = create_app(settings(), LiveRuleSet(LoadedRuleSet(broken, {}, {}, loaded.loaded_at)))
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.post("/v1/decisions", json=examples.CLIENT)
    body = problem(r, 500, "internal_error")
    assert "secret internal detail" not in r.text and "RuntimeError" not in r.text
    assert body["instance"] == "/v1/decisions"


def test_a_runaway_rule_loop_is_a_located_problem(live: LiveRuleSet) -> None:
    loaded = live.current()
    capped = LiveRuleSet(LoadedRuleSet(Advisor(loaded.book, max_firings=2), {}, {}, loaded.loaded_at))
    with TestClient(create_app(settings(), capped)) as c:
        body = problem(c.post("/v1/decisions", json=examples.BATCH), 422, "inference_failed")
    assert [e["code"] for e in body["errors"]] == ["firing_limit"]


def test_bad_content_length_is_a_400(client: TestClient) -> None:
    problem(client.post("/v1/decisions", content=b"{}", headers={"Content-Type": "application/json",
                                                               "Content-Length": "abc"}), 400, "bad_request")


def test_cors_is_off_unless_configured(client: TestClient, live: LiveRuleSet) -> None:
    preflight = {"Origin": "https://crm.example", "Access-Control-Request-Method": "POST"}
    assert "access-control-allow-origin" not in client.options("/v1/decisions", headers=preflight).headers
    with TestClient(create_app(settings(cors_origins=("https://crm.example",)), live)) as c:
        r = c.options("/v1/decisions", headers=preflight)
        assert r.headers["access-control-allow-origin"] == "https://crm.example"
        got = c.post("/v1/decisions", json=examples.CLIENT, headers={"Origin": "https://crm.example"})
        assert "X-Rule-Revision" in got.headers["access-control-expose-headers"]
        other = c.options("/v1/decisions", headers={**preflight, "Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


ITEM_CODES = ["missing_field", "unknown_field", "wrong_type", "bad_value", "duplicate_name", "pack_removed",
              "item_and_rule",
              # why the decision database cannot be used (store_unavailable, not_ready)
              "disk_full", "read_only", "locked", "unreachable", "refused", "io_error", "database_error"]


def test_every_problem_code_is_documented_and_exercised_by_a_test() -> None:
    # internal_error is exercised above through a route that raises; every code needs a test
    tests = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests").rglob("*.py"))
    docs = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    for code in list(PROBLEMS) + ITEM_CODES:
        assert f'"{code}"' in tests, f"no test for {code}"
        assert f"`{code}`" in docs, f"docs/api.md does not list {code}"
    statuses = {int(s) for s in re.findall(r"\| (\d{3}) \|", docs)}
    assert {status for status, _ in PROBLEMS.values()} <= statuses


def test_store_errors_get_the_statuses_the_decision_log_docs_give() -> None:
    doc = (ROOT / "docs" / "decision-log.md").read_text(encoding="utf-8")
    table = {code: int(status) for codes, status in re.findall(r"^\| (`[^|]+`) \| (\d{3})", doc, re.M)
             for code in re.findall(r"`(\w+)`", codes)}
    assert table == {code: PROBLEMS[code][0] for code in STORE_CODES}


def test_a_database_that_stops_answering_is_a_503_naming_the_cause(live: LiveRuleSet, fresh_log: str) -> None:
    app = create_app(settings(db_url=fresh_log), live)
    with TestClient(app) as c:
        log = app.state.store.decisions

        def locked(*args: Any, **kwargs: Any) -> Any:  # what SQLite says after its 30 s busy timeout
            raise OperationalError("INSERT INTO decisions", {}, sqlite3.OperationalError("database is locked"))

        log.record = locked
        r = c.post("/v1/decisions", json=examples.CLIENT)
        body = problem(r, 503, "store_unavailable")
        assert body["detail"] == "the decision database cannot be used now: database is locked"
        assert [e["code"] for e in body["errors"]] == ["locked"] and "INSERT" not in r.text


def test_a_store_error_the_api_does_not_know_is_a_500(live: LiveRuleSet, fresh_log: str) -> None:
    app = create_app(settings(db_url=fresh_log), live)
    with TestClient(app, raise_server_exceptions=False) as c:
        store = app.state.store

        def unknown(*args: Any, **kwargs: Any) -> Any:
            raise StoreError([Diagnostic("csv_columns", "a code only the CSV import gives", Location())])

        store.decisions.recent = unknown
        problem(c.get("/v1/decisions"), 500, "internal_error")


# ---- the language of a problem (issue 15 §4): the message catalogue, the code stays -----------------

def test_a_problem_is_in_english_unless_chinese_is_asked_for(client: TestClient, live: LiveRuleSet) -> None:
    english = problem(client.get("/v1/rules/no.such.rule"), 404, "not_found")
    assert english["title"] == "Not found" and english["detail"].startswith("no rule `no.such.rule` in revision")
    both = client.get("/v1/rules/no.such.rule", params={"lang": "both"})
    assert both.json()["title"] == "Not found" and both.headers["content-language"] == "en"
    for asked in ({"params": {"lang": "zh"}}, {"headers": {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}}):
        r = client.get("/v1/rules/no.such.rule", **asked)
        body = problem(r, 404, "not_found")
        assert body["title"] == "未找到" and r.headers["content-language"] == "zh", asked
        assert body["detail"] == f"版本 {live.revision} 中没有规则 `no.such.rule`"
        assert body["code"] == "not_found" and body["type"].endswith("/not_found")
    # ?lang= wins over Accept-Language, as for texts
    r = client.get("/v1/rules/no.such.rule", params={"lang": "en"}, headers={"Accept-Language": "zh"})
    assert r.json()["title"] == "Not found"


def test_problems_from_the_handlers_and_the_middleware_are_translated(client: TestClient) -> None:
    zh = {"Accept-Language": "zh"}
    body = problem(client.post("/v1/decisions", content=b"{", headers={**zh, "Content-Type": "application/json"}),
                   400, "bad_json")
    assert body["title"] == "请求体不是有效的 JSON" and "个字符处" in body["detail"]
    body = problem(client.post("/v1/decisions", json={"clients": "x"}, headers=zh), 422, "invalid_request")
    assert body["title"] == "请求不符合 API 模式" and "请求中有" in body["detail"]
    body = problem(client.post("/v1/decisions", content=b"x", headers={**zh, "Content-Type": "text/plain"}),
                   415, "unsupported_media_type")
    assert body["detail"] == "请以 Content-Type: application/json 发送请求体，而不是 text/plain"
    body = problem(client.get("/v1/nope", headers=zh), 404, "not_found")
    assert body["detail"].startswith("没有 GET /v1/nope 路由")


def test_the_server_default_language_sets_the_problems_language(live: LiveRuleSet) -> None:
    with TestClient(create_app(settings(default_lang="zh"), live)) as c:
        assert problem(c.get("/v1/nope"), 404, "not_found")["title"] == "未找到"
        assert problem(c.get("/v1/nope", params={"lang": "en"}), 404, "not_found")["title"] == "Not found"


def test_every_problem_title_has_a_chinese_translation() -> None:
    from rm_advisor.engine.messages import gettext_in

    untranslated = [code for code, (_, title) in PROBLEMS.items() if gettext_in("zh", title) == title]
    assert untranslated == []
