"""The rule set: its revision and counts, and reloading it from disk."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from rm_advisor.api import metrics, present
from rm_advisor.api.access import reads
from rm_advisor.api.deps import LiveDep, LoadedDep, OptionalStoreDep, SettingsDep, require_key
from rm_advisor.api.problems import Problem, documented, rule_set_problem
from rm_advisor.api.routes.releases import four_eyes_on
from rm_advisor.api.ruleset import removed_packs
from rm_advisor.api.schemas import ReloadResult, RuleSetInfo
from rm_advisor.engine.errors import RuleError
from rm_advisor.engine.messages import N_

router = APIRouter(prefix="/v1/ruleset", tags=["rule set"])


@router.get("", response_model=RuleSetInfo, responses=documented("unauthorized"),
            dependencies=[Depends(reads)], summary="The serving rule-set revision and counts")
def info(loaded: LoadedDep) -> Response:
    """Revision (a content hash of the rule and knowledge-base files), when this worker loaded it,
    and how many rules, actions, coaching topics, signals and fact types it has."""
    return present.rule_set_info(loaded).response()


@router.post("/reload", response_model=ReloadResult, dependencies=[Depends(require_key)],
             responses=documented("unauthorized", "key_not_configured", "packs_removed", "rule_set_invalid",
                                  "rules_unreadable", "four_eyes_required"),
             summary="Reload the rule set from disk (API key)")
def reload(request: Request, live: LiveDep, settings: SettingsDep, store: OptionalStoreDep,
           allow_removed_packs: Annotated[bool, Query(description="confirm that rule files serving now and gone "
                                                                  "from disk are to be removed")] = False,
           ) -> Response:
    """Read, check and compile the rule and knowledge-base files again, then swap atomically.

    A rule set with any error is refused (422 ``rule_set_invalid``, every problem counted and
    the first ``max_diagnostics`` located at file:line:column, errors first; ``detail`` names the
    first error) and the previous revision keeps serving. A rule file (pack or contact policies)
    that serves now and is gone from disk is refused too (409 ``packs_removed``, naming each file
    and how many rules it takes with it) unless ``allow_removed_packs=true``; the answer then
    lists it in ``removed_packs``. Requests in flight finish on the revision they started with;
    every worker process answers with the new revision from the next request on.

    With four eyes on (``four_eyes``: auto, once the database has user accounts), rule changes go
    through ``/v1/releases`` and this route answers 403 ``four_eyes_required``, for the API key too."""
    if four_eyes_on(request, settings, store):
        raise Problem("four_eyes_required", N_("this server takes rule changes as releases (four eyes): propose one "
                                               "with POST /v1/releases for another user to approve"))
    request.state.revision = live.revision  # a refusal names the revision that keeps serving
    try:
        previous, current = live.reload(allow_removed_packs)
    except RuleError as exc:  # formatted here, in the worker thread, not on the event loop
        metrics.reloaded(False)
        raise rule_set_problem(exc, settings.max_diagnostics) from exc
    except Exception:  # packs_removed, rules_unreadable
        metrics.reloaded(False)
        raise
    metrics.reloaded(True)
    request.state.revision = current.revision
    return ReloadResult(revision=current.revision, previous_revision=previous.revision,
                        changed=current is not previous, rules=len(current.book.rules),
                        loaded_at=current.loaded_at,
                        removed_packs=removed_packs(previous, current.rule_files)).response()
