"""``rm-advisor batch`` and ``rm-advisor sample-portfolio``: portfolio runs from CSV or Parquet.

The adapter reads the tables, calls :mod:`engine.portfolio`, and writes recommendations,
worklists, coaching, bad rows, full decisions (JSON lines) and the branch report.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cli.common import err, out
from cli.render import print_diagnostics

if TYPE_CHECKING:
    import pandas as pd

    from engine import Advisor
    from engine.portfolio import PortfolioRun


class TableFormat(StrEnum):
    csv = "csv"
    parquet = "parquet"
    json = "json"


def read_table(path: Path) -> pd.DataFrame:
    """A table from CSV (all cells as text, empty = missing) or Parquet."""
    import pandas as pd

    if path.suffix.lower() == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8")


def write_table(frame: pd.DataFrame, path: Path, fmt: TableFormat) -> Path:
    target = path.with_suffix("." + fmt.value)
    if fmt is TableFormat.csv:
        frame.to_csv(target, index=False, encoding="utf-8")
    elif fmt is TableFormat.parquet:
        frame.to_parquet(target, index=False)
    else:
        frame.to_json(target, orient="records", force_ascii=False, indent=1, date_format="iso")
    return target


def register(app: typer.Typer) -> None:
    app.command()(batch)
    app.command("sample-portfolio")(sample_portfolio)


def sample_portfolio(
    out_dir: Path = typer.Option(Path("sample-portfolio"), "--out", "-o", help="folder for the three CSV files"),
    clients: int = typer.Option(2000, "--clients", min=1),
    managers: int = typer.Option(40, "--managers", min=3),
    seed: int = typer.Option(7, "--seed"),
) -> None:
    """Write the generated sample portfolio (clients, managers, history) as CSV."""
    from engine.sample_portfolio import generate

    p = generate(clients, managers, seed=seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, frame in (("clients", p.clients), ("managers", p.managers), ("history", p.history)):
        frame.to_csv(out_dir / f"{name}.csv", index=False, encoding="utf-8")
    out.print(f"wrote {len(p.clients)} clients, {len(p.managers)} managers, {len(p.history)} events "
              f"(as of {p.as_of}) to {out_dir}/", markup=False)


def batch(
    clients: Path | None = typer.Option(None, "--clients", exists=True, dir_okay=False, help="clients CSV/Parquet"),
    managers: Path | None = typer.Option(None, "--managers", exists=True, dir_okay=False, help="managers CSV/Parquet"),
    history: Path | None = typer.Option(None, "--history", exists=True, dir_okay=False,
                                           help="history (events) CSV/Parquet"),
    out_dir: Path = typer.Option(Path("batch-out"), "--out", "-o", help="output folder"),
    fmt: TableFormat = typer.Option(TableFormat.csv, "--format", help="csv, parquet or json"),
    as_of: str | None = typer.Option(None, "--as-of", help="as-of date YYYY-MM-DD (default: today; "
                                        "the sample portfolio's own date without inputs)"),
    sample: int = typer.Option(2000, "--sample-clients", min=1,
                               help="without inputs: size of the generated sample portfolio"),
    jobs: int = typer.Option(0, "--jobs", "-j", min=0, help="worker processes (0 = one per core)"),
    strict: bool = typer.Option(False, "--strict", help="stop at the first bad row instead of skipping bad rows"),
    report: bool = typer.Option(True, "--report/--no-report", help="write report.html"),
    log: bool = typer.Option(False, "--log/--no-log", help="apply the contact policies with the feedback history "
                             "and record every manager's decision in the decision log"),
    db: str | None = typer.Option(None, "--db", help="decision-log database URL (implies --log; default: "
                                     "$RM_ADVISOR_DB_URL, else sqlite:///rm-advisor.db)"),
    period_days: int = typer.Option(90, "--effectiveness-days", min=1,
                                    help="with --log: the report's effectiveness section covers this many days"),
    rules: Path | None = typer.Option(None, "--rules", "-r", help="rule directory"),
    kb: Path | None = typer.Option(None, "--kb", help="knowledge-base directory"),
) -> None:
    """Decide a whole portfolio: recommendations, worklists within capacity, coaching and a report.

    Without --clients/--managers/--history it runs on the bundled sample portfolio.
    """
    import pandas as pd

    from cli.report import write_report
    from engine import Advisor, RuleError
    from engine.bulk import BulkGates
    from engine.errors import StoreError
    from engine.portfolio import PortfolioRun, check_tables, decide_partitions, prepare
    from engine.sample_portfolio import AS_OF, generate
    from engine.sources import default_kb_dir, default_rules_dir, read_kb_files, read_rule_files

    given = {name: path for name, path in (("clients", clients), ("managers", managers), ("history", history))
             if path is not None}
    if given and len(given) != 3:
        err.print("give all three of --clients, --managers and --history, or none for the sample portfolio")
        raise typer.Exit(2)
    started = time.perf_counter()
    texts = (read_rule_files(rules or default_rules_dir()), read_kb_files(kb or default_kb_dir()))
    try:
        advisor = Advisor.from_files(*texts)
    except RuleError as exc:
        print_diagnostics(err, exc.diagnostics)
        raise typer.Exit(1) from None
    if given:
        day = dt.date.fromisoformat(as_of) if as_of else dt.date.today()
        try:
            raw = {name: read_table(path) for name, path in given.items()}
        except (OSError, ValueError, pd.errors.ParserError) as exc:
            err.print(f"cannot read input table: {exc}", markup=False)
            raise typer.Exit(1) from None
        sources = {"clients": str(clients), "managers": str(managers), "history": str(history)}
    else:
        day = dt.date.fromisoformat(as_of) if as_of else AS_OF
        p = generate(sample, max(3, sample // 50), as_of=day)
        raw = {"clients": p.clients, "managers": p.managers, "history": p.history}
        sources = {k: f"<sample {k}>" for k in raw}
    tables = check_tables(raw["clients"], raw["managers"], raw["history"], advisor.book.kb, day, sources)
    errors = [d for d in tables.diagnostics if d.severity == "error"]
    if errors:
        print_diagnostics(err, tables.diagnostics[:20])
        if len(tables.diagnostics) > 20:
            err.print(f"... and {len(tables.diagnostics) - 20} more (see bad_rows.csv)", markup=False)
        if strict:
            err.print(f"stopped: {tables.bad_rows} bad row(s) and --strict", markup=False)
            raise typer.Exit(1)
    derived, parts = prepare(tables, advisor.book.kb, BulkGates(advisor.book))
    workers = jobs or os.cpu_count() or 1
    total = sum(len(p.facts["client"]) + 1 for p in parts)
    with Progress(TextColumn("deciding"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True, disable=total < 500) as bar:
        task = bar.add_task("decide", total=total)
        results = decide_partitions(advisor, parts, day, workers, texts, lambda n: bar.advance(task, n))
    effect = None
    if log or db:
        try:
            results, effect = _logged(results, parts, advisor, day, db, period_days)
        except StoreError as exc:
            print_diagnostics(err, exc.diagnostics)
            raise typer.Exit(1) from None
    run = PortfolioRun(tables, derived, results)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = write_outputs(run, out_dir, fmt)
    if report:
        written.append(write_report(run, out_dir / "report.html", advisor.book, effect))
    elapsed = time.perf_counter() - started
    _summary(run, written, elapsed, workers, advisor.revision)


def _logged(results: list[Any], parts: list[Any], advisor: Advisor, day: dt.date, db: str | None,
            period_days: int) -> tuple[list[Any], Any]:
    """Contact policies over the whole portfolio with the stored feedback, every manager's decision
    logged (source ``batch``), and the effectiveness of the period for the report."""
    from engine.portfolio import facts_document, with_policies
    from store import Store  # the database layer loads only when a run logs

    with Store(db, advisor.book.kb) as store:
        subjects = [(t, str(f["id"])) for p in parts for t in ("manager", "client") for f in p.facts[t]]
        history = store.feedback.history_for(subjects, day, advisor.book.policies)
        results = with_policies(results, parts, advisor, history, day)
        facts_of = {p.manager_id: p for p in parts}
        logged = []
        for r in results:
            part = facts_of[r.manager_id]
            mine = {f"{t}:{f['id']}" for t in ("manager", "client") for f in part.facts[t]}
            decision = store.decisions.record(r.decision, facts_document(part, day, advisor.book.kb), advisor.book,
                                              "batch", [e for e in history if e.subject in mine])
            logged.append(type(r)(r.manager_id, decision, r.worklist))
        effect = store.effectiveness(day - dt.timedelta(days=period_days - 1), day)
        out.print(f"logged {len(logged)} decisions in {store.db.display_url}", markup=False)
    return logged, effect


def recommendation_rows(run: PortfolioRun) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One row per client recommendation (and vetoed action), and one per manager coaching topic."""
    recs, coaching = [], []
    for r in run.results:
        for cd in r.decision.clients:
            for status, items in (("recommended", cd.recommendations), ("vetoed", cd.vetoed),
                                  ("suppressed", cd.suppressed)):
                for rank, rec in enumerate(items, 1):
                    recs.append({"manager_id": r.manager_id, "client_id": cd.id, "rank": rank, "action": rec.id,
                                 "title_zh": rec.title.zh, "title_en": rec.title.en, "score": rec.score,
                                 "channel": rec.details.get("channel"), "status": status,
                                 "rules": " ".join(rec.rules), "reason_zh": rec.reasons[0].text.zh,
                                 "reason_en": rec.reasons[0].text.en,
                                 "vetoed_by": " ".join(v.rule_id for v in rec.vetoed_by),
                                 "suppressed_by": " ".join(x.policy_id for x in rec.suppressed_by),
                                 "decision_id": r.decision.id or ""})
        for md in r.decision.managers:
            for rank, rec in enumerate(md.recommendations, 1):
                coaching.append({"manager_id": md.id, "rank": rank, "topic": rec.id, "title_zh": rec.title.zh,
                                 "title_en": rec.title.en, "score": rec.score,
                                 "formats": " ".join(rec.details.get("formats", [])), "rules": " ".join(rec.rules),
                                 "reason_zh": rec.reasons[0].text.zh, "reason_en": rec.reasons[0].text.en})
    return recs, coaching


