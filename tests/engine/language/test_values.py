"""engine/language/values.py: what a text, a number, a date or an id may be, and date arithmetic that cannot
overflow at the ends of the calendar (issue 12: OverflowError in conditions, policies and the
feedback store)."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from rm_advisor.engine import Advisor
from rm_advisor.engine.checking.analysis import candidates_for
from rm_advisor.engine.errors import CODES, Diagnostic
from rm_advisor.engine.inference.book import check_rules
from rm_advisor.engine.language.facts import build_fact_set
from rm_advisor.engine.language.feedback import FeedbackEvent
from rm_advisor.engine.language.operators import holds as operator_holds
from rm_advisor.engine.language.values import (
    DATE_MAX,
    DATE_MIN,
    DateRangeError,
    id_problem,
    number_problem,
    parse_date,
    shift,
    shown,
    text_problem,
)
from tests.helpers import KB, action, rule, rule_text
from tests.helpers import advisor as make_advisor

MIN, MAX = dt.date.min, dt.date.max


@pytest.mark.parametrize("text, bad", [
    ("零售户 №1 \U0001f600 \r\n\t", False), ("", False), ("\ud800", True), ("a\udfffb", True), ("a\x00", True),
])
def test_text_refuses_only_nul_and_lone_surrogates(text: str, bad: bool) -> None:
    assert (text_problem(text) is not None) == bad


@pytest.mark.parametrize("text, bad", [
    ("T-001", False), ("客户/1", False), ("x" * 200, False), ("", True), ("x" * 201, True), ("a\nb", True),
    ("a\x7f", True), ("\x00", True), ("\ud800", True),
])
def test_ids_are_short_printable_texts(text: str, bad: bool) -> None:
    assert (id_problem(text) is not None) == bad


@pytest.mark.parametrize("value, bad", [
    (0, False), (-1.5, False), (1e308, False), (2**63 - 1, False), (-(2**63), False),
    (math.nan, True), (math.inf, True), (-math.inf, True), (2**63, True), (-(2**63) - 1, True), (10**400, True),
])
def test_numbers_are_finite_and_fit_in_64_bits(value: float, bad: bool) -> None:
    assert (number_problem(value) is not None) == bad


@pytest.mark.parametrize("value", ["2026-11-23", dt.date(2026, 11, 23), dt.datetime(2026, 11, 23, 8, 30)])
def test_dates_are_parsed_from_iso_text_or_taken_as_dates(value: object) -> None:
    assert parse_date(value) == dt.date(2026, 11, 23)


@pytest.mark.parametrize("value", ["20261123", "2026-W48-1", "2026-11-23T00:00:00", "2026-13-01", "2026-02-30",
                                   "0", "", " 2026-11-23", "２０２６-11-23", 0, 1_700_000_000, 2026.5, None, True])
def test_anything_else_is_not_a_date(value: object) -> None:
    with pytest.raises(ValueError) as exc:
        parse_date(value)
    assert not isinstance(exc.value, DateRangeError)


@pytest.mark.parametrize("value", ["0001-01-01", "1899-12-31", "2200-01-01", "9999-12-31", MAX])
def test_dates_outside_the_business_calendar_are_refused(value: object) -> None:
    with pytest.raises(DateRangeError):
        parse_date(value)


def test_the_bounds_themselves_are_dates() -> None:
    assert parse_date("1900-01-01") == DATE_MIN and parse_date("2199-12-31") == DATE_MAX


@pytest.mark.parametrize("day, days, expected", [
    (dt.date(2026, 11, 23), 7, dt.date(2026, 11, 30)),
    (dt.date(2026, 11, 23), -7, dt.date(2026, 11, 16)),
    (dt.date(2026, 11, 23), 30.9, dt.date(2026, 12, 23)),    # whole days, as date + timedelta(days=30.9)
    (dt.date(2026, 11, 23), -30.9, dt.date(2026, 10, 24)),   # as date - timedelta(days=30.9)
    (MAX, 7, MAX), (MIN, -7, MIN), (MIN, -(10**30), MIN), (MAX, 10**30, MAX),
    (dt.date(2026, 1, 1), math.inf, MAX), (dt.date(2026, 1, 1), -math.inf, MIN),
])
def test_shift_saturates_at_the_ends_of_the_calendar(day: dt.date, days: float, expected: dt.date) -> None:
    assert shift(day, days) == expected


@pytest.mark.parametrize("op, days, value, as_of, holds", [
    ("in_next_days", 30, MAX, MAX, True),            # issue 12: agreement_expiry and as_of both 9999-12-31
    ("in_next_days", 10**12, dt.date(2030, 1, 1), dt.date(2026, 1, 1), True),
    ("in_next_days", 30, MIN, MIN, True),
    ("older_than_days", 30, MIN, MIN, False),
    ("older_than_days", 10**12, dt.date(1900, 1, 1), dt.date(2026, 1, 1), False),
    ("older_than_days", 30, dt.date(2026, 1, 1), MAX, True),
])
def test_relative_date_conditions_hold_at_the_ends_of_the_calendar(op: str, days: int, value: dt.date,
                                                                    as_of: dt.date, holds: bool) -> None:
    assert operator_holds(op, value, days, as_of) is holds


def test_contact_policies_apply_on_the_last_and_first_days_of_the_calendar(advisor: Advisor) -> None:
    # a FactSet built without validation may hold any date: rests (date + days) and weekly caps
    # (the week's Monday + 7) overflowed on 9999-12-31
    channels = {"visit", "phone", "message", "in_branch"}
    contacted = sorted(a.id for a in KB.actions.values() if a.channel in channels)[:6]
    for day in (MAX, MIN):
        client = {"id": "C1", "manager_id": "M1", "domain": "telecom", "agreement_expiry": day, "arrears_days": 40,
                  "arrears_amount": 5000, "members_individual_pay": 3}
        facts = build_fact_set({"client": [client], "manager": [{"id": "M1", "domain": "telecom"}]}, day, KB)
        recommended = [r.id for r in advisor.decide(facts, history=[]).clients[0].recommendations]
        rested = next(r for r in recommended if not KB.actions[r].duty)  # a duty (the arrears) never rests
        history = [FeedbackEvent(decision_id="d-1", subject_type="client", subject_id="C1", item_id=item,
                                 status="done" if item == rested else "accepted", date=day)
                   for item in [rested, *contacted]]
        held = advisor.decide(facts, history=history).clients[0].suppressed
        policies = {p.policy_id for r in held for p in r.suppressed_by}
        # a rest that would end after 9999-12-31 ends on it (shift saturates): held back until then
        assert policies >= ({"client_weekly_contacts"} if day == MAX else {"rest_after_done", "client_weekly_contacts"})


def test_decisions_on_unvalidated_facts_at_the_ends_of_the_calendar() -> None:
    soon = make_advisor(rule("t.soon", {"client.agreement_expiry": {"in_next_days": 10**12}},
                        {"actions": [action("renew_agreement_before_expiry")]}))
    for day in (MAX, MIN):
        facts = build_fact_set({"client": [{"id": "C1", "manager_id": "M1", "domain": "telecom",
                                            "agreement_expiry": day}]}, day, KB)
        decision = soon.decide(facts, history=[])
        assert [r.id for r in decision.clients[0].recommendations] == ["renew_agreement_before_expiry"]


def test_checking_a_rule_with_a_huge_day_count_does_not_overflow() -> None:
    # the static analysis built dates from the rule's day counts: OverflowError in `rm-advisor check`
    huge = rule("t.never", {"client.agreement_expiry": {"older_than_days": 10**12}},
                {"actions": [action("renew_agreement_before_expiry")]})
    diags = check_rules({"rules/test.yaml": rule_text(huge)}, KB)
    assert [d.code for d in diags if d.severity == "error"] == ["impossible_condition"]
    assert candidates_for(KB.facts["client"].fields["agreement_expiry"], [("in_next_days", 10**12, False)], MAX)


def test_shown_values_are_short_and_printable() -> None:
    assert shown("ten") == "ten" and shown(12) == "12" and shown(None) == "None"
    assert shown("\ud800\x00\x1b[31m") == "\\ud800\\x00\\x1b[31m"
    assert len(shown("x" * 1_000_000)) < 100 and len(shown(list(range(100_000)))) < 100
    assert "bits" in shown(10**5000)  # str() of such an integer raises ValueError
    shown([10**5000]).encode("utf-8")


def test_the_error_cap_has_a_code() -> None:
    assert "fact_error_limit" in CODES and Diagnostic("fact_error_limit", "x").code == "fact_error_limit"
