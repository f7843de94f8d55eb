"""Signals from history: turn a portfolio's event table into the fact fields rules test.

Everything is computed with pandas, as of one date, so a run is reproducible: events dated after
``as_of`` are ignored. A field derived from history replaces the same column in the client or
manager table (the history is the record); fields the history cannot give are left as they came.

Client fields: ``days_since_last_visit``, ``days_since_last_order``, ``order_trend_pct`` (the last
4 weeks against the weekly average of the 8 before), ``new_brand_packs_4w``, ``open_complaints``,
``oldest_open_complaint_days``, ``days_since_complaint_resolved``, ``slow_stock_share_pct`` and
``slow_moving_stock`` (the latest stock check), ``overdue_amount``, ``interest_unpaid_days``,
``arrears_amount``, ``arrears_days`` and, from the segmentations in ``scoring.yaml``,
``client_class``.

Manager fields: ``plan_lapses_90d``, ``avg_complaint_close_days``, ``market_reports_30d``,
``class_a_visit_coverage_pct`` and the scoring schemes' fields (``assessment_score``,
``credit_coop_points``, ``credit_file_deductions``).

Open items (complaints, loan events, feedback still open) stay as ``interactions`` with their
``days_open``, for rules that look at them one by one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rm_advisor.engine.language.knowledge import KnowledgeBase
from rm_advisor.engine.portfolio.scoring import Params, score, segment

OPEN_KINDS = ("complaint", "loan_event", "feedback")


@dataclass(frozen=True)
class Derived:
    """Client and manager tables with history-derived fields, and the open items as interactions."""

    clients: pd.DataFrame
    managers: pd.DataFrame
    interactions: pd.DataFrame
    scores: dict[str, pd.DataFrame]  # scheme id -> points per item per manager


def derive(clients: pd.DataFrame, managers: pd.DataFrame, events: pd.DataFrame, as_of: dt.date,
           kb: KnowledgeBase) -> Derived:
    """Compute every history field for ``clients`` and ``managers`` (indexed by id) as of a date."""
    day = pd.Timestamp(as_of)
    ev = _with_columns(events)
    ev = ev[ev["date"] <= day]
    params = {k: p.value for k, p in kb.parameters.items()}
    clients = clients.copy()
    for name, values in _client_fields(ev, day).items():
        clients[name] = _override(clients.get(name), values.reindex(clients.index))
    for seg in kb.scoring.segmentations:
        scope = clients["domain"] == seg.domain if seg.domain != "generic" else pd.Series(True, index=clients.index)
        classes = segment(clients[scope], seg, params)
        if seg.field in clients:
            classes = classes.fillna(clients.loc[scope, seg.field])
        clients.loc[scope, seg.field] = classes
    managers = managers.copy()
    for name, values in _manager_fields(ev, clients, managers.index, day, params).items():
        managers[name] = _override(managers.get(name), values.reindex(managers.index))
    scores: dict[str, pd.DataFrame] = {}
    for scheme in kb.scoring.schemes:
        scope = managers.index[managers["domain"] == scheme.domain]
        total, table = score(ev, scope, scheme, as_of, params)
        managers.loc[scope, scheme.field] = total
        for field, items in scheme.deductions.items():
            managers.loc[scope, field] = -table[list(items)].sum(axis=1)
        scores[scheme.id] = table
    return Derived(clients, managers, _open_items(ev, day), scores)


# columns the derivations read; a history without some of them (a bank has no orders) gets them empty
_COLUMNS: dict[str, type[object] | str] = {
    "client_id": object, "manager_id": object, "status": object, "item": object, "level": object,
    "amount": float, "quantity": "Int64", "slow_quantity": "Int64", "new_brand": object,
    "date": "datetime64[ns]", "closed_date": "datetime64[ns]", "due_date": "datetime64[ns]"}


def _with_columns(events: pd.DataFrame) -> pd.DataFrame:
    missing = {c: pd.Series(pd.NA if t not in ("datetime64[ns]", float) else None, index=events.index, dtype=t)
               for c, t in _COLUMNS.items() if c not in events}
    return events.assign(**missing) if missing else events


def open_as_of(ev: pd.DataFrame, day: pd.Timestamp) -> pd.Series:
    """Items still open on ``day``: marked open, or closed only after that day (a run on an
    earlier as-of date sees them as they were then)."""
    return (ev["status"] == "open") | (ev["closed_date"] > day)


def _override(current: pd.Series | None, derived: pd.Series) -> pd.Series:
    return derived if current is None else derived.where(derived.notna(), current)


def _days_since(dates: pd.Series[pd.Timestamp], day: pd.Timestamp) -> pd.Series[int]:
    return (day - dates).dt.days.astype("Int64")


def _client_fields(ev: pd.DataFrame, day: pd.Timestamp) -> dict[str, pd.Series]:
    out: dict[str, pd.Series] = {}
    by_kind = {k: g for k, g in ev.groupby("kind")} if len(ev) else {}
    empty = ev.iloc[0:0]
    visits, orders = by_kind.get("visit", empty), by_kind.get("order", empty)
    out["days_since_last_visit"] = _days_since(visits.groupby("client_id")["date"].max(), day)
    out["days_since_last_order"] = _days_since(orders.groupby("client_id")["date"].max(), day)
    recent = orders[orders["date"] > day - pd.Timedelta(days=28)]
    before = orders[(orders["date"] <= day - pd.Timedelta(days=28)) & (orders["date"] > day - pd.Timedelta(days=84))]
    last4 = recent.groupby("client_id")["quantity"].sum() / 4
    prev8 = before.groupby("client_id")["quantity"].sum() / 8
    last4 = last4.reindex(prev8.index, fill_value=0.0)
    trend = ((last4 - prev8) / prev8 * 100).where(prev8 > 0)
    out["order_trend_pct"] = trend.round(1)
    brand = recent[recent["new_brand"] == True]  # noqa: E712 - object column with missing values
    packs = brand.groupby("client_id")["quantity"].sum()
    # a retailer ordering lately but none of the new brand has 0 packs, not an unknown number
    out["new_brand_packs_4w"] = packs.reindex(recent["client_id"].unique(), fill_value=0).astype("Int64")
    complaints = by_kind.get("complaint", empty)
    open_c = complaints[open_as_of(complaints, day)]
    out["open_complaints"] = open_c.groupby("client_id").size().astype("Int64")
    out["oldest_open_complaint_days"] = _days_since(open_c.groupby("client_id")["date"].min(), day)
    closed = complaints[complaints["closed_date"].notna() & (complaints["closed_date"] <= day)]
    out["days_since_complaint_resolved"] = _days_since(closed.groupby("client_id")["closed_date"].max(), day)
    stock = by_kind.get("stock_check", empty).sort_values(["client_id", "date"]).groupby("client_id").last()
    share = (stock["slow_quantity"] / stock["quantity"] * 100).where(stock["quantity"] > 0)
    out["slow_stock_share_pct"] = share.round(1)
    out["slow_moving_stock"] = (stock["slow_quantity"] > 0).where(stock["slow_quantity"].notna())
    loans = by_kind.get("loan_event", empty)
    out["overdue_amount"] = loans[open_as_of(loans, day)].groupby("client_id")["amount"].sum()
    interest = by_kind.get("interest_due", empty)
    unpaid = interest[open_as_of(interest, day)]
    out["interest_unpaid_days"] = _days_since(unpaid.groupby("client_id")["date"].min(), day)
    bills = by_kind.get("bill", empty)
    unpaid_bills = bills[open_as_of(bills, day) & (bills["due_date"] < day)]
    out["arrears_amount"] = unpaid_bills.groupby("client_id")["amount"].sum()
    out["arrears_days"] = _days_since(unpaid_bills.groupby("client_id")["due_date"].min(), day)
    return out


def _manager_fields(ev: pd.DataFrame, clients: pd.DataFrame, managers: pd.Index, day: pd.Timestamp,
                    params: Params) -> dict[str, pd.Series]:
    out: dict[str, pd.Series] = {}
    plans = ev[(ev["kind"] == "plan_submission") & (ev["date"] > day - pd.Timedelta(days=90))]
    if len(plans):
        late = plans["closed_date"].isna() | (plans["closed_date"] > plans["due_date"].fillna(plans["date"]))
        out["plan_lapses_90d"] = late.groupby(plans["manager_id"]).sum().astype("Int64")
    complaints = ev[(ev["kind"] == "complaint") & ev["closed_date"].notna()
                    & (ev["closed_date"] > day - pd.Timedelta(days=90))]
    if len(complaints):
        days = (complaints["closed_date"] - complaints["date"]).dt.days
        out["avg_complaint_close_days"] = days.groupby(complaints["manager_id"]).mean().round(1)
    reports = ev[(ev["kind"] == "market_report") & (ev["date"] > day - pd.Timedelta(days=30))]
    if (ev["kind"] == "market_report").any():  # the history records reports: none filed is 0
        out["market_reports_30d"] = reports.groupby("manager_id").size().reindex(managers, fill_value=0).astype("Int64")
    a_class = clients[(clients.get("client_class") == "A") & (clients["domain"] == "tobacco")]
    if len(a_class):
        on_time = a_class["days_since_last_visit"].le(float(params["visit_interval_days_a"])).fillna(False)
        out["class_a_visit_coverage_pct"] = (on_time.groupby(a_class["manager_id"]).mean() * 100).round(1)
    return out


def _open_items(ev: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    items = ev[ev["kind"].isin(OPEN_KINDS) & open_as_of(ev, day)].copy()
    items["status"] = "open"
    items["days_open"] = (day - items["date"]).dt.days.astype("Int64")
    return items.replace({np.nan: None})
