"""Aggregates over a subject's dated events, each defined once: the semantics of ``events`` conditions.

An ``events`` condition (:mod:`engine.language.rules`) takes the subject's history events (every
interaction posted for the client or the manager, open or closed) that match its ``where``, keeps
those dated inside its window, and compares one aggregate of them with operators. This module
says, for each aggregate, what it is of a list of events (the per-record evaluator, the why-not
explainer) and of a table of events grouped by subject (the portfolio batch); a property test
requires the two to agree (``tests/engine/language/test_aggregates.py``).

* **The window.** ``within_days: N`` keeps events dated from N days before the as-of date up to
  the as-of date, both included ("in the last 30 days"); without it, every event up to the as-of
  date. Events dated after the as-of date never count (the decision is taken on that day), and an
  event without a date cannot be placed in time, so it never counts either.
* **No events is a value.** ``count`` and ``sum`` of no events are 0. ``min``, ``max``, ``latest``
  and ``days_since_latest`` of no events are *never*: the condition's ``never:`` says what that
  counts as (``match`` or ``no_match``); without it, *never* fails every comparison, as a missing
  value does (so ``not`` of it holds). "No visit in the last 30 days, never visited included" is
  ``days_since_latest: {gt: 30}`` with ``never: match``.
* ``sum``, ``min`` and ``max`` skip events without a value of ``of``; ``latest`` is the value of
  ``of`` on the latest event (by date, then id), missing when that event has none.
* A ``sum`` of numbers is rounded to 6 decimals on both paths (pandas adds with compensation,
  Python one by one; without rounding, a threshold met exactly could pass on one path only).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, get_args

from rm_advisor.engine.language.values import shift

if TYPE_CHECKING:  # the batch form loads pandas; the per-record form never does
    import pandas as pd

    from rm_advisor.engine.language.knowledge import KnowledgeBase
    from rm_advisor.engine.language.rules import Condition, EventsSpec

Aggregate = Literal["count", "sum", "min", "max", "latest", "days_since_latest"]
AGGREGATES: tuple[str, ...] = get_args(Aggregate)
#: the aggregates that need ``of`` (the field they aggregate)
NEEDS_OF = frozenset({"sum", "min", "max", "latest"})
#: the aggregates that are *never* when there is no event
CAN_BE_NEVER = frozenset({"min", "max", "latest", "days_since_latest"})
#: what each aggregate is, for rule authors (the JSON Schema of rule files shows it)
MEANING: dict[str, str] = {
    "count": "how many matching events (0 when none)",
    "sum": "the sum of `of` over the matching events (0 when none)",
    "min": "the least value of `of` (never when no event has one)",
    "max": "the greatest value of `of` (never when no event has one)",
    "latest": "the value of `of` on the latest matching event (never when none)",
    "days_since_latest": "days from the latest matching event to the as-of date (never when none)",
}
#: how a person reads each aggregate: ``{of}`` is the field
TEXT: dict[str, tuple[str, str]] = {
    "count": ("count", "次数"), "sum": ("sum of {of}", "{of}合计"), "min": ("least {of}", "{of}最小值"),
    "max": ("greatest {of}", "{of}最大值"), "latest": ("latest {of}", "最近一次的{of}"),
    "days_since_latest": ("days since the latest", "距最近一次天数"),
}
SUM_DECIMALS = 6


def window_start(as_of: dt.date, within_days: int | None) -> dt.date | None:
    """The first day a window keeps (None: no lower bound); saturates at the calendar's start."""
    return None if within_days is None else shift(as_of, -within_days)


def in_window(date: Any, as_of: dt.date, start: dt.date | None) -> bool:
    """An event's date is inside the window: dated, not after the as-of date, not before its start."""
    return isinstance(date, dt.date) and date <= as_of and (start is None or start <= date)


def aggregate(name: str, events: Sequence[tuple[dt.date, str, Any]], as_of: dt.date) -> Any:
    """The aggregate of events given as (date, id, value of ``of``) inside the window; None is *never*
    (or a missing ``latest``)."""
    if name == "count":
        return len(events)
    if name == "days_since_latest":
        return (as_of - max(d for d, _, _ in events)).days if events else None
    if name == "latest":
        return max(events, key=lambda e: (e[0], e[1]))[2] if events else None
    values = [v for _, _, v in events if v is not None]
    if name == "sum":
        total = sum(values)
        if isinstance(total, float):
            import numpy as np  # numpy's rounding, which pandas rounds with

            return float(np.round(total, SUM_DECIMALS))
        return total
    if not values:
        return None
    return min(values) if name == "min" else max(values)


