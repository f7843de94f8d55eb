"""Backing up and restoring a SQLite decision log, safely while a server writes to it.

* :func:`backup` copies the database with SQLite's online backup API in one step: the copy is
  the database as it was when the step began (a read transaction; in WAL mode writers go on
  meanwhile), so it holds every write committed before. It is written beside the target under a
  temporary name, checked (``PRAGMA integrity_check``, the decision log's tables), switched to a
  rollback journal (one self-contained file), synced and renamed into place.
* :func:`restore` checks the file first — a SQLite database that passes the integrity check, with
  the decision log's tables and a schema revision this rm-advisor knows (an older one is migrated
  after the restore; a newer one is refused) — and then copies it into the target database with
  the same backup API, so connections to the target see the new content at once.

A PostgreSQL decision log is backed up with ``pg_dump`` and restored with ``pg_restore``: when
they are on ``PATH`` these functions run them (custom format; the password goes in the
environment, not on the command line; a URL whose ``options`` set a ``search_path`` dumps and
restores that schema alone), checking the dump the same way (a decision log of a known schema
revision) before a restore; without them they refuse with ``backup_unsupported`` and say what to
run (:data:`PG_BACKUP`, :data:`PG_RESTORE`).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path
from urllib.parse import quote

from alembic.script import ScriptDirectory
from pydantic import BaseModel
from sqlalchemy.engine import URL

from rm_advisor.engine.errors import Code, Diagnostic, Location
from rm_advisor.store.database import BUSY_TIMEOUT_MS, Database, alembic_config, resolve_url, unavailable
from rm_advisor.store.errors import StoreError

PG_BACKUP = "pg_dump --format=custom --file FILE 'postgresql://USER@HOST:PORT/DBNAME'"
PG_RESTORE = "pg_restore --clean --if-exists --no-owner --dbname 'postgresql://USER@HOST:PORT/DBNAME' FILE"
#: Tables a file must have to be taken for a decision log.
LOG_TABLES = ("alembic_version", "decisions", "decision_items", "feedback", "rule_sets")


class BackupResult(BaseModel):
    """A backup or restore done: the file, its schema revision, what it holds, the integrity check."""

    file: str
    schema_revision: str
    decisions: int | None = None
    feedback: int | None = None
    bytes: int
    integrity: str


def _error(code: Code, message: str, path: str, hint: str = "") -> StoreError:
    return StoreError([Diagnostic(code, message, Location(path=path), hint=hint)])


def _sqlite_path(url: str | None, doing: str) -> tuple[URL, Path]:
    parsed = resolve_url(url)
    if parsed.get_backend_name() != "sqlite":
        how = PG_BACKUP if doing == "backup" else PG_RESTORE
        if parsed.get_backend_name() == "postgresql":
            how += "; put the password in ~/.pgpass or PGPASSWORD (with pg_dump and pg_restore on PATH, this command " \
                   "runs them)"
        raise _error("backup_unsupported", f"`rm-advisor log {doing}` copies SQLite files; this decision log is on "
                     f"{parsed.get_backend_name()}", "database", hint=f"use {how.split()[0]}: {how}")
    if not parsed.database or parsed.database == ":memory:" or parsed.database.startswith("file:"):
        raise _error("backup_unsupported", "the decision log is not a SQLite file", "database")
    return parsed, Path(parsed.database).expanduser()


def backup(url: str | None, target: Path, force: bool = False) -> BackupResult:
    """Copy the SQLite decision log at ``url`` into the file ``target`` (refused if it exists, unless
    ``force``), while other connections may go on writing; PostgreSQL: ``pg_dump``, if on PATH."""
    if _pg_tools(url, "pg_dump"):
        return _pg_backup(resolve_url(url), target, force)
    parsed, source = _sqlite_path(url, "backup")
    shown = parsed.render_as_string(hide_password=True)
    if not source.is_file():
        raise unavailable(shown, "no such database file")
    if target.exists() and not force:
        raise _error("backup_target_exists", f"{target} exists", "file", hint="--force replaces it")
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        src = sqlite3.connect(source, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            _check_log(src, str(source), "database", integrity=False)  # the copy is checked in full
            dst = sqlite3.connect(partial)
            try:
                src.backup(dst)  # one step: the database as of its start, writers not held up in WAL mode
                dst.execute("PRAGMA journal_mode=DELETE")
                result = _describe(dst, str(target))
            finally:
                dst.close()
        finally:
            src.close()
        if result.integrity != "ok":
            raise unavailable(shown, f"the copy fails the integrity check: {result.integrity}")
        with open(partial, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(partial, target)
        _sync_dir(target.parent)
    except sqlite3.Error as exc:
        raise unavailable(shown, str(exc)) from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return result.model_copy(update={"bytes": target.stat().st_size})


def restore(file: Path, url: str | None, force: bool = False) -> BackupResult:
    """Replace the SQLite decision log at ``url`` by the backup ``file``, after checking it; refused
    when the log already holds decisions, unless ``force``. Stop servers using it first.
    PostgreSQL: ``pg_restore``, if on PATH."""
    if _pg_tools(url, "pg_restore"):
        return _pg_restore(file, resolve_url(url), force)
    parsed, target = _sqlite_path(url, "restore")
    shown = parsed.render_as_string(hide_password=True)
    if not file.is_file():
        raise _error("restore_not_a_log", f"{file}: no such file", "file")
    src = _open_backup(file)
    try:
        _check_log(src, str(file), "file")
        _revision(src, str(file))
        if target.exists() and not force:
            held = _decisions_in(target)
            if held:
                raise _error("backup_target_exists", f"{shown} already holds {held} decision(s)", "database",
                             hint="--force replaces them with the backup's")
        target.parent.mkdir(parents=True, exist_ok=True)
        dst = sqlite3.connect(target, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            src.backup(dst)
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise unavailable(shown, str(exc)) from exc
    finally:
        src.close()
    Database(parsed.render_as_string(hide_password=False)).close()  # WAL again, and migrated if older
    conn = sqlite3.connect(target, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        result = _describe(conn, str(target))
    finally:
        conn.close()
    return result.model_copy(update={"bytes": target.stat().st_size})


def _open_backup(file: Path) -> sqlite3.Connection:
    """The backup file read-only, without touching it (no journal, no lock files)."""
    uri = f"file:{quote(str(file.resolve()))}?mode=ro&immutable=1"
    try:
        conn = sqlite3.connect(uri, uri=True)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as exc:
        raise _error("restore_not_a_log", f"{file} is not a SQLite database ({exc})", "file") from exc
    return conn


def _check_log(conn: sqlite3.Connection, name: str, path: str, integrity: bool = True) -> None:
    """``conn`` is an intact decision log: it passes the integrity check and has the log's tables."""
    try:
        verdict = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()] if integrity else ["ok"]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise _error("restore_not_a_log", f"{name} is not a SQLite database ({exc})", path) from exc
    if verdict != ["ok"]:
        raise _error("restore_not_a_log", f"{name} fails SQLite's integrity check: {'; '.join(verdict[:3])}", path)
    missing = [t for t in LOG_TABLES if t not in tables]
    if missing:
        raise _error("restore_not_a_log", f"{name} is not a decision log: it has no table {', '.join(missing)}", path)


