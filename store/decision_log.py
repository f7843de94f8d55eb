"""The decision log: every decision with its id, time, rule-set revision, input hash, masked input,
output (with the trace) and the feedback history its contact policies saw.

What is logged is the decision about the subjects the request asked for: every subject posted, or
the one subject a one-subject request named (the input still holds every fact posted: they were
the input, and co-posted subjects share the contact caps). The output holds every recommended
item of those subjects; the answer showed the first ``max_per_subject`` of each (all without a
limit), and their item rows say so (``shown``): feedback is taken on any recommended item, the
effectiveness report counts the shown ones.

The rule, policy and knowledge-base texts of each revision are stored once, keyed by the revision,
so a logged decision can be replayed from the database alone (:mod:`store.replay`).
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import case, func, select, true
from sqlalchemy.dialects import postgresql, sqlite

from rm_advisor.engine.errors import Diagnostic, Location
from rm_advisor.engine.inference import Advisor, RuleBook, SourceTexts
from rm_advisor.engine.language import Decision, FeedbackEvent, KnowledgeBase, SubjectDecision, SubjectKey
from rm_advisor.engine.policies import ItemRecord
from rm_advisor.store.database import Database
from rm_advisor.store.errors import StoreError
from rm_advisor.store.masking import facts_index, mask_decision, mask_facts
from rm_advisor.store.schema import DecisionItemRow, DecisionRow, FeedbackRow, RuleSetRow

SOURCES = ("api", "cli", "batch")


class ExperimentArm(BaseModel):
    """The experiment and the arm a decision was made in (its arm's rule set decided it)."""

    model_config = ConfigDict(frozen=True)

    id: str
    arm: str


class LoggedDecision(BaseModel):
    """A decision as the log holds it: the masked input and the decision with its id.

    ``decision`` holds every recommended item of the subjects logged (``subject``: the one a
    one-subject request asked for, as ``client:ID``; None: every subject posted); :meth:`shown` is
    the decision as it was answered. Decisions logged before migration 0002
    (``all_recommended`` false) hold the shown items only."""

    model_config = ConfigDict(frozen=True)

    id: str
    logged_at: dt.datetime
    source: str
    revision: str
    as_of: dt.date
    input_hash: str
    max_per_subject: int | None
    input: dict[str, Any]
    decision: Decision
    history: list[FeedbackEvent] | None
    subject: str | None = None
    all_recommended: bool = True
    erasure_id: int | None = None
    experiment: ExperimentArm | None = None

    def shown(self) -> Decision:
        """The decision as answered: each subject's first ``max_per_subject`` recommendations."""
        return limited(self.decision, self.max_per_subject)


def limited(decision: Decision, limit: int | None) -> Decision:
    """``decision`` with at most ``limit`` recommendations per subject (vetoed and suppressed items stay):
    what an answer with ``top`` shows."""
    if not limit:
        return decision
    return decision.model_copy(update={"clients": [_cut(s, limit) for s in decision.clients],
                                       "managers": [_cut(s, limit) for s in decision.managers]})


def _cut(subject: SubjectDecision, limit: int) -> SubjectDecision:
    return subject.model_copy(update={"recommendations": subject.recommendations[:limit]})


def about(decision: Decision, subject: SubjectKey | None) -> Decision:
    """The decision about ``subject`` alone (None: ``decision`` as it is); ValueError if it has none."""
    if subject is None:
        return decision
    found = decision.subject(subject.type, subject.id)
    if found is None:
        raise ValueError(f"the decision has no {subject}")
    mine = [found]
    return decision.model_copy(update={"clients": mine if subject.type == "client" else [],
                                       "managers": mine if subject.type == "manager" else []})


class DecisionSummary(BaseModel):
    """One line of a listing of logged decisions."""

    id: str
    logged_at: dt.datetime
    source: str
    revision: str
    as_of: dt.date
    recommended: int
    shown: int
    suppressed: int


def managers_of(facts: Mapping[str, Any]) -> frozenset[str | None]:
    """The managers a logged input concerns: each posted manager's id and each other fact's
    ``manager_id`` (None: a client, or another fact, of no manager), for scoping who may see it."""
    found: set[str | None] = set()
    for key, facts_of_type in facts.items():
        if not isinstance(facts_of_type, list):
            continue
        for fact in facts_of_type:
            if not isinstance(fact, Mapping):
                continue
            if key == "managers":
                found.add(None if fact.get("id") is None else str(fact["id"]))
            elif "manager_id" in fact or key == "clients":
                found.add(None if fact.get("manager_id") is None else str(fact["manager_id"]))
    return frozenset(found)


def new_decision_id(now: dt.datetime) -> str:
    """``d-YYYYMMDD-`` and 64 random bits: sortable by day, unique across servers without a counter."""
    return f"d-{now:%Y%m%d}-{secrets.token_hex(8)}"


def not_found(decision_id: str, field: str = "decision_id") -> StoreError:
    return StoreError([Diagnostic("decision_not_found", f"no logged decision `{decision_id}`",
                                  Location(path=field), hint="`rm-advisor decisions list` shows recent ones")])


class DecisionLog:
    """Record and read decisions in a :class:`~store.database.Database`."""

    def __init__(self, db: Database):
        self.db = db
        self._advisors: dict[str, Advisor] = {}
        self._lock = threading.Lock()

    def record(self, decision: Decision, facts: Mapping[str, Any], book: RuleBook, source: str = "cli",
               history: Sequence[FeedbackEvent] | None = None, max_per_subject: int | None = None,
               subject: SubjectKey | None = None, decision_id: str | None = None,
               experiment: ExperimentArm | None = None, once: bool = False) -> Decision:
        """Log ``decision`` (made from ``facts`` by ``book``, with every recommended item: no limit);
        return what was logged, with its new id.

        The write is committed (durably) before this returns. ``history`` is the feedback the
        contact policies saw (``None``: no policies were applied); ``max_per_subject`` how many
        recommendations of each subject the answer showed (None: all); ``subject`` the one subject a
        request asked for, whose decision alone is logged (None: every subject of ``decision``);
        ``decision_id`` the id to log it under (None: a new one), when the decision was made knowing it.
        ``experiment`` the experiment arm whose rule set ``book`` is. With ``once``, a decision
        already logged under ``decision_id`` is left as it is and nothing is written (a batch task
        run again after its worker was lost logs each decision once); without it that is an error.
        """
        if source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
        now = dt.datetime.now(dt.UTC)
        logged = about(decision, subject).model_copy(update={"id": decision_id or new_decision_id(now)})
        masked, _ = mask_facts(facts, book.kb)
        row = DecisionRow(id=logged.id, logged_at=now, source=source, revision=decision.revision,
                          as_of=decision.as_of, input_hash=decision.input_hash, max_per_subject=max_per_subject,
                          input=masked, output=mask_decision(logged, book, facts).model_dump(mode="json"),
                          history=None if history is None else [e.model_dump(mode="json") for e in history],
                          subject_type=subject.type if subject else None, subject_id=subject.id if subject else None,
                          all_recommended=True, experiment_id=experiment.id if experiment else None,
                          arm=experiment.arm if experiment else None)
        index = facts_index(facts, book.kb)
        with self.db.transaction() as session:
            if once and decision_id is not None and session.get(DecisionRow, decision_id) is not None:
                return logged
            if book.sources is not None:
                self._store_rule_set(session, decision.revision, book.sources, now)
            session.add(row)
            session.flush()  # the decision row first: the items refer to it
            session.add_all(_item_rows(logged, index, book.kb, max_per_subject))
        return logged

    def _store_rule_set(self, session: Any, revision: str, sources: SourceTexts, now: dt.datetime) -> None:
        # Two servers may log the first decision of a revision at once: insert-or-ignore, not check-then-insert.
        values = {"revision": revision, "created_at": now,
                  "files": {"rules": dict(sources.rules), "knowledge_base": dict(sources.knowledge_base)}}
        dialect = postgresql if self.db.dialect == "postgresql" else sqlite
        session.execute(dialect.insert(RuleSetRow).values(**values).on_conflict_do_nothing())

    def get(self, decision_id: str) -> LoggedDecision:
        """The logged decision; raises :class:`StoreError` (``decision_not_found``) otherwise."""
        with self.db.transaction() as session:
            row = session.get(DecisionRow, decision_id)
            if row is None:
                raise not_found(decision_id)
            return LoggedDecision(
                id=row.id, logged_at=_utc(row.logged_at), source=row.source, revision=row.revision,
                as_of=row.as_of, input_hash=row.input_hash, max_per_subject=row.max_per_subject,
                input=row.input, decision=Decision.model_validate(row.output),
                history=None if row.history is None else [FeedbackEvent.model_validate(e) for e in row.history],
                subject=None if row.subject_type is None else f"{row.subject_type}:{row.subject_id}",
                all_recommended=row.all_recommended, erasure_id=row.erasure_id,
                experiment=None if row.experiment_id is None or row.arm is None
                else ExperimentArm(id=row.experiment_id, arm=row.arm))

    def recent(self, limit: int = 20, since: dt.date | None = None,
               managers: frozenset[str] | None = None) -> list[DecisionSummary]:
        """The latest decisions, newest first (optionally only those as of ``since`` or later;
        ``managers``: only those whose input concerns these managers alone, see :func:`managers_of`)."""
        columns = [DecisionRow.id, DecisionRow.logged_at, DecisionRow.source, DecisionRow.revision, DecisionRow.as_of]
        query = select(*columns, DecisionRow.input) if managers is not None else select(*columns).limit(limit)
        query = query.order_by(DecisionRow.logged_at.desc(), DecisionRow.id)
        if since is not None:
            query = query.where(DecisionRow.as_of >= since)
        item = DecisionItemRow
        with self.db.transaction() as session:
            if managers is None:
                rows = list(session.execute(query).all())
            else:  # newest first until ``limit`` of them concern only these managers
                rows = []
                for r in session.execute(query.execution_options(yield_per=200)):
                    concerned = managers_of(r.input)
                    if concerned and all(m is not None and m in managers for m in concerned):
                        rows.append(r)
                        if len(rows) >= limit:
                            break
            counts = dict.fromkeys([r.id for r in rows], (0, 0, 0))
            stats = (select(item.decision_id, func.sum(case((item.outcome == "recommended", 1), else_=0)),
                            func.sum(case((item.shown == true(), 1), else_=0)),
                            func.sum(case((item.outcome == "suppressed", 1), else_=0)))
                     .where(item.decision_id.in_(list(counts))).group_by(item.decision_id))
            counts.update({d: (int(r or 0), int(n or 0), int(s or 0)) for d, r, n, s in session.execute(stats).all()})
        return [DecisionSummary(id=r.id, logged_at=_utc(r.logged_at), source=r.source, revision=r.revision,
                                as_of=r.as_of, recommended=counts[r.id][0], shown=counts[r.id][1],
                                suppressed=counts[r.id][2])
                for r in rows]

    def latest_by_manager(self, source: str = "batch") -> dict[str, str]:
        """Manager id -> the id of the newest decision from ``source`` with items of that manager's
        book (a logged batch records one decision per manager): what the worklist pages read."""
        item = DecisionItemRow
        newest = (select(item.manager_id, func.max(DecisionRow.logged_at).label("at"))
                  .join(DecisionRow, DecisionRow.id == item.decision_id)
                  .where(DecisionRow.source == source, item.manager_id.is_not(None))
                  .group_by(item.manager_id).subquery())
        query = (select(item.manager_id, DecisionRow.id)
                 .join(DecisionRow, DecisionRow.id == item.decision_id)
                 .join(newest, (newest.c.manager_id == item.manager_id) & (newest.c.at == DecisionRow.logged_at))
                 .where(DecisionRow.source == source).distinct())
        with self.db.transaction() as session:
            return {str(m): str(d) for m, d in sorted(session.execute(query).all())}

    def manager_of(self, subject_type: str, subject_id: str, source: str = "batch") -> str | None:
        """The manager whose newest ``source`` decision has items of this subject (None: none has)."""
        item = DecisionItemRow
        query = (select(item.manager_id).join(DecisionRow, DecisionRow.id == item.decision_id)
                 .where(DecisionRow.source == source, item.subject_type == subject_type,
                        item.subject_id == subject_id, item.manager_id.is_not(None))
                 .order_by(DecisionRow.logged_at.desc()).limit(1))
        with self.db.transaction() as session:
            found = session.execute(query).scalar_one_or_none()
        return None if found is None else str(found)

    def rule_set(self, revision: str) -> SourceTexts | None:
        """The stored texts of a revision, if any decision of it was logged with them."""
        with self.db.transaction() as session:
            row = session.get(RuleSetRow, revision)
            if row is None:
                return None
            return SourceTexts(row.files["rules"], row.files["knowledge_base"])

    def advisor_for(self, revision: str) -> Advisor:
        """An advisor on the stored rule set of ``revision`` (compiled once per log)."""
        with self._lock:
            if revision in self._advisors:
                return self._advisors[revision]
        texts = self.rule_set(revision)
        if texts is None:
            raise StoreError([Diagnostic("revision_not_logged", f"the rule set of revision {revision} is not in "
                                         "the decision database", Location(path="revision"),
                                         hint="decisions logged without their rule texts cannot be replayed")])
        advisor = Advisor.from_files(dict(texts.rules), dict(texts.knowledge_base))
        with self._lock:
            return self._advisors.setdefault(revision, advisor)

    def watermark(self, since: dt.date, until: dt.date) -> tuple[int, int, int]:
        """What changes when the log changes for the decisions as of ``since`` .. ``until``: how many
        there are, and how many feedback events the log holds with the newest one's id (a write, a
        purge or a forget moves one of them)."""
        with self.db.transaction() as session:
            decisions = session.execute(select(func.count(DecisionRow.id)).where(
                DecisionRow.as_of >= since, DecisionRow.as_of <= until)).scalar_one()
            count, newest = session.execute(select(func.count(FeedbackRow.id), func.max(FeedbackRow.id))).one()
        return int(decisions), int(count or 0), int(newest or 0)

    def items(self, since: dt.date | None = None, until: dt.date | None = None) -> list[ItemRecord]:
        """Recommended items of the decisions as of ``since`` .. ``until`` (inclusive), shown or not,
        for reports."""
        query = (select(DecisionItemRow, DecisionRow.as_of)
                 .join(DecisionRow, DecisionRow.id == DecisionItemRow.decision_id)
                 .where(DecisionItemRow.outcome == "recommended"))
        if since is not None:
            query = query.where(DecisionRow.as_of >= since)
        if until is not None:
            query = query.where(DecisionRow.as_of <= until)
        with self.db.transaction() as session:
            return [ItemRecord(decision_id=i.decision_id, as_of=as_of, subject_type=i.subject_type,
                               subject_id=i.subject_id, item_id=i.item_id, manager_id=i.manager_id,
                               segment=i.segment, rules=tuple(i.rules), shown=i.shown)
                    for i, as_of in session.execute(query).all()]


    def experiment_items(self, experiment_id: str, since: dt.date | None = None,
                         until: dt.date | None = None) -> list[ArmItem]:
        """The recommended items (shown or not) of the decisions an experiment's arms made as of
        ``since`` .. ``until``, each with its arm; a decision that recommended nothing is there once,
        without an item, so it counts as a decision of its arm."""
        query = (select(DecisionRow.arm, DecisionRow.revision, DecisionRow.id, DecisionRow.as_of, DecisionItemRow)
                 .outerjoin(DecisionItemRow, (DecisionItemRow.decision_id == DecisionRow.id)
                            & (DecisionItemRow.outcome == "recommended"))
                 .where(DecisionRow.experiment_id == experiment_id))
        if since is not None:
            query = query.where(DecisionRow.as_of >= since)
        if until is not None:
            query = query.where(DecisionRow.as_of <= until)
        with self.db.transaction() as session:
            return [ArmItem(arm=str(arm), revision=revision, decision_id=decision_id, item=None if i is None else
                            ItemRecord(decision_id=decision_id, as_of=as_of, subject_type=i.subject_type,
                                       subject_id=i.subject_id, item_id=i.item_id, manager_id=i.manager_id,
                                       segment=i.segment, rules=tuple(i.rules), shown=i.shown))
                    for arm, revision, decision_id, as_of, i in session.execute(query).all()]


class ArmItem(BaseModel):
    """A recommended item of a decision an experiment arm made (None: the decision recommended nothing)."""

    model_config = ConfigDict(frozen=True)

    arm: str
    revision: str
    decision_id: str
    item: ItemRecord | None


def _utc(value: dt.datetime) -> dt.datetime:
    # SQLite gives naive datetimes back; every stored time is UTC.
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _item_rows(decision: Decision, index: Mapping[tuple[str, str], Mapping[str, Any]],
               kb: KnowledgeBase, limit: int | None) -> Iterable[DecisionItemRow]:
    for subject in [*decision.clients, *decision.managers]:
        fact = index.get((subject.subject_type, subject.id), {})
        manager = subject.id if subject.subject_type == "manager" else fact.get("manager_id")
        yield from _subject_rows(decision, subject, None if manager is None else str(manager),
                                 kb.segment_of(subject.subject_type, fact), limit)


def _subject_rows(decision: Decision, s: SubjectDecision, manager: str | None,
                  segment: str, limit: int | None) -> Iterable[DecisionItemRow]:
    for outcome, recs in (("recommended", s.recommendations), ("vetoed", s.vetoed), ("suppressed", s.suppressed)):
        for rank, rec in enumerate(recs, 1):
            shown = outcome == "recommended" and (not limit or rank <= limit)
            yield DecisionItemRow(decision_id=decision.id, subject_type=s.subject_type, subject_id=s.id,
                                  item_id=rec.id, kind=rec.kind, outcome=outcome, rank=rank, score=rec.score,
                                  rules=list(rec.rules), manager_id=manager, segment=segment, shown=shown)
