"""CLI commands on the decision log: logged decisions, replay, feedback, effectiveness, policies.

Thin adapters over :mod:`store`: parse the arguments, call the store, print. Registered on the main
app by :func:`register`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sys
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
import yaml
from rich.console import Console

from rm_advisor.cli.common import (
    DbOpt,
    EngineName,
    EngineOpt,
    EnOpt,
    Fmt,
    JsonAliasOpt,
    KbOpt,
    Lang,
    OutOpt,
    PreferHistoryOpt,
    RulesOpt,
    _,
    current_lang,
    err,
    error_code,
    fail,
    format_option,
    lang_option,
    out,
    parse_day,
    read_facts,
    require_file,
    use_format,
    use_lang,
    write_json,
)
from rm_advisor.cli.render import print_decision, print_diagnostics, text
from rm_advisor.engine.language import ACTION_KINDS
from rm_advisor.engine.policies import Thresholds

if TYPE_CHECKING:
    from rm_advisor.engine.authoring import RuleHealth
    from rm_advisor.engine.errors import Diagnostic
    from rm_advisor.engine.policies import EffectivenessReport, RateRow
    from rm_advisor.store import LoggedDecision, Store

decisions_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                      help="Logged decisions: list and show.")
feedback_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                      help="Feedback on recommendations: add, import a CRM CSV, reasons.")
report_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                      help="Reports over the decision log.")
policies_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                      help="Contact policies (rules/*.policies.yaml).")


class Status(StrEnum):
    accepted = "accepted"
    rejected = "rejected"
    done = "done"
    snoozed = "snoozed"


LangOpt = lang_option(Lang.both)


def register(app: typer.Typer) -> None:
    """Add the decision-log commands to the ``rm-advisor`` app."""
    app.command("decide")(decide)
    app.command("replay")(replay)
    app.add_typer(decisions_app, name="decisions")
    app.add_typer(feedback_app, name="feedback")
    app.add_typer(report_app, name="report")
    from rm_advisor.cli.experiments import experiment_schema, report_experiment

    if not any(c.name == "experiment" for c in report_app.registered_commands):  # report_app is module-wide
        report_app.command("experiment")(report_experiment)
    app.command("experiment-schema")(experiment_schema)
    from rm_advisor.cli.simulation import simulate

    app.command("simulate")(simulate)
    app.add_typer(policies_app, name="policies")
    from rm_advisor.cli.log import log_app

    app.add_typer(log_app, name="log")


@contextlib.contextmanager
def _reported(source: Any = None) -> Iterator[None]:
    """Print coded diagnostics (never a stack trace) and exit 1 on any refused input."""
    from pydantic import ValidationError

    from rm_advisor.engine.errors import AdvisorError, Diagnostic, Location

    try:
        yield
    except AdvisorError as exc:  # the engine's errors and the store's (store.errors), each with its diagnostics
        fail(error_code(exc), diagnostics=exc.diagnostics)
    except ValidationError as exc:  # a FeedbackInput built from the arguments
        fail("feedback_bad_value", diagnostics=[Diagnostic("feedback_bad_value", e["msg"],
                                                           Location(path=".".join(map(str, e["loc"]))))
                                                for e in exc.errors()])
    except (yaml.YAMLError, json.JSONDecodeError, ValueError, OSError) as exc:
        where = source or _("input")
        fail("input_unreadable", f"{where}: {exc}")


@contextlib.contextmanager
def opened(db: str | None) -> Iterator[Store]:
    """The database at ``db`` (default: ``$RM_ADVISOR_DB_URL``), its refusals reported as
    :func:`_reported` reports them."""
    from rm_advisor.store import Store

    with _reported(), Store(db) as store:
        yield store


def _store(db: str | None, kb: Path | None = None) -> Store:
    """The store, with the reason catalogue of ``kb`` (default: the shipped knowledge base)."""
    from rm_advisor.engine.loading import load_knowledge_base, read_kb_files
    from rm_advisor.store import Store

    return Store(db, load_knowledge_base(read_kb_files(kb)) if kb else None)


def decide(
    facts: Path = typer.Argument(..., help="facts as JSON or YAML"),
    rules: Path | None = RulesOpt,
    kb: Path | None = KbOpt,
    db: str | None = DbOpt,
    fmt: Fmt = format_option(help="text, or json: the full decision with its id (errors too: a JSON object on "
                                  "stdout, exit code not 0)"),
    as_json: bool = JsonAliasOpt,
    lang: Lang = LangOpt,
    as_of: str | None = typer.Option(None, "--as-of", help="override the facts' as-of date (YYYY-MM-DD)"),
    top: int | None = typer.Option(None, "--top", min=1, help="show at most this many recommendations per subject "
                                                              "(every recommendation is logged)"),
    brief: bool = typer.Option(False, "--brief", help="reasons only, without the rule and signal chain"),
    prefer_history: bool = PreferHistoryOpt,
    engine: EngineName = EngineOpt,
    experiment: Path | None = typer.Option(None, "--experiment", help="an experiment file (YAML): each subject is "
                                           "decided by the rule set of its arm and logged with the arm"),
) -> None:
    """Recommend with the contact policies and the feedback history, and log the decision.

    Like `recommend`, plus: actions a policy holds back are listed as suppressed with the policy and
    the feedback behind it, and the decision is stored (its id is printed) for feedback and replay.
    With --experiment, each subject is decided and logged on its own, by its arm's rule set.
    """
    from rm_advisor.engine import Advisor
    from rm_advisor.store import Store, decide_and_log

    if experiment is not None:
        _decide_in_experiment(experiment, facts, kb, db, as_json, lang, day=parse_day(as_of, "--as-of"), top=top,
                              brief=brief, prefer_history=prefer_history, engine=engine, fmt=fmt)
        return

    use_lang(lang)
    as_json = use_format(fmt, as_json) is Fmt.json
    day = parse_day(as_of, "--as-of")
    require_file(facts)
    with _reported(facts):
        advisor = Advisor.load(rules, kb, engine=engine.value)
        doc = read_facts(facts)
        with Store(db, advisor.book.kb) as store:
            decision = decide_and_log(store, advisor, doc, as_of=day, max_per_subject=top, source="cli",
                                      prefer="history" if prefer_history else "given")
            where = store.db.display_url
    if as_json:
        sys.stdout.write(decision.model_dump_json(indent=2) + "\n")
        return
    said = "[bold]" + _("decision") + f" {decision.id}[/bold]"
    out.print(_("{decision} logged in {database}", decision=said,
                database=where), highlight=False)
    print_decision(out, decision, lang.value, explain=not brief)


def _decide_in_experiment(path: Path, facts: Path, kb: Path | None, db: str | None, as_json: bool, lang: Lang, *,
                          day: dt.date | None, top: int | None, brief: bool, prefer_history: bool, engine: EngineName,
                          fmt: Fmt) -> None:
    from rm_advisor.cli.experiments import load_experiment
    from rm_advisor.store import Store, decide_in_experiment

    use_lang(lang)
    as_json = use_format(fmt, as_json) is Fmt.json
    require_file(facts)
    require_file(path)
    with _reported(path), Store(db) as store:
        run = load_experiment(path, store, kb, engine.value)
        decisions = decide_in_experiment(store, run, read_facts(facts), as_of=day, max_per_subject=top, source="cli",
                                         prefer="history" if prefer_history else "given")
        where = store.db.display_url
    if as_json:
        sys.stdout.write(json.dumps([d.model_dump(mode="json") | {"experiment": None if arm is None else
                                                                   arm.model_dump(mode="json")}
                                     for d, arm in decisions], ensure_ascii=False, indent=2) + "\n")
        return
    for decision, arm in decisions:
        said = "[bold]" + _("decision") + f" {decision.id}[/bold]"
        out.print(_("{decision} logged in {database}", decision=said, database=where)
                  + ("" if arm is None else " · " + _("arm {arm} of {experiment}", arm=arm.arm, experiment=arm.id)),
                  highlight=False)
        print_decision(out, decision, lang.value, explain=not brief)


def replay(
    decision_id: str = typer.Argument(..., help="a logged decision id"),
    db: str | None = DbOpt,
    rules: Path | None = typer.Option(None, "--rules", "-r", help="current rule directory (default: shipped)"),
    kb: Path | None = KbOpt,
    fmt: Fmt = format_option(),
    as_json: bool = JsonAliasOpt,
    lang: Lang = EnOpt,
) -> None:
    """Re-run a logged decision on its own revision (must be identical) and on the current rules.

    Exit 1 when the replay on its own revision differs from the log.
    """
    from rm_advisor.engine import Advisor
    from rm_advisor.store import Store
    from rm_advisor.store import replay as replay_decision

    use_lang(lang)
    as_json = use_format(fmt, as_json) is Fmt.json
    with _reported(), Store(db) as store:
        report = replay_decision(store.decisions, decision_id, Advisor.load(rules, kb))
    if as_json:
        sys.stdout.write(report.model_dump_json(indent=2, exclude={"on_logged": {"decision"},
                                                                   "on_current": {"decision"}}) + "\n")
    else:
        for label, run in ((_("its own revision"), report.on_logged), (_("the current revision"), report.on_current)):
            if run is None:
                continue
            verdict = _("identical") if run.identical else _("{count} difference(s)", count=len(run.changes))
            out.print(_("{decision} on {label} {revision}: {verdict}", decision=decision_id, label=label,
                        revision=run.revision, verdict=verdict), markup=False, highlight=False)
            for change in run.changes:
                out.print("  " + change.format(), markup=False, highlight=False)
    if not report.on_logged.identical:
        raise typer.Exit(1)


@decisions_app.command("show")
def decisions_show(
    decision_id: str = typer.Argument(..., help="a logged decision id"),
    db: str | None = DbOpt,
    fmt: Fmt = format_option(),
    as_json: bool = JsonAliasOpt,
    lang: Lang = LangOpt,
    brief: bool = typer.Option(True, "--brief/--explain", help="reasons only, or with the rule and signal chain"),
) -> None:
    """Show a logged decision (input masked) and the feedback given on it."""
    from rm_advisor.store import Store

    use_lang(lang)
    as_json = use_format(fmt, as_json) is Fmt.json
    with _reported(), Store(db) as store:
        logged = store.decisions.get(decision_id)
        feedback = store.feedback.for_decision(decision_id)
    if as_json:
        doc = logged.model_dump(mode="json") | {"feedback": [f.model_dump(mode="json") for f in feedback]}
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
        return
    policies = _("contact policies applied") if logged.history is not None else _("no contact policies")
    out.print("[bold]" + _("decision") + f" {logged.id}[/bold] · "
              + _("logged {when} UTC by {source} · input {hash}", when=logged.logged_at.strftime("%Y-%m-%d %H:%M:%S"),
                  source=logged.source, hash=logged.input_hash) + f" · {policies}", highlight=False)
    out.print(_logged_what(logged), markup=False, highlight=False)
    if logged.erasure_id is not None:
        out.print(f"a client's personal data was erased from it (erasure #{logged.erasure_id}): it cannot be "
                  "replayed identically", markup=False, highlight=False)
    print_decision(out, logged.decision, lang.value, explain=not brief)
    if feedback:
        out.print("[bold]" + _("feedback") + "[/bold]")
    for f in feedback:
        why = f" ({f.reason_code})" if f.reason_code else ""
        out.print(f"  #{f.id} {f.date} {f.subject_type}:{f.subject_id} {f.item_id} {f.status}{why} · "
                  + _("by {manager} via {source}, recorded {when} UTC", manager=f.manager_id or "-", source=f.source,
                      when=f.recorded_at.strftime("%Y-%m-%d %H:%M")), markup=False, highlight=False)


def _logged_what(logged: LoggedDecision) -> str:
    """Which subjects the log holds and which of their recommendations were shown."""
    who = _("{subject} alone (a one-subject request)", subject=logged.subject) if logged.subject \
        else _("every subject posted")
    if not logged.max_per_subject:
        return _("logged: {who}; every recommendation shown", who=who)
    rest = _("the others logged, not shown") if logged.all_recommended \
        else _("only those logged (before migration 0002)")
    return _("logged: {who}; each subject's first {top} recommendation(s) shown (--top), {rest}", who=who,
             top=logged.max_per_subject, rest=rest)


@decisions_app.command("list")
def decisions_list(
    db: str | None = DbOpt,
    limit: int = typer.Option(20, "--limit", min=1),
    since: str | None = typer.Option(None, "--since", help="only decisions as of this date or later"),
    fmt: Fmt = format_option(),
    as_json: bool = JsonAliasOpt,
    lang: Lang = EnOpt,
) -> None:
    """The latest logged decisions, newest first."""
    from rm_advisor.store import Store

    use_lang(lang)
    as_json = use_format(fmt, as_json) is Fmt.json
    day = parse_day(since, "--since")
    with _reported(), Store(db) as store:
        rows = store.decisions.recent(limit, day)
    if as_json:
        sys.stdout.write(json.dumps([r.model_dump(mode="json") for r in rows], indent=2) + "\n")
        return
    # column headings stay as they are in every language: aligned with the rows, and read by scripts
    out.print(f"{'id':<27} {'logged (UTC)':<16} {'source':<6} {'as of':<10} {'revision':<14} rec  shown  supp",
              markup=False, highlight=False)
    for r in rows:
        out.print(f"{r.id:<27} {r.logged_at:%Y-%m-%d %H:%M} {r.source:<6} {r.as_of} {r.revision:<14} "
                  f"{r.recommended:>3} {r.shown:>6} {r.suppressed:>5}", markup=False, highlight=False)


@feedback_app.command("add")
def feedback_add(
    decision_id: str = typer.Argument(..., help="the logged decision"),
    subject: str = typer.Argument(..., help="client id (or client:ID / manager:ID)"),
    item: str = typer.Argument(..., help="the recommended action or coaching topic"),
    status: Status = typer.Option(..., "--status", "-s"),
    reason: str | None = typer.Option(None, "--reason", help="reason code (required for rejected); "
                                                                "see `rm-advisor feedback reasons`"),
    date: str | None = typer.Option(None, "--date", help="when (default: the decision's as-of date)"),
    until: str | None = typer.Option(None, "--until", help="snoozed: the day it may come back"),
    manager: str | None = typer.Option(None, "--manager", help="who reports it"),
    db: str | None = DbOpt,
    kb: Path | None = KbOpt,
    lang: Lang = EnOpt,
) -> None:
    """Record what a manager did with one recommendation: accepted, rejected, done or snoozed."""
    from rm_advisor.store import FeedbackInput

    use_lang(lang)
    day, end = parse_day(date, "--date"), parse_day(until, "--until")
    with _reported():
        fb = FeedbackInput(decision_id=decision_id, subject=subject, item=item, status=status.value,
                           reason_code=reason, date=day, until=end, manager_id=manager)
    with _reported(), _store(db, kb) as store:
        rec = store.feedback.add(fb, source="cli")
    why = f" ({rec.reason_code})" if rec.reason_code else ""
    item = f"{rec.subject_type}:{rec.subject_id} {rec.item_id} {rec.status}{why}"
    out.print(_("recorded #{id}: {item} on {date} until {until}", id=rec.id, item=item, date=rec.date, until=rec.until)
              if rec.until else _("recorded #{id}: {item} on {date}", id=rec.id, item=item, date=rec.date),
              markup=False, highlight=False)


@feedback_app.command("import")
def feedback_import(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV exported from a CRM"),
    db: str | None = DbOpt,
    kb: Path | None = KbOpt,
    fmt: Fmt = format_option(),
    as_json: bool = JsonAliasOpt,
    lang: Lang = EnOpt,
) -> None:
    """Import feedback from a CSV file; every bad row is reported with line and column.

    Columns: decision_id, subject, item, status (required); reason_code, date, until, manager_id.
    Rows already recorded with the same content are skipped, so a file can be imported again.
    Exit 1 when any row has an error.
    """
    from rm_advisor.store import import_csv

    use_lang(lang)
    as_json = use_format(fmt, as_json) is Fmt.json
    with _reported(file), _store(db, kb) as store:
        result = import_csv(store.feedback, file)
    if as_json:
        sys.stdout.write(json.dumps({"file": result.file, "imported": len(result.imported), "skipped": result.skipped,
                                     "errors": len(result.errors),
                                     "diagnostics": [d.to_dict() for d in result.diagnostics]},
                                    ensure_ascii=False, indent=2) + "\n")
    else:
        print_diagnostics(err, result.diagnostics)
        out.print(_("{file}: imported {imported}, skipped {skipped} (already recorded), {errors} error(s)",
                    file=result.file, imported=len(result.imported), skipped=result.skipped,
                    errors=len(result.errors)), markup=False, highlight=False)
    if result.errors:
        raise typer.Exit(1)


@feedback_app.command("reasons")
def feedback_reasons(kb: Path | None = KbOpt, lang: Lang = LangOpt) -> None:
    """The reason-code catalogue (knowledge_base/feedback_reasons.yaml): the statuses, action kinds and
    channels each code fits."""
    from rm_advisor.engine.loading import load_knowledge_base, read_kb_files

    use_lang(lang)
    with _reported():
        reasons = load_knowledge_base(read_kb_files(kb)).feedback_reasons
    for code, spec in reasons.items():
        source = f" · {spec.provenance.document} «{spec.provenance.quote}»" if spec.provenance else ""
        kinds = _("any kind") if set(spec.kinds) == set(ACTION_KINDS) else "/".join(spec.kinds)
        fits = kinds if spec.channels is None else _("{kinds} on {channels}", kinds=kinds,
                                                      channels="/".join(spec.channels))
        out.print(f"{code:<22} {'/'.join(spec.statuses):<17} {fits:<47} {text(spec.title, lang.value)}{source}",
                  markup=False, highlight=False)


@report_app.command("effectiveness")
def report_effectiveness(
    since: str | None = typer.Option(None, "--since", help="first as-of date (YYYY-MM-DD)"),
    until: str | None = typer.Option(None, "--until", help="last as-of date (YYYY-MM-DD)"),
    min_recommended: int = typer.Option(Thresholds().min_recommended, "--min-recommended", min=1,
                                        help="noisy rules: recommended at least this often"),
    min_decided: int = typer.Option(Thresholds().min_decided, "--min-decided", min=1,
                                    help="noisy rules: at least this many accepted or rejected"),
    min_rejection_rate: float = typer.Option(Thresholds().min_rejection_rate, "--min-rejection-rate",
                                             min=0.0, max=1.0, help="noisy rules: rejected at least this share"),
    rows: int = typer.Option(15, "--rows", min=1, help="rows per table"),
    rules: Path | None = RulesOpt,
    kb: Path | None = KbOpt,
    db: str | None = DbOpt,
    fmt: Fmt = format_option(),
    as_json: bool = JsonAliasOpt,
    lang: Lang = EnOpt,
) -> None:
    """Acceptance and completion rates per rule, action, manager and segment; noisy rules, with
    what the log suggests changing in each (read against the rule set of -r/--rules)."""
    from rm_advisor.engine import Advisor
    from rm_advisor.engine.policies import Thresholds
    from rm_advisor.store import Store, effectiveness_report, rule_health_report

    use_lang(lang)
    as_json = use_format(fmt, as_json) is Fmt.json
    limits = Thresholds(min_recommended=min_recommended, min_decided=min_decided,
                        min_rejection_rate=min_rejection_rate)
    start, end = parse_day(since, "--since"), parse_day(until, "--until")
    advisor = Advisor.load(rules, kb)
    with _reported(), Store(db) as store:
        report = effectiveness_report(store, start, end, limits)
        health = rule_health_report(store, advisor, report)
    if as_json:
        doc = {**report.model_dump(mode="json"), "rule_health": [h.model_dump(mode="json") for h in health]}
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
    else:
        print_effectiveness(out, report, rows)
        print_rule_health(out, health)


def noisy_rule_warnings(db: str, rules: Path, kb: Path | None, since: dt.date | None) -> list[Diagnostic]:
    """``check --with-log``: a ``rule_noisy`` warning at each rule of ``rules`` the decision log
    shows is nearly always rejected, saying what the log suggests changing."""
    from rm_advisor.engine import Advisor
    from rm_advisor.engine.errors import Diagnostic, Location
    from rm_advisor.store import Store, effectiveness_report, rule_health_report

    advisor = Advisor.load(rules, kb)
    with _reported(), Store(db) as store:
        health = rule_health_report(store, advisor, effectiveness_report(store, since, None))
    lang = current_lang()
    return [Diagnostic("rule_noisy", _("rejected {rejected} of {decided} decided recommendations; {changes}",
                                       rejected=h.rates.rejected, decided=h.rates.accepted + h.rates.rejected,
                                       changes="; ".join(text(s.text, lang) for s in h.suggestions)),
                       Location(file=h.file, line=h.line), rule_id=h.rule_id, severity="warning")
            for h in health]


def print_rule_health(console: Console, health: list[RuleHealth]) -> None:
    """What the log suggests changing in each noisy rule, a rule a paragraph."""
    if not health:
        return
    lines = ["", _("what the log suggests changing in the noisy rules")]
    for h in health:
        lines.append(f"{h.rule_id} ({h.file}:{h.line}) {text(h.title, current_lang())}")
        lines += [f"  - {text(s.text, current_lang())}" for s in h.suggestions]
    for line in lines:
        console.print(line, markup=False, highlight=False)


def print_effectiveness(console: Console, report: EffectivenessReport, rows: int = 15) -> None:
    """The effectiveness report as plain aligned text (readable at any terminal width, greppable)."""
    start, now = _("start"), _("now")
    period = f"{report.since or start} .. {report.until or now}"
    t = report.total
    lines = [_("Effectiveness {period}: {decisions} decision(s), {recommended} recommended, {answered} answered, "
               "acceptance {acceptance}, completion {completion}", period=period, decisions=report.decisions,
               recommended=t.recommended, answered=t.answered, acceptance=_pct(t.acceptance_rate),
               completion=_pct(t.completion_rate)),
             _("(rec = recommended, ans = answered, acc = accepted incl. done, rej = rejected, snz = snoozed; "
               "acc% = accepted / decided, done% = done / accepted)")]
    for title, table_rows in ((_("per rule"), report.by_rule), (_("per action"), report.by_action),
                              (_("per manager"), report.by_manager), (_("per segment"), report.by_segment)):
        lines += ["", *_rate_lines(title, table_rows[:rows], len(table_rows))]
    th = report.thresholds
    rule = _("recommended >= {recommended}, decided >= {decided}, rejected >= {rejected}",
             recommended=th.min_recommended, decided=th.min_decided, rejected=format(th.min_rejection_rate, ".0%"))
    title = _("rules that fire often and are nearly always rejected ({limits})", limits=rule)
    lines += ["", *(_rate_lines(title, report.noisy_rules, len(report.noisy_rules)) if report.noisy_rules
                    else [_("no noisy rules ({limits})", limits=rule)])]
    for line in lines:
        console.print(line, markup=False, highlight=False)


def _rate_lines(title: str, rows: list[RateRow], total: int) -> list[str]:
    more = " " + _("(top {shown} of {total})", shown=len(rows), total=total) if total > len(rows) else ""
    width = max([len(title + more), *(len(r.key) for r in rows)])
    head = f"{title + more:<{width}} {'rec':>5} {'ans':>5} {'acc':>5} {'rej':>5} {'done':>5} {'snz':>5} " \
           f"{'acc%':>5} {'done%':>5}  " + _("top rejection reason")
    return [head] + [f"{r.key:<{width}} {r.recommended:>5} {r.answered:>5} {r.accepted:>5} {r.rejected:>5} "
                     f"{r.done:>5} {r.snoozed:>5} {_pct(r.acceptance_rate):>5} {_pct(r.completion_rate):>5}  "
                     f"{r.top_reason or ''}".rstrip() for r in rows]


def _pct(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.0%}"


@policies_app.command("list")
def policies_list(rules: Path | None = RulesOpt, kb: Path | None = KbOpt, lang: Lang = LangOpt) -> None:
    """The contact policies of a rule set."""
    from rm_advisor.engine import Advisor

    use_lang(lang)
    with _reported():
        policies = Advisor.load(rules, kb).book.policies
    for p in policies.policies:
        settings = p.model_dump(exclude={"id", "kind", "title", "description", "holds_back"}, exclude_none=True,
                                exclude_defaults=True) | {"holds_back": p.holds_back}  # always: what it may hold back
        shown = " ".join(f"{k}={','.join(map(str, v)) if isinstance(v, (list, tuple)) else v}"
                         for k, v in settings.items())
        out.print(f"{p.id} ({p.kind}): {text(p.title, lang.value)}\n    {shown}", markup=False, highlight=False)


@policies_app.command("schema")
def policies_schema(output: Path | None = OutOpt) -> None:
    """Print (or write) the JSON Schema of policy files, for editors."""
    from rm_advisor.engine.policies import policy_file_json_schema

    write_json(policy_file_json_schema(), output)
