"""Feedback: a manager marks a recommended item accepted, rejected (with a reason code), done or
snoozed. Each piece is checked, then committed in its own transaction before it is acknowledged.

Checks, each with a stable code: the decision exists (``decision_not_found``); it recommended the
item to the subject (``feedback_unknown_item``); the status was not already recorded for the item
(``feedback_duplicate``) and may follow its earlier feedback (``feedback_conflict``: rejected and done
are final); a rejection names a reason from the catalogue that fits the status
(``unknown_reason_code``, ``feedback_bad_value``) and the kind and channel of the action
(``feedback_reason_kind``: a client's lack of interest is no reason on a risk action or an internal
desk task); a risk or obligation action is snoozed only to a date (``until``); dates are not before
the decision.

Two servers giving feedback on one item at once are serialised on the item's row (``BEGIN
IMMEDIATE`` on SQLite, ``SELECT ... FOR UPDATE`` on PostgreSQL), and the unique constraint on
(decision, subject, item, status) is the last guard against a duplicate.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import and_, or_, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rm_advisor.engine.errors import Code, Diagnostic, Location, suggest
from rm_advisor.engine.language import (
    NEXT_STATUSES,
    ActionSpec,
    FeedbackEvent,
    FeedbackReasonSpec,
    FeedbackStatus,
    SubjectKey,
    shift,
)
from rm_advisor.engine.loading import load_knowledge_base, read_kb_files
from rm_advisor.engine.policies import PolicySet
from rm_advisor.store.database import Database
from rm_advisor.store.decision_log import not_found
from rm_advisor.store.errors import StoreError
from rm_advisor.store.schema import DecisionItemRow, DecisionRow, FeedbackRow

FEEDBACK_SOURCES = ("api", "cli", "csv")
#: what decisions are about, and feedback names: ``client:ID``, ``manager:ID``, or a bare id
SUBJECT_TYPES = ("client", "manager")
_CHUNK = 500  # subjects per IN (...) query


class FeedbackInput(BaseModel):
    """Feedback as a route, the CLI or a CSV row gives it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    decision_id: str = Field(min_length=1)
    subject: str = Field(min_length=1, description="client id, or `client:ID` / `manager:ID`")
    item: str = Field(min_length=1, description="the recommended action or coaching topic")
    status: FeedbackStatus
    reason_code: str | None = None
    date: dt.date | None = Field(default=None, description="default: the decision's as-of date")
    until: dt.date | None = Field(default=None, description="snoozed: the day the item may come back")
    manager_id: str | None = Field(default=None, description="who reports the feedback")


class FeedbackRecord(BaseModel):
    """Stored feedback, as acknowledged."""

    id: int
    decision_id: str
    subject_type: str
    subject_id: str
    item_id: str
    status: FeedbackStatus
    reason_code: str | None
    date: dt.date
    until: dt.date | None
    manager_id: str | None
    source: str
    recorded_at: dt.datetime

    def event(self) -> FeedbackEvent:
        return FeedbackEvent(decision_id=self.decision_id, subject_type=self.subject_type,
                             subject_id=self.subject_id, item_id=self.item_id, status=self.status,
                             reason_code=self.reason_code, date=self.date, until=self.until)


def typed_subject(subject: str) -> SubjectKey | None:
    """The key a feedback's ``subject`` names as ``client:ID`` or ``manager:ID``; None for a bare id,
    which is looked up among the decision's subjects (so is any other text, e.g. ``client:`` or an
    id holding a colon such as ``T:1``)."""
    try:
        key = SubjectKey.parse(subject)
    except ValueError:  # no type or no id before or after the colon
        return None
    return key if key.type in SUBJECT_TYPES else None


def _error(code: Code, message: str, field: str, hint: str = "") -> StoreError:
    return StoreError([Diagnostic(code, message, Location(path=field), hint=hint)])


