"""Retention and erasure in the decision log: purge old decisions, forget one client.

* :func:`purge` removes the decisions logged before a cut-off, with their items and feedback.
  What the effectiveness report counts of them (the shown recommendations, settled by their
  feedback, and how many decisions there were per as-of date) is first added to the rollup
  tables, so a report over a purged period gives the same counts and rates. A decision with a
  snooze that still runs is kept until the snooze ends: the contact policies still need it.
* :func:`forget` removes the personal data of one client from every logged decision that holds
  any (the right to deletion of the Personal Information Protection Law): in the input the
  client's fact keeps only what reports group on (domain, manager, segment) and its
  interactions go; the client's id becomes a pseudonym (``erased-…``, the same in every record of
  one erasure and derivable from nothing) in the input, the output, the feedback history, the
  items and the feedback; the client's own reason texts, matched values and derived values
  become :data:`~store.masking.MASK` (an item's details — channel, effort, kind — are the
  catalogue's, not the client's, and stay); other subjects' texts (a manager's coaching that
  names the clients waiting) have the id replaced where it stands as a word. Items and feedback
  stay (with the pseudonym), so every count stays. Each decision changed is marked with the
  erasure, and its replay is refused (``decision_erased``): its input is no longer what it was
  decided on.

Both record themselves in ``erasures`` (kind, when, by whom, counts), with no personal data: a
forget does not name the client.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Text, cast, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from rm_advisor.engine.language import FeedbackEvent, KnowledgeBase
from rm_advisor.engine.policies import ItemRecord, SettledCount, settle
from rm_advisor.store.database import Database
from rm_advisor.store.masking import MASK
from rm_advisor.store.schema import (
    DecisionItemRow,
    DecisionRow,
    ErasureRow,
    FeedbackRow,
    RollupDecisionsRow,
    RollupRow,
)

#: What a forgotten client's fact keeps in a logged input: what reports group on.
KEPT_FIELDS = ("id", "manager_id", "domain", "segment", "client_class", "tier")
PSEUDONYM_PREFIX = "erased-"
#: The input hash of a decision a forget changed (the hash was taken over the client's facts).
ERASED_HASH = "erased"
_MASKED_TEXT = {"zh": MASK, "en": MASK}
_CHUNK = 500  # decisions per IN (...) query


class Erasure(BaseModel):
    """One purge or forget as recorded: what it removed or changed (no personal data)."""

    id: int
    kind: str
    at: dt.datetime
    by: str
    before: dt.datetime | None = None
    decisions: int
    items: int
    feedback: int
    kept_snoozed: int = 0


def purge(db: Database, older_than_days: int, by: str, now: dt.datetime | None = None) -> Erasure:
    """Remove the decisions logged more than ``older_than_days`` days before ``now`` (with their items
    and feedback), keeping what the effectiveness report counts of them in the rollup; one
    transaction. Decisions with a snooze still running on ``now``'s date are kept."""
    if older_than_days < 1:
        raise ValueError("older_than_days must be at least 1")
    now = now or dt.datetime.now(dt.UTC)
    before = now - dt.timedelta(days=older_than_days)
    with db.transaction() as session:
        old = set(session.execute(select(DecisionRow.id).where(DecisionRow.logged_at < before)).scalars())
        running = set(session.execute(select(FeedbackRow.decision_id).where(
            FeedbackRow.status == "snoozed", FeedbackRow.until > now.date())).scalars()) & old
        ids = sorted(old - running)
        items = feedback = 0
        for i in range(0, len(ids), _CHUNK):
            chunk = ids[i:i + _CHUNK]
            records = _shown_items(session, chunk)
            events = [_event(r) for r in session.execute(select(FeedbackRow).where(
                FeedbackRow.decision_id.in_(chunk))).scalars()]
            _roll_up(session, settle(records, events), records)
            items += session.execute(select(func.count()).select_from(DecisionItemRow).where(
                DecisionItemRow.decision_id.in_(chunk))).scalar_one()
            feedback += len(events)
            # feedback and items by hand: SQLite's cascade needs foreign keys on in every connection
            session.execute(delete(FeedbackRow).where(FeedbackRow.decision_id.in_(chunk)))
            session.execute(delete(DecisionItemRow).where(DecisionItemRow.decision_id.in_(chunk)))
            session.execute(delete(DecisionRow).where(DecisionRow.id.in_(chunk)))
        row = ErasureRow(kind="purge", at=now, by=by, before=before, decisions=len(ids), items=items,
                         feedback=feedback)
        session.add(row)
        session.flush()
        return _erasure(row, kept_snoozed=len(running))


