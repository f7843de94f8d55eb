"""User accounts, their browser sessions and their API tokens, in the decision database.

* A user has a unique username, a display name, a role (``manager``, ``branch_head``,
  ``rule_author``, ``administrator``), for a manager the manager's id in the facts, for a manager
  or a branch head a branch, an argon2id password hash (argon2-cffi; the password itself is never
  stored), and may be disabled.
* A session is a random token from :mod:`secrets` (the cookie's value); the database keeps its
  SHA-256 only, with a CSRF token of its own and when it was last used. A session unused for
  longer than the idle timeout has ended (:meth:`UserStore.session` deletes it).
* An API token is shown once when it is made (``rma_`` + 32 random bytes); the database keeps
  its SHA-256, its name and when it was last used; it can be revoked.
* A disabled user cannot log in; their sessions are deleted and their tokens stop working.

Password checks take the same time whether or not the username exists (an unknown user's
password is checked against a dummy hash), so timing does not tell which usernames exist.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Literal, get_args

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rm_advisor.engine.errors import Code, Diagnostic, Location
from rm_advisor.store.database import Database
from rm_advisor.store.errors import StoreError
from rm_advisor.store.schema import ApiTokenRow, SessionRow, UserRow

Role = Literal["manager", "branch_head", "rule_author", "administrator"]
ROLES: tuple[Role, ...] = get_args(Role)
#: ``rma_`` marks an rm-advisor API token (so a secret scanner can tell it).
TOKEN_PREFIX = "rma_"
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 1024

_hasher = PasswordHasher()  # argon2id with argon2-cffi's RFC 9106 low-memory defaults
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class User:
    """An account as the store holds it (without its password hash)."""

    username: str
    display_name: str
    role: Role
    manager_id: str | None
    branch: str | None
    disabled: bool
    created_at: dt.datetime


@dataclass(frozen=True)
class SessionInfo:
    """A live session: whose it is and its CSRF token."""

    user: User
    csrf_token: str


@dataclass(frozen=True)
class TokenInfo:
    """An API token's name and dates (never the token)."""

    username: str
    name: str
    created_at: dt.datetime
    last_used: dt.datetime | None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _error(code: Code, message: str, field: str, hint: str = "") -> StoreError:
    return StoreError([Diagnostic(code, message, Location(path=field), hint=hint)])


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _user(row: UserRow) -> User:
    role: Role = row.role  # type: ignore[assignment]  # only ROLES are written
    return User(username=row.username, display_name=row.display_name, role=role, manager_id=row.manager_id,
                branch=row.branch, disabled=row.disabled, created_at=_utc(row.created_at))


