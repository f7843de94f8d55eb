"""The ``rm-advisor`` command line: a thin adapter that reads files, calls the engine, prints."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import sys
from pathlib import Path

import typer

from rm_advisor.cli import authoring, batch
from rm_advisor.cli.common import (
    EngineName,
    EngineOpt,
    Fmt,
    JsonAliasOpt,
    KbOpt,
    Lang,
    OutOpt,
    PreferHistoryOpt,
    RulesArg,
    RulesOpt,
    _,
    error_code,
    fail,
    format_option,
    lang_option,
    out,
    parse_day,
    plain_help,
    read_facts,
    report_error,
    require_file,
    use_format,
    use_lang,
    write_json,
)
from rm_advisor.cli.releases import release_app
from rm_advisor.cli.serve import register as register_serve
from rm_advisor.cli.store import register as register_store_commands
from rm_advisor.cli.users import users_app
from rm_advisor.cli.workspace import register as register_workspace

# Each command imports the engine (and pandas, SQLAlchemy, FastAPI...) when it runs, so that
# `rm-advisor --help` and the light commands start at once (bench/startup.py measures it).

plain_help()  # click's plain words in every --help: PATH, TEXT, no <bool> (see cli.common.plain_help)
app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="rm-advisor: next-best-actions and coaching for customer managers, from YAML rules.")


def sample_facts_path() -> Path:
    from rm_advisor.engine.loading import default_kb_dir

    return default_kb_dir() / "samples" / "demo_facts.yaml"


@app.command()
def recommend(
    facts: Path = typer.Argument(..., help="facts as JSON or YAML"),
    rules: Path | None = RulesOpt,
    kb: Path | None = KbOpt,
    fmt: Fmt = format_option(help="text, or json: the full decision (errors too: a JSON object on stdout, exit "
                                  "code not 0)"),
    as_json: bool = JsonAliasOpt,
    lang: Lang = lang_option(Lang.both),
    as_of: str | None = typer.Option(None, "--as-of", help="override the facts' as-of date (YYYY-MM-DD)"),
    top: int | None = typer.Option(None, "--top", min=1, help="at most this many recommendations per subject"),
    brief: bool = typer.Option(False, "--brief", help="reasons only, without the rule and signal chain"),
    prefer_history: bool = PreferHistoryOpt,
    engine: EngineName = EngineOpt,
) -> None:
    """Recommend next-best-actions for each client and coaching for each manager in FACTS."""
    import yaml

    from rm_advisor.cli.render import print_decision
    from rm_advisor.engine import Advisor, FactError, InferenceError, RuleError

    use_lang(lang)
    fmt = use_format(fmt, as_json)
    day = parse_day(as_of, "--as-of")
    require_file(facts)
    try:
        advisor = Advisor.load(rules, kb, engine=engine.value)
        doc = read_facts(facts)
        decision = advisor.decide(doc, as_of=day, max_per_subject=top,
                                  prefer="history" if prefer_history else "given")
    except RuleError as exc:
        fail("rule_set_invalid", diagnostics=exc.diagnostics)
    except (FactError, InferenceError) as exc:
        fail("facts_refused", diagnostics=exc.diagnostics)
    except (yaml.YAMLError, json.JSONDecodeError, ValueError) as exc:
        fail("facts_unreadable", _("{file}: cannot read facts: {error}", file=facts, error=exc))
    if fmt is Fmt.json:
        sys.stdout.write(decision.model_dump_json(indent=2) + "\n")
    else:
        print_decision(out, decision, lang.value, explain=not brief)


@app.command()
def demo(lang: Lang = lang_option(Lang.both),
         learning: bool = typer.Option(False, "--learning", help="then show a decision whose ranking changed "
                                                                 "because of a week of feedback (a temporary "
                                                                 "decision log)")) -> None:
    """Run the shipped rules on the bundled sample facts."""
    recommend(sample_facts_path(), None, None, Fmt.text, False, lang, None, None, False, False, EngineName.compiled)
    if learning:
        from rm_advisor.cli.learning_demo import run_learning_demo

        run_learning_demo(out, lang.value)


@app.command()
def check(
    rules_arg: Path | None = RulesArg,
    rules: Path | None = RulesOpt,
    kb: Path | None = KbOpt,
    fmt: Fmt = format_option(),
    as_json: bool = JsonAliasOpt,
    documents: Path | None = typer.Option(None, "--documents", envvar="RM_ADVISOR_DOCUMENTS", file_okay=False,
                                          help="folder of the source documents' texts: each provenance quote "
                                               "must be found in its document verbatim"),
    with_log: str | None = typer.Option(None, "--with-log", metavar="DB",
                                        help="decision-log database URL: warn (rule_noisy) about the rules its "
                                             "feedback shows are nearly always rejected, with what to change"),
    since: str | None = typer.Option(None, "--since", help="with --with-log: first as-of date counted (YYYY-MM-DD)"),
    as_of: str | None = typer.Option(None, "--as-of", help="the day rules' review_by dates are checked against "
                                                           "(YYYY-MM-DD; default today)"),
    lang: Lang = lang_option(Lang.en),
) -> None:
    """Check rule files; print every problem with file:line:column; exit 1 on errors."""
    from rm_advisor.cli.render import print_diagnostics
    from rm_advisor.engine import RuleError
    from rm_advisor.engine.errors import Diagnostic
    from rm_advisor.engine.inference import check_rules
    from rm_advisor.engine.loading import (
        default_rules_dir,
        load_knowledge_base,
        quotes_not_found,
        read_documents,
        read_kb_files,
        read_rule_files,
        rule_file_paths,
    )

    use_lang(lang)
    fmt = use_format(fmt, as_json)
    target = rules or rules_arg or default_rules_dir()
    require_file(Path(target), dir_ok=True)
    if documents is not None and not documents.is_dir():
        fail("file_not_found", _("{path}: no such directory (--documents)", path=documents), exit_code=2)
    review_day = parse_day(as_of, "--as-of") or dt.date.today()
    unread: list[str] = []
    try:  # a file that is not UTF-8, a knowledge base that does not load: their diagnostics
        kb_files = read_kb_files(kb)
        knowledge = load_knowledge_base(kb_files)
        texts = None
        if documents is not None:
            texts, unread = read_documents(documents, {d.id: d.file for d in knowledge.documents.values()})
        diags = check_rules(read_rule_files(target), knowledge, texts, review_as_of=review_day)
        if texts is not None:  # the catalogues' quotes too: a pack's own knowledge base gets the same check
            diags = sorted(diags + quotes_not_found(kb_files, texts), key=Diagnostic.sort_key)
    except RuleError as exc:
        diags = exc.diagnostics
    errors = [d for d in diags if d.severity == "error"]
    if with_log is not None and not errors:
        from rm_advisor.cli.store import noisy_rule_warnings

        diags = sorted(diags + noisy_rule_warnings(with_log, target, kb, parse_day(since, "--since")),
                       key=Diagnostic.sort_key)
    if fmt is Fmt.json:
        sys.stdout.write(json.dumps({"ok": not errors, **({"code": "rule_set_invalid", "message": _(
                                         "the rule set {names} does not check", names=target)} if errors else {}),
                                     "errors": len(errors),
                                     "warnings": len(diags) - len(errors),
                                     "diagnostics": [d.to_dict() for d in diags]},
                                    ensure_ascii=False, indent=2) + "\n")
    else:
        print_diagnostics(out, diags)
        count = len(rule_file_paths(target))
        counts = {"files": count, "errors": len(errors), "warnings": len(diags) - len(errors)}
        if documents is None:
            quotes = _("quotes not checked (no --documents)")
        elif unread:
            quotes = _("quotes checked in {path}, except {files} (not there)", path=documents, files=", ".join(unread))
        else:
            quotes = _("quotes checked in {path}", path=documents)
        out.print((_("FAILED: {files} file(s), {errors} error(s), {warnings} warning(s)", **counts) if errors
                   else _("OK: {files} file(s), {errors} error(s), {warnings} warning(s)", **counts)) + "; " + quotes,
                  markup=False)
    raise typer.Exit(1 if errors else 0)


@app.command()
def schema(output: Path | None = OutOpt) -> None:
    """Print (or write) the JSON Schema of rule files, for editors."""
    from rm_advisor.engine.language import rule_file_json_schema

    write_json(rule_file_json_schema(), output)


@app.command("coaching-schema")
def coaching_schema(output: Path | None = OutOpt) -> None:
    """Print (or write) the JSON Schema of knowledge_base/coaching_from_clients.yaml, for editors."""
    from rm_advisor.engine.language import client_coaching_json_schema

    write_json(client_coaching_json_schema(), output)


@app.command("arbitration-schema")
def arbitration_schema(output: Path | None = OutOpt) -> None:
    """Print (or write) the JSON Schema of rules/arbitration.yaml, for editors."""
    from rm_advisor.engine.policies import arbitration_file_json_schema

    write_json(arbitration_file_json_schema(), output)


batch.register(app)
authoring.register(app)
register_serve(app)
register_store_commands(app)
app.add_typer(users_app, name="users")
app.add_typer(release_app, name="release")
register_workspace(app)


def main() -> None:
    """The `rm-advisor` command: an input the engine refuses (a rule, knowledge-base or scenario
    file that is not UTF-8, a rule set that does not check) prints its coded diagnostics, never a
    stack trace, whichever command read it."""
    from rm_advisor.engine.errors import AdvisorError

    try:
        if not _asks_json(sys.argv[1:]):
            app()
        else:  # a usage error (a bad option value, an unknown option) is JSON on stdout too
            try:
                code = app(standalone_mode=False)
            except typer.TyperException as exc:  # click's ClickException, as typer 0.29 carries it
                use_format(Fmt.json)
                shown = exc.format_message() if hasattr(exc, "format_message") else str(exc)
                report_error("bad_usage", str(shown))
                raise SystemExit(int(getattr(exc, "exit_code", 2))) from None
            raise SystemExit(code if isinstance(code, int) else 0)
    except AdvisorError as exc:
        report_error(error_code(exc), diagnostics=exc.diagnostics)
        raise SystemExit(1) from None


def _asks_json(args: list[str]) -> bool:
    """The command line asks for JSON: ``--json``, ``--format json`` or ``--format=json``."""
    return "--json" in args or "--format=json" in args or any(
        a == "--format" and b == "json" for a, b in itertools.pairwise(args))


if __name__ == "__main__":  # pragma: no cover
    main()
