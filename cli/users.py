"""`rm-advisor users ...`: user accounts for the HTTP server's login and API tokens.

Thin adapters over :mod:`store.users` (the accounts live in the decision database: ``--db``).
A password is read from standard input (``--password-stdin``) or asked for at a prompt without
echo, never taken from the command line (where ``ps`` and the shell history would show it). An
API token is printed once, when it is made: only its hash is kept.
"""

from __future__ import annotations

import getpass
import sys
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import typer

from rm_advisor.cli.common import (
    DbOpt,
    EnOpt,
    Fmt,
    JsonAliasOpt,
    Lang,
    _,
    fail,
    format_option,
    json_wanted,
    out,
    write_json,
)

if TYPE_CHECKING:
    from rm_advisor.store import User

users_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                        help="User accounts for logging in to the server, and their API tokens.")

TokenNameOpt = typer.Option("default", "--name", help="the token's name (one user may have several)")


class RoleName(StrEnum):
    manager = "manager"
    branch_head = "branch_head"
    rule_author = "rule_author"
    administrator = "administrator"


def _password(from_stdin: bool) -> str:
    """The new password: the first line of standard input, or typed twice at a prompt."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        fail("bad_usage", _("give the password on standard input with --password-stdin, or run this in a "
                            "terminal to be asked for it"), exit_code=2)
    first = getpass.getpass(_("Password: "))
    if getpass.getpass(_("Password again: ")) != first:
        fail("user_bad_value", _("the two passwords differ"))
    return first


def _row(user: User) -> dict[str, Any]:
    return {"username": user.username, "display_name": user.display_name, "role": user.role,
            "manager_id": user.manager_id, "branch": user.branch, "disabled": user.disabled,
            "created_at": user.created_at.isoformat()}


def _say(text: str) -> None:
    out.print(text, markup=False, highlight=False)


@users_app.command("add")
def add(
    username: str = typer.Argument(..., help="the login name (letters, digits and . _ @ -)"),
    role: RoleName = typer.Option(..., "--role", help="manager, branch_head, rule_author or administrator"),
    name: str | None = typer.Option(None, "--name", help="the name shown (default: the username)"),
    manager_id: str | None = typer.Option(None, "--manager-id", help="role manager: the manager's id in the facts"),
    branch: str | None = typer.Option(None, "--branch", help="the branch of a manager or a branch head"),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="read the password from the first line "
                                                                        "of standard input (else: a prompt)"),
    db: str | None = DbOpt,
    fmt: Fmt = format_option(),
    as_json: bool = JsonAliasOpt,
    lang: Lang = EnOpt,
) -> None:
    """Create an account. A manager sees and answers their own book; a branch head the books of the
    managers of their branch; an administrator every book; a rule author none."""
    from rm_advisor.cli.store import opened

    as_json = json_wanted(fmt, as_json, lang)
    password = _password(password_stdin)
    with opened(db) as store:
        user = store.users.add(username, password, role.value, display_name=name, manager_id=manager_id,
                               branch=branch)
    if as_json:
        write_json(_row(user), None)
        return
    _say(_("added {role} {username}", role=user.role, username=user.username))


@users_app.command("list")
def list_users(
    db: str | None = DbOpt,
    fmt: Fmt = format_option(),
    as_json: bool = JsonAliasOpt,
    lang: Lang = EnOpt,
) -> None:
    """The accounts, by username, with their roles, manager ids and branches."""
    from rm_advisor.cli.store import opened

    as_json = json_wanted(fmt, as_json, lang)
    with opened(db) as store:
        users = store.users.accounts()
        tokens = {u.username: [t.name for t in store.users.tokens(u.username)] for u in users}
    if as_json:
        write_json([_row(u) | {"tokens": tokens[u.username]} for u in users], None)
        return
    if not users:
        _say(_("no user accounts: the server runs as before (open, or by the API key)"))
        return
    for u in users:
        where = " ".join(x for x in (u.manager_id and f"manager_id={u.manager_id}",
                                     u.branch and f"branch={u.branch}") if x)
        state = _("disabled") if u.disabled else ""
        named = _("tokens: {names}", names=", ".join(tokens[u.username])) if tokens[u.username] else ""
        _say(f"{u.username:<20} {u.role:<14} {where:<32} {state} {named}".rstrip())


@users_app.command("disable")
def disable(
    username: str = typer.Argument(..., help="the account to disable"),
    db: str | None = DbOpt,
    fmt: Fmt = format_option(),
    as_json: bool = JsonAliasOpt,
    lang: Lang = EnOpt,
) -> None:
    """Disable an account: it cannot log in, its sessions end and its API tokens stop working."""
    from rm_advisor.cli.store import opened

    as_json = json_wanted(fmt, as_json, lang)
    with opened(db) as store:
        user = store.users.disable(username)
    if as_json:
        write_json(_row(user), None)
        return
    _say(_("disabled {username}: its sessions ended and its tokens no longer work", username=user.username))


@users_app.command("password")
def password(
    username: str = typer.Argument(..., help="whose password"),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="read the password from the first line "
                                                                        "of standard input (else: a prompt)"),
    db: str | None = DbOpt,
    fmt: Fmt = format_option(),
    as_json: bool = JsonAliasOpt,
    lang: Lang = EnOpt,
) -> None:
    """Give an account a new password; its sessions end."""
    from rm_advisor.cli.store import opened

    as_json = json_wanted(fmt, as_json, lang)
    new = _password(password_stdin)
    with opened(db) as store:
        store.users.set_password(username, new)
    if as_json:
        write_json({"username": username, "password_changed": True}, None)
        return
    _say(_("changed the password of {username}; its sessions ended", username=username))


@users_app.command("token")
def token(
    username: str = typer.Argument(..., help="whose token"),
    name: str = TokenNameOpt,
    db: str | None = DbOpt,
    fmt: Fmt = format_option(),
    as_json: bool = JsonAliasOpt,
    lang: Lang = EnOpt,
) -> None:
    """Make an API token for a CRM or a script (Authorization: Bearer TOKEN). It is printed once:
    only its hash is kept."""
    from rm_advisor.cli.store import opened

    as_json = json_wanted(fmt, as_json, lang)
    with opened(db) as store:
        made = store.users.new_token(username, name)
    if as_json:
        write_json({"username": username, "name": name, "token": made}, None)
        return
    sys.stdout.write(made + "\n")
    print(_("the token is shown once; keep it where the client keeps secrets"), file=sys.stderr)


@users_app.command("revoke-token")
def revoke_token(
    username: str = typer.Argument(..., help="whose token"),
    name: str = TokenNameOpt,
    db: str | None = DbOpt,
    fmt: Fmt = format_option(),
    as_json: bool = JsonAliasOpt,
    lang: Lang = EnOpt,
) -> None:
    """Revoke an API token: requests with it are refused from now on."""
    from rm_advisor.cli.store import opened

    as_json = json_wanted(fmt, as_json, lang)
    with opened(db) as store:
        store.users.revoke_token(username, name)
    if as_json:
        write_json({"username": username, "name": name, "revoked": True}, None)
        return
    _say(_("revoked the token {name} of {username}", name=name, username=username))
