"""A checked portfolio cut into shards on disk, so that no process holds all of it.

The calling process checks the tables as a local run does (:func:`engine.portfolio.run.read_tables`:
the same diagnostics in the same order, the same row limit), but the good rows of the clients and of
the history go, chunk by chunk, to the files of a spill directory, one file per table and shard,
instead of staying in memory (:class:`Spill`); it keeps their ids (for the references and the
duplicate check), which shard each client is in, and the managers and links tables, which are small.
Each bucket of shards is then read by a worker in two passes: its managers derived for the team
benchmarks, which the calling process computes over every bucket's (:func:`derived_managers`),
then the bucket derived, gated and cut into books with those benchmarks (:func:`prepare_bucket`),
decided and written there (:mod:`engine.portfolio.distributed` on a cluster,
:func:`engine.portfolio.batch.run_batch` in local worker processes).

* A **shard** is a run of consecutive managers in id order (about as many managers in each), with
  their clients and those clients' events; an event of no known client goes with the manager it
  names, an event of neither with the first shard.
* A **bucket** is a run of consecutive shards decided together: one shard, unless an event ties
  two (its client in one shard, the manager it names in another, so both books count it); the
  shards between them then join too, so that a bucket stays a run of managers in id order, whose
  written parts join in a local run's order.
* A book carries the clients of other books its links reach (:class:`engine.portfolio.run.Partition`'s
  ``context``): before the buckets are prepared, each shard those clients are in copies them, with
  their events, for the buckets that need them (:func:`export_context`), and each bucket gets the
  links that touch its own or its context clients.

Every file is written under a temporary name and renamed, so a task run again (a lost worker)
writes the same file again; the spill directory must be one every worker reads (for a running
cluster, shared storage).
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import os
import pickle
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rm_advisor.engine.derivation.frames import records
from rm_advisor.engine.derivation.history import Prefer, derive, recorded_kinds
from rm_advisor.engine.language.knowledge import KnowledgeBase
from rm_advisor.engine.language.links import FROM, LINK_FACT, TO
from rm_advisor.engine.portfolio.bulk import BulkGates
from rm_advisor.engine.portfolio.run import Partition, PortfolioTables, Teams, prepare, reached_from, team_facts
from rm_advisor.engine.portfolio.tables import Table

#: buckets per worker: enough to balance uneven books and to lose little when a worker is lost
BUCKETS_PER_WORKER = 4
#: managers in one shard at most (more shards than that when there are more workers to feed)
SHARD_MANAGERS = 100
#: rows held in memory across all shards before they are appended to the shards' files
FLUSH_ROWS = 200_000
#: the tables that go to the spill directory (the managers and links stay with the caller too)
SPILLED = ("managers", "clients", "history")


def _path(root: Path, table: str, shard: int) -> Path:
    return root / f"{table}-{shard:05d}.pkl"


def _context_path(root: Path, bucket: int, shard: int) -> Path:
    return root / f"context-{bucket:05d}-from-{shard:05d}.pkl"


def _derived_path(root: Path, bucket: int) -> Path:
    return root / f"derived-{bucket:05d}.pkl"


def _write(path: Path, value: Any) -> None:
    """``value`` pickled to ``path`` under a temporary name, then renamed (a task run again rewrites it whole)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as fh:
        pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(path)


def _frames(path: Path) -> list[pd.DataFrame]:
    """The frames appended to ``path`` (none when it does not exist). Spill files are written by
    :class:`Spill` in this run, never taken from outside."""
    out: list[pd.DataFrame] = []
    if not path.exists():
        return out
    with path.open("rb") as fh:
        while True:
            try:
                out.append(pickle.load(fh))
            except EOFError:
                return out


@dataclass(frozen=True)
class Bucket:
    """Consecutive shards decided together, and the clients of other buckets its books' links reach."""

    index: int
    shards: tuple[int, ...]
    subjects: int  # its managers and clients (what progress counts)
    context: tuple[str, ...] = ()  # client ids, sorted
    sources: tuple[int, ...] = ()  # the shards those clients are in
    links: pd.DataFrame | None = None  # the links that touch its own or its context clients (None: no links table)


