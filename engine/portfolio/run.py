"""Decide a whole portfolio: tables in, one decision and one worklist per manager out.

Steps: check the three tables (bad rows reported and dropped) → derive history fields
(:mod:`engine.derivation.history`) → evaluate every rule's fact conditions for all subjects at once
(:mod:`engine.portfolio.bulk`) and the chaining rules on them (:mod:`engine.portfolio.columnar`) →
per manager, record those firings and arbitrate (:meth:`engine.inference.advisor.Advisor.decide` with
them; the reference engine decides the chaining again itself) → build the worklist within capacity.
Each book carries the team benchmarks of its domain, computed over the whole portfolio
(:mod:`engine.derivation.benchmarks`), as ``team_benchmark`` facts: its coaching cards compare the
manager with the portfolio's team, and a logged decision replays with them.

Managers are independent once their clients are known, so the per-manager step runs in worker
processes (``jobs``), each with its own rule book compiled from the same texts; the output is the
same whatever ``jobs`` is, because every partition is decided alone and results are ordered by id.
"""

from __future__ import annotations

import datetime as dt
import gc
import multiprocessing as mp
from collections.abc import Callable, Collection, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import pandas as pd

from rm_advisor.engine.collector import paused
from rm_advisor.engine.derivation.benchmarks import team_benchmarks
from rm_advisor.engine.derivation.frames import records
from rm_advisor.engine.derivation.history import Derived, Prefer, Sources, derive
from rm_advisor.engine.errors import Diagnostic
from rm_advisor.engine.inference.advisor import Advisor, Engine
from rm_advisor.engine.inference.chaining import Chained
from rm_advisor.engine.inference.compiler import RuleBook
from rm_advisor.engine.language.decision import Decision
from rm_advisor.engine.language.facts import build_fact_set
from rm_advisor.engine.language.knowledge import KnowledgeBase
from rm_advisor.engine.language.links import FROM, LINK_FACT, TO, link_depth
from rm_advisor.engine.language.propensity import PropensityTable
from rm_advisor.engine.language.subjects import SubjectKey
from rm_advisor.engine.policies.contact import Settled, apply_policies
from rm_advisor.engine.policies.ranking import rank, standing_of
from rm_advisor.engine.portfolio.bulk import BulkGates, Frames
from rm_advisor.engine.portfolio.columnar import BulkChaining
from rm_advisor.engine.portfolio.tables import Chunk, Reference, Report, Table, TableInput, check_input
from rm_advisor.engine.portfolio.worklist import Worklist, build_worklist, capacity_of


@dataclass
class PortfolioTables:
    clients: Table
    managers: Table
    history: Table
    as_of: dt.date
    report: Report = field(default_factory=Report)
    links: Table | None = None  # links between clients (``link`` facts), when a links table was given

    @property
    def diagnostics(self) -> list[Diagnostic]:
        """The diagnostics held (all of them unless the report keeps only the first few)."""
        return (self.managers.diagnostics + self.clients.diagnostics + self.history.diagnostics
                + (self.links.diagnostics if self.links is not None else []))

    @property
    def bad_rows(self) -> int:
        return (self.clients.bad_rows + self.managers.bad_rows + self.history.bad_rows
                + (self.links.bad_rows if self.links is not None else 0))


#: the order the tables are checked in: what a row refers to is checked before it
TABLE_ORDER = ("managers", "clients", "history")
#: the table of links between clients: optional, checked last (both its ends are clients)
LINKS = "links"


def check_tables(clients: pd.DataFrame, managers: pd.DataFrame, history: pd.DataFrame, kb: KnowledgeBase,
                 as_of: dt.date, sources: dict[str, str] | None = None,
                 report: Report | None = None, links: pd.DataFrame | None = None,
                 spill: Spilling | None = None) -> PortfolioTables:
    """Type and check the three tables (and the links, when given); a client whose manager is not in
    the managers table, an event or a link whose client is unknown, is a bad row too."""
    frames = {"clients": clients, "managers": managers, "history": history}
    if links is not None:
        frames[LINKS] = links
    return read_tables(lambda name: TableInput(list(frames[name].columns), [Chunk(frames[name])]), kb, as_of,
                       sources, report, links=links is not None, spill=spill)


