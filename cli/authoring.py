"""Rule authors' commands: test, explain, graph, diff and scenario-schema.

Thin adapters like the rest of the CLI: read files, call the engine (:mod:`engine.authoring`),
print. Exit codes:
0 fine, 1 a finding (failing scenario, rule error, change with ``--fail-on-change``), 2 bad usage.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import os
import sys
from collections.abc import Iterable, Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer
import yaml
from rich.markup import escape
from rich.table import Table

from rm_advisor.cli.common import (
    Fmt,
    KbOpt,
    Lang,
    OutOpt,
    RulesArg,
    RulesOpt,
    _,
    err,
    fail,
    format_option,
    lang_option,
    out,
    parse_day,
    use_format,
    use_lang,
    write_json,
    write_out,
)
from rm_advisor.cli.render import print_diagnostics, text, trace_lines

if TYPE_CHECKING:
    from rm_advisor.engine.authoring import (
        CaseResult,
        ConditionReport,
        Coverage,
        Explainer,
        Explanation,
        Failure,
        ReplayReport,
        RuleReport,
    )
    from rm_advisor.engine.inference import RuleBook
    from rm_advisor.engine.language import KnowledgeBase, SubjectKey

# emoji=False: rich would turn a location such as `rules/x.yaml:100:7` into an emoji


class TestFormat(StrEnum):
    text = "text"
    json = "json"
    junit = "junit"




def register(app: typer.Typer) -> None:
    """Add the authoring commands to the ``rm-advisor`` app."""
    app.command("test")(run_tests)
    app.command("explain")(explain)
    app.command("graph")(graph)
    app.command("diff")(diff)
    app.command("scenario-schema")(scenario_schema)


# ---------------------------------------------------------------------------- loading


def _exists(path: Path) -> None:
    if not path.exists():
        fail("file_not_found", _("{path}: no such file or directory", path=path), exit_code=2)


def _load_book(rules: Path | Sequence[Path] | None, kb: Path | None,
               used_by: str = "") -> tuple[RuleBook, dict[str, str], dict[str, str]]:
    """The rule book (from a rule folder or file, or several) and the file texts it came from;
    prints the diagnostics and exits 1 when the rule set does not check. ``used_by`` says whose
    rule set it is (the scenario files that name it), for the message."""
    from rm_advisor.engine import RuleError
    from rm_advisor.engine.inference import load_rule_book
    from rm_advisor.engine.loading import default_rules_dir, read_kb_files, read_rule_files

    targets = [rules] if isinstance(rules, Path) else list(rules or [default_rules_dir()])
    rule_files: dict[str, str] = {}
    for target in targets:
        _exists(target)
        rule_files.update(read_rule_files(target))
    kb_files = read_kb_files(kb)
    try:
        return load_rule_book(rule_files, kb_files), rule_files, kb_files
    except RuleError as exc:
        fail("rule_set_invalid",
             _("FAILED: the rule set {names} (the rule set of {used_by}) does not check (see `rm-advisor check`)",
               names=_names(targets), used_by=used_by) if used_by
             else _("FAILED: the rule set {names} does not check (see `rm-advisor check`)", names=_names(targets)),
             exc.diagnostics)


def _names(paths: Iterable[Path]) -> str:
    """Paths as the command line shows them: relative to the working directory when under it."""
    shown = []
    for p in paths:
        rel = os.path.relpath(p)
        name = str(p) if rel.startswith("..") else rel
        shown.append(name + "/" if p.is_dir() and not name.endswith("/") else name)
    return ", ".join(shown)


def _read_document(path: Path) -> Any:
    raw = path.read_text(encoding="utf-8")
    return json.loads(raw) if path.suffix.lower() == ".json" else yaml.safe_load(raw)


PORTFOLIO_TABLES = ("clients", "managers", "history")


def _portfolio_tables(path: Path) -> dict[str, Path] | None:
    """``clients``, ``managers`` and ``history`` tables (CSV or Parquet) in a directory, if all are there."""
    if not path.is_dir():
        return None
    found = {name: next((path / f"{name}{ext}" for ext in (".csv", ".parquet") if (path / f"{name}{ext}").is_file()),
                        None) for name in PORTFOLIO_TABLES}
    return found if all(found.values()) else None  # type: ignore[return-value]


def _portfolio_documents(tables: dict[str, Path], kb: KnowledgeBase, as_of: dt.date) -> list[tuple[str, Any]]:
    """One fact set per manager's book, as a batch run builds them (history fields derived)."""
    from rm_advisor.cli.batch import HELD, MAX_BAD_ROWS, read_portfolio
    from rm_advisor.cli.tableio import TableReadError
    from rm_advisor.engine.errors import TooManyBadRows
    from rm_advisor.engine.language import build_fact_set
    from rm_advisor.engine.portfolio import Report, prepare

    try:
        checked = read_portfolio(tables, kb, as_of, Report(MAX_BAD_ROWS, keep=HELD))
    except TableReadError as exc:
        fail("table_unreadable", diagnostics=[exc.diagnostic()])
    except TooManyBadRows as exc:
        fail("too_many_bad_rows", diagnostics=exc.diagnostics)
    if checked.bad_rows:
        print_diagnostics(err, [d for d in checked.diagnostics if d.severity == "error"][:20])
        err.print(_("{count} bad row(s) skipped", count=checked.bad_rows), markup=False)
    parts = prepare(checked, kb, None)[1]
    return [(f"{tables['managers'].parent}#{p.manager_id}", build_fact_set(p.facts, as_of, kb, history=p.history))
            for p in parts]


