"""Validate posted facts against the fact schemas and index them for inference.

Input is a plain document: ``{"as_of": "2026-11-23", "clients": [...], "managers": [...],
"interactions": [...]}``. Every problem names the fact, the field, what was expected and what
came, with the document path (``clients[3].days_since_last_visit``). What a text, a number, a date
or an id may be is decided in :mod:`engine.language.values` (no NUL, no lone surrogate, finite numbers,
dates from 1900-01-01 to 2199-12-31); at most :data:`engine.errors.MAX_ERRORS` problems are
collected before validation stops.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rm_advisor.engine.errors import MAX_ERRORS, Code, Diagnostic, FactError, Location, suggest
from rm_advisor.engine.language.knowledge import FactSpec, FieldSpec, KnowledgeBase
from rm_advisor.engine.language.subjects import SubjectKey
from rm_advisor.engine.language.values import (
    DATE_MAX,
    DATE_MIN,
    ID_MAX_LENGTH,
    DateRangeError,
    id_problem,
    number_problem,
    parse_date,
    shown,
    text_problem,
)

Fact = Mapping[str, Any]


@dataclass(frozen=True)
class FactSet:
    """Validated facts: by type, sorted by id; plus the as-of date that relative conditions use."""

    as_of: dt.date
    by_type: dict[str, tuple[Fact, ...]]
    _index: dict[tuple[str, str, str], tuple[Fact, ...]] = field(default_factory=dict, repr=False)
    _ids: dict[tuple[str, str], Fact] = field(default_factory=dict, repr=False)
    #: fields whose value history gave (:mod:`engine.derivation`): subject -> field -> event ids;
    #: no ids with no value means history was asked and could not tell (unknown)
    sources: Mapping[SubjectKey, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)
    #: the subjects' dated history (every posted interaction, closed ones too) by (subject type, id):
    #: what ``events`` conditions count; None when the facts were not derived (their interactions are it)
    history: Mapping[tuple[str, str], tuple[Fact, ...]] | None = None

    def get(self, fact_type: str, fact_id: Any) -> Fact | None:
        return self._ids.get((fact_type, str(fact_id)))

    def related(self, fact_type: str, to_type: str, to_id: Any) -> tuple[Fact, ...]:
        """Facts of ``fact_type`` linked to the ``to_type`` fact with id ``to_id``."""
        return self._index.get((fact_type, to_type, str(to_id)), ())

    def subjects(self, fact_type: str) -> tuple[Fact, ...]:
        return self.by_type.get(fact_type, ())

    def events_of(self, subject_type: str, subject_id: Any) -> tuple[Fact, ...]:
        """The history events of one subject (a client's, a manager's): every interaction posted for it,
        open or closed, sorted by id; without a derived history, its interactions."""
        if self.history is None:
            return self.related("interaction", subject_type, subject_id)
        return self.history.get((subject_type, str(subject_id)), ())


def build_fact_set(by_type: Mapping[str, Sequence[Fact]], as_of: dt.date, kb: KnowledgeBase,
                   sources: Mapping[SubjectKey, Mapping[str, tuple[str, ...]]] | None = None,
                   history: Sequence[Fact] | None = None) -> FactSet:
    """Index already-valid facts (sorted by id, so results never depend on input order; a type
    without facts is left out, so an empty list and no list are the same input). ``history`` is
    the interactions as posted, before derivation made fields of them (``events`` conditions)."""
    ordered = {t: tuple(sorted(fs, key=lambda f: str(f["id"]))) for t, fs in sorted(by_type.items()) if fs}
    ids = {(t, str(f["id"])): f for t, fs in ordered.items() for f in fs}
    index: dict[tuple[str, str, str], list[Fact]] = {}
    for t, fs in ordered.items():
        for target, link_field in kb.facts[t].links.items():
            for f in fs:
                if f.get(link_field) is not None:
                    index.setdefault((t, target, str(f[link_field])), []).append(f)
    events: dict[tuple[str, str], list[Fact]] | None = None
    if history is not None:
        events = {}
        for e in sorted(history, key=lambda f: str(f["id"])):
            for target, link_field in kb.facts["interaction"].links.items():
                if e.get(link_field) is not None:
                    events.setdefault((target, str(e[link_field])), []).append(e)
    return FactSet(as_of, ordered, {k: tuple(v) for k, v in index.items()}, ids, dict(sources or {}),
                   {k: tuple(v) for k, v in events.items()} if events is not None else None)


def validate_facts(doc: Any, kb: KnowledgeBase, as_of: dt.date | None = None,
                   max_errors: int = MAX_ERRORS) -> FactSet:
    """Check a facts document and return the :class:`FactSet`; raise :class:`FactError` listing
    the problems found.

    At most ``max_errors`` problems are collected: on the next one validation stops, and the
    error says so (``FactError.stopped_at``, a last ``fact_error_limit`` diagnostic), so that a
    small document of many bad facts cannot cost more than a few milliseconds and a short answer.
    """
    if not isinstance(doc, Mapping):
        raise FactError([Diagnostic("fact_shape", "facts must be a mapping such as "
                                    "{clients: [...], managers: [...]}", Location(path="<facts>"))])
    problems = _Problems(max_errors)
    try:
        by_type, when = _validate(doc, kb, as_of, problems)
    except _Enough:
        raise FactError(problems.items, stopped_at=max_errors) from None
    if problems.items:
        raise FactError(problems.items)
    return build_fact_set(by_type, when, kb)


class _Enough(Exception):
    """The error cap is reached: stop validating."""


class _Problems:
    """The diagnostics found so far; adding one past the cap stops validation."""

    def __init__(self, limit: int):
        self.items: list[Diagnostic] = []
        self.limit = limit

    def add(self, diagnostic: Diagnostic) -> None:
        if len(self.items) >= self.limit:
            raise _Enough
        self.items.append(diagnostic)


def _validate(doc: Mapping[Any, Any], kb: KnowledgeBase, as_of: dt.date | None,
              problems: _Problems) -> tuple[dict[str, list[Fact]], dt.date]:
    plural = kb.plural_to_type()
    when = _parse_as_of(doc.get("as_of") if as_of is None else as_of, problems) or dt.date.today()
    by_type: dict[str, list[tuple[int, Fact]]] = {}
    for key, items in doc.items():
        if key == "as_of":
            continue
        if key not in plural:
            name = _key(key)  # an empty key is located at the document
            problems.add(Diagnostic("fact_unknown_type", f"unknown fact list `{name}`",
                                    Location(path=name or "<facts>"),
                                    hint=_suggest(key, plural) or f"expected: {', '.join(sorted(plural))}"))
            continue
        if not isinstance(items, list):
            problems.add(Diagnostic("fact_shape", f"`{key}` must be a list of facts", Location(path=key)))
            continue
        fact_type = plural[key]
        spec = kb.facts[fact_type]
        by_type[fact_type] = [(i, valid) for i, item in enumerate(items)
                              if (valid := _validate_one(item, spec, fact_type, f"{key}[{i}]", problems))]
    for fact_type, indexed in by_type.items():
        seen: set[str] = set()
        for i, f in indexed:
            fact_id = str(f["id"])
            if fact_id in seen:
                problems.add(Diagnostic("fact_duplicate_id", f"{fact_type} id `{shown(fact_id)}` appears twice",
                                        Location(path=f"{kb.facts[fact_type].plural}[{i}].id"),
                                        hint="every fact of a type needs its own id"))
            seen.add(fact_id)
    return {t: [f for _, f in fs] for t, fs in by_type.items()}, when


def _parse_as_of(value: Any, problems: _Problems) -> dt.date | None:
    if value is None:
        return None
    try:
        return parse_date(value)
    except DateRangeError as exc:
        problems.add(Diagnostic("fact_bad_value", f"as_of: {exc}", Location(path="as_of"),
                                hint=f"a date from {DATE_MIN} to {DATE_MAX}"))
    except ValueError as exc:
        problems.add(Diagnostic("fact_type", f"as_of: {exc}", Location(path="as_of"), hint="YYYY-MM-DD"))
    return None


def _key(name: Any) -> str:
    """A key of the posted document as a path may name it (escaped and cut when it is hostile)."""
    return name if isinstance(name, str) and len(name) <= 100 and text_problem(name) is None \
        else shown(name, limit=100)


def _suggest(name: Any, choices: Iterable[str]) -> str:
    return suggest(name, choices) if isinstance(name, str) and len(name) <= 100 else ""


def _validate_one(item: Any, spec: FactSpec, fact_type: str, path: str,
                  problems: _Problems) -> dict[str, Any] | None:
    if not isinstance(item, Mapping):
        problems.add(Diagnostic("fact_shape", f"a {fact_type} must be a mapping of fields", Location(path=path)))
        return None
    identifiers = {"id", *spec.links.values()}
    out: dict[str, Any] = {}
    ok = True
    for name, value in item.items():
        fspec = spec.fields.get(name) if isinstance(name, str) else None
        if fspec is None:
            shown_name = _key(name)
            problems.add(Diagnostic("fact_unknown_field", f"unknown field `{shown_name}` on {fact_type}",
                                    Location(path=f"{path}.{shown_name}"),
                                    hint=_suggest(name, spec.fields) or "see knowledge_base/facts.yaml"))
            ok = False
            continue
        if value is None:
            continue  # null means missing, like an absent key
        converted, problem = coerce(value, fspec, identifier=name in identifiers)
        if problem:
            problems.add(Diagnostic(problem[0], f"{fact_type}.{name}: {problem[1]}", Location(path=f"{path}.{name}"),
                                    hint=problem[2]))
            ok = False
        else:
            out[name] = converted
    for name, fspec in spec.fields.items():
        if fspec.required and name not in out and item.get(name) is None:
            problems.add(Diagnostic("fact_missing_field", f"{fact_type} lacks required field `{name}`",
                                    Location(path=f"{path}.{name}"), hint=fspec.description.en))
            ok = False
    if ok and spec.links and not any(out.get(f) is not None for f in spec.links.values()):
        fields = " or ".join(f"`{f}`" for f in spec.links.values())
        problems.add(Diagnostic("fact_unlinked", f"{fact_type} names none of {fields}: it belongs to no one",
                                Location(path=path), hint=f"give {fields}"))
        ok = False
    return out if ok else None


def coerce(value: Any, spec: FieldSpec, identifier: bool = False) -> tuple[Any, tuple[Code, str, str] | None]:
    """Convert a posted value to the field's type, or say what was expected and what came
    (``(code, message, hint)``). What a text, a number or a date may be is :mod:`engine.language.values`'s;
    ``identifier``: the field holds a fact id (``id``, ``manager_id``...)."""
    t = spec.type
    if t == "boolean":
        return (value, None) if isinstance(value, bool) else (None, ("fact_type", f"expected boolean, {_got(value)}",
                                                                     "true or false"))
    if t in ("integer", "number"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None, ("fact_type", f"expected {t}, {_got(value)}", "a number without quotes")
        bad = number_problem(value)
        if bad is None and t == "integer" and isinstance(value, float):
            if not value.is_integer():
                return None, ("fact_type", f"expected integer, {_got(value)}", "a whole number")
            value = int(value)
            bad = number_problem(value)
        if bad:
            return None, ("fact_bad_value", f"{shown(value)} {bad}", "a finite number")
        if (spec.min is not None and value < spec.min) or (spec.max is not None and value > spec.max):
            return None, ("fact_bad_value", f"{value} is outside [{spec.min}, {spec.max}]", f"unit: {spec.unit or '-'}")
        return value, None
    if t == "date":
        try:
            return parse_date(value), None
        except DateRangeError as exc:
            return None, ("fact_bad_value", str(exc), f"a date from {DATE_MIN} to {DATE_MAX}")
        except ValueError:
            return None, ("fact_type", f"expected a date, {_got(value)}", "YYYY-MM-DD")
    expected = "string" if t != "enum" else f"one of {', '.join(spec.values or ())}"
    if not isinstance(value, str):
        return None, ("fact_type", f"expected {expected}, {_got(value)}", "a text value")
    bad = id_problem(value) if identifier else text_problem(value)
    if bad:
        hint = (f"an id of 1 to {ID_MAX_LENGTH} printable characters" if identifier
                else "text without NUL characters or unpaired surrogates")
        return None, ("fact_bad_value", f"the {'id' if identifier else 'text'} {bad}", hint)
    if t == "enum" and spec.values and value not in spec.values:
        return None, ("fact_bad_value", f"expected {expected}, {_got(value)}",
                      suggest(value, spec.values) if len(value) <= 100 else "")
    return value, None


def _got(value: Any) -> str:
    return f"got {type(value).__name__} `{shown(value)}`"
