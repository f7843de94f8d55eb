"""engine/derivation/scoring.py (with knowledge_base/scoring.yaml): the tobacco monthly 100-point score, the
credit-cooperative points table and the tobacco ABC class, checked on hand-built events whose
answers are worked out by hand below."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest

from rm_advisor.engine.derivation.history import derive
from rm_advisor.engine.derivation.scoring import period_start, score, segment
from rm_advisor.engine.language.schemes import Period
from tests.helpers import KB, ev, events, table

AS_OF = dt.date(2026, 11, 23)  # month starts 2026-11-01, year 2026-01-01
PARAMS = {k: p.value for k, p in KB.parameters.items()}
SCHEMES = {s.id: s for s in KB.scoring.schemes}
ABC = next(s for s in KB.scoring.segmentations if s.id == "tobacco_abc_class")


def p(name: str) -> float:
    return float(PARAMS[name])


# ---------------------------------------------------------------- tobacco monthly 100-point score

TOBACCO_EVENTS = [
    ev("MT1", "inspection", "2026-11-05", item="visit_not_on_schedule", level="market_department"),
    ev("MT1", "inspection", "2026-11-23", item="market_info_missing", level="marketing_centre"),  # on as_of
    ev("MT1", "inspection", "2026-11-01", item="complaint_not_resolved"),   # first day of the month
    ev("MT1", "inspection", "2026-10-31", item="work_plan_missing"),        # last month: not this score
    ev("MT1", "inspection", "2026-11-24", item="diary_perfunctory"),        # after as_of: ignored
    ev("MT1", "competition_award", "2026-11-10"),
    # MT2: more findings than 100 points can pay for
    *[ev("MT2", "inspection", "2026-11-02", item="complaint_not_resolved")
      for _ in range(math.ceil(100 / abs(p("deduct_complaint_not_resolved"))) + 1)],
    # MT3: a bonus on a clean month
    ev("MT3", "competition_award", "2026-11-20"),
    # a bank manager's inspection is not a tobacco score
    ev("MB1", "inspection", "2026-11-05", item="visit_not_on_schedule"),
]


def tobacco_score(ev_frame: pd.DataFrame, managers: list[str]) -> tuple[pd.Series, pd.DataFrame]:
    total, items, _ = score(ev_frame, pd.Index(managers), SCHEMES["tobacco_monthly_score"], AS_OF, PARAMS)
    return total, items


def test_monthly_score_is_100_plus_the_items_of_this_month_up_to_as_of() -> None:
    total, items = tobacco_score(events(*TOBACCO_EVENTS), ["MT1"])
    expected = 100 + p("deduct_visit_not_on_schedule") + p("deduct_market_info_missing") \
        + p("deduct_complaint_not_resolved") + p("bonus_skill_competition")
    assert total["MT1"] == min(100.0, max(0.0, expected))
    assert items.loc["MT1", "visit_not_on_schedule"] == p("deduct_visit_not_on_schedule")
    assert items.loc["MT1", "work_plan_missing"] == 0      # found on 31 October
    assert items.loc["MT1", "diary_perfunctory"] == 0      # found the day after as_of
    assert items.loc["MT1", "skill_competition_award"] == p("bonus_skill_competition")


def test_monthly_score_is_clipped_to_0_and_100() -> None:
    total, items = tobacco_score(events(*TOBACCO_EVENTS), ["MT2", "MT3", "MT4"])
    assert items["complaint_not_resolved"]["MT2"] < -100      # the raw points go below zero
    assert total["MT2"] == 0.0
    assert total["MT3"] == min(100.0, 100 + p("bonus_skill_competition"))
    assert pd.isna(total["MT4"])  # no event this month: unknown, not full marks


def test_moving_as_of_into_the_next_month_starts_a_new_score() -> None:
    frame = events(*TOBACCO_EVENTS)
    total, _, seen = score(frame, pd.Index(["MT1"]), SCHEMES["tobacco_monthly_score"], dt.date(2026, 12, 1), PARAMS)
    assert pd.isna(total["MT1"]) and "MT1" not in seen  # December has no event yet: unknown
    total, _, seen = score(frame, pd.Index(["MT1"]), SCHEMES["tobacco_monthly_score"], dt.date(2026, 10, 31),
                           PARAMS)
    assert len(seen["MT1"]) == 1  # the one finding of October
    assert total["MT1"] == 100 + p("deduct_work_plan_missing")


@pytest.mark.parametrize("period, start", [
    ("month", dt.date(2026, 11, 1)), ("quarter", dt.date(2026, 10, 1)), ("year", dt.date(2026, 1, 1)),
    ("days_90", dt.date(2026, 8, 26)), ("all", None)])
def test_period_start(period: Period, start: dt.date | None) -> None:
    assert period_start(period, AS_OF) == start


# ---------------------------------------------------------------- credit-cooperative points

UNPAID_DAYS = int(PARAMS["unpaid_interest_days"])  # the document says 15


def days_ago(n: int) -> str:
    return (AS_OF - dt.timedelta(days=n)).isoformat()


BANK_EVENTS = [
    # +2 per designated account: B1 twice counts once; B3's was last year
    ev("MB1", "loan_managed", "2026-03-01", "B1", item="designated", status="done"),
    ev("MB1", "loan_managed", "2026-06-01", "B1", item="designated", status="done"),
    ev("MB1", "loan_managed", "2026-05-01", "B2", item="designated", status="done"),
    ev("MB1", "loan_managed", "2025-12-31", "B3", item="designated", status="done"),
    # +1 per farmer loan this year (not a business loan, not last year's)
    ev("MB1", "loan_issued", "2026-11-02", "B1", item="farmer", amount=50000),
    ev("MB1", "loan_issued", "2026-01-01", "B2", item="farmer", amount=20000),
    ev("MB1", "loan_issued", "2025-12-15", "B3", item="farmer", amount=20000),
    ev("MB1", "loan_issued", "2026-11-02", "B1", item="business", amount=90000),
    # -1 per whole 50,000 RMB of each open overdue loan, however old; closed and future ones not
    ev("MB1", "loan_event", "2026-10-01", "B1", status="open", amount=120000),   # 2 steps
    ev("MB1", "loan_event", "2026-09-01", "B2", status="open", amount=49999),    # 0 steps
    ev("MB1", "loan_event", "2025-06-01", "B3", status="open", amount=100000),   # 2 steps
    ev("MB1", "loan_event", "2026-08-01", "B1", status="closed", amount=500000),
    ev("MB1", "loan_event", "2026-11-30", "B2", status="open", amount=600000),   # after as_of
    # -10 per client with interest unpaid for more than 15 days
    ev("MB1", "interest_due", days_ago(UNPAID_DAYS + 1), "B1", status="open", amount=3000),
    ev("MB1", "interest_due", "2026-10-01", "B1", status="open", amount=3000),  # same client
    ev("MB1", "interest_due", days_ago(UNPAID_DAYS), "B2", status="open", amount=3000),  # not past it
    ev("MB1", "interest_due", "2026-10-01", "B3", status="closed", amount=3000),
    # credit-file checks: -1 per missing document, -3 per uninsured client, -20 per invalid contract
    ev("MB1", "credit_file_check", "2026-04-01", "B1", item="missing_document", status="done"),
    ev("MB1", "credit_file_check", "2026-07-01", "B1", item="missing_document", status="done"),
    ev("MB1", "credit_file_check", "2026-02-01", "B1", item="collateral_uninsured", status="done"),
    ev("MB1", "credit_file_check", "2026-08-01", "B1", item="collateral_uninsured", status="done"),
    ev("MB1", "credit_file_check", "2026-03-01", "B2", item="collateral_uninsured", status="done"),
    ev("MB1", "credit_file_check", "2026-06-01", "B3", item="contract_invalid", status="done"),
    ev("MB1", "credit_file_check", "2025-12-01", "B3", item="ledger_incomplete", status="done"),  # last year
    # another manager's account
    ev("MB2", "loan_managed", "2026-02-02", "B4", item="designated", status="done"),
]


def test_credit_coop_points_by_hand() -> None:
    total, items, _ = score(events(*BANK_EVENTS), pd.Index(["MB1", "MB2", "MB3"]), SCHEMES["credit_coop_points"],
                            AS_OF, PARAMS)
    designated = 2 * 2                 # B1, B2
    farmer = 1 * 2                     # B1 in November, B2 on 1 January
    overdue = -1 * (2 + 0 + 2)         # 120,000 -> 2; 49,999 -> 0; 100,000 -> 2 (per loan, not summed)
    interest = -10 * 1                 # B1 only (twice): B2's is not older than the threshold
    files = -1 * 2 + -3 * 2 + -20 * 1  # two documents, two uninsured clients, one invalid contract
    assert items.loc["MB1", "designated_account"] == designated
    assert items.loc["MB1", "farmer_loan"] == farmer
    assert items.loc["MB1", "overdue_per_50k"] == overdue
    assert items.loc["MB1", "interest_unpaid_15d"] == interest
    assert items.loc["MB1", "collateral_uninsured"] == -6
    assert items.loc["MB1", "ledger_incomplete"] == 0
    assert total["MB1"] == designated + farmer + overdue + interest + files == -36
    assert total["MB2"] == 2
    assert pd.isna(total["MB3"])  # no event in the year: unknown


def test_derive_writes_credit_points_and_file_deductions_to_bank_managers_only() -> None:
    managers = table("manager", [{"id": "MB1", "domain": "bank"}, {"id": "MB2", "domain": "bank"},
                                 {"id": "MT1", "domain": "tobacco"}])
    clients = table("client", [{"id": f"B{i}", "manager_id": "MB1" if i < 4 else "MB2", "domain": "bank"}
                               for i in range(1, 5)])
    derived = derive(clients, managers, events(*BANK_EVENTS, *TOBACCO_EVENTS[:6]), AS_OF, KB)
    m = derived.managers
    assert m.at["MB1", "credit_coop_points"] == -36
    assert m.at["MB1", "credit_file_deductions"] == 2 + 6 + 20
    assert m.at["MB2", "credit_coop_points"] == 2 and m.at["MB2", "credit_file_deductions"] == 0
    assert pd.isna(m["credit_coop_points"]["MT1"])
    assert pd.isna(m["assessment_score"]["MB1"]) and not pd.isna(m["assessment_score"]["MT1"])
    assert list(derived.scores["credit_coop_points"].index) == ["MB1", "MB2"]


def test_derive_writes_the_tobacco_score_and_ignores_events_after_as_of() -> None:
    managers = table("manager", [{"id": m, "domain": "tobacco"} for m in ("MT1", "MT2", "MT3", "MT4")]
                     + [{"id": "MB1", "domain": "bank"}])
    clients = table("client", [{"id": "T1", "manager_id": "MT1", "domain": "tobacco"}])
    derived = derive(clients, managers, events(*TOBACCO_EVENTS), AS_OF, KB)
    expected = 100 + p("deduct_visit_not_on_schedule") + p("deduct_market_info_missing") \
        + p("deduct_complaint_not_resolved") + p("bonus_skill_competition")
    got = derived.managers["assessment_score"]
    assert got.to_dict() == pytest.approx({"MT1": min(100.0, max(0.0, expected)), "MT2": 0.0,
                                           "MT3": min(100.0, 100 + p("bonus_skill_competition")), "MT4": float("nan"),
                                           "MB1": float("nan")}, nan_ok=True)


# ---------------------------------------------------------------- ABC classification

def abc_class(total: float) -> str:
    if total >= p("abc_a_min_points"):
        return "A"
    return "B" if total >= p("abc_b_min_points") else "C"


def test_abc_class_from_the_four_ratings_and_the_cut_offs() -> None:
    rows = {  # scale, ability, credit, relations -> points 1..3 each, as scoring.yaml gives them
        "T1": (("large", "strong", "good", "strong"), 3 + 3 + 3 + 3),
        "T2": (("medium", "medium", "fair", "medium"), 2 + 2 + 2 + 2),
        "T3": (("small", "weak", "poor", "weak"), 1 + 1 + 1 + 1),
        "T4": (("large", "strong", "good", "weak"), 3 + 3 + 3 + 1),
        "T5": (("small", "medium", "fair", "medium"), 1 + 2 + 2 + 2),
        "T6": (("small", "weak", "fair", "medium"), 1 + 1 + 2 + 2),
    }
    clients = pd.DataFrame({cid: dict(zip(["business_scale", "business_ability", "credit_standing",
                                           "social_relations"], inputs, strict=True)) for cid, (inputs,
                                                                                                 _) in rows.items()}).T
    got = segment(clients, ABC, PARAMS)
    assert got.to_dict() == {cid: abc_class(total) for cid, (_, total) in rows.items()}
    assert set(got) == {"A", "B", "C"}  # the examples cover every class


def test_abc_class_needs_all_four_inputs() -> None:
    clients = pd.DataFrame({"business_scale": ["large", "large"], "business_ability": ["strong", None],
                            "credit_standing": ["good", "good"], "social_relations": [None, "strong"]},
                           index=["T1", "T2"])
    assert segment(clients, ABC, PARAMS).isna().all()
    assert segment(clients.drop(columns="social_relations"), ABC, PARAMS).isna().all()
