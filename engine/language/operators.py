"""The comparison operators of the rule language, each defined once.

A field condition ``client.days_since_last_visit: {gt: 30}`` applies one or more operators to one
field. For every operator this table says, in one place:

* what its operand is (one value, a list, a ``[low, high]`` pair, a number of days, a flag);
* which field types it applies to (the checker refuses others);
* its test on one value (the per-record evaluator, the why-not explainer, static analysis) and on
  a column of values (the portfolio batch), which must agree (``tests/engine/language/test_operators.py``);
* what it does with a **missing value**: every operator fails on a missing value except
  ``present: false`` (so ``not`` of a comparison holds when the value is missing);
* how a person reads it, in Chinese and English.

A field condition may say itself what a missing value counts as, with ``unknown`` beside its
operators (:data:`UNKNOWN`): ``match`` (the condition holds), ``no_match`` (it fails) or ``ask`` (it
fails, and the decision asks for the value under ``to_confirm`` when missing values are all that
keep the rule from firing). Without ``unknown`` the operators decide, as above, and nothing asks.
:func:`field_holds` and :func:`field_column_holds` apply a whole field condition, ``unknown``
included, to one value and to a column.

Day arithmetic (``in_next_days``, ``older_than_days``) is :func:`engine.language.values.shift`, which
saturates at the ends of the calendar, so no as-of date or offset can overflow it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, get_args

from rm_advisor.engine.language.values import shift

if TYPE_CHECKING:  # the batch form loads pandas; the per-record form never does
    import pandas as pd

Operand = Literal["value", "values", "range", "days", "flag"]
#: what a missing value counts as in one field condition (``unknown:`` beside its operators)
Unknown = Literal["match", "no_match", "ask"]
#: each ``unknown`` mode and what it means, for rule authors (the JSON Schema of rule files shows it)
UNKNOWN: dict[Unknown, str] = {
    "match": "a missing value counts as meeting the condition",
    "no_match": "a missing value counts as failing the condition",
    "ask": "a missing value counts as failing the condition, and the decision asks for it (to_confirm) when missing "
           "values are all that keep the rule from firing",
}
#: each mode as a trace or an explanation says it: "unknown, counted as ..."
UNKNOWN_TEXT: dict[str, tuple[str, str]] = {"match": ("match", "满足"), "no_match": ("no match", "不满足")}
ORDERED_TYPES = frozenset({"integer", "number", "date"})

#: a test of one present value: (value, operand, as-of date) -> holds
Scalar = Callable[[Any, Any, dt.date], bool]
#: a test of a column of present values: (values, operand, as-of day) -> boolean Series
Vector = Callable[["pd.Series", Any, "pd.Timestamp"], "pd.Series"]


@dataclass(frozen=True)
class Operator:
    """One comparison operator of the rule language."""

    name: str
    operand: Operand
    #: field types it applies to; None: any type
    types: frozenset[str] | None
    scalar: Scalar
    vector: Vector
    #: how a person reads ``field <op> operand``: ``{arg}`` is the operand as written
    en: str
    zh: str
    #: what it tests, for rule authors (the JSON Schema of rule files shows it)
    meaning: str = ""
    #: for a threshold: which side of it passes ("above", "below", "within", "older"), else ""
    direction: str = ""

    @property
    def relative(self) -> bool:
        """Counts days from the as-of date (the same test on another day gives another answer)."""
        return self.operand == "days"

    def holds(self, value: Any, arg: Any, as_of: dt.date) -> bool:
        """Whether ``value`` (None when missing) passes this operator with operand ``arg``."""
        if value is None:
            return self.on_missing(arg)
        return self.scalar(value, arg, as_of)

    def on_missing(self, arg: Any) -> bool:
        """The result for a missing value: false, except ``present: false``."""
        return self.name == "present" and arg is False

    def describe(self, arg_text: str, lang: Literal["en", "zh"] = "en", arg: Any = None) -> str:
        """``{arg}`` filled in; ``present`` reads by its flag."""
        if self.name == "present":
            given = arg if isinstance(arg, bool) else arg_text == "true"
            return ("is given" if given else "is missing") if lang == "en" else ("已填写" if given else "未填写")
        return (self.en if lang == "en" else self.zh).format(arg=arg_text)


def _stamp_shift(day: pd.Timestamp, days: int) -> pd.Timestamp:
    """:func:`engine.language.values.shift` for a column's timestamps, held inside pandas' range (1677-2262)."""
    import pandas as pd

    moved = shift(day.date(), days)
    first, last = (pd.Timestamp.min + pd.Timedelta(days=1)).date(), pd.Timestamp.max.date()
    return pd.Timestamp(min(max(moved, first), last))


def _between(v: Any, arg: Any, _: dt.date) -> bool:
    low, high = arg
    return bool(low <= v <= high)


def _vbetween(s: pd.Series, arg: Any, _: pd.Timestamp) -> pd.Series:
    return s.between(arg[0], arg[1])


def _in_next(v: Any, days: int, as_of: dt.date) -> bool:
    return bool(as_of <= v <= shift(as_of, days))


def _vin_next(s: pd.Series, days: int, day: pd.Timestamp) -> pd.Series:
    return (s >= day) & (s <= _stamp_shift(day, days))


def _older(v: Any, days: int, as_of: dt.date) -> bool:
    return bool(v < shift(as_of, -days))


def _volder(s: pd.Series, days: int, day: pd.Timestamp) -> pd.Series:
    return s < _stamp_shift(day, -days)


_TABLE = (
    Operator("eq", "value", None, lambda v, a, _: bool(v == a), lambda s, a, _: s == a,
             en="== {arg}", zh="等于 {arg}", meaning="equal to"),
    Operator("ne", "value", None, lambda v, a, _: bool(v != a), lambda s, a, _: s != a,
             en="!= {arg}", zh="不等于 {arg}", meaning="not equal to (false when the value is missing)"),
    Operator("gt", "value", ORDERED_TYPES, lambda v, a, _: bool(v > a), lambda s, a, _: s > a,
             en="> {arg}", zh="大于 {arg}", meaning="greater than (numbers, dates)", direction="above"),
    Operator("ge", "value", ORDERED_TYPES, lambda v, a, _: bool(v >= a), lambda s, a, _: s >= a,
             en=">= {arg}", zh="不小于 {arg}", meaning="greater than or equal", direction="above"),
    Operator("lt", "value", ORDERED_TYPES, lambda v, a, _: bool(v < a), lambda s, a, _: s < a,
             en="< {arg}", zh="小于 {arg}", meaning="less than", direction="below"),
    Operator("le", "value", ORDERED_TYPES, lambda v, a, _: bool(v <= a), lambda s, a, _: s <= a,
             en="<= {arg}", zh="不大于 {arg}", meaning="less than or equal", direction="below"),
    Operator("between", "range", ORDERED_TYPES, _between, _vbetween,
             en="between {arg}", zh="介于 {arg}", meaning="inclusive range [low, high]"),
    Operator("in", "values", None, lambda v, a, _: v in a, lambda s, a, _: s.isin(list(a)),
             en="in {arg}", zh="属于 {arg}", meaning="one of these values"),
    Operator("not_in", "values", None, lambda v, a, _: v not in a, lambda s, a, _: ~s.isin(list(a)),
             en="not in {arg}", zh="不属于 {arg}", meaning="none of these values"),
    Operator("present", "flag", None, lambda v, a, _: bool(a), lambda s, a, _: s.notna() if a else s.isna(),
             en="is given", zh="已填写", meaning="true: the value is given; false: it is missing"),
    Operator("in_next_days", "days", frozenset({"date"}), _in_next, _vin_next,
             en="within the next {arg} days", zh="在今后 {arg} 天内",
             meaning="a date from the as-of date up to N days after it", direction="within"),
    Operator("older_than_days", "days", frozenset({"date"}), _older, _volder,
             en="more than {arg} days ago", zh="早于 {arg} 天前",
             meaning="a date more than N days before the as-of date", direction="older"),
)

#: every operator by its YAML name, in the order the rule language documents them
OPERATORS: dict[str, Operator] = {op.name: op for op in _TABLE}


def operator(name: str) -> Operator:
    """The operator called ``name``; ``ValueError`` for any other name."""
    try:
        return OPERATORS[name]
    except KeyError:
        raise ValueError(f"unknown operator {name}") from None


def holds(name: str, value: Any, arg: Any, as_of: dt.date) -> bool:
    """Whether ``value`` (None when missing) passes operator ``name`` with operand ``arg``."""
    return operator(name).holds(value, arg, as_of)


def column_holds(name: str, col: pd.Series, arg: Any, as_of: dt.date) -> pd.Series:
    """The batch form of :func:`holds` over a column (missing values as NA): a boolean Series."""
    import numpy as np
    import pandas as pd

    op = operator(name)
    present = col.notna().to_numpy(dtype=bool)
    if op.name == "present":
        return pd.Series(present if arg else ~present, index=col.index)
    if pd.api.types.is_datetime64_any_dtype(col):
        arg = _as_stamps(arg)
    out = np.zeros(len(col), dtype=bool)
    if present.any():
        res = op.vector(col[present], arg, pd.Timestamp(as_of))
        out[present] = res.fillna(False).to_numpy(dtype=bool)
    return pd.Series(out, index=col.index)


def _as_stamps(arg: Any) -> Any:
    import pandas as pd

    if isinstance(arg, (list, tuple)):
        return type(arg)(_as_stamps(a) for a in arg)
    if isinstance(arg, dt.date):
        return pd.Timestamp(arg)
    return arg


def field_holds(tests: list[tuple[Operator, Any]], value: Any, as_of: dt.date, unknown: Unknown | None = None) -> bool:
    """Whether a field condition (its operators with their operands, and its ``unknown`` mode)
    holds for ``value`` (None when missing)."""
    if value is None and unknown is not None:
        return unknown == "match"
    return all(op.holds(value, arg, as_of) for op, arg in tests)


def on_missing(ops: dict[str, Any], unknown: Unknown | None = None) -> bool:
    """What a field condition gives on a missing value: its ``unknown`` mode, else its operators'."""
    if unknown is not None:
        return unknown == "match"
    return all(operator(op).on_missing(arg) for op, arg in ops.items())