@dataclass
class Spill:
    """The shards of one run in ``root``, as the calling process writes them while it checks the
    tables (:meth:`managers` once the managers are checked, then :meth:`sink` for the clients and
    the history, then :meth:`close`), and plans the buckets (:meth:`buckets`).

    ``shards`` is the least number of shards (enough buckets to keep every worker busy); there are
    more when the managers are more than :data:`SHARD_MANAGERS` each."""

    root: Path
    shards: int = 1
    starts: list[str] = field(default_factory=list)  # the first manager id of each shard
    client_shard: dict[str, int] = field(default_factory=dict)
    empty: dict[str, pd.DataFrame] = field(default_factory=dict)  # each table's columns and types, no rows
    as_of: dt.date | None = None  # the run's date: what the history records up to it (:attr:`recorded`)
    recorded: set[str] = field(default_factory=set)  # the kinds of events the history records
    _ties: list[tuple[int, int]] = field(default_factory=list)  # shards an event ties together
    _held: dict[tuple[str, int], list[pd.DataFrame]] = field(default_factory=dict)
    _rows: int = 0
    _counts: dict[int, int] = field(default_factory=dict)  # shard -> managers and clients

    def managers(self, table: Table) -> None:
        """Cut the checked managers into shards of consecutive ids and write them."""
        self.root.mkdir(parents=True, exist_ok=True)
        ids = sorted(table.ids)
        n = max(1, min(len(ids), max(self.shards, math.ceil(len(ids) / SHARD_MANAGERS))))
        self.starts = [ids[i * len(ids) // n] for i in range(n)] if ids else [""]
        self._put("managers", table.frame, self.shard_of(table.frame["id"].astype(str)) if len(table.frame) else [])
        for s in self.shard_of(list(ids)):
            self._counts[s] = self._counts.get(s, 0) + 1

    def shard_of(self, manager_ids: Iterable[Any]) -> list[int]:
        """The shard of each manager id (the first shard for none, or an id before the first)."""
        return [max(0, bisect.bisect_right(self.starts, str(m)) - 1) if isinstance(m, str) else 0
                for m in manager_ids]

    def sink(self, table: str) -> Callable[[pd.DataFrame], None]:
        """Where the checker of ``table`` ("clients" or "history") hands each chunk's good rows."""
        return {"clients": self._clients, "history": self._history}[table]

    def _clients(self, frame: pd.DataFrame) -> None:
        shards = self.shard_of(frame["manager_id"].tolist()) if "manager_id" in frame else [0] * len(frame)
        for cid, s in zip(frame["id"].astype(str), shards, strict=True):
            self.client_shard[cid] = s
            self._counts[s] = self._counts.get(s, 0) + 1
        self._put("clients", frame, shards)

    def _history(self, frame: pd.DataFrame) -> None:
        if self.as_of is not None and len(frame):
            self.recorded |= recorded_kinds(frame, self.as_of)
        clients = frame["client_id"].tolist() if "client_id" in frame else [None] * len(frame)
        managers = frame["manager_id"].tolist() if "manager_id" in frame else [None] * len(frame)
        by_manager = self.shard_of(managers)
        shards = []
        for c, m, sm in zip(clients, managers, by_manager, strict=True):
            sc = self.client_shard.get(str(c)) if c is not None and c == c else None
            if sc is not None and isinstance(m, str) and sm != sc:
                self._ties.append((min(sc, sm), max(sc, sm)))
            shards.append(sc if sc is not None else sm)
        self._put("history", frame, shards)

    def _put(self, table: str, frame: pd.DataFrame, shards: list[int]) -> None:
        if table not in self.empty:
            self.empty[table] = frame.iloc[:0]
        if not len(frame):
            return
        at = np.asarray(shards)
        for s in np.unique(at):
            self._held.setdefault((table, int(s)), []).append(frame[at == s])
        self._rows += len(frame)
        if self._rows >= FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        """Append what is held to the shards' files."""
        for (table, s), frames in sorted(self._held.items()):
            with _path(self.root, table, s).open("ab") as fh:
                pickle.dump(pd.concat(frames) if len(frames) > 1 else frames[0], fh, protocol=pickle.HIGHEST_PROTOCOL)
        self._held.clear()
        self._rows = 0

    def close(self, empty: dict[str, pd.DataFrame]) -> None:
        """Everything written, with each table's columns and types (:data:`SPILLED`; ``empty``'s
        for a table that had no rows to hand over)."""
        self.flush()
        _write(self.root / "columns.pkl", {t: self.empty.get(t, empty[t].iloc[:0]) for t in SPILLED})

    def buckets(self, links: Table | None, hops: int | None) -> list[Bucket]:
        """The buckets: runs of shards no event ties to another, each with the clients of other
        buckets that ``hops`` links (None: any number) reach from its own."""
        n = len(self.starts)
        end = list(range(n))  # end[i]: the last shard that must join shard i's bucket
        for a, b in self._ties:
            end[a] = max(end[a], b)
        runs: list[tuple[int, ...]] = []
        i = 0
        while i < n:
            last, j = end[i], i
            while j <= last:
                last = max(last, end[j])
                j += 1
            runs.append(tuple(range(i, last + 1)))
            i = last + 1
        bucket_of_shard = {s: k for k, run in enumerate(runs) for s in run}
        own: list[set[str]] = [set() for _ in runs]
        for cid, s in self.client_shard.items():
            own[bucket_of_shard[s]].add(cid)
        links_of: dict[str, list[dict[str, Any]]] = {}
        ends = (links.frame[FROM].astype(str), links.frame[TO].astype(str)) if links is not None else None
        if ends is not None:
            for one, other in zip(*ends, strict=True):
                ln = {FROM: one, TO: other}
                for tip in {one, other}:
                    links_of.setdefault(tip, []).append(ln)
        out = []
        for k, run in enumerate(runs):
            found = reached_from(own[k], links_of, hops) if links_of else set()
            reached = sorted(c for c in found if c in self.client_shard)
            mine = None
            if links is not None and ends is not None:
                ids = own[k] | set(reached)
                mine = links.frame[ends[0].isin(ids) | ends[1].isin(ids)]
            out.append(Bucket(k, run, sum(self._counts.get(s, 0) for s in run), tuple(reached),
                              tuple(sorted({self.client_shard[c] for c in reached})), mine))
        return out


def wanted(buckets: list[Bucket], client_shard: dict[str, int]) -> dict[int, dict[int, list[str]]]:
    """For each shard, the buckets that need some of its clients as context, and which."""
    out: dict[int, dict[int, list[str]]] = {}
    for b in buckets:
        for c in b.context:
            out.setdefault(client_shard[c], {}).setdefault(b.index, []).append(c)
    return out


def export_context(root: Path, shard: int, wants: dict[int, list[str]]) -> int:
    """On a worker: the clients of ``shard`` other buckets need (``wants``: bucket -> client ids),
    with their events, copied for each of those buckets; the shard's number."""
    clients = _concat(_frames(_path(root, "clients", shard)))
    history = _concat(_frames(_path(root, "history", shard)))
    for bucket, ids in wants.items():
        keep = set(ids)
        cs = clients[clients["id"].astype(str).isin(keep)] if clients is not None else None
        hs = history[history["client_id"].astype(str).isin(keep)] if history is not None and "client_id" in history \
            else None
        _write(_context_path(root, bucket, shard), (cs, hs))
    return shard


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame | None:
    return None if not frames else frames[0] if len(frames) == 1 else pd.concat(frames)


def bucket_tables(root: Path, bucket: Bucket, as_of: dt.date) -> PortfolioTables:
    """A bucket's tables as the checker would have kept them: its shards' rows, its context clients
    with their events, and the links that touch them."""
    with (root / "columns.pkl").open("rb") as fh:
        empty: dict[str, pd.DataFrame] = pickle.load(fh)
    got: dict[str, list[pd.DataFrame]] = {t: [] for t in SPILLED}
    for s in bucket.shards:
        for t in SPILLED:
            got[t].extend(_frames(_path(root, t, s)))
    for s in bucket.sources:
        with _context_path(root, bucket.index, s).open("rb") as fh:
            cs, hs = pickle.load(fh)
        got["clients"].extend([cs] if cs is not None else [])
        got["history"].extend([hs] if hs is not None else [])
    frames = {t: _indexed(pd.concat(got[t]) if got[t] else empty[t]) for t in SPILLED}
    links = Table(LINK_FACT, bucket.links) if bucket.links is not None else None
    return PortfolioTables(Table("client", frames["clients"]), Table("manager", frames["managers"]),
                           Table("interaction", frames["history"]), as_of, links=links)


def _indexed(frame: pd.DataFrame) -> pd.DataFrame:
    """Indexed by id, as :meth:`engine.portfolio.tables.TableChecker.table` indexes the good rows."""
    frame = frame.reset_index(drop=True)
    return frame.set_index(frame["id"].astype(str), drop=False).rename_axis(None) if "id" in frame else frame


def prepare_bucket(root: Path, bucket: Bucket, as_of: dt.date, gates: BulkGates, prefer: Prefer,
                   recorded: Collection[str], teams: Teams) -> list[Partition]:
    """Where a bucket is decided, once the shards its context comes from are exported: its tables
    and their derivation as :func:`derived_managers` left them (read again, and derived again, when
    it did not run where this one does) prepared as a local run prepares the whole portfolio
    (:func:`engine.portfolio.run.prepare`), with the portfolio's team benchmarks (``teams``, from every
    bucket's :func:`derived_managers`) and what its history records (``recorded``); its books, in
    manager id order (as buckets are)."""
    path = _derived_path(root, bucket.index)
    tables, derived = None, None
    if path.exists():
        with path.open("rb") as fh:
            tables, derived = pickle.load(fh)
        path.unlink()  # read once: the spill holds no more than the buckets not yet decided
    _, parts = prepare(tables or bucket_tables(root, bucket, as_of), gates.book.kb, gates, prefer, teams=teams,
                       recorded=recorded, derived=derived)
    return sorted(parts, key=lambda p: p.manager_id)


def in_table_order(managers: list[dict[str, Any]], table: Table) -> list[dict[str, Any]]:
    """Managers' records in the order of the managers table (the order a local run derives them in)."""
    position = {m: i for i, m in enumerate(table.frame.index)}
    return sorted(managers, key=lambda m: position.get(str(m.get("id")), len(position)))


@dataclass(frozen=True)
class Sharded:
    """A checked portfolio on disk, as a backend takes it instead of the books themselves: the
    spill, its buckets, the managers table (the order of the team benchmarks) and how to derive."""

    spill: Spill
    buckets: list[Bucket]
    managers: Table
    prefer: Prefer = "given"

    @property
    def subjects(self) -> int:
        return sum(b.subjects for b in self.buckets)

    @property
    def recorded(self) -> frozenset[str]:
        """The kinds of events the whole history records (what every bucket derives with)."""
        return frozenset(self.spill.recorded)

    def teams(self, found: list[list[dict[str, Any]]], kb: KnowledgeBase) -> Teams:
        """The team benchmarks over every bucket's derived managers (``found``, bucket by bucket:
        :func:`derived_managers`), in the managers table's order, as a local run computes them."""
        return team_facts(in_table_order([m for ms in found for m in ms], self.managers), kb)


def derived_managers(root: Path, bucket: Bucket, as_of: dt.date, kb: KnowledgeBase, prefer: Prefer,
                     recorded: Collection[str]) -> list[dict[str, Any]]:
    """A bucket's managers with their derived fields (what the team benchmarks need), derived as
    :func:`prepare_bucket` derives them; the bucket's tables and derivation are left beside its
    shards for :func:`prepare_bucket`, which then need not derive them again."""
    t = bucket_tables(root, bucket, as_of)
    derived = derive(t.clients.frame, t.managers.frame, t.history.frame, as_of, kb, prefer, recorded)
    _write(_derived_path(root, bucket.index), (t, derived))
    return records(derived.managers, kb.facts["manager"]) if len(derived.managers) else []
