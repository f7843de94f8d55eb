"""Rule releases with four eyes: proposed revisions, who approved them, and the audit trail.

A release holds the rule files of one revision (the rule packs and contact policies; the knowledge
base is the server's), the revision serving when it was proposed (``base_revision``), a summary of
its check and of what it changes against that revision (:mod:`store.release_review` makes them),
who proposed it and why. Its states::

    proposed --approve--> active --another approved--> superseded --rollback--> active
             --reject---> rejected       --rollback away-----> rolled_back --rollback--> active

At most one release is active: the revision the servers answer with. A release is approved or
rejected only by a user other than its proposer (``release_self_approval``); which roles may
propose and approve is the API's and the CLI's business. Every change of state is an event in
``release_events`` (who, when, the revision serving before), in the same transaction as the change.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from rm_advisor.engine.errors import Code, Diagnostic, Location
from rm_advisor.store.database import Database
from rm_advisor.store.errors import StoreError
from rm_advisor.store.schema import ReleaseEventRow, ReleaseRow

State = Literal["proposed", "active", "rejected", "rolled_back", "superseded"]
Event = Literal["proposed", "approved", "rejected", "superseded", "rolled_back", "reactivated", "direct"]
#: Who may propose a release, and who may approve, reject and roll back (never their own proposal):
#: the API and the command line both hold a user to these roles.
PROPOSER_ROLES = frozenset({"rule_author", "administrator"})
APPROVER_ROLES = frozenset({"administrator"})
#: States a release can be rolled back to: it served before.
_SERVED_BEFORE = ("superseded", "rolled_back")
MAX_NOTE = 2000


@dataclass(frozen=True)
class ReleaseEvent:
    """One change of a release's state."""

    event: Event
    state: State
    by: str
    at: dt.datetime
    serving_before: str | None
    note: str | None


@dataclass(frozen=True)
class Release:
    """A release as the store holds it."""

    id: int
    revision: str
    state: State
    base_revision: str
    rule_files: dict[str, str]
    check_summary: dict[str, Any]
    diff_summary: dict[str, Any]
    proposed_by: str
    proposed_at: dt.datetime
    decided_by: str | None
    decided_at: dt.datetime | None
    note: str | None
    decision_note: str | None
    events: tuple[ReleaseEvent, ...] = ()


def _error(code: Code, message: str, field: str, hint: str = "") -> StoreError:
    return StoreError([Diagnostic(code, message, Location(path=field), hint=hint)])


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _note(note: str | None) -> str | None:
    return note[:MAX_NOTE] if note else None


