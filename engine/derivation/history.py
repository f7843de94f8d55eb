"""Signals from history: turn a portfolio's event table into the fact fields rules test.

Everything is computed with pandas, as of one date, so a run is reproducible: events dated after
``as_of`` are ignored (undated ones count where no date is needed, e.g. an open complaint). The
same function serves a single decision (its ``interactions`` are the history) and a portfolio.

**Given values are kept**: with ``prefer="given"`` (the default) a field the caller gave keeps its
value and history fills only the fields that are missing; with ``prefer="history"`` the history
replaces them wherever it can give a value. Each value that came from history is recorded in
:attr:`Derived.sources` with the ids of the events it was computed from; a scoring scheme with
no event in its period gives *unknown* (recorded with no events), not its base score.

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
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from rm_advisor.engine.derivation.scoring import Params, event_ids, score, segment
from rm_advisor.engine.language.knowledge import KnowledgeBase
from rm_advisor.engine.language.subjects import SubjectKey

OPEN_KINDS = ("complaint", "loan_event", "feedback", "repayment")  # repayment: scheduled, not yet paid

#: which value wins when the caller gives a field that history can also compute
Prefer = Literal["given", "history"]

#: (fact type, id) -> field -> ids of the events the value was computed from (none: unknown)
Sources = dict[SubjectKey, dict[str, tuple[str, ...]]]


@dataclass(frozen=True)
class Derived:
    """Client and manager tables with history-derived fields, the open items as interactions, and
    where each derived value came from."""

    clients: pd.DataFrame
    managers: pd.DataFrame
    interactions: pd.DataFrame
    scores: dict[str, pd.DataFrame]  # scheme id -> points per item per manager
    sources: Sources = field(default_factory=dict)


@dataclass(frozen=True)
class _Field:
    """One derived field: its value per fact id, and the events behind each value."""

    values: pd.Series
    events: pd.Series  # fact id -> tuple of event ids


def recorded_kinds(events: pd.DataFrame, as_of: dt.date) -> set[str]:
    """The kinds of the events up to ``as_of`` (or undated): what the history records at all. A
    field counted from one kind is 0, not unknown, for a fact without such events only when the
    history records that kind (``market_reports_30d``)."""
    return _kinds(_upto(_with_columns(events), pd.Timestamp(as_of)))


def _upto(ev: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    return ev[(ev["date"] <= day) | ev["date"].isna()]


def _kinds(ev: pd.DataFrame) -> set[str]:
    return {str(k) for k in ev["kind"].dropna().unique()}


def derive(clients: pd.DataFrame, managers: pd.DataFrame, events: pd.DataFrame, as_of: dt.date,
           kb: KnowledgeBase, prefer: Prefer = "given", recorded: Collection[str] | None = None) -> Derived:
    """Compute every history field for ``clients`` and ``managers`` (indexed by id) as of a date;
    ``recorded`` is what the whole portfolio's history records (:func:`recorded_kinds`; by default
    that of ``events``), when ``events`` are some of it."""
    day = pd.Timestamp(as_of)
    ev = _upto(_with_columns(events), day)
    recorded = recorded if recorded is not None else _kinds(ev)
    params = {k: p.value for k, p in kb.parameters.items()}
    sources: Sources = {}
    clients = clients.copy()
    for name, f in _client_fields(ev, day).items():
        clients[name] = _merge(clients, "client", name, f, prefer, sources)
    for seg in kb.scoring.segmentations:
        scope = clients["domain"] == seg.domain if seg.domain != "generic" else pd.Series(True, index=clients.index)
        classes = segment(clients[scope], seg, params)
        none = pd.Series([()] * len(classes), index=classes.index, dtype=object)
        clients[seg.field] = _put(clients, seg.field, _merge(clients[scope], "client", seg.field,
                                                             _Field(classes, none), prefer, sources))
    managers = managers.copy()
    for name, f in _manager_fields(ev, clients, managers.index, day, params, recorded).items():
        managers[name] = _merge(managers, "manager", name, f, prefer, sources)
    scores: dict[str, pd.DataFrame] = {}
    for scheme in kb.scoring.schemes:
        scope = managers.index[managers["domain"] == scheme.domain]
        total, table, seen = score(ev, scope, scheme, as_of, params)
        in_scope = managers.loc[scope]
        managers[scheme.field] = _put(managers, scheme.field, _merge(in_scope, "manager", scheme.field,
                                                                     _Field(total, seen), prefer, sources,
                                                                     unknown_when_missing=True))
        for name, items in scheme.deductions.items():
            deduction = (-table[list(items)].sum(axis=1)).where(total.notna())
            managers[name] = _put(managers, name, _merge(in_scope, "manager", name, _Field(deduction, seen), prefer,
                                                         sources, unknown_when_missing=True))
        scores[scheme.id] = table
    return Derived(clients, managers, _open_items(ev, day, prefer), scores, sources)


def _merge(table: pd.DataFrame, fact_type: str, name: str, f: _Field, prefer: Prefer, sources: Sources,
           unknown_when_missing: bool = False) -> pd.Series:
    """The column ``name`` of ``table`` with ``f``'s values where they apply, recording their events.

    With ``unknown_when_missing`` (a scoring scheme), a fact left without a value is recorded too,
    with no events: history was asked and could not tell.
    """
    given = table[name] if name in table else pd.Series(np.nan, index=table.index, dtype=object)
    derived = f.values.reindex(table.index)
    has = derived.notna()
    use = has & (given.isna() if prefer == "given" else True)
    # as objects: a given 64-bit integer next to derived floats must not pass through a float
    out = given.astype(object).mask(use, derived.astype(object))
    events = f.events.reindex(table.index)
    for fact_id in table.index[use.to_numpy(dtype=bool)]:
        ids = events.get(fact_id)
        sources.setdefault(SubjectKey(fact_type, str(fact_id)), {})[name] = ids if isinstance(ids, tuple) else ()
    if unknown_when_missing:
        for fact_id in table.index[(out.isna()).to_numpy(dtype=bool)]:
            sources.setdefault(SubjectKey(fact_type, str(fact_id)), {})[name] = ()
    return out


def _put(table: pd.DataFrame, name: str, values: pd.Series) -> pd.Series:
    """Column ``name`` of ``table`` with ``values`` for the rows they cover (as objects, see :func:`_merge`)."""
    column = table[name].astype(object) if name in table else pd.Series(None, index=table.index, dtype=object)
    column.loc[values.index] = values
    return column


# columns the derivations read; a history without some of them (a bank has no orders) gets them empty
_COLUMNS: dict[str, type[object] | str] = {
    "id": object, "kind": object, "client_id": object, "manager_id": object, "status": object, "item": object,
    "level": object,
    "amount": float, "quantity": "Int64", "slow_quantity": "Int64", "new_brand": object, "days_open": "Int64",
    "date": "datetime64[ns]", "closed_date": "datetime64[ns]", "due_date": "datetime64[ns]"}


def _with_columns(events: pd.DataFrame) -> pd.DataFrame:
    """``events`` with every column the derivation reads (a checked history's columns are typed, an
    empty one's too: :meth:`engine.portfolio.tables.TableChecker.table`)."""
    fix = {c: pd.Series(pd.NA if t not in ("datetime64[ns]", float) else None, index=events.index, dtype=t)
           for c, t in _COLUMNS.items() if c not in events}
    return events.assign(**fix) if fix else events


def open_as_of(ev: pd.DataFrame, day: pd.Timestamp) -> pd.Series:
    """Items still open on ``day``: marked open, recorded with neither a status nor a closing
    date, or closed only after that day (a run on an earlier as-of date sees them as they were then)."""
    unmarked = ev["status"].isna() & ev["closed_date"].isna()
    return (ev["status"] == "open") | unmarked | (ev["closed_date"] > day)


def _days_since(dates: pd.Series[pd.Timestamp], day: pd.Timestamp) -> pd.Series[int]:
    return (day - dates).dt.days.astype("Int64")


def _of(values: pd.Series, events: pd.DataFrame, key: str = "client_id") -> _Field:
    return _Field(values, event_ids(events, key))


def _client_fields(ev: pd.DataFrame, day: pd.Timestamp) -> dict[str, _Field]:
    out: dict[str, _Field] = {}
    by_kind = {k: g for k, g in ev.groupby("kind")} if len(ev) else {}
    empty = ev.iloc[0:0]
    visits, orders = by_kind.get("visit", empty), by_kind.get("order", empty)
    out["days_since_last_visit"] = _of(_days_since(visits.groupby("client_id")["date"].max(), day), visits)
    out["days_since_last_order"] = _of(_days_since(orders.groupby("client_id")["date"].max(), day), orders)
    recent = orders[orders["date"] > day - pd.Timedelta(days=28)]
    before = orders[(orders["date"] <= day - pd.Timedelta(days=28)) & (orders["date"] > day - pd.Timedelta(days=84))]
    last4 = recent.groupby("client_id")["quantity"].sum() / 4
    prev8 = before.groupby("client_id")["quantity"].sum() / 8
    last4 = last4.reindex(prev8.index, fill_value=0.0)
    trend = ((last4 - prev8) / prev8 * 100).where(prev8 > 0)
    out["order_trend_pct"] = _of(trend.round(1), pd.concat([recent, before]))
    brand = recent[recent["new_brand"] == True]  # noqa: E712 - object column with missing values
    packs = brand.groupby("client_id")["quantity"].sum()
    # a retailer ordering lately but none of the new brand has 0 packs, not an unknown number
    out["new_brand_packs_4w"] = _of(packs.reindex(recent["client_id"].unique(), fill_value=0).astype("Int64"), recent)
    complaints = by_kind.get("complaint", empty)
    open_c = complaints[open_as_of(complaints, day)]
    out["open_complaints"] = _of(open_c.groupby("client_id").size().astype("Int64"), open_c)
    out["oldest_open_complaint_days"] = _of(_days_since(open_c.groupby("client_id")["date"].min(), day), open_c)
    closed = complaints[complaints["closed_date"].notna() & (complaints["closed_date"] <= day)]
    out["days_since_complaint_resolved"] = _of(_days_since(closed.groupby("client_id")["closed_date"].max(), day),
                                               closed)
    checks = by_kind.get("stock_check", empty).sort_values(["client_id", "date"])
    latest = checks.groupby("client_id").tail(1)
    stock = latest.set_index("client_id")
    share = (stock["slow_quantity"] / stock["quantity"] * 100).where(stock["quantity"] > 0)
    out["slow_stock_share_pct"] = _of(share.round(1), latest)
    out["slow_moving_stock"] = _of((stock["slow_quantity"] > 0).where(stock["slow_quantity"].notna()), latest)
    loans = by_kind.get("loan_event", empty)
    open_loans = loans[open_as_of(loans, day)]
    out["overdue_amount"] = _of(open_loans.groupby("client_id")["amount"].sum(), open_loans)
    interest = by_kind.get("interest_due", empty)
    unpaid = interest[open_as_of(interest, day)]
    out["interest_unpaid_days"] = _of(_days_since(unpaid.groupby("client_id")["date"].min(), day), unpaid)
    bills = by_kind.get("bill", empty)
    unpaid_bills = bills[open_as_of(bills, day) & (bills["due_date"] < day)]
    out["arrears_amount"] = _of(unpaid_bills.groupby("client_id")["amount"].sum(), unpaid_bills)
    out["arrears_days"] = _of(_days_since(unpaid_bills.groupby("client_id")["due_date"].min(), day), unpaid_bills)
    return out


def _manager_fields(ev: pd.DataFrame, clients: pd.DataFrame, managers: pd.Index, day: pd.Timestamp,
                    params: Params, recorded: Collection[str]) -> dict[str, _Field]:
    out: dict[str, _Field] = {}
    plans = ev[(ev["kind"] == "plan_submission") & (ev["date"] > day - pd.Timedelta(days=90))]
    if len(plans):
        late = plans["closed_date"].isna() | (plans["closed_date"] > plans["due_date"].fillna(plans["date"]))
        out["plan_lapses_90d"] = _of(late.groupby(plans["manager_id"]).sum().astype("Int64"), plans, "manager_id")
    complaints = ev[(ev["kind"] == "complaint") & ev["closed_date"].notna()
                    & (ev["closed_date"] > day - pd.Timedelta(days=90))]
    if len(complaints):
        days = (complaints["closed_date"] - complaints["date"]).dt.days
        out["avg_complaint_close_days"] = _of(days.groupby(complaints["manager_id"]).mean().round(1), complaints,
                                              "manager_id")
    reports = ev[(ev["kind"] == "market_report") & (ev["date"] > day - pd.Timedelta(days=30))]
    if "market_report" in recorded:  # the history records reports: none filed is 0
        counts = reports.groupby("manager_id").size().reindex(managers, fill_value=0).astype("Int64")
        out["market_reports_30d"] = _of(counts, reports, "manager_id")
    a_class = clients[(clients.get("client_class") == "A") & (clients["domain"] == "tobacco")]
    if len(a_class):
        on_time = a_class["days_since_last_visit"].le(float(params["visit_interval_days_a"])).fillna(False)
        coverage = (on_time.groupby(a_class["manager_id"]).mean() * 100).round(1)
        out["class_a_visit_coverage_pct"] = _Field(coverage, pd.Series(dtype=object))  # from client fields
    return out


def _open_items(ev: pd.DataFrame, day: pd.Timestamp, prefer: Prefer) -> pd.DataFrame:
    items = ev[ev["kind"].isin(OPEN_KINDS) & open_as_of(ev, day)].copy()
    items["status"] = "open"
    computed = (day - items["date"]).dt.days.astype("Int64")
    given = items["days_open"].astype("Int64")
    items["days_open"] = given.where(given.notna(), computed) if prefer == "given" else \
        computed.where(computed.notna(), given)
    return items.replace({np.nan: None})