def _revision(conn: sqlite3.Connection, name: str) -> str:
    """The file's schema revision, which must be one of this rm-advisor's migrations."""
    row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    if row is None:
        raise _error("restore_not_a_log", f"{name} is not a decision log: it has no schema revision", "file")
    scripts = ScriptDirectory.from_config(alembic_config())
    known = {s.revision for s in scripts.walk_revisions()}
    if row[0] not in known:
        raise _error("restore_newer_schema", f"{name} has schema revision {row[0]}, which this rm-advisor does not "
                     f"know (it knows up to {scripts.get_current_head()})", "file",
                     hint="restore it with the rm-advisor version that wrote it, or a newer one")
    return str(row[0])


def _decisions_in(target: Path) -> int:
    conn = sqlite3.connect(target, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'decisions'").fetchone()
        return int(conn.execute("SELECT count(*) FROM decisions").fetchone()[0]) if found else 0
    finally:
        conn.close()


def _describe(conn: sqlite3.Connection, file: str) -> BackupResult:
    verdict = "; ".join(r[0] for r in conn.execute("PRAGMA integrity_check").fetchall())
    revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    decisions = conn.execute("SELECT count(*) FROM decisions").fetchone()[0]
    feedback = conn.execute("SELECT count(*) FROM feedback").fetchone()[0]
    return BackupResult(file=file, schema_revision=revision[0] if revision else "", decisions=int(decisions),
                        feedback=int(feedback), bytes=0, integrity=verdict)


def _sync_dir(path: Path) -> None:
    # the rename is durable once the directory is synced (POSIX)
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# ---- PostgreSQL: pg_dump and pg_restore --------------------------------------------------------------

def _pg_tools(url: str | None, tool: str) -> bool:
    return resolve_url(url).get_backend_name() == "postgresql" and shutil.which(tool) is not None


def _pg_env(url: URL) -> tuple[dict[str, str], list[str]]:
    """libpq's environment for ``url`` (the password never on a command line) and the schema
    option (``--schema S`` when the URL's options set ``search_path``)."""
    env = {**os.environ, "PGDATABASE": url.database or "", "PGCONNECT_TIMEOUT": "10"}
    for name, value in (("PGHOST", url.host), ("PGPORT", url.port), ("PGUSER", url.username),
                        ("PGPASSWORD", url.password)):
        if value is not None:
            env[name] = str(value)
    options = str(url.query.get("options", ""))
    found = re.search(r"search_path=([A-Za-z_][A-Za-z0-9_]*)", options)
    return env, ["--schema", found[1]] if found else []


def _run(command: list[str], env: dict[str, str], shown: str) -> str:
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=3600, check=False)
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise unavailable(shown, f"{command[0]} failed: {first}")
    return done.stdout


