"""engine/portfolio/tables.py: every bad cell of a portfolio table is named by file, CSV line and column; the
bad row is dropped and the good rows go on, typed as the per-record validator would type them."""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rm_advisor.engine import Advisor
from rm_advisor.engine.derivation.frames import records
from rm_advisor.engine.errors import Diagnostic, TooManyBadRows
from rm_advisor.engine.portfolio.run import check_tables
from rm_advisor.engine.portfolio.tables import (
    MAX_UNKNOWN_COLUMNS,
    Chunk,
    Report,
    Table,
    TableChecker,
    check_table,
)
from tests.helpers import KB

CLIENT = KB.facts["client"]
HEADER = "id,manager_id,domain,days_since_last_visit,satisfaction,is_key,agreement_expiry,client_class"
GOOD = "C1,M1,tobacco,3,80,yes,2026-01-02,A"


def read_csv(text: str) -> pd.DataFrame:
    """As ``rm-advisor batch`` reads a CSV file: every cell as text, empty = missing."""
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""])


def check(*rows: str, header: str = HEADER) -> Table:
    return check_table(read_csv("\n".join([header, *rows]) + "\n"), CLIENT, "client", "clients.csv")


@pytest.mark.parametrize("bad_row, code, column", [
    ("C2,M1,tobacco,ten,80,no,,B", "fact_type", "days_since_last_visit"),            # not a number
    ("C2,M1,tobacco,2.5,80,no,,B", "fact_type", "days_since_last_visit"),            # fractional integer
    ("C2,M1,tobacco,4,120,no,,B", "fact_bad_value", "satisfaction"),                 # above max 100
    ("C2,M1,tobacco,-1,80,no,,B", "fact_bad_value", "days_since_last_visit"),        # below min 0
    ("C2,M1,tobacco,4,80,maybe,,B", "fact_type", "is_key"),                          # not a boolean
    ("C2,M1,tobacco,4,80,no,next week,B", "fact_type", "agreement_expiry"),          # not a date
    ("C2,M1,tobacco,4,80,no,2026-02-30,B", "fact_type", "agreement_expiry"),         # no such day
    ("C2,M1,tobacco,4,80,no,,D", "fact_bad_value", "client_class"),                  # unknown enum value
    ("C2,,tobacco,4,80,no,,B", "fact_missing_field", "manager_id"),                  # required, empty
    ("C2,M1,,4,80,no,,B", "fact_missing_field", "domain"),                           # required, empty
    ("C1,M1,tobacco,4,80,no,,B", "fact_duplicate_id", "id"),                         # id of line 2 again
])
def test_bad_cell_is_reported_at_its_line_and_column_and_only_its_row_dropped(
        bad_row: str, code: str, column: str) -> None:
    table = check(GOOD, bad_row, "C3,M1,bank,,,,,")
    errors = [d for d in table.diagnostics if d.severity == "error"]
    assert [(d.code, d.location.file, d.location.line, d.location.path) for d in errors] == \
        [(code, "clients.csv", 3, column)]
    assert table.bad_rows == 1
    assert list(table.frame.index) == ["C1", "C3"]
    assert table.lines.to_dict() == {"C1": 2, "C3": 4}


def test_a_bad_value_in_a_required_column_is_reported_once_not_also_as_missing() -> None:
    # the cell holds a value, just not an allowed one: "lacks required `domain`" would send the
    # user looking for an empty cell (the per-record validator reports only fact_bad_value)
    table = check(GOOD, "C2,M1,shipping,4,80,no,,B")
    assert [(d.code, d.location.line, d.location.path) for d in table.diagnostics] == \
        [("fact_bad_value", 3, "domain")]
    assert table.bad_rows == 1 and list(table.frame.index) == ["C1"]


def test_several_bad_cells_in_one_row_are_all_reported_and_the_row_counted_once() -> None:
    table = check(GOOD, "C2,M1,tobacco,ten,120,maybe,,B")
    found = sorted((d.code, d.location.line, d.location.path) for d in table.diagnostics)
    assert found == [("fact_bad_value", 3, "satisfaction"), ("fact_type", 3, "days_since_last_visit"),
                     ("fact_type", 3, "is_key")]
    assert table.bad_rows == 1 and list(table.frame.index) == ["C1"]


def test_diagnostics_are_sorted_by_line() -> None:
    table = check("C1,M1,tobacco,x,80,,,", GOOD.replace("C1", "C2"), "C3,M1,tobacco,4,80,,,Z",
                  "C4,M1,tobacco,4,999,,,")
    assert [d.location.line for d in table.diagnostics] == [2, 4, 5]
    assert list(table.frame.index) == ["C2"]