class FeedbackStore:
    """Record feedback and read the history contact policies need."""

    def __init__(self, db: Database, reasons: Mapping[str, FeedbackReasonSpec] | None = None,
                 actions: Mapping[str, ActionSpec] | None = None):
        """``reasons``: the reason-code catalogue, ``actions`` the action catalogue (a reason must fit
        the action's kind); default: the shipped knowledge base's, read when first needed (reading
        and listing feedback does not need them)."""
        self.db = db
        self._reasons = dict(reasons) if reasons is not None else None
        self._actions = dict(actions) if actions is not None else None

    @property
    def reasons(self) -> dict[str, FeedbackReasonSpec]:
        if self._reasons is None:
            self._reasons = dict(load_knowledge_base(read_kb_files()).feedback_reasons)
        return self._reasons

    @property
    def actions(self) -> dict[str, ActionSpec]:
        if self._actions is None:
            self._actions = dict(load_knowledge_base(read_kb_files()).actions)
        return self._actions

    def add(self, fb: FeedbackInput, source: str = "api", reasons: Mapping[str, FeedbackReasonSpec] | None = None,
            actions: Mapping[str, ActionSpec] | None = None) -> FeedbackRecord:
        """Check and record one piece of feedback; committed when this returns.

        ``reasons`` and ``actions``: the catalogues to check the reason code against, when they are
        not the store's (a server checks against the knowledge base of the rule set serving now,
        which a reload changes).
        """
        if source not in FEEDBACK_SOURCES:
            raise ValueError(f"source must be one of {FEEDBACK_SOURCES}, got {source!r}")
        reasons = self.reasons if reasons is None else reasons
        _check_reason(fb, reasons)
        catalogue = _Catalogue(reasons, self.actions if actions is None else actions)
        try:
            with self.db.transaction() as session:
                return self._add(session, fb, source, catalogue)
        except IntegrityError as exc:
            # another writer recorded the same status between our check and our insert
            raise _error("feedback_duplicate", f"`{fb.status}` is already recorded for {fb.subject} "
                         f"{fb.item} in decision {fb.decision_id}", "status") from exc

    def _add(self, session: Session, fb: FeedbackInput, source: str, catalogue: _Catalogue) -> FeedbackRecord:
        decision = session.get(DecisionRow, fb.decision_id)
        if decision is None:
            raise not_found(fb.decision_id)
        subject_type, subject_id = _resolve_subject(session, fb)
        item = session.execute(
            select(DecisionItemRow).where(DecisionItemRow.decision_id == fb.decision_id,
                                          DecisionItemRow.subject_type == subject_type,
                                          DecisionItemRow.subject_id == subject_id,
                                          DecisionItemRow.item_id == fb.item).with_for_update()).scalar_one_or_none()
        if item is None or item.outcome != "recommended":
            raise _unknown_item(session, fb, subject_type, subject_id, item)
        date = fb.date or decision.as_of
        _check_dates(fb, date, decision.as_of)
        earlier = set(session.execute(select(FeedbackRow.status).where(
            FeedbackRow.decision_id == fb.decision_id, FeedbackRow.subject_type == subject_type,
            FeedbackRow.subject_id == subject_id, FeedbackRow.item_id == fb.item)).scalars())
        if fb.status in earlier:
            raise _error("feedback_duplicate", f"`{fb.status}` is already recorded for {subject_type} {subject_id} "
                         f"{fb.item} in decision {fb.decision_id}", "status")
        if fb.status not in NEXT_STATUSES[item.status]:
            raise _error("feedback_conflict", f"{subject_type} {subject_id} {fb.item} is already `{item.status}`; "
                         f"`{fb.status}` cannot follow", "status",
                         hint="rejected and done are final" if item.status in ("rejected", "done")
                         else f"after `{item.status}`: {', '.join(sorted(NEXT_STATUSES[item.status]))}")
        if item.kind == "action":
            catalogue.check_fit(fb)
        row = FeedbackRow(decision_id=fb.decision_id, subject_type=subject_type, subject_id=subject_id,
                          item_id=fb.item, status=fb.status, reason_code=fb.reason_code, date=date,
                          until=fb.until, manager_id=fb.manager_id, source=source,
                          recorded_at=dt.datetime.now(dt.UTC))
        session.add(row)
        item.status = fb.status
        session.flush()
        return _record(row)

    def find(self, decision_id: str, subject_type: str, subject_id: str, item: str,
             status: str) -> FeedbackRecord | None:
        """The recorded feedback with this status on this item, if any."""
        with self.db.transaction() as session:
            row = session.execute(select(FeedbackRow).where(
                FeedbackRow.decision_id == decision_id, FeedbackRow.subject_type == subject_type,
                FeedbackRow.subject_id == subject_id, FeedbackRow.item_id == item,
                FeedbackRow.status == status)).scalar_one_or_none()
            return _record(row) if row else None

    def for_decision(self, decision_id: str) -> list[FeedbackRecord]:
        """Every piece of feedback on one decision, in the order it was recorded."""
        with self.db.transaction() as session:
            rows = session.execute(select(FeedbackRow).where(FeedbackRow.decision_id == decision_id)
                                   .order_by(FeedbackRow.id)).scalars()
            return [_record(r) for r in rows]

    def events(self, decision_ids: Iterable[str] | None = None) -> list[FeedbackEvent]:
        """Feedback events (all of them, or those on the given decisions), for reports."""
        query = select(FeedbackRow).order_by(FeedbackRow.id)
        with self.db.transaction() as session:
            if decision_ids is None:
                return [_record(r).event() for r in session.execute(query).scalars()]
            ids = sorted(set(decision_ids))
            out: list[FeedbackEvent] = []
            for i in range(0, len(ids), _CHUNK):
                chunk = query.where(FeedbackRow.decision_id.in_(ids[i:i + _CHUNK]))
                out += [_record(r).event() for r in session.execute(chunk).scalars()]
            return out

    def history_for(self, subjects: Iterable[tuple[str, str]], as_of: dt.date,
                    policies: PolicySet) -> list[FeedbackEvent]:
        """The feedback contact policies need for a decision about ``subjects`` ((type, id) pairs) as
        of ``as_of``: the subjects' own feedback over the longest rest and their snoozes that still
        run (however long ago they were given), and this week's feedback on actions with a
        portfolio volume cap, from any client. Nothing dated after ``as_of``: a decision sees what
        was known on its day."""
        since = shift(as_of, -policies.lookback_days())
        week = shift(as_of, -as_of.weekday())
        keys = sorted(set(subjects))
        found: dict[int, FeedbackRow] = {}
        running = and_(FeedbackRow.status == "snoozed", FeedbackRow.until > as_of)
        in_window = (or_(FeedbackRow.date >= since, running), FeedbackRow.date <= as_of)
        with self.db.transaction() as session:
            for i in range(0, len(keys), _CHUNK):
                pairs = tuple_(FeedbackRow.subject_type, FeedbackRow.subject_id).in_(keys[i:i + _CHUNK])
                found.update({r.id: r for r in session.execute(select(FeedbackRow).where(pairs, *in_window)).scalars()})
            capped = policies.capped_actions()
            if capped:
                query = select(FeedbackRow).where(FeedbackRow.item_id.in_(capped), FeedbackRow.date >= week,
                                                  FeedbackRow.date <= as_of)
                found.update({r.id: r for r in session.execute(query).scalars()})
            return [_record(r).event() for _, r in sorted(found.items())]