def worklist_rows(run: PortfolioRun) -> list[dict[str, Any]]:
    return [{"manager_id": r.manager_id, "rank": i.rank, "status": i.status, "client_id": i.client_id,
             "contact": i.contact, "actions": " ".join(i.actions), "score": i.score,
             "reason_zh": i.reason.zh, "reason_en": i.reason.en, "rules": " ".join(i.rules)}
            for r in run.results for i in r.worklist.items]


def write_outputs(run: PortfolioRun, out_dir: Path, fmt: TableFormat) -> list[Path]:
    import pandas as pd

    recs, coaching = recommendation_rows(run)
    written = [write_table(pd.DataFrame(recs), out_dir / "recommendations", fmt),
               write_table(pd.DataFrame(worklist_rows(run)), out_dir / "worklists", fmt),
               write_table(pd.DataFrame(coaching), out_dir / "coaching", fmt)]
    bad = pd.DataFrame([{"file": d.location.file, "line": d.location.line, "column": d.location.path,
                         "code": d.code, "severity": d.severity, "message": d.message}
                        for d in run.tables.diagnostics],
                       columns=["file", "line", "column", "code", "severity", "message"])
    written.append(write_table(bad, out_dir / "bad_rows", TableFormat.csv))
    decisions = out_dir / "decisions.jsonl"
    with decisions.open("w", encoding="utf-8") as fh:
        for r in run.results:
            fh.write(r.decision.model_dump_json() + "\n")
    written.append(decisions)
    return written


