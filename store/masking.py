"""Masking sensitive facts before a decision is logged.

Fields marked ``sensitive: true`` in the fact schema (names, phone numbers, notes) are replaced by
:data:`MASK` in the logged input. Their values also leave the output wherever a reason template
copied them in (``{client.name}``), so the same mask is put there: replaying the masked input then
gives the logged output back exactly. A sensitive value of one character is masked only where it is
a whole text (masking it inside words would mangle every text).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from rm_advisor.engine.language import KnowledgeBase

MASK = "***"


def jsonable(value: Any) -> Any:
    """Facts as JSON values: dates become ISO strings, tuples lists (what YAML input may hold)."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def mask_facts(doc: Mapping[str, Any], kb: KnowledgeBase) -> tuple[dict[str, Any], list[str]]:
    """The facts document with sensitive fields masked, and the values that were masked."""
    plural = kb.plural_to_type()
    secrets: set[str] = set()
    out: dict[str, Any] = {}
    for key, items in jsonable(doc).items():
        fields = kb.sensitive_fields(plural[key]) if key in plural else []
        if not fields or not isinstance(items, list):
            out[key] = items
            continue
        out[key] = [_mask_one(item, fields, secrets) if isinstance(item, dict) else item for item in items]
    return out, sorted(secrets, key=lambda s: (-len(s), s))


def _mask_one(fact: dict[str, Any], fields: list[str], secrets: set[str]) -> dict[str, Any]:
    masked = dict(fact)
    for name in fields:
        value = masked.get(name)
        if isinstance(value, str) and value:
            secrets.add(value)
            masked[name] = MASK
    return masked


def scrub(obj: Any, secrets: list[str]) -> Any:
    """``obj`` (JSON values) with every sensitive value replaced by :data:`MASK` in its texts."""
    if not secrets:
        return obj
    if isinstance(obj, dict):
        return {k: scrub(v, secrets) for k, v in obj.items()}
    if isinstance(obj, list):
        return [scrub(v, secrets) for v in obj]
    if isinstance(obj, str):
        if obj in secrets:
            return MASK
        for s in secrets:  # longest first, so a name inside a longer name goes with it
            if len(s) > 1:
                obj = obj.replace(s, MASK)
        return obj
    return obj
