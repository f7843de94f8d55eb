"""Deciding a portfolio's books on a Dask cluster: the same per-manager step as a local run, on
the cluster's workers, and in a logged run the contact policies and the decision log there too.

A run stays what :func:`engine.portfolio.run_batch` makes it: the tables are checked, history is
derived, the gates are evaluated in bulk and the team benchmarks are computed over the whole
portfolio (:func:`engine.portfolio.run.prepare`); the books go out in buckets of similar size (by
clients), each a run of managers in id order (:func:`buckets`), in two passes:

1. :func:`decide_bucket` decides each book with :func:`engine.portfolio.run.decide_partition` and,
   in a logged run, ranks it with the run's propensities and reads the feedback on the bucket's
   subjects from the log, opened on the worker. The result stays in that worker's memory (a
   future); only the actions a portfolio volume cap ties across books come back
   (:func:`pending_of`: small records), and the calling process ranks them under the caps as a
   local run ranks the whole portfolio (:func:`engine.policies.contact.settle_caps`).
2. :func:`settle_bucket` runs where the bucket's result is: the contact policies applied (the tied
   clients as the caller ranked them, the others within the bucket: the same holds as a local run),
   each book logged under an id derived from the run and the manager
   (:func:`engine.portfolio.batch.decision_id`), and the bucket written there as its numbered part
   of every output by the run's writer (:func:`write_bucket`), only its counts and the writer's
   mergeable piece sent back; without a writer, the decisions are sent back as JSON
   (:func:`settle_bucket`).

* The rule book is compiled once per worker, from the same rule and knowledge-base texts, by a
  worker plugin (:class:`BookPlugin`), not shipped with every task; a worker that joins later
  compiles it when it joins.
* A lost worker: the scheduler runs its tasks again elsewhere (the first pass too, when its result
  was on the lost worker) and the caller receives each bucket's result once. A bucket logged again
  finds its decisions logged under the same ids and logs nothing twice, and a bucket written again
  writes the same numbered parts again (the writer's business: a temporary name, then a rename).

The caller owns the cluster
(:func:`connect_cluster`) as it owns the decision log: a running scheduler by its address, or a
local cluster started for the run. The package exports this module's names lazily, so that a run
without a cluster never imports dask.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask
from distributed import Client, LocalCluster, WorkerPlugin, as_completed, get_worker

from rm_advisor.engine.collector import paused
from rm_advisor.engine.derivation.history import Prefer
from rm_advisor.engine.inference.advisor import Advisor, Engine
from rm_advisor.engine.language.decision import Decision
from rm_advisor.engine.language.feedback import FeedbackEvent
from rm_advisor.engine.language.knowledge import KnowledgeBase
from rm_advisor.engine.language.subjects import SubjectKey
from rm_advisor.engine.policies.contact import CapCandidate, Settled, pending, settle_caps
from rm_advisor.engine.portfolio.batch import (
    BatchCounts,
    BatchLog,
    BookWriter,
    Logging,
    Written,
    decision_id,
    gathered,
    logged_result,
    subjects,
)
from rm_advisor.engine.portfolio.batch import write_bucket as written_bucket
from rm_advisor.engine.portfolio.run import (
    ManagerResult,
    Partition,
    Teams,
    buckets,
    bulk_gates,
    decide_partition,
    with_policies,
    with_propensities,
)
from rm_advisor.engine.portfolio.shards import (
    BUCKETS_PER_WORKER,
    Bucket,
    Sharded,
    derived_managers,
    export_context,
    prepare_bucket,
    wanted,
)
from rm_advisor.engine.portfolio.worklist import Worklist

#: rule and knowledge-base file texts (name -> text), as :meth:`Advisor.from_files` takes them
Texts = tuple[dict[str, str], dict[str, str]]
#: dask's own defaults that a pandas pipeline must not get: object columns stay objects
DASK_CONFIG = {"dataframe.convert-string": False}
#: one bucket's decisions as they come back: (manager id, decision JSON, worklist JSON) per book
Encoded = list[tuple[str, str, str]]


class BookPlugin(WorkerPlugin):
    """Compiles the rule book once on each worker (when the plugin is registered, and on every
    worker that joins later); the tasks of a run find it by :attr:`name`, which carries the
    book's revision, so two rule sets can share a long-lived cluster."""

    idempotent = True  # a second run of the same book on the cluster compiles nothing again

    def __init__(self, texts: Texts, engine: Engine, revision: str) -> None:
        self.texts = texts
        self.engine: Engine = engine
        self.name = f"rm-advisor-book-{revision}"
        self.advisor: Advisor | None = None

    def setup(self, worker: Any) -> None:
        """Compile the book from the texts."""
        self.advisor = Advisor.from_files(*self.texts, engine=self.engine)

    def __getstate__(self) -> dict[str, Any]:
        # only the texts travel: every worker compiles its own book
        return {"texts": self.texts, "engine": self.engine, "name": self.name, "advisor": None}


