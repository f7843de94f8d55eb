"""Fact records ⇄ pandas frames, typed by the fact schema, so one derivation serves a single
decision (a few records) and a portfolio (tables of millions of rows) alike."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from rm_advisor.engine.language.knowledge import FactSpec


def frame(facts: Sequence[Mapping[str, Any]], spec: FactSpec) -> pd.DataFrame:
    """A frame of ``facts`` (valid fact records), one column per schema field, indexed by id."""
    columns = {name: _column([f.get(name) for f in facts], fspec.type) for name, fspec in spec.fields.items()}
    out = pd.DataFrame(columns)
    if len(out):
        out.index = pd.Index([str(f["id"]) for f in facts])
    return out


def _column(values: list[Any], field_type: str) -> pd.Series:
    if field_type == "date":
        return pd.to_datetime(pd.Series(values, dtype=object)).astype("datetime64[ns]")
    if field_type == "integer":
        return pd.Series(values, dtype="Int64")
    if field_type == "number":
        return pd.Series([float("nan") if v is None else float(v) for v in values], dtype=float)
    return pd.Series(values, dtype=object)


def records(table: pd.DataFrame, spec: FactSpec) -> list[dict[str, Any]]:
    """Plain fact dicts (Python ints, floats, bools, dates; missing fields left out), as the
    per-record validator would produce them."""
    cols: dict[str, list[Any]] = {}
    for name in table.columns:
        fspec = spec.fields.get(str(name))
        if fspec is None:
            continue
        cols[str(name)] = _plain(table[name], _PLAIN.get(fspec.type, str))
    names = list(cols)
    rows = zip(*(cols[n] for n in names), strict=True) if names else iter(())
    return [{n: v for n, v in zip(names, row, strict=True) if v is not None} for row in rows]


#: a present cell as a fact record holds it, by field type (text and the rest: ``str``)
_PLAIN: dict[str, Callable[[Any], Any]] = {"date": lambda v: v.date(), "integer": int, "number": float,
                                           "boolean": bool}


def _plain(col: pd.Series, convert: Callable[[Any], Any]) -> list[Any]:
    """The column's cells as Python values, None where missing (None, NA, NaT or NaN: the
    column's own mask, not a test per cell)."""
    missing = col.isna().to_numpy()
    return [None if gone else convert(v) for v, gone in zip(col.tolist(), missing, strict=True)]
