"""engine/language/operators.py: one table of operators; the per-record and the column forms agree."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rm_advisor.engine.language.operators import (
    OPERATORS,
    column_holds,
    counted,
    describe,
    field_column_holds,
    field_holds,
    holds,
    operator,
)
from rm_advisor.engine.language.values import shift

AS_OF = dt.date(2026, 11, 23)
NUMBERS = st.one_of(st.none(), st.integers(-50, 50).map(float))
DATES = st.one_of(st.none(), st.dates(dt.date(2026, 1, 1), dt.date(2027, 12, 31)))


def _operand(name: str, draw: Any, values: st.SearchStrategy[Any]) -> Any:
    kind = OPERATORS[name].operand
    inner = values.filter(lambda v: v is not None)
    if kind == "values":
        return tuple(draw(st.lists(inner, min_size=1, max_size=3)))
    if kind == "range":
        low, high = sorted(draw(st.lists(inner, min_size=2, max_size=2)))
        return (low, high)
    if kind == "days":
        return draw(st.integers(0, 400))
    if kind == "flag":
        return draw(st.booleans())
    return draw(inner)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), name=st.sampled_from(sorted(OPERATORS)), dates=st.booleans())
def test_the_column_form_agrees_with_the_per_record_form(data: st.DataObject, name: str, dates: bool) -> None:
    op = OPERATORS[name]
    dates = dates or op.operand == "days"  # day windows apply to dates only
    values = DATES if dates else NUMBERS
    col = data.draw(st.lists(values, min_size=1, max_size=8))
    arg = _operand(name, data.draw, values)
    series = pd.Series(col, dtype="datetime64[ns]" if dates else "Float64")
    want = [holds(name, v, arg, AS_OF) for v in col]
    assert column_holds(name, series, arg, AS_OF).tolist() == want


@pytest.mark.parametrize("name", sorted(OPERATORS))
def test_a_missing_value_fails_every_operator_but_present_false(name: str) -> None:
    arg = {"values": (1,), "range": (1, 2), "days": 3, "flag": True, "value": 1}[OPERATORS[name].operand]
    assert holds(name, None, arg, AS_OF) is False
    assert holds("present", None, False, AS_OF) is True


def test_day_arithmetic_saturates_at_the_ends_of_the_calendar() -> None:
    assert shift(dt.date.max, 30) == dt.date.max and shift(dt.date.min, -30) == dt.date.min
    assert holds("in_next_days", dt.date.max, 90, dt.date.max) is True
    assert holds("older_than_days", dt.date.min, 5, dt.date.min) is False


def test_every_operator_reads_in_both_languages() -> None:
    for op in OPERATORS.values():
        assert op.describe("3", "en", 3) and op.describe("3", "zh", 3)
        assert op.describe("3", "zh", 3) != op.describe("3", "en", 3)
    assert operator("present").describe("false", "zh", False) == "未填写"


def test_an_unknown_operator_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown operator"):
        operator("approx")


# ---------------------------------------------------------------- what a missing value counts as

UNKNOWNS = st.sampled_from([None, "match", "no_match", "ask"])


@pytest.mark.parametrize("unknown, on_missing", [(None, False), ("match", True), ("no_match", False), ("ask", False)])
def test_unknown_says_what_a_missing_value_counts_as_and_leaves_given_values_alone(unknown: Any,
                                                                                    on_missing: bool) -> None:
    tests = [(operator("gt"), 3)]
    assert field_holds(tests, None, AS_OF, unknown) is on_missing
    assert field_holds(tests, 5, AS_OF, unknown) is True and field_holds(tests, 2, AS_OF, unknown) is False


def test_without_unknown_present_false_still_holds_on_a_missing_value() -> None:
    assert field_holds([(operator("present"), False)], None, AS_OF) is True
    assert field_holds([(operator("present"), False), (operator("gt"), 3)], None, AS_OF) is False


@settings(max_examples=80, deadline=None)
@given(data=st.data(), names=st.lists(st.sampled_from(sorted(set(OPERATORS) - {"in_next_days", "older_than_days"})),
                                      min_size=1, max_size=2, unique=True), unknown=UNKNOWNS)
def test_a_whole_field_condition_decides_alike_on_a_column_and_on_each_value(data: st.DataObject, names: list[str],
                                                                            unknown: Any) -> None:
    col = data.draw(st.lists(NUMBERS, min_size=1, max_size=8))
    ops = {name: _operand(name, data.draw, NUMBERS) for name in names}
    tests = [(operator(name), arg) for name, arg in sorted(ops.items())]
    want = [field_holds(tests, v, AS_OF, unknown) for v in col]
    assert field_column_holds(ops, pd.Series(col, dtype="Float64"), AS_OF, unknown).tolist() == want


def test_what_a_missing_value_counted_as_reads_in_both_languages() -> None:
    assert counted(True) == "unknown, counted as match" and counted(False, "zh") == "未知，按不满足计"
    assert describe("client.tier", (("ne", "strategic", "strategic"),), "match") == \
        "client.tier != strategic (unknown: match)"