def check_password(password: str) -> None:
    """A password must have 10 to 1024 characters; ``user_bad_value`` otherwise."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise _error("user_bad_value", f"a password needs {MIN_PASSWORD} to {MAX_PASSWORD} characters",
                     "password")


class UserStore:
    """Accounts, sessions and API tokens in a :class:`~store.database.Database`."""

    def __init__(self, db: Database):
        self.db = db

    # accounts -----------------------------------------------------------------------------------

    def add(self, username: str, password: str, role: str, display_name: str | None = None,
            manager_id: str | None = None, branch: str | None = None) -> User:
        """Create an account; ``user_exists`` if the username is taken, ``user_bad_value`` if a
        field does not fit its role (a manager needs a manager id, a branch head a branch)."""
        if not USERNAME.match(username):
            raise _error("user_bad_value", f"`{username}` is not a username: letters, digits and . _ @ - "
                         "(up to 64, starting with a letter or digit)", "username")
        if role not in ROLES:
            raise _error("user_bad_value", f"`{role}` is not a role", "role", hint="one of " + ", ".join(ROLES))
        if role == "manager" and not manager_id:
            raise _error("user_bad_value", "a manager account needs the manager's id (--manager-id)", "manager_id")
        if role == "branch_head" and not branch:
            raise _error("user_bad_value", "a branch head account needs a branch (--branch)", "branch")
        if role != "manager" and manager_id:
            raise _error("user_bad_value", "only a manager account has a manager id", "manager_id")
        check_password(password)
        row = UserRow(username=username, display_name=display_name or username, role=role,
                      manager_id=manager_id or None, branch=branch or None, password_hash=_hasher.hash(password),
                      disabled=False, created_at=dt.datetime.now(dt.UTC))
        try:
            with self.db.transaction() as session:
                if session.execute(select(UserRow.id).where(UserRow.username == username)).first():
                    raise _error("user_exists", f"a user `{username}` exists already", "username")
                session.add(row)
                session.flush()
                return _user(row)
        except IntegrityError as exc:  # another writer added it in between
            raise _error("user_exists", f"a user `{username}` exists already", "username") from exc

    def get(self, username: str) -> User:
        """The account; ``user_not_found`` otherwise."""
        with self.db.transaction() as session:
            return _user(self._row(session, username))

    def accounts(self) -> list[User]:
        """Every account, by username."""
        with self.db.transaction() as session:
            return [_user(r) for r in session.execute(select(UserRow).order_by(UserRow.username)).scalars()]

    def exist(self) -> bool:
        """Whether the database has any account (a server without one runs as before: open or by key)."""
        with self.db.transaction() as session:
            return session.execute(select(UserRow.id).limit(1)).first() is not None

    def disable(self, username: str) -> User:
        """Disable the account: it cannot log in, its sessions end, its tokens stop working."""
        with self.db.transaction() as session:
            row = self._row(session, username)
            row.disabled = True
            session.execute(delete(SessionRow).where(SessionRow.user_id == row.id))
            return _user(row)

    def set_password(self, username: str, password: str) -> None:
        """Give the account a new password; its sessions end."""
        check_password(password)
        with self.db.transaction() as session:
            row = self._row(session, username)
            row.password_hash = _hasher.hash(password)
            session.execute(delete(SessionRow).where(SessionRow.user_id == row.id))

    def managers_of_branch(self, branch: str) -> frozenset[str]:
        """The manager ids of the (enabled and disabled) manager accounts of ``branch``."""
        with self.db.transaction() as session:
            ids = session.execute(select(UserRow.manager_id).where(
                UserRow.role == "manager", UserRow.branch == branch, UserRow.manager_id.is_not(None))).scalars()
            return frozenset(i for i in ids if i)

    def authenticate(self, username: str, password: str) -> User | None:
        """The enabled account with this username and password, else None. Takes one argon2 check
        whether or not the user exists (no timing tells usernames apart)."""
        with self.db.transaction() as session:
            row = session.execute(select(UserRow).where(UserRow.username == username)).scalar_one_or_none()
            stored = row.password_hash if row is not None else _DUMMY_HASH
        try:
            _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None or row.disabled:
            return None
        if _hasher.check_needs_rehash(stored):
            with self.db.transaction() as session:
                fresh = session.get(UserRow, row.id)
                if fresh is not None:
                    fresh.password_hash = _hasher.hash(password)
        return _user(row)

    # sessions -----------------------------------------------------------------------------------

    def start_session(self, username: str) -> tuple[str, str]:
        """A new session for the (enabled) user: (cookie token, CSRF token). Only the token's
        SHA-256 is stored."""
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = dt.datetime.now(dt.UTC)
        with self.db.transaction() as session:
            row = self._row(session, username)
            if row.disabled:
                raise _error("user_disabled", f"the user `{username}` is disabled", "username")
            session.add(SessionRow(token_hash=_digest(token), user_id=row.id, csrf_token=csrf, created_at=now,
                                   last_seen=now))
        return token, csrf

    def session(self, token: str, idle: dt.timedelta, now: dt.datetime | None = None) -> SessionInfo | None:
        """The live session of this cookie token, its last use set to now; None when there is none,
        it was idle longer than ``idle`` (it is deleted then) or its user is disabled."""
        now = now or dt.datetime.now(dt.UTC)
        with self.db.transaction() as session:
            found = session.execute(select(SessionRow, UserRow).join(UserRow, UserRow.id == SessionRow.user_id)
                                    .where(SessionRow.token_hash == _digest(token))).first()
            if found is None:
                return None
            row, user = found
            if user.disabled or _utc(row.last_seen) + idle < now:
                session.delete(row)
                return None
            # written at most once a minute: a page of requests does not write for each
            if now - _utc(row.last_seen) > dt.timedelta(minutes=1):
                row.last_seen = now
            return SessionInfo(_user(user), row.csrf_token)

    def end_session(self, token: str) -> None:
        """Log out: the session is deleted (nothing happens when there is none)."""
        with self.db.transaction() as session:
            session.execute(delete(SessionRow).where(SessionRow.token_hash == _digest(token)))

    def end_idle_sessions(self, idle: dt.timedelta, now: dt.datetime | None = None) -> int:
        """Delete the sessions idle longer than ``idle``; how many were."""
        cutoff = (now or dt.datetime.now(dt.UTC)) - idle
        with self.db.transaction() as session:
            result = session.execute(delete(SessionRow).where(SessionRow.last_seen < cutoff))
            return int(getattr(result, "rowcount", 0) or 0)

    # API tokens ---------------------------------------------------------------------------------

    def new_token(self, username: str, name: str = "default") -> str:
        """A new API token for the user (shown once: only its SHA-256 is stored); ``token_exists``
        if the user has a token of that name."""
        if not 1 <= len(name) <= 64 or not name.isprintable():
            raise _error("user_bad_value", "a token name has 1 to 64 printable characters", "name")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        try:
            with self.db.transaction() as session:
                row = self._row(session, username)
                if session.execute(select(ApiTokenRow.id).where(ApiTokenRow.user_id == row.id,
                                                                ApiTokenRow.name == name)).first():
                    raise _error("token_exists", f"`{username}` has a token named `{name}` already", "name",
                                 hint="revoke it first, or give another --name")
                session.add(ApiTokenRow(user_id=row.id, name=name, token_hash=_digest(token),
                                        created_at=dt.datetime.now(dt.UTC)))
        except IntegrityError as exc:
            raise _error("token_exists", f"`{username}` has a token named `{name}` already", "name") from exc
        return token

    def by_token(self, token: str) -> User | None:
        """The enabled user this API token belongs to, else None."""
        if not token.startswith(TOKEN_PREFIX):
            return None
        digest = _digest(token)
        with self.db.transaction() as session:
            found = session.execute(select(ApiTokenRow, UserRow).join(UserRow, UserRow.id == ApiTokenRow.user_id)
                                    .where(ApiTokenRow.token_hash == digest)).first()
            if found is None:
                return None
            row, user = found
            if not hmac.compare_digest(row.token_hash, digest) or user.disabled:
                return None
            now = dt.datetime.now(dt.UTC)
            if row.last_used is None or now - _utc(row.last_used) > dt.timedelta(minutes=1):
                row.last_used = now
            return _user(user)

    def tokens(self, username: str) -> list[TokenInfo]:
        """The user's API tokens, by name."""
        with self.db.transaction() as session:
            row = self._row(session, username)
            return [TokenInfo(username, t.name, _utc(t.created_at), None if t.last_used is None else _utc(t.last_used))
                    for t in session.execute(select(ApiTokenRow).where(ApiTokenRow.user_id == row.id)
                                             .order_by(ApiTokenRow.name)).scalars()]

    def revoke_token(self, username: str, name: str = "default") -> None:
        """Revoke the user's token of that name; ``token_not_found`` if there is none."""
        with self.db.transaction() as session:
            row = self._row(session, username)
            result = session.execute(delete(ApiTokenRow).where(ApiTokenRow.user_id == row.id,
                                                               ApiTokenRow.name == name))
            if not getattr(result, "rowcount", 0):
                raise _error("token_not_found", f"`{username}` has no token named `{name}`", "name",
                             hint="`rm-advisor users list` shows the users; tokens are named when made")

    def _row(self, session: Session, username: str) -> UserRow:
        row = session.execute(select(UserRow).where(UserRow.username == username)).scalar_one_or_none()
        if row is None:
            raise _error("user_not_found", f"no user `{username}`", "username",
                         hint="`rm-advisor users list` shows the users")
        return row
