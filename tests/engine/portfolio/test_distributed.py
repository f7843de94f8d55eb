"""engine/portfolio/distributed.py: a batch whose books are decided on a Dask cluster (a local one
of two worker processes here) gives what a local run gives — every decision, worklist, bad row
and count — logged or not, and still does when a worker is lost mid-run. The runs here spill the
checked rows in shards that the workers prepare (engine/portfolio/shards.py, as ``rm-advisor batch
--backend dask`` runs), but for one that hands the workers books prepared in the calling process."""

from __future__ import annotations

import datetime as dt
import os
import signal
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from distributed import Client

from rm_advisor.cli.outputs import PARTS, OutputWriter, TableFormat
from rm_advisor.engine import Advisor
from rm_advisor.engine.language import Decision, FeedbackEvent, PropensityTable, SubjectKey
from rm_advisor.engine.loading import read_kb_files, read_rule_files
from rm_advisor.engine.policies import EffectivenessReport, PolicySet, PropensitySettings
from rm_advisor.engine.portfolio import (
    BatchPlan,
    BatchResult,
    Chunk,
    PortfolioTables,
    Report,
    TableInput,
    generate,
    run_batch,
)
from rm_advisor.engine.portfolio.distributed import DaskBackend, Texts, connect_cluster
from rm_advisor.engine.portfolio.run import buckets
from rm_advisor.store import Store, effectiveness_report
from tests.store.conftest import db_url, pg_base_url  # noqa: F401 (fixtures: SQLite and PostgreSQL)

ROOT = Path(__file__).resolve().parents[3]
AS_OF = dt.date(2026, 11, 23)
SEEDS = (1, 2, 3)


@pytest.fixture(scope="module")
def texts() -> Texts:
    return read_rule_files(ROOT / "rules", relative=True), read_kb_files(ROOT / "knowledge_base", relative=True)


@pytest.fixture(scope="module")
def book(texts: Texts) -> Advisor:
    return Advisor.from_files(*texts)


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    """A local cluster of two worker processes, one thread each, for the whole module."""
    with connect_cluster(None, workers=2) as c:
        yield c


def portfolio(seed: int, clients: int = 240, managers: int = 6) -> dict[str, pd.DataFrame]:
    """A generated portfolio with links and a few bad rows: a client of an unknown manager, a bad date, an
    event of an unknown client (and so the events of the skipped client are skipped too), a link to
    an unknown client."""
    p = generate(clients, managers, seed=seed, as_of=AS_OF)
    cl, hist, links = p.clients.copy(), p.history.copy(), p.links.copy()
    cl.loc[cl.index[3], "manager_id"] = "M-nobody"
    hist["date"] = hist["date"].astype(object)
    hist.loc[hist.index[5], "date"] = "2026-13-40"
    hist.loc[hist.index[8], "client_id"] = "C-nobody"
    links.loc[links.index[-1], "to_client"] = "C-nobody"
    return {"clients": cl, "managers": p.managers, "history": hist, "links": links}


SPILLS: list[Path] = []  # where this module's runs on the cluster spill their shards


@pytest.fixture(autouse=True, scope="module")
def _spills(tmp_path_factory: pytest.TempPathFactory) -> None:
    SPILLS[:] = [tmp_path_factory.mktemp("spill")]


def plan(frames: dict[str, pd.DataFrame], texts: Texts, **kw: Any) -> BatchPlan:
    """A run of ``frames``; on a backend, with the checked rows spilled in shards (unless ``spill`` says otherwise)."""
    def read(name: str) -> TableInput:
        return TableInput(list(frames[name].columns), [Chunk(frames[name])])
    if "backend" in kw:
        kw.setdefault("spill", Path(tempfile.mkdtemp(dir=SPILLS[0])))
    return BatchPlan(AS_OF, nullcontext(read), {n: f"in/{n}.csv" for n in frames}, texts=texts, **kw)


def outcome(result: BatchResult, report: Report) -> dict[str, Any]:
    """Everything a run produced that a user reads, in comparable form (decision ids aside)."""
    return {"decisions": [r.decision.model_dump(mode="json", exclude={"id"}) for r in result.run.results],
            "worklists": [r.worklist.model_dump(mode="json") for r in result.run.results],
            "counts": result.counts,
            "bad rows": [(d.code, d.location.file, d.location.line, d.location.path, d.message) for d in report.held]}