class ReleaseStore:
    """Rule releases and their audit trail in a :class:`~store.database.Database`."""

    def __init__(self, db: Database):
        self.db = db

    def propose(self, rule_files: dict[str, str], revision: str, base_revision: str, check_summary: dict[str, Any],
                diff_summary: dict[str, Any], by: str, note: str | None = None, direct: bool = False) -> Release:
        """Record a proposed release (``direct``: one activated at once by its proposer, for a
        single-operator install). ``release_unchanged`` when the revision serves now or is
        proposed already."""
        now = dt.datetime.now(dt.UTC)
        with self.db.transaction() as session:
            serving = self._active(session)
            if revision == (serving.revision if serving is not None else base_revision):
                raise _error("release_unchanged", f"revision {revision} is the one serving now", "revision",
                             hint="change the rule files first")
            pending = session.execute(select(ReleaseRow.id).where(ReleaseRow.revision == revision,
                                                                  ReleaseRow.state == "proposed")).first()
            if pending is not None and not direct:
                raise _error("release_unchanged", f"revision {revision} is proposed already (release {pending[0]})",
                             "revision", hint=f"approve or reject release {pending[0]}")
            row = ReleaseRow(revision=revision, state="proposed", rule_files=dict(rule_files),
                             base_revision=base_revision, check_summary=check_summary, diff_summary=diff_summary,
                             proposed_by=by, proposed_at=now, note=_note(note))
            session.add(row)
            session.flush()
            self._event(session, row, "proposed", by, now, serving, note)
            if direct:
                self._activate(session, row, "direct", by, now, serving, note)
                row.decided_by, row.decided_at, row.decision_note = by, now, _note(note)
            session.flush()
            return self._release(session, row)

    def approve(self, release_id: int, by: str, note: str | None = None) -> Release:
        """Activate a proposed release; the active one is superseded. ``release_self_approval``
        when ``by`` proposed it, ``release_state`` when it is not proposed."""
        return self._decide(release_id, by, note, "approved")

    def reject(self, release_id: int, by: str, note: str | None = None) -> Release:
        """Reject a proposed release (by a user other than its proposer)."""
        return self._decide(release_id, by, note, "rejected")

    def rollback(self, revision: str, by: str, note: str | None = None) -> Release:
        """Make the newest release of ``revision`` that served before active again, in one step;
        the active one is rolled back. ``release_not_found`` when no release of that revision
        served, ``release_state`` when it serves now."""
        now = dt.datetime.now(dt.UTC)
        with self.db.transaction() as session:
            rows = list(session.execute(select(ReleaseRow).where(ReleaseRow.revision == revision)
                                        .order_by(ReleaseRow.id.desc())).scalars())
            if any(r.state == "active" for r in rows):
                raise _error("release_state", f"revision {revision} is serving now", "revision")
            target = next((r for r in rows if r.state in _SERVED_BEFORE), None)
            if target is None:
                raise _error("release_not_found", f"no release of revision {revision} served before", "revision",
                             hint="`rm-advisor release list` shows the releases and their revisions")
            self._activate(session, target, "reactivated", by, now, self._active(session), note,
                           previous_becomes="rolled_back")
            session.flush()
            return self._release(session, target)

    def get(self, release_id: int) -> Release:
        """The release with its events; ``release_not_found`` otherwise."""
        with self.db.transaction() as session:
            return self._release(session, self._row(session, release_id))

    def list(self, limit: int = 50, state: State | None = None) -> list[Release]:
        """The newest releases first (without their rule files' texts in the events)."""
        with self.db.transaction() as session:
            query = select(ReleaseRow).order_by(ReleaseRow.id.desc()).limit(limit)
            if state is not None:
                query = query.where(ReleaseRow.state == state)
            return [self._release(session, r) for r in session.execute(query).scalars()]

    def by_revision(self, revision: str) -> Release | None:
        """The newest release of ``revision``, if any."""
        with self.db.transaction() as session:
            row = session.execute(select(ReleaseRow).where(ReleaseRow.revision == revision)
                                  .order_by(ReleaseRow.id.desc()).limit(1)).scalar_one_or_none()
            return self._release(session, row) if row is not None else None

    def active(self) -> Release | None:
        """The release serving now, if any was ever activated."""
        with self.db.transaction() as session:
            row = self._active(session)
            return self._release(session, row) if row is not None else None

    # ----------------------------------------------------------------------------------------

    def _decide(self, release_id: int, by: str, note: str | None, event: Literal["approved", "rejected"]) -> Release:
        now = dt.datetime.now(dt.UTC)
        with self.db.transaction() as session:
            row = self._row(session, release_id)
            if row.state != "proposed":
                raise _error("release_state", f"release {release_id} is {row.state}, not proposed", "release_id")
            if row.proposed_by == by:
                raise _error("release_self_approval", f"`{by}` proposed release {release_id} and cannot "
                             f"{'approve' if event == 'approved' else 'reject'} it", "by",
                             hint="another user with an approver role decides on it (four eyes)")
            row.decided_by, row.decided_at, row.decision_note = by, now, _note(note)
            serving = self._active(session)
            if event == "approved":
                self._activate(session, row, "approved", by, now, serving, note)
            else:
                row.state = "rejected"
                self._event(session, row, "rejected", by, now, serving, note)
            session.flush()
            return self._release(session, row)

    def _activate(self, session: Session, row: ReleaseRow, event: Event, by: str, now: dt.datetime,
                  serving: ReleaseRow | None, note: str | None,
                  previous_becomes: Literal["superseded", "rolled_back"] = "superseded") -> None:
        if serving is not None and serving.id != row.id:
            serving.state = previous_becomes
            self._event(session, serving, previous_becomes, by, now, serving.revision, note)
        row.state = "active"
        self._event(session, row, event, by, now, serving, note)

    @staticmethod
    def _event(session: Session, row: ReleaseRow, event: Event, by: str, now: dt.datetime,
               serving: ReleaseRow | str | None, note: str | None) -> None:
        before = serving if isinstance(serving, str) or serving is None else serving.revision
        if before is None and event in ("proposed", "approved", "direct", "rejected"):
            before = row.base_revision
        session.add(ReleaseEventRow(release_id=row.id, event=event, state=row.state, by=by, at=now,
                                    serving_before=before, note=_note(note)))

    @staticmethod
    def _active(session: Session) -> ReleaseRow | None:
        return session.execute(select(ReleaseRow).where(ReleaseRow.state == "active")
                               .order_by(ReleaseRow.id.desc()).limit(1)).scalar_one_or_none()

    @staticmethod
    def _row(session: Session, release_id: int) -> ReleaseRow:
        row = session.get(ReleaseRow, release_id)
        if row is None:
            raise _error("release_not_found", f"no release {release_id}", "release_id",
                         hint="`rm-advisor release list` shows the releases")
        return row

    @staticmethod
    def _release(session: Session, row: ReleaseRow) -> Release:
        events = session.execute(select(ReleaseEventRow).where(ReleaseEventRow.release_id == row.id)
                                 .order_by(ReleaseEventRow.id)).scalars()
        return Release(
            id=row.id, revision=row.revision, state=row.state,  # type: ignore[arg-type]  # only States are written
            base_revision=row.base_revision, rule_files=dict(row.rule_files), check_summary=dict(row.check_summary),
            diff_summary=dict(row.diff_summary), proposed_by=row.proposed_by, proposed_at=_utc(row.proposed_at),
            decided_by=row.decided_by, decided_at=_utc(row.decided_at) if row.decided_at else None, note=row.note,
            decision_note=row.decision_note,
            events=tuple(ReleaseEvent(event=e.event, state=e.state, by=e.by,  # type: ignore[arg-type]
                                      at=_utc(e.at), serving_before=e.serving_before, note=e.note) for e in events))
