"""Segments and scoring schemes as data (``knowledge_base/scoring.yaml``), computed with pandas.

* A **segmentation** turns rated inputs into a class: the tobacco ABC classification scores a
  retailer's business scale, business ability, credit standing and social relations and cuts the
  sum into A, B and C.
* A **scoring scheme** turns manager events into points: the tobacco monthly 100-point assessment
  (three-level inspection findings deduct points) and the credit-cooperative points table (+2 per
  designated account, −1 per 50,000 RMB overdue, −10 per account with interest unpaid past 15 days...).
* A **grade ladder** lists the grades an institution uses, lowest first.

Numbers the documents give are written in the file with their quote; numbers they do not give are
``$parameters`` from ``parameters.yaml``. The results become fact fields (``client.client_class``,
``manager.assessment_score``, ``manager.credit_coop_points``) that rules test like any other field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal, overload

from pydantic import Field, model_validator

from engine.knowledge import ID_PATTERN, ParameterValue, Provenance, Strict, Text
from engine.values import shift

if TYPE_CHECKING:
    import pandas as pd

Number = float | int | str  # a number or a `$parameter` reference
Period = Literal["month", "quarter", "year", "days_90", "all"]
Params = Mapping[str, ParameterValue]  # parameter name -> value, from parameters.yaml


class ClassCut(Strict):
    """A class and the least total points that earn it (the last class takes the rest)."""

    value: str
    min_points: Number | None = None


class Segmentation(Strict):
    """Rated inputs → points → a class, e.g. the tobacco ABC classification."""

    id: str = Field(pattern=ID_PATTERN)
    title: Text
    subject: Literal["client"] = "client"
    field: str = Field(description="the fact field the class is written to")
    domain: str
    inputs: dict[str, dict[str, Number]] = Field(description="input field -> value -> points")
    classes: tuple[ClassCut, ...] = Field(min_length=2, description="best class first")
    provenance: Provenance

    @model_validator(mode="after")
    def _cuts_have_points(self) -> Segmentation:
        # without min_points a class above the last could never be given
        missing = [c.value for c in self.classes[:-1] if c.min_points is None]
        if missing:
            raise ValueError(f"every class but the last needs min_points: {', '.join(missing)}")
        return self


class Match(Strict):
    """Which events an item counts."""

    kind: str
    item: str | None = None
    status: str | None = None


class ScoreItem(Strict):
    """Points per unit of matching events: per event, per client (account), or per amount step."""

    id: str = Field(pattern=ID_PATTERN)
    title: Text
    match: Match
    points: Number
    per: Literal["event", "client", "amount"] = "event"
    amount_step: Number | None = Field(default=None, description="for per=amount: points per this much")
    min_age_days: Number | None = Field(default=None, description="only events older than this (days)")
    open_only: bool = Field(default=False, description="count events still open, whatever their date")
    provenance: Provenance

    @model_validator(mode="after")
    def _amount_has_step(self) -> ScoreItem:
        if self.per == "amount" and self.amount_step is None:
            raise ValueError("per: amount needs amount_step")
        return self


class ScoringScheme(Strict):
    """A points scheme over a manager's events in a period, written to a manager field."""

    id: str = Field(pattern=ID_PATTERN)
    title: Text
    subject: Literal["manager"] = "manager"
    field: str
    domain: str
    base: Number = 0
    minimum: Number | None = None
    maximum: Number | None = None
    period: Period = "month"
    levels: tuple[Text, ...] = Field(default=(), description="inspection levels that report findings")
    items: tuple[ScoreItem, ...] = Field(min_length=1)
    deductions: dict[str, tuple[str, ...]] = Field(
        default_factory=dict, description="field -> item ids whose lost points it totals (as a positive number)")
    provenance: Provenance


class Grade(Strict):
    id: str = Field(pattern=ID_PATTERN)
    title: Text


class GradeLadder(Strict):
    """An institution's manager grades, lowest first."""

    id: str = Field(pattern=ID_PATTERN)
    title: Text
    domain: str
    grades: tuple[Grade, ...] = Field(min_length=2)
    provenance: Provenance


class ScoringFile(Strict):
    segmentations: tuple[Segmentation, ...] = ()
    schemes: tuple[ScoringScheme, ...] = ()
    ladders: tuple[GradeLadder, ...] = ()


@overload
def resolve_number(value: Number, params: Params) -> float: ...


@overload
def resolve_number(value: Number | None, params: Params) -> float | None: ...


