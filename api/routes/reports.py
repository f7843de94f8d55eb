"""Reports over the decision log: how recommendations fare with managers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from starlette.responses import Response

from rm_advisor.api import present
from rm_advisor.api.access import Reader, managers_visible, no_data
from rm_advisor.api.deps import LangDep, LoadedDep, StoreDep, language_headers
from rm_advisor.api.problems import ErrorItem, Problem, documented
from rm_advisor.api.schemas import EffectivenessOut, ExperimentReportOut, IsoDate, SimulationOut
from rm_advisor.engine.authoring import ALPHA, MIN_PER_ARM, NAME_PATTERN
from rm_advisor.engine.messages import N_
from rm_advisor.engine.policies import Thresholds
from rm_advisor.store import effectiveness_report, experiment_report, rule_health_report
from rm_advisor.store.simulation import simulate

router = APIRouter(prefix="/v1/reports", tags=["reports"])

_DEFAULT = Thresholds()


@router.get("/effectiveness", response_model=EffectivenessOut,
            responses=documented("unauthorized", "forbidden", "invalid_request", "store_unavailable",
                                 "decision_log_off"),
            summary="Acceptance and completion per rule, action, manager and segment")
def effectiveness(
    store: StoreDep,
    loaded: LoadedDep,
    lang: LangDep,
    principal: Reader,
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
    (a tighter threshold the matched values support, a lower priority), with the counts. With user
    accounts, a manager's report counts their own book, a branch head's their branch's managers' (a
    rule author: 403 ``forbidden``)."""
    no_data(principal, store)
    if since is not None and until is not None and since > until:
        raise Problem("invalid_request", N_("since {since} is after until {until}"),
                      fields={"since": since, "until": until},
                      errors=[ErrorItem(code="bad_value", parameter="until", detail="must not be before since")])
    limits = Thresholds(min_recommended=min_recommended, min_decided=min_decided,
                        min_rejection_rate=min_rejection_rate)
    managers = managers_visible(principal, store) if principal is not None else None
    report = effectiveness_report(store, since, until, limits, managers)
    health = rule_health_report(store, loaded.advisor, report, managers)
    return present.effectiveness(report, health, lang).response(headers=language_headers(lang))


@router.get("/experiments/{experiment_id}", response_model=ExperimentReportOut,
            responses=documented("unauthorized", "forbidden", "invalid_request", "experiment_not_found",
                                 "store_unavailable", "decision_log_off"),
            summary="Acceptance and completion per arm of a champion/challenger experiment")
def experiment(
    store: StoreDep,
    lang: LangDep,
    principal: Reader,
    experiment_id: Annotated[str, Path(pattern=NAME_PATTERN, description="the experiment's id")],
    since: Annotated[IsoDate | None, Query(description="first as-of date of the decisions counted")] = None,
    until: Annotated[IsoDate | None, Query(description="last as-of date of the decisions counted")] = None,
    champion: Annotated[str | None, Query(pattern=NAME_PATTERN, description="the arm the others are compared with "
                                                                          "(default: `champion`, else the first "
                                                                          "by name)")] = None,
    min_per_arm: Annotated[int, Query(ge=1, description="fewest shown recommendations per arm before a difference "
                                                        "is judged")] = MIN_PER_ARM,
    alpha: Annotated[float, Query(gt=0.0, lt=1.0, description="significance level of the test")] = ALPHA,
) -> Response:
    """The recommendations each arm of the experiment showed in the logged decisions whose as-of
    date is in ``since`` .. ``until``: decisions, shown, accepted (incl. done) and done, acceptance
    (accepted / shown) and completion (done / shown) with Wilson 95 % intervals, and each challenger
    against the champion: the difference with its interval, the two-sided two-proportion z test and
    a verdict, ``not_enough_evidence`` while an arm has fewer than ``min_per_arm`` shown
    recommendations or the difference is not significant at ``alpha``. Every manager's book is
    counted, so with user accounts only an administrator (or the API key) may ask for it (others:
    403 ``forbidden``)."""
    if principal is not None and managers_visible(principal, store) is not None:
        raise Problem("forbidden", N_("your role does not give access to this"))
    if since is not None and until is not None and since > until:
        raise Problem("invalid_request", N_("since {since} is after until {until}"),
                      fields={"since": since, "until": until},
                      errors=[ErrorItem(code="bad_value", parameter="until", detail="must not be before since")])
    report = experiment_report(store, experiment_id, since, until, champion=champion, min_per_arm=min_per_arm,
                               alpha=alpha)
    return present.experiment(report, lang).response(headers=language_headers(lang))


@router.get("/simulation", response_model=SimulationOut,
            responses=documented("unauthorized", "forbidden", "invalid_request", "store_unavailable",
                                 "decision_log_off"),
            summary="Replay a period of the decision log on the serving rules: what would change, estimated acceptance")
def simulation(
    store: StoreDep,
    loaded: LoadedDep,
    lang: LangDep,
    principal: Reader,
    since: Annotated[IsoDate | None, Query(description="first as-of date of the decisions replayed")] = None,
    until: Annotated[IsoDate | None, Query(description="last as-of date of the decisions replayed")] = None,
    resamples: Annotated[int, Query(ge=10, le=5000, description="bootstrap resamples of the interval")] = 1000,
    seed: Annotated[int, Query(ge=0, description="seed of the bootstrap")] = 0,
) -> Response:
    """Each logged decision whose as-of date is in ``since`` .. ``until`` made again on the serving
    rule set (as ``rm-advisor simulate`` does with a rules directory): the differences by kind, the
    shown items added and removed, and the acceptance the serving rules would have had — a doubly
    robust off-policy estimate with its 95 % bootstrap interval and the IPS over the items shown
    before beside it (propensities from the logged ranks; see the README). Every manager's book is
    replayed, so with user accounts only an administrator (or the API key) may ask (others: 403
    ``forbidden``)."""
    if principal is not None and managers_visible(principal, store) is not None:
        raise Problem("forbidden", N_("your role does not give access to this"))
    if since is not None and until is not None and since > until:
        raise Problem("invalid_request", N_("since {since} is after until {until}"),
                      fields={"since": since, "until": until},
                      errors=[ErrorItem(code="bad_value", parameter="until", detail="must not be before since")])
    result = simulate(store, loaded.advisor, since, until, resamples, seed)
    return present.simulation(result, lang).response(headers=language_headers(lang))
