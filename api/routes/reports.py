"""Reports over the decision log: how recommendations fare with managers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from rm_advisor.api import present
from rm_advisor.api.deps import LangDep, LoadedDep, StoreDep, language_headers, read_access
from rm_advisor.api.problems import ErrorItem, Problem, documented
from rm_advisor.api.schemas import EffectivenessOut, IsoDate
from rm_advisor.engine.messages import N_
from rm_advisor.engine.policies import Thresholds
from rm_advisor.store import effectiveness_report, rule_health_report

router = APIRouter(prefix="/v1/reports", tags=["reports"], dependencies=[Depends(read_access)])

_DEFAULT = Thresholds()


@router.get("/effectiveness", response_model=EffectivenessOut,
            responses=documented("unauthorized", "invalid_request", "store_unavailable", "decision_log_off"),
            summary="Acceptance and completion per rule, action, manager and segment")
def effectiveness(
    store: StoreDep,
    loaded: LoadedDep,
    lang: LangDep,
    since: Annotated[IsoDate | None, Query(description="first as-of date of the decisions counted")] = None,
    until: Annotated[IsoDate | None, Query(description="last as-of date of the decisions counted")] = None,
    min_recommended: Annotated[int, Query(ge=1, description="noisy rules: recommended at least this often")
                               ] = _DEFAULT.min_recommended,
    min_decided: Annotated[int, Query(ge=1, description="noisy rules: at least this many accepted or rejected")
                           ] = _DEFAULT.min_decided,
    min_rejection_rate: Annotated[float, Query(ge=0.0, le=1.0, description="noisy rules: rejected at least this "
                                                                           "share")] = _DEFAULT.min_rejection_rate,
) -> Response:
    """The items recommended by logged decisions whose as-of date is in ``since`` .. ``until``
    (inclusive; open-ended when absent), each settled by its feedback into rejected, done, accepted,
    snoozed or unanswered. Acceptance = accepted (incl. done) / (accepted + rejected); completion =
    done / accepted. Rows with feedback come first. Noisy rules fire often and are nearly always
    rejected; ``rule_health`` says, for each, what the log suggests changing in the serving rule set
    (a tighter threshold the matched values support, a lower priority), with the counts."""
    if since is not None and until is not None and since > until:
        raise Problem("invalid_request", N_("since {since} is after until {until}"),
                      fields={"since": since, "until": until},
                      errors=[ErrorItem(code="bad_value", parameter="until", detail="must not be before since")])
    limits = Thresholds(min_recommended=min_recommended, min_decided=min_decided,
                        min_rejection_rate=min_rejection_rate)
    report = effectiveness_report(store, since, until, limits)
    health = rule_health_report(store, loaded.advisor, report)
    return present.effectiveness(report, health, lang).response(headers=language_headers(lang))
