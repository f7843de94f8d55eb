"""What every ``rm-advisor`` command shares: consoles, option types, reading a facts document."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Sequence
from contextvars import ContextVar
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer
import yaml
from rich.console import Console

if TYPE_CHECKING:
    from rm_advisor.engine.errors import Diagnostic

# no highlighting or emoji: a location like `telecom.yaml:100:` must print as written
out = Console(soft_wrap=True, highlight=False, emoji=False)
err = Console(stderr=True, soft_wrap=True, highlight=False, emoji=False)


class Lang(StrEnum):
    zh = "zh"
    en = "en"
    both = "both"


#: the language of the running command's messages (set by :func:`use_lang` when the command starts)
_LANG: ContextVar[str] = ContextVar("rm_advisor_cli_lang", default="en")


def lang_option(default: Lang, help: str = "language of the messages, titles and reasons: zh, en or both") -> Any:
    """The ``--lang`` option of a command (each command keeps the language it printed in before)."""
    return typer.Option(default, "--lang", metavar="zh|en|both", help=help)


def use_lang(lang: Lang | str) -> None:
    """The running command speaks ``lang`` (``zh``, ``en`` or ``both``) from here on, and prints
    text until :func:`use_format` says otherwise (every command starts here, so no format is left
    over from a command run before in the same process)."""
    _LANG.set(str(lang))
    _FORMAT.set(Fmt.text.value)


def current_lang() -> str:
    """The language the running command speaks."""
    return _LANG.get()


def _(msgid: str, **fields: object) -> str:
    """``msgid`` from the message catalogue in the command's language (``both``: Chinese / English),
    with its ``{name}`` fields filled."""
    from rm_advisor.engine.messages import Translator

    return Translator(_LANG.get())(msgid, **fields)


class Fmt(StrEnum):
    text = "text"
    json = "json"


#: what the running command prints: ``text`` for people, ``json`` for tools (set by :func:`use_format`)
_FORMAT: ContextVar[str] = ContextVar("rm_advisor_cli_format", default="text")


def format_option(default: Fmt = Fmt.text, help: str = "text, or json for tools (errors too: a JSON object on "
                                                        "stdout, exit code not 0)") -> Any:
    """The ``--format text|json`` option: the one spelling of every command's output format."""
    return typer.Option(default, "--format", metavar="text|json", help=help)


#: ``--json``, the older spelling of ``--format json``: still accepted, not shown in --help
JsonAliasOpt = typer.Option(False, "--json", hidden=True, help="the same as --format json")
# store.database.ENV_URL and DEFAULT_URL, written out so that --help does not load SQLAlchemy (a test compares)
DB_HELP = "database URL (default: $RM_ADVISOR_DB_URL, else sqlite:///rm-advisor.db)"
#: the decision database of every command that reads or writes it
DbOpt = typer.Option(None, "--db", help=DB_HELP)
#: the language of commands whose output was English only: English unless asked
EnOpt = lang_option(Lang.en)


def use_format(fmt: Fmt | str, as_json: bool = False) -> Fmt:
    """The running command prints ``fmt`` (``json`` when the ``--json`` alias was given) from here
    on, errors included (see :func:`fail`); returns the format in force."""
    chosen = Fmt.json if as_json else Fmt(str(fmt)) if str(fmt) in Fmt.__members__ else Fmt.text
    _FORMAT.set(chosen.value)
    return chosen


def json_mode() -> bool:
    """The running command prints JSON (``--format json`` or ``--json``)."""
    return _FORMAT.get() == Fmt.json.value


def report_error(code: str, message: str | None = None, diagnostics: Sequence[Diagnostic] = ()) -> None:
    """Say why a command fails, in its format: with ``--format json`` one JSON object on stdout
    (``ok`` false, ``code``, ``message``, ``diagnostics``); as text the diagnostics, then the message,
    on stderr."""
    if json_mode():
        shown = message if message is not None else diagnostics[0].message if diagnostics else code
        sys.stdout.write(json.dumps({"ok": False, "code": code, "message": shown,
                                     "diagnostics": [d.to_dict() for d in diagnostics]},
                                    ensure_ascii=False, indent=2) + "\n")
        return
    from rm_advisor.cli.render import print_diagnostics

    if diagnostics:
        print_diagnostics(err, diagnostics)
    if message is not None:
        err.print(message, markup=False)


def error_code(exc: Exception) -> str:
    """The ``code`` of a refused input's JSON error: ``rule_set_invalid`` (rules or knowledge base),
    ``facts_refused``, else the first diagnostic's code."""
    from rm_advisor.engine.errors import FactError, InferenceError, RuleError

    if isinstance(exc, RuleError):
        return "rule_set_invalid"
    if isinstance(exc, FactError | InferenceError):
        return "facts_refused"
    diagnostics = getattr(exc, "diagnostics", None) or []
    return str(diagnostics[0].code) if diagnostics else "refused"


def fail(code: str, message: str | None = None, diagnostics: Sequence[Diagnostic] = (), exit_code: int = 1) -> NoReturn:
    """:func:`report_error`, then end the command with ``exit_code`` (1 a refused input, 2 bad usage)."""
    report_error(code, message, diagnostics)
    raise typer.Exit(exit_code)


