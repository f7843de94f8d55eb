"""cli/users.py: managing accounts and API tokens from the command line, on a SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rm_advisor.cli.main import app
from rm_advisor.store import Store

runner = CliRunner()
PASSWORD = "a-long-password-1"


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'advisor.db'}"


def run(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = runner.invoke(app, list(args), input=stdin)
    return result.exit_code, result.output


def test_add_list_disable_with_the_password_from_stdin(db: str) -> None:
    code, output = run("users", "add", "wang", "--role", "manager", "--manager-id", "M-T01", "--branch", "east",
                       "--name", "王建国", "--password-stdin", "--db", db, stdin=PASSWORD + "\n")
    assert code == 0, output
    code, output = run("users", "list", "--format", "json", "--db", db)
    [user] = json.loads(output)
    assert (user["username"], user["display_name"], user["role"], user["manager_id"], user["branch"],
            user["disabled"]) == ("wang", "王建国", "manager", "M-T01", "east", False)
    with Store(db) as store:
        assert store.users.authenticate("wang", PASSWORD) is not None
    assert run("users", "disable", "wang", "--db", db)[0] == 0
    with Store(db) as store:
        assert store.users.authenticate("wang", PASSWORD) is None and store.users.get("wang").disabled


def test_a_password_is_never_an_argument_and_no_terminal_means_stdin_is_needed(db: str) -> None:
    code, output = run("users", "add", "wang", "--role", "administrator", "--password", PASSWORD, "--db", db)
    assert code == 2  # no such option
    code, output = run("users", "add", "wang", "--role", "administrator", "--db", db, "--format", "json")
    assert code == 2 and json.loads(output)["code"] == "bad_usage"


@pytest.mark.parametrize(("args", "code"), [
    (["--role", "manager"], "user_bad_value"),                        # a manager needs a manager id
    (["--role", "branch_head"], "user_bad_value"),                    # a branch head needs a branch
    (["--role", "administrator", "--manager-id", "M1"], "user_bad_value"),
])
def test_an_account_that_does_not_fit_its_role_is_refused_with_a_code(db: str, args: list[str], code: str) -> None:
    status, output = run("users", "add", "x", *args, "--password-stdin", "--db", db, "--format", "json",
                         stdin=PASSWORD + "\n")
    assert status == 1 and json.loads(output)["code"] == code


def test_a_short_password_and_a_taken_username_are_refused(db: str) -> None:
    status, output = run("users", "add", "x", "--role", "rule_author", "--password-stdin", "--db", db,
                         "--format", "json", stdin="short\n")
    assert status == 1 and json.loads(output)["code"] == "user_bad_value"
    assert run("users", "add", "x", "--role", "rule_author", "--password-stdin", "--db", db, stdin=PASSWORD)[0] == 0
    status, output = run("users", "add", "x", "--role", "rule_author", "--password-stdin", "--db", db,
                         "--format", "json", stdin=PASSWORD)
    assert status == 1 and json.loads(output)["code"] == "user_exists"


def test_a_token_is_printed_once_works_and_is_revoked(db: str) -> None:
    run("users", "add", "crm", "--role", "administrator", "--password-stdin", "--db", db, stdin=PASSWORD)
    code, output = run("users", "token", "crm", "--name", "crm-east", "--db", db, "--format", "json")
    assert code == 0, output
    made = json.loads(output)["token"]
    with Store(db) as store:
        user = store.users.by_token(made)
        assert user is not None and user.username == "crm"
    listed = json.loads(run("users", "list", "--db", db, "--format", "json")[1])
    assert listed[0]["tokens"] == ["crm-east"] and made not in json.dumps(listed)
    assert run("users", "revoke-token", "crm", "--name", "crm-east", "--db", db)[0] == 0
    with Store(db) as store:
        assert store.users.by_token(made) is None
    status, output = run("users", "revoke-token", "crm", "--name", "crm-east", "--db", db, "--format", "json")
    assert status == 1 and json.loads(output)["code"] == "token_not_found"


def test_an_unknown_user_is_a_coded_error(db: str) -> None:
    status, output = run("users", "disable", "nobody", "--db", db, "--format", "json")
    assert status == 1 and json.loads(output)["code"] == "user_not_found"


def test_a_new_password_replaces_the_old_one_and_ends_the_sessions(db: str) -> None:
    import datetime as dt

    run("users", "add", "wang", "--role", "rule_author", "--password-stdin", "--db", db, stdin=PASSWORD)
    with Store(db) as store:
        token, _ = store.users.start_session("wang")
    code, output = run("users", "password", "wang", "--password-stdin", "--db", db, stdin="another-password-2\n")
    assert code == 0, output
    with Store(db) as store:
        assert store.users.authenticate("wang", PASSWORD) is None
        assert store.users.authenticate("wang", "another-password-2") is not None
        assert store.users.session(token, dt.timedelta(hours=1)) is None
