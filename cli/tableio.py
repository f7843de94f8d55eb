"""Portfolio tables as files: reading CSV and Parquet for ``rm-advisor batch`` and ``diff``, and
writing every CSV file rm-advisor writes.

Reading a CSV file
    The encoding is the one given (``--encoding``), else told from the bytes: a byte-order mark
    (UTF-8, UTF-16, UTF-32) first; then UTF-8 when the text is valid UTF-8 (ASCII is; a few bad
    bytes among many good UTF-8 characters make bad rows, not another encoding); then
    GB18030 (the superset of GBK and GB2312 that Chinese CRMs and Excel on Chinese Windows write)
    when the text is valid GB18030 and mostly Chinese; else what charset-normalizer finds. The
    choice is made on the first :data:`SAMPLE` bytes from the first non-ASCII byte on, wherever it
    is in the file. The delimiter is a comma, or a tab or semicolon when the header has no comma.
    Rows are split by Python's csv module (strict quoting) and numbered by physical
    line, so a quoted newline moves the next row's line as an editor shows it. A row that cannot
    be split into the header's fields (more or fewer fields, a quote never closed or text after a
    closing quote, bytes that are not valid in the encoding) is a bad row and reading goes on at
    the next line; rows come in chunks of :data:`CHUNK_ROWS`, so a bad-row limit stops a huge
    garbage file early. Only a file that cannot be read at all stops the run
    (:class:`TableReadError`, naming the file).

Reading a Parquet file
    Only the known columns are read, in chunks; a column pandas cannot hold as such (binary,
    lists, structs, or one whose conversion fails) comes as Python objects and its cells are
    reported by the checker. Row ``n`` (from 1) is reported as line ``n + 1``, as in a CSV export.

Writing (:func:`write_csv`, :class:`CsvRows`)
    Every text cell goes through :func:`safe_cell` (OWASP's rule against formula injection: a
    text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a CR gets a leading ``'``; numbers
    stay numbers); lines end with CRLF, so a CR or LF inside a cell is always quoted; the encoding
    is UTF-8 with a byte-order mark unless asked otherwise (Excel on Chinese Windows reads UTF-8
    without one as GBK). Parquet and JSON outputs keep the raw values.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import IO, Any, TextIO

import numpy as np
import pandas as pd

from rm_advisor.engine.errors import Diagnostic, Location
from rm_advisor.engine.portfolio import BadRow, Chunk, TableInput

CHUNK_ROWS = 20_000
BLOCK = 1 << 20  # characters decoded at a time
MAX_LINE = 1 << 24  # characters of one physical line held at most
SAMPLE = 1 << 16  # bytes the encoding is told from
CHINESE_SHARE = 0.8  # of the non-ASCII characters, for GB18030 to be taken without asking the detector
#: OWASP: a text cell starting with one of these is a formula to a spreadsheet
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: encodings the CSV outputs can be written in (the first is the default)
OUTPUT_ENCODINGS = ("utf-8-sig", "utf-8")

_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_NON_ASCII = re.compile(rb"[\x80-\xff]")
_ENCODING_HINT = "give the file's encoding with --encoding (gb18030, utf-16, ...)"


class TableReadError(Exception):
    """A table file cannot be read at all (the message names it)."""

    def __init__(self, file: str, message: str, hint: str = "") -> None:
        self.file, self.message, self.hint = file, message, hint
        super().__init__(f"{file}: {message}")

    def diagnostic(self) -> Diagnostic:
        return Diagnostic("table_unreadable", self.message, Location(file=self.file), hint=self.hint)


# --- encodings ---------------------------------------------------------------------------------


def detect_encoding(fh: IO[bytes]) -> str:
    """The encoding of a CSV file (see the module docstring); ``fh`` is left at its start."""
    try:
        head = fh.read(SAMPLE)
        for bom, name in _BOMS:
            if head.startswith(bom):
                return name
        if head.count(0) > len(head) // 8:  # UTF-16 or UTF-32 without a byte-order mark
            return _detected(head)
        block = head
        while block:
            found = None if block.isascii() else _NON_ASCII.search(block)
            if found:
                sample = block[found.start():]
                if len(sample) < SAMPLE:
                    sample += fh.read(SAMPLE - len(sample))
                break
            block = fh.read(BLOCK)
        else:
            return "utf-8"  # all ASCII
        if _mostly_utf8(sample):
            return "utf-8"
        if _decodes(sample, "gb18030") and _chinese_share(sample.decode("gb18030", "ignore")) >= CHINESE_SHARE:
            return "gb18030"
        return _detected(sample)
    finally:
        fh.seek(0)


def _decodes(data: bytes, encoding: str) -> bool:
    try:  # not final: the sample may end inside a character
        codecs.getincrementaldecoder(encoding)().decode(data, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _mostly_utf8(data: bytes) -> bool:
    """Valid UTF-8, or UTF-8 with a few bad bytes (at least 20 good multi-byte characters to each bad
    sequence; text in another encoding shows no such run): those rows are then reported as bad."""
    if _decodes(data, "utf-8"):
        return True
    text = data.decode("utf-8", "replace")
    bad = text.count("\ufffd")
    good = sum(1 for c in text if c > "\x7f") - bad
    return good >= 20 * bad


def _chinese_share(text: str) -> float:
    wide = [c for c in text if c > "\x7f"]
    chinese = sum(1 for c in wide if "\u4e00" <= c <= "\u9fff" or "\u3400" <= c <= "\u4dbf" or "\u3000" <= c <= "\u303f"
                  or "\uff00" <= c <= "\uffef" or "\u2000" <= c <= "\u206f")
    return chinese / len(wide) if wide else 0.0


def _detected(sample: bytes) -> str:
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    # no answer: UTF-8, so that the rows that are not valid UTF-8 are reported (with a hint)
    return str(best.encoding) if best is not None else "utf-8"


# --- CSV ---------------------------------------------------------------------------------------


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: an undecodable byte, escaped
        return False
    return True


class _Lines:
    """The physical lines of a text stream (split at LF, CRLF or a bare CR, as the csv module
    splits them), decoded a block at a time; the lines from ``mark`` (the start of the record being
    read) stay in memory, so that a record the csv module could not split can be read again from
    its second line."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.lines: list[str] = []
        self.pos = 0  # the next line handed out, an index into lines
        self.mark = 0
        self.base = 0  # lines dropped before lines[0]
        self.dirty = False  # a block held undecodable bytes
        self._tail: list[str] = []  # an unfinished last line, completed by the next blocks
        self._tail_size = 0
        self._done = False

    def number(self, index: int) -> int:
        """The line number (from 1) of ``lines[index]``."""
        return self.base + index + 1

    def __iter__(self) -> Iterator[str]:
        while True:
            lines = self.lines
            while self.pos < len(lines):
                self.pos += 1
                yield lines[self.pos - 1]
            if not self._fill():
                return

    def _fill(self) -> bool:
        while not self._done:
            text = self.stream.read(BLOCK)
            if not text:
                self._done = True
                new = ["".join(self._tail)] if self._tail else []
            else:
                if not (text.isascii() or _encodable(text)):
                    self.dirty = True
                if self._tail and not any(c in text for c in "\r\n") and self._tail_size < MAX_LINE:
                    self._tail.append(text)  # a line longer than a block goes on (joined once: linear)
                    self._tail_size += len(text)
                    continue
                new = io.StringIO("".join(self._tail) + text, newline="").readlines()
                # a line without its LF may go on in the next block (a CR there may be half a CRLF); one
                # longer than MAX_LINE is handed out in pieces (and is a bad row)
                last = new.pop() if new and not new[-1].endswith("\n") and len(new[-1]) < MAX_LINE else ""
                self._tail, self._tail_size = ([last], len(last)) if last else ([], 0)
            if new:
                self.lines = self.lines[self.mark:] + new
                self.base += self.mark
                self.pos -= self.mark
                self.mark = 0
                return True
        return False