def test_a_missing_required_column_makes_every_row_bad() -> None:
    table = check("C1,tobacco", "C2,bank", header="id,domain")
    assert [(d.code, d.location.line, d.location.path) for d in table.diagnostics] == \
        [("fact_missing_field", 2, "manager_id"), ("fact_missing_field", 3, "manager_id")]
    assert table.bad_rows == 2 and table.frame.empty


@pytest.mark.parametrize("text, expected", [
    ("true", True), ("false", False), ("1", True), ("0", False), ("yes", True), ("no", False),
    ("TRUE", True), ("False", False), (" Yes ", True), ("NO", False),
])
def test_booleans_accept_true_false_1_0_yes_no(text: str, expected: bool) -> None:
    table = check(f"C1,M1,tobacco,3,80,{text},,A")
    assert table.diagnostics == [] and table.bad_rows == 0
    assert table.frame.at["C1", "is_key"] is expected
    assert records(table.frame, CLIENT)[0]["is_key"] is expected


def test_unknown_column_is_a_warning_on_the_header_with_a_suggestion_and_rows_are_kept() -> None:
    table = check(GOOD + ",red", "C2,M1,bank,,,,,,", header=HEADER + ",days_since_visit")
    assert [(d.code, d.severity, d.location.line) for d in table.diagnostics] == \
        [("fact_unknown_field", "warning", 1)]
    assert "days_since_last_visit" in (table.diagnostics[0].hint or "")
    assert table.bad_rows == 0 and list(table.frame.index) == ["C1", "C2"]
    assert "days_since_visit" not in table.frame.columns


def test_a_whole_number_written_as_decimal_is_an_integer() -> None:
    table = check("C1,M1,tobacco,5.0,80,,,")
    assert table.bad_rows == 0
    assert records(table.frame, CLIENT)[0]["days_since_last_visit"] == 5


def test_empty_and_blank_cells_are_missing_not_errors() -> None:
    table = check("C1,M1,tobacco,, ,  ,,")
    assert table.diagnostics == [] and table.bad_rows == 0
    assert records(table.frame, CLIENT) == [{"id": "C1", "manager_id": "M1", "domain": "tobacco"}]


def test_records_give_python_types_and_omit_missing_values() -> None:
    table = check(GOOD, "C2,M1,bank,,55.5,no,,", "C3,M1,telecom,0,,,2027-03-04,")
    recs = records(table.frame, CLIENT)
    assert recs == [
        {"id": "C1", "manager_id": "M1", "domain": "tobacco", "days_since_last_visit": 3, "satisfaction": 80.0,
         "is_key": True, "agreement_expiry": dt.date(2026, 1, 2), "client_class": "A"},
        {"id": "C2", "manager_id": "M1", "domain": "bank", "satisfaction": 55.5, "is_key": False},
        {"id": "C3", "manager_id": "M1", "domain": "telecom", "days_since_last_visit": 0,
         "agreement_expiry": dt.date(2027, 3, 4)},
    ]
    first = recs[0]
    assert type(first["days_since_last_visit"]) is int
    assert type(first["satisfaction"]) is float
    assert type(first["is_key"]) is bool
    assert type(first["agreement_expiry"]) is dt.date
    assert type(first["client_class"]) is str and type(first["id"]) is str


def test_typed_input_as_from_parquet_is_accepted() -> None:
    raw = pd.DataFrame({"id": ["C1", "C2"], "manager_id": ["M1", "M1"], "domain": ["tobacco", "bank"],
                        "days_since_last_visit": pd.array([4, None], dtype="Int64"),
                        "is_key": [True, False],
                        "agreement_expiry": pd.DatetimeIndex(["2026-05-06", None])})
    table = check_table(raw, CLIENT, "client", "clients.parquet")
    assert table.diagnostics == [] and table.bad_rows == 0
    assert records(table.frame, CLIENT) == [
        {"id": "C1", "manager_id": "M1", "domain": "tobacco", "days_since_last_visit": 4, "is_key": True,
         "agreement_expiry": dt.date(2026, 5, 6)},
        {"id": "C2", "manager_id": "M1", "domain": "bank", "is_key": False},
    ]


def test_frame_is_indexed_by_id_with_source_lines() -> None:
    table = check("C9,M1,tobacco,1,,,,", "bad,,tobacco,,,,,", "C5,M1,tobacco,2,,,,")
    assert list(table.frame.index) == ["C9", "C5"]
    assert table.lines.to_dict() == {"C9": 2, "C5": 4}
    assert table.name == "client"


