"""`rm-advisor release ...`: rule releases with four eyes, in the decision database (``--db``).

Thin adapters over :mod:`store.releases` and :mod:`store.release_review`. ``propose`` checks a rule
directory, diffs it against the active release (else the rule directory given as ``--serving``,
default the shipped packs) and records it as proposed; ``approve`` and ``reject`` are another
user's; ``rollback`` makes a named revision that served before active again.

The command line has the database, so it trusts the name given with ``--by``; while the database
has user accounts, that name must be an account with the role the step needs (a rule author or an
administrator proposes, an administrator approves, rejects and rolls back), and never the
proposer's for an approval. ``propose --direct`` is the path of a single-operator install (no
accounts): the release is active at once, recorded as ``direct``.

Running servers switch when a release is approved through the API; what is approved here serves
from their next start (a server with four eyes on serves the active release when it starts).
"""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from rm_advisor.cli.common import (
    DbOpt,
    EnOpt,
    Fmt,
    JsonAliasOpt,
    KbOpt,
    Lang,
    _,
    fail,
    format_option,
    json_wanted,
    out,
    require_file,
)

if TYPE_CHECKING:
    from rm_advisor.store import Release, Store

release_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                          help="Rule releases with four eyes: propose, list, show, approve, reject, roll back.")

ByOpt = typer.Option(None, "--by", help="who does it: a user name (an account, once the database has any; "
                                        "default: the login name)")
NoteOpt = typer.Option(None, "--note", help="why, recorded with the step")


def _say(text: str) -> None:
    out.print(text, markup=False, highlight=False)


def _who(store: Store, by: str | None, roles: frozenset[str], doing: str) -> str:
    """The name recorded for the step; with accounts in the database, an account with one of ``roles``."""
    name = by or getpass.getuser()
    if not store.users.exist():
        return name
    user = store.users.get(name)  # user_not_found
    if user.disabled or user.role not in roles:
        fail("forbidden", _("{user} ({role}) may not {doing} rule releases", user=name, role=user.role, doing=doing))
    return name


def _row(release: Release) -> dict[str, Any]:
    return {"id": release.id, "revision": release.revision, "state": release.state,
            "base_revision": release.base_revision, "files": sorted(release.rule_files),
            "proposed_by": release.proposed_by, "proposed_at": release.proposed_at.isoformat(),
            "decided_by": release.decided_by,
            "decided_at": release.decided_at.isoformat() if release.decided_at else None,
            "note": release.note, "decision_note": release.decision_note, "check": release.check_summary,
            "diff": release.diff_summary,
            "events": [{"event": e.event, "state": e.state, "by": e.by, "at": e.at.isoformat(),
                        "serving_before": e.serving_before, "note": e.note} for e in release.events]}


def _print(release: Release, as_json: bool, full: bool = True) -> None:
    if as_json:
        sys.stdout.write(json.dumps(_row(release), ensure_ascii=False, indent=2) + "\n")
        return
    _say(_("release {id}: {revision} {state}, proposed by {by} at {at}", id=release.id, revision=release.revision,
           state=release.state, by=release.proposed_by, at=release.proposed_at.isoformat(timespec="seconds")))
    if not full:
        return
    diff, check = release.diff_summary, release.check_summary
    totals = " · ".join(f"{k} {n}" for k, n in diff.get("totals", {}).items())
    _say("  " + _("against {base} over {documents} document(s) ({basis}): {changed} of {subjects} subject(s) "
                  "changed; {totals}", base=release.base_revision, documents=diff.get("documents", 0),
                  basis=diff.get("basis", ""), changed=diff.get("changed_subjects", 0),
                  subjects=diff.get("subjects", 0), totals=totals))
    _say("  " + _("check: {errors} error(s), {warnings} warning(s)", errors=check.get("errors", 0),
                  warnings=check.get("warnings", 0)))
    for item, counts in diff.get("by_item", {}).items():
        _say(f"    {item}: " + " · ".join(f"{k} {n}" for k, n in counts.items() if n))
    for e in release.events:
        _say(f"  {e.at.isoformat(timespec='seconds')} {e.event} ({e.state}) {e.by}" + (f": {e.note}" if e.note else ""))