def _summary(run: PortfolioRun, written: list[Path], elapsed: float, workers: int, revision: str) -> None:
    n_clients = sum(len(r.decision.clients) for r in run.results)
    recs = sum(len(c.recommendations) for r in run.results for c in r.decision.clients)
    planned = sum(1 for r in run.results for i in r.worklist.items if i.status == "planned")
    deferred = sum(1 for r in run.results for i in r.worklist.items if i.status == "deferred")
    coaching = sum(len(m.recommendations) for r in run.results for m in r.decision.managers)
    out.print(f"decided {n_clients} clients of {len(run.results)} managers in {elapsed:.1f} s "
              f"({n_clients / max(elapsed, 1e-9):.0f} clients/s, {workers} worker(s)); rule set {revision}",
              markup=False)
    out.print(f"{recs} recommendations; worklists: {planned} contacts planned this week, {deferred} deferred; "
              f"{coaching} coaching topics; {run.tables.bad_rows} bad row(s) skipped", markup=False)
    for path in written:
        out.print(f"  wrote {path}", markup=False)
    summary = {"clients": n_clients, "managers": len(run.results), "recommendations": recs, "planned": planned,
               "deferred": deferred, "coaching": coaching, "bad_rows": run.tables.bad_rows,
               "seconds": round(elapsed, 2), "workers": workers, "revision": revision,
               "as_of": run.tables.as_of.isoformat()}
    (written[0].parent / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