def _delimiter(lines: _Lines) -> str:
    """A comma, unless the first line that is not blank has none but a tab (Excel's "Unicode text",
    UTF-16) or a semicolon; ``lines`` is left at its start."""
    first = next((line for line in lines if line.strip()), "")
    lines.pos = 0
    return next((c for c in ",\t;" if c in first), ",")


def _picker(header: Sequence[str], columns: Collection[str]) -> tuple[list[str], list[int]]:
    names: list[str] = []
    positions: list[int] = []
    for i, name in enumerate(header):
        if name in columns and name not in names:
            names.append(name)
            positions.append(i)
    return names, positions


def read_csv(stream: TextIO, source: str, columns: Collection[str], encoding: str = "utf-8",
             chunk_rows: int | None = None) -> TableInput:
    """A CSV table from a text stream opened with ``newline=""`` and ``errors="surrogateescape"``
    (see :func:`open_table`): the header now, the rows (only ``columns``) in chunks as they are read."""
    chunk_rows = chunk_rows or CHUNK_ROWS
    lines = _Lines(stream)
    sep = _delimiter(lines)
    reader = csv.reader(iter(lines), strict=True, delimiter=sep)
    while True:  # the header: the first row that is not blank
        lines.mark = lines.pos
        try:
            row = next(reader)
        except StopIteration:
            raise TableReadError(source, "the file is empty: no header row") from None
        except csv.Error as exc:
            raise TableReadError(source, f"the header row cannot be read: {exc}") from None
        if any(f.strip() for f in row):
            break
    header_line = lines.number(lines.mark)
    if lines.dirty and not _encodable("".join(row)):
        raise TableReadError(source, f"the header row (line {header_line}) is not valid {encoding} text",
                             _ENCODING_HINT)
    header = [f.strip() for f in row]
    header[0] = header[0].lstrip("\ufeff")
    names, positions = _picker(header, columns)
    id_at = header.index("id") if "id" in header else None
    width = len(header)
    whole = positions == list(range(width))

    def probable_id(row: list[str]) -> str | None:
        rid = row[id_at].strip() if id_at is not None and id_at < len(row) else ""
        return rid if rid and _encodable(rid) else None

    def chunks() -> Iterator[Chunk]:
        nonlocal reader
        rows: list[Sequence[str]] = []
        starts: list[int] = []
        bad: list[BadRow] = []
        while True:
            lines.mark = lines.pos
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:  # a quote never closed, text after a closing quote, a huge field
                bad.append(BadRow(lines.base + lines.mark + 1, "table_bad_quote",
                                  f"the row cannot be split into fields: {exc}", "quote a field that holds the "
                                  "delimiter, a quote or a line break, and double each quote inside it"))
                lines.pos = lines.mark + 1  # read on from the next line
                reader = csv.reader(iter(lines), strict=True, delimiter=sep)
                continue
            start = lines.base + lines.mark + 1  # (a block read during next() moves base and mark together)
            if len(row) != width or not any(row):
                if not any(row):
                    continue  # a blank line, or nothing but delimiters
                if len(row) > width and not any(f.strip() for f in row[width:]):
                    row = row[:width]  # trailing empty fields
                else:
                    span = lines.pos - lines.mark
                    over = f" in lines {start}-{start + span - 1} (a quote may lack its pair)" if span > 1 else ""
                    bad.append(BadRow(start, "table_ragged_row", f"expected {width} fields, saw {len(row)}{over}",
                                      "a field holding the delimiter must be quoted", probable_id(row)))
                    continue
            if lines.dirty and not _encodable("".join(row)):
                bad.append(BadRow(start, "table_encoding", f"the row holds bytes that are not valid {encoding}",
                                  _ENCODING_HINT, probable_id(row)))
                continue
            rows.append(row if whole else [row[i] for i in positions])
            starts.append(start)
            if len(rows) >= chunk_rows:
                yield _chunk(rows, starts, bad, names)
                rows, starts, bad = [], [], []
        if rows or bad:
            yield _chunk(rows, starts, bad, names)

    return TableInput(header, chunks(), header_line)