@release_app.command("propose")
def propose(
    rules_arg: Path | None = typer.Argument(None, metavar="RULES", help="the changed rule directory"),
    rules: Path | None = typer.Option(None, "--rules", "-r", help="the changed rule directory (as the argument)"),
    serving: Path | None = typer.Option(None, "--serving", help="the rule directory serving now, when the "
                                                                "database has no active release (default: the "
                                                                "shipped packs)"),
    kb: Path | None = KbOpt,
    by: str | None = ByOpt,
    note: str | None = NoteOpt,
    direct: bool = typer.Option(False, "--direct", help="single-operator install (no user accounts): active at "
                                                        "once, recorded as direct"),
    db: str | None = DbOpt,
    fmt: Fmt = format_option(),
    as_json: bool = JsonAliasOpt,
    lang: Lang = EnOpt,
) -> None:
    """Check a rule directory, diff it against the serving revision and record it as proposed."""
    from rm_advisor.cli.store import opened
    from rm_advisor.engine.inference import load_rule_book
    from rm_advisor.engine.loading import default_rules_dir, read_kb_files, read_rule_files
    from rm_advisor.store.release_review import review_release
    from rm_advisor.store.releases import PROPOSER_ROLES

    as_json = json_wanted(fmt, as_json, lang)
    target = rules or rules_arg
    if target is None:
        fail("bad_usage", _("give the changed rule directory (RULES or -r/--rules)"), exit_code=2)
    require_file(target, dir_ok=True)
    with opened(db) as store:
        if direct and store.users.exist():
            fail("four_eyes_required", _("this database has user accounts, so rule changes go through releases "
                                         "that another user approves: propose without --direct"))
        name = _who(store, by, PROPOSER_ROLES, _("propose"))
        kb_files = read_kb_files(kb, relative=True)
        active = store.releases.active()
        serving_files = active.rule_files if active is not None else \
            read_rule_files(serving or default_rules_dir(), relative=True)
        serving_book = load_rule_book(serving_files, kb_files)
        files = read_rule_files(target, relative=True)
        review = review_release(files, kb_files, serving_book, store.decisions)
        release = store.releases.propose(files, review.revision, serving_book.revision, review.check_summary,
                                         review.diff_summary, name, note, direct=direct)
    _print(release, as_json)


@release_app.command("list")
def list_releases(
    db: str | None = DbOpt,
    fmt: Fmt = format_option(),
    as_json: bool = JsonAliasOpt,
    lang: Lang = EnOpt,
) -> None:
    """The releases, newest first, with their states."""
    from rm_advisor.cli.store import opened

    as_json = json_wanted(fmt, as_json, lang)
    with opened(db) as store:
        releases = store.releases.list()
    if as_json:
        sys.stdout.write(json.dumps([_row(r) for r in releases], ensure_ascii=False, indent=2) + "\n")
        return
    if not releases:
        _say(_("no rule releases"))
    for release in releases:
        _print(release, False, full=False)


@release_app.command("show")
def show(
    release_id: int = typer.Argument(..., min=1, help="the release's id (release list)"),
    db: str | None = DbOpt,
    fmt: Fmt = format_option(),
    as_json: bool = JsonAliasOpt,
    lang: Lang = EnOpt,
) -> None:
    """One release: its diff summary, its check and its audit trail."""
    from rm_advisor.cli.store import opened

    as_json = json_wanted(fmt, as_json, lang)
    with opened(db) as store:
        release = store.releases.get(release_id)
    _print(release, as_json)


def _decide(release_id: int, by: str | None, note: str | None, db: str | None, as_json: bool, approve: bool) -> None:
    from rm_advisor.cli.store import opened
    from rm_advisor.store.releases import APPROVER_ROLES

    with opened(db) as store:
        name = _who(store, by, APPROVER_ROLES, _("approve") if approve else _("reject"))
        release = (store.releases.approve if approve else store.releases.reject)(release_id, name, note)
    _print(release, as_json, full=False)
    if approve and not as_json:
        _say(_("running servers serve it from their next start; approve through the API to switch them at once"))


@release_app.command("approve")
def approve(
    release_id: int = typer.Argument(..., min=1, help="the release's id (release list)"),
    by: str | None = ByOpt,
    note: str | None = NoteOpt,
    db: str | None = DbOpt,
    fmt: Fmt = format_option(),
    as_json: bool = JsonAliasOpt,
    lang: Lang = EnOpt,
) -> None:
    """Make a proposed release active (an administrator other than its proposer)."""
    _decide(release_id, by, note, db, json_wanted(fmt, as_json, lang), approve=True)


@release_app.command("reject")
def reject(
    release_id: int = typer.Argument(..., min=1, help="the release's id (release list)"),
    by: str | None = ByOpt,
    note: str | None = NoteOpt,
    db: str | None = DbOpt,
    fmt: Fmt = format_option(),
    as_json: bool = JsonAliasOpt,
    lang: Lang = EnOpt,
) -> None:
    """Reject a proposed release (an administrator other than its proposer)."""
    _decide(release_id, by, note, db, json_wanted(fmt, as_json, lang), approve=False)


@release_app.command("rollback")
def rollback(
    revision: str = typer.Argument(..., help="the revision to serve again (one that served before)"),
    by: str | None = ByOpt,
    note: str | None = NoteOpt,
    db: str | None = DbOpt,
    fmt: Fmt = format_option(),
    as_json: bool = JsonAliasOpt,
    lang: Lang = EnOpt,
) -> None:
    """Make a revision that served before active again, in one step (an administrator)."""
    from rm_advisor.cli.store import opened
    from rm_advisor.store.releases import APPROVER_ROLES

    as_json = json_wanted(fmt, as_json, lang)
    with opened(db) as store:
        name = _who(store, by, APPROVER_ROLES, _("roll back"))
        release = store.releases.rollback(revision, name, note)
    _print(release, as_json, full=False)
