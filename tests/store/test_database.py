"""store/database.py: opening, migrating and configuring the decision database."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from engine.errors import StoreError
from store.database import Database, alembic_config, resolve_url
from store.schema import Base
from tests.conftest import ROOT


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
    code = "import sys; from store.database import Database; Database(sys.argv[1]).close()"
    procs = [subprocess.Popen([sys.executable, "-c", code, db_url], cwd=ROOT, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errors