def _book(name: str) -> Advisor:
    """The book the plugin ``name`` compiled on this worker."""
    plugin = get_worker().plugins[name]
    assert isinstance(plugin, BookPlugin) and plugin.advisor is not None
    return plugin.advisor


@dataclass
class Decided:
    """One bucket decided (ranked with the run's propensities, and with the feedback on its subjects
    when the run is logged): a task's result that stays on the worker that made it, until the
    bucket is settled there (:func:`settle_bucket`)."""

    parts: list[Partition]
    results: list[ManagerResult]
    history: list[FeedbackEvent]


def decide_bucket(plugin: str, bucket: list[Partition], as_of: dt.date, logging: Logging | None) -> Decided:
    """On a worker: decide every book of ``bucket`` with the worker's compiled book (the same
    :func:`engine.portfolio.run.decide_partition` a local run calls); in a logged run, rank them
    with the run's propensities and read the feedback on the bucket's subjects from the log."""
    # decisions are many small objects without cycles that matter (see run._init_worker): a task does
    # not let the cyclic collector rescan them, and leaves the worker's collector as it was
    with paused(collect=False):
        return _decided(_book(plugin), bucket, as_of, logging)


def decide_shard(plugin: str, root: Path, bucket: Bucket, as_of: dt.date, prefer: Prefer, recorded: frozenset[str],
                 teams: Teams, logging: Logging | None, *exported: int) -> Decided:
    """On a worker, once the shards ``bucket``'s context clients are in have copied them for it
    (``exported``: only waited for): the bucket read and prepared with the worker's compiled book
    (:func:`engine.portfolio.shards.prepare_bucket`), its books given the portfolio's team
    benchmarks, and decided as :func:`decide_bucket` decides."""
    advisor = _book(plugin)
    with paused(collect=False):  # as decide_bucket
        return _decided(advisor, prepare_bucket(root, bucket, as_of, bulk_gates(advisor), prefer, recorded, teams),
                        as_of, logging)


def managers_on_worker(plugin: str, root: Path, bucket: Bucket, as_of: dt.date, prefer: Prefer,
                       recorded: frozenset[str], *exported: int) -> list[dict[str, Any]]:
    """On a worker: a bucket's managers with their derived fields (for the team benchmarks), nothing kept."""
    with paused(collect=False):  # as decide_bucket
        return derived_managers(root, bucket, as_of, _book(plugin).book.kb, prefer, recorded)


def _decided(advisor: Advisor, bucket: list[Partition], as_of: dt.date, logging: Logging | None) -> Decided:
    results = [decide_partition(advisor, part, as_of) for part in bucket]
    if logging is None:
        return Decided(bucket, results, [])
    results = with_propensities(results, bucket, advisor, logging.table)
    with logging.open_log(advisor) as log:
        history = log.feedback([k for p in bucket for k in subjects(p)], as_of, advisor.book.policies)
    return Decided(bucket, results, history)


def pending_of(plugin: str, decided: Decided, as_of: dt.date) -> list[CapCandidate]:
    """On a worker: the actions of the bucket's clients that a portfolio volume cap ties to other
    books (:func:`engine.policies.contact.pending`): all the calling process receives of a bucket
    before it is settled."""
    book = _book(plugin).book
    clients = [c for r in decided.results for c in r.decision.clients]
    managers = [m for r in decided.results for m in r.decision.managers]
    return pending(clients, managers, book.policies, decided.history, as_of, book.kb)


def settled_results(plugin: str, decided: Decided, as_of: dt.date, logging: Logging | None,
                    settled: Settled | None) -> list[ManagerResult]:
    """On the worker that holds ``decided``: in a logged run, the contact policies applied to the
    bucket (what the portfolio's volume caps held back of its tied clients, ``settled``, as the
    calling process ranked them) and each book's decision logged under its run's id, which a task
    run again finds logged and does not log twice; the bucket's results."""
    results = decided.results
    if logging is not None:
        advisor = _book(plugin)
        results = with_policies(results, decided.parts, advisor, decided.history, as_of, settled)
        part_of = {p.manager_id: p for p in decided.parts}
        with logging.open_log(advisor) as log:
            results = [logged_result(r, part_of[r.manager_id], decided.history, advisor.book.kb, as_of, log,
                                     decision_id(logging.run, r.manager_id)) for r in results]
    return results


def settle_bucket(plugin: str, decided: Decided, as_of: dt.date, logging: Logging | None,
                  settled: Settled | None) -> Encoded:
    """On the worker that holds ``decided``: the bucket settled (:func:`settled_results`); its
    decisions, as JSON."""
    results = settled_results(plugin, decided, as_of, logging, settled)
    return [(r.manager_id, r.decision.model_dump_json(), r.worklist.model_dump_json()) for r in results]