class Spilling(Protocol):
    """Where a sharded run's checked rows go instead of memory (:class:`engine.portfolio.shards.Spill`)."""

    def managers(self, table: Table) -> None: ...

    def sink(self, table: str) -> Callable[[pd.DataFrame], None]: ...

    def close(self, empty: dict[str, pd.DataFrame]) -> None: ...


def read_tables(read: Callable[[str], TableInput], kb: KnowledgeBase, as_of: dt.date,
                sources: dict[str, str] | None = None, report: Report | None = None,
                links: bool = False, spill: Spilling | None = None) -> PortfolioTables:
    """Check the tables ``read`` hands over (``read("managers")`` and so on, called in
    :data:`TABLE_ORDER`, then ``read("links")`` when ``links``), chunk by chunk as they come, into
    ``report`` (which may stop the check: :class:`engine.errors.TooManyBadRows`). With ``spill``,
    the good rows of the clients and the history go there as they are checked, and their tables
    hold ids only."""
    src = {"clients": "clients", "managers": "managers", "history": "history", LINKS: LINKS, **(sources or {})}
    report = report if report is not None else Report()
    mt = check_input(read("managers"), kb.facts["manager"], "manager", src["managers"], report)
    if spill is not None:
        spill.managers(mt)
    ct = check_input(read("clients"), kb.facts["client"], "client", src["clients"], report,
                     [Reference("manager_id", mt, "manager")], spill.sink("clients") if spill is not None else None)
    ht = check_input(read("history"), kb.facts["interaction"], "interaction", src["history"], report,
                     [Reference("client_id", ct, "client"), Reference("manager_id", mt, "manager")],
                     spill.sink("history") if spill is not None else None)
    lt = check_input(read(LINKS), kb.facts[LINK_FACT], LINK_FACT, src[LINKS], report,
                     [Reference(FROM, ct, "client"), Reference(TO, ct, "client")]) if links else None
    if spill is not None:
        spill.close({"managers": mt.frame, "clients": ct.frame, "history": ht.frame})
    return PortfolioTables(ct, mt, ht, as_of, report, lt)


@dataclass(frozen=True)
class Partition:
    """One manager's book: the facts to decide and the gates that already hold for them.

    A link may cross books: ``context`` names the clients of other books that the book's links reach
    (with their facts, history and gates among ``facts``, so that a ``linked`` condition sees them and
    their signals as a single decision over the same facts would); they are decided in their own book,
    and :func:`decide_partition` leaves them out of this one's decision."""

    manager_id: str
    facts: dict[str, list[dict[str, Any]]]
    gates: list[tuple[str, SubjectKey]]
    capacity: dict[str, int]
    sources: Sources = field(default_factory=dict)  # the book's fields that history gave, with their events
    #: the book's history events (its clients' and the manager's own), which `events` conditions count
    history: list[dict[str, Any]] = field(default_factory=list)
    context: tuple[str, ...] = ()  # ids of the other books' clients among ``facts["client"]``
    #: what the chaining rules fired on for the book's own subjects, decided in bulk (None: decided per book)
    chained: Chained | None = None

    @property
    def subjects(self) -> int:
        """The subjects this book decides: its own clients and its manager (what progress counts)."""
        return len(self.facts["client"]) - len(self.context) + 1


#: the team benchmarks of each domain (domain -> its ``team_benchmark`` facts)
Teams = dict[str, list[dict[str, Any]]]


def team_facts(managers: list[dict[str, Any]], kb: KnowledgeBase) -> Teams:
    """The ``team_benchmark`` facts of each domain over ``managers`` (derived manager records)."""
    teams: Teams = {}
    for b in team_benchmarks(managers, kb, "portfolio"):
        teams.setdefault(str(b["domain"]), []).append(b)
    return teams


