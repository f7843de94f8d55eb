"""store/backup.py: a backup taken while a thread logs decisions restores every write acknowledged
before it, on SQLite (the online backup API) and PostgreSQL (pg_dump and pg_restore, when on PATH)."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from pathlib import Path

import pytest

from rm_advisor.engine import Advisor
from rm_advisor.store import Store, StoreError, decide_and_log
from rm_advisor.store.backup import backup, restore
from tests.store.conftest import tobacco_facts


def _writer(url: str, advisor: Advisor, acked: list[str], stop: threading.Event) -> None:
    with Store(url, advisor.book.kb) as store:
        while not stop.is_set():
            acked.append(str(decide_and_log(store, advisor, tobacco_facts(2)).id))  # committed when it returns


def _ids(url: str) -> set[str]:
    with Store(url) as store:
        return {d.id for d in store.decisions.recent(10_000)}


def test_a_backup_taken_while_decisions_are_logged_restores_each_acknowledged_one(db_url: str, advisor: Advisor,
                                                                                   tmp_path: Path) -> None:
    postgres = db_url.startswith("postgresql")
    if postgres and not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        pytest.skip("pg_dump and pg_restore are not on PATH")
    Store(db_url).close()  # migrated before the writer starts
    acked: list[str] = []
    stop = threading.Event()
    writer = threading.Thread(target=_writer, args=(db_url, advisor, acked, stop))
    writer.start()
    try:
        while len(acked) < 5 and writer.is_alive():
            threading.Event().wait(0.02)
        before = list(acked)
        file = tmp_path / "log.bak"
        made = backup(db_url, file)
        returned = len(acked)
        while len(acked) < returned + 2 and writer.is_alive():
            threading.Event().wait(0.02)
    finally:
        stop.set()
        writer.join(120)
    assert len(acked) >= returned + 2 and made.schema_revision
    target = db_url if postgres else f"sqlite:///{tmp_path / 'restored.db'}"
    if postgres:
        with pytest.raises(StoreError) as err:
            restore(file, target)  # the log holds decisions
        assert err.value.diagnostics[0].code == "backup_target_exists"
    done = restore(file, target, force=postgres)
    ids = _ids(target)
    assert set(before) <= ids and not set(acked[returned:]) & ids
    assert done.decisions == len(ids)
    if not postgres:
        with sqlite3.connect(tmp_path / "restored.db") as conn:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_a_sqlite_file_is_not_a_pg_dump(pg_url: str, tmp_path: Path) -> None:
    if not shutil.which("pg_restore"):
        pytest.skip("pg_restore is not on PATH")
    db_url = pg_url
    other = tmp_path / "x.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    with pytest.raises(StoreError) as err:
        restore(other, db_url)
    assert err.value.diagnostics[0].code == "restore_not_a_log"