def _shown_items(session: Session, ids: list[str]) -> list[ItemRecord]:
    query = (select(DecisionItemRow, DecisionRow.as_of).join(DecisionRow, DecisionRow.id == DecisionItemRow.decision_id)
             .where(DecisionItemRow.decision_id.in_(ids), DecisionItemRow.outcome == "recommended"))
    return [ItemRecord(decision_id=i.decision_id, as_of=as_of, subject_type=i.subject_type, subject_id=i.subject_id,
                       item_id=i.item_id, manager_id=i.manager_id, segment=i.segment, rules=tuple(i.rules),
                       shown=i.shown)
            for i, as_of in session.execute(query).all()]


def _event(row: FeedbackRow) -> FeedbackEvent:
    return FeedbackEvent(decision_id=row.decision_id, subject_type=row.subject_type, subject_id=row.subject_id,
                         item_id=row.item_id, status=row.status, reason_code=row.reason_code, date=row.date,
                         until=row.until)


def _roll_up(session: Session, counts: list[SettledCount], records: list[ItemRecord]) -> None:
    if counts:
        session.execute(insert(RollupRow), [c.model_dump(mode="python") | {"rules": list(c.rules)} for c in counts])
    per_day: dict[dt.date, set[str]] = {}
    for r in records:
        if r.shown:
            per_day.setdefault(r.as_of, set()).add(r.decision_id)
    for day, decisions in sorted(per_day.items()):
        row = session.get(RollupDecisionsRow, day)
        if row is None:
            session.add(RollupDecisionsRow(as_of=day, decisions=len(decisions)))
        else:
            row.decisions += len(decisions)
    session.flush()


def rollup(db: Database, since: dt.date | None = None,
           until: dt.date | None = None) -> tuple[list[SettledCount], dict[dt.date, int]]:
    """What purged decisions as of ``since`` .. ``until`` left for the effectiveness report: settled
    counts, and decisions per as-of date."""
    counts_q, days_q = select(RollupRow).order_by(RollupRow.id), select(RollupDecisionsRow)
    if since is not None:
        counts_q, days_q = counts_q.where(RollupRow.as_of >= since), days_q.where(RollupDecisionsRow.as_of >= since)
    if until is not None:
        counts_q, days_q = counts_q.where(RollupRow.as_of <= until), days_q.where(RollupDecisionsRow.as_of <= until)
    with db.transaction() as session:
        counts = [SettledCount.model_validate({"as_of": r.as_of, "item_id": r.item_id, "manager_id": r.manager_id,
                                               "segment": r.segment, "rules": tuple(r.rules), "state": r.state,
                                               "reason_code": r.reason_code, "count": r.count})
                  for r in session.execute(counts_q).scalars()]
        days = {r.as_of: r.decisions for r in session.execute(days_q).scalars()}
    return counts, days


def forget(db: Database, kb: KnowledgeBase, client_id: str, by: str, now: dt.datetime | None = None) -> Erasure:
    """Remove client ``client_id``'s personal data from every logged decision, item and feedback
    event that holds any, in one transaction, and record the erasure (without the client's id)."""
    if not client_id:
        raise ValueError("the client id is empty")
    now = now or dt.datetime.now(dt.UTC)
    eraser = _Eraser(client_id, PSEUDONYM_PREFIX + secrets.token_hex(8), kb)
    with db.transaction() as session:
        erasure = ErasureRow(kind="forget", at=now, by=by, decisions=0, items=0, feedback=0)
        session.add(erasure)
        session.flush()
        changed: list[str] = []
        for decision_id in _candidates(session, client_id):
            row = session.get(DecisionRow, decision_id)
            assert row is not None
            eraser.learn(row.input)
            new = eraser.input(row.input), eraser.output(row.output), eraser.history(row.history)
            if new != (row.input, row.output, row.history):
                row.input, row.output, row.history = new
                row.output["input_hash"] = row.input_hash = ERASED_HASH  # a hash of the client's facts
                row.erasure_id = erasure.id
                changed.append(decision_id)
            if row.subject_type == "client" and row.subject_id == client_id:
                row.subject_id = eraser.pseudonym
        session.flush()
        erasure.feedback, erasure.items = _rename_subject(session, client_id, eraser.pseudonym)
        erasure.decisions = len(changed)
        session.flush()
        return _erasure(erasure)


