"""Administration of the decision log (the admin key, or a user with the administrator role): purge
old decisions, forget one client."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from rm_advisor.api import examples
from rm_advisor.api.access import Administrator
from rm_advisor.api.deps import LoadedDep, StoreDep
from rm_advisor.api.problems import documented
from rm_advisor.api.schemas import PRINTABLE, Out
from rm_advisor.store.retention import Erasure, erasures, forget, purge

router = APIRouter(prefix="/v1/admin/decision-log", tags=["administration"])

_ADMIN = ("unauthorized", "forbidden", "csrf_failed", "key_not_configured", "store_unavailable", "decision_log_off")
_BODY = ("bad_json", "body_too_large", "unsupported_media_type", "invalid_request")
_BY = Field(default="api", min_length=1, max_length=200, pattern=PRINTABLE,
            description="who asks for it, recorded with the erasure (an operator's name or a ticket; no personal "
                        "data of the client); a user with the administrator role is recorded by their name")


class PurgeIn(BaseModel):
    """Which decisions a purge removes."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    older_than_days: int = Field(ge=1, le=1_000_000, description="remove decisions logged longer ago than this "
                                                                 "many days (400: the `--older-than 400d` of the CLI)")
    by: str = _BY


class ForgetIn(BaseModel):
    """Whose personal data a forget erases."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    client_id: str = Field(min_length=1, max_length=200, pattern=PRINTABLE, description="the client's id")
    by: str = _BY


class ErasureOut(Out):
    """A purge or forget as recorded (no personal data: a forget does not name the client)."""

    id: int = Field(description="the erasure's number")
    kind: str = Field(description="purge | forget")
    at: dt.datetime
    by: str
    before: dt.datetime | None = Field(default=None, description="purge: decisions logged before this were removed")
    decisions: int = Field(description="decisions removed (purge) or changed (forget)")
    items: int = Field(description="decision items removed or renamed")
    feedback: int = Field(description="feedback events removed or renamed")
    kept_snoozed: int = Field(default=0, description="purge: old decisions kept because a snooze on them still runs")


class ErasureList(Out):
    erasures: list[ErasureOut]


def _out(e: Erasure) -> ErasureOut:
    return ErasureOut.model_validate(e.model_dump())


@router.post("/purge", response_model=ErasureOut, responses=documented(*_BODY, *_ADMIN),
             summary="Remove old decisions; the effectiveness report keeps their counts (administrators)")
def purge_route(body: Annotated[PurgeIn, Body(openapi_examples=examples.PURGE)], store: StoreDep,
                admin: Administrator) -> Response:
    """Remove the decisions logged more than ``older_than_days`` days ago, with their items and
    feedback, in one transaction. Their shown recommendations, settled by their feedback, stay in
    the effectiveness rollup, so ``GET /v1/reports/effectiveness`` over a purged period answers as
    before. Decisions with a snooze still running are kept until it ends. Recorded as an erasure."""
    return _out(purge(store.db, body.older_than_days, admin or body.by)).response()


@router.post("/forget", response_model=ErasureOut, responses=documented(*_BODY, *_ADMIN),
             summary="Erase one client's personal data from the decision log (administrators)")
def forget_route(body: Annotated[ForgetIn, Body(openapi_examples=examples.FORGET)], store: StoreDep,
                 loaded: LoadedDep, admin: Administrator) -> Response:
    """Remove the client's personal data from every logged decision, item and feedback event that
    holds any (the right to deletion of the Personal Information Protection Law): its id becomes
    a pseudonym, its facts keep only domain, manager and segment, its interactions go, what its
    facts put in its texts and traces is masked, and other subjects' texts lose its id. Items and
    feedback stay, so counts and reports stay. Recorded as an erasure without the client's id; a
    replay of a decision it changed answers 409 ``decision_erased``."""
    return _out(forget(store.db, loaded.book.kb, body.client_id, admin or body.by)).response()


@router.get("/erasures", response_model=ErasureList, responses=documented("invalid_request", *_ADMIN),
            summary="The purges and forgets done, newest first (administrators)")
def erasures_route(store: StoreDep, _admin: Administrator,
                   limit: Annotated[int, Query(ge=1, le=500, description="at most this many")] = 50) -> Response:
    """Each purge and forget: when, by whom, and how many decisions, items and feedback events it
    removed or changed."""
    return ErasureList(erasures=[_out(e) for e in erasures(store.db, limit)]).response()