def resolve_number(value: Number | None, params: Params) -> float | None:
    """A number, or the value of the ``$parameter`` it names."""
    if isinstance(value, str):
        return float(params[value.removeprefix("$")])
    return None if value is None else float(value)


def period_start(period: Period, as_of: dt.date) -> dt.date | None:
    """First day of the period that contains ``as_of`` (None: no lower bound)."""
    if period == "month":
        return as_of.replace(day=1)
    if period == "quarter":
        return as_of.replace(month=(as_of.month - 1) // 3 * 3 + 1, day=1)
    if period == "year":
        return as_of.replace(month=1, day=1)
    if period == "days_90":
        return shift(as_of, -89)
    return None


def segment(clients: pd.DataFrame, seg: Segmentation, params: Params) -> pd.Series:
    """The class of every client whose inputs are all present (others keep no class: NaN)."""
    import numpy as np
    import pandas as pd

    total = pd.Series(0.0, index=clients.index)
    known = pd.Series(True, index=clients.index)
    for field, points in seg.inputs.items():
        if field not in clients:
            return pd.Series(np.nan, index=clients.index, dtype=object)
        mapped = clients[field].map({k: resolve_number(v, params) for k, v in points.items()})
        known &= mapped.notna()
        total += mapped.fillna(0.0)
    out = pd.Series(seg.classes[-1].value, index=clients.index, dtype=object)
    for cut in reversed(seg.classes[:-1]):
        threshold = resolve_number(cut.min_points, params)
        if threshold is not None:  # always set: Segmentation requires it on every class but the last
            out = out.mask(total >= threshold, cut.value)
    return out.where(known, np.nan)


def score(events: pd.DataFrame, managers: pd.Index, scheme: ScoringScheme, as_of: dt.date,
          params: Params) -> tuple[pd.Series, pd.DataFrame]:
    """A scheme's total per manager, and the points of each item per manager (for explanations).

    ``events`` needs columns manager_id, client_id, kind, date, and as used: item, status, amount.
    Events after ``as_of`` are ignored, so a run is reproducible from its as-of date.
    """
    import pandas as pd

    start = period_start(scheme.period, as_of)
    ev = events[events["date"] <= pd.Timestamp(as_of)] if len(events) else events
    parts = {}
    for item in scheme.items:
        parts[item.id] = _item_points(ev, item, start, as_of, params).reindex(managers, fill_value=0.0)
    table = pd.DataFrame(parts, index=managers).fillna(0.0)
    total = resolve_number(scheme.base, params) + table.sum(axis=1)
    low, high = resolve_number(scheme.minimum, params), resolve_number(scheme.maximum, params)
    return total.clip(lower=low, upper=high), table


def _item_points(ev: pd.DataFrame, item: ScoreItem, start: dt.date | None, as_of: dt.date,
                 params: Params) -> pd.Series:
    import pandas as pd

    if not len(ev):
        return pd.Series(dtype=float)
    mask = ev["kind"] == item.match.kind
    if item.match.item is not None:
        mask &= ev.get("item", pd.Series(index=ev.index, dtype=object)) == item.match.item
    if item.match.status is not None and not item.open_only:
        mask &= ev.get("status", pd.Series(index=ev.index, dtype=object)) == item.match.status
    if item.open_only:  # open on the as-of date: marked open, or closed only after it
        closed = ev.get("closed_date", pd.Series(pd.NaT, index=ev.index, dtype="datetime64[ns]"))
        mask &= (ev.get("status", pd.Series(index=ev.index, dtype=object)) == "open") | (closed > pd.Timestamp(as_of))
    elif start is not None:
        mask &= ev["date"] >= pd.Timestamp(start)
    if item.min_age_days is not None:
        mask &= ev["date"] < pd.Timestamp(shift(as_of, -resolve_number(item.min_age_days, params)))
    hits = ev[mask]
    points = resolve_number(item.points, params)
    grouped = hits.groupby("manager_id")
    if item.per == "client":
        units = grouped["client_id"].nunique()
    elif item.per == "amount":  # per loan: each overdue loan counts its own whole steps
        if item.amount_step is None:  # not reached: ScoreItem requires the step with per=amount
            raise ValueError(f"scoring item {item.id}: per amount needs amount_step")
        step = resolve_number(item.amount_step, params)
        units = hits.assign(units=hits["amount"].fillna(0).floordiv(step)).groupby("manager_id")["units"].sum()
    else:
        units = grouped.size()
    return (units * points).astype(float)
