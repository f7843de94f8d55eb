"""A batch run from the tables to the decisions: what ``rm-advisor batch`` runs, in order, without
its files and its terminal.

:func:`run_batch` checks the three tables (read through the caller's reader, or the generated
sample portfolio) into a :class:`engine.portfolio.tables.Report`, derives history fields and
evaluates the gates in bulk (:func:`engine.portfolio.run.prepare`), decides every manager's book in
worker processes and, when the plan has a decision log, applies the contact policies with the
log's feedback and records every manager's decision in it, under an id derived from the run and
the manager (:func:`decision_id`). On a backend (a cluster) a logged run applies the policies and
records the decisions on the backend's workers, which open the same log (``BatchPlan.open_log``).
The caller keeps the I/O: it opens the files and the log (:class:`BatchPlan`), hears of the run as
it goes (:class:`BatchEvents`), writes the outputs through its :class:`BookWriter` (in the calling
process, or on a backend's workers, one numbered part per bucket) and formats what comes back
(:class:`BatchResult`); :mod:`cli.batch` is such a caller.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import operator
import os
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Protocol, TypeVar

from rm_advisor.engine.collector import paused
from rm_advisor.engine.derivation import Prefer
from rm_advisor.engine.derivation.history import Derived
from rm_advisor.engine.inference.advisor import Advisor
from rm_advisor.engine.language.decision import Decision
from rm_advisor.engine.language.feedback import FeedbackEvent
from rm_advisor.engine.language.knowledge import KnowledgeBase
from rm_advisor.engine.language.propensity import PropensityTable
from rm_advisor.engine.language.subjects import SubjectKey
from rm_advisor.engine.policies.arbitration import PropensitySettings
from rm_advisor.engine.policies.contact import PolicySet
from rm_advisor.engine.policies.effectiveness import EffectivenessReport
from rm_advisor.engine.portfolio import run as portfolio
from rm_advisor.engine.portfolio.run import (
    LINKS,
    TABLE_ORDER,
    ManagerResult,
    Partition,
    PortfolioRun,
    PortfolioTables,
    bulk_gates,
    link_hops,
    prepare,
    read_tables,
)
from rm_advisor.engine.portfolio.sample import generate
from rm_advisor.engine.portfolio.shards import (
    BUCKETS_PER_WORKER,
    Bucket,
    Sharded,
    Spill,
    derived_managers,
    export_context,
    prepare_bucket,
    wanted,
)
from rm_advisor.engine.portfolio.tables import Report, TableInput

#: hands over one table by name, as :func:`engine.portfolio.run.read_tables` asks for them
TableReader = Callable[[str], TableInput]
#: clients per manager of the generated sample portfolio (at least 3 managers)
SAMPLE_CLIENTS_PER_MANAGER = 50
#: the subjects of a manager's book that feedback is about and a decision is logged for
LOGGED_TYPES = ("manager", "client")


class BatchLog(Protocol):
    """The decision log of a logged batch (behind the CLI, :class:`store.Store`)."""

    def feedback(self, subjects: list[SubjectKey], as_of: dt.date, policies: PolicySet) -> list[FeedbackEvent]:
        """The feedback the contact policies need to decide about ``subjects`` as of ``as_of``."""
        ...

    def record(self, decision: Decision, facts: dict[str, Any], history: list[FeedbackEvent],
               decision_id: str | None = None) -> Decision:
        """Log ``decision``, made from the facts document ``facts`` with the feedback ``history``,
        under ``decision_id`` (None: a new id); return it with its id. A decision already logged
        under ``decision_id`` is not logged again (a retried task logs nothing twice)."""
        ...

    def effectiveness(self, since: dt.date, until: dt.date) -> EffectivenessReport:
        """Acceptance and completion of what was recommended from ``since`` to ``until``."""
        ...

    def propensities(self, as_of: dt.date, settings: PropensitySettings) -> PropensityTable | None:
        """The acceptance evidence the ranking learns from as of ``as_of`` (None: none)."""
        ...


class BookWriter(Protocol):
    """Writes the outputs of decided books (behind the CLI, its output tables and decisions file)
    and returns what the summary and the report need of them: a piece that adds up with ``+``,
    pieces added in manager order giving the piece of all the books together.

    ``part`` None: ``results`` are every book, written whole, in the calling process. A number:
    ``results`` are one bucket of a backend, written as that numbered part of every output, on the
    backend's worker (the writer must pickle); parts in number order follow the managers, and a
    bucket written again writes the same part again, never a second one."""

    def write(self, results: list[ManagerResult], parts: list[Partition], part: int | None) -> Any:
        """Write ``results`` (decided from the books ``parts``); their mergeable piece."""
        ...


@dataclass(frozen=True)
class Written:
    """What a backend returns of books its workers decided and wrote: their counts (bad rows aside:
    the calling process counts them), the writer's pieces added up in manager order, and how many
    numbered parts of each output were written."""

    counts: BatchCounts
    piece: Any
    parts: int


def write_bucket(writer: BookWriter, results: list[ManagerResult], parts: list[Partition],
                 index: int) -> tuple[BatchCounts, Any]:
    """Where a bucket of books was decided: ``results`` written by ``writer`` as part ``index`` of
    every output; their counts and the writer's piece (what comes back)."""
    return BatchCounts.of_results(results), writer.write(results, parts, index)