def _chunk(rows: list[Sequence[str]], starts: list[int], bad: list[BadRow], names: list[str]) -> Chunk:
    import pyarrow as pa

    cells = np.empty((len(rows), len(names)), dtype=object)
    if rows and names:
        cells[:] = rows
        cells[cells == ""] = None  # an empty cell is missing
    # through Arrow: pandas' own string inference is three times slower; the rows hold no lone surrogate
    frame = pa.table({name: pa.array(cells[:, j], type=pa.string()) for j, name in enumerate(names)}).to_pandas() \
        if names else pd.DataFrame(index=pd.RangeIndex(len(rows)))
    return Chunk(frame, np.array(starts, dtype=np.int64), bad)


# --- Parquet -----------------------------------------------------------------------------------


def read_parquet(path: Path, source: str, columns: Collection[str], chunk_rows: int | None = None) -> TableInput:
    """A Parquet table: the header now, the rows (only ``columns``) in chunks."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    size = chunk_rows or CHUNK_ROWS
    try:
        pf = pq.ParquetFile(path)
        header = list(pf.schema_arrow.names)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise TableReadError(source, f"not a readable Parquet file: {exc}") from None
    names, _ = _picker(header, columns)

    def chunks() -> Iterator[Chunk]:
        done = 0
        try:
            if not names:  # no known column: rows without cells (every one lacks what is required)
                rows = pf.metadata.num_rows
                for first in range(0, rows, size):
                    n = min(size, rows - first)
                    yield Chunk(pd.DataFrame(index=pd.RangeIndex(n)), np.arange(n) + first + 2)
                return
            for batch in pf.iter_batches(batch_size=size, columns=names):
                frame = pd.DataFrame({name: _arrow_column(batch.column(i)) for i, name in enumerate(names)},
                                     index=pd.RangeIndex(batch.num_rows))
                yield Chunk(frame, np.arange(batch.num_rows) + done + 2)
                done += batch.num_rows
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise TableReadError(source, f"cannot read the rows after row {done}: {exc}") from None

    return TableInput(header, chunks())


def _arrow_column(arr: Any) -> pd.Series:
    import pyarrow as pa

    t = arr.type
    if pa.types.is_dictionary(t):
        arr = arr.dictionary_decode()
        t = arr.type
    binary_view = getattr(pa.types, "is_binary_view", lambda _: False)  # (pyarrow 16 on)
    if pa.types.is_nested(t) or pa.types.is_binary(t) or pa.types.is_large_binary(t) \
            or pa.types.is_fixed_size_binary(t) or binary_view(t):
        return pd.Series(arr.to_pylist(), dtype=object)
    try:
        return pd.Series(arr.to_pandas())
    except (pa.ArrowException, ValueError, OverflowError, TypeError):  # e.g. a date pandas cannot hold
        return pd.Series(arr.to_pylist(), dtype=object)


# --- opening a table file ----------------------------------------------------------------------


def open_table(path: Path, source: str, columns: Collection[str], stack: ExitStack,
               encoding: str | None = None) -> tuple[TableInput, str | None]:
    """A table file as :class:`TableInput` (CSV or Parquet, told by its first bytes), kept open on
    ``stack``; and the encoding a CSV file is read in (None for Parquet)."""
    try:
        fh = stack.enter_context(path.open("rb"))
        magic = fh.read(4)
        fh.seek(0)
    except OSError as exc:
        raise TableReadError(source, f"cannot open the file: {exc.strerror or exc}") from None
    if magic == b"PAR1":
        return read_parquet(path, source, columns), None
    if path.suffix.lower() == ".parquet":
        raise TableReadError(source, "not a Parquet file (it does not start with PAR1)")
    if magic.startswith(b"PK\x03\x04"):
        raise TableReadError(source, "this is an Excel workbook or a zip file, not CSV",
                             "save the sheet as CSV (UTF-8 or GB18030) or Parquet")
    enc = encoding or detect_encoding(fh)
    try:
        stream = stack.enter_context(io.TextIOWrapper(fh, encoding=enc, errors="surrogateescape", newline=""))
        table = read_csv(stream, source, columns, enc)
    except (OSError, UnicodeError, LookupError) as exc:
        raise TableReadError(source, f"cannot read the file as {enc}: {exc}", _ENCODING_HINT) from None
    return TableInput(table.columns, _named(table.chunks, source, enc), table.header_line), enc


def _named(chunks: Iterable[Chunk], source: str, encoding: str) -> Iterator[Chunk]:
    """The chunks, with any failure of the file itself named after it."""
    try:
        yield from chunks
    except (OSError, UnicodeError, LookupError) as exc:
        raise TableReadError(source, f"cannot read the file as {encoding}: {exc}", _ENCODING_HINT) from None


# --- writing CSV -------------------------------------------------------------------------------


def safe_cell(value: object) -> object:
    """OWASP's rule against CSV formula injection, the one place every CSV writer applies it: a text
    cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a CR gets a leading single quote, so a
    spreadsheet shows it as text instead of running it; anything else (numbers too) is unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with :func:`safe_cell` applied to every text cell (number columns are left alone)."""
    out: dict[Any, pd.Series] = {}
    changed = False
    for name, col in frame.items():
        if col.dtype == object or pd.api.types.is_string_dtype(col.dtype):
            hit = col.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_START)).to_numpy(dtype=bool)
            if hit.any():
                col = col.astype(object)
                col[hit] = [safe_cell(v) for v in col[hit]]
                changed = True
        out[name] = col
    return pd.DataFrame(out, index=frame.index) if changed else frame


def write_csv(frame: pd.DataFrame, path: Path, encoding: str = OUTPUT_ENCODINGS[0]) -> Path:
    """Write ``frame`` as CSV (see the module docstring: safe cells, CRLF, BOM by default)."""
    safe_frame(frame).to_csv(path, index=False, encoding=encoding, errors="backslashreplace", lineterminator="\r\n")
    return path


class CsvRows:
    """A CSV file written a row at a time, as :func:`write_csv` writes a frame."""

    def __init__(self, path: Path, columns: Sequence[str], encoding: str = OUTPUT_ENCODINGS[0]) -> None:
        self.path = path
        self._fh = path.open("w", encoding=encoding, errors="backslashreplace", newline="")
        self._writer = csv.writer(self._fh, lineterminator="\r\n")
        self.rows = 0
        self.write(columns)
        self.rows = 0

    def write(self, values: Iterable[object]) -> None:
        self._writer.writerow([safe_cell(v) for v in values])
        self.rows += 1

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> CsvRows:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
