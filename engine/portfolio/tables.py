"""Portfolio tables (clients, managers, history) checked against the fact schemas, column by column.

A table arrives as pandas DataFrames, read from CSV or Parquet (as text or typed), whole or in
chunks (:class:`TableInput`), so that a reader can stream a large file. Every bad cell becomes a
diagnostic naming the file, the row (the line in a CSV file, counting the header as line 1) and
the column; bad rows are dropped and the run goes on with the good ones. A single cell can never
stop the check: huge or non-finite numbers, lists, mappings, binary data or NUL characters in a
cell are bad cells like any other.

Diagnostics are handed to a :class:`Report` as they are found: it passes each on (the batch
writes ``bad_rows.csv`` as it goes), holds only the first few, counts the rest, and stops the
check (:class:`engine.errors.TooManyBadRows`) once more rows are bad than allowed. A row that
refers to a row skipped as bad (an event of a skipped client) says so (``fact_ref_skipped``) and
is not counted against that limit: only rows bad in themselves are.

The result has one typed column per field (see :class:`engine.portfolio.bulk.Frames`).
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rm_advisor.engine.errors import Code, Diagnostic, Location, TooManyBadRows, suggest
from rm_advisor.engine.language.knowledge import FactSpec, FieldSpec

TRUE = {"true", "1", "yes", "y", "t"}
FALSE = {"false", "0", "no", "n", "f"}
#: unknown-column warnings per table; more unknown columns are counted in one further warning
MAX_UNKNOWN_COLUMNS = 20
#: characters of a cell quoted in a message
SHOWN = 60
#: integers must fit a signed 64-bit integer
INT_MAX = 2 ** 63 - 1
FLOAT_EXACT = 2.0 ** 53  # the integers a float holds exactly are below this
# what pandas.api.types.infer_dtype says of an object column holding only scalars a field can take
_SCALAR_KINDS = {"string", "empty", "floating", "integer", "mixed-integer-float", "boolean", "date",
                 "datetime", "datetime64", "decimal"}
_SCALARS = (str, bool, int, float, decimal.Decimal, dt.date, np.generic)


@dataclass
class Table:
    """Good rows, typed and indexed by id; and the problems of the rows that were dropped."""

    name: str
    frame: pd.DataFrame
    diagnostics: list[Diagnostic] = field(default_factory=list)  # those the report held
    bad_rows: int = 0  # rows dropped, for any reason
    lines: pd.Series = field(default_factory=lambda: pd.Series(dtype=int))  # source line of each good row
    source: str = ""
    skipped: dict[str, int] = field(default_factory=dict)  # id of a dropped row (no good row has it) -> its line
    #: the good rows' ids when the rows went to a sink as they were checked (``frame`` is then empty)
    kept: frozenset[str] | None = None

    @property
    def ids(self) -> Collection[str]:
        """The ids of the good rows."""
        return self.kept if self.kept is not None else set(self.frame.index)


@dataclass(frozen=True)
class BadRow:
    """A row a reader could not split into cells (ragged, bad quoting, undecodable bytes)."""

    line: int
    code: Code
    message: str
    hint: str = ""
    id: str | None = None  # the row's id, as far as it could be read


@dataclass
class Chunk:
    """Consecutive rows of a table: their cells, their source lines (default: the lines after the
    previous chunk's), and the rows between them that could not be read as cells."""

    frame: pd.DataFrame
    lines: np.ndarray[Any, Any] | None = None
    bad: list[BadRow] = field(default_factory=list)
    source: str | None = None  # the file of these rows, when a table is a dataset of files (default: the table's)


@dataclass
class TableInput:
    """A table as a reader hands it over: its header and its rows, in chunks."""

    columns: Sequence[object]
    chunks: Iterable[Chunk]
    header_line: int = 1


@dataclass(frozen=True)
class Reference:
    """A column whose values must be ids of the good rows of another (already checked) table."""

    column: str
    table: Table
    what: str  # "client", "manager"


class Report:
    """Where the diagnostics of a check go.

    Each diagnostic is handed to ``emit`` as it is found; the first ``keep`` of each severity are
    held (all when ``keep`` is None); ``max_bad_rows`` (None: no limit) is how many rows may be bad
    in themselves before the check stops with :class:`TooManyBadRows`.
    """

    def __init__(self, max_bad_rows: int | None = None, emit: Callable[[Diagnostic], None] | None = None,
                 keep: int | None = None) -> None:
        self.max_bad_rows = max_bad_rows
        self.emit = emit
        self.keep = keep
        self.held: list[Diagnostic] = []
        self.counts: Counter[str] = Counter()  # diagnostics by severity
        self.bad_rows = 0  # rows bad in themselves: what max_bad_rows limits

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def room(self) -> int | None:
        return None if self.max_bad_rows is None else self.max_bad_rows - self.bad_rows

    def add(self, diag: Diagnostic) -> bool:
        """Pass ``diag`` on and count it; True when it is held."""
        if self.emit is not None:
            self.emit(diag)
        self.counts[diag.severity] += 1
        if self.keep is None or self.counts[diag.severity] <= self.keep:
            self.held.append(diag)
            return True
        return False


# a problem found in a column: (column, bad rows, code, message of the row at a position, hint)
_Problem = tuple[str, np.ndarray[Any, Any], Code, Callable[[int], str], str]


class TableChecker:
    """Checks one table chunk by chunk: :meth:`header` once, :meth:`add` per chunk, then :meth:`table`.

    With a ``sink``, each chunk's good rows (typed, in input order) are handed to it instead of being
    kept: the table then holds their ids only (:attr:`Table.kept`), as a sharded run needs
    (:mod:`engine.portfolio.shards`)."""

    def __init__(self, spec: FactSpec, fact_type: str, source: str, report: Report | None = None,
                 references: Iterable[Reference] = (), sink: Callable[[pd.DataFrame], None] | None = None) -> None:
        self.spec, self.fact_type, self.source = spec, fact_type, source
        self.report = report if report is not None else Report()
        self.references = list(references)
        self.held: list[Diagnostic] = []
        self.bad_rows = 0
        self.columns: list[str] = []
        self.next_line = 2
        self._frames: list[pd.DataFrame] = []
        self._lines: list[np.ndarray[Any, Any]] = []
        self._seen: set[str] = set()
        self._skipped: dict[str, int] = {}
        self._known = {r.column: r.table.ids for r in self.references}
        self.sink = sink

    def _emit(self, diags: Iterable[Diagnostic]) -> None:
        for d in diags:
            if self.report.add(d):
                self.held.append(d)

    def header(self, columns: Sequence[object], line: int = 1) -> list[str]:
        """Note the header: unknown columns and repeated names are warnings; returns the known
        columns (the first of each name), the ones :meth:`add` reads."""
        known: list[str] = []
        unknown: list[str] = []
        diags: list[Diagnostic] = []
        for column in (str(c) for c in columns):
            if column in known:
                diags.append(Diagnostic("table_duplicate_column", f"column `{shown(column)}` appears twice in the "
                                        f"{self.fact_type} table; the first is used",
                                        Location(file=self.source, line=line), severity="warning"))
            elif column in self.spec.fields:
                known.append(column)
            elif column not in unknown:
                unknown.append(column)
        for column in unknown[:MAX_UNKNOWN_COLUMNS]:
            diags.append(Diagnostic("fact_unknown_field", f"unknown column `{shown(column)}` in the {self.fact_type} "
                                    "table (ignored)", Location(file=self.source, line=line), severity="warning",
                                    hint=suggest(column, self.spec.fields) or "see knowledge_base/facts.yaml"))
        if len(unknown) > MAX_UNKNOWN_COLUMNS:
            diags.append(Diagnostic("fact_unknown_field", f"and {len(unknown) - MAX_UNKNOWN_COLUMNS} more unknown "
                                    f"columns in the {self.fact_type} table (ignored)",
                                    Location(file=self.source, line=line), severity="warning"))
        self._emit(diags)
        self.columns = known
        self.next_line = line + 1
        return known

    def add(self, chunk: Chunk) -> None:
        """Check a chunk: keep its good rows, report and drop the bad ones."""
        source = chunk.source or self.source
        raw = chunk.frame
        n = len(raw)
        lines = (np.arange(n) + self.next_line) if chunk.lines is None else np.asarray(chunk.lines, dtype=np.int64)
        positions: dict[str, int] = {}
        for i, c in enumerate(raw.columns):
            positions.setdefault(str(c), i)
        problems: list[_Problem] = []
        bad = np.zeros(n, dtype=bool)
        typed: dict[str, pd.Series] = {}
        for column in self.columns:
            if column not in positions:
                continue
            col = raw.iloc[:, positions[column]].reset_index(drop=True)
            values, found = _typed(col, self.spec.fields[column], f"{self.fact_type}.{column}: ")
            typed[column] = values
            for mask, code, message in found:
                problems.append((column, mask, code, message, ""))
                bad |= mask
        for name, fspec in self.spec.fields.items():
            if not fspec.required:
                continue
            # empty cells only: a bad value in a required column is reported once, as a bad value
            missing = ~bad if name not in typed else (typed[name].isna().to_numpy(dtype=bool) & ~bad)
            if missing.any():
                problems.append((name, missing, "fact_missing_field",
                                 _always(f"{self.fact_type} lacks required `{name}`"), fspec.description.en))
                bad |= missing
        frame = pd.DataFrame(typed) if typed else pd.DataFrame(index=pd.RangeIndex(n))
        if "id" in frame:
            ids = frame["id"]
            dup = (ids.where(~bad).duplicated(keep="first") & ids.notna()).to_numpy(dtype=bool)
            if self._seen:  # ids of earlier chunks
                dup = dup | (_member(ids, self._seen) & ids.notna().to_numpy(dtype=bool))
            dup = dup & ~bad
            if dup.any():
                problems.append(("id", dup, "fact_duplicate_id",
                                 lambda i: f"{self.fact_type} id `{shown(ids.iloc[i])}` appears twice",
                                 "every row needs its own id; the first valid one is kept"))
                bad |= dup
        follows = np.zeros(n, dtype=bool)  # rows skipped only because the row they refer to was
        for ref in self.references:
            if ref.column not in frame:
                continue
            col = frame[ref.column]
            open_ = col.notna().to_numpy(dtype=bool) & ~bad & ~follows
            vals = col.astype(str)
            unknown = open_ & ~_member(vals, self._known[ref.column])
            if not unknown.any():
                continue
            gone = unknown & _member(vals, ref.table.skipped.keys())
            if gone.any():
                problems.append((ref.column, gone, "fact_ref_skipped", _skipped_message(ref, vals),
                                 f"fix that {ref.what}'s row; this one is then read too"))
                follows |= gone
            orphan = unknown & ~gone
            if orphan.any():
                problems.append((ref.column, orphan, "fact_bad_value", _orphan_message(ref, vals),
                                 f"add the {ref.what} or correct the id"))
                bad |= orphan
        # the row limit: rows bad in themselves (cells, reading, unknown references), in line order
        bad_lines = np.sort(np.concatenate([lines[bad], np.array([b.line for b in chunk.bad], dtype=np.int64)]))
        room = self.report.room()
        stop = int(bad_lines[room]) if room is not None and len(bad_lines) > room else None
        shown_rows = np.ones(n, dtype=bool) if stop is None else lines <= stop
        diags = [Diagnostic(code, message(int(i)), Location(file=source, line=int(lines[i]), path=column),
                            hint=hint)
                 for column, mask, code, message, hint in problems for i in np.flatnonzero(mask & shown_rows)]
        diags += [Diagnostic(b.code, b.message, Location(file=source, line=b.line), hint=b.hint)
                  for b in chunk.bad if stop is None or b.line <= stop]
        diags.sort(key=lambda d: (d.location.line, d.location.path))
        self._emit(diags)
        if stop is not None:
            self.report.bad_rows += int((bad_lines <= stop).sum())
            raise TooManyBadRows([Diagnostic(
                "too_many_bad_rows", f"more than {self.report.max_bad_rows} bad rows: stopped at this row",
                Location(file=source, line=stop), hint="fix the rows, or allow more bad rows")])
        self.report.bad_rows += len(bad_lines)
        dropped = bad | follows
        self.bad_rows += int(dropped.sum()) + len(chunk.bad)
        if "id" in frame:
            for pos in np.flatnonzero(dropped):
                rid = frame["id"].iloc[pos]
                if isinstance(rid, str):
                    self._skipped.setdefault(rid, int(lines[pos]))
        for b in chunk.bad:
            if b.id:
                self._skipped.setdefault(b.id, b.line)
        good = frame[~dropped]
        if "id" in good:
            self._seen.update(good["id"].astype(str))
        if self.sink is not None:
            self.sink(good)
            return
        self._frames.append(good)
        self._lines.append(lines[~dropped])
        self.next_line = int(lines[-1]) + 1 if n else self.next_line

    def _empty(self) -> pd.DataFrame:
        """No rows, with the header's known columns of their fields' types (as a checked chunk has them)."""
        blank = pd.Series(dtype=object)
        return pd.DataFrame({c: _typed(blank, self.spec.fields[c], "")[0] for c in self.columns})

    def table(self) -> Table:
        """The good rows of every chunk, indexed by id (with a sink: none, the columns still typed)."""
        if self.sink is not None:
            return Table(self.fact_type, self._empty(), self.held, self.bad_rows, source=self.source,
                         skipped={k: v for k, v in self._skipped.items() if k not in self._seen},
                         kept=frozenset(self._seen))
        if not self._frames:
            self.add(Chunk(self._empty()))
        good = pd.concat(self._frames, ignore_index=True) if len(self._frames) > 1 else self._frames[0]
        good_lines = pd.Series(np.concatenate(self._lines), index=good.index)
        if "id" in good:
            good = good.set_index(good["id"].astype(str), drop=False).rename_axis(None)
            good_lines.index = good.index
        skipped = {k: v for k, v in self._skipped.items() if k not in self._seen}
        return Table(self.fact_type, good, self.held, self.bad_rows, good_lines, self.source, skipped)


def _always(message: str) -> Callable[[int], str]:
    return lambda _: message


def _skipped_message(ref: Reference, vals: pd.Series) -> Callable[[int], str]:
    def message(i: int) -> str:
        rid = vals.iloc[i]
        return f"{ref.what} `{shown(rid)}` was skipped: see {ref.table.source}:{ref.table.skipped[rid]}"
    return message


def _orphan_message(ref: Reference, vals: pd.Series) -> Callable[[int], str]:
    return lambda i: f"{ref.column} `{shown(vals.iloc[i])}` is not in the {ref.what} table"


def check_table(raw: pd.DataFrame, spec: FactSpec, fact_type: str, source: str,
                first_line: int = 2, report: Report | None = None) -> Table:
    """Type every known column of ``raw``; report unknown columns, bad cells, missing required
    values and duplicate ids; drop the bad rows."""
    checker = TableChecker(spec, fact_type, source, report)
    checker.header(list(raw.columns), first_line - 1)
    checker.add(Chunk(raw))
    return checker.table()


def check_input(table: TableInput, spec: FactSpec, fact_type: str, source: str, report: Report | None = None,
                references: Iterable[Reference] = (), sink: Callable[[pd.DataFrame], None] | None = None) -> Table:
    """Check a table a reader hands over in chunks (see :class:`TableChecker`)."""
    checker = TableChecker(spec, fact_type, source, report, references, sink)
    checker.header(table.columns, table.header_line)
    for chunk in table.chunks:
        checker.add(chunk)
    return checker.table()


def shown(value: object) -> str:
    """A cell as a message quotes it: control characters and lone surrogates escaped, cut to
    :data:`SHOWN` characters."""
    text = value if isinstance(value, str) else repr(value) if isinstance(value, bytes) else str(value)
    if len(text) > SHOWN:
        text = text[:SHOWN] + "…"
    if not text.isprintable():
        text = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
    return text


def _odd(value: object) -> str | None:
    """What a cell holds when it is not a scalar a field can take (None when it is one, or empty)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bytes | bytearray | memoryview):
        return "binary data"
    if isinstance(value, list | tuple | set | frozenset | np.ndarray):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return None if isinstance(value, _SCALARS) else f"a {type(value).__name__}"


def _missing(v: object) -> bool:
    """An empty cell: None, NA, NaT or a NaN (float, NumPy or Decimal; a signalling NaN does not
    compare)."""
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, float | np.floating):
        return bool(v != v)
    if isinstance(v, decimal.Decimal):
        return v.is_nan()
    return isinstance(v, np.datetime64) and bool(np.isnat(v))


def _each(values: pd.Series, fn: Callable[[Any], object]) -> pd.Series:
    """``fn`` of each value, as Python objects (``Series.map`` would make text Arrow strings, which
    refuse a lone surrogate)."""
    return pd.Series([fn(v) for v in values.tolist()], index=values.index, dtype=object)


def _member(values: pd.Series, known: Collection[object]) -> np.ndarray[Any, Any]:
    """Which values are in ``known`` (a set or dict keys: pandas' isin would rebuild it per call)."""
    return np.fromiter((v in known for v in values.tolist()), dtype=bool, count=len(values))


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True


_Found = list[tuple[np.ndarray[Any, Any], Code, Callable[[int], str]]]


def _typed(col: pd.Series, spec: FieldSpec, prefix: str) -> tuple[pd.Series, _Found]:
    """The column (positionally indexed) converted to the field's type, and its bad cells:
    (rows, code, message of the row at a position)."""
    found: _Found = []
    t = spec.type
    if col.dtype == object and pd.api.types.infer_dtype(col, skipna=True) not in _SCALAR_KINDS:
        kinds = col.map(_odd)
        odd = kinds.notna().to_numpy(dtype=bool)
        if odd.any():
            found.append((odd, "fact_type", lambda i: f"{prefix}expected {t}, got {kinds.iloc[i]}"))
            col = col.where(~odd, None)

    def got(i: int) -> str:
        return shown(col.iloc[i])

    text_dtype = col.dtype != object and pd.api.types.is_string_dtype(col.dtype)  # str: Arrow strings
    if text_dtype:
        present = (col.notna() & (col.str.strip() != "")).to_numpy(dtype=bool)
    elif col.dtype == object:  # (Python strings may hold lone surrogates, which Arrow refuses)
        present = np.array([not (_missing(v) or (isinstance(v, str) and not v.strip())) for v in col.tolist()],
                           dtype=bool)
    else:
        present = col.notna().to_numpy(dtype=bool)
    if t in ("string", "enum") and text_dtype:
        return _strings(col.str.strip().astype(object).where(present, None), present, spec, prefix, found, got)
    text = col.where(present).astype(object)
    if t == "boolean":
        if pd.api.types.is_bool_dtype(col):
            return col.astype(object), found
        low = _each(text, lambda v: None if _missing(v) else str(v).strip().lower())
        out = _each(low, lambda v: True if v in TRUE else False if v in FALSE else None)
        wrong = present & out.isna().to_numpy(dtype=bool)
        found.append((wrong, "fact_type", lambda i: f"{prefix}expected boolean, got `{got(i)}`"))
        return out.where(~wrong, None), found
    if t in ("integer", "number"):
        return _numbers(col, text, present, spec, prefix, found)
    if t == "date":
        return _dates(col, text, present, prefix, found)
    out = _each(text, lambda v: None if _missing(v) else str(v).strip())
    return _strings(out, present, spec, prefix, found, got)


def _strings(out: pd.Series, present: np.ndarray[Any, Any], spec: FieldSpec, prefix: str, found: _Found,
             got: Callable[[int], str]) -> tuple[pd.Series, _Found]:
    joined = "".join(out[present].tolist())
    if "\x00" in joined or not (joined.isascii() or _encodable(joined)):
        unfit = np.array([isinstance(v, str) and ("\x00" in v or not _encodable(v)) for v in out.tolist()],
                         dtype=bool)
        found.append((unfit, "fact_bad_value",
                      lambda i: f"{prefix}`{got(i)}` holds a NUL character or a lone surrogate, which text cannot"))
        out = out.where(~unfit, None)
        present = present & ~unfit
    if spec.type == "enum" and spec.values:
        wrong = present & ~out.isin(spec.values).to_numpy(dtype=bool)
        found.append((wrong, "fact_bad_value",
                      lambda i: f"{prefix}expected one of {', '.join(spec.values or [])}, got `{got(i)}`"))
        out = out.where(~wrong, None)
    return out, found


def _numbers(col: pd.Series, text: pd.Series, present: np.ndarray[Any, Any], spec: FieldSpec, prefix: str,
             found: _Found) -> tuple[pd.Series, _Found]:
    t = spec.type

    def got(i: int) -> str:
        return shown(col.iloc[i])

    try:
        num = pd.to_numeric(text, errors="coerce")
    except (TypeError, ValueError, OverflowError, ArithmeticError):  # an object pandas cannot even try
        num = text.map(_float)
    if num.dtype == object:
        num = num.map(_float)
    f = num.astype(float)
    wrong = present & f.isna().to_numpy(dtype=bool)
    found.append((wrong, "fact_type", lambda i: f"{prefix}expected {t}, got `{got(i)}`"))
    finite = np.isfinite(f.to_numpy(dtype=float, na_value=np.nan))
    infinite = f.notna().to_numpy(dtype=bool) & ~finite
    found.append((infinite, "fact_bad_value", lambda i: f"{prefix}`{got(i)}` is not a finite number"))
    ok = finite.copy()
    wide = np.zeros(len(num), dtype=bool)
    exact: dict[int, int | None] = {}
    if t == "integer":
        frac = ok & (np.mod(f.where(ok, 0).to_numpy(dtype=float), 1) != 0)
        found.append((frac, "fact_type", lambda i: f"{prefix}expected integer, got `{got(i)}`"))
        if pd.api.types.is_unsigned_integer_dtype(num.dtype):  # exact, as a Parquet uint64 column comes
            huge = ok & (num > np.iinfo(np.int64).max).to_numpy(dtype=bool)
        elif pd.api.types.is_integer_dtype(num.dtype):
            huge = np.zeros(len(num), dtype=bool)
        else:  # floats hold integers exactly up to 2**53: the cells above are read again, exactly
            wide = ok & ~frac & (np.abs(f.where(ok, 0).to_numpy(dtype=float)) >= FLOAT_EXACT)
            exact = {int(i): _exact(text.iloc[i]) for i in np.flatnonzero(wide)}
            huge = np.zeros(len(num), dtype=bool)
            for i, v in exact.items():
                huge[i] = v is None or not -INT_MAX - 1 <= v <= INT_MAX
        found.append((huge, "fact_bad_value", lambda i: f"{prefix}`{got(i)}` does not fit a 64-bit integer"))
        ok &= ~frac & ~huge
    out_of = ok & (((f < spec.min).to_numpy(dtype=bool) if spec.min is not None else False)
                   | ((f > spec.max).to_numpy(dtype=bool) if spec.max is not None else False))
    found.append((out_of, "fact_bad_value",
                  lambda i: f"{prefix}{num.iloc[i]} is outside [{spec.min}, {spec.max}]"))
    ok &= ~out_of
    if t == "number":
        return f.where(ok), found
    if pd.api.types.is_integer_dtype(num.dtype):  # exact: not through floats
        nullable = num.astype("UInt64" if pd.api.types.is_unsigned_integer_dtype(num.dtype) else "Int64")
        return nullable.where(ok).astype("Int64"), found
    ints = f.where(ok & ~wide).astype("Int64")
    for i, v in exact.items():
        if ok[i]:
            ints.iloc[i] = v
    return ints, found


def _exact(value: object) -> int | None:
    """The integer a cell holds, exactly (None when it holds none, or one of more than 20 digits)."""
    if isinstance(value, int | np.integer):
        return int(value)
    try:
        d = decimal.Decimal(str(value).strip())
    except (ArithmeticError, ValueError):
        return None
    if not d.is_finite() or d.adjusted() > 20 or d != d.to_integral_value():
        return None
    return int(d)


def _float(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError, ArithmeticError):
        return float("nan")


def _dates(col: pd.Series, text: pd.Series, present: np.ndarray[Any, Any], prefix: str,
           found: _Found) -> tuple[pd.Series, _Found]:
    if pd.api.types.is_datetime64_any_dtype(col):
        if isinstance(col.dtype, pd.DatetimeTZDtype):
            col = col.dt.tz_localize(None)  # the wall-clock day where it was recorded
        return col.dt.normalize(), found

    def iso(v: object) -> str | None:  # only text is parsed (a number is no date), and a date is ASCII
        if isinstance(v, dt.datetime):
            return v.date().isoformat()
        return v.isoformat() if isinstance(v, dt.date) else v if isinstance(v, str) and v.isascii() else None

    day = pd.to_datetime(_each(text, iso), format="%Y-%m-%d", errors="coerce")
    wrong = present & day.isna().to_numpy(dtype=bool)
    found.append((wrong, "fact_type", lambda i: f"{prefix}expected a date YYYY-MM-DD, got `{shown(col.iloc[i])}`"))
    return day, found
