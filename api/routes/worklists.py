"""Read models of the manager workspace for CRMs and the pages: a manager's week, what was held
back, the coaching, a client with "why not", the team. Served from the newest logged batch decision
of each manager's book (:mod:`api.readmodels`), scoped to what the caller may see: a manager their
own book, a branch head the managers of the branch, an administrator or the server's API key every
one. What the caller may not see is 404, as what does not exist."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from starlette.responses import Response

from rm_advisor.api.access import ApiUser, Principal, managers_visible, may_see_manager, require_manager
from rm_advisor.api.deps import LangDep, LoadedDep, StoreDep, language_headers
from rm_advisor.api.problems import ErrorItem, Problem, documented
from rm_advisor.api.readmodels import (
    ClientView,
    CoachingView,
    HeldBackView,
    TeamView,
    WhyNotView,
    WorklistView,
    Workspace,
)
from rm_advisor.api.schemas import PRINTABLE
from rm_advisor.engine.messages import N_
from rm_advisor.store import LoggedDecision, Store

router = APIRouter(tags=["workspace"])

ManagerId = Annotated[str, Path(min_length=1, max_length=200, pattern=PRINTABLE, description="the manager's id")]
ItemId = Annotated[str, Path(min_length=1, max_length=200, pattern=PRINTABLE, description="an action of the catalogue")]
ClientId = Annotated[str, Path(min_length=1, max_length=200, pattern=PRINTABLE, description="the client's id")]
_READ = ("unauthorized", "invalid_request", "not_found", "store_unavailable", "decision_log_off")


def workspace(store: StoreDep, loaded: LoadedDep) -> Workspace:
    """The read models over the decision store and the knowledge base being served."""
    return Workspace(store, loaded.book.kb)


WorkspaceDep = Annotated[Workspace, Depends(workspace)]


def manager_decision(ws: Workspace, principal: Principal, manager_id: str) -> LoggedDecision:
    """The newest logged batch decision of a manager the principal may see; 404 otherwise."""
    require_manager(principal, manager_id, ws.store)
    record = ws.decision_of(manager_id)
    if record is None:  # a manager the principal may see: saying there is no batch run tells nothing new
        raise Problem("not_found", N_("no logged batch run has a worklist for this manager; run "
                                      "`rm-advisor batch --log` first"),
                      errors=[ErrorItem(code="not_found", parameter="manager_id", detail="no logged batch decision")])
    return record


def client_decision(ws: Workspace, principal: Principal, client_id: str) -> tuple[str, LoggedDecision]:
    """The manager of a client the principal may see and that manager's newest decision; 404 otherwise,
    the same whether the client is unknown or another manager's (nothing tells them apart)."""
    manager_id = ws.manager_of_client(client_id)
    if manager_id is None or not may_see_manager(principal, manager_id, ws.store):
        raise Problem("not_found", N_("nothing found"))
    return manager_id, manager_decision(ws, principal, manager_id)


def client_view(ws: Workspace, principal: Principal, client_id: str, lang: str) -> ClientView:
    manager_id, record = client_decision(ws, principal, client_id)
    view = ws.client(record, manager_id, client_id, lang)
    if view is None:
        raise Problem("not_found", N_("nothing found"))
    return view


def why_not_view(ws: Workspace, principal: Principal, client_id: str, item: str, lang: str) -> WhyNotView:
    _, record = client_decision(ws, principal, client_id)
    if item not in ws.kb.actions:
        raise Problem("unknown_item", N_("`{item}` is not an action of the catalogue"), fields={"item": item},
                      errors=[ErrorItem(code="unknown_item", parameter="item",
                                        detail="not in GET /v1/catalogues/actions")])
    return ws.why_not(record, client_id, item, lang)


def visible(principal: Principal, store: Store) -> frozenset[str] | None:
    return managers_visible(principal, store)


@router.get("/v1/worklists/{manager_id}", response_model=WorklistView, responses=documented(*_READ),
            summary="A manager's week: the worklist within capacity")
def get_worklist(manager_id: ManagerId, principal: ApiUser, ws: WorkspaceDep, lang: LangDep) -> Response:
    """The manager's week from the newest logged batch decision of the book: visits and calls ranked,
    planned within the week's capacity and deferred beyond it, the desk work apart, the sales asks set
    aside from duty contacts; each action with its top reason, the rules behind it (with the source
    quote, the facts matched and the derived-signal chain) and the feedback recorded on it since."""
    record = manager_decision(ws, principal, manager_id)
    return ws.worklist(record, manager_id, lang).response(language_headers(lang))


@router.get("/v1/worklists/{manager_id}/held-back", response_model=HeldBackView, responses=documented(*_READ),
            summary="What was held back from a manager's week")
def get_held_back(manager_id: ManagerId, principal: ApiUser, ws: WorkspaceDep, lang: LangDep) -> Response:
    """Items the rules vetoed and the contact policies suppressed, each with the veto or policy and
    the day it may come back."""
    record = manager_decision(ws, principal, manager_id)
    return ws.held_back(record, manager_id, lang).response(language_headers(lang))


@router.get("/v1/worklists/{manager_id}/coaching", response_model=CoachingView, responses=documented(*_READ),
            summary="A manager's coaching with its evidence")
def get_coaching(manager_id: ManagerId, principal: ApiUser, ws: WorkspaceDep, lang: LangDep) -> Response:
    """The coaching topics for the manager: diagnosis, next behaviour, evidence and review."""
    record = manager_decision(ws, principal, manager_id)
    return ws.coaching(record, manager_id, lang).response(language_headers(lang))


@router.get("/v1/clients/{client_id}", response_model=ClientView, responses=documented(*_READ),
            summary="A client: profile, interactions, ranked actions")
def get_client(client_id: ClientId, principal: ApiUser, ws: WorkspaceDep, lang: LangDep) -> Response:
    """The client as the newest logged batch decision of its manager's book has it (sensitive fields
    are masked in the log and left out here): profile, the latest interactions, the ranked actions
    with their why, what is held back, and the other actions of its domain for "why not"."""
    return client_view(ws, principal, client_id, lang).response(language_headers(lang))


@router.get("/v1/clients/{client_id}/why-not/{item}", response_model=WhyNotView,
            responses=documented("unknown_item", *_READ), summary="Why an action was not recommended to a client")
def get_why_not(client_id: ClientId, item: ItemId, principal: ApiUser, ws: WorkspaceDep, lang: LangDep) -> Response:
    """The logged input decided again on its own revision and explained: each rule that would
    recommend the action, the conditions that failed and the smallest change that would flip each."""
    return why_not_view(ws, principal, client_id, item, lang).response(language_headers(lang))


@router.get("/v1/team", response_model=TeamView, responses=documented(*_READ),
            summary="The managers the caller may see, with their week")
def get_team(principal: ApiUser, ws: WorkspaceDep, lang: LangDep) -> Response:
    """One row per manager the caller may see (a branch head: the branch's managers): capacity used,
    planned and deferred contacts, acceptance so far and the coaching count."""
    return ws.team(visible(principal, ws.store), lang).response(language_headers(lang))
