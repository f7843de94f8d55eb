"""Store fixtures: every store test runs on SQLite and on a real PostgreSQL server on loopback.

PostgreSQL comes from ``$RM_ADVISOR_TEST_PG_URL`` (``.ci/with-postgres`` starts a throwaway server
and sets it; ``.ci/run`` uses it), else ``postgresql://rm_advisor:rm_advisor@127.0.0.1:5432/rm_advisor_test``.
When the URL was set explicitly, an unreachable server fails the tests; otherwise they are skipped,
and pytest's summary says why. Each PostgreSQL test gets a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url

from rm_advisor.engine import Advisor
from rm_advisor.store import Store

PG_ENV = "RM_ADVISOR_TEST_PG_URL"
DEFAULT_PG = "postgresql://rm_advisor:rm_advisor@127.0.0.1:5432/rm_advisor_test"


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_base_url() -> str:
    """The PostgreSQL test server's URL, or a skip (a failure when the URL was set explicitly)."""
    url = os.environ.get(PG_ENV) or DEFAULT_PG
    try:
        psycopg.connect(_libpq(url), connect_timeout=5).close()
    except psycopg.Error as exc:
        shown = make_url(url).render_as_string(hide_password=True)
        reason = f"PostgreSQL not reachable at {shown}: {str(exc).strip().splitlines()[0]}"
        if os.environ.get(PG_ENV):
            pytest.fail(f"{reason} ({PG_ENV} is set, so the PostgreSQL tests must run)")
        pytest.skip(f"{reason}; run `.ci/with-postgres make test` or set {PG_ENV}")
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    with _fresh_schema(request.getfixturevalue("pg_base_url")) as url:
        yield url


@pytest.fixture
def pg_url(pg_base_url: str) -> Iterator[str]:
    """A fresh, empty database on PostgreSQL only (for what only PostgreSQL does)."""
    with _fresh_schema(pg_base_url) as url:
        yield url


@contextlib.contextmanager
def _fresh_schema(base: str) -> Iterator[str]:
    """A URL whose search path is a new schema, dropped afterwards."""
    schema = "t_" + secrets.token_hex(6)
    with psycopg.connect(_libpq(base), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False)
    finally:
        with psycopg.connect(_libpq(base), autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def store(db_url: str, advisor: Advisor) -> Iterator[Store]:
    with Store(db_url, advisor.book.kb) as s:
        yield s


def tobacco_facts(n: int = 3, as_of: str = "2026-11-23") -> dict[str, Any]:
    """``n`` tobacco retailers of one manager, each with several recommendations."""
    clients = [{"id": f"T{i:03d}", "manager_id": "M1", "name": f"零售户{i:03d}号", "contact_phone": f"1380000{i:04d}",
                "domain": "tobacco", "client_class": "ABC"[i % 3], "network_client": False,
                "e_settlement": "low_awareness", "counterfeit_awareness": "weak", "days_since_last_visit": 40,
                "new_brand_stocked": True, "new_brand_on_counter": False} for i in range(n)]
    return {"as_of": as_of, "clients": clients,
            "managers": [{"id": "M1", "name": "王经理", "domain": "tobacco", "assessment_score": 60}]}