def _candidates(session: Session, client_id: str) -> list[str]:
    """Decisions whose stored JSON may hold ``client_id`` (a superset: each is checked in full).

    The id is looked for as the JSON texts may spell it: as is (PostgreSQL's JSONB), and escaped
    as JSON with and without non-ASCII escapes (SQLite's JSON text)."""
    spellings = sorted({client_id, json.dumps(client_id)[1:-1], json.dumps(client_id, ensure_ascii=False)[1:-1]})
    columns = (DecisionRow.input, DecisionRow.output, DecisionRow.history)
    found = or_(*(cast(c, Text).contains(s, autoescape=True) for c in columns for s in spellings))
    by_item = select(DecisionItemRow.decision_id).where(DecisionItemRow.subject_type == "client",
                                                        DecisionItemRow.subject_id == client_id)
    query = select(DecisionRow.id).where(or_(found, DecisionRow.id.in_(by_item))).order_by(DecisionRow.id)
    return list(session.execute(query).scalars())


def _rename_subject(session: Session, client_id: str, pseudonym: str) -> tuple[int, int]:
    """Items and feedback of the client under the pseudonym; (feedback, items) changed.

    The feedback refers to its item by (decision, subject, item) with no ON UPDATE CASCADE, so it is
    taken out, the items renamed, and put back under the same ids."""
    mine = (FeedbackRow.subject_type == "client", FeedbackRow.subject_id == client_id)
    rows = list(session.execute(select(FeedbackRow).where(*mine).order_by(FeedbackRow.id)).scalars())
    kept = [{c.key: getattr(r, c.key) for c in FeedbackRow.__table__.columns} | {"subject_id": pseudonym}
            for r in rows]
    session.execute(delete(FeedbackRow).where(*mine))
    renamed = session.execute(update(DecisionItemRow).where(
        DecisionItemRow.subject_type == "client", DecisionItemRow.subject_id == client_id).values(
        subject_id=pseudonym))
    items = getattr(renamed, "rowcount", 0)
    if kept:
        session.execute(insert(FeedbackRow), kept)
    session.expire_all()
    return len(kept), int(items or 0)


