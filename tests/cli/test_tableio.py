"""cli/tableio.py: portfolio tables read as CRMs export them (GBK, UTF-16, byte-order marks, ragged
rows, stray quotes, quoted newlines, odd Parquet columns) and every CSV written safe to open in a
spreadsheet. Each hostile input of issue 12 is sent as it was found; none may raise, each is
reported at its file and line, and none costs more than a second of CPU."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
from contextlib import ExitStack
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rm_advisor.cli.tableio as tableio
from rm_advisor.cli.tableio import (
    FORMULA_START,
    CsvRows,
    TableReadError,
    detect_encoding,
    open_table,
    safe_cell,
    write_csv,
)
from rm_advisor.engine.errors import TooManyBadRows
from rm_advisor.engine.portfolio.tables import Report, Table, check_input
from tests.helpers import KB

CLIENT = KB.facts["client"]
HISTORY = KB.facts["interaction"]
CLIENT_HEADER = "id,manager_id,domain,name,days_since_last_visit,satisfaction"
NAMES = ["王伟", "北安烟酒店", "恒达机械有限公司", "市人民医院", "林艳", "马丽强"]


def read(path: Path, encoding: str | None = None, report: Report | None = None, fact: str = "client") -> Table:
    """Read and check a table file as ``rm-advisor batch`` does (references aside)."""
    spec = HISTORY if fact == "interaction" else KB.facts[fact]
    with ExitStack() as stack:
        source, _ = open_table(path, path.name, set(spec.fields), stack, encoding)
        return check_input(source, spec, fact, path.name, report)


def write(tmp_path: Path, data: bytes | str, name: str = "clients.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def clients_csv(*rows: str, header: str = CLIENT_HEADER) -> str:
    return "\r\n".join([header, *rows]) + "\r\n"


def chinese_rows(n: int) -> list[str]:
    return [f"C{i},M1,tobacco,{NAMES[i % len(NAMES)]},{i % 30},{50 + i % 50}" for i in range(n)]


def found(t: Table) -> list[tuple[str, int, str]]:
    return [(d.code, d.location.line, d.location.path) for d in t.diagnostics if d.severity == "error"]


# --- encodings ---------------------------------------------------------------------------------

@pytest.mark.parametrize("encoding, detected", [
    ("gbk", "gb18030"), ("gb18030", "gb18030"), ("utf-16", "utf-16"), ("utf-8-sig", "utf-8-sig"),
    ("utf-8", "utf-8"), ("utf-32", "utf-32"), ("utf-16-le", "utf_16_le"),
])
def test_the_encoding_is_told_from_a_byte_order_mark_then_utf8_then_chinese_gb18030(
        encoding: str, detected: str, tmp_path: Path) -> None:
    # two short Chinese names: too little for a statistical detector (charset-normalizer alone
    # says Big5 or ISO-8859-5 for such a GBK text), enough for the GB18030 rule
    data = clients_csv(*chinese_rows(2)).encode(encoding)
    assert detect_encoding(io.BytesIO(data)) == detected
    t = read(write(tmp_path, data))
    assert t.diagnostics == [] and list(t.frame["name"]) == NAMES[:2]
    assert list(t.lines) == [2, 3]


def test_excels_unicode_text_export_is_read_utf16_with_tabs(tmp_path: Path) -> None:
    text = clients_csv(*chinese_rows(3)).replace(",", "\t")
    t = read(write(tmp_path, text.encode("utf-16")))
    assert t.diagnostics == [] and list(t.frame["name"]) == NAMES[:3]


def test_chinese_text_far_into_an_ascii_file_still_decides_the_encoding(tmp_path: Path) -> None:
    ascii_rows = [f"A{i},M1,bank,shop,1,2" for i in range(5000)]  # 150 KB before the first Chinese name
    data = clients_csv(*ascii_rows, *chinese_rows(3)).encode("gbk")
    assert detect_encoding(io.BytesIO(data)) == "gb18030"
    t = read(write(tmp_path, data))
    assert t.bad_rows == 0 and list(t.frame["name"][-3:]) == NAMES[:3]


def test_a_wrong_encoding_makes_bad_rows_at_their_lines_not_a_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, clients_csv("A1,M1,bank,plain,1,2", *chinese_rows(2)).encode("gbk"))
    t = read(path, encoding="utf-8")  # as if --encoding utf-8 were given for a GBK export
    assert found(t) == [("table_encoding", 3, ""), ("table_encoding", 4, "")]
    assert list(t.frame.index) == ["A1"]
    assert all(d.location.file == "clients.csv" for d in t.diagnostics)


def test_a_header_in_another_encoding_stops_with_the_file_named(tmp_path: Path) -> None:
    path = write(tmp_path, "编号,经理\r\nC1,M1\r\n".encode("gbk"))
    with pytest.raises(TableReadError) as caught:
        read(path, encoding="utf-8")
    assert caught.value.file == "clients.csv" and caught.value.diagnostic().code == "table_unreadable"


@pytest.mark.parametrize("data, name", [(b"", "clients.csv"), (b"\r\n\r\n", "clients.csv"),
                                        (b"PK\x03\x04 a workbook", "clients.csv"),
                                        (b"PAR1 not really parquet", "clients.csv"), (b"id,domain\n", "c.parquet")])
def test_a_file_that_cannot_be_read_at_all_is_named(data: bytes, name: str, tmp_path: Path) -> None:
    with pytest.raises(TableReadError) as caught:
        read(write(tmp_path, data, name))
    assert caught.value.file == name and name in str(caught.value)


# --- rows as CRMs write them -------------------------------------------------------------------

def test_ragged_rows_are_bad_rows_and_the_rest_is_read(tmp_path: Path) -> None:
    # "Expected 6 fields in line 3, saw 8" stopped the run; trailing empty fields are harmless
    t = read(write(tmp_path, clients_csv("C1,M1,bank,a,1,2", "C2,M1,bank,b,1,2,x,y", "C3,M1,bank,c",
                                         "C4,M1,bank,d,1,2,,", "", ",,,,,", "C5,M1,bank,e,1,2")))
    assert found(t) == [("table_ragged_row", 3, ""), ("table_ragged_row", 4, "")]
    assert t.lines.to_dict() == {"C1": 2, "C4": 5, "C5": 8}
    assert t.bad_rows == 2


def test_an_unterminated_quote_is_a_bad_row_and_reading_goes_on_at_the_next_line(tmp_path: Path) -> None:
    t = read(write(tmp_path, clients_csv('C1,M1,bank,a,1,2', 'C2,M1,bank,"broken,1,2', 'C3,M1,bank,"c",1,2',
                                         'C4,M1,bank,d,x,2', 'C5,M1,bank,"open to the end,1,2')))
    assert found(t) == [("table_bad_quote", 3, ""), ("fact_type", 5, "days_since_last_visit"),
                        ("table_bad_quote", 6, "")]
    assert t.lines.to_dict() == {"C1": 2, "C3": 4}


def test_a_quote_swallowing_the_rest_of_a_large_file_costs_one_bad_row(tmp_path: Path) -> None:
    rows = [f"C{i},M1,bank,name {i},1,2" for i in range(20000)]
    rows[3] = 'C3,M1,bank,"never closed,1,2'
    t = read(write(tmp_path, clients_csv(*rows)))
    assert found(t) == [("table_bad_quote", 5, "")]
    assert len(t.frame) == 19999 and t.lines["C4"] == 6 and t.lines["C19999"] == 20001


def test_a_line_without_end_costs_bad_rows_not_quadratic_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tableio, "BLOCK", 64)
    monkeypatch.setattr(tableio, "MAX_LINE", 1000)
    t = read(write(tmp_path, clients_csv("C1,M1,bank,a,1,2", "C2,M1,bank," + "x" * 5000 + ",1,2", "C3,M1,bank,c,1,2")))
    assert {code for code, _, _ in found(t)} == {"table_ragged_row"} and found(t)[0][1] == 3
    assert list(t.frame.index) == ["C1", "C3"]


def test_line_numbers_stay_right_after_quoted_newlines(tmp_path: Path) -> None:
    # the case: the bad cell is on line 9 and was reported on line 7
    text = clients_csv("C1,M1,bank,a,1,2", 'C2,M1,bank,"two\nlines",1,2', "C3,M1,bank,c,1,2",
                       'C4,M1,bank,"crlf\r\ninside",1,2', "C5,M1,bank,e,1,2", "C6,M1,bank,f,ten,2")
    assert text.splitlines()[8].startswith("C6")
    t = read(write(tmp_path, text))
    assert found(t) == [("fact_type", 9, "days_since_last_visit")]
    assert t.lines.to_dict() == {"C1": 2, "C2": 3, "C3": 5, "C4": 6, "C5": 8}
    assert t.frame.at["C4", "name"] == "crlf\r\ninside"


@pytest.mark.parametrize("block", [5, 7, 64])
def test_rows_split_across_read_blocks_and_chunks_read_the_same(block: int, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    text = clients_csv("C1,M1,bank,a,1,2", 'C2,M1,bank,"x\r\ny",1,2', "C3,M1,bank,\"q\"\"q\",1,2", "C1,M1,bank,dup,1,2",
                       "C5,M1,bank,e,1,2\r\rC6,M1,bank,f,1,2", "C7,M1,bank,g,z,2")
    whole = read(write(tmp_path, text))
    monkeypatch.setattr(tableio, "BLOCK", block)
    monkeypatch.setattr(tableio, "CHUNK_ROWS", 2)
    small = read(write(tmp_path, text))
    # C5 ends at a bare CR, the next CR is a blank line 8
    assert found(small) == found(whole) == [("fact_duplicate_id", 6, "id"), ("fact_type", 10, "days_since_last_visit")]
    assert small.lines.to_dict() == whole.lines.to_dict() == {"C1": 2, "C2": 3, "C3": 5, "C5": 7, "C6": 9}
    pd.testing.assert_frame_equal(small.frame, whole.frame)


def test_nul_and_bare_cr_and_undecodable_bytes_are_bad_rows_at_their_lines(tmp_path: Path) -> None:
    data = clients_csv("C1,M1,bank,a\x00b,1,2", "C2,M1,bank,b\rc,1,2", "C3,M1,bank,c,1,2",
                       *chinese_rows(12)).encode("utf-8")
    data = data.replace(b"C3,M1,bank,c", b"C3,M1,bank,\xce\xff")  # stray GBK bytes in a UTF-8 file
    t = read(write(tmp_path, data))
    assert found(t) == [("fact_bad_value", 2, "name"), ("table_ragged_row", 3, ""), ("table_ragged_row", 4, ""),
                        ("table_encoding", 5, "")]
    assert list(t.frame["name"]) == NAMES * 2  # the rest of the file is still read as UTF-8
    assert all(d.message.isprintable() for d in t.diagnostics)  # cells are quoted escaped


@pytest.mark.parametrize("cell, code", [
    ("99999999999999999999", "fact_bad_value"), ("1e19", "fact_bad_value"), ("1e30", "fact_bad_value"),
    ("-9223372036854775809", "fact_bad_value"), ("inf", "fact_bad_value"), ("NaN", "fact_type"),
    ("1e400", "fact_bad_value"), ("0x10", "fact_type"),
])
def test_a_huge_or_non_finite_number_is_one_bad_cell(cell: str, code: str, tmp_path: Path) -> None:
    t = read(write(tmp_path, clients_csv("C1,M1,bank,a,1,2", f"C2,M1,bank,b,{cell},2", "C3,M1,bank,c,3,2")))
    assert found(t) == [(code, 3, "days_since_last_visit")]
    assert list(t.frame.index) == ["C1", "C3"]


def test_integers_up_to_the_64_bit_limit_are_read_exactly(tmp_path: Path) -> None:
    t = read(write(tmp_path, "id,manager_id,client_id,kind,date,status,quantity\r\n"
                   "E1,M1,C1,order,2026-10-01,done,9223372036854775807\r\n"
                   "E2,M1,C1,order,2026-10-01,done,9007199254740993\r\n"
                   "E3,M1,C1,order,2026-10-01,done,99999999999999999999\r\n", "history.csv"), fact="interaction")
    assert found(t) == [("fact_bad_value", 4, "quantity")]
    assert list(t.frame["quantity"]) == [2 ** 63 - 1, 2 ** 53 + 1]


# --- Parquet -----------------------------------------------------------------------------------

def test_parquet_cells_pandas_cannot_hold_are_bad_cells(tmp_path: Path) -> None:
    n = 6
    frame = pa.table({
        "id": [f"E{i}" for i in range(n)], "manager_id": ["M1"] * n, "client_id": ["C1"] * n,
        "kind": pa.array(["order"] * n).dictionary_encode(), "status": ["done"] * n,
        "date": pa.array([dt.date(2026, 10, 1)] * (n - 1) + [dt.date(1, 1, 1)], pa.date32()),
        "quantity": pa.array([2 ** 64 - 1, 2 ** 63, 5, 7, 8, 9], pa.uint64()),          # uint64 above 2**63
        "item": pa.array([None, None, ["a", "b"], None, None, None], pa.list_(pa.string())),  # a list
        "level": pa.array([None, None, None, b"\x00\xff", None, None], pa.binary()),    # binary data
        "amount": pa.array([decimal.Decimal("1.5")] * n, pa.decimal128(10, 2)),
        "closed_date": pa.array([dt.datetime(2026, 10, 2, 23, tzinfo=dt.UTC)] * n, pa.timestamp("us", "UTC")),
        "extra": pa.array([{"x": 1}] * n, pa.struct([("x", pa.int64())])),             # an unknown column
    })
    pq.write_table(frame, tmp_path / "history.parquet")
    t = read(tmp_path / "history.parquet", fact="interaction")
    assert found(t) == [("fact_bad_value", 2, "quantity"), ("fact_bad_value", 3, "quantity"),
                        ("fact_type", 4, "item"), ("fact_type", 5, "level")]
    assert list(t.frame.index) == ["E4", "E5"]
    assert list(t.frame["amount"]) == [1.5, 1.5] and list(t.frame["quantity"]) == [8, 9]
    assert str(t.frame.at["E5", "date"])[:10] == "0001-01-01"
    assert t.frame.at["E4", "closed_date"] == pd.Timestamp("2026-10-02")


# --- a bad-row limit bounds work and memory ----------------------------------------------------

def test_a_million_row_garbage_history_stops_at_the_limit_in_under_a_second(tmp_path: Path) -> None:
    # a 1M-row garbage file made 7.69M diagnostics, 8.3 GB of memory and a 1 GB bad_rows.csv
    header = ",".join(HISTORY.fields)
    garbage = ",".join(f"x{i}q" for i in range(len(HISTORY.fields))) + "\r\n"
    path = write(tmp_path, (header + "\r\n" + garbage * 1_000_000).encode("ascii"), "history.csv")
    emitted: list[object] = []
    report = Report(max_bad_rows=1000, emit=emitted.append, keep=50)
    with pytest.raises(TooManyBadRows) as caught:
        read(path, report=report, fact="interaction")
    (stop,) = caught.value.diagnostics
    assert (stop.code, stop.location.file, stop.location.line) == ("too_many_bad_rows", "history.csv", 1002)
    assert report.bad_rows == 1001 and len(emitted) == report.total and len(report.held) == 50
    assert {d.location.line for d in report.held} <= set(range(2, 1003))


# --- fuzzing: any cell, any bytes --------------------------------------------------------------

EDGE_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=12)  # surrogates, controls, quotes
EDGE_NUMBER = st.one_of(
    st.integers(min_value=-(2 ** 70), max_value=2 ** 70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["99999999999999999999", "1e19", "1e30", "-0", "NaN", "inf", "-inf", " 5 ", "1_000", "5.0",
                     "0x1F", "1e-400", "٣", "", " "]),
)
EDGE_CELL = st.one_of(EDGE_TEXT, EDGE_NUMBER, st.sampled_from(["=1+1", "@SUM(A1)", "\t", "\r", '"', "a,b", "\n"]))
COLUMNS = ["id", "manager_id", "domain", "name", "days_since_last_visit", "satisfaction", "is_key",
           "agreement_expiry", "client_class"]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(rows=st.lists(st.fixed_dictionaries({c: EDGE_CELL for c in COLUMNS}), max_size=6),
       ids=st.booleans(), block=st.sampled_from([3, 16, 1 << 20]), ragged=st.integers(min_value=0, max_value=6))
def test_fuzz_reading_never_raises_and_every_dropped_row_is_reported_at_its_line(
        rows: list[dict[str, str]], ids: bool, block: int, ragged: int, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tableio, "BLOCK", block)
    if ids:  # mostly valid rows, so that good rows and references to their lines are exercised
        for i, row in enumerate(rows):
            row.update(id=f"C{i}", manager_id="M1", domain="bank")
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    starts, line = [], 2
    for i, row in enumerate(rows):
        cells = [row[c] for c in COLUMNS] + (["extra"] if i == ragged else [])
        start = out.tell()
        writer.writerow(cells)
        record = out.getvalue()[start:]
        if any(cells):  # a row of empty cells is skipped, not reported
            starts.append(line)
        line += record.count("\r\n") + record.replace("\r\n", "").count("\r") + record.replace("\r\n", "").count("\n")
    data = out.getvalue().encode("utf-8", "surrogatepass")  # a lone surrogate becomes bytes UTF-8 refuses
    path = write(tmp_path, data)
    t = read(path, encoding="utf-8")
    errors = [d for d in t.diagnostics if d.severity == "error"]
    assert all(d.location.file == "clients.csv" and d.location.line in starts for d in errors)
    reported = {d.location.line for d in errors}
    kept = set(t.lines)
    assert kept | reported == set(starts) and not kept & reported  # each row: kept, or reported
    assert len(t.frame) + t.bad_rows == len(starts)
    assert all(d.message.isprintable() for d in t.diagnostics)


# --- writing: formula injection, CR, byte-order mark --------------------------------------------

def _encodable(text: str) -> bool:
    return text == text.encode("utf-8", "ignore").decode("utf-8")


@pytest.mark.parametrize("value, written", [
    ('=HYPERLINK("http://x","y")', "'=HYPERLINK(\"http://x\",\"y\")"), ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("\rx", "'\rx"), ("a=b", "a=b"),
    ("王伟", "王伟"), ("", ""), (-5, -5), (-1.5, -1.5), (None, None),
])
def test_safe_cell_is_owasps_rule(value: object, written: object) -> None:
    assert safe_cell(value) == written


def test_written_csv_has_no_formula_text_cells_keeps_numbers_and_quotes_a_bare_cr(tmp_path: Path) -> None:
    frame = pd.DataFrame({"client_id": ["=1+1", "-C2", "@x", "\tT", "\rR", "ok"],
                          "name": ["a\rb", "c\nd", "e", None, "g", "h"],
                          "score": [-1.5, 2.0, -3.25, 0.0, 1e6, -0.0], "rank": [-1, 2, 3, 4, 5, 6]})
    write_csv(frame, tmp_path / "out.csv")
    raw = (tmp_path / "out.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with a byte-order mark by default
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert len(rows) == 1 + len(frame)  # the CR and LF inside cells did not split rows
    assert [r[0] for r in rows[1:]] == ["'=1+1", "'-C2", "'@x", "'\tT", "'\rR", "ok"]
    assert [r[1] for r in rows[1:]] == ["a\rb", "c\nd", "e", "", "g", "h"]
    assert [r[2] for r in rows[1:]][:3] == ["-1.5", "2.0", "-3.25"] and rows[1][3] == "-1"  # numbers stay numbers
    write_csv(frame, tmp_path / "plain.csv", "utf-8")
    assert (tmp_path / "plain.csv").read_bytes().startswith(b"client_id")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cells=st.lists(st.tuples(EDGE_TEXT.filter(_encodable), st.floats(allow_nan=False, allow_infinity=False)),
                      max_size=8))
def test_fuzz_no_text_cell_written_starts_a_formula(cells: list[tuple[str, float]], tmp_path: Path) -> None:
    frame = pd.DataFrame({"text": [c[0] for c in cells], "number": [c[1] for c in cells]}, columns=["text", "number"])
    with CsvRows(tmp_path / "rows.csv", ["text", "number"]) as rows:
        for text, number in cells:
            rows.write([text, number])
    write_csv(frame, tmp_path / "frame.csv")
    for name in ("rows.csv", "frame.csv"):
        with (tmp_path / name).open(encoding="utf-8-sig", newline="") as fh:
            back = list(csv.reader(fh))[1:]
        assert len(back) == len(cells)
        for (text, number), (t, n) in zip(cells, back, strict=True):
            assert not t.startswith(FORMULA_START)
            assert t == (("'" + text) if text.startswith(FORMULA_START) else text)
            assert float(n) == number  # a negative number is a number, not text to neutralise
