"""Turn pydantic validation errors on a parsed YAML document into located diagnostics."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from engine.errors import Diagnostic, suggest
from engine.loading.yaml_source import ParsedYaml

M = TypeVar("M", bound=BaseModel)


def validate_document(model: type[M], parsed: ParsedYaml, code: str = "schema_violation",
                      context: dict[str, Any] | None = None) -> tuple[M | None, list[Diagnostic]]:
    """Validate ``parsed.data`` against ``model``; every pydantic error becomes a diagnostic."""
    try:
        return model.model_validate(parsed.data, context=context), []
    except ValidationError as exc:
        return None, [_diagnostic(err, parsed, code, model) for err in _relevant(exc.errors(), parsed.data)]


def _relevant(errors: list[Any], data: Any) -> list[Any]:
    """Drop the noise pydantic adds: a "too short" on a list whose items failed, and one error per
    union member for one bad value (merged into a single error listing what was expected)."""
    paths = [tuple(_data_path(data, tuple(e["loc"]), named=False)) for e in errors]
    out: list[Any] = []
    by_path: dict[tuple[Any, ...], list[Any]] = {}
    for err, path in zip(errors, paths, strict=True):
        deeper = any(len(p) > len(path) and p[:len(path)] == path for p in paths)
        if err["type"] == "too_short" and deeper:
            continue
        by_path.setdefault(path, []).append(err)
    for errs in by_path.values():
        typed = [e for e in errs if e["type"].endswith(("_type", "_parsing")) and e["type"] != "model_type"]
        if len(typed) > 1:
            wanted = sorted({e["msg"].removeprefix("Input should be ").removeprefix("a valid ") for e in typed})
            merged = dict(typed[0], msg="expected " + " or ".join(wanted))
            out.append(merged)
            out.extend(e for e in errs if e not in typed)
        else:
            out.extend(errs)
    return out


def _diagnostic(err: Any, parsed: ParsedYaml, code: str, model: type[BaseModel]) -> Diagnostic:
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
    """Every field name known anywhere in the model tree: good enough for a spelling hint."""
    names: set[str] = set()
    stack: list[type[BaseModel]] = [model]
    seen: set[type[BaseModel]] = set()
    while stack:
        m = stack.pop()
        if m in seen:
            continue
        seen.add(m)
        for name, info in m.model_fields.items():
            names.add(info.alias or name)
            stack.extend(_submodels(info.annotation))
    return sorted(names)


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
