"""Reason templates: ``{client.days_since_last_visit}`` placeholders filled from fact values.

Filling is a plain substitution of known placeholders; template text is never evaluated or passed
to ``str.format`` (which could reach attributes).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_PLACEHOLDER = re.compile(r"\{([a-z][a-z_]*\.[a-z][a-z0-9_]*)\}")
#: A brace that is not part of a placeholder, with what follows it up to the next brace.
_STRAY = re.compile(r"\{[^{}]*\}?|\}")
_REF_START = re.compile(r"\{+\s*([a-z][a-z_]*\.[a-z][a-z0-9_]*)")


def placeholders(text: str) -> list[str]:
    """The ``fact.field`` references a template uses, in order."""
    return _PLACEHOLDER.findall(text)


def pieces(text: str) -> list[str]:
    """``text`` cut at its placeholders: literal text at even positions (possibly empty), the
    ``fact.field`` references at odd ones; ``"".join`` of the literals and filled values is :func:`fill`."""
    return _PLACEHOLDER.split(text)


def malformed(text: str) -> list[tuple[int, str, str]]:
    """Braces that are not a ``{fact.field}`` placeholder (``{client.name!r:>10}``, ``{ client.name }``,
    ``{Client.Name}``, a lone ``{`` or ``}``): ``(offset, fragment, the placeholder it may mean or "")``
    for each, in order. :func:`fill` leaves them as written, so a checker refuses them."""
    rest = _PLACEHOLDER.sub(lambda m: " " * len(m.group(0)), text)
    out = []
    for m in _STRAY.finditer(rest):
        fragment = text[m.start():m.end()]
        ref = _REF_START.match(fragment)
        out.append((m.start(), fragment, "{" + ref.group(1) + "}" if ref else ""))
    return out


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
