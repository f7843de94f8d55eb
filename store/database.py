"""Opening the decision database: a SQLite file by default, any SQLAlchemy URL by setting.

* URL: the argument, else ``$RM_ADVISOR_DB_URL``, else ``sqlite:///rm-advisor.db`` (in the working
  directory). ``postgresql://...`` uses the psycopg 3 driver.
* The schema is migrated to the newest revision on open (Alembic; the migrations ship inside the
  package). Two processes opening a new database at once are serialised (SQLite: an immediate
  transaction; PostgreSQL: an advisory lock).
* SQLite runs in WAL mode with ``synchronous=FULL``: a commit that returned is on disk and survives
  a killed process (or a power cut). Every transaction starts with ``BEGIN IMMEDIATE``, so two
  processes writing one file wait for each other (up to 30 s) instead of failing half-way.
"""

from __future__ import annotations

import contextlib
import os
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

from engine.errors import Diagnostic, Location, StoreError

ENV_URL = "RM_ADVISOR_DB_URL"
DEFAULT_URL = "sqlite:///rm-advisor.db"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: Any constant: the PostgreSQL advisory lock taken while migrating.
MIGRATION_LOCK = 7_271_007
BUSY_TIMEOUT_MS = 30_000


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


class Database:
    """A migrated database and its SQLAlchemy engine. Use :meth:`transaction` for every unit of work."""

    def __init__(self, url: str | None = None, migrate: bool = True):
        self.url = resolve_url(url)
        self.display_url = self.url.render_as_string(hide_password=True)
        self.engine = _engine(self.url)
        # SQLite has one writer at a time and every transaction here takes the write lock. Threads of
        # one process queue on this lock, and are woken the moment it is free, instead of polling
        # in SQLite's busy handler, whose sleeps grow to 100 ms (seconds of p99 latency under load).
        self._one_at_a_time = threading.Lock() if self.dialect == "sqlite" else contextlib.nullcontext()
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
        """Bring the schema to ``target`` (default: the newest migration)."""
        try:
            with self.engine.connect() as conn:
                cfg = alembic_config()
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, target)
        except SQLAlchemyError as exc:
            raise unavailable(self.display_url, _first_line(exc)) from exc

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