def _check_reason(fb: FeedbackInput, reasons: Mapping[str, FeedbackReasonSpec]) -> None:
    if fb.reason_code is None:
        if fb.status == "rejected":
            raise _error("feedback_bad_value", "a rejection needs a reason code", "reason_code",
                         hint="one of " + ", ".join(_codes_for(reasons, "rejected")))
        return
    spec = reasons.get(fb.reason_code)
    if spec is None:
        raise _error("unknown_reason_code", f"unknown reason code `{fb.reason_code}`", "reason_code",
                     hint=suggest(fb.reason_code, reasons) or "one of " + ", ".join(sorted(reasons)))
    if fb.status not in spec.statuses:
        raise _error("feedback_bad_value", f"reason `{fb.reason_code}` does not go with status `{fb.status}`",
                     "reason_code", hint=f"it goes with: {', '.join(spec.statuses)}")


@dataclass(frozen=True)
class _Catalogue:
    """The reasons and actions one piece of feedback is checked against."""

    reasons: Mapping[str, FeedbackReasonSpec]
    actions: Mapping[str, ActionSpec]

    def check_fit(self, fb: FeedbackInput) -> None:
        """The reason fits the action's kind and channel; a duty is snoozed only to a date."""
        action = self.actions.get(fb.item)
        if action is None:  # an action the catalogue no longer has: nothing to check against
            return
        reason = self.reasons.get(fb.reason_code or "")
        if reason is not None and not reason.fits(action):
            raise _reason_misfit(fb, reason, action, self.reasons)
        if action.duty and fb.status == "snoozed" and fb.until is None:
            raise _error("feedback_bad_value", f"`{action.id}` is an action of kind `{action.kind}`: a snooze "
                         "needs `until`", "until",
                         hint="risk and obligation actions are never rested; they are only put off to a date")


