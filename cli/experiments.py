"""Champion/challenger experiments on the command line: reading an experiment file with its arms'
rule sets (``decide --experiment``), and ``rm-advisor report experiment ID``.

Thin adapters over :mod:`engine.authoring.experiments` and :func:`store.experiment_report`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import typer

from rm_advisor.cli.common import (
    DB_HELP,
    Fmt,
    JsonAliasOpt,
    Lang,
    OutOpt,
    _,
    format_option,
    lang_option,
    out,
    parse_day,
    use_format,
    use_lang,
)
from rm_advisor.cli.render import text

if TYPE_CHECKING:
    from rm_advisor.engine.authoring import Experiment, ExperimentReport, Rate
    from rm_advisor.store import ExperimentRun, Store

ExperimentOpt = typer.Option(None, "--experiment", help="an experiment file (YAML): each client is decided by "
                                                        "the rule set of its arm and logged with the arm")


def experiment_schema(output: Path | None = OutOpt) -> None:
    """Print (or write) the JSON Schema of experiment files, for editors."""
    from rm_advisor.cli.common import write_json
    from rm_advisor.engine.authoring import experiment_file_json_schema

    write_json(experiment_file_json_schema(), output)


def read_experiment(path: Path) -> Experiment:
    """The checked experiment file at ``path``; raises ExperimentError with every located problem."""
    from rm_advisor.engine.authoring import check_experiment
    from rm_advisor.engine.errors import ExperimentError

    found, diags = check_experiment(path.read_text(encoding="utf-8"), str(path))
    if found is None:
        raise ExperimentError(diags)
    return found


def load_experiment(path: Path, store: Store, kb: Path | None = None,
                    engine: Literal["compiled", "experta"] = "compiled") -> ExperimentRun:
    """The experiment at ``path`` with an advisor per arm (:func:`store.service.open_experiment`)."""
    from rm_advisor.store.service import open_experiment

    return open_experiment(path, store, kb, engine)


def report_experiment(
    experiment_id: str = typer.Argument(..., help="the experiment's id"),
    experiment: Path | None = typer.Option(None, "--experiment", help="its experiment file: the champion (first arm),"
                                                                      " dates, metrics and limits come from it"),
    since: str | None = typer.Option(None, "--since", help="first as-of date (YYYY-MM-DD)"),
    until: str | None = typer.Option(None, "--until", help="last as-of date (YYYY-MM-DD)"),
    champion: str | None = typer.Option(None, "--champion", help="the arm the others are compared with (default: "
                                                                 "the file's first arm, else `champion`)"),
    min_per_arm: int | None = typer.Option(None, "--min-per-arm", min=1,
                                           help="fewest shown recommendations per arm before judging (default 100)"),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    fmt: Fmt = format_option(),
    as_json: bool = JsonAliasOpt,
    lang: Lang = lang_option(Lang.en),
) -> None:
    """Acceptance and completion per arm of an experiment, with 95 % intervals, the test of each
    challenger against the champion, and whether the evidence is enough yet."""
    from rm_advisor.cli.store import _reported
    from rm_advisor.engine.authoring import ALPHA, MIN_PER_ARM
    from rm_advisor.store import Store, experiment_report

    use_lang(lang)
    as_json = use_format(fmt, as_json) is Fmt.json
    start, end = parse_day(since, "--since"), parse_day(until, "--until")
    with _reported(experiment), Store(db) as store:
        spec = read_experiment(experiment) if experiment is not None else None
        report = experiment_report(
            store, experiment_id, start or (spec.start if spec else None), end or (spec.end if spec else None),
            champion=champion or (spec.arms[0].name if spec else None),
            metrics=spec.metrics if spec else ("acceptance", "completion"),
            min_per_arm=min_per_arm or (spec.min_per_arm if spec else MIN_PER_ARM),
            alpha=spec.alpha if spec else ALPHA)
    if as_json:
        sys.stdout.write(json.dumps(report.model_dump(mode="json"), ensure_ascii=False, indent=2) + "\n")
        return
    for line in experiment_lines(report, lang.value):
        out.print(line, markup=False, highlight=False)


def experiment_lines(report: ExperimentReport, lang: str) -> list[str]:
    """The report as plain aligned text."""
    start, now = _("start"), _("now")
    lines = [_("Experiment {id} {period}", id=report.experiment,
               period=f"{report.since or start} .. {report.until or now}"),
             _("(dec = decisions, shown = recommendations shown, acc = accepted incl. done; acc% = acc / shown, "
               "done% = done / shown, with 95% Wilson intervals)"),
             f"{'arm':<16} {'dec':>6} {'shown':>6} {'acc':>5} {'done':>5}  {'acc%':<22} done%"]
    lines += [f"{a.name:<16} {a.decisions:>6} {a.shown:>6} {a.accepted:>5} {a.done:>5}  {_rate(a.acceptance):<22} "
              f"{_rate(a.completion):<22}".rstrip() for a in report.arms]
    lines.append("")
    lines += [text(c.summary, lang) for c in report.comparisons]
    if not report.enough_evidence:
        lines.append(_("not enough evidence yet (at least {needed} recommendations shown per arm and p < {alpha})",
                       needed=report.min_per_arm, alpha=report.alpha))
    return lines


def _rate(rate: Rate) -> str:
    if rate.rate is None or rate.low is None or rate.high is None:
        return "-"
    return f"{rate.rate:.1%} ({rate.low:.1%}..{rate.high:.1%})"
