"""The decision log: logged decisions (newest first, or one by id with its feedback) and replays."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from starlette.responses import Response

from rm_advisor.api import present
from rm_advisor.api.access import Principal, Reader, managers_visible, may_see_all, no_data
from rm_advisor.api.deps import LangDep, LoadedDep, StoreDep, language_headers
from rm_advisor.api.problems import ErrorItem, Problem, documented
from rm_advisor.api.routes.decisions import ItemQuery, RuleQuery, check_known, explain_subjects
from rm_advisor.api.schemas import (
    PRINTABLE,
    DecisionList,
    ExplanationsResponse,
    Flag,
    IsoDate,
    LoggedDecisionResponse,
    ReplayOut,
)
from rm_advisor.engine.language import SubjectKey
from rm_advisor.store import LoggedDecision, Store
from rm_advisor.store import replay as replay_decision
from rm_advisor.store.decision_log import managers_of, not_found

router = APIRouter(prefix="/v1/decisions", tags=["decision log"])

DecisionId = Annotated[str, Path(min_length=1, max_length=64, pattern=PRINTABLE,
                                 description="`decision_id` of a logged decision")]
_LOG = ("unauthorized", "invalid_request", "store_unavailable", "decision_log_off")


def visible_decision(store: Store, decision_id: str, principal: Principal | None) -> LoggedDecision:
    """The logged decision, if the principal may see every manager its input concerns; else the
    same 404 ``decision_not_found`` as for an id that was never logged (never data)."""
    record = store.decisions.get(decision_id)
    if not may_see_all(principal, managers_of(record.input), store):
        raise not_found(decision_id)
    return record


@router.get("", response_model=DecisionList, responses=documented("forbidden", *_LOG),
            summary="The latest logged decisions")
def recent(store: StoreDep, principal: Reader,
           limit: Annotated[int, Query(ge=1, le=500, description="at most this many")] = 20,
           since: Annotated[IsoDate | None, Query(description="only decisions as of this date or later")] = None,
           ) -> Response:
    """Logged decisions, newest first: id, when and by what (api, cli, batch) they were logged,
    revision, as-of date, and how many items were recommended and held back by contact policies."""
    no_data(principal, store)
    managers = managers_visible(principal, store) if principal is not None else None
    return present.decision_list(store.decisions.recent(limit, since, managers)).response()


@router.get("/{decision_id}", response_model=LoggedDecisionResponse,
            responses=documented("decision_not_found", *_LOG), summary="One logged decision with its feedback")
def logged(decision_id: DecisionId, store: StoreDep, lang: LangDep, principal: Reader,
           explain: Annotated[Flag, Query(description="include the rule and signal chain")] = True) -> Response:
    """The decision as it was answered (recommendations, vetoed, suppressed, with the trace), its
    input with sensitive fields masked, and the feedback given on it."""
    record = visible_decision(store, decision_id, principal)
    feedback = store.feedback.for_decision(decision_id)
    return present.logged_decision(record, feedback, lang, explain).response(language_headers(lang))


@router.get("/{decision_id}/replay", response_model=ReplayOut,
            responses=documented("decision_not_found", "revision_not_logged", *_LOG),
            summary="Re-run a logged decision on its revision and on the serving one")
def replay(decision_id: DecisionId, store: StoreDep, loaded: LoadedDep, principal: Reader,
           current: Annotated[Flag, Query(description="also replay on the serving rule set")] = True) -> Response:
    """Decide the logged (masked) input again with the logged as-of date, limit and feedback history:
    on the rule set stored in the log for the decision's revision (``on_logged``, which must be
    identical) and on the serving rule set (``on_current``: what a rule change did to it). The first
    replay of an older revision compiles its rule set (about a second)."""
    visible_decision(store, decision_id, principal)
    report = replay_decision(store.decisions, decision_id, loaded.advisor if current else None)
    return present.replay(report).response()


@router.get("/{decision_id}/explain", response_model=ExplanationsResponse,
            responses=documented("decision_not_found", "revision_not_logged", "unknown_item", "subject_not_in_facts",
                                 *_LOG),
            summary="Why, and why not, for a logged decision")
def explain_logged(decision_id: DecisionId, store: StoreDep, lang: LangDep, principal: Reader,
                   item: ItemQuery = None,
                   rule: RuleQuery = None,
                   subject: Annotated[str | None, Query(max_length=220, pattern=r"^(client|manager):.+$", description=(
                       "client:ID or manager:ID (default: the subject the decision was asked for, else every "
                       "subject)"))] = None) -> Response:
    """The logged decision made again on its own revision (its masked input, as-of date and feedback
    history, as a replay makes it), then explained as `POST .../explain` explains: `item` why (not)
    that action or coaching topic, `rule` why (not) that rule, neither why each recommendation or why
    nothing."""
    from rm_advisor.engine.authoring import Explainer
    from rm_advisor.engine.loading import Locator

    if item is not None and rule is not None:
        raise Problem("invalid_request", "give `item` or `rule`, not both",
                      [ErrorItem(code="item_and_rule", parameter="rule", detail="`item` is given too")])
    record = visible_decision(store, decision_id, principal)
    advisor = store.decisions.advisor_for(record.revision)
    book = advisor.book
    check_known(book.kb, {r.id for r in book.rules}, item, rule)
    run = advisor.run(record.input, as_of=record.as_of, history=record.history)
    ex = Explainer(book, run, Locator.from_files(dict(book.sources.rules) if book.sources else {}))
    named = subject or record.subject
    if named is None:
        subjects = [s for t in book.kb.subjects() for s in ex.subjects(t)]
    else:
        key = SubjectKey.parse(named)
        if run.fact_set.get(key.type, key.id) is None:
            raise Problem("subject_not_in_facts", f"no {key.type} `{key.id}` in the decision's input",
                          [ErrorItem(code="subject_not_in_facts", parameter="subject", detail=f"`{named}` was not "
                                     "posted with this decision")])
        subjects = [key]
    found = explain_subjects(ex, subjects, item, rule)
    return present.explanations(book.revision, record.as_of, found, lang).response(language_headers(lang))
