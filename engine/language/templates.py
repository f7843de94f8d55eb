"""Reason templates: ``{client.days_since_last_visit}`` placeholders filled from fact values.

Filling is a plain substitution of known placeholders; template text is never evaluated or passed
to ``str.format`` (which could reach attributes).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_PLACEHOLDER = re.compile(r"\{([a-z][a-z_]*\.[a-z][a-z0-9_]*)\}")


def placeholders(text: str) -> list[str]:
    """The ``fact.field`` references a template uses, in order."""
    return _PLACEHOLDER.findall(text)


def fill(text: str, facts: Mapping[str, Mapping[str, Any] | None]) -> str:
    """Replace each ``{fact.field}`` with its value; a missing value shows as ``?``."""

    def one(match: re.Match[str]) -> str:
        fact, _, name = match.group(1).partition(".")
        value = (facts.get(fact) or {}).get(name)
        if value is None:
            return "?"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)

    return _PLACEHOLDER.sub(one, text)