def _documents(path: Path) -> list[tuple[str, Any]]:
    """A facts document, or every ``*.yaml``/``*.yml``/``*.json`` document in a directory."""
    _exists(path)
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*")
                                                 if p.suffix.lower() in (".yaml", ".yml", ".json"))
    docs = []
    for f in files:
        try:
            docs.append((str(f), _read_document(f)))
        except (yaml.YAMLError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            fail("facts_unreadable", _("{file}: cannot read facts: {error}", file=f, error=exc))
    return docs


# ---------------------------------------------------------------------------- test


def run_tests(
    paths: list[Path] | None = typer.Argument(None, help="scenario files or folders of them "
                                                 "(default: the shipped packs)"),
    rules: Path | None = typer.Option(None, "--rules", "-r", help="rule folder or file to test every scenario "
                                         "file against (default: the one each file names with `rules:`, else "
                                         "the rule file of the same name beside it, else its folder)"),
    kb: Path | None = KbOpt,
    fmt: TestFormat = typer.Option(TestFormat.text, "--format", metavar="text|json|junit",
                                   help="text, json or junit (XML); with json, errors too are a JSON object on stdout"),
    output: Path | None = typer.Option(None, "--out", "-o", help="write the json or junit report to this file "
                                       "instead of stdout"),
    junit: Path | None = typer.Option(None, "--junit-xml", help="also write JUnit XML to this file"),
    coverage: bool = typer.Option(False, "--coverage", help="report rules, conditions and actions never exercised"),
    keyword: str | None = typer.Option(None, "-k", help="only scenarios whose name contains this text"),
    min_rules: float | None = typer.Option(None, "--min-rules", min=0, max=100,
                                           help="exit 1 when fewer than this percentage of the rules fired "
                                                "(implies --coverage)"),
    min_conditions: float | None = typer.Option(None, "--min-conditions", min=0, max=100,
                                                help="exit 1 when fewer than this percentage of the conditions "
                                                     "were seen both true and false (implies --coverage)"),
    lang: Lang = lang_option(Lang.en),
) -> None:
    """Run the scenario tests beside the rules (exit 1 when one fails or coverage is below a minimum)."""
    from rm_advisor.engine.authoring import merge_runs, run_suite
    from rm_advisor.engine.loading import SCENARIO_SUFFIX, default_rules_dir, read_scenario_files

    use_lang(lang)
    use_format(fmt)
    coverage = coverage or min_rules is not None or min_conditions is not None
    targets = paths or [default_rules_dir()]
    files: dict[str, str] = {}
    for p in targets:
        _exists(p)
        if p.is_file() and not p.name.endswith(SCENARIO_SUFFIX):
            fail("not_a_scenario_file", _("{path}: not a scenario file (they end in {suffix})", path=p,
                                          suffix=SCENARIO_SUFFIX), exit_code=2)
        files.update(read_scenario_files(p))
    if not files:
        fail("no_scenarios", _("no scenarios found in {paths}", paths=", ".join(str(p) for p in targets)))
    groups: dict[tuple[Path, ...], dict[str, str]] = {}
    for name, source in sorted(files.items()):
        groups.setdefault((rules,) if rules else _rule_set_of(Path(name), source), {})[name] = source
    runs = []
    for rule_set, group in groups.items():
        book, rule_files, _kb_files = _load_book(rule_set, kb, used_by=", ".join(group))
        runs.append(run_suite(book, group, rule_files, keyword=keyword, coverage=coverage,
                              rule_set=_names(rule_set)))
    run = merge_runs(runs)
    if not run.results:
        where = ", ".join(str(p) for p in targets)
        fail("no_scenarios", _("no scenarios found in {paths} matching `{keyword}`", paths=where, keyword=keyword)
             if keyword else _("no scenarios found in {paths}", paths=where), run.problems)
    if junit:
        junit.write_text(run.junit_xml(), encoding="utf-8")
    short = _below_minimum(run.coverage, min_rules, min_conditions)
    if fmt is TestFormat.json:
        doc = run.to_dict()
        if min_rules is not None or min_conditions is not None:
            doc["coverage_below_minimum"] = short
        write_json(doc, output)
    elif fmt is TestFormat.junit:
        write_out(run.junit_xml(), output)
    else:
        print_diagnostics(out, run.problems)
        for r in run.results:
            if not r.passed:
                _print_failure(r)
        if run.coverage:
            _print_coverage(run.coverage)
        for line in short:
            out.print(_("FAILED: coverage {line}", line=line), markup=False)
        counts = {"passed": run.passed, "failed": run.failed, "files": run.files, "rule_sets": "; ".join(run.rule_sets)}
        out.print(_("OK: {passed} passed, {failed} failed ({files} scenario file(s); rule set: {rule_sets})", **counts)
                  if run.ok and not short else
                  _("FAILED: {passed} passed, {failed} failed ({files} scenario file(s); rule set: {rule_sets})",
                    **counts), markup=False)
    raise typer.Exit(0 if run.ok and not short else 1)


def _below_minimum(cov: Coverage | None, min_rules: float | None, min_conditions: float | None) -> list[str]:
    """What falls short of the coverage minimums, one line each (``95.2% of the rules fired, below
    --min-rules 98``); empty when nothing does."""
    if cov is None:
        return []
    short = []
    if min_rules is not None and cov.rules_percent < min_rules:
        short.append(_("{percent}% of the rules fired, below --min-rules {minimum}",
                       percent=format(cov.rules_percent, ".1f"), minimum=format(min_rules, "g")))
    if min_conditions is not None and cov.conditions_percent < min_conditions:
        short.append(_("{percent}% of the conditions were seen true and false, below --min-conditions {minimum}",
                       percent=format(cov.conditions_percent, ".1f"), minimum=format(min_conditions, "g")))
    return short


def _rule_set_of(path: Path, text: str) -> tuple[Path, ...]:
    """The rule set a scenario file is tested against: what its ``rules:`` names (relative to it),
    else the rule file of the same name beside it, else its folder."""
    from rm_advisor.engine.authoring import declared_rule_set
    from rm_advisor.engine.loading import SCENARIO_SUFFIX

    declared = declared_rule_set(text, str(path))
    if declared:
        named = tuple(Path(os.path.normpath(path.parent / d)) for d in declared)
        for p in named:
            if not p.exists():
                err.print(_("{path}: `rules: {named}` names no file or directory", path=path, named=p), markup=False)
                raise typer.Exit(2)
        return named
    sibling = path.with_name(path.name.removesuffix(SCENARIO_SUFFIX) + ".yaml")
    return (sibling,) if sibling.is_file() else (path.parent,)


def _print_failure(result: CaseResult) -> None:
    case = result.case
    out.print("[red bold]" + _("FAIL") + f"[/red bold] {escape(case.file)}:{case.line}  {escape(case.scenario.name)}")
    by_subject: dict[str, list[Failure]] = {}
    for f in result.failures:
        by_subject.setdefault(f.subject, []).append(f)
    seen = {o.subject: o for o in result.observed}
    for subject, failures in by_subject.items():
        if subject:
            out.print(f"  [bold]{escape(subject)}[/bold]  ({escape(case.file)}:{failures[0].line})")
        for f in failures:
            for line in _diff_lines(f):
                out.print("    " + line)
        obs = seen.get(subject)
        if obs:
            asked = tuple(f"{fields} ({', '.join(unlocks)})" for fields, unlocks in obs.to_confirm)
            for label, items in (("recommended", obs.recommended), ("vetoed", obs.vetoed),
                                 ("signals", obs.signals), ("fired", obs.fired), ("to_confirm", asked)):
                shown = ("; " if label == "to_confirm" else ", ").join(items)
                out.print(f"    [dim]{label:<12} {escape(shown or '-')}[/dim]")
    out.print()


def _diff_lines(f: Failure) -> list[str]:
    """One failure as expected (-) against actual (+) lines."""
    label = f"{f.check:<12}"
    if f.check == "order":
        lines = [f"{label} expected order, then actual order:"]
        for line in difflib.ndiff(list(f.expected), list(f.actual)):
            if line[0] in "-+ ":
                style = {"-": "red", "+": "green", " ": "dim"}[line[0]]
                lines.append(f"  [{style}]{escape(line)}[/{style}]")
        return lines
    if f.check == "error":
        return [f"[red]- expected error {escape(', '.join(f.expected) or 'none')}[/red]",
                f"[green]+ got {escape(', '.join(f.actual) or 'no error')}[/green]", f"[dim]{escape(f.message)}[/dim]"]
    if f.check.startswith("not_") or f.check == "nothing":
        shown = f.item or ", ".join(f.actual)
        return [f"{label} [green]+ {escape(shown)}[/green]  (must not appear)"]
    if f.check == "subject":
        return [f"[red]{escape(f.message)}[/red]"]
    return [f"{label} [red]- {escape(f.item)}[/red]  (expected, missing)"]


def _print_coverage(cov: Coverage) -> None:
    table = Table(title=_("Scenario coverage ({count} scenarios)", count=cov.scenarios), title_justify="left")
    for i, col in enumerate((_("rule file"), _("rules fired"), _("conditions"), _("actions"), _("expected"))):
        table.add_column(col, justify="left" if i == 0 else "right")
    for f in cov.files:
        n = len(f.outcomes)
        table.add_row(f.file, f"{len(f.rules) - len(f.never_fired)}/{len(f.rules)}",
                      f"{f.conditions_covered}/{len(f.conditions)}", f"{n - len(f.never_decided)}/{n}",
                      f"{n - len(f.never_expected)}/{n}")
    out.print(table)
    out.print("[dim]" + _("rules fired: in some scenario · conditions: seen both true and false · actions: "
                          "recommended or vetoed in some scenario · expected: named in some expectation") + "[/dim]")
    for f in cov.files:
        unfired = set(f.never_fired)
        lines = [_("rules never fired: {rules}", rules=", ".join(f.never_fired))] if unfired else []
        lines += [f"{c.location.file}:{c.location.line}: [{c.rule_id}] never {'true' if not c.seen_true else 'false'}: "
                  f"{c.text}" for c in f.conditions if not c.covered and c.rule_id not in unfired]
        if f.never_decided:
            lines.append(_("never recommended or vetoed: {items}", items=", ".join(f.never_decided)))
        if f.never_expected:
            lines.append(_("named in no expectation: {items}", items=", ".join(f.never_expected)))
        if lines:
            out.print(f"[bold]{escape(f.file)}[/bold]")
            for line in lines:
                out.print("  " + line, markup=False)


# ---------------------------------------------------------------------------- explain


def explain(
    facts: Path = typer.Argument(..., help="facts as JSON or YAML"),
    rule: str | None = typer.Option(None, "--rule", help="why this rule fired or did not"),
    action: str | None = typer.Option(None, "--action", help="why this action (or coaching topic) was "
                                         "or was not recommended"),
    subject: str | None = typer.Option(None, "--subject", help="only this subject, e.g. client:T-001"),
    rules: Path | None = RulesOpt,
    kb: Path | None = KbOpt,
    fmt: Fmt = format_option(),
    lang: Lang = lang_option(Lang.both),
) -> None:
    """Why a recommendation was made, and why one was not (with the smallest change that flips it)."""
    from rm_advisor.engine import Advisor, FactError, InferenceError
    from rm_advisor.engine.authoring import Explainer
    from rm_advisor.engine.loading import Locator

    use_lang(lang)
    use_format(fmt)
    if rule and action:
        fail("bad_usage", _("give --rule or --action, not both"), exit_code=2)
    _exists(facts)
    if not facts.is_file():
        fail("not_a_file", _("{path}: explain takes one facts file", path=facts), exit_code=2)
    book, rule_files, _kb_files = _load_book(rules, kb)
    [(name, doc)] = _documents(facts)
    try:
        run = Advisor(book).run(doc)
    except (FactError, InferenceError) as exc:
        fail("facts_refused", diagnostics=exc.diagnostics)
    ex = Explainer(book, run, Locator.from_files(rule_files))
    kb_ = book.kb
    if rule is not None:
        if rule not in ex.rules:
            _unknown(_("rule"), rule, ex.rules)
        checked = ex.rules[rule].rule
        explanations = [ex.explain_rule(rule, s) for s in _subjects(ex, checked.subject, subject, checked.domain)]
    elif action is not None:
        if action not in kb_.actions and action not in kb_.coaching:
            _unknown(_("action or coaching topic"), action, list(kb_.actions) + list(kb_.coaching))
        kind = "client" if action in kb_.actions else "manager"
        explanations = [ex.explain_item(action, s) for s in _subjects(ex, kind, subject)]
    else:
        only = str(_subject(ex, subject)) if subject else None
        explanations = [e for e in ex.explain_decision() if not only or e.subject == only]
    if fmt is Fmt.json:
        sys.stdout.write(json.dumps({"facts": name, "revision": book.revision,
                                     "explanations": [e.model_dump(mode="json") for e in explanations]},
                                    ensure_ascii=False, indent=2) + "\n")
        return
    if not explanations:
        out.print(_("nothing to explain: no subject or no recommendation matched"), markup=False)
    for e in explanations:
        _print_explanation(e, lang.value)


def _unknown(what: str, name: str, choices: Iterable[str]) -> NoReturn:
    from rm_advisor.engine.errors import suggest

    hint = suggest(name, choices)
    fail("unknown_name", _("unknown {what} `{name}`", what=what, name=name) + (f" ({hint})" if hint else ""),
         exit_code=2)


def _subjects(ex: Explainer, kind: str, only: str | None, domain: str | None = None) -> list[SubjectKey]:
    """The subjects to explain: ``only`` (see :func:`_subject`), else every ``kind`` in the facts,
    of ``domain`` when a rule's domain is given (a tobacco rule says nothing about bank clients)."""
    if only:
        found = _subject(ex, only)
        if found.type != kind:
            err.print(_("`{name}` is a {found}; this asks about {kind}s", name=only, found=found.type, kind=kind),
                      markup=False)
            raise typer.Exit(2)
        return [found]
    return ex.subjects(kind, domain)


def _subject(ex: Explainer, name: str) -> SubjectKey:
    """The subject ``--subject`` names: ``client:T-002``, or ``T-002`` when one subject has that id."""
    found = ex.find_subject(name)
    if len(found) == 1:
        return found[0]
    if found:
        err.print(_("`{name}` is the id of {subjects}: name one", name=name,
                    subjects=" and ".join(str(s) for s in found)), markup=False)
        raise typer.Exit(2)
    everyone = [str(s) for t in ex.kb.subjects() for s in ex.subjects(t)]
    _unknown(_("subject in the facts"), name, everyone + [k.split(":", 1)[1] for k in everyone])


_OUTCOME_STYLE = {"recommended": "green", "fired": "green", "vetoed": "red", "not recommended": "yellow",
                  "not fired": "yellow"}


def _print_explanation(e: Explanation, lang: str) -> None:
    style = _OUTCOME_STYLE[e.outcome]
    from rm_advisor.engine.authoring import OUTCOME_TEXT

    outcome = escape(_(OUTCOME_TEXT[e.outcome]))
    out.rule(f"[bold]{escape(e.subject)}[/bold] · {escape(e.target)} · [{style}]{outcome}[/{style}]", align="left")
    out.print(f"  {escape(text(e.summary, lang))}")
    for trace in e.why:
        for line in trace_lines(trace, lang, "  "):
            out.print(line)
    for v in e.vetoed_by:
        out.print("  [red]" + _("vetoed by {rule}", rule=escape(v.rule_id)) + f"[/red]: {escape(text(v.text, lang))}")
    for report in e.rules:
        _print_rule(report, lang, "  ")
    out.print()


def _print_rule(r: RuleReport, lang: str, indent: str) -> None:
    mark = "[green]✓[/green]" if r.fired else "[red]✗[/red]"
    rule = f"[bold]{escape(r.rule_id)}[/bold]"
    said = _("rule {rule} fired for {subject}", rule=rule, subject=escape(r.subject)) if r.fired \
        else _("rule {rule} did not fire for {subject}", rule=rule, subject=escape(r.subject))
    out.print(f"{indent}{mark} {said} [dim]({escape(r.file)}:{r.line} · {escape(text(r.title, lang))})[/dim]")
    if r.note:
        out.print(f"{indent}    [yellow]{escape(text(r.note, lang))}[/yellow]")
    if r.matched:
        values = ", ".join(f"{k} = {_value(v)}" for k, v in r.matched.items())
        out.print(f"{indent}    [dim]" + _("matched") + f" {escape(values)}[/dim]")
    for fact, ids in r.related.items():
        through = _("through {relation}", relation=escape(fact))
        out.print(f"{indent}    [dim]{through}: {escape(', '.join(ids))}[/dim]")
    for i, c in enumerate(r.failing):
        _print_condition(c, lang, indent + "    ", _("first failing") if i == 0 else _("also failing"), r.subject)
    if r.to_confirm:
        out.print(f"{indent}    [cyan]" + _("only missing values stand in the way; confirm:") + "[/cyan] "
                  f"{escape('; '.join(r.to_confirm))}")


def _print_condition(c: ConditionReport, lang: str, indent: str, tag: str, subject: str) -> None:
    on = f" on {c.subject}" if c.subject != subject else ""
    out.print(f"{indent}[red]✗[/red] {escape(c.condition)}  [dim]({tag}; {escape(c.file)}:{c.line}"
              f"{escape(on)})[/dim]")
    if c.kind in ("field", "signal", "exists", "compare", "events"):
        from rm_advisor.engine.language import Text, counted

        actual = _value(c.actual)
        if c.unknown:
            held = c.unknown == "match"
            actual += f" ({text(Text(zh=counted(held, 'zh'), en=counted(held, 'en')), lang)})"
        out.print(f"{indent}    " + _("actual {actual} · expected {expected}", actual=escape(actual),
                                         expected=escape(text(c.expected, lang))))
    if c.change:
        out.print(f"{indent}    [cyan]" + _("to flip it:") + f"[/cyan] {escape(text(c.change, lang))}")
    for r in c.asserted_by:
        out.print(f"{indent}    " + _("asserted by:"))
        _print_rule(r, lang, indent + "      ")
    for r in c.producers:
        _print_rule(r, lang, indent + "      ")
    either = c.kind == "any"
    for i, inner in enumerate(c.inner):
        label = (_("either") if i == 0 else _("or")) if either else \
            (_("first failing") if i == 0 else _("also failing"))
        _print_condition(inner, lang, indent + "    ", label, subject)


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return "[" + ", ".join(str(x) for x in v) + "]"
    return "(missing)" if v is None else str(v)


# ---------------------------------------------------------------------------- graph


def graph(
    rules_arg: Path | None = RulesArg,
    rules: Path | None = RulesOpt,
    kb: Path | None = KbOpt,
    dot: Path | None = typer.Option(None, "--dot", help="write Graphviz DOT here"),
    mermaid: Path | None = typer.Option(None, "--mermaid", help="write a Mermaid flowchart here"),
    picture: Path | None = typer.Option(None, "--picture", help="write a picture here (.svg or .png)"),
    out_dir: Path | None = typer.Option(None, "--out", "-o", help="write rules.dot, rules.mmd and rules.svg in this "
                                        "folder"),
    pack: str | None = typer.Option(None, "--pack", help="only this pack's rules and their neighbours"),
    focus: str | None = typer.Option(None, "--focus", help="only what leads to or follows this node "
                                        "(an id, or kind:id such as action:counter_placement)"),
    fmt: Fmt = format_option(help="text or json (the findings; errors too: a JSON object on stdout)"),
    lang: Lang = lang_option(Lang.en),
) -> None:
    """Draw the rule set as a graph and report cycles, unused signals and unreachable actions."""
    use_lang(lang)
    use_format(fmt)
    from rm_advisor.engine import RuleError
    from rm_advisor.engine.authoring import cycle_nodes, findings, parse_rules, rule_graph, select
    from rm_advisor.engine.errors import Diagnostic
    from rm_advisor.engine.inference import check_rules
    from rm_advisor.engine.loading import (
        Locator,
        default_rules_dir,
        load_knowledge_base,
        read_kb_files,
        read_rule_files,
    )

    target = rules or rules_arg or default_rules_dir()
    _exists(Path(target))
    rule_files, kb_files = read_rule_files(target), read_kb_files(kb)
    try:
        knowledge = load_knowledge_base(kb_files)
    except RuleError as exc:
        fail("knowledge_base_invalid", diagnostics=exc.diagnostics)
    diags = check_rules(rule_files, knowledge)
    errors = [d for d in diags if d.severity == "error"]
    if any(d.code != "signal_cycle" for d in errors):
        fail("rule_set_invalid",
             _("FAILED: fix these errors first (a graph needs rules that check; signal cycles are drawn)"), errors)
    locator = Locator.from_files(rule_files, kb_files)
    parsed = [r for r, _ in parse_rules(rule_files)]
    full = rule_graph(parsed, knowledge, locator)
    # the checker's warnings are `rm-advisor check`'s business; the graph adds its own
    diags = sorted(errors + findings(full, parsed, knowledge, locator), key=Diagnostic.sort_key)
    try:
        shown = select(full, pack, focus)
    except KeyError:
        _unknown(_("graph node"), focus or "", [f"{k}:{i}" for k, i in full])
    if pack and not any(n[0] == "rule" for n in shown):
        _unknown(_("pack"), pack, {d.get("pack", "") for _, d in full.nodes(data=True)})
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)
        dot, mermaid, picture = dot or out_dir / "rules.dot", mermaid or out_dir / "rules.mmd", \
            picture or out_dir / "rules.svg"
    written = _write_graph(shown, dot, mermaid, picture)
    counts = {k: sum(1 for n in shown if n[0] == k) for k in ("field", "rule", "signal", "action", "coaching")}
    if fmt is Fmt.json:
        sys.stdout.write(json.dumps({"ok": not errors, "nodes": counts, "edges": shown.number_of_edges(),
                                     "cycle": sorted(f"{k}:{i}" for k, i in cycle_nodes(shown)),
                                     "written": [str(p) for p in written],
                                     "diagnostics": [d.to_dict() for d in diags]}, ensure_ascii=False, indent=2) + "\n")
    else:
        print_diagnostics(out, diags)
        for p in written:
            out.print(_("wrote {path}", path=p), markup=False)
        names = {"field": _("fields"), "rule": _("rules"), "signal": _("signals"), "action": _("actions"),
                 "coaching": _("coaching topics")}
        summary = ", ".join(f"{n} {names[k]}" for k, n in counts.items())
        fields = {"summary": summary, "errors": len(errors), "warnings": len(diags) - len(errors)}
        out.print(_("FAILED: {summary}; {errors} error(s), {warnings} warning(s)", **fields) if errors
                  else _("OK: {summary}; {errors} error(s), {warnings} warning(s)", **fields), markup=False)
    raise typer.Exit(1 if errors else 0)


