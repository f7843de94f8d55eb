"""Turn pydantic validation errors on a parsed YAML document into located diagnostics.

Work is linear in the number of errors, and at most :data:`MAX_DIAGNOSTICS` of them are turned
into diagnostics per document: the rest are counted in one ``too_many_problems`` diagnostic (an
:class:`Omitted`), so a file of thousands of wrong items costs milliseconds, not minutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from rm_advisor.engine.errors import Code, Diagnostic, suggest
from rm_advisor.engine.loading.yaml_source import ParsedYaml

M = TypeVar("M", bound=BaseModel)

#: Most schema diagnostics listed for one document; the others are counted, not listed.
MAX_DIAGNOSTICS = 100


@dataclass(frozen=True)
class Omitted(Diagnostic):
    """Stands for ``count`` problems of one document that were found and counted but not listed."""

    count: int = 0


def problem_count(d: Diagnostic) -> int:
    """How many problems a diagnostic stands for: one, or the count of an :class:`Omitted`."""
    return d.count if isinstance(d, Omitted) else 1


def validate_document(model: type[M], parsed: ParsedYaml, code: Code = "schema_violation",
                      context: dict[str, Any] | None = None,
                      limit: int = MAX_DIAGNOSTICS) -> tuple[M | None, list[Diagnostic]]:
    """Validate ``parsed.data`` against ``model``; every pydantic error becomes a diagnostic (the
    first ``limit`` of them; the others are counted in one :class:`Omitted`)."""
    try:
        return model.model_validate(parsed.data, context=context), []
    except ValidationError as exc:
        total = exc.error_count()
        if total <= _FULL_DETAIL * limit:
            errors = _relevant(exc.errors(include_url=False, include_input=False), parsed.data)
            total = len(errors)
        else:
            # Thousands of errors: details only for the first items of every list (pydantic reports
            # errors in document order), so the cost stays that of `limit` errors; the total is
            # pydantic's own count.
            errors = _first_errors(model, _trimmed(parsed.data, limit), context)
    diags = [_diagnostic(err, parsed, code, model) for err in errors[:limit]]
    rest = total - len(diags)
    if rest > 0:
        where = parsed.locate(tuple(errors[limit]["loc"])) if len(errors) > limit else parsed.locate(())
        diags.append(Omitted("too_many_problems", f"{rest} more {code} problem(s) in this file are not listed "
                             f"(at most {limit} per file)", where,
                             hint="fix the problems listed and check again", count=rest))
    return None, diags


#: Up to this many times ``limit`` errors, each one is examined (merged, counted exactly).
_FULL_DETAIL = 10


def _trimmed(data: Any, length: int) -> Any:
    """``data`` with every list cut to its first ``length`` items."""
    if isinstance(data, list):
        return [_trimmed(v, length) for v in data[:length]]
    if isinstance(data, dict):
        return {k: _trimmed(v, length) for k, v in data.items()}
    return data


def _first_errors(model: type[BaseModel], sample: Any, context: dict[str, Any] | None) -> list[Any]:
    try:
        model.model_validate(sample, context=context)
    except ValidationError as exc:
        return _relevant(exc.errors(include_url=False, include_input=False), sample)
    return []


def _relevant(errors: list[Any], data: Any) -> list[Any]:
    """Drop the noise pydantic adds: a "too short" on a list whose items failed, and one error per
    union member for one bad value (merged into a single error listing what was expected).

    Linear in the number of errors: each error's data path is computed once, and the paths that
    have deeper errors below them are collected in one set."""
    paths = [tuple(_data_path(data, tuple(e["loc"]), named=False)) for e in errors]
    has_deeper: set[tuple[Any, ...]] = set()
    if any(e["type"] == "too_short" for e in errors):
        for path in paths:
            has_deeper.update(path[:i] for i in range(len(path)))
    by_path: dict[tuple[Any, ...], list[Any]] = {}
    for err, path in zip(errors, paths, strict=True):
        if err["type"] == "too_short" and path in has_deeper:
            continue
        by_path.setdefault(path, []).append(err)
    out: list[Any] = []
    for errs in by_path.values():
        typed = [e for e in errs if e["type"].endswith(("_type", "_parsing")) and e["type"] != "model_type"]
        if len(typed) > 1:
            wanted = sorted({e["msg"].removeprefix("Input should be ").removeprefix("a valid ") for e in typed})
            out.append(dict(typed[0], msg="expected " + " or ".join(wanted)))
            merged = {id(e) for e in typed}
            out.extend(e for e in errs if id(e) not in merged)
        else:
            out.extend(errs)
    return out


def _diagnostic(err: Any, parsed: ParsedYaml, code: Code, model: type[BaseModel]) -> Diagnostic:
    loc = tuple(err["loc"])
    named = err["type"] in ("missing", "extra_forbidden")
    where = ".".join(str(p) for p in _data_path(parsed.data, loc, named)) or "<document>"
    rule_id = _rule_id(parsed.data, loc)
    hint = ""
    if err["type"] == "extra_forbidden" and loc:
        hint = suggest(str(loc[-1]), _allowed_keys(model, loc)) or "remove this key"
        message = f"unknown key `{loc[-1]}` at {where}"
    elif err["type"] == "missing":
        message = f"missing key `{loc[-1]}` at {where}"
        hint = "add it"
    elif err["type"] in ("union_tag_not_found", "union_tag_invalid"):  # `kind:` missing or not one of the kinds
        key = str(err["ctx"]["discriminator"]).strip("'")
        if err["type"] == "union_tag_not_found":
            message, hint = f"missing key `{key}` at {where}", f"add it: `{key}` says which kind of entry this is"
        else:
            tags = [t.strip(" '") for t in str(err["ctx"]["expected_tags"]).split(",")]
            message = f"`{key}: {err['ctx']['tag']}` at {where} is not one of {', '.join(tags)}"
            hint = suggest(str(err["ctx"]["tag"]), tags) or f"use one of {', '.join(tags)}"
            loc = (*loc, key)
    else:
        message = f"{err['msg']} at {where}"
    return Diagnostic(code, message, parsed.locate(loc), rule_id=rule_id, hint=hint)


def _data_path(data: Any, loc: tuple[Any, ...], named: bool = True) -> list[Any]:
    """The elements of ``loc`` that address real data (drops union tags a validator inserted);
    with ``named``, a last element that is not in the data (a missing or unknown key) is kept."""
    out: list[Any] = []
    node = data
    for i, part in enumerate(loc):
        if isinstance(node, dict) and part in node:
            node = node[part]
            out.append(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
            out.append(part)
        elif named and i == len(loc) - 1 and isinstance(node, dict):
            out.append(part)  # a missing key: name it even though it is not in data
    return out


def _rule_id(data: Any, loc: tuple[Any, ...]) -> str:
    if isinstance(data, dict) and len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
        rules = data.get("rules")
        if isinstance(rules, list) and loc[1] < len(rules) and isinstance(rules[loc[1]], dict):
            return str(rules[loc[1]].get("id", ""))
    return ""


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys allowed where ``loc`` ends (``loc[-1]`` being the unknown key), for a spelling hint:
    the model followed key by key (list indexes and union tags stay at the same models); every key
    of the tree when the path leaves the models (a free-form mapping). The unknown key itself is never
    offered: a key of another level is no spelling of this one."""
    models: list[type[BaseModel]] = [model]
    for part in loc[:-1]:
        infos = [i for m in models if (i := _fields_by_key(m).get(part)) is not None] if isinstance(part, str) else []
        if infos:
            models = [sub for info in infos for sub in _submodels(info.annotation)]
        if not models:
            return [k for k in _model_keys(model) if k != loc[-1]]
    return sorted({k for m in models for k in _fields_by_key(m)} - {loc[-1]})


def _fields_by_key(model: type[BaseModel]) -> dict[str, Any]:
    return {info.alias or name: info for name, info in model.model_fields.items()}


@cache
def _model_keys(model: type[BaseModel]) -> tuple[str, ...]:
    names: set[str] = set()
    stack: list[type[BaseModel]] = [model]
    seen: set[type[BaseModel]] = set()
    while stack:
        m = stack.pop()
        if m in seen:
            continue
        seen.add(m)
        for key, info in _fields_by_key(m).items():
            names.add(key)
            stack.extend(_submodels(info.annotation))
    return tuple(sorted(names))


def _submodels(annotation: Any) -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        found.append(annotation)
    for arg in getattr(annotation, "__args__", ()) or ():
        found.extend(_submodels(arg))
    meta = getattr(annotation, "__origin__", None)
    if meta is not None and hasattr(annotation, "__metadata__"):
        found.extend(_submodels(meta))
    return found
