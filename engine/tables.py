"""Portfolio tables (clients, managers, history) checked against the fact schemas, column by column.

A table arrives as a pandas DataFrame read from CSV or Parquet (as text or typed). Every bad
cell becomes a diagnostic naming the file, the row (the line in a CSV file, counting the header as
line 1) and the column; bad rows are dropped and the run goes on with the good ones, unless the
caller asks to stop. The result has one typed column per field (see :class:`engine.bulk.Frames`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from engine.errors import Diagnostic, Location, suggest
from engine.knowledge import FactSpec, FieldSpec

TRUE = {"true", "1", "yes", "y", "t"}
FALSE = {"false", "0", "no", "n", "f"}


@dataclass
class Table:
    """Good rows, typed and indexed by id; and the problems of the rows that were dropped."""

    name: str
    frame: pd.DataFrame
    diagnostics: list[Diagnostic] = field(default_factory=list)
    bad_rows: int = 0
    lines: pd.Series = field(default_factory=lambda: pd.Series(dtype=int))  # source line of each good row


def check_table(raw: pd.DataFrame, spec: FactSpec, fact_type: str, source: str,
                first_line: int = 2) -> Table:
    """Type every known column of ``raw``; report unknown columns, bad cells, missing required
    values and duplicate ids; drop the bad rows."""
    diags: list[Diagnostic] = []
    lines = pd.Series(np.arange(len(raw)) + first_line, index=raw.index)
    bad = pd.Series(False, index=raw.index)
    typed: dict[str, pd.Series] = {}
    for column in raw.columns:
        fspec = spec.fields.get(str(column))
        if fspec is None:
            diags.append(Diagnostic("fact_unknown_field", f"unknown column `{column}` in the {fact_type} table "
                                    "(ignored)", Location(file=source, line=1), severity="warning",
                                    hint=suggest(str(column), spec.fields) or "see knowledge_base/facts.yaml"))
            continue
        values, problems = _typed(raw[column], fspec)
        typed[str(column)] = values
        for idx, (code, message) in problems.items():
            diags.append(Diagnostic(code, f"{fact_type}.{column}: {message}",
                                    Location(file=source, line=int(lines[idx]), path=str(column))))
            bad[idx] = True
    for name, fspec in spec.fields.items():
        if not fspec.required:
            continue
        col = typed.get(name)
        # empty cells only: a bad value in a required column is reported once, as a bad value
        missing = raw.index if col is None else col.index[col.isna() & ~bad]
        for idx in missing:
            diags.append(Diagnostic("fact_missing_field", f"{fact_type} lacks required `{name}`",
                                    Location(file=source, line=int(lines[idx]), path=name), hint=fspec.description.en))
            bad[idx] = True
    frame = pd.DataFrame(typed, index=raw.index)
    if "id" in frame:
        dup = frame["id"].where(~bad).duplicated(keep="first") & frame["id"].notna() & ~bad
        for idx in frame.index[dup]:
            diags.append(Diagnostic("fact_duplicate_id", f"{fact_type} id `{frame.at[idx, 'id']!s}` appears twice",
                                    Location(file=source, line=int(lines[idx]), path="id"),
                                    hint="every row needs its own id; the first valid one is kept"))
            bad[idx] = True
    good, good_lines = frame[~bad], lines[~bad]
    if "id" in good:
        good = good.set_index(good["id"].astype(str), drop=False).rename_axis(None)
        good_lines.index = good.index
    diags.sort(key=lambda d: (d.location.line, d.location.path))
    return Table(fact_type, good, diags, int(bad.sum()), good_lines)


def _typed(col: pd.Series, spec: FieldSpec) -> tuple[pd.Series, dict[Any, tuple[str, str]]]:
    """The column converted to the field's type, and the problem of each bad cell."""
    present = col.notna() & (col.astype(str).str.strip() != "")
    text = col.where(present).astype(object)
    problems: dict[Any, tuple[str, str]] = {}
    t = spec.type
    if t == "boolean":
        if pd.api.types.is_bool_dtype(col):
            return col.astype(object), problems
        low = text.map(lambda v: str(v).strip().lower() if v is not None and v == v else None)
        out = low.map(lambda v: True if v in TRUE else False if v in FALSE else None).astype(object)
        wrong = present & out.isna()
        problems.update({i: ("fact_type", f"expected boolean, got `{col[i]}`") for i in col.index[wrong]})
        return out.where(~wrong, None), problems
    if t in ("integer", "number"):
        num = pd.to_numeric(text, errors="coerce")
        wrong = present & num.isna()
        problems.update({i: ("fact_type", f"expected {t}, got `{col[i]}`") for i in col.index[wrong]})
        if t == "integer":
            frac = num.notna() & (num % 1 != 0)
            problems.update({i: ("fact_type", f"expected integer, got `{col[i]}`") for i in col.index[frac]})
            num = num.where(~frac)
        out_of = num.notna() & (((num < spec.min) if spec.min is not None else False)
                                | ((num > spec.max) if spec.max is not None else False))
        problems.update({i: ("fact_bad_value", f"{num[i]} is outside [{spec.min}, {spec.max}]")
                         for i in col.index[out_of]})
        num = num.where(~out_of)
        return (num.astype("Int64") if t == "integer" else num.astype(float)), problems
    if t == "date":
        if pd.api.types.is_datetime64_any_dtype(col):
            return col.dt.normalize(), problems
        day = pd.to_datetime(text.map(lambda v: v.isoformat() if isinstance(v, dt.date) else v),
                             format="%Y-%m-%d", errors="coerce")
        wrong = present & day.isna()
        problems.update({i: ("fact_type", f"expected a date YYYY-MM-DD, got `{col[i]}`") for i in col.index[wrong]})
        return day, problems
    out = text.map(lambda v: None if v is None or v != v else str(v).strip()).astype(object)
    if t == "enum" and spec.values:
        wrong = present & ~out.isin(spec.values)
        problems.update({i: ("fact_bad_value", f"expected one of {', '.join(spec.values)}, got `{col[i]}`")
                         for i in col.index[wrong]})
        out = out.where(~wrong, None)
    return out, problems


def records(frame: pd.DataFrame, spec: FactSpec) -> list[dict[str, Any]]:
    """Plain fact dicts (Python ints, floats, bools, dates; missing fields left out), as the
    per-record validator would produce them."""
    cols: dict[str, list[Any]] = {}
    for name in frame.columns:
        fspec = spec.fields.get(str(name))
        col = frame[name]
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
