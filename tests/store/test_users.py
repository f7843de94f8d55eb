"""store/users.py: accounts, sessions and API tokens, on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest

from rm_advisor.store import Store, StoreError
from rm_advisor.store.schema import ApiTokenRow, SessionRow, UserRow

PASSWORD = "correct-horse-battery"
HOUR = dt.timedelta(hours=1)


@pytest.fixture
def users(db_url: str) -> Store:
    store = Store(db_url)
    store.users.add("alice", PASSWORD, "manager", display_name="Alice", manager_id="M1", branch="east")
    store.users.add("bob", PASSWORD, "manager", manager_id="M2", branch="west")
    store.users.add("carol", PASSWORD, "branch_head", branch="east")
    return store


def _code(exc: pytest.ExceptionInfo[StoreError]) -> str:
    return str(exc.value.diagnostics[0].code)


def test_the_password_is_kept_as_an_argon2id_hash_and_checked(users: Store) -> None:
    with users.db.transaction() as session:
        stored = session.query(UserRow).filter_by(username="alice").one().password_hash
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    alice = users.users.authenticate("alice", PASSWORD)
    assert alice is not None and (alice.role, alice.manager_id, alice.branch, alice.display_name) == \
        ("manager", "M1", "east", "Alice")
    assert users.users.authenticate("alice", PASSWORD + "x") is None
    assert users.users.authenticate("nobody", PASSWORD) is None


def test_a_username_is_unique_and_fields_must_fit_the_role(users: Store) -> None:
    with pytest.raises(StoreError) as exc:
        users.users.add("alice", PASSWORD, "administrator")
    assert _code(exc) == "user_exists"
    for args, kw in ((("x", PASSWORD, "manager"), {}), (("x", PASSWORD, "branch_head"), {}),
                     (("x", PASSWORD, "boss"), {}), (("x", "short", "rule_author"), {}),
                     (("no spaces", PASSWORD, "rule_author"), {}),
                     (("x", PASSWORD, "rule_author"), {"manager_id": "M9"})):
        with pytest.raises(StoreError) as exc:
            users.users.add(*args, **kw)
        assert _code(exc) == "user_bad_value", args


def test_a_session_token_is_stored_hashed_and_ends_when_idle_or_on_logout(users: Store) -> None:
    token, csrf = users.users.start_session("alice")
    with users.db.transaction() as session:
        [row] = session.query(SessionRow).all()
        assert row.token_hash != token and token not in row.token_hash and row.csrf_token == csrf
    found = users.users.session(token, HOUR)
    assert found is not None and found.user.username == "alice" and found.csrf_token == csrf
    assert users.users.session(token + "x", HOUR) is None
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    assert users.users.session(token, HOUR, now=later) is None
    assert users.users.session(token, HOUR) is None  # an expired session is deleted
    token, _ = users.users.start_session("alice")
    users.users.end_session(token)
    assert users.users.session(token, HOUR) is None


def test_disabling_ends_sessions_and_stops_tokens_and_logins(users: Store) -> None:
    token, _ = users.users.start_session("alice")
    api = users.users.new_token("alice", "crm")
    users.users.disable("alice")
    assert users.users.session(token, HOUR) is None and users.users.by_token(api) is None
    assert users.users.authenticate("alice", PASSWORD) is None
    with pytest.raises(StoreError) as exc:
        users.users.start_session("alice")
    assert _code(exc) == "user_disabled"


def test_an_api_token_is_shown_once_stored_hashed_named_and_revocable(users: Store) -> None:
    api = users.users.new_token("bob", "crm")
    assert api.startswith("rma_")
    with users.db.transaction() as session:
        [row] = session.query(ApiTokenRow).all()
        assert api not in row.token_hash and row.name == "crm"
    found = users.users.by_token(api)
    assert found is not None and found.username == "bob"
    assert [t.name for t in users.users.tokens("bob")] == ["crm"]
    with pytest.raises(StoreError) as exc:
        users.users.new_token("bob", "crm")
    assert _code(exc) == "token_exists"
    users.users.revoke_token("bob", "crm")
    assert users.users.by_token(api) is None
    with pytest.raises(StoreError) as exc:
        users.users.revoke_token("bob", "crm")
    assert _code(exc) == "token_not_found"


def test_a_branch_s_managers_are_the_manager_accounts_of_that_branch(users: Store) -> None:
    assert users.users.managers_of_branch("east") == frozenset({"M1"})
    assert users.users.managers_of_branch("north") == frozenset()


def test_an_unknown_user_is_a_coded_error(users: Store) -> None:
    with pytest.raises(StoreError) as exc:
        users.users.disable("nobody")
    assert _code(exc) == "user_not_found"
    assert [u.username for u in users.users.accounts()] == ["alice", "bob", "carol"] and users.users.exist()
