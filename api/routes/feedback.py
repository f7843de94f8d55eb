"""Feedback: what a manager did with a recommended item (accepted, rejected, done, snoozed)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body
from starlette.responses import Response

from rm_advisor.api import examples, present
from rm_advisor.api.access import Writer, may_see_manager
from rm_advisor.api.deps import LoadedDep, StoreDep
from rm_advisor.api.problems import ErrorItem, Problem, documented
from rm_advisor.api.routes.decision_log import visible_decision
from rm_advisor.api.schemas import FeedbackIn, FeedbackOut
from rm_advisor.engine.messages import N_
from rm_advisor.store import FeedbackInput

router = APIRouter(prefix="/v1/feedback", tags=["feedback"])


@router.post("", response_model=FeedbackOut, status_code=201,
             responses=documented("bad_json", "unauthorized", "csrf_failed", "forbidden", "body_too_large",
                                  "unsupported_media_type",
                                  "invalid_request", "decision_not_found", "feedback_duplicate", "feedback_conflict",
                                  "feedback_unknown_item", "feedback_bad_value", "unknown_reason_code",
                                  "feedback_reason_kind", "store_unavailable", "decision_log_off"),
             summary="Record feedback on a recommended item (API key when the server has one)")
def add(body: Annotated[FeedbackIn, Body(openapi_examples=examples.FEEDBACK)], store: StoreDep,
        loaded: LoadedDep, principal: Writer) -> Response:
    """Record one piece of feedback on an item a logged decision recommended. It is committed before
    the 201 answer, so acknowledged feedback survives a crash of the server.

    A rejection needs a reason code that goes with it (``GET /v1/catalogues/feedback-reasons``) and
    fits the action's kind (422 ``feedback_reason_kind``: ``client_not_interested`` on a risk action);
    a risk or obligation action is snoozed only with ``until``;
    rejected and done are final; the same status twice on one item is 409 ``feedback_duplicate``
    (a retry of an acknowledged request gets it too: the feedback is recorded). The next decision
    about the client sees the feedback through the contact policies.

    With user accounts, a user gives feedback only on decisions about the books they see (else 404
    ``decision_not_found``, as for an unknown id); a manager's feedback is recorded as theirs
    (``manager_id`` another manager's: 403 ``forbidden``)."""
    fb = FeedbackInput.model_validate(body.model_dump())
    if principal is not None:
        visible_decision(store, fb.decision_id, principal)
        if fb.manager_id is not None and not may_see_manager(principal, fb.manager_id, store):
            raise Problem("forbidden", N_("you cannot give feedback in another manager's name"),
                          [ErrorItem(code="forbidden", pointer="/manager_id", detail="not a manager you answer for")])
        if fb.manager_id is None and principal.role == "manager":
            fb = fb.model_copy(update={"manager_id": principal.manager_id})
    kb = loaded.book.kb
    record = store.feedback.add(fb, source="api", reasons=kb.feedback_reasons, actions=kb.actions)
    return present.feedback(record).response(status_code=201)