def _reason_misfit(fb: FeedbackInput, reason: FeedbackReasonSpec, action: ActionSpec,
                   reasons: Mapping[str, FeedbackReasonSpec]) -> StoreError:
    where = f" on channel `{action.channel}`" if action.kind in reason.kinds else ""
    fitting = sorted(code for code, spec in reasons.items() if fb.status in spec.statuses and spec.fits(action))
    hint = (f"reasons for kind `{action.kind}` on channel `{action.channel}` with status `{fb.status}`: "
            + (", ".join(fitting) if fitting else "none in the catalogue"))
    return _error("feedback_reason_kind", f"reason `{reason.id}` does not fit `{action.id}`, an action of kind "
                  f"`{action.kind}`{where}", "reason_code", hint=hint)


def _codes_for(reasons: Mapping[str, FeedbackReasonSpec], status: str) -> list[str]:
    return sorted(code for code, spec in reasons.items() if status in spec.statuses)


def _resolve_subject(session: Session, fb: FeedbackInput) -> SubjectKey:
    """``client:ID`` / ``manager:ID`` as given, or a bare id looked up among the decision's subjects."""
    key = typed_subject(fb.subject)
    if key is not None:
        return key
    types = sorted(set(session.execute(select(DecisionItemRow.subject_type).where(
        DecisionItemRow.decision_id == fb.decision_id, DecisionItemRow.subject_id == fb.subject)).scalars()))
    if len(types) > 1:
        raise _error("feedback_bad_value", f"`{fb.subject}` is both a client and a manager in this decision",
                     "subject", hint=f"write client:{fb.subject} or manager:{fb.subject}")
    return SubjectKey(types[0] if types else "client", fb.subject)


def _unknown_item(session: Session, fb: FeedbackInput, subject_type: str, subject_id: str,
                  item: DecisionItemRow | None) -> StoreError:
    recommended = sorted(session.execute(select(DecisionItemRow.item_id).where(
        DecisionItemRow.decision_id == fb.decision_id, DecisionItemRow.subject_type == subject_type,
        DecisionItemRow.subject_id == subject_id, DecisionItemRow.outcome == "recommended")).scalars())
    if item is not None:
        message = f"{fb.item} was {item.outcome}, not recommended, for {subject_type} {subject_id}"
    elif not recommended and not _has_subject(session, fb.decision_id, subject_id):
        message = f"decision {fb.decision_id} has no recommendation for `{subject_id}`"
        return _error("feedback_unknown_item", message, "subject")
    else:
        message = f"decision {fb.decision_id} did not recommend `{fb.item}` to {subject_type} {subject_id}"
    hint = suggest(fb.item, recommended) or ("it recommended: " + ", ".join(recommended) if recommended else "")
    return _error("feedback_unknown_item", message, "item", hint=hint)


def _has_subject(session: Session, decision_id: str, subject_id: str) -> bool:
    found = session.execute(select(DecisionItemRow.id).where(
        DecisionItemRow.decision_id == decision_id, DecisionItemRow.subject_id == subject_id).limit(1)).first()
    return found is not None


def _check_dates(fb: FeedbackInput, date: dt.date, as_of: dt.date) -> None:
    if date < as_of:
        raise _error("feedback_bad_value", f"feedback date {date} is before the decision's as-of date {as_of}",
                     "date", hint="feedback answers a decision, so it cannot be older")
    if fb.until is not None and fb.status != "snoozed":
        raise _error("feedback_bad_value", "`until` goes only with status `snoozed`", "until")
    if fb.until is not None and fb.until <= date:
        raise _error("feedback_bad_value", f"snoozed until {fb.until}, which is not after {date}", "until")


def _record(row: FeedbackRow) -> FeedbackRecord:
    at = row.recorded_at if row.recorded_at.tzinfo else row.recorded_at.replace(tzinfo=dt.UTC)
    return FeedbackRecord(id=row.id, decision_id=row.decision_id, subject_type=row.subject_type,
                          subject_id=row.subject_id, item_id=row.item_id, status=row.status,
                          reason_code=row.reason_code, date=row.date, until=row.until,
                          manager_id=row.manager_id, source=row.source, recorded_at=at)

