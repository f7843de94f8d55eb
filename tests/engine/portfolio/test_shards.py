"""engine/portfolio/shards.py: the checked rows of a sharded run go to shards of consecutive
managers, each client and event with its manager; an event that ties two shards makes one bucket
of them and of the shards between; a bucket's tables, read back, hold exactly the rows the check
kept for its managers, and the clients of other buckets its links reach."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from rm_advisor.engine import Advisor
from rm_advisor.engine.portfolio import check_tables, generate
from rm_advisor.engine.portfolio.distributed import Texts
from rm_advisor.engine.portfolio.run import PortfolioTables, link_hops, reached_from
from rm_advisor.engine.portfolio.shards import Spill, bucket_tables, export_context, wanted
from tests.engine.portfolio.test_distributed import portfolio, texts, written  # noqa: F401 (texts: a fixture)

AS_OF = dt.date(2026, 11, 23)


@pytest.fixture(scope="module")
def book() -> Advisor:
    return Advisor.load()


def spilled(book: Advisor, root: Path, frames: dict[str, pd.DataFrame], shards: int) -> tuple[Spill, PortfolioTables]:
    spill = Spill(root, shards, as_of=AS_OF)
    tables = check_tables(frames["clients"], frames["managers"], frames["history"], book.book.kb, AS_OF,
                          links=frames.get("links"), spill=spill)
    return spill, tables


def sample(clients: int = 400, managers: int = 12) -> dict[str, pd.DataFrame]:
    p = generate(clients, managers, seed=11, as_of=AS_OF)
    return {"clients": p.clients, "managers": p.managers, "history": p.history, "links": p.links}


def test_shards_are_runs_of_consecutive_managers_with_their_clients_and_events(book: Advisor, tmp_path: Path) -> None:
    frames = sample()
    spill, tables = spilled(book, tmp_path, frames, 4)
    ids = sorted(frames["managers"]["id"])
    assert spill.starts == [ids[0], ids[3], ids[6], ids[9]]
    whole = check_tables(frames["clients"], frames["managers"], frames["history"], book.book.kb, AS_OF)
    buckets = spill.buckets(None, 0)
    assert [b.shards for b in buckets] == [(0,), (1,), (2,), (3,)]  # no event ties two shards
    seen: dict[str, list[str]] = {"clients": [], "history": []}
    for b in buckets:
        t = bucket_tables(tmp_path, b, AS_OF)
        managers = set(t.managers.frame.index)
        assert managers == set(ids[3 * b.index:3 * b.index + 3])
        assert set(t.clients.frame["manager_id"]) <= managers
        assert set(t.history.frame["client_id"].dropna()) <= set(t.clients.frame.index)
        seen["clients"] += list(t.clients.frame.index)
        seen["history"] += list(t.history.frame.index)
        # the rows as the check typed them
        pd.testing.assert_frame_equal(t.clients.frame, whole.clients.frame.loc[t.clients.frame.index])
    assert sorted(seen["clients"]) == sorted(whole.clients.frame.index)  # every row once
    assert sorted(seen["history"]) == sorted(whole.history.frame.index)
    assert len(tables.clients.frame) == 0 and tables.clients.kept == frozenset(whole.clients.frame.index)
    assert spill.recorded == set(whole.history.frame.loc[whole.history.frame["date"].le(pd.Timestamp(AS_OF))
                                                         | whole.history.frame["date"].isna(), "kind"])


def test_an_event_naming_another_shards_manager_joins_the_shards_between_into_one_bucket(book: Advisor,
                                                                                        tmp_path: Path) -> None:
    frames = sample()
    ids = sorted(frames["managers"]["id"])
    hist = frames["history"].copy()
    of = frames["clients"].set_index("id")["manager_id"]
    row = hist.index[hist["client_id"].map(of).eq(ids[4])][0]  # a client of shard 1 ...
    hist.loc[row, "manager_id"] = ids[8]  # ... and a manager of shard 2
    spill, _ = spilled(book, tmp_path, {**frames, "history": hist}, 4)
    assert [b.shards for b in spill.buckets(None, 0)] == [(0,), (1, 2), (3,)]
    hist.loc[row, "manager_id"] = ids[11]  # shard 3: shard 2 joins too, between them
    spill, _ = spilled(book, tmp_path / "again", {**frames, "history": hist}, 4)
    assert [b.shards for b in spill.buckets(None, 0)] == [(0,), (1, 2, 3)]


def test_a_bucket_reads_the_clients_its_links_reach_from_the_shards_they_are_in(book: Advisor,
                                                                               tmp_path: Path) -> None:
    frames = sample()
    spill, tables = spilled(book, tmp_path, frames, 4)
    assert tables.links is not None
    hops = link_hops(book.book)
    buckets = spill.buckets(tables.links, hops)
    for shard, wants in wanted(buckets, spill.client_shard).items():
        export_context(tmp_path, shard, wants)
    links_of: dict[str, list[dict[str, str]]] = {}
    for a, b in zip(frames["links"]["from_client"], frames["links"]["to_client"], strict=True):
        for end in {a, b}:
            links_of.setdefault(end, []).append({"from_client": a, "to_client": b})
    assert sum(bool(b.context) for b in buckets) >= 2
    for b in buckets:
        own = {c for c, s in spill.client_shard.items() if s in b.shards}
        assert set(b.context) == reached_from(own, links_of, hops)
        t = bucket_tables(tmp_path, b, AS_OF)
        assert set(t.clients.frame.index) == own | set(b.context)
        events = frames["history"]
        assert set(t.history.frame.index) == set(events.loc[events["client_id"].isin(own | set(b.context)), "id"]) \
            | set(events.loc[events["client_id"].isna() & events["manager_id"].isin(t.managers.frame.index), "id"])
        assert t.links is not None and set(t.links.frame["from_client"]) | set(t.links.frame["to_client"]) \
            >= set(b.context)


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_dry_run_in_shards_on_this_machine_writes_what_a_run_in_memory_writes(book: Advisor, texts: Texts,
                                                                                 tmp_path: Path, jobs: int) -> None:
    frames = portfolio(8, clients=300, managers=9)  # links, and a few bad rows
    t = texts
    whole, whole_files = written(book, frames, t, tmp_path / "whole", jobs=1)
    shards, shard_files = written(book, frames, t, tmp_path / "shards", jobs=jobs, spill=tmp_path / "spill")
    assert shard_files == whole_files  # byte for byte
    assert shards.counts == whole.counts and shards.counts.bad_rows >= 4
    assert shards.piece == whole.piece  # the summary and the report
    assert shards.run.results == [] and shards.run.derived is None  # nothing decided came back here
    assert shards.parts == 4 * jobs and len(shards.run.tables.clients.frame) == 0  # 4 buckets a worker, at least
