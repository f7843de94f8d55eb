"""api/routes/health.py: liveness and readiness."""

from __future__ import annotations

import os
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from api.app import create_app
from api.ruleset import LiveRuleSet, LoadedRuleSet
from engine import Advisor
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