def require_file(path: Path, dir_ok: bool = False) -> None:
    """A usage error (exit 2, ``file_not_found``) unless ``path`` exists (and is a file, unless ``dir_ok``)."""
    if not path.exists():
        fail("file_not_found", _("{path}: no such file or directory", path=path), exit_code=2)
    if not dir_ok and path.is_dir():
        fail("not_a_file", _("{path}: a directory, not a file", path=path), exit_code=2)


class EngineName(StrEnum):
    compiled = "compiled"
    experta = "experta"


#: the evaluator of chaining rules (both give the same decisions; README: "Two evaluators, one semantics")
EngineOpt = typer.Option(EngineName.compiled, "--engine",
                         help="evaluator of chaining rules: compiled (default) or experta (the reference)")
RulesOpt = typer.Option(None, "--rules", "-r", help="rule directory or file (default: the shipped packs)")
#: a rule set given as the command's argument, the older spelling of ``-r/--rules`` (still accepted, not shown)
RulesArg = typer.Argument(None, hidden=True, metavar="RULES", help="the same as -r/--rules")
#: the file a command writes
OutOpt = typer.Option(None, "--out", "-o", help="write to this file (default: stdout)")
KbOpt = typer.Option(None, "--kb", help="knowledge-base directory (default: the shipped one)")
PreferHistoryOpt = typer.Option(False, "--prefer-history",
                                help="values the history (interactions) gives replace the values the facts give "
                                     "(default: given values are kept and history fills what is missing)")


def json_wanted(fmt: Fmt, as_json: bool, lang: Lang) -> bool:
    """Set the language of the messages, and say whether ``--format json`` (or ``--json``) was asked for."""
    use_lang(lang)
    return use_format(fmt, as_json) is Fmt.json


def write_out(text: str, output: Path | None) -> None:
    """``text`` to the ``-o/--out`` file, else to stdout."""
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")


def write_json(doc: Any, output: Path | None) -> None:
    """``doc`` as indented JSON (Chinese kept as written) to the ``-o/--out`` file, else to stdout."""
    write_out(json.dumps(doc, ensure_ascii=False, indent=2, default=str) + "\n", output)


def parse_day(value: str | None, name: str) -> dt.date | None:
    """A date option (``--as-of``, ``--since``...): ``YYYY-MM-DD`` within the business calendar of
    :mod:`engine.language.values`, else a usage error naming the option (exit 2, no traceback)."""
    from rm_advisor.engine.language import parse_date

    if value is None:
        return None
    try:
        return parse_date(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=name) from None


def read_facts(path: Path) -> Any:
    """Load a facts document from JSON or YAML (safe loader)."""
    raw = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        return json.loads(raw)
    return yaml.safe_load(raw)


# ---------------------------------------------------------------------------- help text

#: typer's type labels as --help shows them (click's words): no ``<bool>``, ``<list[Path]>`` or ``{facts}``
_TYPE_WORDS = {"str": "TEXT", "int": "INTEGER", "float": "NUMBER", "int range": "INTEGER", "float range": "NUMBER",
               "path": "PATH", "dir": "DIR", "file": "FILE", "bool": "", "datetime": "DATE"}


def _plain_type(label: str) -> str:
    """``<int>`` as ``INTEGER``, ``<list[Path]>`` as ``PATH``, ``<compiled|experta>`` as ``compiled|experta``."""
    inner = label.strip("<>")
    while inner.lower().startswith("list[") and inner.endswith("]"):
        inner = inner[5:-1]
    if "|" in inner:  # choices, as they are typed
        return inner
    return _TYPE_WORDS.get(inner.lower(), inner.upper())


def plain_help() -> None:
    """Every command's --help in click's plain words (called once, when the command line is built):
    an option's value as ``PATH``, ``TEXT``, ``INTEGER`` or its choices, a flag with no value, an
    argument as ``FACTS`` or ``[PATHS]...`` (typer 0.29 prints ``<bool>``, ``<list[Path]>`` and
    ``{facts}``). ``tests/cli/test_conventions.py`` checks every command's help."""
    from typer import core

    if getattr(core, "_rm_advisor_plain", False):
        return
    typed = core._TyperParameter.display_type

    def display_type(self: Any, ctx: Any) -> str:
        if isinstance(self, core.TyperArgument) or getattr(self, "is_flag", False):
            return ""
        return _plain_type(typed(self, ctx))

    def argument_name(self: Any) -> str:
        name = str(self.display_name_raw).upper()
        return name + "..." if self.metavar is None and self.nargs != 1 else name

    def usage_name(self: Any) -> str:
        name = str(self.display_name_raw).upper()
        name = name if self.required or name.startswith("[") else f"[{name}]"
        return name + "..." if self.nargs != 1 else name

    core._TyperParameter.display_type = display_type  # type: ignore[method-assign]
    core.TyperArgument._rich_display_name = argument_name  # type: ignore[method-assign]
    core.TyperArgument._usage_display_name = usage_name  # type: ignore[method-assign]
    core._rm_advisor_plain = True  # type: ignore[attr-defined]