class _Eraser:
    """Rewrites one decision's stored JSON without one client's personal data."""

    def __init__(self, client_id: str, pseudonym: str, kb: KnowledgeBase):
        self.id, self.pseudonym = client_id, pseudonym
        self.kb = kb
        self.key, self.new_key = f"client:{client_id}", f"client:{pseudonym}"
        self.word = re.compile(r"(?<![\w-])" + re.escape(client_id) + r"(?![\w-])")
        plural = kb.plural_to_type()
        self.clients = next((k for k, t in plural.items() if t == "client"), "clients")
        self.interactions = next((k for k, t in plural.items() if t == "interaction"), "interactions")
        #: the ids of the client's interactions (events), masked wherever they are named
        self.events: set[str] = set()

    def learn(self, doc: Mapping[str, Any]) -> None:
        """Note the ids of the client's interactions in a logged input, before it is rewritten."""
        for i in doc.get(self.interactions) or []:
            if isinstance(i, Mapping) and i.get("client_id") == self.id and isinstance(i.get("id"), str):
                self.events.add(i["id"])

    def rename(self, value: Any, text: bool = False) -> Any:
        """``value`` with the client's id (as a whole value, or ``client:ID``) replaced, and the ids
        of its interactions masked; in texts (``zh``/``en`` members) the id where it stands as a word."""
        if isinstance(value, str):
            if value == self.id:
                return self.pseudonym
            if value == self.key:
                return self.new_key
            if value in self.events or (value.partition(":")[2] in self.events and \
                    value.partition(":")[0] == "interaction"):
                return MASK
            return self.word.sub(self.pseudonym, value) if text else value
        if isinstance(value, Mapping):
            return {self.rename(k): self.rename(v, text=k in ("zh", "en")) for k, v in value.items()}
        if isinstance(value, list):
            return [self.rename(v, text) for v in value]
        return value

    def input(self, doc: dict[str, Any]) -> dict[str, Any]:
        out = dict(doc)
        clients = out.get(self.clients)
        if isinstance(clients, list):
            out[self.clients] = [{k: v for k, v in c.items() if k in KEPT_FIELDS}
                                 if isinstance(c, Mapping) and c.get("id") == self.id else c for c in clients]
        interactions = out.get(self.interactions)
        if isinstance(interactions, list):
            out[self.interactions] = [i for i in interactions
                                      if not (isinstance(i, Mapping) and i.get("client_id") == self.id)]
        renamed: dict[str, Any] = self.rename(out)
        return renamed

    def output(self, doc: dict[str, Any]) -> dict[str, Any]:
        out = dict(doc)
        clients = out.get("clients")
        if isinstance(clients, list):
            out["clients"] = [_blank_subject(c) if isinstance(c, Mapping) and c.get("id") == self.id else c
                              for c in clients]
        renamed: dict[str, Any] = self.rename(out)
        return renamed

    def history(self, events: list[Any] | None) -> list[Any] | None:
        return None if events is None else list(self.rename(events))


def _blank_subject(subject: Mapping[str, Any]) -> dict[str, Any]:
    """The erased client's own decision without what its facts put in: reason texts, matched
    values and derived values become the mask; ids, items, scores, ranks, rules and the catalogue's
    details of each item stay."""
    def item(rec: Mapping[str, Any]) -> dict[str, Any]:
        return {**rec, "reasons": [_masked_reason(r) for r in rec.get("reasons", [])],
                "vetoed_by": [_masked_reason(r) for r in rec.get("vetoed_by", [])],
                "because": [_trace(t) for t in rec.get("because", [])]}

    return {**subject, **{part: [item(r) for r in subject.get(part, [])]
                          for part in ("recommendations", "vetoed", "suppressed")},
            "signals": [_signal(s) for s in subject.get("signals", [])],
            "derived": [{**d, "value": MASK, "text": _MASKED_TEXT} for d in subject.get("derived", [])]}


def _masked_reason(reason: Mapping[str, Any]) -> dict[str, Any]:
    return {**reason, "text": _MASKED_TEXT}


def _trace(trace: Mapping[str, Any]) -> dict[str, Any]:
    return {**trace, "matched": dict.fromkeys(trace.get("matched", {}), MASK),
            "signals": [_signal(s) for s in trace.get("signals", [])]}


def _signal(signal: Mapping[str, Any]) -> dict[str, Any]:
    return {**signal, "asserted_by": [_trace(t) for t in signal.get("asserted_by", [])]}


def erasures(db: Database, limit: int = 50) -> list[Erasure]:
    """The latest purges and forgets, newest first."""
    with db.transaction() as session:
        rows = session.execute(select(ErasureRow).order_by(ErasureRow.id.desc()).limit(limit)).scalars()
        return [_erasure(r) for r in rows]


def erasure_of(db: Database, erasure_id: int) -> Erasure | None:
    with db.transaction() as session:
        row = session.get(ErasureRow, erasure_id)
        return _erasure(row) if row is not None else None


def _erasure(row: ErasureRow, kept_snoozed: int = 0) -> Erasure:
    return Erasure(id=row.id, kind=row.kind, at=_utc(row.at), by=row.by,
                   before=_utc(row.before) if row.before else None, decisions=row.decisions, items=row.items,
                   feedback=row.feedback, kept_snoozed=kept_snoozed)


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)

