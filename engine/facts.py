"""Validate posted facts against the fact schemas and index them for inference.

Input is a plain document: ``{"as_of": "2026-11-23", "clients": [...], "managers": [...],
"interactions": [...]}``. Every problem names the fact, the field, what was expected and what
came, with the document path (``clients[3].days_since_last_visit``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.errors import Diagnostic, FactError, Location, suggest
from engine.knowledge import FactSpec, FieldSpec, KnowledgeBase

Fact = Mapping[str, Any]


@dataclass(frozen=True)
class FactSet:
    """Validated facts: by type, sorted by id; plus the as-of date that relative conditions use."""

    as_of: dt.date
    by_type: dict[str, tuple[Fact, ...]]
    _index: dict[tuple[str, str, str], tuple[Fact, ...]] = field(default_factory=dict, repr=False)
    _ids: dict[tuple[str, str], Fact] = field(default_factory=dict, repr=False)

    def get(self, fact_type: str, fact_id: Any) -> Fact | None:
        return self._ids.get((fact_type, str(fact_id)))

    def related(self, fact_type: str, to_type: str, to_id: Any) -> tuple[Fact, ...]:
        """Facts of ``fact_type`` linked to the ``to_type`` fact with id ``to_id``."""
        return self._index.get((fact_type, to_type, str(to_id)), ())

    def subjects(self, fact_type: str) -> tuple[Fact, ...]:
        return self.by_type.get(fact_type, ())


def build_fact_set(by_type: Mapping[str, Sequence[Fact]], as_of: dt.date, kb: KnowledgeBase) -> FactSet:
    """Index already-valid facts (sorted by id, so results never depend on input order)."""
    ordered = {t: tuple(sorted(fs, key=lambda f: str(f["id"]))) for t, fs in sorted(by_type.items())}
    ids = {(t, str(f["id"])): f for t, fs in ordered.items() for f in fs}
    index: dict[tuple[str, str, str], list[Fact]] = {}
    for t, fs in ordered.items():
        for target, link_field in kb.facts[t].links.items():
            for f in fs:
                if f.get(link_field) is not None:
                    index.setdefault((t, target, str(f[link_field])), []).append(f)
    return FactSet(as_of, ordered, {k: tuple(v) for k, v in index.items()}, ids)


def validate_facts(doc: Any, kb: KnowledgeBase, as_of: dt.date | None = None) -> FactSet:
    """Check a facts document and return the :class:`FactSet`; raise :class:`FactError` listing
    every problem found."""
    diags: list[Diagnostic] = []
    if not isinstance(doc, Mapping):
        raise FactError([Diagnostic("fact_shape", "facts must be a mapping such as "
                                    "{clients: [...], managers: [...]}", Location(path="<facts>"))])
    plural = kb.plural_to_type()
    when = as_of or _parse_as_of(doc.get("as_of"), diags) or dt.date.today()
    by_type: dict[str, list[Fact]] = {}
    for key, items in doc.items():
        if key == "as_of":
            continue
        if key not in plural:
            diags.append(Diagnostic("fact_unknown_type", f"unknown fact list `{key}`", Location(path=key),
                                    hint=suggest(key, plural) or f"expected: {', '.join(sorted(plural))}"))
            continue
        if not isinstance(items, list):
            diags.append(Diagnostic("fact_shape", f"`{key}` must be a list of facts", Location(path=key)))
            continue
        fact_type = plural[key]
        by_type[fact_type] = [valid for i, item in enumerate(items)
                              if (valid := _validate_one(item, kb.facts[fact_type], fact_type, f"{key}[{i}]", diags))]
    for fact_type, facts in by_type.items():
        seen: dict[str, int] = {}
        for i, f in enumerate(facts):
            key = str(f["id"])
            if key in seen:
                diags.append(Diagnostic("fact_duplicate_id", f"{fact_type} id `{key}` appears twice",
                                        Location(path=f"{kb.facts[fact_type].plural}[{i}].id"),
                                        hint="every fact of a type needs its own id"))
            seen[key] = i
    if diags:
        raise FactError(diags)
    return build_fact_set(by_type, when, kb)


def _parse_as_of(value: Any, diags: list[Diagnostic]) -> dt.date | None:
    if value is None:
        return None
    try:
        return _to_date(value)
    except ValueError:
        diags.append(Diagnostic("fact_type", f"as_of must be a date YYYY-MM-DD, got `{value}`",
                                Location(path="as_of")))
        return None


def _to_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        return dt.date.fromisoformat(value)
    raise ValueError(value)


def _validate_one(item: Any, spec: FactSpec, fact_type: str, path: str,
                  diags: list[Diagnostic]) -> dict[str, Any] | None:
    if not isinstance(item, Mapping):
        diags.append(Diagnostic("fact_shape", f"a {fact_type} must be a mapping of fields", Location(path=path)))
        return None
    out: dict[str, Any] = {}
    ok = True
    for name, value in item.items():
        fspec = spec.fields.get(name)
        where = Location(path=f"{path}.{name}")
        if fspec is None:
            diags.append(Diagnostic("fact_unknown_field", f"unknown field `{name}` on {fact_type}", where,
                                    hint=suggest(str(name), spec.fields) or "see knowledge_base/facts.yaml"))
            ok = False
            continue
        if value is None:
            continue  # null means missing, like an absent key
        converted, problem = coerce(value, fspec)
        if problem:
            diags.append(Diagnostic(problem[0], f"{fact_type}.{name}: {problem[1]}", where,
                                    hint=problem[2]))
            ok = False
        else:
            out[name] = converted
    for name, fspec in spec.fields.items():
        if fspec.required and name not in out and item.get(name) is None:
            diags.append(Diagnostic("fact_missing_field", f"{fact_type} lacks required field `{name}`",
                                    Location(path=f"{path}.{name}"), hint=fspec.description.en))
            ok = False
    return out if ok else None


def coerce(value: Any, spec: FieldSpec) -> tuple[Any, tuple[str, str, str] | None]:
    """Convert a posted value to the field's type, or say what was expected and what came."""
    expected = spec.type if spec.type != "enum" else f"one of {', '.join(spec.values or ())}"
    got = f"got {type(value).__name__} `{value}`"
    t = spec.type
    if t == "boolean":
        return (value, None) if isinstance(value, bool) else (None, ("fact_type", f"expected boolean, {got}",
                                                                     "true or false"))
    if t in ("integer", "number"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None, ("fact_type", f"expected {t}, {got}", "a number without quotes")
        if t == "integer" and isinstance(value, float):
            if not value.is_integer():
                return None, ("fact_type", f"expected integer, {got}", "a whole number")
            value = int(value)
        if (spec.min is not None and value < spec.min) or (spec.max is not None and value > spec.max):
            return None, ("fact_bad_value", f"{value} is outside [{spec.min}, {spec.max}]", f"unit: {spec.unit or '-'}")
        return value, None
    if t == "date":
        try:
            return _to_date(value), None
        except ValueError:
            return None, ("fact_type", f"expected a date, {got}", "YYYY-MM-DD")
    if not isinstance(value, str):
        return None, ("fact_type", f"expected {expected}, {got}", "a text value")
    if t == "enum" and spec.values and value not in spec.values:
        return None, ("fact_bad_value", f"expected {expected}, {got}", suggest(value, spec.values))
    return value, None