def prepare(tables: PortfolioTables, book_kb: KnowledgeBase,
            gates: BulkGates | None, prefer: Prefer = "given",
            teams: Teams | None = None, recorded: Collection[str] | None = None,
            derived: Derived | None = None) -> tuple[Derived, list[Partition]]:
    """Derive history fields (given values kept unless ``prefer`` is ``"history"``), evaluate all
    gates in bulk (unless ``gates`` is None: the partitions then carry no gates), and cut the
    portfolio per manager, each book with the clients of other books its links reach, and with
    the team benchmarks of its domain over the portfolio's managers (``teams``, when they were
    computed over a larger portfolio than ``tables``: :func:`team_facts`; ``recorded`` is then
    what that portfolio's history records, :func:`engine.derivation.history.recorded_kinds`).
    ``derived``: the tables' derivation with the same ``prefer`` and ``recorded``, when a step before
    already made it."""
    kb = book_kb
    if derived is None:
        derived = derive(tables.clients.frame, tables.managers.frame, tables.history.frame, tables.as_of, kb,
                         prefer, recorded)
    inter = derived.interactions.copy()
    inter = inter.set_index(inter["id"].astype(str), drop=False).rename_axis(None) if len(inter) else inter
    hist = tables.history.frame
    hist = hist.set_index(hist["id"].astype(str), drop=False).rename_axis(None) if len(hist) else hist
    links = tables.links.frame if tables.links is not None else pd.DataFrame()
    frames = Frames({"client": derived.clients, "manager": derived.managers, "interaction": inter, "history": hist,
                     LINK_FACT: links}, tables.as_of, kb)
    by_subject: dict[SubjectKey, list[tuple[str, SubjectKey]]] = {}
    chained: Chained | None = None
    if gates is not None and gates.chain:
        by_subject, chained = BulkChaining(gates).run(frames)
    elif gates is not None:
        by_subject = gates.gates(frames)
    client_recs = records(derived.clients, kb.facts["client"])
    manager_recs = records(derived.managers, kb.facts["manager"])
    inter_recs = records(inter, kb.facts["interaction"]) if len(inter) else []
    link_recs = records(links, kb.facts[LINK_FACT]) if len(links) else []
    clients_of: dict[str, list[dict[str, Any]]] = {}
    for c in client_recs:
        clients_of.setdefault(str(c["manager_id"]), []).append(c)
    client_by_id = {str(c["id"]): c for c in client_recs}
    links_of: dict[str, list[dict[str, Any]]] = {}  # client id -> the links with it at either end
    for ln in link_recs:
        for end in {str(ln[FROM]), str(ln[TO])}:
            links_of.setdefault(end, []).append(ln)
    # how far the rule set reads across links; without a rule book, every client a chain of links reaches
    hops = link_hops(gates.book) if gates is not None else None
    inter_of: dict[str, list[dict[str, Any]]] = {}
    for i in inter_recs:
        inter_of.setdefault(str(i.get("client_id") or ""), []).append(i)
    history_of: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for e in records(hist, kb.facts["interaction"]) if len(hist) else []:
        for link in ("client_id", "manager_id"):
            if e.get(link) is not None:
                history_of.setdefault((link, str(e[link])), []).append(e)
    params = {k: p.value for k, p in kb.parameters.items()}
    # the team each coaching card compares a manager with: the portfolio's managers of the domain
    benchmarks = team_facts(manager_recs, kb) if teams is None else teams
    parts = []
    for m in manager_recs:
        mid = str(m["id"])
        own = clients_of.get(mid, [])
        reached = reached_from({str(c["id"]) for c in own}, links_of, hops)
        context = [client_by_id[i] for i in sorted(reached) if i in client_by_id]
        cs = own + context
        keys = [SubjectKey("manager", mid), *(SubjectKey.of("client", c["id"]) for c in cs)]
        facts = {"manager": [m], "client": cs,
                 "interaction": [i for c in cs for i in inter_of.get(str(c["id"]), [])]}
        ids = {str(c["id"]) for c in cs}
        book_links = {str(ln["id"]): ln for i in sorted(ids) for ln in links_of.get(i, [])
                      if str(ln[FROM]) in ids and str(ln[TO]) in ids}
        if book_links:
            facts[LINK_FACT] = [book_links[k] for k in sorted(book_links)]
        if benchmarks.get(str(m.get("domain"))):
            facts["team_benchmark"] = benchmarks[str(m["domain"])]
        capacity = capacity_of(m, params)
        sources = {k: derived.sources[k] for k in keys if k in derived.sources}
        # what the bulk masks counted for these subjects: every event naming the manager or one of its clients
        events = {str(e["id"]): e for e in history_of.get(("manager_id", mid), [])}
        events.update((str(e["id"]), e) for c in cs for e in history_of.get(("client_id", str(c["id"])), []))
        decides = keys[:len(keys) - len(context)]  # the manager and its own clients
        book_chained = None if chained is None else Chained(
            {k: chained.fired[k] for k in decides if k in chained.fired}, frozenset(keys[len(decides):]))
        parts.append(Partition(mid, facts, [g for k in keys for g in by_subject.get(k, [])], capacity, sources,
                               [events[k] for k in sorted(events)], tuple(str(c["id"]) for c in context),
                               book_chained))
    return derived, parts


