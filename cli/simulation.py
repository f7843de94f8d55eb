"""`rm-advisor simulate`: replay a period of the decision log on a new rule set, with what would
change and the estimated acceptance of the new rules (thin adapter over :func:`store.simulation.simulate`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from rm_advisor.cli.common import (
    DB_HELP,
    Fmt,
    JsonAliasOpt,
    KbOpt,
    Lang,
    _,
    format_option,
    lang_option,
    out,
    parse_day,
    use_format,
    use_lang,
)

if TYPE_CHECKING:
    from rm_advisor.store.simulation import Simulation



def simulate(
    rules: Path = typer.Option(..., "--rules", "-r", help="the new rule directory"),
    db: str | None = typer.Option(None, "--log", "--db", help=DB_HELP),
    since: str | None = typer.Option(None, "--since", help="first as-of date (YYYY-MM-DD)"),
    until: str | None = typer.Option(None, "--until", help="last as-of date (YYYY-MM-DD)"),
    resamples: int = typer.Option(1000, "--resamples", min=10, help="bootstrap resamples of the interval"),
    seed: int = typer.Option(0, "--seed", help="seed of the bootstrap"),
    kb: Path | None = KbOpt,
    fmt: Fmt = format_option(),
    as_json: bool = JsonAliasOpt,
    lang: Lang = lang_option(Lang.en),
) -> None:
    """Replay the period's logged decisions on a new rule set: what would change, and the acceptance
    the new rules would have had (doubly robust off-policy estimate, IPS beside it, 95 % bootstrap intervals)."""
    from rm_advisor.cli.store import _reported
    from rm_advisor.engine import Advisor
    from rm_advisor.store import Store
    from rm_advisor.store.simulation import simulate as run

    use_lang(lang)
    as_json = use_format(fmt, as_json) is Fmt.json
    start, end = parse_day(since, "--since"), parse_day(until, "--until")
    with _reported(rules):
        advisor = Advisor.load(rules, kb)
        with Store(db) as store:
            result = run(store, advisor, start, end, resamples, seed)
    if as_json:
        sys.stdout.write(json.dumps(result.model_dump(mode="json"), ensure_ascii=False, indent=2) + "\n")
        return
    for line in simulation_lines(result):
        out.print(line, markup=False, highlight=False)


def simulation_lines(result: Simulation) -> list[str]:
    """The simulation as plain text: the diff summary, then the estimate."""
    start, now = _("start"), _("now")
    est = result.acceptance
    changes = ", ".join(f"{k} {v}" for k, v in result.changes.items()) or _("none")
    lines = [_("Replayed {decisions} decision(s) {period} on revision {revision}: {changed} would change "
               "({changes}); {erased} left out (erased)", decisions=result.decisions,
               period=f"{result.since or start} .. {result.until or now}", revision=result.revision,
               changed=result.changed, changes=changes, erased=result.erased),
             _("shown: {logged} logged, {new} by the new rules ({added} added, {removed} removed); "
               "{supported} of the new ones were shown before (coverage {coverage})", logged=est.logged_shown,
               new=est.new_shown, added=result.added_shown, removed=result.removed_shown, supported=est.supported,
               coverage=_pct(est.coverage)),
             _("acceptance logged: {rate} ({low} .. {high})", rate=_pct(est.logged_acceptance.rate),
               low=_pct(est.logged_acceptance.low), high=_pct(est.logged_acceptance.high)),
             _("acceptance estimated for the new rules (doubly robust): {rate} ({low} .. {high}); on the items "
               "shown before (IPS): {ips} ({ips_low} .. {ips_high})", rate=_pct(est.estimate), low=_pct(est.low),
               high=_pct(est.high), ips=_pct(est.ips), ips_low=_pct(est.ips_low), ips_high=_pct(est.ips_high))]
    return lines


def _pct(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.1%}"
