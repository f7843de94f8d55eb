"""engine/language/deadlines.py: the days left to a deadline, per value and per column, agree; a deadline
holds from today up to N days ahead; a missing value places none."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from rm_advisor.engine.language.deadlines import (
    BASES,
    days_left,
    days_left_column,
    deadline_column_holds,
    deadline_holds,
    describe_deadline,
)

AS_OF = dt.date(2026, 11, 23)


def test_interest_unpaid_eleven_days_against_a_fifteen_day_threshold_has_four_days_left() -> None:
    assert days_left("elapsed", 11, 15, AS_OF) == 4
    assert deadline_holds(4, 4) and not deadline_holds(4, 3)


def test_a_date_is_the_deadline_itself_and_a_start_date_moves_by_the_threshold() -> None:
    assert days_left("due", dt.date(2027, 1, 7), 0, AS_OF) == 45
    assert days_left("since", dt.date(2026, 11, 13), 15, AS_OF) == 5


def test_today_is_the_last_day_and_a_passed_deadline_no_longer_holds() -> None:
    assert days_left("elapsed", 15, 15, AS_OF) == 0 and deadline_holds(0, 10)
    assert days_left("elapsed", 16, 15, AS_OF) == -1 and not deadline_holds(-1, 10)


def test_a_missing_value_places_no_deadline_and_counts_as_unknown_says() -> None:
    assert days_left("due", None, 0, AS_OF) is None
    assert not deadline_holds(None, 30)
    assert deadline_holds(None, 30, "match") and not deadline_holds(None, 30, "no_match")


def test_the_deadline_reads_as_its_field_its_threshold_and_its_window() -> None:
    assert describe_deadline("elapsed", "client.interest_unpaid_days", "15", "4") == \
        "client.interest_unpaid_days reaches 15 within the next 4 days"
    assert describe_deadline("due", "client.agreement_expiry", "0", "90", "zh") == "client.agreement_expiry在今后90天内"


@settings(max_examples=200, deadline=None)
@given(data=st.data(), basis=st.sampled_from(BASES), after=st.sampled_from([0, 1, 15, 1095, 10**9]),
       within=st.integers(0, 40), unknown=st.sampled_from([None, "match", "no_match"]))
def test_days_left_and_the_verdict_are_the_same_per_value_and_per_column(data: st.DataObject, basis: str, after: int,
                                                                         within: int, unknown: str | None) -> None:
    if basis == "elapsed":
        values: list[Any] = data.draw(st.lists(st.one_of(st.none(), st.integers(0, 2000)), max_size=8))
        col = pd.Series(values, dtype="Int64")
    else:
        values = data.draw(st.lists(st.one_of(st.none(), st.dates(dt.date(1700, 1, 1), dt.date(2250, 12, 31))),
                                    max_size=8))
        col = pd.Series([pd.NaT if v is None else pd.Timestamp(v) for v in values], dtype="datetime64[ns]")
    after = 0 if basis == "due" else after
    want = [days_left(basis, v, after, AS_OF) for v in values]
    got = days_left_column(basis, col, after, AS_OF)
    assert [None if pd.isna(x) else int(x) for x in got] == want
    assert list(deadline_column_holds(got, within, unknown)) == [deadline_holds(w, within, unknown) for w in want]