def bulk_gates(advisor: Advisor) -> BulkGates:
    """The bulk gates a portfolio run of ``advisor`` hands its books: with the chaining rules decided
    in bulk too, unless the advisor runs the reference engine (experta), which decides them itself."""
    return BulkGates(advisor.book, chain=advisor.engine == "compiled")


def link_hops(book: RuleBook) -> int | None:
    """How many links away a book must carry the clients of other books: the deepest ``linked``
    condition of the rule set; every client a chain of links reaches (None) when a rule with one
    asserts a signal, which a ``linked`` condition of another client may read in turn."""
    depth = 0
    for r in book.rules:
        d = link_depth(r.rule.when)
        if d and r.rule.then.signals:
            return None
        depth = max(depth, d)
    return depth


def reached_from(own: set[str], links_of: dict[str, list[dict[str, Any]]], hops: int | None) -> set[str]:
    """The clients not in ``own`` that at most ``hops`` links (None: any number) lead to from it."""
    seen, frontier, step = set(own), set(own), 0
    while frontier and (hops is None or step < hops):
        nxt = {str(ln[end]) for i in frontier for ln in links_of.get(i, []) for end in (FROM, TO)} - seen
        seen |= nxt
        frontier, step = nxt, step + 1
    return seen - own


@dataclass
class ManagerResult:
    manager_id: str
    decision: Decision
    worklist: Worklist


def decide_partition(advisor: Advisor, part: Partition, as_of: dt.date) -> ManagerResult:
    """Decide one manager's book with precomputed gates and build its worklist."""
    fs = build_fact_set(part.facts, as_of, advisor.book.kb, part.sources, history=part.history)
    decision = advisor.decide(fs, gates=part.gates, chained=part.chained)
    if part.context:  # the other books' clients are decided in their own books
        others = set(part.context)
        decision = decision.model_copy(update={"clients": [c for c in decision.clients if c.id not in others]})
    client_facts = {str(c["id"]): c for c in part.facts["client"]}
    manager = decision.managers[0] if decision.managers else None
    worklist = build_worklist(part.manager_id, part.capacity, decision.clients, client_facts, manager,
                              advisor.book.kb.action_kinds())
    return ManagerResult(part.manager_id, decision, worklist)


T = TypeVar("T")

#: the advisor of this worker process (set by :func:`_init_worker`; empty in the calling process)
_worker: dict[str, Advisor] = {}


def _init_worker(advisor: Advisor | None, texts: tuple[dict[str, str], dict[str, str]] | None,
                 engine: Engine = "compiled") -> None:
    """Runs once in each worker process of one pool: a forked worker is given the compiled advisor,
    a spawned one compiles the same texts. Decisions are millions of small objects without cycles
    that matter; the cyclic collector re-scanning them made a 30,000-client run about 2x slower
    (681 vs about 1,300 clients/s), so a worker, which lives for this pool only, runs without it.
    The calling process (perhaps a host application) keeps its collector as it is."""
    if advisor is None and texts is not None:
        advisor = Advisor.from_files(*texts, engine=engine)
    if advisor is not None:
        _worker["advisor"] = advisor
    gc.disable()


def _decide_chunk(chunk: list[Partition], as_of: dt.date) -> list[tuple[str, str, str]]:
    # JSON crosses the process boundary ~10x faster than pickled pydantic models (measured)
    out = []
    for p in chunk:
        r = decide_partition(_worker["advisor"], p, as_of)
        out.append((r.manager_id, r.decision.model_dump_json(), r.worklist.model_dump_json()))
    return out


