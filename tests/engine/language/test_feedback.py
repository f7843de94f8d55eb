"""engine/language/feedback.py: feedback events as plain data, and which status may follow which."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pydantic import ValidationError

from rm_advisor.engine.language.feedback import (
    CONTACT_STATUSES,
    FINAL_STATUSES,
    NEXT_STATUSES,
    STATUSES,
    FeedbackEvent,
)

EVENT: dict[str, Any] = {"decision_id": "d-1", "subject_id": "T-001", "item_id": "guide_to_network_ordering",
                         "status": "snoozed", "date": "2026-11-20", "until": "2026-12-01"}


def test_an_event_is_read_from_plain_data_about_a_client_by_default() -> None:
    e = FeedbackEvent.model_validate(EVENT)
    assert (e.subject_type, e.date, e.until, e.reason_code) == ("client", dt.date(2026, 11, 20), dt.date(2026, 12, 1),
                                                                None)
    assert FeedbackEvent.model_validate(e.model_dump()) == e


@pytest.mark.parametrize("change, field", [
    ({"status": "ignored"}, "status"), ({"subject_type": "team"}, "subject_type"),
    ({"date": "20/11/2026"}, "date"), ({"comment": "later"}, "comment"),
])
def test_an_event_that_is_not_feedback_is_refused(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as exc:
        FeedbackEvent.model_validate({**EVENT, **change})
    assert [e["loc"] for e in exc.value.errors()] == [(field,)]


def test_an_event_cannot_be_changed() -> None:
    e = FeedbackEvent.model_validate(EVENT)
    with pytest.raises(ValidationError):
        e.status = "done"  # type: ignore[misc]


def test_a_first_answer_may_be_any_status_and_a_final_one_takes_no_other() -> None:
    assert NEXT_STATUSES[None] == frozenset(STATUSES)
    assert set(NEXT_STATUSES) == {None, *STATUSES}
    assert {s for s in STATUSES if not NEXT_STATUSES[s]} == FINAL_STATUSES == {"rejected", "done"}


def test_a_snoozed_item_can_still_be_answered_and_an_accepted_one_done_or_rejected() -> None:
    assert NEXT_STATUSES["snoozed"] == {"accepted", "rejected", "done"}
    assert NEXT_STATUSES["accepted"] == {"rejected", "done"}


def test_contacts_are_what_reached_the_client() -> None:
    assert CONTACT_STATUSES == {"accepted", "done"} and CONTACT_STATUSES <= set(STATUSES)
