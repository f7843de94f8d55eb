"""Deadlines ahead, each part defined once: the semantics of ``deadline`` conditions.

A ``deadline`` condition (:mod:`engine.language.rules`) places a deadline day from one field and
holds when that day is between the as-of date and ``within_days`` after it: a threshold that will be
crossed soon, while acting still saves what crossing it costs. This module says, per value (the
per-record evaluator, the why-not explainer) and per column (the portfolio batch), how many days are
left; a property test requires the two to agree (``tests/engine/language/test_deadlines.py``).

* **Three ways to place the deadline.** ``due: client.agreement_expiry`` — a date field that is the
  deadline itself; ``since: fact.date_field`` with ``after_days: N`` — the clock started on that date
  and the deadline is N days later; ``elapsed: client.interest_unpaid_days`` with ``after_days: N`` —
  the days already counted, so N minus them are left. ``after_days`` may come from a threshold of
  the knowledge base (``threshold:``, ``knowledge_base/thresholds.yaml``), which also says what
  crossing it costs (points, money, a legal right).
* **Days left** is the deadline day minus the as-of date: 0 when the deadline is today (the last day
  to act), negative once it has passed. The condition holds when ``0 <= days left <= within_days``.
  Day arithmetic is :func:`engine.language.values.shift`, which saturates at the calendar's ends.
* **A missing value** (no date, no count) places no deadline: the condition fails, unless
  ``unknown: match`` says it holds (with no days left to show, so a reason needs a fallback for
  ``{deadline.days_left}``); ``not`` of a failed deadline holds (the checker warns).
* **Reason templates** of a rule with a ``deadline`` condition as a top-level conjunct (or at the
  top of a top-level ``exists``'s ``where``) may use ``{deadline.days_left}``, ``{deadline.date}``
  and, with a threshold, ``{deadline.cost}`` and ``{deadline.threshold}``: the deadline that held
  with the fewest days left.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, get_args

from rm_advisor.engine.language.values import shift

if TYPE_CHECKING:  # the batch form loads pandas; the per-record form never does
    import pandas as pd

    from rm_advisor.engine.language.knowledge import KnowledgeBase, Text
    from rm_advisor.engine.language.rules import DeadlineSpec

Basis = Literal["due", "since", "elapsed"]
BASES: tuple[str, ...] = get_args(Basis)
#: what each way of placing the deadline means, for rule authors (the JSON Schema shows it)
MEANING: dict[str, str] = {
    "due": "a date field that is the deadline itself (an expiry, the end of a period)",
    "since": "a date field on which the clock started; the deadline is `after_days` later",
    "elapsed": "a whole-number field of days already counted; `after_days` minus it are left",
}
#: the placeholders a reason may use beside a deadline, and what they show
PLACEHOLDERS: dict[str, str] = {
    "days_left": "days from the as-of date to the deadline (0: today)",
    "date": "the deadline day",
    "cost": "what crossing the threshold costs, from the knowledge base (needs `threshold:`)",
    "threshold": "the threshold's title, from the knowledge base (needs `threshold:`)",
}
_EPOCH = dt.date(1970, 1, 1)
#: the prefix of the trace keys a firing keeps for its reason's ``{deadline.*}`` placeholders
TRACE_KEY = "deadline:"
#: how a trace names the days left of a deadline condition (``days left: client.x reaches 15 ...``)
DAYS_LEFT = "days left: "


def days_left(basis: str, value: Any, after_days: int, as_of: dt.date) -> int | None:
    """Days from ``as_of`` to the deadline ``value`` places (None when the value is missing)."""
    if value is None:
        return None
    if basis == "elapsed":
        return after_days - int(value)
    day = value if basis == "due" else shift(value, after_days)
    return (day - as_of).days


def deadline_holds(left: int | None, within_days: int, unknown: str | None = None) -> bool:
    """The deadline is from today up to ``within_days`` ahead; a missing one counts as ``unknown`` says."""
    if left is None:
        return unknown == "match"
    return 0 <= left <= within_days


def deadline_day(left: int, as_of: dt.date) -> dt.date:
    """The deadline day ``left`` days after ``as_of``."""
    return shift(as_of, left)


def days_left_column(basis: str, col: pd.Series, after_days: int, as_of: dt.date) -> pd.Series:
    """:func:`days_left` for a column (missing values as NA): a nullable integer Series."""
    import pandas as pd

    present = col.notna()
    out = pd.Series(pd.NA, index=col.index, dtype="Int64")
    if not present.any():
        return out
    values = col[present]
    if basis == "elapsed":
        out[present] = after_days - values.astype("float64").astype("int64")
    elif basis == "due":  # in whole days: a difference in nanoseconds overflows past 292 years
        days = values.to_numpy().astype("datetime64[D]").astype("int64")
        out[present] = days - (as_of - _EPOCH).days
    else:  # one day at a time through :func:`shift`, as a single decision moves it: it saturates
        out[present] = values.map(lambda d: days_left("since", d.date(), after_days, as_of)).astype("int64")
    return out


def deadline_column_holds(left: pd.Series, within_days: int, unknown: str | None = None) -> pd.Series:
    """The batch form of :func:`deadline_holds` over a column of days left."""
    import numpy as np
    import pandas as pd

    present = left.notna().to_numpy(dtype=bool)
    out = np.full(len(left), unknown == "match", dtype=bool)
    if present.any():
        values = left[present].astype("int64")
        out[present] = ((values >= 0) & (values <= within_days)).to_numpy(dtype=bool)
    return pd.Series(out, index=left.index)


def describe_deadline(basis: str, ref: str, after: str, within: str, lang: Literal["en", "zh"] = "en") -> str:
    """A deadline as a reader says it: ``client.interest_unpaid_days reaches 15 within the next 4 days``
    (``after`` and ``within`` as written, a ``$parameter`` with its value)."""
    if lang == "zh":
        what = {"due": f"{ref}", "since": f"{ref}起第{after}天", "elapsed": f"{ref}达到{after}"}[basis]
        return f"{what}在今后{within}天内"
    what = {"due": ref, "since": f"{ref} + {after} days", "elapsed": f"{ref} reaches {after}"}[basis]
    return f"{what} within the next {within} days"


def deadline_operands(spec: DeadlineSpec, kb: KnowledgeBase) -> tuple[int, int]:
    """``after_days`` (the threshold's days when not given; 0 for ``due``) and ``within_days`` of a
    ``deadline``, their ``$parameters`` resolved."""
    from rm_advisor.engine.language.knowledge import resolve_count

    if spec.after_days is not None:
        after = resolve_count(spec.after_days, kb)
    elif spec.threshold is not None and spec.basis != "due":
        after = resolve_count(kb.thresholds[spec.threshold].days, kb)
    else:
        after = 0
    return after, resolve_count(spec.within_days, kb)


def deadline_key(spec: DeadlineSpec, kb: KnowledgeBase, lang: Literal["en", "zh"] = "en") -> str:
    """A ``deadline`` as a reader (and a trace) names it: ``client.interest_unpaid_days reaches 15 within
    the next 4 days``; a ``$parameter`` shows its value."""
    def shown(written: Any) -> str:
        param = kb.parameters.get(written[1:]) if isinstance(written, str) and written.startswith("$") else None
        return f"{written} ({param.value})" if param is not None else str(written)

    threshold = kb.thresholds.get(spec.threshold) if spec.threshold is not None else None
    if spec.after_days is not None:
        after = shown(spec.after_days)
    elif threshold is not None:
        after = shown(threshold.days)
    else:
        after = f"{spec.threshold}" if spec.threshold is not None else "0"
    return describe_deadline(spec.basis, spec.ref, after, shown(spec.within_days), lang)


def placeholder_values(matched: Mapping[str, Any], kb: KnowledgeBase) -> dict[str, Any]:
    """The ``{deadline.*}`` values of a firing's reason, from its match trace: the deadline that held
    with the fewest days left (``cost`` and ``threshold`` as texts in both languages)."""
    left = matched.get(TRACE_KEY + "days_left")
    if left is None:
        return {}
    out: dict[str, Any] = {"days_left": left, "date": matched.get(TRACE_KEY + "date")}
    threshold = kb.thresholds.get(str(matched.get(TRACE_KEY + "threshold")))
    if threshold is not None:
        cost: Text = threshold.cost.text
        out |= {"cost": cost, "threshold": threshold.title}
    return out


def record(trace: dict[str, Any], left: int, as_of: dt.date, threshold: str | None) -> None:
    """Keep a deadline that held in a match trace, when it has fewer days left than one kept before."""
    kept = trace.get(TRACE_KEY + "days_left")
    if kept is not None and kept <= left:
        return
    trace[TRACE_KEY + "days_left"] = left
    trace[TRACE_KEY + "date"] = deadline_day(left, as_of)
    if threshold is not None:
        trace[TRACE_KEY + "threshold"] = threshold
    else:
        trace.pop(TRACE_KEY + "threshold", None)