def worker_pool(advisor: Advisor, jobs: int, texts: tuple[dict[str, str], dict[str, str]]) -> ProcessPoolExecutor:
    """``jobs`` worker processes with the advisor's book: forked workers inherit it compiled,
    elsewhere (no fork) each compiles ``texts``."""
    fork = "fork" in mp.get_all_start_methods()
    return ProcessPoolExecutor(jobs, mp_context=mp.get_context("fork" if fork else "spawn"), initializer=_init_worker,
                               initargs=(advisor, None) if fork else (None, texts, advisor.engine))


def worker_advisor() -> Advisor:
    """In a worker process of :func:`worker_pool`: the advisor it was given or compiled."""
    return _worker["advisor"]


def _hand_chunk(chunk: list[Partition], as_of: dt.date, hand: Callable[[list[ManagerResult], list[Partition], int], T],
                index: int) -> T:
    """In a worker: the books of ``chunk`` decided, and what ``hand`` makes of them there."""
    return hand([decide_partition(_worker["advisor"], p, as_of) for p in chunk], chunk, index)


def hand_partitions(advisor: Advisor, parts: list[Partition], as_of: dt.date, jobs: int,
                    texts: tuple[dict[str, str], dict[str, str]],
                    hand: Callable[[list[ManagerResult], list[Partition], int], T],
                    progress: Callable[[int], None] | None = None) -> list[T]:
    """Every book decided in ``jobs`` worker processes, in buckets of consecutive managers
    (:func:`buckets`, about four per worker), each bucket's results handed, in the worker that decided
    them, to ``hand`` (with the books and the bucket's number; it must pickle); what ``hand`` returned
    of each bucket, in bucket order. The decisions stay in the workers: a batch writes its outputs
    there (``hand`` is its writer) and only what ``hand`` returns crosses back."""
    bins = buckets(parts, jobs * 4)
    out: list[T] = []
    with worker_pool(advisor, jobs, texts) as pool:
        n = len(bins)
        for chunk, done in zip(bins, pool.map(_hand_chunk, bins, [as_of] * n, [hand] * n, range(n)), strict=True):
            out.append(done)
            if progress:
                progress(sum(p.subjects for p in chunk))
    return out


def _result(item: tuple[str, str, str]) -> ManagerResult:
    manager_id, decision, worklist = item
    return ManagerResult(manager_id, Decision.model_validate_json(decision), Worklist.model_validate_json(worklist))


def decide_partitions(advisor: Advisor, parts: list[Partition], as_of: dt.date, jobs: int = 1,
                      texts: tuple[dict[str, str], dict[str, str]] | None = None,
                      progress: Callable[[int], None] | None = None) -> list[ManagerResult]:
    """Decide every partition, in ``jobs`` worker processes when ``texts`` (rule and knowledge-base
    file texts, to compile the same book in each worker) are given; results ordered by manager."""
    return _decide_all(advisor, parts, as_of, jobs, texts, progress)


def _decide_all(advisor: Advisor, parts: list[Partition], as_of: dt.date, jobs: int,
                texts: tuple[dict[str, str], dict[str, str]] | None,
                progress: Callable[[int], None] | None) -> list[ManagerResult]:
    results: list[ManagerResult] = []
    if jobs <= 1 or texts is None or len(parts) < 2:
        with paused():  # as below: the decisions kept are what the collector would re-scan
            for p in parts:
                results.append(decide_partition(advisor, p, as_of))
                if progress:
                    progress(p.subjects)
    else:
        # the decisions parsed back are millions of objects: with the collector on, its re-scans of
        # them were 90% of parsing, and the calling process could not keep up with two workers
        with paused(), worker_pool(advisor, jobs, texts) as pool:
            chunks = buckets(parts, jobs * 4)
            for chunk, done in zip(chunks, pool.map(_decide_chunk, chunks, [as_of] * len(chunks)), strict=True):
                results.extend(_result(x) for x in done)
                if progress:
                    progress(sum(p.subjects for p in chunk))
    return sorted(results, key=lambda r: r.manager_id)