def local_run(book: Advisor, frames: dict[str, pd.DataFrame], texts: Texts, **kw: Any) -> dict[str, Any]:
    report = Report()
    return outcome(run_batch(book, plan(frames, texts, jobs=1, **kw), report), report)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_dask_run_decides_every_book_as_a_local_run(seed: int, book: Advisor, texts: Texts,
                                                      client: Client) -> None:
    frames = portfolio(seed)
    report = Report()
    result = run_batch(book, plan(frames, texts, backend=DaskBackend(client, texts)), report)
    got = outcome(result, report)
    assert got == local_run(book, frames, texts)
    assert result.workers == 2
    assert len(got["bad rows"]) >= 4 and got["counts"].managers == 6
    last_link = len(frames["links"]) + 1  # the line of the link to an unknown client
    assert ("fact_bad_value", "in/links.csv", last_link, "to_client") in {b[:4] for b in got["bad rows"]}


def test_books_prepared_in_the_calling_process_are_decided_on_the_cluster_as_a_local_run(
        book: Advisor, texts: Texts, client: Client) -> None:
    frames = portfolio(1)
    report = Report()
    result = run_batch(book, plan(frames, texts, backend=DaskBackend(client, texts), spill=None), report)
    assert outcome(result, report) == local_run(book, frames, texts)
    assert result.run.derived is not None  # prepared here


def test_a_sharded_run_holds_only_ids_in_the_calling_process_and_links_reach_across_buckets(
        book: Advisor, texts: Texts, client: Client) -> None:
    from rm_advisor.engine.portfolio.shards import Sharded

    frames = portfolio(3, clients=300, managers=9)
    # an event of one manager's client that names another manager: both books count it, so their
    # shards (and those between) are decided as one bucket
    hist = frames["history"]
    mine = frames["clients"].set_index("id")["manager_id"]
    row = hist.index[hist["client_id"].map(mine).eq("MB1")][0] if (hist["client_id"].map(mine) == "MB1").any() \
        else hist.index[20]
    hist.loc[row, "manager_id"] = sorted(frames["managers"]["id"])[-1]
    report = Report()
    spilled: list[Sharded] = []
    result = run_batch(book, plan(frames, texts, backend=Watched(DaskBackend(client, texts), spilled)), report)
    assert outcome(result, report) == local_run(book, frames, texts)
    tables = result.run.tables
    assert len(tables.clients.frame) == 0 and len(tables.history.frame) == 0  # the rows went to the shards
    assert tables.clients.kept is not None and len(tables.clients.kept) == result.counts.clients
    [sharded] = spilled
    assert 1 < len(sharded.buckets) < len(sharded.spill.starts)  # the tied shards are one bucket
    assert any(len(b.shards) > 1 for b in sharded.buckets)
    assert sum(bool(b.context) for b in sharded.buckets) >= 2  # buckets read clients of others through links


class Watched:
    """A backend that keeps the sharded portfolios it was given."""

    def __init__(self, backend: DaskBackend, seen: list[Any]) -> None:
        self.backend, self.seen = backend, seen

    @property
    def workers(self) -> int:
        return self.backend.workers

    def decide(self, advisor: Advisor, parts: Any, as_of: dt.date, *args: Any) -> Any:
        self.seen.append(parts)
        return self.backend.decide(advisor, parts, as_of, *args)

    def write(self, advisor: Advisor, parts: Any, as_of: dt.date, *args: Any) -> Any:
        self.seen.append(parts)
        return self.backend.write(advisor, parts, as_of, *args)


@pytest.mark.parametrize("n", [1, 3, 4, 9, 20])
def test_buckets_are_runs_of_managers_in_id_order_of_similar_size(book: Advisor, texts: Texts, n: int) -> None:
    from rm_advisor.engine.portfolio import check_tables, prepare

    frames = portfolio(1, clients=400, managers=9)
    tables = check_tables(frames["clients"], frames["managers"], frames["history"], book.book.kb, AS_OF)
    _, parts = prepare(tables, book.book.kb, None)
    bins = buckets(parts, n)
    assert len(bins) == min(n, 9) and all(bins)
    # the buckets in order hold every book once, in manager order: their parts join in a local run's order
    assert [p.manager_id for b in bins for p in b] == sorted(p.manager_id for p in parts)
    if n == 3:  # balanced: no bucket is twice another's size
        sizes = [sum(p.subjects for p in b) for b in bins]
        assert max(sizes) < 2 * min(sizes), sizes


