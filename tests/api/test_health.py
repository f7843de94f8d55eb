"""api/routes/health.py: liveness and readiness."""

from __future__ import annotations

import os
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from rm_advisor.api import examples
from rm_advisor.api.app import create_app
from rm_advisor.api.ruleset import LiveRuleSet, LoadedRuleSet
from rm_advisor.engine import Advisor
from tests.api.conftest import problem, settings


def test_healthz_names_the_revision_and_the_worker(client: TestClient, live: LiveRuleSet) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok", "revision": live.revision, "pid": os.getpid()}
    assert r.headers["x-rule-revision"] == live.revision


def test_readyz_runs_the_engine_and_asks_the_decision_database(client: TestClient, live: LiveRuleSet) -> None:
    r = client.get("/readyz")
    assert r.status_code == 200
    assert r.json() == {"status": "ready", "revision": live.revision, "rules": len(live.current().book.rules),
                        "decision_log": "ok", "pid": os.getpid()}
    with TestClient(create_app(settings(decision_log=False), live)) as c:
        assert c.get("/readyz").json()["decision_log"] == "off"


def test_readyz_is_a_503_problem_when_the_decision_database_is_gone(live: LiveRuleSet) -> None:
    app = create_app(settings(), live)
    with TestClient(app) as c:
        engine = app.state.store.db.engine

        def refused() -> Any:
            raise OperationalError("connect", {}, ConnectionRefusedError("connection refused"))

        engine.raw_connection = refused
        body = problem(c.get("/readyz"), 503, "not_ready")
        assert "decision database" in body["detail"]


def test_readyz_is_a_503_problem_when_the_engine_cannot_decide(live: LiveRuleSet,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = live.current()
    broken = Advisor(loaded.book)

    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("engine down")

    monkeypatch.setattr(broken, "decide", explode)
    with TestClient(create_app(settings(), LiveRuleSet(LoadedRuleSet(broken, {}, {}, loaded.loaded_at)))) as c:
        body = problem(c.get("/readyz"), 503, "not_ready")
        assert "engine down" not in body["detail"]
        assert c.get("/healthz").status_code == 200



def test_regression_readyz_is_not_ready_when_the_disk_is_full_and_decisions_name_the_cause(
        live: LiveRuleSet, fresh_log: str) -> None:
    # issue 12: /readyz said ready while the disk was full and every decision answered 503 with
    # "try again later"; a SQLite page limit stands for the full disk
    app = create_app(settings(db_url=fresh_log), live)
    with TestClient(app) as c:
        assert c.get("/readyz").status_code == 200
        db = app.state.store.db

        def limit(pages: int) -> None:
            event.listen(db.engine, "connect", lambda conn, _: conn.execute(f"PRAGMA max_page_count={pages}"))
            db.engine.dispose()

        with db.engine.connect() as conn:
            limit(int(conn.exec_driver_sql("PRAGMA page_count").scalar() or 0))
        answers = [c.post("/v1/decisions/client/T-001", json=examples.CLIENT) for _ in range(40)]
        full = [r for r in answers if r.status_code != 200]
        assert full, "the page limit never filled the database"
        body = problem(full[0], 503, "store_unavailable")
        assert body["detail"] == "the decision database cannot be used now: database or disk is full"
        assert [(e["code"], e["detail"]) for e in body["errors"]] == [("disk_full", "database or disk is full")]
        ready = problem(c.get("/readyz"), 503, "not_ready")
        assert ready["detail"].startswith("the decision database cannot write: database or disk is full (room for")
        assert [e["code"] for e in ready["errors"]] == ["disk_full"] and "free space" in ready["errors"][0]["hint"]
        assert fresh_log.removeprefix("sqlite:///") not in full[0].text + c.get("/readyz").text
        assert c.get("/healthz").status_code == 200  # alive, only not ready
        limit(1_000_000)  # space again
        assert c.get("/readyz").status_code == 200
        assert c.post("/v1/decisions/client/T-001", json=examples.CLIENT).status_code == 200
