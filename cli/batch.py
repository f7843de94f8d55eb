"""``rm-advisor batch`` and ``rm-advisor sample-portfolio``: portfolio runs from CSV or Parquet.

The adapter parses the options, opens the tables (:mod:`cli.tableio`: encodings, bad rows, chunks)
and the decision log for :func:`engine.portfolio.run_batch`, which runs the batch in order and
writes the output tables as it goes through the command's writer (:mod:`cli.outputs`:
recommendations, worklists, coaching, what to confirm, full decisions as JSON lines; on a Dask
cluster, each worker its buckets' parts, joined here at the end). The adapter writes the bad rows
(as they are found), then the branch report and the summary from what the run returns.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from rm_advisor.cli.common import (
    EngineName,
    EngineOpt,
    Lang,
    PreferHistoryOpt,
    _,
    err,
    fail,
    json_mode,
    lang_option,
    out,
    report_error,
    require_file,
    use_format,
    use_lang,
)
from rm_advisor.cli.outputs import CsvEncoding, OutputWriter, TableFormat
from rm_advisor.cli.render import print_diagnostics
from rm_advisor.engine.messages import N_, gettext_in

if TYPE_CHECKING:

    from rm_advisor.cli.tableio import CsvRows
    from rm_advisor.engine import Advisor
    from rm_advisor.engine.errors import Diagnostic, TooManyBadRows
    from rm_advisor.engine.language import Decision, FeedbackEvent, KnowledgeBase, PropensityTable, SubjectKey
    from rm_advisor.engine.policies import EffectivenessReport, PolicySet, PropensitySettings
    from rm_advisor.engine.portfolio import (
        Backend,
        BatchPlan,
        BatchResult,
        PortfolioTables,
        Report,
        TableInput,
        TableReader,
    )

#: the default of --max-bad-rows
MAX_BAD_ROWS = 1000
#: diagnostics of each severity held for the terminal and the report (bad_rows.csv has them all)
HELD = 100
BAD_ROW_COLUMNS = ["file", "line", "column", "code", "severity", "message"]


class BackendName(StrEnum):
    """Where the books are decided."""

    local = "local"  # worker processes on this machine (--jobs)
    dask = "dask"  # a Dask cluster: a running one (--scheduler) or a local one started for the run


class SampleEncoding(StrEnum):
    """How ``sample-portfolio`` encodes its CSV files (the last three as CRMs and Excel export them)."""

    utf_8_sig = "utf-8-sig"
    utf_8 = "utf-8"
    gbk = "gbk"
    gb18030 = "gb18030"
    utf_16 = "utf-16"


def table_reader(paths: dict[str, Path], kb: KnowledgeBase, stack: ExitStack, encoding: str | None = None,
                 note: Callable[[str], None] | None = None) -> Callable[[str], TableInput]:
    """What :func:`engine.portfolio.run.read_tables` reads the three files through (kept open on ``stack``);
    ``note`` hears which encoding a file was detected in, when it is not UTF-8."""
    from rm_advisor.cli.datasets import is_dataset, open_dataset
    from rm_advisor.cli.tableio import open_table

    fields = {"clients": kb.facts["client"].fields, "managers": kb.facts["manager"].fields,
              "history": kb.facts["interaction"].fields,  # a manager's own events name no client
              "links": kb.facts["link"].fields}

    def read(name: str) -> TableInput:
        path = paths[name]
        table, enc = open_dataset(path, set(fields[name]), stack, encoding) if is_dataset(path) else \
            open_table(path, str(path), set(fields[name]), stack, encoding)
        if note is not None and encoding is None and enc not in (None, "utf-8", "utf-8-sig"):
            note(_("{file}: read as {encoding} (detected; --encoding sets it)", file=paths[name], encoding=enc))
        return table
    return read


@contextmanager
def open_tables(paths: dict[str, Path], kb: KnowledgeBase, encoding: str | None = None,
                note: Callable[[str], None] | None = None) -> Iterator[TableReader]:
    """The three files as :class:`engine.portfolio.BatchPlan` reads them: open while they are read."""
    with ExitStack() as stack:
        yield table_reader(paths, kb, stack, encoding, note)


def read_portfolio(paths: dict[str, Path], kb: KnowledgeBase, as_of: dt.date, report: Report,
                   encoding: str | None = None, note: Callable[[str], None] | None = None) -> PortfolioTables:
    """The three tables from their files, checked into ``report`` as they are read."""
    from rm_advisor.engine.portfolio import read_tables

    with open_tables(paths, kb, encoding, note) as read:
        return read_tables(read, kb, as_of, {name: str(p) for name, p in paths.items()}, report,
                           links="links" in paths)


def register(app: typer.Typer) -> None:
    app.command()(batch)
    app.command("sample-portfolio")(sample_portfolio)


def sample_portfolio(
    out_dir: Path = typer.Option(Path("sample-portfolio"), "--out", "-o", help="folder for the three CSV files"),
    clients: int = typer.Option(2000, "--clients", min=1),
    managers: int = typer.Option(40, "--managers", min=3),
    seed: int = typer.Option(7, "--seed"),
    encoding: SampleEncoding = typer.Option(SampleEncoding.utf_8_sig, "--encoding",
                                            help="utf-8-sig (UTF-8 with a byte-order mark), utf-8, or as Chinese "
                                            "CRMs and Excel export: gbk, gb18030, utf-16"),
    lang: Lang = lang_option(Lang.en),
) -> None:
    """Write the generated sample portfolio (clients, managers, history, links) as CSV."""
    from rm_advisor.cli.tableio import write_csv
    from rm_advisor.engine.portfolio import generate

    use_lang(lang)
    p = generate(clients, managers, seed=seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, frame in (("clients", p.clients), ("managers", p.managers), ("history", p.history),
                        ("links", p.links)):
        write_csv(frame, out_dir / f"{name}.csv", encoding.value)
    out.print(_("wrote {clients} clients, {managers} managers, {events} events, {links} links (as of {as_of}) "
                "to {folder}/", clients=len(p.clients), managers=len(p.managers), events=len(p.history),
                links=len(p.links), as_of=p.as_of, folder=out_dir), markup=False)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        fail("bad_usage", _("--as-of: `{value}` is not a date YYYY-MM-DD", value=text), exit_code=2)


def batch(
    clients: Path | None = typer.Option(None, "--clients", help="clients CSV/Parquet file, directory of Parquet "
                                        "files (hive partitions) or CSV glob such as 'clients-*.csv'"),
    managers: Path | None = typer.Option(None, "--managers", help="managers CSV/Parquet (file, directory or glob)"),
    history: Path | None = typer.Option(None, "--history", help="history (events) CSV/Parquet (file, directory or "
                                        "glob)"),
    links: Path | None = typer.Option(None, "--links", help="links between clients CSV/Parquet (file, directory "
                                      "or glob; optional: kind, from_client, to_client, since)"),
    out_dir: Path = typer.Option(Path("batch-out"), "--out", "-o", help="output folder"),
    fmt: TableFormat = typer.Option(TableFormat.csv, "--format", metavar="csv|parquet|json",
                                    help="csv, parquet or json tables; with json, an error is a JSON object on "
                                         "stdout (exit code not 0)"),
    as_of: str | None = typer.Option(None, "--as-of", help="as-of date YYYY-MM-DD (default: today; "
                                        "the sample portfolio's own date without inputs)"),
    sample: int = typer.Option(2000, "--sample-clients", min=1,
                               help="without inputs: size of the generated sample portfolio"),
    jobs: int = typer.Option(0, "--jobs", "-j", min=0, help="worker processes (0 = one per core); with --backend "
                             "dask and no --scheduler, the workers of the local cluster"),
    backend: BackendName = typer.Option(BackendName.local, "--backend", metavar="local|dask",
                                        help="local (worker processes on this machine) or dask (a Dask cluster)"),
    scheduler: str | None = typer.Option(None, "--scheduler", metavar="ADDRESS",
                                         help="the Dask scheduler to use, such as tcp://10.0.0.5:8786 (implies "
                                         "--backend dask; without it --backend dask starts a local cluster)"),
    strict: bool = typer.Option(False, "--strict", help="stop at the first bad row instead of skipping bad rows "
                                "(--max-bad-rows 0)"),
    prefer_history: bool = PreferHistoryOpt,
    max_bad_rows: int = typer.Option(MAX_BAD_ROWS, "--max-bad-rows", min=0,
                                     help="stop when more rows than this are bad in themselves (bad cells, rows that "
                                     "cannot be read, unknown ids); rows skipped only because their client or manager "
                                     "was are listed in bad_rows.csv but not counted"),
    encoding: str = typer.Option("auto", "--encoding", help="encoding of the CSV inputs: auto (byte-order mark, "
                                 "else UTF-8, else GB18030 for Chinese text, else detected) or a name such as gbk, "
                                 "gb18030, utf-16, big5"),
    csv_encoding: CsvEncoding = typer.Option(CsvEncoding.utf_8_sig, "--csv-encoding",
                                             help="CSV outputs: utf-8-sig (UTF-8 with a byte-order mark, as Excel "
                                             "needs) or utf-8 (plain)"),
    report: bool = typer.Option(True, "--report/--no-report", help="write report.html"),
    log: bool = typer.Option(False, "--log/--no-log", help="apply the contact policies with the feedback history "
                             "and record every manager's decision in the decision log"),
    db: str | None = typer.Option(None, "--db", help="decision-log database URL (implies --log; default: "
                                     "$RM_ADVISOR_DB_URL, else sqlite:///rm-advisor.db)"),
    period_days: int = typer.Option(90, "--effectiveness-days", min=1,
                                    help="with --log: the report's effectiveness section covers this many days"),
    rules: Path | None = typer.Option(None, "--rules", "-r", help="rule directory"),
    kb: Path | None = typer.Option(None, "--kb", help="knowledge-base directory"),
    lang: Lang = lang_option(Lang.both, "language of report.html and of the messages: zh, en or both "
                             "(the CSV columns are stable names in every language)"),
    engine: EngineName = EngineOpt,
) -> None:
    """Decide a whole portfolio: recommendations, worklists within capacity, coaching and a report.

    Without --clients/--managers/--history it runs on the bundled sample portfolio.
    """
    from rm_advisor.cli.datasets import is_dataset
    from rm_advisor.cli.report import write_report
    from rm_advisor.cli.tableio import CsvRows
    from rm_advisor.engine.loading import default_kb_dir, default_rules_dir, read_kb_files, read_rule_files
    from rm_advisor.engine.portfolio import AS_OF, BatchPlan, Report

    use_lang(lang)
    use_format(fmt.value)
    given = {name: path for name, path in (("clients", clients), ("managers", managers), ("history", history))
             if path is not None}
    if given and len(given) != 3:
        fail("bad_usage", _("give all three of --clients, --managers and --history, or none for the sample portfolio"),
             exit_code=2)
    if links is not None:
        if not given:
            fail("bad_usage", _("--links goes with --clients, --managers and --history (the sample portfolio has "
                                "its own links)"), exit_code=2)
        given["links"] = links
    for path in given.values():
        if not is_dataset(path):  # a directory of Parquet files or a CSV glob is a dataset
            require_file(path)
    day = _date(as_of) if as_of else dt.date.today() if given else AS_OF
    # a date the command chose is said where the date shows: the summary line, summary.json, the report
    note_id = "" if as_of else N_("today: no --as-of") if given else N_("the sample portfolio's date: no --as-of")
    as_of_note = _(note_id) if note_id else ""
    enc = _encoding(encoding)
    started = time.perf_counter()
    # named relative to their folders, as Advisor.load and the server name them: the same traces and revision
    texts = (read_rule_files(rules or default_rules_dir(), relative=True),
             read_kb_files(kb or default_kb_dir(), relative=True))
    advisor = _advisor(texts, engine)
    store_log = _StoreLog(db, advisor) if log or db else None
    tables = open_tables(given, advisor.book.kb, enc, lambda text: err.print(text, markup=False)) if given else None
    plan = BatchPlan(day, tables, {name: str(p) for name, p in given.items()}, sample_clients=sample, jobs=jobs,
                     texts=texts, log=store_log, effectiveness_days=period_days,
                     prefer="history" if prefer_history else "given")
    out_dir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as cluster:
        on_cluster = backend is BackendName.dask or scheduler
        if on_cluster or store_log is None:
            # the checked rows go in shards to a folder beside the outputs, which the workers read
            # (on a running cluster, --out is shared storage); removed when the run ends. A logged
            # local run keeps them in this process (its policies and log run here).
            spill = Path(cluster.enter_context(tempfile.TemporaryDirectory(prefix=".rm-advisor-shards-",
                                                                           dir=out_dir.resolve())))
            plan = dataclasses.replace(plan, spill=spill)
        if on_cluster:
            plan = dataclasses.replace(plan, backend=_cluster(cluster, scheduler, jobs, texts, engine),
                                       open_log=_worker_log(db) if store_log is not None else None)
        # the outputs are written as the books are decided: here, or bucket by bucket in the worker
        # processes or on a cluster's workers (Parquet from a cluster stays a directory of parts)
        writer = OutputWriter(out_dir.resolve(), fmt, csv_encoding, lang.value, dataset=plan.backend is not None)
        plan = dataclasses.replace(plan, writer=writer)
        writer.start(in_parts=plan.backend is not None)
        with CsvRows(out_dir / "bad_rows.csv", BAD_ROW_COLUMNS, csv_encoding.value) as bad_file:
            found = Report(0 if strict else max_bad_rows, lambda d: bad_file.write(_bad_row(d)), keep=HELD)
            result = _run(advisor, plan, found, bad_file, strict)
    if store_log is not None:
        out.print(_("logged {count} decisions in {database}", count=result.logged,
                    database=store_log.display_url), markup=False)
    written = writer.finish(result.parts)
    written.insert(3, bad_file.path)
    if report:
        written.append(write_report(result.piece, result.run.tables, out_dir / "report.html", advisor.book,
                                    result.effectiveness, lang.value, as_of_note))
    _summary(result, written, out_dir, time.perf_counter() - started, note_id)


def _encoding(encoding: str) -> str | None:
    """The codec named by --encoding (None: auto)."""
    import codecs

    try:
        return None if encoding.lower() == "auto" else codecs.lookup(encoding).name
    except LookupError:
        fail("bad_usage", _("--encoding: no such encoding `{encoding}` (try gbk, gb18030, utf-16 or auto)",
                            encoding=encoding), exit_code=2)


def _cluster(stack: ExitStack, scheduler: str | None, jobs: int, texts: tuple[dict[str, str], dict[str, str]],
             engine: EngineName) -> Backend:
    """The Dask backend, connected on ``stack`` to the scheduler at ``scheduler`` or to a local
    cluster of ``jobs`` workers (0: one per core); its dashboard said on stderr. A scheduler that
    cannot be reached ends the command."""
    import os

    from rm_advisor.engine.portfolio import DaskBackend, connect_cluster

    try:
        client = stack.enter_context(connect_cluster(scheduler, jobs or os.cpu_count() or 1))
    except (OSError, TimeoutError) as exc:
        fail("cluster_unreachable", _("cannot reach the Dask scheduler at {address}: {reason}",
                                      address=scheduler or "", reason=str(exc) or type(exc).__name__))
    backend = DaskBackend(client, texts, engine.value)
    err.print(_("Dask cluster: {workers} worker(s); dashboard {link}", workers=backend.workers,
                link=client.dashboard_link), markup=False)
    return backend


def _advisor(texts: tuple[dict[str, str], dict[str, str]], engine: EngineName = EngineName.compiled) -> Advisor:
    """The rule set compiled, or its problems printed and the command ended."""
    from rm_advisor.engine import Advisor, RuleError

    try:
        return Advisor.from_files(*texts, engine=engine.value)
    except RuleError as exc:
        fail("rule_set_invalid", diagnostics=exc.diagnostics)


def _run(advisor: Advisor, plan: BatchPlan, found: Report, bad_file: CsvRows, strict: bool) -> BatchResult:
    """:func:`engine.portfolio.run_batch` on the terminal; a table that cannot be read, too many bad
    rows or a decision log that cannot be used end the command, saying why."""
    from rm_advisor.cli.tableio import TableReadError
    from rm_advisor.engine.errors import TooManyBadRows
    from rm_advisor.engine.portfolio import run_batch
    from rm_advisor.store.errors import StoreError

    try:
        return run_batch(advisor, plan, found, _Terminal(found, bad_file))
    except TableReadError as exc:
        fail("table_unreadable", diagnostics=[exc.diagnostic()])
    except TooManyBadRows as exc:
        _stopped(exc, found, bad_file, strict)
        raise typer.Exit(1) from None
    except StoreError as exc:
        fail(exc.diagnostics[0].code if exc.diagnostics else "decision_log_unusable", diagnostics=exc.diagnostics)


def _stopped(exc: TooManyBadRows, found: Report, bad_file: CsvRows, strict: bool) -> None:
    """Where and why the check stopped, in bad_rows.csv and on the terminal."""
    bad_file.write(_bad_row(exc.diagnostics[0]))  # the file says where and why it stops
    if not json_mode():
        _print_problems(found.held, found.total)
    where = exc.diagnostics[0].location
    why = _("the first bad row, and --strict") if strict else \
        _("more than {count} bad row(s) (fix them, or allow more with --max-bad-rows)", count=found.max_bad_rows)
    report_error("too_many_bad_rows", _("stopped at {file}:{line}: {why}; the bad rows found so far are in {path}",
                                        file=where.file, line=where.line, why=why, path=bad_file.path),
                 exc.diagnostics)


class _Terminal:
    """A batch on the terminal (:class:`engine.portfolio.BatchEvents`): the bad rows once the tables
    are checked, a progress bar on long runs while deciding."""

    def __init__(self, found: Report, bad_file: CsvRows) -> None:
        self.found = found
        self.bad_file = bad_file

    def checked(self, tables: PortfolioTables) -> None:
        """bad_rows.csv is complete (it is written as the tables are read); the first problems are shown."""
        self.bad_file.close()
        if self.found.counts["error"]:
            _print_problems(self.found.held, self.found.total)

    @contextmanager
    def deciding(self, total: int) -> Iterator[Callable[[int], None]]:
        """A progress bar on stderr, gone when deciding ends (none below 500 subjects)."""
        with Progress(TextColumn(_("deciding")), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=err, transient=True, disable=total < 500) as bar:
            task = bar.add_task("decide", total=total)
            yield lambda n: bar.advance(task, n)


class _StoreLog:
    """The decision log of a logged batch (:class:`engine.portfolio.BatchLog`): :class:`store.Store`,
    opened when the batch enters it (the database layer loads only when a run logs)."""

    def __init__(self, db: str | None, advisor: Advisor) -> None:
        self.db = db
        self.book = advisor.book
        self.display_url = ""

    def __enter__(self) -> _StoreLog:
        from rm_advisor.store import Store

        self.store = Store(self.db, self.book.kb)
        self.display_url = self.store.db.display_url
        return self

    def __exit__(self, *exc: object) -> None:
        self.store.close()

    def feedback(self, subjects: list[SubjectKey], as_of: dt.date, policies: PolicySet) -> list[FeedbackEvent]:
        """The stored feedback the contact policies need."""
        return self.store.feedback.history_for(subjects, as_of, policies)

    def record(self, decision: Decision, facts: dict[str, Any], history: list[FeedbackEvent],
               decision_id: str | None = None) -> Decision:
        """``decision`` logged with source ``batch`` under ``decision_id``, once."""
        return self.store.decisions.record(decision, facts, self.book, "batch", history, decision_id=decision_id,
                                           once=True)

    def effectiveness(self, since: dt.date, until: dt.date) -> EffectivenessReport:
        """The stored effectiveness of the period."""
        from rm_advisor.store import effectiveness_report

        return effectiveness_report(self.store, since, until)

    def propensities(self, as_of: dt.date, settings: PropensitySettings) -> PropensityTable | None:
        """The stored acceptance evidence as of ``as_of``."""
        from rm_advisor.store import propensity_table

        return propensity_table(self.store, as_of, settings)


class _WorkerLog:
    """Opens the decision log of a logged batch on a worker (:attr:`engine.portfolio.BatchPlan.open_log`):
    it travels to the workers as the database URL alone."""

    def __init__(self, url: str) -> None:
        self.url = url

    def __call__(self, advisor: Advisor) -> _StoreLog:
        return _StoreLog(self.url, advisor)


def _worker_log(db: str | None) -> _WorkerLog:
    """The decision log as a worker opens it: --db, else $RM_ADVISOR_DB_URL, else the default, with
    a SQLite file named by its absolute path (a worker may run in another folder). A URL that is
    not one ends the command."""
    from rm_advisor.store.database import resolve_url
    from rm_advisor.store.errors import StoreError

    try:
        url = resolve_url(db)
    except StoreError as exc:
        fail(exc.diagnostics[0].code if exc.diagnostics else "decision_log_unusable", diagnostics=exc.diagnostics)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        url = url.set(database=str(Path(url.database).resolve()))
    return _WorkerLog(url.render_as_string(hide_password=False))


def _bad_row(d: Diagnostic) -> list[object]:
    return [d.location.file, d.location.line or None, d.location.path, d.code, d.severity, d.message]


def _print_problems(held: list[Diagnostic], total: int) -> None:
    shown = held[:20]
    print_diagnostics(err, shown)
    if total > len(shown):
        err.print(_("... and {count} more (see bad_rows.csv)", count=total - len(shown)), markup=False)


def _summary(result: BatchResult, written: list[Path], out_dir: Path, elapsed: float, as_of_note: str) -> None:
    """The counts on stdout and in summary.json (listed with the other outputs); ``elapsed`` covers
    the whole command, outputs written; ``as_of_note`` (a msgid) says where a date no --as-of gave came from."""
    counts, tables = result.counts, result.run.tables
    day = tables.as_of.isoformat()
    as_of = {lang: day + (f" ({gettext_in(lang, as_of_note)})" if as_of_note else "") for lang in ("zh", "en")}
    out.print(_("decided {clients} clients of {managers} managers as of {as_of} in {seconds} s ({rate} clients/s, "
                "{workers} worker(s)); rule set {revision}", clients=counts.clients, managers=counts.managers,
                as_of=as_of, seconds=format(elapsed, ".1f"), rate=format(counts.clients / max(elapsed, 1e-9), ".0f"),
                workers=result.workers, revision=result.revision), markup=False)
    out.print(_("{recommendations} recommendations; worklists: {planned} contacts planned this week, {deferred} "
                "deferred, {desk} desk item(s), {set_aside} sales ask(s) set aside from risk or obligation contacts; "
                "{coaching} coaching topics; {to_confirm} fact(s) to confirm; {bad_rows} bad row(s) skipped",
                **dataclasses.asdict(counts)), markup=False)
    summary = {**dataclasses.asdict(counts), "seconds": round(elapsed, 2), "workers": result.workers,
               "revision": result.revision, "as_of": tables.as_of.isoformat(), "as_of_given": not as_of_note}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    for path in [*written, out_dir / "summary.json"]:
        out.print("  " + _("wrote {path}", path=path), markup=False)