def gathered(done: list[tuple[BatchCounts, Any]]) -> Written:
    """What came back of every bucket (:func:`write_bucket`, in bucket order), added up."""
    return Written(functools.reduce(operator.add, [c for c, _ in done]),
                   functools.reduce(operator.add, [p for _, p in done]), len(done))


class Backend(Protocol):
    """Where the books are decided when not in the batch's own worker processes (a cluster:
    :class:`engine.portfolio.distributed.DaskBackend`)."""

    @property
    def workers(self) -> int:
        """The workers that decide."""
        ...

    def decide(self, advisor: Advisor, parts: list[Partition] | Sharded, as_of: dt.date,
               progress: Callable[[int], None] | None = None, logging: Logging | None = None,
               log: BatchLog | None = None) -> list[ManagerResult]:
        """Every book (of ``parts``, or of the portfolio ``parts`` spilled in shards) decided with
        :func:`engine.portfolio.run.decide_partition`, ordered by manager.
        With ``logging`` (a logged run), the workers also rank with its propensities, apply the
        contact policies (the portfolio volume caps ranked across every book, with the feedback
        ``log``, the caller's open log, gives) and log each book's decision once, from the workers."""
        ...

    def write(self, advisor: Advisor, parts: list[Partition] | Sharded, as_of: dt.date, writer: BookWriter,
              progress: Callable[[int], None] | None = None, logging: Logging | None = None,
              log: BatchLog | None = None) -> Written:
        """As :meth:`decide`, but each bucket of books is written where it was decided, with ``writer``
        (as part number ``i`` of every output for the ``i``-th bucket, buckets in manager order), and
        only its counts and the writer's piece come back."""
        ...


@dataclass(frozen=True)
class Logging:
    """What the books of a logged run need where a backend decides them: the log opened there
    (``open_log``, given the worker's compiled advisor; it must pickle), the run's key, which each
    book's decision id derives from (:func:`decision_id`: the same id when a task runs again), and
    the acceptance evidence the ranking learns from (``table``; None: none)."""

    open_log: Callable[[Advisor], AbstractContextManager[BatchLog]]
    run: str
    table: PropensityTable | None = None


def run_key(now: dt.datetime | None = None) -> str:
    """A new run's key: its UTC day and 64 random bits."""
    now = now if now is not None else dt.datetime.now(dt.UTC)
    return f"{now:%Y%m%d}-{secrets.token_hex(8)}"


def decision_id(run: str, manager_id: str) -> str:
    """The decision id of ``manager_id``'s book in the run ``run`` (a key of :func:`run_key`):
    ``d-YYYYMMDD-`` and 64 bits, as the log's own ids, but the same each time it is asked for."""
    digest = hashlib.blake2b(f"{run}/{manager_id}".encode(), digest_size=8).hexdigest()
    return f"d-{run[:8]}-{digest}"