def write_bucket(plugin: str, decided: Decided, as_of: dt.date, logging: Logging | None, settled: Settled | None,
                 writer: BookWriter, index: int) -> tuple[BatchCounts, Any]:
    """On the worker that holds ``decided``: the bucket settled (:func:`settled_results`) and
    written by ``writer`` as part ``index`` of every output; its counts and the writer's piece."""
    return written_bucket(writer, settled_results(plugin, decided, as_of, logging, settled), decided.parts, index)


def decoded(items: Encoded) -> list[ManagerResult]:
    """One bucket's results as models again."""
    return [ManagerResult(mid, Decision.model_validate_json(d), Worklist.model_validate_json(w))
            for mid, d, w in items]


@dataclass
class DaskBackend:
    """Decides the books of a batch on a cluster (a :class:`engine.portfolio.batch.Backend`).

    ``client`` is connected to the cluster; ``texts`` are the rule and knowledge-base texts the
    advisor was compiled from, compiled again once on each worker.
    """

    client: Client
    texts: Texts
    engine: Engine = "compiled"

    @property
    def workers(self) -> int:
        """The cluster's workers now."""
        return len(self.client.scheduler_info().get("workers", {}))

    def decide(self, advisor: Advisor, parts: list[Partition] | Sharded, as_of: dt.date,
               progress: Callable[[int], None] | None = None, logging: Logging | None = None,
               log: BatchLog | None = None) -> list[ManagerResult]:
        """Decide every book on the cluster; results ordered by manager, each book once.

        Two passes over the buckets. The first decides them (and, logged, ranks them and reads their
        feedback); its results stay on the workers, and only the actions a portfolio volume cap ties
        across books come back (:func:`pending_of`). The calling process ranks those under the caps
        with ``log``'s feedback on them, as a local run ranks the whole portfolio, and the second pass
        settles each bucket where it was decided: the policies applied, each book logged once.
        A :class:`engine.portfolio.shards.Sharded` portfolio is prepared on the workers first
        (:meth:`_prepared`)."""
        if not parts or (isinstance(parts, Sharded) and not parts.buckets):
            return []
        done: list[list[ManagerResult]] = self._run(advisor, parts, as_of, progress, logging, log, None)
        return [r for results in done for r in results]

    def write(self, advisor: Advisor, parts: list[Partition] | Sharded, as_of: dt.date, writer: BookWriter,
              progress: Callable[[int], None] | None = None, logging: Logging | None = None,
              log: BatchLog | None = None) -> Written:
        """As :meth:`decide`, but the second pass writes each bucket where it is settled, with
        ``writer``, as the part of every output numbered as the bucket (buckets in manager order);
        only the bucket's counts and the writer's piece come back, added up here in bucket order.
        No books: one empty part, written here."""
        if not parts or (isinstance(parts, Sharded) and not parts.buckets):
            return Written(BatchCounts.of_results([]), writer.write([], [], 0), 1)
        return gathered(self._run(advisor, parts, as_of, progress, logging, log, writer))

    def _teams(self, plugin: str, sharded: Sharded, as_of: dt.date, run: str,
               kb: KnowledgeBase) -> tuple[Teams, dict[int, Any]]:
        """A sharded portfolio's first passes: the context clients copied from the shards they are in
        for the buckets that need them (:func:`export_context`; futures by shard), and each bucket's
        managers derived on a worker (:func:`managers_on_worker`, nothing kept there) for the team
        benchmarks, computed here over all of them."""
        root = sharded.spill.root
        exported = {s: self.client.submit(export_context, root, s, w, key=f"rm-advisor-context-{run}-{s}")
                    for s, w in sorted(wanted(sharded.buckets, sharded.spill.client_shard).items())}
        found: list[list[dict[str, Any]]] = self.client.gather(  # type: ignore[no-untyped-call]
            [self.client.submit(managers_on_worker, plugin, root, b, as_of, sharded.prefer, sharded.recorded,
                                *[exported[s] for s in b.sources], key=f"rm-advisor-managers-{run}-{b.index}")
             for b in sharded.buckets])
        return sharded.teams(found, kb), exported

    def _run(self, advisor: Advisor, parts: list[Partition] | Sharded, as_of: dt.date,
             progress: Callable[[int], None] | None, logging: Logging | None, log: BatchLog | None,
             writer: BookWriter | None) -> list[Any]:
        """The passes over the buckets; what each bucket's last pass returned, in bucket order
        (:func:`settle_bucket`'s decoded, or :func:`write_bucket`'s with a ``writer``).

        A dry run submits each bucket's deciding and writing one after the other, so that a worker,
        which runs the earliest submitted of its ready tasks first, writes (and lets go of) a bucket
        before it decides many more: a worker holds a few buckets at a time. A logged run decides every
        bucket before the portfolio volume caps are ranked, and its workers hold them all until then."""
        plugin = BookPlugin(self.texts, self.engine, advisor.revision)
        self.client.register_plugin(plugin, name=plugin.name)
        run = uuid.uuid4().hex[:12]
        first: Callable[[int], Any]
        if isinstance(parts, Sharded):
            sharded = parts
            teams, exported = self._teams(plugin.name, sharded, as_of, run, advisor.book.kb)
            n, weights = len(sharded.buckets), [b.subjects for b in sharded.buckets]

            def first(i: int) -> Any:
                b = sharded.buckets[i]
                return self.client.submit(decide_shard, plugin.name, sharded.spill.root, b, as_of, sharded.prefer,
                                          sharded.recorded, teams, logging, *[exported[s] for s in b.sources],
                                          key=f"rm-advisor-decide-{run}-{i}")
        else:
            bins = buckets(parts, max(1, self.workers) * BUCKETS_PER_WORKER)
            n, weights = len(bins), [sum(p.subjects for p in b) for b in bins]

            def first(i: int) -> Any:
                return self.client.submit(decide_bucket, plugin.name, bins[i], as_of, logging,
                                          key=f"rm-advisor-decide-{run}-{i}")

        def second(i: int, d: Any, s: Settled | None) -> Any:
            if writer is None:
                return self.client.submit(settle_bucket, plugin.name, d, as_of, logging, s,
                                          key=f"rm-advisor-settle-{run}-{i}")
            return self.client.submit(write_bucket, plugin.name, d, as_of, logging, s, writer, i,
                                      key=f"rm-advisor-write-{run}-{i}")

        decided: list[Any] = []
        futures: list[Any] = []
        if logging is None:
            for i in range(n):
                decided.append(first(i))
                futures.append(second(i, decided[-1], None))
        else:
            decided = [first(i) for i in range(n)]
            settled = self._settled(plugin.name, decided, advisor, as_of, log, run)
            futures = [second(i, d, s) for i, (d, s) in enumerate(zip(decided, settled, strict=True))]
        index = {f.key: i for i, f in enumerate(futures)}
        weight = {f.key: w for f, w in zip(futures, weights, strict=True)}
        firsts = {f.key: d for f, d in zip(futures, decided, strict=True)}
        del decided  # each first pass is let go as soon as its bucket is settled: the books and their
        # decisions leave the workers' memory (and the scheduler's the task holding the books)
        done: list[Any] = [None] * len(futures)
        for future in as_completed(futures):  # type: ignore[no-untyped-call]  # (distributed has no hints here)
            result = future.result()
            done[index[future.key]] = decoded(result) if writer is None else result  # models as they come
            if progress:
                progress(weight[future.key])
            future.release()
            firsts.pop(future.key).release()
        return done

    def _settled(self, plugin: str, decided: list[Any], advisor: Advisor,
                 as_of: dt.date, log: BatchLog | None, run: str) -> list[Settled | None]:
        """What the portfolio volume caps hold back of each bucket's tied clients: the buckets'
        pending actions gathered, ranked together with the feedback on them, and cut by bucket."""
        book = advisor.book
        by_bucket: list[list[CapCandidate]] = self.client.gather(  # type: ignore[no-untyped-call]
            [self.client.submit(pending_of, plugin, d, as_of, key=f"rm-advisor-pending-{run}-{i}")
             for i, d in enumerate(decided)])
        tied = sorted({c.client_id for found in by_bucket for c in found})
        if not tied:
            return [None] * len(decided)
        history = log.feedback([SubjectKey("client", c) for c in tied], as_of, book.policies) if log else []
        everything = settle_caps([c for found in by_bucket for c in found], book.policies, history, as_of, book.kb)
        out: list[Settled | None] = []
        for found in by_bucket:
            mine = frozenset(c.client_id for c in found)
            out.append(Settled(mine, {k: v for k, v in everything.held.items() if k[0] in mine}))
        return out


@contextmanager
def connect_cluster(scheduler: str | None = None, workers: int = 2, timeout: float = 10) -> Iterator[Client]:
    """A client of the running cluster at ``scheduler`` (an address such as
    ``tcp://10.0.0.5:8786``), or of a local cluster of ``workers`` worker processes (one thread
    each) started for the run and stopped after it. Connection failures (``OSError``, a timeout)
    pass through."""
    with dask.config.set(DASK_CONFIG):
        if scheduler:
            with Client(scheduler, timeout=timeout) as client:  # type: ignore[no-untyped-call]
                yield client
        else:
            with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,  # type: ignore[no-untyped-call]
                              dashboard_address=":0") as cluster, \
                    Client(cluster) as client:  # type: ignore[no-untyped-call]
                yield client
