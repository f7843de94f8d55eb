"""engine/derivation/history.py: the fact fields a portfolio's event history gives, worked out by hand on a
small book of three managers and their clients, as of 2026-11-23."""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable
from typing import Any

import pandas as pd
import pytest

from rm_advisor.engine.derivation.history import Derived, derive
from tests.helpers import KB, ev, events, table

AS_OF = dt.date(2026, 11, 23)
PARAMS = {k: p.value for k, p in KB.parameters.items()}


def ago(days: int) -> str:
    return (AS_OF - dt.timedelta(days=days)).isoformat()


A_INPUTS = {"business_scale": "large", "business_ability": "strong", "credit_standing": "good",
            "social_relations": "strong"}                                            # 3+3+3+3 = 12 points
CLIENTS: list[dict[str, Any]] = [
    {"id": "T1", "manager_id": "MT1", "domain": "tobacco", **A_INPUTS,
     "client_class": "C", "days_since_last_visit": 99},       # history overrides both (prefer="history")
    {"id": "T2", "manager_id": "MT1", "domain": "tobacco", "business_scale": "medium",
     "business_ability": "medium", "credit_standing": "fair", "social_relations": "medium",  # 8 points
     "days_since_last_visit": 40, "order_trend_pct": 12.5},                          # no visits in history
    {"id": "T3", "manager_id": "MT1", "domain": "tobacco", **A_INPUTS, "social_relations": "weak"},  # 10 points
    {"id": "T4", "manager_id": "MT1", "domain": "tobacco", **A_INPUTS},               # never visited
    {"id": "T5", "manager_id": "MT1", "domain": "tobacco", "business_scale": "large", "client_class": "A"},
    {"id": "T6", "manager_id": "MT1", "domain": "tobacco", "business_scale": "small"},
    {"id": "B1", "manager_id": "MB1", "domain": "bank", **A_INPUTS},                 # not a tobacco retailer
    {"id": "B2", "manager_id": "MB1", "domain": "bank"},
    {"id": "G1", "manager_id": "MC1", "domain": "telecom"},
]
MANAGERS: list[dict[str, Any]] = [
    {"id": "MT1", "domain": "tobacco", "plan_lapses_90d": 9}, {"id": "MT2", "domain": "tobacco"},
    {"id": "MB1", "domain": "bank"}, {"id": "MC1", "domain": "telecom"}]
TOTALS = {"T1": 12, "T2": 8, "T3": 10, "T4": 12}  # the ABC points of the clients with all four inputs

HISTORY = [
    # visits
    ev("MT1", "visit", ago(3), "T1", status="done"),
    ev("MT1", "visit", ago(13), "T1", status="done"),
    ev("MT1", "visit", "2026-11-25", "T1", status="done"),          # after as_of: ignored
    ev("MT1", "visit", ago(22), "T3", status="done"),
    ev("MT1", "visit", ago(5), "T5", status="done"),
    # orders: the last 4 weeks are days 0..27 before as_of, the 8 weeks before are days 28..83
    ev("MT1", "order", ago(27), "T1", status="done", quantity=30, new_brand="false"),
    ev("MT1", "order", ago(3), "T1", status="done", quantity=30, new_brand="true"),
    ev("MT1", "order", ago(28), "T1", status="done", quantity=80, new_brand="false"),
    ev("MT1", "order", ago(83), "T1", status="done", quantity=80, new_brand="false"),
    ev("MT1", "order", ago(84), "T1", status="done", quantity=1000, new_brand="false"),   # 12 weeks ago
    ev("MT1", "order", "2026-11-26", "T1", status="done", quantity=999, new_brand="true"),  # after as_of
    ev("MT1", "order", ago(22), "T2", status="done", quantity=10, new_brand="false"),       # no baseline
    ev("MT1", "order", ago(53), "T3", status="done", quantity=40, new_brand="true"),        # nothing lately
    # complaints
    ev("MT1", "complaint", ago(10), "T1", status="open"),
    ev("MT1", "complaint", ago(20), "T1", status="open"),
    ev("MT1", "complaint", ago(53), "T1", status="closed", closed_date=ago(49)),
    ev("MT1", "complaint", ago(22), "T3", status="closed", closed_date=ago(20)),
    ev("MT1", "complaint", "2026-11-24", "T3", status="open"),                             # after as_of
    ev("MT1", "feedback", ago(2), "T2", status="open"),
    # stock checks: the latest one counts
    ev("MT1", "stock_check", ago(22), "T1", status="done", quantity=100, slow_quantity=50),
    ev("MT1", "stock_check", ago(8), "T1", status="done", quantity=200, slow_quantity=30),
    ev("MT1", "stock_check", ago(8), "T3", status="done", quantity=100, slow_quantity=0),
    # plans: due and submitted on time, late, never; one older than 90 days
    ev("MT1", "plan_submission", ago(7), due_date=ago(7), closed_date=ago(7), status="done"),
    ev("MT1", "plan_submission", ago(14), due_date=ago(14), closed_date=ago(12), status="done"),
    ev("MT1", "plan_submission", ago(21), due_date=ago(21), status="open"),
    ev("MT1", "plan_submission", ago(100), due_date=ago(100), status="open"),
    ev("MT2", "plan_submission", ago(7), due_date=ago(7), closed_date=ago(7), status="done"),
    # market reports
    ev("MT1", "market_report", ago(29), status="done"),
    ev("MT1", "market_report", ago(30), status="done"),                                     # 30 days: out
    ev("MT2", "market_report", ago(45), status="done"),
    # bank
    ev("MB1", "loan_event", ago(40), "B1", status="open", amount=120000),
    ev("MB1", "loan_event", ago(10), "B1", status="open", amount=30000),
    ev("MB1", "loan_event", ago(60), "B1", status="closed", amount=500000),
    ev("MB1", "interest_due", ago(53), "B1", status="open", amount=2000),
    ev("MB1", "interest_due", ago(20), "B1", status="open", amount=2000),
    ev("MB1", "interest_due", ago(90), "B2", status="closed", amount=2000),
    # telecom bills: unpaid and past due count as arrears
    ev("MC1", "bill", ago(28), "G1", status="open", amount=500, due_date=ago(13)),
    ev("MC1", "bill", ago(18), "G1", status="open", amount=300, due_date=ago(3)),
    ev("MC1", "bill", ago(8), "G1", status="open", amount=700, due_date="2026-11-30"),     # not due yet
    ev("MC1", "bill", ago(60), "G1", status="done", amount=900, due_date=ago(45)),          # paid
]