def aggregate_column(name: str, events: pd.DataFrame, owners: pd.Index, as_of: dt.date) -> pd.Series:
    """:func:`aggregate` for every subject at once: ``events`` holds the events inside the window with
    columns ``owner`` (the subject's id as text), ``date`` (datetime64), ``id`` (text) and ``value``;
    the result is indexed by ``owners``, NA for *never*."""
    import pandas as pd

    if name == "count":
        counts = events.groupby("owner").size() if len(events) else pd.Series(dtype="int64")
        return counts.reindex(owners, fill_value=0).astype("int64")
    if not len(events):
        if name == "sum":
            return pd.Series(0, index=owners, dtype="int64")
        return pd.Series(pd.NA, index=owners, dtype=object)
    if name == "days_since_latest":
        latest: pd.Series = events.groupby("owner")["date"].max()
        days: pd.Series = (pd.Timestamp(as_of) - latest).dt.days.astype("Int64")
        return days.reindex(owners)
    if name == "latest":
        last: pd.Series = events.sort_values(["date", "id"]).drop_duplicates("owner", keep="last").set_index(
            "owner")["value"]
        return last.reindex(owners)
    grouped = events.groupby("owner")["value"]
    if name == "sum":
        total = grouped.sum(min_count=0)
        if pd.api.types.is_float_dtype(total):
            total = total.round(SUM_DECIMALS)
        return total.reindex(owners, fill_value=0)
    found = grouped.min() if name == "min" else grouped.max()
    return found.reindex(owners)


def describe_aggregate(name: str, of: str | None, where: str, within_days: Any,
                       lang: Literal["en", "zh"] = "en") -> str:
    """An aggregate as a reader says it: ``count of interaction (kind == visit) in the last 30 days``."""
    en, zh = TEXT[name]
    what = (en if lang == "en" else zh).format(of=of or "")
    scope = f" of events ({where})" if lang == "en" and where else f"(事件:{where})" if where else ""
    window = "" if within_days is None else (
        f" in the last {within_days} days" if lang == "en" else f",近{within_days}天内")
    return f"{what}{scope}{window}"


def events_key(spec: EventsSpec, kb: KnowledgeBase, lang: Literal["en", "zh"] = "en") -> str:
    """An ``events`` condition's aggregate as a reader (and a trace) names it:
    ``count of events (interaction.kind == visit) in the last 30 days``."""
    where = condition_text(spec.where, kb) if spec.where is not None else ""
    return describe_aggregate(spec.aggregate, spec.of, where, spec.within_days, lang)


def condition_text(cond: Condition, kb: KnowledgeBase) -> str:
    """A condition tree as one line (``interaction.kind == call and interaction.status == open``): two
    different trees never read alike."""
    from rm_advisor.engine.language.knowledge import resolve
    from rm_advisor.engine.language.operators import describe, describe_compare
    from rm_advisor.engine.language.rules import AllCond, AnyCond, CompareCond, FieldCond, NotCond
    from rm_advisor.engine.language.walk import children

    if isinstance(cond, FieldCond):
        return describe(cond.ref, tuple((op, v, resolve(v, kb)) for op, v in sorted(cond.ops.items())), cond.unknown)
    if isinstance(cond, (AllCond, AnyCond)):
        joint = " and " if isinstance(cond, AllCond) else " or "
        parts = [condition_text(c, kb) for c, _ in children(cond)]
        return parts[0] if len(parts) == 1 else "(" + joint.join(parts) + ")"
    if isinstance(cond, NotCond):
        return f"not ({condition_text(cond.not_, kb)})"
    if isinstance(cond, CompareCond):
        c = cond.compare
        return describe_compare(c.left, c.op, c.right, c.times, c.plus, unknown=c.unknown)
    return cond.model_dump_json(by_alias=True, exclude_none=True)


def events_text(spec: EventsSpec, kb: KnowledgeBase) -> str:
    """A whole ``events`` condition as a reader says it: its aggregate, its comparison and ``never:``
    (``count of events (...) in the last 30 days >= 2``)."""
    from rm_advisor.engine.language.knowledge import resolve
    from rm_advisor.engine.language.operators import describe

    ops = tuple((op, v, resolve(v, kb)) for op, v in sorted(spec.test.used().items()))
    text = describe(events_key(spec, kb), ops)
    return f"{text} (never: {spec.never})" if spec.never else text
