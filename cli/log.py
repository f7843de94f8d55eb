"""`rm-advisor log ...`: operating the decision log — retention (purge), erasure (forget), backups.

Thin adapters over :mod:`store.retention` and :mod:`store.backup`, registered beside the other
decision-log commands by :func:`cli.store.register`. Refusals print coded diagnostics and exit 1;
a malformed option is a usage error (exit 2).
"""

from __future__ import annotations

import getpass
import json
import re
import sys
from pathlib import Path

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
)

log_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                      help="Operate the decision log: purge, forget a client, back up, restore.")

#: the commands' own messages: English unless asked (zh or both)
ByOpt = typer.Option(None, "--by", help="who asks for it, recorded with the erasure (default: the login name)")
_AGE = re.compile(r"(\d{1,6})d")


def parse_age(value: str, name: str) -> int:
    """``400d`` as 400 days; anything else is a usage error naming the option (exit 2)."""
    m = _AGE.fullmatch(value.strip())
    if m is None or int(m[1]) < 1:
        raise typer.BadParameter(_("expected a number of days such as 400d, got {value}", value=repr(value)),
                                 param_hint=name)
    return int(m[1])


def _who(by: str | None) -> str:
    if by is not None and by.strip():
        return by.strip()[:200]
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


@log_app.command("purge")
def purge(
    older_than: str = typer.Option(..., "--older-than", help="remove decisions logged longer ago than this, e.g. "
                                                             "400d"),
    by: str | None = ByOpt,
    db: str | None = DbOpt,
    fmt: Fmt = format_option(),
    as_json: bool = JsonAliasOpt,
    lang: Lang = EnOpt,
) -> None:
    """Remove old decisions with their items and feedback; the effectiveness report keeps their counts.

    A decision with a snooze still running is kept until the snooze ends. The purge is recorded
    (`rm-advisor log erasures`).
    """
    from rm_advisor.cli.store import opened
    from rm_advisor.store.retention import purge as purge_log

    as_json = json_wanted(fmt, as_json, lang)

    days = parse_age(older_than, "--older-than")
    with opened(db) as store:
        done = purge_log(store.db, days, _who(by))
    if as_json:
        sys.stdout.write(done.model_dump_json(indent=2) + "\n")
        return
    kept = _("; {count} kept while a snooze runs", count=done.kept_snoozed) if done.kept_snoozed else ""
    out.print(_("purged {decisions} decision(s) logged before {before} UTC, {items} item(s), {feedback} feedback "
                "event(s){kept}; their counts stay in the effectiveness report (erasure #{id})",
                decisions=done.decisions, before=format(done.before, "%Y-%m-%d %H:%M"), items=done.items,
                feedback=done.feedback, kept=kept, id=done.id), markup=False, highlight=False)


@log_app.command("forget")
def forget(
    client_id: str = typer.Argument(..., help="the client whose personal data is to be erased"),
    by: str | None = ByOpt,
    db: str | None = DbOpt,
    fmt: Fmt = format_option(),
    as_json: bool = JsonAliasOpt,
    lang: Lang = EnOpt,
) -> None:
    """Erase one client's personal data from every logged decision, item and feedback event.

    The client's id becomes a pseudonym and what its facts put in is masked; items and feedback
    stay, so every count stays. The erasure is recorded without the client's id, and a replay of a
    decision it changed is refused (decision_erased).
    """
    from rm_advisor.cli.store import opened
    from rm_advisor.engine.loading import load_knowledge_base, read_kb_files
    from rm_advisor.store.retention import forget as forget_client

    as_json = json_wanted(fmt, as_json, lang)

    if not client_id.strip():
        raise typer.BadParameter(_("the client id is empty"), param_hint="CLIENT_ID")
    with opened(db) as store:
        done = forget_client(store.db, load_knowledge_base(read_kb_files()), client_id, _who(by))
    if as_json:
        sys.stdout.write(done.model_dump_json(indent=2) + "\n")
        return
    out.print(_("erased the client's personal data from {decisions} decision(s), {items} item(s) and {feedback} "
                "feedback event(s) (erasure #{id})", decisions=done.decisions, items=done.items,
                feedback=done.feedback, id=done.id), markup=False, highlight=False)


