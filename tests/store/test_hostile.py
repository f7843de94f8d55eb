"""The decision log on the hostile inputs of issue 12, on SQLite and PostgreSQL: each is refused at
validation (a FactError, nothing logged) before any database sees it, and the feedback look-back
window cannot overflow at the ends of the calendar."""

from __future__ import annotations

import datetime as dt

import pytest

from rm_advisor.engine import Advisor, FactError
from rm_advisor.store import Store, decide_and_log
from tests.hostile import HOSTILE, telecom


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_facts_are_refused_before_the_database(store: Store, advisor: Advisor, name: str) -> None:
    doc, expected = HOSTILE[name]
    with pytest.raises(FactError) as exc:
        decide_and_log(store, advisor, doc, source="api")
    assert sorted((d.code, d.location.path) for d in exc.value.diagnostics) == sorted(expected)
    assert store.decisions.recent() == []


def test_the_last_day_of_the_business_calendar_is_logged(store: Store, advisor: Advisor) -> None:
    decision = decide_and_log(store, advisor, telecom(as_of="2199-12-31", agreement_expiry="2199-12-31"), source="api")
    assert decision.id is not None and store.decisions.get(decision.id).as_of == dt.date(2199, 12, 31)


@pytest.mark.parametrize("day", [dt.date.min, dt.date.max])
def test_the_feedback_window_saturates_at_the_ends_of_the_calendar(store: Store, advisor: Advisor,
                                                                    day: dt.date) -> None:
    # as_of 0001-01-01 minus the longest rest was an OverflowError (store/feedback.py history_for)
    assert store.feedback.history_for([("client", "C1")], day, advisor.book.policies) == []
