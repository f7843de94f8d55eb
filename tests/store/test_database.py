"""store/database.py: opening, migrating and configuring the decision database."""

from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, event, insert, inspect
from sqlalchemy.exc import OperationalError

from rm_advisor.engine import Advisor
from rm_advisor.store import Store, replay
from rm_advisor.store.database import Database, alembic_config, cause_of, resolve_url
from rm_advisor.store.errors import Cause, StoreError, Unusable
from rm_advisor.store.masking import mask_decision, mask_facts
from rm_advisor.store.schema import Base
from tests.conftest import ROOT
from tests.store.conftest import tobacco_facts


def test_migrations_build_exactly_the_models(db_url: str) -> None:
    db = Database(db_url)
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert context.get_current_revision() == head
    db.close()


def test_migrations_go_down_and_up_again(db_url: str) -> None:
    db = Database(db_url)
    with db.engine.connect() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
        conn.commit()
        assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
    db.migrate()
    assert {"decisions", "decision_items", "feedback", "rule_sets"} <= set(inspect(db.engine).get_table_names())
    db.close()


def _log_as_0001(db: Database, advisor: Advisor, facts: dict[str, Any], limit: int) -> tuple[str, list[str]]:
    """Log a decision as migration 0001's code did (the shown items only, every subject) with a
    feedback on its first item; its id and the ids it recommended to T000."""
    old = "d-20261123-0000000000000001"
    decision = advisor.decide(facts, max_per_subject=limit, history=[]).model_copy(update={"id": old})
    masked, _ = mask_facts(facts, advisor.book.kb)
    now = dt.datetime.now(dt.UTC)
    assert advisor.book.sources is not None
    tables = MetaData()
    tables.reflect(db.engine)
    t = tables.tables
    recs = [r.id for r in decision.clients[0].recommendations]
    with db.engine.begin() as conn:
        conn.execute(insert(t["rule_sets"]).values(revision=decision.revision, created_at=now, files={
            "rules": dict(advisor.book.sources.rules), "knowledge_base": dict(advisor.book.sources.knowledge_base)}))
        conn.execute(insert(t["decisions"]).values(
            id=decision.id, logged_at=now, source="api", revision=decision.revision, as_of=decision.as_of,
            input_hash=decision.input_hash, max_per_subject=limit, input=masked, history=[],
            output=mask_decision(decision, advisor.book, facts).model_dump(mode="json")))
        conn.execute(insert(t["decision_items"]), [
            {"decision_id": decision.id, "subject_type": s.subject_type, "subject_id": s.id, "item_id": r.id,
             "kind": r.kind, "outcome": outcome, "rank": rank, "score": r.score, "rules": r.rules}
            for s in [*decision.clients, *decision.managers]
            for outcome, items in (("recommended", s.recommendations), ("suppressed", s.suppressed))
            for rank, r in enumerate(items, 1)])
        conn.execute(insert(t["feedback"]).values(
            decision_id=decision.id, subject_type="client", subject_id="T000", item_id=recs[0], status="accepted",
            date=decision.as_of, source="api", recorded_at=now))
    return old, recs


def test_decisions_logged_before_0002_keep_their_feedback_count_as_shown_and_replay(db_url: str,
                                                                                    advisor: Advisor) -> None:
    db = Database(db_url, migrate=False)
    db.migrate("0001")
    old, recs = _log_as_0001(db, advisor, tobacco_facts(1), limit=2)
    db.migrate()  # to 0002: subject, all_recommended, shown
    db.close()
    with Store(db_url, advisor.book.kb) as store:
        logged = store.decisions.get(old)
        assert (logged.subject, logged.all_recommended, logged.max_per_subject) == (None, False, 2)
        assert [r.id for r in logged.decision.clients[0].recommendations] == recs and len(recs) == 2
        assert [(f.item_id, f.status) for f in store.feedback.for_decision(old)] == [(recs[0], "accepted")]
        coaching = [("M1", r.id) for r in logged.decision.managers[0].recommendations]
        assert sorted((i.subject_id, i.item_id) for i in store.decisions.items() if i.shown) == \
            sorted([("T000", r) for r in recs] + coaching)
        [summary] = store.decisions.recent()
        assert summary.shown == summary.recommended
        report = replay(store.decisions, old)  # cut at its limit again, as it was logged
        assert report.on_logged.identical, [c.format() for c in report.on_logged.changes]


def test_sqlite_runs_in_wal_mode_with_full_sync(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'sub' / 'x.db'}")  # the folder is made too
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    db.close()


def test_the_url_comes_from_the_argument_then_the_environment_then_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RM_ADVISOR_DB_URL", raising=False)
    assert str(resolve_url()) == "sqlite:///rm-advisor.db"
    monkeypatch.setenv("RM_ADVISOR_DB_URL", "postgresql://u:p@127.0.0.1/x")
    assert resolve_url().drivername == "postgresql+psycopg"
    assert str(resolve_url("sqlite:///y.db")) == "sqlite:///y.db"


@pytest.mark.parametrize("url", ["not a url", "postgresql://nobody:secret@127.0.0.1:1/none?connect_timeout=3"])
def test_an_unusable_database_is_a_coded_error_without_the_password(url: str) -> None:
    with pytest.raises(StoreError) as exc:
        Database(url)
    [d] = exc.value.diagnostics
    assert d.code == "store_unavailable" and "secret" not in d.message