class BatchEvents(Protocol):
    """What a batch tells its caller as it goes (the CLI prints the bad rows and shows a progress bar)."""

    def checked(self, tables: PortfolioTables) -> None:
        """The tables are checked and their bad rows dropped; nothing is decided yet."""
        ...

    def deciding(self, total: int) -> AbstractContextManager[Callable[[int], None]]:
        """Deciding begins with ``total`` subjects (every client and manager); the context's value is
        told how many more are decided as they are, and the context ends when all are."""
        ...


class Silent:
    """:class:`BatchEvents` that nobody hears."""

    def checked(self, tables: PortfolioTables) -> None:
        """Nothing to tell."""

    def deciding(self, total: int) -> AbstractContextManager[Callable[[int], None]]:
        """No progress to show."""
        return nullcontext(_ignore)


def _ignore(done: int) -> None:
    """Progress nobody shows."""


@dataclass(frozen=True)
class BatchPlan:
    """What a batch runs: which tables, as of when, on how many processes, logged or not.

    ``tables`` is entered once, to read the three tables (a file is open only while they are read),
    and the links table too when ``sources`` names one (``"links"``); ``sources`` names them in
    diagnostics; without ``tables`` the batch runs on the generated
    sample portfolio of ``sample_clients`` clients. ``jobs`` 0 is one worker process per core;
    ``texts`` (rule and knowledge-base file texts) let a worker that cannot fork compile the same
    book. ``log`` is entered once the decisions are made; without it the batch is a dry planning
    run (no contact policy, nothing logged). The effectiveness of a logged run covers the last
    ``effectiveness_days`` up to ``as_of``. With a ``backend`` (a cluster) the books are decided
    there instead of in ``jobs`` local processes; a logged run then applies the policies and logs on
    the backend's workers too, each opening the same log with ``open_log`` (which must pickle).
    With a ``writer`` the outputs are written during the run: once the books are decided (and
    logged) in the calling process, or on a backend's workers bucket by bucket, whose decisions then
    do not come back (:attr:`BatchResult.piece` holds what the writer returned of them).
    """

    as_of: dt.date
    tables: AbstractContextManager[TableReader] | None = None
    sources: dict[str, str] = field(default_factory=dict)
    sample_clients: int = 2000
    jobs: int = 0
    texts: tuple[dict[str, str], dict[str, str]] | None = None
    log: AbstractContextManager[BatchLog] | None = None
    effectiveness_days: int = 90
    prefer: Prefer = "given"  # "history": history replaces the values the tables give
    backend: Backend | None = None  # decides the books instead of ``jobs`` local processes
    open_log: Callable[[Advisor], AbstractContextManager[BatchLog]] | None = None  # ``log`` on a backend's workers
    writer: BookWriter | None = None  # writes the outputs: in the calling process, or on a backend's workers
    #: with a backend: a directory its workers read, where the checked rows go in shards instead of
    #: staying in the calling process (:mod:`engine.portfolio.shards`); the workers prepare the books
    spill: Path | None = None


@dataclass(frozen=True)
class BatchCounts:
    """What a batch produced, counted: its summary."""

    clients: int
    managers: int
    recommendations: int
    planned: int  # worklist contacts planned this week
    deferred: int  # worklist contacts that did not fit the week's capacity
    coaching: int
    bad_rows: int  # skipped, for any reason
    desk: int = 0  # worklist desk items (internal actions, one per client): no visit or call capacity
    set_aside: int = 0  # sales actions kept off a contact that carries a risk or obligation action
    to_confirm: int = 0  # missing facts (client and manager) that would bring more advice if known

    @classmethod
    def of(cls, run: PortfolioRun) -> BatchCounts:
        """The counts of ``run``."""
        return replace(cls.of_results(run.results), bad_rows=run.tables.bad_rows)

    @classmethod
    def of_results(cls, results: list[ManagerResult]) -> BatchCounts:
        """The counts of some books' results (no bad rows: those are the tables')."""
        clients = [c for r in results for c in r.decision.clients]
        items = [i for r in results for i in r.worklist.items]
        return cls(clients=len(clients), managers=len(results),
                   recommendations=sum(len(c.recommendations) for c in clients),
                   planned=sum(1 for i in items if i.status == "planned"),
                   deferred=sum(1 for i in items if i.status == "deferred"),
                   coaching=sum(len(m.recommendations) for r in results for m in r.decision.managers),
                   bad_rows=0, desk=sum(len(r.worklist.desk) for r in results),
                   set_aside=sum(len(r.worklist.set_aside) for r in results),
                   to_confirm=sum(len(s.to_confirm) for r in results for s in r.decision.clients + r.decision.managers))

    def __add__(self, other: BatchCounts) -> BatchCounts:
        """The counts of two sets of books together."""
        return BatchCounts(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})


