"""Catalogues of the loaded knowledge base: actions, coaching topics, signals, fact types, feedback
reasons."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from starlette.responses import Response

from rm_advisor.api import present
from rm_advisor.api.access import reads
from rm_advisor.api.deps import LangDep, LoadedDep, language_headers
from rm_advisor.api.problems import ErrorItem, Problem, documented
from rm_advisor.api.schemas import (
    ActionList,
    ActionOut,
    CoachingList,
    CoachingOut,
    FactTypeList,
    FeedbackReasonList,
    SignalList,
)
from rm_advisor.engine.messages import N_

router = APIRouter(prefix="/v1/catalogues", tags=["catalogues"], dependencies=[Depends(reads)])

_READ = documented("unauthorized", "invalid_request")
_ONE = documented("unauthorized", "not_found", "invalid_request")
ItemId = Annotated[str, Path(max_length=200)]


def _missing(kind: str, item_id: str) -> Problem:
    return Problem("not_found", N_("no {kind} `{id}`"), fields={"kind": kind, "id": item_id},
                   errors=[ErrorItem(code="not_found", parameter=f"{kind}_id", detail=f"unknown {kind} `{item_id}`")])


@router.get("/actions", response_model=ActionList, responses=_READ, summary="The next-best-action catalogue")
def actions(loaded: LoadedDep, lang: LangDep) -> Response:
    items = [present.action(a, lang) for a in loaded.book.kb.actions.values()]
    return ActionList(revision=loaded.revision, count=len(items), actions=items).response(language_headers(lang))


@router.get("/actions/{action_id}", response_model=ActionOut, responses=_ONE, summary="One action")
def action(action_id: ItemId, loaded: LoadedDep, lang: LangDep) -> Response:
    item = loaded.book.kb.actions.get(action_id)
    if item is None:
        raise _missing("action", action_id)
    return present.action(item, lang).response(language_headers(lang))


@router.get("/coaching", response_model=CoachingList, responses=_READ, summary="The coaching catalogue")
def coaching(loaded: LoadedDep, lang: LangDep) -> Response:
    items = [present.coaching(c, lang) for c in loaded.book.kb.coaching.values()]
    return CoachingList(revision=loaded.revision, count=len(items), coaching=items).response(language_headers(lang))


@router.get("/coaching/{topic_id}", response_model=CoachingOut, responses=_ONE, summary="One coaching topic")
def coaching_topic(topic_id: ItemId, loaded: LoadedDep, lang: LangDep) -> Response:
    item = loaded.book.kb.coaching.get(topic_id)
    if item is None:
        raise _missing("topic", topic_id)
    return present.coaching(item, lang).response(language_headers(lang))


@router.get("/signals", response_model=SignalList, responses=_READ, summary="Derived signals rules can assert")
def signals(loaded: LoadedDep, lang: LangDep) -> Response:
    items = [present.signal(s, lang) for s in loaded.book.kb.signals.values()]
    return SignalList(revision=loaded.revision, count=len(items), signals=items).response(language_headers(lang))


@router.get("/facts", response_model=FactTypeList, responses=_READ,
            summary="Fact types and their fields: what a facts document may hold")
def fact_types(loaded: LoadedDep, lang: LangDep) -> Response:
    items = [present.fact_type(name, spec, lang) for name, spec in sorted(loaded.book.kb.facts.items())]
    return FactTypeList(revision=loaded.revision, count=len(items), fact_types=items).response(language_headers(lang))


@router.get("/feedback-reasons", response_model=FeedbackReasonList, responses=_READ,
            summary="Reason codes feedback may give, and the statuses each goes with")
def feedback_reasons(loaded: LoadedDep, lang: LangDep) -> Response:
    """The reason catalogue (``knowledge_base/feedback_reasons.yaml``): a rejection needs one of these
    codes, a snooze may have one; contact policies filter on them."""
    items = [present.feedback_reason(code, spec, lang) for code, spec in loaded.book.kb.feedback_reasons.items()]
    return FeedbackReasonList(revision=loaded.revision, count=len(items), reasons=items).response(
        language_headers(lang))