def buckets(parts: list[Partition], n: int) -> list[list[Partition]]:
    """About ``n`` buckets of similar size (a book weighs its clients and its manager), each a run of
    consecutive managers in id order, so that the buckets in order hold the books in the order a
    local run gives them (their written parts join in that order); none is empty."""
    ordered = sorted(parts, key=lambda p: p.manager_id)
    n = max(1, min(n, len(ordered)))
    total = sum(p.subjects for p in ordered)
    bins: list[list[Partition]] = [[]]
    done = 0
    for i, p in enumerate(ordered):
        # a new bucket when this one has its share, or when the books left are just enough for the rest
        if bins[-1] and len(bins) < n and (done >= total * len(bins) / n or len(ordered) - i <= n - len(bins)):
            bins.append([])
        bins[-1].append(p)
        done += p.subjects
    return bins


def with_propensities(results: list[ManagerResult], parts: list[Partition], advisor: Advisor,
                      table: PropensityTable | None) -> list[ManagerResult]:
    """Every book's clients ranked with the acceptance evidence of the decision log (``table``), as
    :meth:`Advisor.decide` ranks with it; each decision records what it looked up. Before the contact
    policies, which rebuild the worklists."""
    if table is None:
        return results
    kb, facts_of = advisor.book.kb, {p.manager_id: p for p in parts}
    out = []
    for r in results:
        standing = standing_of(facts_of[r.manager_id].facts.get("client", []), kb)
        clients, looked_up = rank(r.decision.clients, advisor.book.arbitration, table, standing, kb)
        out.append(ManagerResult(r.manager_id, r.decision.model_copy(
            update={"clients": clients, "propensities": looked_up}), r.worklist))
    return out


def with_policies(results: list[ManagerResult], parts: list[Partition], advisor: Advisor,
                  history: list[Any], as_of: dt.date, settled: Settled | None = None) -> list[ManagerResult]:
    """Apply the contact policies across the whole portfolio (portfolio volume caps count every
    manager's clients together), then rebuild the worklists from what is left. With ``settled``
    (what the caps decided over the whole portfolio about the clients a volume cap ties together,
    :func:`engine.policies.contact.settle_caps`), ``results`` may be some of the books only."""
    book = advisor.book
    clients = [c for r in results for c in r.decision.clients]
    managers = [m for r in results for m in r.decision.managers]
    new_clients, new_managers = apply_policies(clients, managers, book.policies, history, as_of, book.kb, settled)
    by_client = {c.id: c for c in new_clients}
    by_manager = {m.id: m for m in new_managers}
    facts_of = {p.manager_id: p for p in parts}
    kinds = book.kb.action_kinds()
    out = []
    for r in results:
        decision = r.decision.model_copy(update={
            "clients": [by_client[c.id] for c in r.decision.clients],
            "managers": [by_manager[m.id] for m in r.decision.managers]})
        part = facts_of[r.manager_id]
        client_facts = {str(c["id"]): c for c in part.facts["client"]}
        manager = decision.managers[0] if decision.managers else None
        out.append(ManagerResult(r.manager_id, decision, build_worklist(
            r.manager_id, part.capacity, decision.clients, client_facts, manager, kinds)))
    return out


def facts_document(part: Partition, as_of: dt.date, kb: KnowledgeBase) -> dict[str, Any]:
    """A manager's book as a facts document (the shape `Advisor.decide` and the decision log take):
    what a single decision would be posted, so that its replay is the batch's decision, traces included.

    The clients and the manager carry their given fields, without those the batch derived from
    history (``part.sources``), and the ``interactions`` are the book's history events, not the
    open items derived from them: deciding the document derives those fields again from the same
    events (:mod:`engine.derivation.facts`), with the same values and the same events behind them."""
    facts = {t: [_given(f, part.sources.get(SubjectKey(t, str(f.get("id"))), {})) for f in fs]
             for t, fs in part.facts.items()}
    facts["interaction"] = part.history
    return {"as_of": as_of.isoformat(), **{kb.facts[t].plural: [
        {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in f.items()} for f in fs]
        for t, fs in facts.items()}}


def _given(fact: dict[str, Any], derived: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    """``fact`` without the fields history gave it."""
    return {k: v for k, v in fact.items() if k not in derived}


@dataclass
class PortfolioRun:
    """Everything a batch produced."""

    tables: PortfolioTables
    derived: Derived | None  # None: the books were prepared on a backend's workers, shard by shard
    results: list[ManagerResult] = field(default_factory=list)

    def decisions(self) -> Iterable[Decision]:
        return (r.decision for r in self.results)