# --- hostile cells, chunks and the bad-row limit (issue 12) ------------------------------------

def test_cells_pandas_cannot_type_are_bad_cells_not_a_traceback() -> None:
    # as Parquet hands them over: a list in a string column, binary data, a mapping, a huge
    # unsigned integer, 1e30 in an integer column, infinity, NaN, a NUL, a lone surrogate
    raw = pd.DataFrame({
        "id": ["C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9", "C10"],
        "manager_id": ["M1"] * 10, "domain": ["bank"] * 10,
        "name": [["a", "b"], b"\x00\xff", {"x": 1}, "ok", "ok", "ok", "ok", "a\x00b", "\ud800", "ok"],
        "days_since_last_visit": pd.array([None, None, None, 2 ** 64 - 1, None, None, None, None, None, 3],
                                          dtype=object),
        "satisfaction": [None, None, None, None, 1e30, float("inf"), float("nan"), None, None, 50.0],
    })
    raw.loc[4, "days_since_last_visit"] = 1e30
    table = check_table(raw, CLIENT, "client", "clients.parquet")
    assert [(d.code, d.location.line, d.location.path) for d in table.diagnostics] == [
        ("fact_type", 2, "name"), ("fact_type", 3, "name"), ("fact_type", 4, "name"),
        ("fact_bad_value", 5, "days_since_last_visit"), ("fact_bad_value", 6, "days_since_last_visit"),
        ("fact_bad_value", 6, "satisfaction"), ("fact_bad_value", 7, "satisfaction"), ("fact_bad_value", 9, "name"),
        ("fact_bad_value", 10, "name")]
    assert list(table.frame.index) == ["C7", "C10"]  # NaN is a missing value
    assert all(d.message.isprintable() for d in table.diagnostics)


def test_a_table_checked_in_chunks_finds_duplicates_across_chunks_and_keeps_lines() -> None:
    report = Report()
    checker = TableChecker(CLIENT, "client", "clients.csv", report)
    checker.header(HEADER.split(","))
    checker.add(Chunk(read_csv("\n".join([HEADER, GOOD, "C2,M1,bank,,,,,"]) + "\n")))
    checker.add(Chunk(read_csv("\n".join([HEADER, "C1,M1,bank,,,,,", "C3,M1,bank,x,,,,"]) + "\n"),
                      lines=np.array([9, 12])))
    table = checker.table()
    assert [(d.code, d.location.line) for d in table.diagnostics] == [("fact_duplicate_id", 9), ("fact_type", 12)]
    assert table.lines.to_dict() == {"C1": 2, "C2": 3}
    assert report.bad_rows == 2 and table.skipped == {"C3": 12}  # C1 has a good row


def test_a_table_with_no_rows_has_its_columns_typed_whether_its_rows_go_to_a_sink_or_not() -> None:
    """A file with only its header (a new portfolio's history) gives every reader the columns' types:
    a sharded run's spill takes them from the sink's empty table, and a date column must stay a date."""
    kept: list[pd.DataFrame] = []
    tables = []
    for sink in (None, kept.append):
        checker = TableChecker(CLIENT, "client", "clients.csv", sink=sink)
        checker.header(HEADER.split(","))
        checker.add(Chunk(read_csv(HEADER + "\n")))
        tables.append(checker.table())
    held, sunk = tables
    assert len(held.frame) == len(sunk.frame) == 0
    assert held.frame.dtypes.to_dict() == sunk.frame.dtypes.to_dict()
    assert pd.api.types.is_datetime64_any_dtype(sunk.frame["agreement_expiry"])
    assert sunk.frame["days_since_last_visit"].dtype != object


def test_the_bad_row_limit_stops_at_the_row_over_it_and_holds_only_the_first_diagnostics() -> None:
    emitted: list[Diagnostic] = []
    report = Report(max_bad_rows=2, emit=emitted.append, keep=1)
    with pytest.raises(TooManyBadRows) as caught:
        check_table(read_csv("\n".join([HEADER, GOOD, "C2,M1,x,1,1,1,1,1", "C3,M1,bank,y,,,,", "C4,M1,bank,,,,,",
                                        "C5,M1,bank,z,,,,", "C6,M1,bank,w,,,,"]) + "\n"), CLIENT, "client",
                    "clients.csv", report=report)
    (stop,) = caught.value.diagnostics
    assert (stop.code, stop.location.file, stop.location.line) == ("too_many_bad_rows", "clients.csv", 6)
    assert sorted({d.location.line for d in emitted}) == [3, 4, 6]  # nothing past the row over the limit
    assert report.bad_rows == 3 and [d.location.line for d in report.held] == [3]