@dataclass(frozen=True)
class BatchResult:
    """A finished batch: what it decided, counted, and how it ran.

    ``seconds`` runs from the call of :func:`run_batch` to its return (tables read and checked,
    decided, logged, written). ``logged`` is how many decisions the log recorded (None: a dry run),
    and ``effectiveness`` the log's effectiveness report for the plan's period. With the plan's
    writer, ``piece`` is what it returned of every book, and ``parts`` how many numbered parts of
    each output a backend's workers wrote (0: written whole); the results of books written on a
    backend do not come back (``run.results`` is empty, ``counts`` counts them).
    """

    run: PortfolioRun
    counts: BatchCounts
    workers: int
    seconds: float
    revision: str
    logged: int | None = None
    effectiveness: EffectivenessReport | None = None
    piece: Any = None
    parts: int = 0


def run_batch(advisor: Advisor, plan: BatchPlan, report: Report | None = None,
              events: BatchEvents | None = None) -> BatchResult:
    """Run ``plan`` with ``advisor``: check the tables into ``report`` (which may stop the run with
    :class:`engine.errors.TooManyBadRows`), decide every manager's book, and apply the contact
    policies and log the decisions when the plan has a log. ``events`` hears of each step.

    What the plan's readers and log raise (a table that cannot be read, a database that cannot be
    used) passes through unchanged.
    """
    started = time.perf_counter()
    events = events if events is not None else Silent()
    kb = advisor.book.kb
    workers = plan.backend.workers if plan.backend is not None else plan.jobs or os.cpu_count() or 1
    parts: list[Partition] | Sharded
    derived: Derived | None
    # shards: on a backend, or here in a dry run whose outputs are written as its buckets are decided
    if plan.spill is not None and (plan.backend is not None or (plan.log is None and plan.writer is not None)):
        spill = Spill(plan.spill, max(1, workers) * BUCKETS_PER_WORKER, as_of=plan.as_of)
        tables = _checked_tables(plan, kb, report if report is not None else Report(), spill)
        events.checked(tables)
        derived = None
        parts = Sharded(spill, spill.buckets(tables.links, link_hops(advisor.book)), tables.managers, plan.prefer)
        total = parts.subjects
    else:
        tables = _checked_tables(plan, kb, report if report is not None else Report())
        events.checked(tables)
        derived, parts = prepare(tables, kb, bulk_gates(advisor), plan.prefer)
        total = sum(p.subjects for p in parts)
    logged, effect, written = None, None, None
    results: list[ManagerResult] = []
    if plan.log is None:
        with events.deciding(total) as advance:
            if plan.backend is not None and plan.writer is not None:
                written = plan.backend.write(advisor, parts, plan.as_of, plan.writer, advance)
            elif isinstance(parts, Sharded) and plan.backend is None:
                assert plan.writer is not None  # (sharded here only with a writer)
                written = _written_in_shards(advisor, parts, plan, workers, plan.writer, advance)
            elif isinstance(parts, Sharded):
                assert plan.backend is not None
                results = plan.backend.decide(advisor, parts, plan.as_of, advance)
            elif plan.writer is not None and plan.texts is not None and workers > 1 and len(parts) > 1:
                # the worker processes write their buckets: no decision crosses back to be parsed here
                done = portfolio.hand_partitions(advisor, parts, plan.as_of, workers, plan.texts,
                                                 functools.partial(write_bucket, plan.writer), advance)
                written = gathered(done)
            else:
                results = _decided(advisor, parts, plan, workers, advance)
    elif plan.backend is not None:
        if plan.open_log is None:
            raise ValueError("a logged run on a backend needs plan.open_log, to open the log on its workers")
        with plan.log as log:
            logging = Logging(plan.open_log, run_key(), _propensities(advisor, plan, log))
            with events.deciding(total) as advance:
                if plan.writer is not None:
                    written = plan.backend.write(advisor, parts, plan.as_of, plan.writer, advance, logging, log)
                else:
                    results = plan.backend.decide(advisor, parts, plan.as_of, advance, logging, log)
            effect = _effectiveness(plan, log)
        logged = written.counts.managers if written is not None else len(results)
    else:
        assert not isinstance(parts, Sharded)  # (sharded: a backend's run)
        with events.deciding(total) as advance:
            results = _decided(advisor, parts, plan, workers, advance)
        with plan.log as log:
            results = _logged(results, parts, advisor, plan, log)
            effect = _effectiveness(plan, log)
        logged = len(results)
    run = PortfolioRun(tables, derived, results)
    if written is not None:
        counts, piece, n = replace(written.counts, bad_rows=tables.bad_rows), written.piece, written.parts
    else:
        counts, n = BatchCounts.of(run), 0
        books = parts if isinstance(parts, list) else []  # (a sharded run without a writer: none here)
        piece = plan.writer.write(results, books, None) if plan.writer is not None else None
    return BatchResult(run, counts, workers, time.perf_counter() - started, advisor.revision, logged, effect,
                       piece, n)


