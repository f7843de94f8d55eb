"""Segments and scoring schemes (:mod:`engine.language.schemes`) computed with pandas.

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
from typing import TYPE_CHECKING, overload

from rm_advisor.engine.language.knowledge import ParameterValue
from rm_advisor.engine.language.schemes import Number, Period, ScoreItem, ScoringScheme, Segmentation
from rm_advisor.engine.language.values import shift

if TYPE_CHECKING:
    import pandas as pd

Params = Mapping[str, ParameterValue]  # parameter name -> value, from parameters.yaml


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
          params: Params) -> tuple[pd.Series, pd.DataFrame, pd.Series]:
    """A scheme's total per manager, the points of each item per manager (for explanations), and
    the ids of the events that scored, per manager.

    A manager with no event that any item counts in the period has no total (NaN, *unknown*):
    a month without a single inspection says nothing about the manager, it is not a perfect score.
    ``events`` needs columns id, manager_id, client_id, kind, date, and as used: item, status, amount.
    Events after ``as_of`` are ignored, so a run is reproducible from its as-of date.
    """
    import pandas as pd

    start = period_start(scheme.period, as_of)
    ev = events[events["date"] <= pd.Timestamp(as_of)] if len(events) else events
    parts, hits = {}, []
    for item in scheme.items:
        points, matched = _item_points(ev, item, start, as_of, params)
        parts[item.id] = points.reindex(managers, fill_value=0.0)
        hits.append(matched)
    table = pd.DataFrame(parts, index=managers).fillna(0.0)
    scored = pd.concat(hits) if hits else ev.iloc[0:0]
    scored = scored[scored["manager_id"].isin(managers)] if len(scored) else scored
    seen = event_ids(scored.drop_duplicates("id"), "manager_id")
    total = resolve_number(scheme.base, params) + table.sum(axis=1)
    low, high = resolve_number(scheme.minimum, params), resolve_number(scheme.maximum, params)
    return total.clip(lower=low, upper=high).where(total.index.isin(seen.index)), table, seen


def event_ids(events: pd.DataFrame, key: str) -> pd.Series:
    """The ids of ``events`` (as a tuple, newest first) per value of ``key`` (client or manager id)."""
    import pandas as pd

    if not len(events):
        return pd.Series(dtype=object)
    ordered = events.sort_values(["date", "id"], ascending=False, na_position="last")
    return pd.Series({k: tuple(str(i) for i in ids) for k, ids in ordered.groupby(key)["id"]}, dtype=object)


def _item_points(ev: pd.DataFrame, item: ScoreItem, start: dt.date | None, as_of: dt.date,
                 params: Params) -> tuple[pd.Series, pd.DataFrame]:
    import pandas as pd

    if not len(ev):
        return pd.Series(dtype=float), ev
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
    return (units * points).astype(float), hits
