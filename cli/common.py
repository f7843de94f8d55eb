"""What every ``rm-advisor`` command shares: consoles, option types, reading a facts document."""

from __future__ import annotations

import datetime as dt
import json
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


class Fmt(StrEnum):
    text = "text"
    json = "json"


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