def _written_in_shards(advisor: Advisor, sharded: Sharded, plan: BatchPlan, workers: int, writer: BookWriter,
                       advance: Callable[[int], None]) -> Written:
    """A dry run of a portfolio in shards, in ``workers`` local processes (in this one for 1, or
    without the texts a spawned worker compiles from), bucket by bucket, in three passes: the
    context clients copied for the buckets that need them, each bucket's managers derived (the
    team benchmarks are computed here over all of them), and each bucket prepared again, decided
    and written as its part of every output, only its counts and the writer's piece coming back.
    No process holds more than the buckets it works on."""
    spill, as_of, prefer, recorded = sharded.spill, plan.as_of, sharded.prefer, sharded.recorded
    exports = sorted(wanted(sharded.buckets, spill.client_shard).items())
    bks = sharded.buckets
    here = workers <= 1 or plan.texts is None
    with nullcontext() if here else portfolio.worker_pool(advisor, workers, plan.texts or ({}, {})) as pool:

        def each(fn: Callable[..., T], *args: list[Any], book: bool = True) -> Iterator[T]:
            """``fn`` over ``args`` in the pool, in order (here, given the advisor when it takes a ``book``)."""
            if pool is None:
                return (fn(*a, *([advisor] if book else [])) for a in zip(*args, strict=True))
            return pool.map(fn, *args)

        n = len(bks)
        list(each(export_context, [spill.root] * len(exports), [s for s, _ in exports], [w for _, w in exports],
                  book=False))
        found = list(each(_managers_of, [spill.root] * n, bks, [as_of] * n, [prefer] * n, [recorded] * n))
        teams = sharded.teams(found, advisor.book.kb)
        done = []
        for bucket, piece in zip(bks, each(_write_shard, [spill.root] * n, bks, [as_of] * n, [prefer] * n,
                                           [recorded] * n, [teams] * n, [writer] * n), strict=True):
            done.append(piece)
            advance(bucket.subjects)
    return gathered(done) if done else Written(BatchCounts.of_results([]), writer.write([], [], 0), 1)


T = TypeVar("T")


def _managers_of(root: Path, bucket: Bucket, as_of: dt.date, prefer: Prefer, recorded: frozenset[str],
                 advisor: Advisor | None = None) -> list[dict[str, Any]]:
    """In a worker process (or here, with ``advisor``): a bucket's derived managers."""
    kb = (advisor or portfolio.worker_advisor()).book.kb
    return derived_managers(root, bucket, as_of, kb, prefer, recorded)