def field_column_holds(ops: dict[str, Any], col: pd.Series, as_of: dt.date,
                       unknown: Unknown | None = None) -> pd.Series:
    """The batch form of :func:`field_holds` over a column (missing values as NA): a boolean Series."""
    import pandas as pd

    mask = pd.Series(True, index=col.index)
    for op, arg in sorted(ops.items()):
        mask &= column_holds(op, col, arg, as_of)
    if unknown is not None:
        missing = col.isna().to_numpy(dtype=bool)
        mask[missing] = unknown == "match"
    return mask


#: the operators a comparison between two fields (``compare:``) may use: one value against another
CompareOp = Literal["eq", "ne", "gt", "ge", "lt", "le"]
COMPARE_OPERATORS: tuple[str, ...] = get_args(CompareOp)


def compare_target(right: Any, times: float | None, plus: float | None) -> Any:
    """The value a ``compare`` tests its left field against: the right field's value, multiplied by
    ``times`` and then moved by ``plus`` (a number, or days for a date); None when the right value is missing."""
    if right is None:
        return None
    if isinstance(right, dt.date):
        return shift(right, int(plus)) if plus else right
    if times is not None:
        right = right * times
    return right + plus if plus else right


def compare_holds(op: str, left: Any, right: Any, as_of: dt.date, times: float | None = None,
                  plus: float | None = None, unknown: Unknown | None = None) -> bool:
    """Whether ``left <op> right * times + plus`` holds (each None when missing). A missing value on
    either side counts as ``unknown`` says; without it the comparison fails, as every operator does."""
    target = compare_target(right, times, plus)
    if left is None or target is None:
        return unknown == "match"
    return operator(op).scalar(left, target, as_of)