@pytest.fixture(scope="module")
def derived() -> Derived:
    """The history as the record: ``prefer="history"`` (the given values are what the tests below override)."""
    return derive(table("client", CLIENTS), table("manager", MANAGERS), events(*HISTORY), AS_OF, KB, prefer="history")


def field(derived: Derived, name: str, subject: str = "client") -> dict[Hashable, Any]:
    frame = derived.clients if subject == "client" else derived.managers
    # numpy scalars as Python values, missing as None
    return {k: (None if pd.isna(v) else v.item() if hasattr(v, "item") else v) for k, v in frame[name].items()}


def abc_class(total: float) -> str:
    if total >= float(PARAMS["abc_a_min_points"]):
        return "A"
    return "B" if total >= float(PARAMS["abc_b_min_points"]) else "C"


# ---------------------------------------------------------------- clients

def test_days_since_last_visit_and_order(derived: Derived) -> None:
    visits = field(derived, "days_since_last_visit")
    assert {k: visits[k] for k in ("T1", "T2", "T3", "T4", "T5")} == \
        {"T1": 3, "T2": 40, "T3": 22, "T4": None, "T5": 5}  # T2: no visit in the history keeps the given 40
    orders = field(derived, "days_since_last_order")
    assert {k: orders[k] for k in ("T1", "T2", "T3", "T4")} == {"T1": 3, "T2": 22, "T3": 53, "T4": None}


def test_order_trend_compares_the_last_4_weeks_with_the_weekly_average_of_the_8_before(derived: Derived) -> None:
    last4 = (30 + 30) / 4          # 15 packs a week
    before8 = (80 + 80) / 8        # 20 packs a week (the order 12 weeks ago is outside both windows)
    trend = field(derived, "order_trend_pct")
    assert trend["T1"] == pytest.approx((last4 - before8) / before8 * 100) == -25.0
    assert trend["T3"] == -100.0   # ordered before, nothing in the last 4 weeks
    assert trend["T2"] == 12.5     # no orders in the 8 weeks before: nothing to compare, the given value stays
    assert trend["T4"] is None


def test_new_brand_packs_in_the_last_4_weeks(derived: Derived) -> None:
    packs = field(derived, "new_brand_packs_4w")
    assert packs["T1"] == 30       # the 999 packs ordered after as_of do not count
    assert packs["T3"] is None     # no order at all in the last 4 weeks


def test_a_retailer_ordering_lately_but_none_of_the_new_brand_has_0_new_brand_packs(derived: Derived) -> None:
    # T2 ordered 10 packs 22 days ago, none of the new brand: the history says 0 packs, and
    # tobacco.new_brand_few_packs (new_brand_packs_4w <= 5) must be able to see it
    assert field(derived, "new_brand_packs_4w")["T2"] == 0


def test_open_complaints_and_the_age_of_the_oldest(derived: Derived) -> None:
    assert field(derived, "open_complaints")["T1"] == 2
    assert field(derived, "oldest_open_complaint_days")["T1"] == 20
    assert field(derived, "open_complaints")["T3"] is None      # closed, and the open one is after as_of
    assert field(derived, "days_since_complaint_resolved")["T1"] == 49
    assert field(derived, "days_since_complaint_resolved")["T3"] == 20


def test_slow_stock_from_the_latest_stock_check(derived: Derived) -> None:
    assert field(derived, "slow_stock_share_pct")["T1"] == 15.0   # 30 of 200 packs
    assert field(derived, "slow_moving_stock")["T1"] is True
    assert field(derived, "slow_stock_share_pct")["T3"] == 0.0
    assert field(derived, "slow_moving_stock")["T3"] is False