def _write_shard(root: Path, bucket: Bucket, as_of: dt.date, prefer: Prefer, recorded: frozenset[str],
                 teams: portfolio.Teams, writer: BookWriter, advisor: Advisor | None = None) -> tuple[BatchCounts, Any]:
    """In a worker process (or here, with ``advisor``): a bucket prepared, decided and written as
    its part of every output; its counts and the writer's piece."""
    a = advisor or portfolio.worker_advisor()
    with paused():  # many small objects without cycles that matter (see run._init_worker)
        parts = prepare_bucket(root, bucket, as_of, bulk_gates(a), prefer, recorded, teams)
        results = [portfolio.decide_partition(a, p, as_of) for p in parts]
        return write_bucket(writer, results, parts, bucket.index)


def _decided(advisor: Advisor, parts: list[Partition], plan: BatchPlan, workers: int,
             advance: Callable[[int], None]) -> list[ManagerResult]:
    """Every book decided, on the plan's backend or in ``workers`` local processes."""
    if plan.backend is not None:
        return plan.backend.decide(advisor, parts, plan.as_of, advance)
    return portfolio.decide_partitions(advisor, parts, plan.as_of, workers, plan.texts, advance)


def _checked_tables(plan: BatchPlan, kb: KnowledgeBase, report: Report, spill: Spill | None = None) -> PortfolioTables:
    """The plan's tables, or the generated sample portfolio, checked into ``report`` (their good
    rows into ``spill``, when given)."""
    if plan.tables is not None:
        with plan.tables as read:
            return read_tables(read, kb, plan.as_of, plan.sources, report, links=LINKS in plan.sources, spill=spill)
    n = plan.sample_clients
    p = generate(n, max(3, n // SAMPLE_CLIENTS_PER_MANAGER), as_of=plan.as_of)
    return portfolio.check_tables(p.clients, p.managers, p.history, kb, plan.as_of,
                                  {name: f"<sample {name}>" for name in (*TABLE_ORDER, LINKS)}, report, p.links,
                                  spill)


def _logged(results: list[ManagerResult], parts: list[Partition], advisor: Advisor, plan: BatchPlan,
            log: BatchLog) -> list[ManagerResult]:
    """The log's propensities (when the arbitration learns them) and contact policies over the whole
    portfolio with the log's feedback, and every manager's decision logged with the feedback about
    its own subjects."""
    day = plan.as_of
    history = log.feedback([key for p in parts for key in subjects(p)], day, advisor.book.policies)
    results = portfolio.with_policies(portfolio.with_propensities(results, parts, advisor,
                                                                  _propensities(advisor, plan, log)),
                                      parts, advisor, history, day)
    part_of = {p.manager_id: p for p in parts}
    run = run_key()
    return [logged_result(r, part_of[r.manager_id], history, advisor.book.kb, day, log, decision_id(run, r.manager_id))
            for r in results]


def _propensities(advisor: Advisor, plan: BatchPlan, log: BatchLog) -> PropensityTable | None:
    """The log's acceptance evidence, when the arbitration learns from it."""
    settings = advisor.book.arbitration.propensity
    return log.propensities(plan.as_of, settings) if settings.enabled else None


def _effectiveness(plan: BatchPlan, log: BatchLog) -> EffectivenessReport:
    """The log's effectiveness report over the plan's period."""
    return log.effectiveness(plan.as_of - dt.timedelta(days=plan.effectiveness_days - 1), plan.as_of)


def subjects(part: Partition) -> list[SubjectKey]:
    """The manager and the clients of one book (what its feedback is about)."""
    return [SubjectKey.of(t, f["id"]) for t in LOGGED_TYPES for f in part.facts[t]]


def logged_result(result: ManagerResult, part: Partition, history: list[FeedbackEvent], kb: KnowledgeBase,
                  as_of: dt.date, log: BatchLog, decision_id: str | None = None) -> ManagerResult:
    """``result`` with its decision as the log recorded it (with the feedback on the book's
    subjects), under ``decision_id``."""
    mine = set(subjects(part))
    own = [e for e in history if e.subject in mine]
    return replace(result, decision=log.record(result.decision, portfolio.facts_document(part, as_of, kb), own,
                                               decision_id))
