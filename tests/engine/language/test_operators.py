"""engine/language/operators.py: one table of operators; the per-record and the column forms agree."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rm_advisor.engine.language.operators import (
    COMPARE_OPERATORS,
    OPERATORS,
    column_holds,
    compare_column_holds,
    compare_holds,
    compare_target,
    counted,
    describe,
    describe_compare,
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


# ---------------------------------------------------------------- comparisons between two fields

INTS = st.one_of(st.none(), st.integers(-50, 50))


@settings(max_examples=120, deadline=None)
@given(data=st.data(), op=st.sampled_from(COMPARE_OPERATORS), kind=st.sampled_from(["int", "float", "date"]),
       unknown=st.sampled_from([None, "match", "no_match"]))
def test_a_comparison_between_fields_decides_alike_on_two_columns_and_on_each_pair(
        data: st.DataObject, op: str, kind: str, unknown: Any) -> None:
    values = {"int": INTS, "float": NUMBERS, "date": DATES}[kind]
    pairs = data.draw(st.lists(st.tuples(values, values), min_size=1, max_size=8))
    times: float | None
    plus: float | None
    if kind == "date":
        times, plus = None, data.draw(st.one_of(st.none(), st.integers(-40, 40), st.sampled_from([10**8, -10**8])))
    else:
        times = data.draw(st.one_of(st.none(), st.sampled_from([0.5, 1.2, 2.0, -1.0])))
        plus = data.draw(st.one_of(st.none(), st.sampled_from([-3, 0, 0.5, 7])))
    one = [compare_holds(op, a, b, AS_OF, times, plus, unknown) for a, b in pairs]
    if kind == "date":
        left = pd.Series([pd.Timestamp(a) if a else pd.NaT for a, _ in pairs], dtype="datetime64[ns]")
        right = pd.Series([pd.Timestamp(b) if b else pd.NaT for _, b in pairs], dtype="datetime64[ns]")
    else:
        dtype = "Int64" if kind == "int" else "float64"
        left = pd.Series([a for a, _ in pairs], dtype=dtype)
        right = pd.Series([b for _, b in pairs], dtype=dtype)
    column = compare_column_holds(op, left, right, AS_OF, times, plus, unknown)
    assert column.tolist() == one


def test_a_comparison_between_fields_counts_a_missing_side_as_unknown_says() -> None:
    for left, right in ((None, 5), (5, None), (None, None)):
        assert compare_holds("gt", left, right, AS_OF) is False
        assert compare_holds("ne", left, right, AS_OF) is False  # `ne` too fails on a missing value
        assert compare_holds("gt", left, right, AS_OF, unknown="match") is True
        assert compare_holds("gt", left, right, AS_OF, unknown="no_match") is False
    assert compare_holds("gt", 8_000_000, 6_000_000, AS_OF) is True
    assert compare_holds("gt", 7_000_000, 6_000_000, AS_OF, times=1.2) is False
    assert compare_target(6_000_000, 1.2, 100) == 6_000_000 * 1.2 + 100
    assert compare_target(dt.date(2026, 11, 1), None, 15) == dt.date(2026, 11, 16)
    assert compare_target(dt.date(2026, 11, 1), None, 10**9) == dt.date.max  # saturates, never raises


def test_a_comparison_between_fields_reads_in_both_languages() -> None:
    assert describe_compare("client.credit_requested", "gt", "client.funding_need", 1.2) == (
        "client.credit_requested > client.funding_need × 1.2")
    assert describe_compare("interaction.closed_date", "gt", "interaction.due_date", plus=15, days=True,
                            lang="zh") == "interaction.closed_date 大于 interaction.due_date + 15 天"
    assert describe_compare("client.a", "le", "client.b", unknown="match").endswith("(unknown: match)")