def compare_column_holds(op: str, left: pd.Series, right: pd.Series, as_of: dt.date, times: float | None = None,
                         plus: float | None = None, unknown: Unknown | None = None) -> pd.Series:
    """The batch form of :func:`compare_holds` over two aligned columns (missing values as NA)."""
    import numpy as np
    import pandas as pd

    present = (left.notna() & right.notna()).to_numpy(dtype=bool)
    out = np.full(len(left), unknown == "match", dtype=bool)
    if present.any():
        lhs, rhs = left[present], right[present]
        if pd.api.types.is_datetime64_any_dtype(rhs):
            # one day at a time through :func:`shift`, as a single decision moves it: it saturates
            target = rhs.map(lambda d: _stamp_shift(d, int(plus))) if plus else rhs
        else:
            target = rhs.astype("float64") * times if times is not None else rhs
            target = target + plus if plus else target
        res = operator(op).vector(lhs, target, pd.Timestamp(as_of))
        out[present] = res.fillna(False).to_numpy(dtype=bool)
    return pd.Series(out, index=left.index)


def describe_compare(left: str, op: str, right: str, times: Any = None, plus: Any = None, days: bool = False,
                     unknown: Unknown | None = None, lang: Literal["en", "zh"] = "en") -> str:
    """A comparison between fields as a reader says it: ``client.credit_requested > client.funding_need × 1.2``
    (``days``: ``plus`` moves a date by that many days); a ``$parameter`` is shown as written."""
    target = right + (f" × {show(times)}" if times is not None else "")
    if plus is not None:
        target += f" + {show(plus)}" + ((" days" if lang == "en" else " 天") if days else "")
    text = f"{left} {operator(op).describe(target, lang)}"
    return f"{text} (unknown: {unknown})" if unknown else text


def describe(ref: str, ops: tuple[tuple[str, Any, Any], ...], unknown: Unknown | None = None) -> str:
    """A field condition as a reader says it: ``client.days_since_last_visit > $visit_interval_days_a (7)``;
    an ``unknown`` mode is said after it (``client.tier != strategic (unknown: match)``)."""
    text = " and ".join(f"{ref} {describe_op(op, written, arg)}" for op, written, arg in ops)
    return f"{text} (unknown: {unknown})" if unknown else text


def counted(holds: bool, lang: Literal["en", "zh"] = "en") -> str:
    """"unknown, counted as match" / "未知，按满足计": what a missing value counted as."""
    en, zh = UNKNOWN_TEXT["match" if holds else "no_match"]
    return f"unknown, counted as {en}" if lang == "en" else f"未知，按{zh}计"


def describe_op(op: str, written: Any, arg: Any, lang: Literal["en", "zh"] = "en") -> str:
    """One operator with its operand as a reader says it; a ``$parameter`` shows its value too."""
    shown = show(arg) if written == arg else f"{show(written)} ({show(arg)})"
    return operator(op).describe(shown, lang, arg)


def show(value: Any) -> str:
    """A value as YAML would write it."""
    if value is None:
        return "(missing)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(show(v) for v in value) + "]"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
