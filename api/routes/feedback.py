"""Feedback: what a manager did with a recommended item (accepted, rejected, done, snoozed)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends
from starlette.responses import Response

from rm_advisor.api import examples, present
from rm_advisor.api.deps import LoadedDep, StoreDep, write_access
from rm_advisor.api.problems import documented
from rm_advisor.api.schemas import FeedbackIn, FeedbackOut
from rm_advisor.store import FeedbackInput

router = APIRouter(prefix="/v1/feedback", tags=["feedback"])


@router.post("", response_model=FeedbackOut, status_code=201, dependencies=[Depends(write_access)],
             responses=documented("bad_json", "unauthorized", "body_too_large", "unsupported_media_type",
                                  "invalid_request", "decision_not_found", "feedback_duplicate", "feedback_conflict",
                                  "feedback_unknown_item", "feedback_bad_value", "unknown_reason_code",
                                  "feedback_reason_kind", "store_unavailable", "decision_log_off"),
             summary="Record feedback on a recommended item (API key when the server has one)")
def add(body: Annotated[FeedbackIn, Body(openapi_examples=examples.FEEDBACK)], store: StoreDep,
        loaded: LoadedDep) -> Response:
    """Record one piece of feedback on an item a logged decision recommended. It is committed before
    the 201 answer, so acknowledged feedback survives a crash of the server.

    A rejection needs a reason code that goes with it (``GET /v1/catalogues/feedback-reasons``) and
    fits the action's kind (422 ``feedback_reason_kind``: ``client_not_interested`` on a risk action);
    a risk or obligation action is snoozed only with ``until``;
    rejected and done are final; the same status twice on one item is 409 ``feedback_duplicate``
    (a retry of an acknowledged request gets it too: the feedback is recorded). The next decision
    about the client sees the feedback through the contact policies."""
    fb = FeedbackInput.model_validate(body.model_dump())
    kb = loaded.book.kb
    record = store.feedback.add(fb, source="api", reasons=kb.feedback_reasons, actions=kb.actions)
    return present.feedback(record).response(status_code=201)