def test_overdue_amount_and_unpaid_interest_days(derived: Derived) -> None:
    assert field(derived, "overdue_amount")["B1"] == 120000 + 30000    # the closed loan is not overdue
    assert field(derived, "interest_unpaid_days")["B1"] == 53         # the oldest open interest
    assert field(derived, "interest_unpaid_days")["B2"] is None


def test_arrears_are_the_unpaid_bills_past_their_due_date(derived: Derived) -> None:
    assert field(derived, "arrears_amount")["G1"] == 500 + 300
    assert field(derived, "arrears_days")["G1"] == 13


def test_abc_class_computed_from_inputs_replaces_the_given_one(derived: Derived) -> None:
    classes = field(derived, "client_class")
    assert {k: classes[k] for k in TOTALS} == {k: abc_class(t) for k, t in TOTALS.items()}
    assert classes["T1"] == "A"    # given C, computed A


def test_abc_class_with_missing_inputs_keeps_the_given_class_or_none(derived: Derived) -> None:
    classes = field(derived, "client_class")
    assert classes["T5"] == "A"    # three inputs missing: the given class stays
    assert classes["T6"] is None   # no inputs, no given class
    assert classes["B1"] is None   # the tobacco classification is not applied to bank clients


# ---------------------------------------------------------------- managers

def test_plan_lapses_in_90_days_count_late_and_missing_plans(derived: Derived) -> None:
    lapses = field(derived, "plan_lapses_90d", "manager")
    assert lapses["MT1"] == 2      # one late, one never submitted; the one 100 days ago is out (given 9 replaced)
    assert lapses["MT2"] == 0


def test_class_a_visit_coverage(derived: Derived) -> None:
    interval = float(PARAMS["visit_interval_days_a"])
    classes = field(derived, "client_class")
    last_visit: dict[str, int | None] = {"T1": 3, "T3": 22, "T4": None, "T5": 5}  # T4 never visited: not on time
    a_clients = [c for c in last_visit if classes[c] == "A"]
    on_time = [c for c in a_clients if (days := last_visit[c]) is not None and days <= interval]
    assert field(derived, "class_a_visit_coverage_pct", "manager")["MT1"] == \
        pytest.approx(round(100 * len(on_time) / len(a_clients), 1))
    assert field(derived, "class_a_visit_coverage_pct", "manager")["MB1"] is None


def test_average_complaint_close_days(derived: Derived) -> None:
    assert field(derived, "avg_complaint_close_days", "manager")["MT1"] == (4 + 2) / 2


def test_market_reports_in_30_days(derived: Derived) -> None:
    assert field(derived, "market_reports_30d", "manager")["MT1"] == 1


def test_a_manager_without_market_reports_in_30_days_has_0(derived: Derived) -> None:
    # MT2's only report is 45 days old: 0 reports in 30 days, which coaching.few_market_reports
    # (market_reports_30d < minimum) is there to catch
    assert field(derived, "market_reports_30d", "manager")["MT2"] == 0


# ---------------------------------------------------------------- open items

def test_open_items_are_interactions_with_days_open(derived: Derived) -> None:
    items = derived.interactions
    got = sorted((r["client_id"], r["kind"], r["days_open"]) for _, r in items.iterrows())
    assert got == [("B1", "loan_event", 10), ("B1", "loan_event", 40), ("T1", "complaint", 10),
                   ("T1", "complaint", 20), ("T2", "feedback", 2)]


def test_events_after_as_of_change_nothing() -> None:
    later = [e for e in HISTORY if e["date"] > AS_OF.isoformat()]
    assert later  # the history above has some
    with_later = derive(table("client", CLIENTS), table("manager", MANAGERS), events(*HISTORY), AS_OF, KB)
    without = derive(table("client", CLIENTS), table("manager", MANAGERS),
                     events(*[e for e in HISTORY if e not in later]), AS_OF, KB)
    pd.testing.assert_frame_equal(with_later.clients, without.clients)
    pd.testing.assert_frame_equal(with_later.managers, without.managers)


def test_a_complaint_closed_after_as_of_is_not_yet_resolved_as_of_that_date() -> None:
    # replaying an earlier as-of date: the complaint was closed three days later
    history = events(ev("MT1", "complaint", ago(5), "T1", status="closed", closed_date="2026-11-26"))
    got = derive(table("client", CLIENTS[:1]), table("manager", MANAGERS[:1]), history, AS_OF, KB)
    days = got.clients["days_since_complaint_resolved"]["T1"]
    assert pd.isna(days), f"days_since_complaint_resolved = {days}: a resolution after as_of"


def test_a_history_with_only_the_columns_a_bank_uses_is_derived() -> None:
    # a bank's history has no order quantities, brands or stock checks
    history = events(ev("MB1", "loan_event", ago(40), "B1", status="open", amount=120000),
                     columns=["id", "manager_id", "client_id", "kind", "date", "status", "amount"])
    got = derive(table("client", CLIENTS[6:7]), table("manager", MANAGERS[2:3]), history, AS_OF, KB)
    assert got.clients.at["B1", "overdue_amount"] == 120000
    assert got.managers.at["MB1", "credit_coop_points"] == -2
