"""cli/log.py: `rm-advisor log purge|forget|erasures|backup|restore` as an operator runs them, on
SQLite files; every refusal a coded message and an exit status, never a traceback."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from rm_advisor.cli.main import app, sample_facts_path
from rm_advisor.store import Store
from rm_advisor.store.schema import DecisionRow

runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'advisor.db'}"


def run(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def decide(db: str) -> dict[str, Any]:
    code, output = run("decide", sample_facts_path(), "--db", db, "--json")
    assert code == 0, output
    decision: dict[str, Any] = json.loads(output)
    return decision


def test_purge_removes_what_is_older_and_says_what_it_did(db: str) -> None:
    first, second = decide(db), decide(db)
    with Store(db) as store, store.db.transaction() as session:
        session.execute(update(DecisionRow).where(DecisionRow.id == first["id"]).values(
            logged_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=401)))
    code, output = run("log", "purge", "--older-than", "400d", "--by", "ops", "--db", db, "--json")
    assert code == 0, output
    done = json.loads(output)
    assert (done["kind"], done["by"], done["decisions"]) == ("purge", "ops", 1)
    assert run("decisions", "show", first["id"], "--db", db)[0] == 1
    assert run("decisions", "show", second["id"], "--db", db)[0] == 0
    code, output = run("log", "purge", "--older-than", "400d", "--db", db)
    assert code == 0 and output.startswith("purged 0 decision(s)")


@pytest.mark.parametrize("age", ["400", "400 days", "0d", "-3d", "d", "1.5d"])
def test_a_malformed_age_is_a_usage_error(db: str, age: str) -> None:
    code, output = run("log", "purge", "--older-than", age, "--db", db)
    assert code == 2 and "--older-than" in output


def test_forget_then_replay_says_why_it_cannot_be_identical(db: str) -> None:
    decision = decide(db)
    code, output = run("log", "forget", "T-001", "--by", "privacy desk", "--db", db)
    assert code == 0 and output.startswith("erased the client's personal data from 1 decision(s)"), output
    code, output = run("decisions", "show", decision["id"], "--db", db, "--json")
    assert code == 0 and "T-001" not in output and json.loads(output)["erasure_id"] == 1
    code, output = run("decisions", "show", decision["id"], "--db", db)
    assert code == 0 and "erasure #1" in output and "T-001" not in output
    code, output = run("replay", decision["id"], "--db", db)
    assert code == 1 and "decision_erased" in output
    code, output = run("log", "erasures", "--db", db)
    assert code == 0 and "forget" in output and "privacy desk" in output and "T-001" not in output


def test_backup_and_restore_round_trip_and_refuse_to_overwrite(db: str, tmp_path: Path) -> None:
    decision = decide(db)
    backup = tmp_path / "log.bak"
    code, output = run("log", "backup", backup, "--db", db)
    assert code == 0 and "integrity ok" in output, output
    code, output = run("log", "backup", backup, "--db", db)
    assert code == 1 and "backup_target_exists" in output
    assert run("log", "backup", backup, "--db", db, "--force")[0] == 0

    code, output = run("log", "restore", backup, "--db", db)  # the log holds decisions
    assert code == 1 and "backup_target_exists" in output and "--force" in output
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    code, output = run("log", "restore", backup, "--db", fresh, "--json")
    assert code == 0, output
    assert (json.loads(output)["decisions"], json.loads(output)["integrity"]) == (1, "ok")
    assert run("replay", decision["id"], "--db", fresh)[0] == 0  # the restored log replays
    assert run("log", "restore", backup, "--db", db, "--force")[0] == 0


def test_restore_refuses_a_file_that_is_not_a_decision_log(db: str, tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n" * 100, encoding="utf-8")
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE things (x)")
    for file in (text, other, tmp_path / "missing.bak"):
        code, output = run("log", "restore", file, "--db", db)
        assert code == 1 and "restore_not_a_log" in output, output
    assert not Path(db.removeprefix("sqlite:///")).exists()  # nothing was created


def test_restore_refuses_a_backup_from_a_newer_schema(db: str, tmp_path: Path) -> None:
    decide(db)
    backup = tmp_path / "log.bak"
    assert run("log", "backup", backup, "--db", db)[0] == 0
    with sqlite3.connect(backup) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099'")
    code, output = run("log", "restore", backup, "--db", f"sqlite:///{tmp_path / 'fresh.db'}")
    assert code == 1 and "restore_newer_schema" in output and "0099" in output


def test_postgresql_without_pg_dump_on_path_is_told_what_to_run(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("rm_advisor.store.backup.shutil.which", lambda _: None)
    url = "postgresql://ops:secret@db.invalid/rm_advisor"
    for command in ("backup", "restore"):
        code, output = run("log", command, tmp_path / "x.dump", "--db", url)
        assert code == 1 and "backup_unsupported" in output and "secret" not in output
        assert ("pg_dump" if command == "backup" else "pg_restore") in output


def test_a_pg_dump_that_fails_is_a_coded_error_without_the_password(tmp_path: Path) -> None:
    if not shutil.which("pg_dump"):
        pytest.skip("pg_dump is not on PATH")
    code, output = run("log", "backup", tmp_path / "x.dump", "--db", "postgresql://ops:secret@127.0.0.1:1/rm_advisor")
    assert code == 1 and "store_unavailable" in output and "pg_dump failed" in output and "secret" not in output
    assert not (tmp_path / "x.dump").exists()