def _write_graph(shown: Any, dot: Path | None, mermaid: Path | None, picture: Path | None) -> list[Path]:
    from rm_advisor.engine.authoring import to_dot, to_mermaid, to_picture

    written = []
    if dot:
        dot.write_text(to_dot(shown), encoding="utf-8")
        written.append(dot)
    if mermaid:
        mermaid.write_text(to_mermaid(shown), encoding="utf-8")
        written.append(mermaid)
    if picture:
        suffix = picture.suffix.lower().lstrip(".")
        if suffix not in ("png", "svg"):
            fail("bad_usage", _("{path}: a picture is .png or .svg", path=picture), exit_code=2)
        picture.write_bytes(to_picture(shown, suffix))
        written.append(picture)
    return written


# ---------------------------------------------------------------------------- diff


def diff(
    old_rules: Path = typer.Argument(..., help="the rule directory in use"),
    new_rules: Path = typer.Argument(..., help="the changed rule directory"),
    facts: Path = typer.Option(..., "--facts", help="a facts document (YAML/JSON), a directory of them, or a "
                               "portfolio directory with clients, managers and history tables (CSV/Parquet)"),
    as_of: str | None = typer.Option(None, "--as-of", help="as-of date of a portfolio (YYYY-MM-DD; default today)"),
    kb: Path | None = KbOpt,
    fmt: Fmt = format_option(),
    fail_on_change: bool = typer.Option(False, "--fail-on-change", help="exit 1 when any decision changes"),
    limit: int = typer.Option(50, "--limit", min=0, help="list at most this many single changes (text)"),
    lang: Lang = lang_option(Lang.en),
) -> None:
    """Replay facts under two rule sets and report which decisions change."""
    from rm_advisor.engine import Advisor
    from rm_advisor.engine.authoring import replay

    use_lang(lang)
    use_format(fmt)
    old_book = _load_book(old_rules, kb)[0]
    new_book = _load_book(new_rules, kb)[0]
    tables = _portfolio_tables(facts)
    if tables:
        day = parse_day(as_of, "--as-of") or dt.date.today()
        documents = _portfolio_documents(tables, new_book.kb, day)
    else:
        documents = _documents(facts)
    report = replay(Advisor(old_book), Advisor(new_book), documents)
    if fmt is Fmt.json:
        sys.stdout.write(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n")
    else:
        _print_report(report, limit)
    raise typer.Exit(1 if report.errors or (fail_on_change and report.changes) else 0)


def _print_report(report: ReplayReport, limit: int) -> None:
    from rm_advisor.engine.authoring import KINDS

    for e in report.errors:
        err.print(_("{document}: the old rule set refused these facts:", document=e.document) if e.side == "old"
                  else _("{document}: the new rule set refused these facts:", document=e.document), markup=False)
        print_diagnostics(err, e.diagnostics)
    totals = report.totals()
    out.print(f"[bold]diff[/bold] {report.old_revision} → {report.new_revision}: "
              + _("{documents} document(s), {subjects} subject(s), {changed} changed", documents=report.documents,
                  subjects=report.subjects, changed=report.changed_subjects) + " · "
              + " · ".join(f"{k} {n}" for k, n in totals.items()))
    if not report.changes:
        out.print(_("no decision changes"))
        return
    managers = Table(title=_("per manager"), title_justify="left")
    for i, col in enumerate((_("manager"), _("subjects changed"), *KINDS)):
        managers.add_column(col, justify="left" if i == 0 else "right")
    for manager, row in report.by_manager().items():
        managers.add_row(manager or "(none)", str(row["subjects"]), *(str(row[k]) for k in KINDS))
    out.print(managers)
    items = Table(title=_("per action / coaching topic"), title_justify="left")
    for i, col in enumerate((_("item"), *KINDS)):
        items.add_column(col, justify="left" if i == 0 else "right")
    for item, row in report.by_item().items():
        items.add_row(item, *(str(row[k]) for k in KINDS))
    out.print(items)
    marks = {"added": "[green]+[/green]", "removed": "[red]-[/red]", "reranked": "[yellow]~[/yellow]",
             "veto": "[red]x[/red]"}
    for c in report.changes[:limit]:
        out.print(f" {marks[c.kind]} {escape(c.subject)} [dim]({escape(c.manager or '-')}, "
                  f"{escape(Path(c.document).name)})[/dim] {escape(c.item)}: {escape(c.before)} → {escape(c.after)}")
    if len(report.changes) > limit:
        out.print(" " + _("… {count} more (--limit, or --format json for all)", count=len(report.changes) - limit))


# ---------------------------------------------------------------------------- schema


def scenario_schema(output: Path | None = OutOpt) -> None:
    """Print (or write) the JSON Schema of scenario files, for editors."""
    from rm_advisor.engine.authoring import scenario_file_json_schema

    write_json(scenario_file_json_schema(), output)