class StoreLog:
    """The decision log of a logged batch on a real store (as ``rm-advisor batch --db`` opens it)."""

    def __init__(self, url: str, book: Advisor) -> None:
        self.url, self.book = url, book

    def __enter__(self) -> StoreLog:
        self.store = Store(self.url, self.book.book.kb)
        return self

    def __exit__(self, *exc: object) -> None:
        self.store.close()

    def feedback(self, subjects: list[SubjectKey], as_of: dt.date, policies: PolicySet) -> list[FeedbackEvent]:
        return self.store.feedback.history_for(subjects, as_of, policies)

    def record(self, decision: Decision, facts: dict[str, Any], history: list[FeedbackEvent],
               decision_id: str | None = None) -> Decision:
        return self.store.decisions.record(decision, facts, self.book.book, "batch", history, decision_id=decision_id,
                                           once=True)

    def effectiveness(self, since: dt.date, until: dt.date) -> EffectivenessReport:
        return effectiveness_report(self.store, since, until)

    def propensities(self, as_of: dt.date, settings: PropensitySettings) -> PropensityTable | None:
        return None

    def logged(self) -> list[str]:
        """The manager of every decision in the log, one entry per decision."""
        with Store(self.url, self.book.book.kb) as store:
            return sorted(store.decisions.get(d.id).decision.managers[0].id for d in store.decisions.recent(1000))

    def rows(self, leave_out: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
        """Every decision the log holds (those of ``leave_out`` aside), as a
        user reads it back, by manager: input, output and the feedback its policies saw, ids and
        times aside."""
        with Store(self.url, self.book.book.kb) as store:
            found = [store.decisions.get(d.id) for d in store.decisions.recent(1000)]
        return sorted(({"manager": d.decision.managers[0].id, "source": d.source, "revision": d.revision,
                        "as_of": d.as_of, "input": d.input, "history": d.history,
                        "decision": d.decision.model_dump(mode="json", exclude={"id"})}
                       for d in found if d.id not in leave_out), key=lambda r: r["manager"])


def test_a_logged_dask_run_records_each_book_once_as_a_local_run(db_url: str, book: Advisor,
                                                                 texts: Texts, client: Client,
                                                                 tmp_path: Path) -> None:
    frames = portfolio(4)
    log = StoreLog(db_url, book)
    report = Report()
    result = run_batch(book, plan(frames, texts, backend=DaskBackend(client, texts), log=log,
                                  open_log=partial(StoreLog, db_url)), report)
    local_log = StoreLog(f"sqlite:///{tmp_path / 'local.db'}", book)
    assert outcome(result, report) == local_run(book, frames, texts, log=local_log)
    assert result.logged == 6 and all(r.decision.id for r in result.run.results)
    assert log.logged() == sorted(r.manager_id for r in result.run.results)
    assert log.rows() == local_log.rows()  # what the log holds, written by the workers, is a local run's


def tight(texts: Texts) -> Texts:
    """The shipped rule set with contact policies that bind on a small portfolio: at most 6 clients
    a week get a counter placement and 8 a referral ask, across the portfolio, and at most 2
    contacts a client; so the volume caps rank actions of every book together, and tie them to
    the client caps."""
    rules = dict(texts[0])
    name = next(n for n in rules if n.endswith("contact.policies.yaml"))
    text = rules[name].replace("    max: 50\n", "    max: 6\n").replace("    max: 5\n", "    max: 2\n")
    rules[name] = text + """  - id: referral_weekly_volume
    kind: action_volume_cap
    title: {zh: 每周最多8户转介绍, en: At most 8 referral asks a week}
    action: ask_for_referral
    max: 8
"""
    return rules, texts[1]


def seed_feedback(url: str, book: Advisor, frames: dict[str, pd.DataFrame], texts: Texts) -> None:
    """A logged local run, then feedback on its decisions dated on the as-of day: two counter
    placements and two referral asks accepted (they take this week's slots), a few actions done
    (they rest for 14 days and count as this week's contacts)."""
    log = StoreLog(url, book)
    result = run_batch(book, plan(frames, texts, jobs=1, log=log))
    from rm_advisor.store.feedback import FeedbackInput

    wanted = {"counter_placement": 2, "ask_for_referral": 2, "periodic_visit_by_class": 3}
    with Store(url, book.book.kb) as store:
        for r in result.run.results:
            for c in r.decision.clients:
                for rec in c.recommendations:
                    if wanted.get(rec.id, 0) > 0:
                        wanted[rec.id] -= 1
                        status = "done" if rec.id == "periodic_visit_by_class" else "accepted"
                        assert r.decision.id is not None
                        store.feedback.add(FeedbackInput(decision_id=r.decision.id, subject=c.id, item=rec.id,
                                                         status=status, date=AS_OF))
    assert not any(wanted.values())


def test_the_volume_caps_hold_back_across_books_on_the_workers_what_a_local_run_holds_back(
        book: Advisor, texts: Texts, client: Client, tmp_path: Path) -> None:
    import shutil

    capped_texts = tight(texts)
    capped = Advisor.from_files(*capped_texts)
    frames = portfolio(6, clients=300, managers=8)
    seed_feedback(f"sqlite:///{tmp_path / 'seed.db'}", capped, frames, capped_texts)
    for name in ("local.db", "dask.db"):
        shutil.copy(tmp_path / "seed.db", tmp_path / name)
    with Store(f"sqlite:///{tmp_path / 'seed.db'}", capped.book.kb) as store:
        seeded = frozenset(d.id for d in store.decisions.recent(1000))
    local_log = StoreLog(f"sqlite:///{tmp_path / 'local.db'}", capped)
    dask_log = StoreLog(f"sqlite:///{tmp_path / 'dask.db'}", capped)
    report = Report()
    result = run_batch(capped, plan(frames, capped_texts, backend=DaskBackend(client, capped_texts), log=dask_log,
                                    open_log=partial(StoreLog, dask_log.url)), report)
    got = outcome(result, report)
    assert got == local_run(capped, frames, capped_texts, log=local_log)
    assert dask_log.rows(seeded) == local_log.rows(seeded)
    held = {(r.manager_id, s.policy_id) for r in result.run.results for c in r.decision.clients
            for rec in c.suppressed for s in rec.suppressed_by}
    # the caps bind, across several books, as well as the rests and the per-client cap
    for policy in ("counter_placement_weekly_volume", "referral_weekly_volume"):
        assert len({m for m, p in held if p == policy}) >= 2, policy
    assert {"client_weekly_contacts", "rest_after_done"} <= {p for _, p in held}


class KillOneWorker:
    """BatchEvents that kill one worker process (SIGKILL) as soon as the first bucket is back."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.killed = False

    def checked(self, tables: PortfolioTables) -> None:
        """Nothing to do yet."""

    @contextmanager
    def deciding(self, total: int) -> Iterator[Callable[[int], None]]:
        def advance(done: int) -> None:
            if not self.killed:
                os.kill(self.pid, signal.SIGKILL)
                self.killed = True
        yield advance


def test_a_worker_lost_mid_run_still_decides_and_logs_every_book_once(book: Advisor, texts: Texts, client: Client,
                                                                      tmp_path: Path) -> None:
    frames = portfolio(5, clients=200, managers=8)
    pids = client.run(os.getpid)
    victim = sorted(pids.values())[0]
    log = StoreLog(f"sqlite:///{tmp_path / 'dask.db'}", book)
    events = KillOneWorker(victim)
    report = Report()
    result = run_batch(book, plan(frames, texts, backend=DaskBackend(client, texts), log=log,
                                  open_log=partial(StoreLog, log.url)), report, events)
    assert events.killed and victim not in client.run(os.getpid).values()
    local_log = StoreLog(f"sqlite:///{tmp_path / 'local.db'}", book)
    assert outcome(result, report) == local_run(book, frames, texts, log=local_log)
    assert log.logged() == sorted(r.manager_id for r in result.run.results)
    assert len(log.logged()) == 8
    # a bucket run again logs under the ids of its first run: the outputs name the decisions logged
    with Store(log.url, book.book.kb) as store:
        assert sorted(d.id for d in store.decisions.recent(1000)) == sorted(str(r.decision.id)
                                                                            for r in result.run.results)


OUTPUTS = ("recommendations.csv", "worklists.csv", "coaching.csv", "to_confirm.csv", "decisions.jsonl")


def written(book: Advisor, frames: dict[str, pd.DataFrame], texts: Texts, out: Path, events: Any = None,
            **kw: Any) -> tuple[BatchResult, dict[str, bytes]]:
    """A run whose outputs the batch's writer writes as ``rm-advisor batch`` does (CSV), and its files."""
    writer = OutputWriter(out, TableFormat.csv)
    out.mkdir(parents=True)
    writer.start(in_parts="backend" in kw)
    result = run_batch(book, plan(frames, texts, writer=writer, **kw), Report(), events)
    paths = writer.finish(result.parts)
    assert [p.name for p in paths] == list(OUTPUTS)
    assert not (out / PARTS).exists()  # the parts are joined and gone
    return result, {p.name: p.read_bytes() for p in paths}


def test_workers_write_the_outputs_a_local_run_writes_and_return_only_counts_and_report_pieces(
        book: Advisor, texts: Texts, client: Client, tmp_path: Path) -> None:
    frames = portfolio(2, clients=300, managers=9)
    local, local_files = written(book, frames, texts, tmp_path / "local", jobs=1)
    dask, dask_files = written(book, frames, texts, tmp_path / "dask", backend=DaskBackend(client, texts))
    assert dask_files == local_files  # byte for byte, parts joined in manager order
    assert dask.run.results == [] and len(local.run.results) == 9  # the decisions stayed on the workers
    assert dask.parts == 4 * dask.workers and local.parts == 0  # 4 buckets a worker, one part each
    assert dask.counts == local.counts and dask.counts.bad_rows >= 4
    assert dask.piece == local.piece  # what the summary and the report are made of
    assert [m["id"] for m in dask.piece.managers] == sorted(frames["managers"]["id"])


def test_a_worker_lost_mid_run_leaves_each_part_written_once(book: Advisor, texts: Texts, client: Client,
                                                             tmp_path: Path) -> None:
    frames = portfolio(5, clients=200, managers=8)
    victim = sorted(client.run(os.getpid).values())[0]
    log = StoreLog(f"sqlite:///{tmp_path / 'dask.db'}", book)
    events = KillOneWorker(victim)
    dask, files = written(book, frames, texts, tmp_path / "dask", events, backend=DaskBackend(client, texts),
                          log=log, open_log=partial(StoreLog, log.url))
    assert events.killed and victim not in client.run(os.getpid).values()
    local_log = StoreLog(f"sqlite:///{tmp_path / 'local.db'}", book)
    local, local_files = written(book, frames, texts, tmp_path / "local", jobs=1, log=local_log)
    for name in OUTPUTS[1:4]:  # the worklists, coaching and what to confirm name no decision
        assert files[name] == local_files[name], name

    def without_ids(csv: bytes) -> pd.DataFrame:
        import io
        return pd.read_csv(io.BytesIO(csv), dtype=str, keep_default_na=False).drop(columns="decision_id")
    pd.testing.assert_frame_equal(without_ids(files["recommendations.csv"]),
                                  without_ids(local_files["recommendations.csv"]))
    decisions = [Decision.model_validate_json(line) for line in files["decisions.jsonl"].splitlines()]
    assert [d.managers[0].id for d in decisions] == sorted(frames["managers"]["id"])  # each book once, in order
    assert [d.model_dump(mode="json", exclude={"id"}) for d in decisions] == \
        [r.decision.model_dump(mode="json", exclude={"id"}) for r in local.run.results]
    with Store(log.url, book.book.kb) as store:  # the parts name the decisions logged, each once
        assert sorted(d.id for d in store.decisions.recent(1000)) == sorted(str(d.id) for d in decisions)
    assert dask.counts == local.counts and dask.piece == local.piece and dask.logged == 8