def _pg_backup(url: URL, target: Path, force: bool) -> BackupResult:
    shown = url.render_as_string(hide_password=True)
    if target.exists() and not force:
        raise _error("backup_target_exists", f"{target} exists", "file", hint="--force replaces it")
    env, schema = _pg_env(url)
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        _run(["pg_dump", "--format=custom", "--no-owner", "--file", str(partial), *schema], env, shown)
        revision = _dump_revision(partial, str(target))
        os.replace(partial, target)
        _sync_dir(target.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return BackupResult(file=str(target), schema_revision=revision, bytes=target.stat().st_size,
                        integrity="pg_dump ok")


def _dump_revision(dump: Path, name: str) -> str:
    """The schema revision a pg_dump file holds; refused when it is no decision log or a newer one."""
    listing = subprocess.run(["pg_restore", "--list", str(dump)], capture_output=True, text=True, timeout=600,
                             check=False)
    if listing.returncode != 0:
        raise _error("restore_not_a_log", f"{name} is not a pg_dump archive", "file")
    tables = set(re.findall(r" TABLE DATA \S+ (\w+) ", listing.stdout))
    missing = [t for t in LOG_TABLES if t not in tables]
    if missing:
        raise _error("restore_not_a_log", f"{name} is not a decision log: it has no table {', '.join(missing)}", "file")
    data = subprocess.run(["pg_restore", "--data-only", "--table=alembic_version", "--file=-", str(dump)],
                          capture_output=True, text=True, timeout=600, check=False).stdout
    rows = re.findall(r"^COPY \S*alembic_version \(version_num\) FROM stdin;\n(.*?)\n", data, re.M)
    revision = rows[0].strip() if rows else ""
    scripts = ScriptDirectory.from_config(alembic_config())
    if revision not in {s.revision for s in scripts.walk_revisions()}:
        raise _error("restore_newer_schema", f"{name} has schema revision {revision or 'none'}, which this rm-advisor "
                     f"does not know (it knows up to {scripts.get_current_head()})", "file",
                     hint="restore it with the rm-advisor version that wrote it, or a newer one")
    return revision


def _pg_restore(file: Path, url: URL, force: bool) -> BackupResult:
    from sqlalchemy import func, select

    from rm_advisor.store.schema import DecisionRow, FeedbackRow

    shown = url.render_as_string(hide_password=True)
    if not file.is_file():
        raise _error("restore_not_a_log", f"{file}: no such file", "file")
    _dump_revision(file, str(file))
    db = Database(url.render_as_string(hide_password=False))
    try:
        with db.transaction() as session:
            held = session.execute(select(func.count()).select_from(DecisionRow)).scalar_one()
    finally:
        db.close()
    if held and not force:
        raise _error("backup_target_exists", f"{shown} already holds {held} decision(s)", "database",
                     hint="--force replaces them with the backup's")
    env, schema = _pg_env(url)
    _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
          "--dbname", url.database or "", *schema, str(file)], env, shown)
    db = Database(url.render_as_string(hide_password=False))  # migrated if older
    try:
        with db.transaction() as session:
            decisions = session.execute(select(func.count()).select_from(DecisionRow)).scalar_one()
            feedback = session.execute(select(func.count()).select_from(FeedbackRow)).scalar_one()
        with db.engine.connect() as conn:
            revision = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one()
    finally:
        db.close()
    return BackupResult(file=shown, schema_revision=str(revision), decisions=int(decisions), feedback=int(feedback),
                        bytes=file.stat().st_size, integrity="pg_restore ok")
