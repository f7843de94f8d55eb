"""Rule authors' commands: test, explain, graph, diff and scenario-schema.

Thin adapters like the rest of the CLI: read files, call the engine (:mod:`engine.authoring`),
print. Exit codes:
0 fine, 1 a finding (failing scenario, rule error, change with ``--fail-on-change``), 2 bad usage.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import sys
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
import yaml
from rich.markup import escape
from rich.table import Table

from rm_advisor.cli.common import Fmt, KbOpt, Lang, RulesOpt, err, out, parse_day
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
        err.print(f"{path}: no such file or directory", markup=False)
        raise typer.Exit(2)


def _load_book(rules: Path | None, kb: Path | None) -> tuple[RuleBook, dict[str, str], dict[str, str]]:
    """The rule book and the file texts it came from; prints the diagnostics and exits 1 when the
    rule set does not check."""
    from rm_advisor.engine import RuleError
    from rm_advisor.engine.inference import load_rule_book
    from rm_advisor.engine.loading import default_rules_dir, read_kb_files, read_rule_files

    target = rules or default_rules_dir()
    _exists(Path(target))
    rule_files, kb_files = read_rule_files(target), read_kb_files(kb)
    try:
        return load_rule_book(rule_files, kb_files), rule_files, kb_files
    except RuleError as exc:
        print_diagnostics(err, exc.diagnostics)
        err.print(f"FAILED: the rule set in {target} does not check (see `rm-advisor check`)", markup=False)
        raise typer.Exit(1) from None


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
        print_diagnostics(err, [exc.diagnostic()])
        raise typer.Exit(1) from None
    except TooManyBadRows as exc:
        print_diagnostics(err, exc.diagnostics)
        raise typer.Exit(1) from None
    if checked.bad_rows:
        print_diagnostics(err, [d for d in checked.diagnostics if d.severity == "error"][:20])
        err.print(f"{checked.bad_rows} bad row(s) skipped", markup=False)
    _, parts = prepare(checked, kb, None)
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
            err.print(f"{f}: cannot read facts: {exc}", markup=False)
            raise typer.Exit(1) from None
    return docs


# ---------------------------------------------------------------------------- test


def run_tests(
    paths: list[Path] | None = typer.Argument(None, help="scenario files or rule directories "
                                                 "(default: the shipped packs)"),
    rules: Path | None = typer.Option(None, "--rules", "-r", help="rule directory to test "
                                         "(default: the first PATH's directory)"),
    kb: Path | None = KbOpt,
    fmt: TestFormat = typer.Option(TestFormat.text, "--format", help="text, json or junit (XML)"),
    junit: Path | None = typer.Option(None, "--junit-xml", help="also write JUnit XML to this file"),
    coverage: bool = typer.Option(False, "--coverage", help="report rules, conditions and actions never exercised"),
    keyword: str | None = typer.Option(None, "-k", help="only scenarios whose name contains this text"),
) -> None:
    """Run the scenario tests beside the rules (exit 1 when one fails)."""
    from rm_advisor.engine.authoring import run_suite
    from rm_advisor.engine.loading import SCENARIO_SUFFIX, default_rules_dir, read_scenario_files

    targets = paths or [default_rules_dir()]
    for p in targets:
        _exists(p)
    rule_dir = rules or (targets[0] if targets[0].is_dir() else targets[0].parent)
    book, rule_files, _ = _load_book(rule_dir, kb)
    files: dict[str, str] = {}
    for p in targets:
        if p.is_file() and not p.name.endswith(SCENARIO_SUFFIX):
            err.print(f"{p}: not a scenario file (they end in {SCENARIO_SUFFIX})", markup=False)
            raise typer.Exit(2)
        files.update(read_scenario_files(p))
    run = run_suite(book, files, rule_files, keyword=keyword, coverage=coverage)
    if not run.results:
        err.print(f"no scenarios found in {', '.join(str(p) for p in targets)}"
                  + (f" matching `{keyword}`" if keyword else ""), markup=False)
        print_diagnostics(err, run.problems)
        raise typer.Exit(1)
    if junit:
        junit.write_text(run.junit_xml(), encoding="utf-8")
    if fmt is TestFormat.json:
        sys.stdout.write(json.dumps(run.to_dict(), ensure_ascii=False, indent=2, default=str) + "\n")
    elif fmt is TestFormat.junit:
        sys.stdout.write(run.junit_xml())
    else:
        print_diagnostics(out, run.problems)
        for r in run.results:
            if not r.passed:
                _print_failure(r)
        if run.coverage:
            _print_coverage(run.coverage)
        out.print(f"{'OK' if run.ok else 'FAILED'}: {run.passed} passed, {run.failed} failed "
                  f"({run.files} scenario file(s))", markup=False)
    raise typer.Exit(0 if run.ok else 1)


def _print_failure(result: CaseResult) -> None:
    case = result.case
    out.print(f"[red bold]FAIL[/red bold] {escape(case.file)}:{case.line}  {escape(case.scenario.name)}")
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
    table = Table(title=f"Scenario coverage ({cov.scenarios} scenarios)", title_justify="left")
    for col in ("rule file", "rules fired", "conditions", "actions", "expected"):
        table.add_column(col, justify="left" if col == "rule file" else "right")
    for f in cov.files:
        n = len(f.outcomes)
        table.add_row(f.file, f"{len(f.rules) - len(f.never_fired)}/{len(f.rules)}",
                      f"{f.conditions_covered}/{len(f.conditions)}", f"{n - len(f.never_decided)}/{n}",
                      f"{n - len(f.never_expected)}/{n}")
    out.print(table)
    out.print("[dim]rules fired: in some scenario · conditions: seen both true and false · actions: recommended "
              "or vetoed in some scenario · expected: named in some expectation[/dim]")
    for f in cov.files:
        unfired = set(f.never_fired)
        lines = [f"rules never fired: {', '.join(f.never_fired)}"] if unfired else []
        lines += [f"{c.location.file}:{c.location.line}: [{c.rule_id}] never {'true' if not c.seen_true else 'false'}: "
                  f"{c.text}" for c in f.conditions if not c.covered and c.rule_id not in unfired]
        if f.never_decided:
            lines.append(f"never recommended or vetoed: {', '.join(f.never_decided)}")
        if f.never_expected:
            lines.append(f"named in no expectation: {', '.join(f.never_expected)}")
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
    fmt: Fmt = typer.Option(Fmt.text, "--format", help="text or json"),
    lang: Lang = typer.Option(Lang.both, "--lang", help="language of titles"),
) -> None:
    """Why a recommendation was made, and why one was not (with the smallest change that flips it)."""
    from rm_advisor.engine import Advisor, FactError, InferenceError
    from rm_advisor.engine.authoring import Explainer
    from rm_advisor.engine.loading import Locator

    if rule and action:
        err.print("give --rule or --action, not both", markup=False)
        raise typer.Exit(2)
    _exists(facts)
    if not facts.is_file():
        err.print(f"{facts}: explain takes one facts file", markup=False)
        raise typer.Exit(2)
    book, rule_files, _ = _load_book(rules, kb)
    [(name, doc)] = _documents(facts)
    try:
        run = Advisor(book).run(doc)
    except (FactError, InferenceError) as exc:
        print_diagnostics(err, exc.diagnostics)
        raise typer.Exit(1) from None
    ex = Explainer(book, run, Locator.from_files(rule_files))
    kb_ = book.kb
    if rule is not None:
        if rule not in ex.rules:
            _unknown("rule", rule, ex.rules)
        explanations = [ex.explain_rule(rule, s) for s in _subjects(ex, ex.rules[rule].rule.subject, subject)]
    elif action is not None:
        if action not in kb_.actions and action not in kb_.coaching:
            _unknown("action or coaching topic", action, list(kb_.actions) + list(kb_.coaching))
        kind = "client" if action in kb_.actions else "manager"
        explanations = [ex.explain_item(action, s) for s in _subjects(ex, kind, subject)]
    else:
        explanations = [e for e in ex.explain_decision() if not subject or e.subject == subject]
    if fmt is Fmt.json:
        sys.stdout.write(json.dumps({"facts": name, "revision": book.revision,
                                     "explanations": [e.model_dump(mode="json") for e in explanations]},
                                    ensure_ascii=False, indent=2) + "\n")
        return
    if not explanations:
        out.print("nothing to explain: no subject or no recommendation matched", markup=False)
    for e in explanations:
        _print_explanation(e, lang.value)


def _unknown(what: str, name: str, choices: Iterable[str]) -> None:
    from rm_advisor.engine.errors import suggest

    hint = suggest(name, choices)
    err.print(f"unknown {what} `{name}`" + (f" ({hint})" if hint else ""), markup=False)
    raise typer.Exit(2)


def _subjects(ex: Explainer, kind: str, only: str | None) -> list[SubjectKey]:
    from rm_advisor.engine.language import SubjectKey

    subjects = ex.subjects(kind)
    if only:
        if only not in {str(s) for s in subjects}:
            _unknown(f"{kind} in the facts", only, [str(s) for s in subjects])
        return [SubjectKey.parse(only)]
    return subjects


_OUTCOME_STYLE = {"recommended": "green", "fired": "green", "vetoed": "red", "not recommended": "yellow",
                  "not fired": "yellow"}


def _print_explanation(e: Explanation, lang: str) -> None:
    style = _OUTCOME_STYLE[e.outcome]
    out.rule(f"[bold]{escape(e.subject)}[/bold] · {escape(e.target)} · [{style}]{e.outcome}[/{style}]", align="left")
    out.print(f"  {escape(e.summary)}")
    for trace in e.why:
        for line in trace_lines(trace, lang, "  "):
            out.print(line)
    for v in e.vetoed_by:
        out.print(f"  [red]vetoed by {escape(v.rule_id)}[/red]: {escape(text(v.text, lang))}")
    for report in e.rules:
        _print_rule(report, lang, "  ")
    out.print()


def _print_rule(r: RuleReport, lang: str, indent: str) -> None:
    mark = "[green]✓[/green]" if r.fired else "[red]✗[/red]"
    state = "fired" if r.fired else "did not fire"
    out.print(f"{indent}{mark} rule [bold]{escape(r.rule_id)}[/bold] {state} for {escape(r.subject)} "
              f"[dim]({escape(r.file)}:{r.line} · {escape(text(r.title, lang))})[/dim]")
    if r.note:
        out.print(f"{indent}    [yellow]{escape(r.note)}[/yellow]")
    if r.matched:
        values = ", ".join(f"{k} = {_value(v)}" for k, v in r.matched.items())
        out.print(f"{indent}    [dim]matched {escape(values)}[/dim]")
    for fact, ids in r.related.items():
        out.print(f"{indent}    [dim]through {escape(fact)}: {escape(', '.join(ids))}[/dim]")
    for i, c in enumerate(r.failing):
        _print_condition(c, lang, indent + "    ", "first failing" if i == 0 else "also failing", r.subject)
    if r.to_confirm:
        out.print(f"{indent}    [cyan]only missing values stand in the way; confirm:[/cyan] "
                  f"{escape('; '.join(r.to_confirm))}")


def _print_condition(c: ConditionReport, lang: str, indent: str, tag: str, subject: str) -> None:
    on = f" on {c.subject}" if c.subject != subject else ""
    out.print(f"{indent}[red]✗[/red] {escape(c.condition)}  [dim]({tag}; {escape(c.file)}:{c.line}"
              f"{escape(on)})[/dim]")
    if c.kind in ("field", "signal", "exists", "compare", "events"):
        actual = _value(c.actual) + (f" (unknown, counted as {c.unknown.replace('_', ' ')})" if c.unknown else "")
        out.print(f"{indent}    actual {escape(actual)} · expected {escape(c.expected)}")
    if c.change:
        out.print(f"{indent}    [cyan]to flip it:[/cyan] {escape(c.change)}")
    for r in c.asserted_by:
        out.print(f"{indent}    asserted by:")
        _print_rule(r, lang, indent + "      ")
    for r in c.producers:
        _print_rule(r, lang, indent + "      ")
    either = c.kind == "any"
    for i, inner in enumerate(c.inner):
        label = ("either" if i == 0 else "or") if either else ("first failing" if i == 0 else "also failing")
        _print_condition(inner, lang, indent + "    ", label, subject)


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return "[" + ", ".join(str(x) for x in v) + "]"
    return "(missing)" if v is None else str(v)


# ---------------------------------------------------------------------------- graph


def graph(
    rules: Path | None = typer.Argument(None, help="rule directory or file (default: the shipped packs)"),
    kb: Path | None = KbOpt,
    dot: Path | None = typer.Option(None, "--dot", help="write Graphviz DOT here"),
    mermaid: Path | None = typer.Option(None, "--mermaid", help="write a Mermaid flowchart here"),
    picture: Path | None = typer.Option(None, "--picture", help="write a picture here (.svg or .png)"),
    out_dir: Path | None = typer.Option(None, "--out", help="write rules.dot, rules.mmd and rules.svg here"),
    pack: str | None = typer.Option(None, "--pack", help="only this pack's rules and their neighbours"),
    focus: str | None = typer.Option(None, "--focus", help="only what leads to or follows this node "
                                        "(an id, or kind:id such as action:counter_placement)"),
    fmt: Fmt = typer.Option(Fmt.text, "--format", help="text or json (for the findings)"),
) -> None:
    """Draw the rule set as a graph and report cycles, unused signals and unreachable actions."""
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

    target = rules or default_rules_dir()
    _exists(Path(target))
    rule_files, kb_files = read_rule_files(target), read_kb_files(kb)
    try:
        knowledge = load_knowledge_base(kb_files)
    except RuleError as exc:
        print_diagnostics(err, exc.diagnostics)
        raise typer.Exit(1) from None
    diags = check_rules(rule_files, knowledge)
    errors = [d for d in diags if d.severity == "error"]
    if any(d.code != "signal_cycle" for d in errors):
        print_diagnostics(err, errors)
        err.print("FAILED: fix these errors first (a graph needs rules that check; signal cycles are drawn)",
                  markup=False)
        raise typer.Exit(1)
    locator = Locator.from_files(rule_files, kb_files)
    parsed = [r for r, _ in parse_rules(rule_files)]
    full = rule_graph(parsed, knowledge, locator)
    # the checker's warnings are `rm-advisor check`'s business; the graph adds its own
    diags = sorted(errors + findings(full, parsed, knowledge, locator), key=Diagnostic.sort_key)
    try:
        shown = select(full, pack, focus)
    except KeyError:
        _unknown("graph node", focus or "", [f"{k}:{i}" for k, i in full])
    if pack and not any(n[0] == "rule" for n in shown):
        _unknown("pack", pack, {d.get("pack", "") for _, d in full.nodes(data=True)})
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
            out.print(f"wrote {p}", markup=False)
        names = {"field": "fields", "rule": "rules", "signal": "signals", "action": "actions",
                 "coaching": "coaching topics"}
        summary = ", ".join(f"{n} {names[k]}" for k, n in counts.items())
        out.print(f"{'FAILED' if errors else 'OK'}: {summary}; {len(errors)} error(s), "
                  f"{len(diags) - len(errors)} warning(s)", markup=False)
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
            err.print(f"{picture}: a picture is .png or .svg", markup=False)
            raise typer.Exit(2)
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
    fmt: Fmt = typer.Option(Fmt.text, "--format", help="text or json"),
    fail_on_change: bool = typer.Option(False, "--fail-on-change", help="exit 1 when any decision changes"),
    limit: int = typer.Option(50, "--limit", min=0, help="list at most this many single changes (text)"),
) -> None:
    """Replay facts under two rule sets and report which decisions change."""
    from rm_advisor.engine import Advisor
    from rm_advisor.engine.authoring import replay

    old_book, _, _ = _load_book(old_rules, kb)
    new_book, _, _ = _load_book(new_rules, kb)
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
        err.print(f"{e.document}: the {e.side} rule set refused these facts:", markup=False)
        print_diagnostics(err, e.diagnostics)
    totals = report.totals()
    out.print(f"[bold]diff[/bold] {report.old_revision} → {report.new_revision}: {report.documents} document(s), "
              f"{report.subjects} subject(s), {report.changed_subjects} changed · "
              + " · ".join(f"{k} {n}" for k, n in totals.items()))
    if not report.changes:
        out.print("no decision changes")
        return
    managers = Table(title="per manager", title_justify="left")
    for col in ("manager", "subjects changed", *KINDS):
        managers.add_column(col, justify="left" if col == "manager" else "right")
    for manager, row in report.by_manager().items():
        managers.add_row(manager or "(none)", str(row["subjects"]), *(str(row[k]) for k in KINDS))
    out.print(managers)
    items = Table(title="per action / coaching topic", title_justify="left")
    for col in ("item", *KINDS):
        items.add_column(col, justify="left" if col == "item" else "right")
    for item, row in report.by_item().items():
        items.add_row(item, *(str(row[k]) for k in KINDS))
    out.print(items)
    marks = {"added": "[green]+[/green]", "removed": "[red]-[/red]", "reranked": "[yellow]~[/yellow]",
             "veto": "[red]x[/red]"}
    for c in report.changes[:limit]:
        out.print(f" {marks[c.kind]} {escape(c.subject)} [dim]({escape(c.manager or '-')}, "
                  f"{escape(Path(c.document).name)})[/dim] {escape(c.item)}: {escape(c.before)} → {escape(c.after)}")
    if len(report.changes) > limit:
        out.print(f" … {len(report.changes) - limit} more (--limit, or --format json for all)")


# ---------------------------------------------------------------------------- schema


def scenario_schema(output: Path | None = typer.Option(None, "--out", "-o", help="write to this file")) -> None:
    """Print (or write) the JSON Schema of scenario files, for editors."""
    from rm_advisor.engine.authoring import scenario_file_json_schema

    doc = json.dumps(scenario_file_json_schema(), ensure_ascii=False, indent=2) + "\n"
    if output:
        output.write_text(doc, encoding="utf-8")
    else:
        sys.stdout.write(doc)