def test_rows_skipped_because_their_client_was_are_reported_but_not_counted_against_the_limit(
        advisor: Advisor) -> None:
    clients = read_csv("id,manager_id,domain,satisfaction\nC1,M1,bank,1\nC2,M1,bank,lots\n")
    history = read_csv("id,manager_id,client_id,kind,date,status\n"
                       + "".join(f"E{i},M1,C2,visit,2026-10-01,done\n" for i in range(5)))
    report = Report(max_bad_rows=1)
    tables = check_tables(clients, read_csv("id,domain\nM1,bank\n"), history, advisor.book.kb, dt.date(2026, 11, 23),
                          {"clients": "c.csv", "managers": "m.csv", "history": "h.csv"}, report)
    skipped = [d for d in tables.diagnostics if d.code == "fact_ref_skipped"]
    assert [(d.location.file, d.location.line, d.location.path) for d in skipped] == \
        [("h.csv", line, "client_id") for line in range(2, 7)]
    assert all("c.csv:3" in d.message for d in skipped)  # it points at the client's own bad row
    assert report.bad_rows == 1 and tables.bad_rows == 6 and tables.history.frame.empty


def test_a_dropped_manager_sends_its_clients_and_their_events_to_its_line(advisor: Advisor) -> None:
    tables = check_tables(read_csv("id,manager_id,domain\nC1,M1,bank\n"), read_csv("id,domain\nM1,shipping\n"),
                          read_csv("id,manager_id,client_id,kind,date,status\nE1,M1,C1,visit,2026-10-01,done\n"),
                          advisor.book.kb, dt.date(2026, 11, 23), {"managers": "m.csv"})
    assert [(d.code, d.location.file, d.location.line) for d in tables.diagnostics] == [
        ("fact_bad_value", "m.csv", 2), ("fact_ref_skipped", "clients", 2), ("fact_ref_skipped", "history", 2)]
    assert "m.csv:2" in tables.diagnostics[1].message and "clients:2" in tables.diagnostics[2].message


def test_unknown_columns_are_listed_up_to_a_cap_and_a_repeated_column_is_a_warning() -> None:
    header = HEADER.split(",") + ["domain"] + [f"x{i}" for i in range(MAX_UNKNOWN_COLUMNS + 5)]
    raw = pd.DataFrame([GOOD.split(",") + ["bank"] + [None] * (MAX_UNKNOWN_COLUMNS + 5)], columns=header)
    table = check_table(raw, CLIENT, "client", "clients.csv")
    codes = [d.code for d in table.diagnostics]
    assert codes == ["table_duplicate_column"] + ["fact_unknown_field"] * (MAX_UNKNOWN_COLUMNS + 1)
    assert all(d.severity == "warning" and d.location.line == 1 for d in table.diagnostics)
    assert table.frame.at["C1", "domain"] == "tobacco"  # the first `domain` is used


CELL = st.one_of(
    st.none(), st.text(max_size=8), st.integers(min_value=-(2 ** 70), max_value=2 ** 70),
    st.floats(allow_nan=True, allow_infinity=True), st.booleans(), st.binary(max_size=4),
    st.lists(st.integers(), max_size=2), st.dates(), st.datetimes(), st.decimals(allow_nan=True),
    st.sampled_from([pd.NA, pd.NaT, np.int64(-5), np.uint64(2 ** 64 - 1), np.float32("nan"), "\ud800", "a\x00"]),
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.fixed_dictionaries({c: CELL for c in ["id", "manager_id", "domain", "name", "satisfaction",
                                                          "days_since_last_visit", "is_key", "agreement_expiry"]}),
                min_size=1, max_size=6))
def test_fuzz_typed_cells_never_raise_and_every_dropped_row_is_reported_at_its_line(
        rows: list[dict[str, object]]) -> None:
    raw = pd.DataFrame(rows, dtype=object)
    table = check_table(raw, CLIENT, "client", "t.parquet")
    errors = {d.location.line for d in table.diagnostics if d.severity == "error"}
    kept = set(table.lines)
    assert errors | kept == set(range(2, len(rows) + 2)) and not errors & kept
    assert len(table.frame) + table.bad_rows == len(rows)
    assert all(d.location.file == "t.parquet" and d.message.isprintable() for d in table.diagnostics)
    records(table.frame, CLIENT)  # the good rows convert to facts