def test_two_processes_opening_a_new_database_at_once_both_succeed(db_url: str) -> None:
    code = "import sys; from rm_advisor.store.database import Database; Database(sys.argv[1]).close()"
    procs = [subprocess.Popen([sys.executable, "-c", code, db_url], cwd=ROOT, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errors


# ---- readiness: the database must take a write, and a failure names its cause ----------------

def _on_every_connection(db: Database, *statements: str) -> None:
    """Run ``statements`` on every connection the database opens from now on."""
    def run(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        for statement in statements:
            cursor.execute(statement)
        cursor.close()
        dbapi_connection.commit()  # PostgreSQL: a SET in the connection's first transaction would be undone

    event.listen(db.engine, "connect", run)
    db.engine.dispose()  # connections already pooled would not run them


def _page_count(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.exec_driver_sql("PRAGMA page_count").scalar() or 0)


def test_a_usable_database_is_ready_and_the_probe_leaves_nothing_behind(db_url: str) -> None:
    db = Database(db_url)
    tables = set(inspect(db.engine).get_table_names())
    for _ in range(3):
        db.ready()
    assert set(inspect(db.engine).get_table_names()) == tables
    if db.dialect == "sqlite":
        size = _page_count(db)
        db.ready()
        assert _page_count(db) == size  # the probe's pages are reused, the file does not grow
    db.close()


def test_regression_a_full_disk_is_not_ready_and_named_as_such(tmp_path: Path) -> None:
    # issue 12: /readyz said ready while the disk was full and every decision answered 503
    db = Database(f"sqlite:///{tmp_path / 'full.db'}")
    _on_every_connection(db, f"PRAGMA max_page_count={_page_count(db)}")  # no room to grow: a full disk
    with pytest.raises(Unusable) as exc:
        db.ready()
    assert exc.value.cause.kind == "disk_full" and exc.value.cause.text.startswith("database or disk is full (room")
    [d] = exc.value.diagnostics
    assert d.code == "store_unavailable"
    assert d.message.startswith("the decision database cannot write: database or disk is full (room for ")
    assert str(tmp_path) not in d.message and "free space" in d.hint
    with pytest.raises(Unusable) as exc:  # the room asked for, not only a page's worth, must be there
        db.ready(room=0)
    assert exc.value.cause == Cause("disk_full", "database or disk is full")  # SQLite's own word for it
    _on_every_connection(db, "PRAGMA max_page_count=1000000")
    db.ready()  # space again: ready again
    db.close()


def test_a_read_only_database_is_not_ready(db_url: str) -> None:
    db = Database(db_url)
    _on_every_connection(db, "PRAGMA query_only=ON" if db.dialect == "sqlite" else
                         "SET default_transaction_read_only = on")
    with pytest.raises(Unusable) as exc:
        db.ready()
    assert exc.value.cause.kind == "read_only"
    db.close()


def test_a_database_locked_past_the_probe_timeout_is_not_ready(db_url: str) -> None:
    db = Database(db_url)
    other = Database(db_url, migrate=False)
    with other.engine.connect() as holder:
        holder.exec_driver_sql("UPDATE alembic_version SET version_num = version_num")  # holds the write lock
        start = time.monotonic()
        with pytest.raises(Unusable) as exc:
            db.ready(timeout=0.5)
        assert exc.value.cause.kind == "locked" and time.monotonic() - start < 10
        holder.rollback()
    db.ready()
    other.close()
    db.close()


def test_an_unreachable_database_server_is_not_ready_and_its_url_is_not_told() -> None:
    db = Database("postgresql://nobody:secret@127.0.0.1:1/none?connect_timeout=3", migrate=False)
    with pytest.raises(Unusable) as exc:
        db.ready()
    assert exc.value.cause.kind == "unreachable"
    [d] = exc.value.diagnostics
    assert "secret" not in d.message and "nobody" not in d.message and "127.0.0.1" not in d.message
    db.close()


class _ServerError(Exception):
    """A database server's error as psycopg raises it: a message naming hosts and users, and a SQLSTATE."""

    def __init__(self, sqlstate: str | None):
        super().__init__('connection to server at "db.internal" (10.0.0.5) failed: user "rm" secret')
        self.sqlstate = sqlstate


@pytest.mark.parametrize("error, kind", [
    (sqlite3.OperationalError("database or disk is full"), "disk_full"),
    (sqlite3.OperationalError("attempt to write a readonly database"), "read_only"),
    (sqlite3.OperationalError("database is locked"), "locked"),
    (sqlite3.OperationalError("unable to open database file"), "unreachable"),
    (sqlite3.OperationalError("disk I/O error"), "io_error"),
    (sqlite3.DatabaseError("something else"), "database_error"),
    (_ServerError("53100"), "disk_full"),
    (_ServerError("25006"), "read_only"),
    (_ServerError("55P03"), "locked"),
    (_ServerError("08006"), "unreachable"),
    (_ServerError("28P01"), "refused"),
    (_ServerError("58030"), "io_error"),
    (_ServerError("XX000"), "database_error"),
    (_ServerError(None), "unreachable"),
    (ConnectionRefusedError("connection refused"), "unreachable"),
    (OSError(28, "No space left on device", "/srv/secret/decisions.db-wal"), "disk_full"),
    (OSError(30, "Read-only file system", "/srv/secret/decisions.db"), "read_only"),
])
def test_every_database_error_has_a_cause_class_and_a_text_without_secrets(error: Exception, kind: str) -> None:
    cause = cause_of(OperationalError("SELECT 1", {}, error))
    assert cause.kind == kind and cause.hint
    assert "db.internal" not in cause.text and "10.0.0.5" not in cause.text and "secret" not in cause.text
    if isinstance(error, sqlite3.Error):
        assert cause.text == str(error)  # SQLite's own words name no secret
