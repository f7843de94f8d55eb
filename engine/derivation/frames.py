"""Fact records ⇄ pandas frames, typed by the fact schema, so one derivation serves a single
decision (a few records) and a portfolio (tables of millions of rows) alike."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
        col = table[name]
        if fspec is None:
            continue
        if fspec.type == "date":
            vals = [None if pd.isna(v) else v.date() for v in col]
        elif fspec.type == "integer":
            vals = [None if pd.isna(v) else int(v) for v in col]
        elif fspec.type == "number":
            vals = [None if pd.isna(v) else float(v) for v in col]
        elif fspec.type == "boolean":
            vals = [None if v is None or v is pd.NA or (isinstance(v, float) and v != v) else bool(v) for v in col]
        else:
            vals = [None if v is None or v is pd.NA or (isinstance(v, float) and v != v) else str(v) for v in col]
        cols[str(name)] = vals
    names = list(cols)
    rows = zip(*(cols[n] for n in names), strict=True) if names else iter(())
    return [{n: v for n, v in zip(names, row, strict=True) if v is not None} for row in rows]
