"""What every ``rm-advisor`` command shares: consoles, option types, reading a facts document."""

from __future__ import annotations

import datetime as dt
import json
from contextvars import ContextVar
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
import yaml
from rich.console import Console

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
    return typer.Option(default, "--lang", help=help)


def use_lang(lang: Lang | str) -> None:
    """The running command speaks ``lang`` (``zh``, ``en`` or ``both``) from here on."""
    _LANG.set(str(lang))


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


class EngineName(StrEnum):
    compiled = "compiled"
    experta = "experta"


#: the evaluator of chaining rules (both give the same decisions; README: "Two evaluators, one semantics")
EngineOpt = typer.Option(EngineName.compiled, "--engine",
                         help="evaluator of chaining rules: compiled (default) or experta (the reference)")
RulesOpt = typer.Option(None, "--rules", "-r", help="rule directory (default: the shipped packs)")
KbOpt = typer.Option(None, "--kb", help="knowledge-base directory (default: the shipped one)")
PreferHistoryOpt = typer.Option(False, "--prefer-history",
                                help="values the history (interactions) gives replace the values the facts give "
                                     "(default: given values are kept and history fills what is missing)")


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
