"""Feedback events: what a manager did with a recommendation, as plain data for the contact policies.

The engine never reads them from a database: the caller (the store, a test) passes the events as a
list, and :mod:`engine.policies.contact` decides from them and the as-of date alone.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from rm_advisor.engine.language.knowledge import FeedbackStatus
from rm_advisor.engine.language.subjects import SubjectKey

STATUSES: tuple[FeedbackStatus, ...] = ("accepted", "rejected", "done", "snoozed")
#: Statuses after which an item takes no more feedback.
FINAL_STATUSES: frozenset[str] = frozenset({"rejected", "done"})
#: Statuses that mean the client was (or will be) contacted: they count against contact caps.
CONTACT_STATUSES: frozenset[str] = frozenset({"accepted", "done"})
#: Which status may follow which: a snoozed item can still be answered, an accepted one done or
#: rejected after all; rejected and done are final.
NEXT_STATUSES: dict[str | None, frozenset[str]] = {
    None: frozenset(STATUSES),
    "snoozed": frozenset({"accepted", "rejected", "done"}),
    "accepted": frozenset({"rejected", "done"}),
    "rejected": frozenset(),
    "done": frozenset(),
}


class FeedbackEvent(BaseModel):
    """One piece of feedback on one recommended item of one logged decision."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    decision_id: str
    subject_type: Literal["client", "manager"] = "client"
    subject_id: str
    item_id: str = Field(description="the action (or coaching topic) the feedback is about")
    status: FeedbackStatus
    reason_code: str | None = None
    date: dt.date = Field(description="business date of the feedback, on the facts' as-of timeline")
    until: dt.date | None = Field(default=None, description="a snoozed item comes back on this date")

    @property
    def subject(self) -> SubjectKey:
        return SubjectKey(self.subject_type, self.subject_id)
