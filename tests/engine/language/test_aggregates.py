"""engine/language/aggregates.py: each aggregate of events, per list and per grouped table, agree; the
window keeps the last N days up to the as-of date; no events is a value (0 or never)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from rm_advisor.engine.language.aggregates import (
    AGGREGATES,
    aggregate,
    aggregate_column,
    describe_aggregate,
    in_window,
    window_start,
)

AS_OF = dt.date(2026, 11, 23)
OWNERS = ["C0", "C1", "C2"]


@settings(max_examples=150, deadline=None)
@given(data=st.data(), name=st.sampled_from(AGGREGATES), kind=st.sampled_from(["int", "float", "date"]))
def test_an_aggregate_of_each_subjects_events_is_the_same_per_list_and_per_table(data: st.DataObject, name: str,
                                                                                 kind: str) -> None:
    values: st.SearchStrategy[Any] = {
        "int": st.integers(-5, 5), "float": st.sampled_from([0.1, 0.2, 0.3, 1.5, -2.25, 1e6 + 0.1]),
        "date": st.dates(dt.date(2026, 1, 1), AS_OF)}[kind]
    rows = data.draw(st.lists(st.tuples(st.sampled_from(OWNERS[:2]), st.dates(dt.date(2026, 9, 1), AS_OF),
                                        st.one_of(st.none(), values)), max_size=10))
    if name == "sum" and kind == "date":
        kind = "int"
        rows = [(o, d, None) for o, d, _ in rows]
    events = [(o, d, f"E{i}", v) for i, (o, d, v) in enumerate(rows)]
    want = {o: aggregate(name, [(d, i, v) for oo, d, i, v in events if oo == o], AS_OF) for o in OWNERS}
    dtype = {"int": "Int64", "float": "float64", "date": "datetime64[ns]"}[kind]
    value_col = pd.Series([v if kind != "date" or v is None else pd.Timestamp(v) for _, _, _, v in events],
                          dtype=dtype)
    frame = pd.DataFrame({"owner": [o for o, _, _, _ in events],
                          "date": pd.Series([pd.Timestamp(d) for _, d, _, _ in events], dtype="datetime64[ns]"),
                          "id": [i for _, _, i, _ in events], "value": value_col})
    got = aggregate_column(name, frame, pd.Index(OWNERS), AS_OF)
    for owner in OWNERS:
        cell = got[owner]
        cell = None if pd.isna(cell) else cell.date() if isinstance(cell, pd.Timestamp) else cell
        assert cell == want[owner], (owner, name, events)


def test_no_events_is_zero_for_count_and_sum_and_never_for_the_others() -> None:
    assert [aggregate(a, [], AS_OF) for a in AGGREGATES] == [0, 0, None, None, None, None]
    empty = pd.DataFrame({"owner": [], "date": pd.Series(dtype="datetime64[ns]"), "id": [], "value": []})
    got = [aggregate_column(a, empty, pd.Index(["C0"]), AS_OF)["C0"] for a in AGGREGATES]
    assert got[:2] == [0, 0] and all(pd.isna(v) for v in got[2:])


def test_the_window_keeps_the_last_n_days_up_to_the_as_of_date() -> None:
    start = window_start(AS_OF, 30)
    assert start == dt.date(2026, 10, 24)
    assert in_window(dt.date(2026, 10, 24), AS_OF, start) and in_window(AS_OF, AS_OF, start)
    assert not in_window(dt.date(2026, 10, 23), AS_OF, start)
    assert not in_window(dt.date(2026, 11, 24), AS_OF, None)  # after the decision: never counts
    assert not in_window(None, AS_OF, None)  # undated: cannot be placed in time
    assert window_start(AS_OF, 10**9) == dt.date.min  # saturates


def test_the_latest_is_the_latest_dated_event_and_ties_go_to_the_greater_id() -> None:
    events = [(dt.date(2026, 11, 1), "E1", "a"), (dt.date(2026, 11, 5), "E2", None), (dt.date(2026, 11, 5), "E3", "c")]
    assert aggregate("latest", events, AS_OF) == "c"
    assert aggregate("days_since_latest", events, AS_OF) == 18
    assert aggregate("latest", events[:2], AS_OF) is None  # the latest event has no value


def test_an_aggregate_reads_in_both_languages() -> None:
    assert describe_aggregate("count", None, "interaction.kind == visit", 30) == (
        "count of events (interaction.kind == visit) in the last 30 days")
    assert describe_aggregate("sum", "interaction.amount", "", None, "zh") == "interaction.amount合计"
