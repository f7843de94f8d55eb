"""Fixtures for the HTTP API: the shipped rule set loaded once, apps around it, a copy of the rule
files a test may break or change, and small helpers for problem responses.

Apps log their decisions (the default) into a SQLite file of the test session unless a test names
its own database: never into ``rm-advisor.db`` of the working directory."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from rm_advisor.api.app import create_app
from rm_advisor.api.ruleset import LiveRuleSet
from rm_advisor.api.settings import Settings
from tests.conftest import ROOT

KEY = "test-key-0123456789"
AUTH = {"X-API-Key": KEY}
ADMIN_KEY = "admin-key-0123456789"
ADMIN = {"X-Admin-Key": ADMIN_KEY}
_SESSION_DB: list[str] = []  # set once per session by the session_db fixture


@pytest.fixture(scope="session", autouse=True)
def session_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The decision database apps of this session log into unless a test gives its own."""
    url = f"sqlite:///{tmp_path_factory.mktemp('api-log') / 'decisions.db'}"
    _SESSION_DB[:] = [url]
    return url


def settings(**overrides: Any) -> Settings:
    return Settings(**{"rules_dir": ROOT / "rules", "kb_dir": ROOT / "knowledge_base", "api_key": KEY,
                       "db_url": _SESSION_DB[0], **overrides})


@pytest.fixture(scope="session")
def live() -> LiveRuleSet:
    """The shipped rule set, loaded once for every test that does not reload."""
    return LiveRuleSet.start(settings())


@pytest.fixture(scope="session")
def app(live: LiveRuleSet) -> FastAPI:
    return create_app(settings(), live)


@pytest.fixture(scope="session")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


def copy_rules(target: Path) -> Path:
    """The shipped rule packs (not their scenarios) in a folder a test may edit."""
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted((ROOT / "rules").glob("*.yaml")):
        if not path.name.endswith(".scenarios.yaml"):
            shutil.copy(path, target / path.name)
    return target


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    return copy_rules(tmp_path / "rules")


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Assert an RFC 9457 problem response with this status and code; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["code"] == code
    assert body["type"].endswith("/" + code) and body["title"] and body["detail"]
    assert "Traceback" not in response.text
    return body


def located(body: dict[str, Any]) -> set[tuple[str, str]]:
    """(code, where) for each error of a problem: a pointer, a parameter or file:line."""
    out = set()
    for e in body["errors"]:
        where = e.get("pointer") if "pointer" in e else e.get("parameter") or f"{e.get('file')}:{e.get('line')}"
        out.add((e["code"], where))
    return out


@pytest.fixture
def fresh_log(tmp_path: Path) -> str:
    """An empty decision database of this test's own (no other test's decisions or feedback)."""
    return f"sqlite:///{tmp_path / 'decisions.db'}"


@pytest.fixture
def log_client(live: LiveRuleSet, fresh_log: str) -> Iterator[TestClient]:
    """An app on the shipped rule set, logging into an empty database of this test's own."""
    with TestClient(create_app(settings(db_url=fresh_log), live)) as c:
        yield c