@log_app.command("erasures")
def erasures(
    limit: int = typer.Option(50, "--limit", min=1),
    db: str | None = DbOpt,
    fmt: Fmt = format_option(),
    as_json: bool = JsonAliasOpt,
    lang: Lang = EnOpt,
) -> None:
    """The purges and forgets done, newest first (no personal data)."""
    from rm_advisor.cli.store import opened
    from rm_advisor.store.retention import erasures as list_erasures

    as_json = json_wanted(fmt, as_json, lang)

    with opened(db) as store:
        rows = list_erasures(store.db, limit)
    if as_json:
        sys.stdout.write(json.dumps([r.model_dump(mode="json") for r in rows], indent=2) + "\n")
        return
    out.print(f"{'#':>4} {'kind':<6} {'at (UTC)':<16} {'by':<16} decisions  items  feedback", markup=False,
              highlight=False)
    for r in rows:
        out.print(f"{r.id:>4} {r.kind:<6} {r.at:%Y-%m-%d %H:%M} {r.by[:16]:<16} {r.decisions:>9} {r.items:>6} "
                  f"{r.feedback:>9}", markup=False, highlight=False)


@log_app.command("backup")
def backup(
    file_arg: Path | None = typer.Argument(None, dir_okay=False, metavar="FILE", hidden=True,
                                           help="the same as -o/--out"),
    output: Path | None = typer.Option(None, "--out", "-o", dir_okay=False, help="the backup file to write"),
    db: str | None = DbOpt,
    force: bool = typer.Option(False, "--force", help="replace the file if it exists"),
    fmt: Fmt = format_option(),
    as_json: bool = JsonAliasOpt,
    lang: Lang = EnOpt,
) -> None:
    """Copy a SQLite decision log into the -o/--out file, safely while a server writes to it (checked afterwards).

    PostgreSQL: runs pg_dump (custom format) when it is on PATH; else says what to run.
    """
    from rm_advisor.cli.store import _reported
    from rm_advisor.store.backup import backup as backup_log

    as_json = json_wanted(fmt, as_json, lang)
    file = output or file_arg
    if file is None:
        fail("bad_usage", _("give the backup file: -o/--out FILE"), exit_code=2)
    with _reported(file):
        done = backup_log(db, file, force)
    if as_json:
        sys.stdout.write(done.model_dump_json(indent=2) + "\n")
        return
    facts = dict(file=done.file, bytes=done.bytes, schema=done.schema_revision, integrity=done.integrity)
    out.print(_("backed up to {file} ({bytes} bytes, schema {schema}, integrity {integrity})", **facts)
              if done.decisions is None else
              _("backed up {decisions} decision(s) and {feedback} feedback event(s) to {file} ({bytes} bytes, "
                "schema {schema}, integrity {integrity})", decisions=done.decisions, feedback=done.feedback, **facts),
              markup=False, highlight=False)


@log_app.command("restore")
def restore(
    file: Path = typer.Argument(..., dir_okay=False, help="a backup written by `rm-advisor log backup`"),
    db: str | None = DbOpt,
    force: bool = typer.Option(False, "--force", help="replace a decision log that holds decisions"),
    fmt: Fmt = format_option(),
    as_json: bool = JsonAliasOpt,
    lang: Lang = EnOpt,
) -> None:
    """Replace a SQLite decision log by a backup, after checking it (stop the servers using it first).

    Refused: a file that is not a decision log, one from a newer rm-advisor, a log that holds
    decisions without --force. An older backup is migrated. PostgreSQL: runs pg_restore on a
    pg_dump file when it is on PATH; else says what to run.
    """
    from rm_advisor.cli.store import _reported
    from rm_advisor.store.backup import restore as restore_log

    as_json = json_wanted(fmt, as_json, lang)

    with _reported(file):
        done = restore_log(file, db, force)
    if as_json:
        sys.stdout.write(done.model_dump_json(indent=2) + "\n")
        return
    out.print(_("restored {decisions} decision(s) and {feedback} feedback event(s) into {file} (schema {schema}, "
                "integrity {integrity})", decisions=done.decisions, feedback=done.feedback, file=done.file,
                schema=done.schema_revision, integrity=done.integrity), markup=False, highlight=False)
