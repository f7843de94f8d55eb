"""Opening the decision database: a SQLite file by default, any SQLAlchemy URL by setting.

* URL: the argument, else ``$RM_ADVISOR_DB_URL``, else ``sqlite:///rm-advisor.db`` (in the working
  directory). ``postgresql://...`` uses the psycopg 3 driver.
* The schema is migrated to the newest revision on open (Alembic; the migrations ship inside the
  package). Two processes opening a new database at once are serialised (SQLite: an immediate
  transaction; PostgreSQL: an advisory lock).
* SQLite runs in WAL mode with ``synchronous=FULL``: a commit that returned is on disk and survives
  a killed process (or a power cut). Every transaction starts with ``BEGIN IMMEDIATE``, so two
  processes writing one file wait for each other (up to 30 s) instead of failing half-way.
* :meth:`Database.ready` is what a readiness check asks: a connection answers *and* a write goes
  through. A database that cannot be used is described by :func:`cause_of` as a cause class
  (``disk_full``, ``read_only``, ``locked``, ``unreachable``, ``refused``, ``io_error``,
  ``database_error``) and a text that names no URL, host, user or password.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session

from rm_advisor.engine.errors import Diagnostic, Location
from rm_advisor.store.errors import Cause, StoreError, Unusable

ENV_URL = "RM_ADVISOR_DB_URL"
DEFAULT_URL = "sqlite:///rm-advisor.db"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: Any constant: the PostgreSQL advisory lock taken while migrating.
MIGRATION_LOCK = 7_271_007
BUSY_TIMEOUT_MS = 30_000
#: How long a readiness write probe waits for the write lock before the database counts as locked.
PROBE_TIMEOUT_S = 5.0
#: Room a SQLite database must have left to be ready: on its disk and under its page limit. A
#: decision takes a few kilobytes; the first decision of a new revision stores the rule set's
#: texts too (about 0.5 MB for the shipped packs).
PROBE_ROOM = 1 << 20
_PROBE_TABLE = "rm_advisor_ready_probe"


def resolve_url(url: str | None = None) -> URL:
    """The URL to use: ``url``, else ``$RM_ADVISOR_DB_URL``, else the SQLite default."""
    text = url or os.environ.get(ENV_URL) or DEFAULT_URL
    try:
        parsed = make_url(text)
    except ArgumentError as exc:
        raise unavailable(text, f"not a database URL: {exc}") from exc
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def unavailable(url: str, problem: str) -> StoreError:
    return StoreError([Diagnostic("store_unavailable", f"cannot use the decision database {url}: {problem}",
                                  Location(path="database"),
                                  hint=f"check the URL (--db or ${ENV_URL}) and that the server runs")])


_SQLITE_KINDS = {"SQLITE_FULL": "disk_full", "SQLITE_READONLY": "read_only", "SQLITE_BUSY": "locked",
                 "SQLITE_LOCKED": "locked", "SQLITE_CANTOPEN": "unreachable", "SQLITE_IOERR": "io_error",
                 "SQLITE_PERM": "refused", "SQLITE_AUTH": "refused", "SQLITE_NOTADB": "io_error",
                 "SQLITE_CORRUPT": "io_error"}
#: SQLite's messages, for errors that carry no error name (raised by hand, or older Pythons).
_SQLITE_WORDS = (("disk is full", "disk_full"), ("readonly", "read_only"), ("read-only", "read_only"),
                 ("locked", "locked"), ("busy", "locked"), ("unable to open", "unreachable"),
                 ("disk i/o error", "io_error"), ("malformed", "io_error"))
_PG_KINDS = {"53100": "disk_full", "25006": "read_only", "55P03": "locked", "40P01": "locked",
             "57014": "locked", "53300": "unreachable", "57P01": "unreachable", "57P02": "unreachable",
             "57P03": "unreachable", "42501": "refused"}
_PG_TEXTS = {"disk_full": "the database server's disk is full", "read_only": "the database is read-only",
             "locked": "the database's write lock was not had in time", "unreachable": "the database server cannot "
             "be reached or does not accept connections", "refused": "the database refused the server",
             "io_error": "the database server reports an I/O error", "database_error": "the database failed"}


def cause_of(exc: BaseException) -> Cause:
    """The cause class of a database error and a text without URL, host, user or password.

    SQLite's own messages (``database or disk is full``) name no secret and are kept; for a
    database server only the class and its SQLSTATE are told (its messages name hosts and users).
    """
    orig = getattr(exc, "orig", None) or exc
    if isinstance(orig, sqlite3.Error):
        name = getattr(orig, "sqlite_errorname", "") or ""
        base = next((k for k in _SQLITE_KINDS if name == k or name.startswith(k + "_")), "")
        message = str(orig).strip().splitlines()[0] if str(orig).strip() else name or "database error"
        by_words = next((kind for words, kind in _SQLITE_WORDS if words in message.lower()), "database_error")
        return Cause(_SQLITE_KINDS.get(base, by_words), message)
    if isinstance(orig, OSError) and not isinstance(orig, ConnectionError) and orig.errno is not None:
        kind = {errno.ENOSPC: "disk_full", errno.EDQUOT: "disk_full", errno.EROFS: "read_only",
                errno.EACCES: "refused", errno.EPERM: "refused"}.get(orig.errno, "io_error")
        return Cause(kind, os.strerror(orig.errno))  # the file's name is left out
    sqlstate = getattr(orig, "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate:
        kind = _PG_KINDS.get(sqlstate) or ("unreachable" if sqlstate.startswith("08") else
                                           "refused" if sqlstate.startswith("28") else
                                           "io_error" if sqlstate.startswith("58") else "database_error")
        return Cause(kind, f"{_PG_TEXTS[kind]} (SQLSTATE {sqlstate})")
    # no SQL state: the connection itself failed (refused, timed out, name not resolved, closed)
    return Cause("unreachable", f"{_PG_TEXTS['unreachable']} ({type(orig).__name__})")


class Database:
    """A migrated database and its SQLAlchemy engine. Use :meth:`transaction` for every unit of work."""

    def __init__(self, url: str | None = None, migrate: bool = True):
        self.url = resolve_url(url)
        self.display_url = self.url.render_as_string(hide_password=True)
        self.engine = _engine(self.url)
        # SQLite has one writer at a time and every transaction here takes the write lock. Threads of
        # one process queue on this lock, and are woken the moment it is free, instead of polling
        # in SQLite's busy handler, whose sleeps grow to 100 ms (seconds of p99 latency under load).
        self._write_lock = threading.Lock() if self.dialect == "sqlite" else None
        self._one_at_a_time = self._write_lock or contextlib.nullcontext()
        if migrate:
            self.migrate()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in a transaction: committed (durably) when the block ends, rolled back on error."""
        with self._one_at_a_time, Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    def migrate(self, target: str = "head") -> None:
        """Bring the schema to ``target`` (default: the newest migration), one process at a time."""
        try:
            with self._migrating(), self.engine.connect() as conn:
                cfg = alembic_config()
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, target)
        except SQLAlchemyError as exc:
            raise unavailable(self.display_url, _first_line(exc)) from exc

    @contextlib.contextmanager
    def _migrating(self) -> Iterator[None]:
        """SQLite: an exclusive lock on ``<file>.migrate-lock`` beside the database while migrating.

        Alembic runs SQLite's DDL outside one transaction (SQLite's DDL is not transactional for it),
        so two processes opening a new file at once could both see no schema and both create it
        ("duplicate column name"); the lock file makes the second wait and then find the schema
        current. PostgreSQL takes an advisory lock in the migration itself (migrations/env.py)."""
        database = self.url.database if self.dialect == "sqlite" else None
        if not database or database == ":memory:" or database.startswith("file:"):
            yield
            return
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock file, as before
            yield
            return
        with open(database + ".migrate-lock", "a", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def ping(self) -> None:
        """Check that a connection can be had and answers; raises ``store_unavailable`` otherwise.

        Sent on the driver's connection, outside SQLAlchemy's transactions, so that on SQLite it
        does not take the write lock (every transaction here begins IMMEDIATE).
        """
        try:
            conn = self.engine.raw_connection()
            try:
                cursor = conn.cursor()
                cursor.execute("SELECT 1")
                cursor.close()
            finally:
                conn.close()
        except (SQLAlchemyError, self.engine.dialect.loaded_dbapi.Error) as exc:
            raise unavailable(self.display_url, _first_line(exc)) from exc

    def ready(self, timeout: float = PROBE_TIMEOUT_S, room: int = PROBE_ROOM) -> None:
        """Check that the database answers and takes a write; raise :class:`Unusable` otherwise.

        SQLite: under the write lock (waited for at most ``timeout``), the database must have
        ``room`` bytes left to grow by (free pages, and space on its disk and under its page
        limit), and a write is committed that leaves nothing behind (a table created, a page
        written, the table dropped: its pages are reused by the next probe), which a read-only
        file, a locked database or a write-ahead log that cannot grow refuses. A database
        server: a row is updated and the transaction rolled back, which a read-only server (a
        standby, ``default_transaction_read_only``) refuses; lock and statement timeouts bound
        the wait.
        """
        try:
            self.ping()
        except StoreError as exc:
            raise Unusable(cause_of(exc.__cause__ or exc), "be reached") from exc
        try:
            if self.dialect == "sqlite":
                self._probe_sqlite(timeout, room)
            else:
                self._probe_server(timeout)
        except (SQLAlchemyError, self.engine.dialect.loaded_dbapi.Error, OSError) as exc:
            raise Unusable(cause_of(exc), "write") from exc

    def _probe_sqlite(self, timeout: float, room: int) -> None:
        lock = self._write_lock
        assert lock is not None  # made for every SQLite database
        if not lock.acquire(timeout=timeout):
            raise Unusable(Cause("locked", f"the write lock was not free within {timeout:g} s"), "write")
        try:
            conn = self.engine.raw_connection()
            try:
                cursor = conn.cursor()
                cursor.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
                try:
                    cursor.execute("BEGIN IMMEDIATE")
                    try:
                        left = self._sqlite_room(cursor)
                        if left < room:
                            raise Unusable(Cause("disk_full", f"database or disk is full (room for {left >> 10} "
                                                              f"KiB, {room >> 10} KiB needed)"), "write")
                        cursor.execute(f"CREATE TABLE {_PROBE_TABLE} (filler BLOB)")
                        cursor.execute(f"INSERT INTO {_PROBE_TABLE} VALUES (zeroblob(1024))")
                        cursor.execute(f"DROP TABLE {_PROBE_TABLE}")
                        cursor.execute("COMMIT")
                    except BaseException:
                        with contextlib.suppress(sqlite3.Error):  # SQLite may have rolled back already
                            cursor.execute("ROLLBACK")
                        raise
                finally:
                    with contextlib.suppress(sqlite3.Error):
                        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
                    cursor.close()
            finally:
                conn.close()
        finally:
            lock.release()

    def _sqlite_room(self, cursor: Any) -> int:
        """Bytes the database can still grow by: its free pages, plus what its page limit and the
        free space of its disk allow."""
        def pragma(name: str) -> int:
            cursor.execute(f"PRAGMA {name}")
            return int(cursor.fetchone()[0])

        page = pragma("page_size")
        free = pragma("freelist_count") * page
        growth = (pragma("max_page_count") - pragma("page_count")) * page
        path = self.url.database
        if path and path != ":memory:" and not path.startswith("file:"):
            growth = min(growth, shutil.disk_usage(Path(path).expanduser().resolve().parent).free)
        return free + max(growth, 0)

    def _probe_server(self, timeout: float) -> None:
        ms = int(timeout * 1000)
        with self.engine.connect() as conn, conn.begin() as tx:
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = {ms}")
            conn.exec_driver_sql(f"SET LOCAL statement_timeout = {ms}")
            conn.exec_driver_sql("UPDATE alembic_version SET version_num = version_num")
            tx.rollback()

    def close(self) -> None:
        self.engine.dispose()


def alembic_config() -> Config:
    """Alembic settings pointing at the migrations shipped in this package."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def _engine(url: URL) -> Engine:
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if url.database and url.database != ":memory:":
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False})
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own transaction handling is switched off: _sqlite_begin opens every transaction.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # A deferred transaction that reads and then writes can fail with SQLITE_BUSY when another
    # process wrote in between; taking the write lock up front makes writers queue instead.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__
