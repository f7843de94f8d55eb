"""History derived record by record, for one decision: the same fields, values and sources as the
vectorised :func:`engine.derivation.history.derive` gives a portfolio (a property test keeps the
two equal, tests/engine/derivation/test_per_record.py), without building a pandas frame for a
handful of records — a single decision's history is a few dozen events, and pandas' fixed cost
per operation was most of its time.

Each rule of :mod:`engine.derivation.history` is restated here over plain records, with its
module docstring's semantics: events dated after the as-of day are ignored, undated events count
where no date is needed, given values are kept unless history is preferred, a scheme with no
event in its period is *unknown*. Rounding is numpy's (what pandas rounds with), so a value
rounds the same way on both paths.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rm_advisor.engine.derivation.history import OPEN_KINDS, Prefer, Sources
from rm_advisor.engine.derivation.scoring import Params, period_start, resolve_number
from rm_advisor.engine.language.knowledge import FactSpec, KnowledgeBase
from rm_advisor.engine.language.schemes import ScoreItem, ScoringScheme, Segmentation
from rm_advisor.engine.language.subjects import SubjectKey
from rm_advisor.engine.language.values import shift

Record = dict[str, Any]


@dataclass(frozen=True)
class DerivedRecords:
    """Client and manager records with their history fields, the open items, and the sources."""

    clients: list[Record]
    managers: list[Record]
    interactions: list[Record]
    sources: Sources


@dataclass(frozen=True)
class _Value:
    """A derived value and the ids of the events behind it (newest first)."""

    value: Any
    events: tuple[str, ...]


#: a derived field: fact id -> its value (a fact without one has no entry)
_Column = dict[str, _Value]


def derive_records(clients: Sequence[Mapping[str, Any]], managers: Sequence[Mapping[str, Any]],
                   events: Sequence[Mapping[str, Any]], as_of: dt.date, kb: KnowledgeBase,
                   prefer: Prefer = "given") -> DerivedRecords:
    """Every history field of ``clients`` and ``managers`` (valid fact records) as of a date, as
    :func:`engine.derivation.history.derive` computes it, and the items still open."""
    specs = {t: kb.facts[t] for t in ("client", "manager", "interaction")}
    ev = [e for e in events if e.get("date") is None or e["date"] <= as_of]
    params = {k: p.value for k, p in kb.parameters.items()}
    sources: Sources = {}
    cs = [_typed(c, specs["client"]) for c in clients]
    for name, column in _client_fields(ev, as_of).items():
        _merge(cs, "client", name, column, prefer, sources)
    for seg in kb.scoring.segmentations:
        scope = [c for c in cs if seg.domain == "generic" or c.get("domain") == seg.domain]
        _merge(scope, "client", seg.field, _segment(scope, seg, params), prefer, sources)
    ms = [_typed(m, specs["manager"]) for m in managers]
    for name, column in _manager_fields(ev, cs, ms, as_of, params).items():
        _merge(ms, "manager", name, column, prefer, sources)
    for scheme in kb.scoring.schemes:
        scope = [m for m in ms if m.get("domain") == scheme.domain]
        totals, deductions = _score(ev, {str(m["id"]) for m in scope}, scheme, as_of, params)
        _merge(scope, "manager", scheme.field, totals, prefer, sources, unknown_when_missing=True)
        for name, column in deductions.items():
            _merge(scope, "manager", name, column, prefer, sources, unknown_when_missing=True)
    return DerivedRecords([_ordered(c, specs["client"]) for c in cs], [_ordered(m, specs["manager"]) for m in ms],
                          _open_items(ev, as_of, prefer, specs["interaction"]), sources)


# ---------------------------------------------------------------- records as the frames type them

def _typed(record: Mapping[str, Any], spec: FactSpec) -> Record:
    """The record as a frame round trip gives it back: each schema field coerced to its type
    (a whole number given for a ``number`` field becomes a float), missing fields left out."""
    out: Record = {}
    for name, fspec in spec.fields.items():
        v = record.get(name)
        if v is not None:
            out[name] = _coerce(v, fspec.type)
    return out


def _coerce(v: Any, field_type: str) -> Any:
    if field_type == "date":
        return v.date() if isinstance(v, dt.datetime) else v
    if field_type == "integer":
        return int(v)
    if field_type == "number":
        return float(v)
    if field_type == "boolean":
        return bool(v)
    return str(v)


def _ordered(record: Record, spec: FactSpec) -> Record:
    """Fields in schema order, as :func:`engine.derivation.frames.records` gives them, typed."""
    return {name: _coerce(record[name], f.type) for name, f in spec.fields.items() if record.get(name) is not None}


def _merge(facts: list[Record], fact_type: str, name: str, column: _Column, prefer: Prefer, sources: Sources,
           unknown_when_missing: bool = False) -> None:
    """Put ``column``'s values into ``facts`` where they apply (:func:`history._merge`'s rule)."""
    for fact in facts:
        fid = str(fact["id"])
        found = column.get(fid)
        if found is not None and found.value is not None and (prefer == "history" or fact.get(name) is None):
            fact[name] = found.value
            sources.setdefault(SubjectKey(fact_type, fid), {})[name] = found.events
        elif unknown_when_missing and fact.get(name) is None:
            sources.setdefault(SubjectKey(fact_type, fid), {})[name] = ()


# ---------------------------------------------------------------- events

def _ids(events: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    """Event ids newest first, then by id descending; undated events last (:func:`scoring.event_ids`)."""
    by_id = sorted(events, key=lambda e: str(e["id"]), reverse=True)
    dated = sorted((e for e in by_id if e.get("date") is not None), key=lambda e: e["date"], reverse=True)
    return tuple(str(e["id"]) for e in dated + [e for e in by_id if e.get("date") is None])


def _by(events: Iterable[Mapping[str, Any]], key: str = "client_id") -> dict[str, list[Mapping[str, Any]]]:
    groups: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for e in events:
        if e.get(key) is not None:
            groups[str(e[key])].append(e)
    return groups


def _open_as_of(e: Mapping[str, Any], day: dt.date) -> bool:
    """:func:`history.open_as_of` for one event."""
    status, closed = e.get("status"), e.get("closed_date")
    return status == "open" or (status is None and closed is None) or (closed is not None and closed > day)


def _days(day: dt.date, date: dt.date | None) -> int | None:
    return None if date is None else (day - date).days


def _round(x: float) -> float:
    return float(np.round(x, 1))


def _per_client(events: Iterable[Mapping[str, Any]], value: Callable[[list[Mapping[str, Any]]], Any],
                key: str = "client_id") -> _Column:
    return {k: _Value(value(group), _ids(group)) for k, group in _by(events, key).items()}


def _dates(group: Iterable[Mapping[str, Any]], name: str = "date") -> list[dt.date]:
    return [e[name] for e in group if e.get(name) is not None]


def _client_fields(ev: list[Mapping[str, Any]], day: dt.date) -> dict[str, _Column]:
    kind = _by(ev, "kind")
    visits, orders = kind.get("visit", []), kind.get("order", [])
    out: dict[str, _Column] = {}
    out["days_since_last_visit"] = _per_client(visits, lambda g: _days(day, max(_dates(g), default=None)))
    out["days_since_last_order"] = _per_client(orders, lambda g: _days(day, max(_dates(g), default=None)))
    recent = [o for o in orders if o.get("date") is not None and o["date"] > day - dt.timedelta(days=28)]
    before = [o for o in orders if o.get("date") is not None
              and day - dt.timedelta(days=84) < o["date"] <= day - dt.timedelta(days=28)]
    quantity = _summed("quantity")
    last4 = {k: quantity(g) / 4 for k, g in _by(recent).items()}
    trend_events = _by(recent + before)
    out["order_trend_pct"] = {}
    for k, g in _by(before).items():
        prev8 = quantity(g) / 8
        trend = _round((last4.get(k, 0.0) - prev8) / prev8 * 100) if prev8 > 0 else None
        out["order_trend_pct"][k] = _Value(trend, _ids(trend_events[k]))
    out["new_brand_packs_4w"] = _per_client(recent,
                                            lambda g: int(quantity([o for o in g if o.get("new_brand") is True])))
    complaints = kind.get("complaint", [])
    open_c = [c for c in complaints if _open_as_of(c, day)]
    out["open_complaints"] = _per_client(open_c, len)
    out["oldest_open_complaint_days"] = _per_client(open_c, lambda g: _days(day, min(_dates(g), default=None)))
    closed = [c for c in complaints if c.get("closed_date") is not None and c["closed_date"] <= day]
    out["days_since_complaint_resolved"] = _per_client(
        closed, lambda g: _days(day, max(_dates(g, "closed_date"), default=None)))
    latest = {k: _latest(g) for k, g in _by(kind.get("stock_check", [])).items()}
    out["slow_stock_share_pct"] = {k: _Value(_share(c), (str(c["id"]),)) for k, c in latest.items()}
    out["slow_moving_stock"] = {k: _Value(None if c.get("slow_quantity") is None else c["slow_quantity"] > 0,
                                          (str(c["id"]),)) for k, c in latest.items()}
    open_loans = [e for e in kind.get("loan_event", []) if _open_as_of(e, day)]
    out["overdue_amount"] = _per_client(open_loans, _summed("amount"))
    unpaid = [e for e in kind.get("interest_due", []) if _open_as_of(e, day)]
    out["interest_unpaid_days"] = _per_client(unpaid, lambda g: _days(day, min(_dates(g), default=None)))
    bills = [b for b in kind.get("bill", []) if _open_as_of(b, day) and b.get("due_date") is not None
             and b["due_date"] < day]
    out["arrears_amount"] = _per_client(bills, _summed("amount"))
    out["arrears_days"] = _per_client(bills, lambda g: _days(day, min(_dates(g, "due_date"))))
    return out


def _summed(name: str) -> Callable[[list[Mapping[str, Any]]], float]:
    """The sum of a column over a group, missing values skipped, added as pandas' grouped ``sum``
    adds (Kahan's compensated summation), so a sum of amounts is the same to the last bit."""

    def total(group: list[Mapping[str, Any]]) -> float:
        acc = compensation = 0.0
        for e in group:
            if e.get(name) is not None:
                y = float(e[name]) - compensation
                t = acc + y
                compensation = t - acc - y
                if compensation != compensation:  # NaN, as pandas resets it
                    compensation = 0.0
                acc = t
        return acc

    return total


def _latest(checks: list[Mapping[str, Any]]) -> Mapping[str, Any]:
    """The client's last stock check by date, an undated one counting as the latest, and of
    checks on one day the last recorded (a stable sort's last row)."""
    def key(i: int) -> tuple[bool, dt.date]:
        return checks[i].get("date") is None, checks[i].get("date") or dt.date.min

    return checks[sorted(range(len(checks)), key=key)[-1]]


def _share(check: Mapping[str, Any]) -> float | None:
    slow, qty = check.get("slow_quantity"), check.get("quantity")
    if slow is None or qty is None or qty <= 0:
        return None
    return _round(slow / qty * 100)


def _segment(clients: list[Record], seg: Segmentation, params: Params) -> _Column:
    """:func:`scoring.segment` for each client whose inputs are all rated."""
    out: _Column = {}
    points = {f: {k: resolve_number(v, params) for k, v in m.items()} for f, m in seg.inputs.items()}
    for c in clients:
        mapped = [points[f].get(v) if isinstance(v := c.get(f), str) else None for f in seg.inputs]
        if any(p is None for p in mapped):
            continue
        total = sum(p for p in mapped if p is not None)
        value = seg.classes[-1].value
        for cut in reversed(seg.classes[:-1]):
            threshold = resolve_number(cut.min_points, params)
            if threshold is not None and total >= threshold:
                value = cut.value
        out[str(c["id"])] = _Value(value, ())
    return out


def _manager_fields(ev: list[Mapping[str, Any]], clients: list[Record], managers: list[Record], day: dt.date,
                    params: Params) -> dict[str, _Column]:
    out: dict[str, _Column] = {}
    plans = [e for e in ev if e.get("kind") == "plan_submission" and e.get("date") is not None
             and e["date"] > day - dt.timedelta(days=90)]
    if plans:
        out["plan_lapses_90d"] = _per_client(plans, lambda g: sum(_late(p) for p in g), "manager_id")
    closed = [e for e in ev if e.get("kind") == "complaint" and e.get("closed_date") is not None
              and e["closed_date"] > day - dt.timedelta(days=90)]
    if closed:
        out["avg_complaint_close_days"] = _per_client(closed, _mean_close_days, "manager_id")
    if any(e.get("kind") == "market_report" for e in ev):  # the history records reports: none filed is 0
        recent = _by((e for e in ev if e.get("kind") == "market_report" and e.get("date") is not None
                      and e["date"] > day - dt.timedelta(days=30)), "manager_id")
        out["market_reports_30d"] = {str(m["id"]): _Value(len(recent.get(str(m["id"]), [])),
                                                          _ids(recent.get(str(m["id"]), []))) for m in managers}
    a_class = _by((c for c in clients if c.get("client_class") == "A" and c.get("domain") == "tobacco"),
                  "manager_id")
    limit = float(params["visit_interval_days_a"])
    out["class_a_visit_coverage_pct"] = {
        mid: _Value(_round(sum(c.get("days_since_last_visit") is not None and c["days_since_last_visit"] <= limit
                               for c in group) / len(group) * 100), ())
        for mid, group in a_class.items()}
    return out


def _late(plan: Mapping[str, Any]) -> bool:
    closed = plan.get("closed_date")
    return closed is None or closed > (plan.get("due_date") or plan["date"])


def _mean_close_days(group: list[Mapping[str, Any]]) -> float | None:
    days = [(e["closed_date"] - e["date"]).days for e in group if e.get("date") is not None]
    return _round(sum(days) / len(days)) if days else None


# ---------------------------------------------------------------- scoring schemes

def _score(ev: list[Mapping[str, Any]], scope: set[str], scheme: ScoringScheme, as_of: dt.date,
           params: Params) -> tuple[_Column, dict[str, _Column]]:
    """:func:`scoring.score` per manager of ``scope``: the total and each deduction field, for the
    managers with an event that an item counts in the period (the others are unknown)."""
    start = period_start(scheme.period, as_of)
    dated = [e for e in ev if e.get("date") is not None]  # score counts dated events only
    points: dict[str, dict[str, float]] = {m: {} for m in scope}
    scored: dict[str, dict[str, Mapping[str, Any]]] = defaultdict(dict)
    for item in scheme.items:
        hits = [e for e in dated if _counts(e, item, start, as_of, params)]
        for mid, group in _by(hits, "manager_id").items():
            if mid in scope:
                points[mid][item.id] = _units(group, item, params) * resolve_number(item.points, params)
                scored[mid].update((str(e["id"]), e) for e in group)
    base = resolve_number(scheme.base, params)
    low, high = resolve_number(scheme.minimum, params), resolve_number(scheme.maximum, params)
    totals: _Column = {}
    deductions: dict[str, _Column] = {name: {} for name in scheme.deductions}
    for mid, seen in scored.items():
        events = _ids(seen.values())
        row = [points[mid].get(item.id, 0.0) for item in scheme.items]
        total = base + float(np.sum(np.array(row, dtype=float)))
        totals[mid] = _Value(float(np.clip(total, low if low is not None else -np.inf,
                                           high if high is not None else np.inf)), events)
        for name, items in scheme.deductions.items():
            deducted = [points[mid].get(i, 0.0) for i in items]
            deductions[name][mid] = _Value(-float(np.sum(np.array(deducted, dtype=float))), events)
    return totals, deductions


def _counts(e: Mapping[str, Any], item: ScoreItem, start: dt.date | None, as_of: dt.date, params: Params) -> bool:
    """Whether a scoring item counts the event (:func:`scoring._item_points`'s mask)."""
    m = item.match
    if e.get("kind") != m.kind or (m.item is not None and e.get("item") != m.item):
        return False
    if m.status is not None and not item.open_only and e.get("status") != m.status:
        return False
    if item.open_only:
        closed = e.get("closed_date")
        if not (e.get("status") == "open" or (closed is not None and closed > as_of)):
            return False
    elif start is not None and e["date"] < start:
        return False
    return item.min_age_days is None or e["date"] < shift(as_of, -resolve_number(item.min_age_days, params))


def _units(group: list[Mapping[str, Any]], item: ScoreItem, params: Params) -> float:
    if item.per == "client":
        return float(len({e["client_id"] for e in group if e.get("client_id") is not None}))
    if item.per == "amount":
        step = resolve_number(item.amount_step, params)
        if step is None:  # not reached: ScoreItem requires the step with per=amount
            raise ValueError(f"scoring item {item.id}: per amount needs amount_step")
        return float(sum((e.get("amount") or 0.0) // step for e in group))
    return float(len(group))


# ---------------------------------------------------------------- open items

def _open_items(ev: list[Mapping[str, Any]], day: dt.date, prefer: Prefer, spec: FactSpec) -> list[Record]:
    """The items still open on ``day``, with their age (:func:`history._open_items`)."""
    out = []
    for e in ev:
        if e.get("kind") in OPEN_KINDS and _open_as_of(e, day):
            item = _typed(e, spec)
            item["status"] = "open"
            computed, given = _days(day, e.get("date")), e.get("days_open")
            first, second = (given, computed) if prefer == "given" else (computed, given)
            days_open = first if first is not None else second
            if days_open is None:
                item.pop("days_open", None)
            else:
                item["days_open"] = int(days_open)
            out.append(_ordered(item, spec))
    return out
