"""Decisions: next-best-actions for a client, coaching for a manager, from posted facts.

With the decision log on (the default), each decision is made with the contact policies and the
feedback history from the store, and logged before it is answered: its ``decision_id`` then takes
feedback and replays. Without it, the engine decides alone and nothing is stored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from starlette.responses import Response

from rm_advisor.api import examples, metrics, observe, paths, present
from rm_advisor.api.access import Decider, Principal, may_see_all, reads
from rm_advisor.api.deps import LangDep, LoadedDep, OptionalStoreDep, SettingsDep, language_headers
from rm_advisor.api.problems import ErrorItem, Problem, documented
from rm_advisor.api.ruleset import LoadedRuleSet
from rm_advisor.api.schemas import (
    DecisionsResponse,
    ExplanationsResponse,
    FactsDocument,
    Flag,
    SubjectDecisionResponse,
    SubjectType,
)
from rm_advisor.api.settings import Settings
from rm_advisor.engine.derivation import Prefer
from rm_advisor.engine.language import Decision, KnowledgeBase, SubjectDecision, SubjectKey
from rm_advisor.engine.messages import N_
from rm_advisor.store import ExperimentArm, ExperimentRun, Posted, Store, decide_and_log
from rm_advisor.store.decision_log import managers_of

if TYPE_CHECKING:
    from rm_advisor.engine.authoring import Explainer, Explanation

router = APIRouter(prefix="/v1/decisions", tags=["decisions"], dependencies=[Depends(reads)])

_PROBLEMS = documented("bad_json", "unauthorized", "forbidden", "csrf_failed", "body_too_large",
                       "unsupported_media_type", "invalid_request", "invalid_facts", "too_many_subjects",
                       "inference_failed", "store_unavailable")

Top = Annotated[int | None, Query(ge=1, le=100, description="show at most this many recommendations per subject "
                                                              "(the decision log keeps them all)")]
PreferQuery = Annotated[Prefer, Query(
    description="given: a field the facts give keeps its value and the posted interactions fill only what is "
                "missing; history: what the interactions give replaces it")]
Explain = Annotated[Flag, Query(description="include the rule and signal chain behind each recommendation")]


def _check_size(doc: dict[str, Any], kb: KnowledgeBase, limit: int) -> None:
    lists = {kb.facts[t].plural: doc.get(kb.facts[t].plural) for t in kb.subjects()}
    count = sum(len(v) for v in lists.values() if isinstance(v, list))
    if count > limit:
        raise Problem("too_many_subjects", N_("{count} clients and managers posted; at most {limit} per request"),
                      fields={"count": count, "limit": limit},
                      errors=[ErrorItem(code="too_many_subjects", pointer=f"/{name}", detail=f"{len(v)} posted")
                       for name, v in lists.items() if isinstance(v, list) and v])


def _facts(loaded: LoadedRuleSet, body: FactsDocument, settings: Settings, prefer: Prefer,
           principal: Principal | None = None, store: Store | None = None) -> Posted:
    """The posted facts, counted and then validated (once: deciding and logging reuse the result).

    A user decides only for the books they see (the feedback history of other managers' clients
    stays theirs): facts of another manager are 403 ``forbidden``."""
    doc = body.model_dump(exclude_unset=True)  # a null the client sent is checked as the library checks it
    if principal is not None and store is not None and not may_see_all(principal, managers_of(doc), store):
        raise Problem("forbidden", N_("the posted facts hold clients or managers of a book you do not see"))
    _check_size(doc, loaded.book.kb, settings.max_subjects)
    return Posted.check(loaded.advisor, doc, prefer=prefer)


def _check_posted(loaded: LoadedRuleSet, posted: Posted, subject_type: SubjectType, subject_id: str) -> None:
    """Refuse a request for a subject that is not among the posted facts (before deciding, so that
    nothing is logged for it)."""
    if posted.facts.get(subject_type, subject_id) is not None:
        return
    plural = loaded.book.kb.facts[subject_type].plural
    ids = [str(f["id"]) for f in posted.facts.subjects(subject_type)]
    raise Problem("subject_not_in_facts", N_("no {kind} `{id}` among the posted facts"),
                  fields={"kind": subject_type, "id": subject_id},
                  errors=[ErrorItem(code="subject_not_in_facts", pointer=f"/{plural}",
                             detail=f"posted {plural}: {', '.join(ids[:10]) or 'none'}")])


def _decide(loaded: LoadedRuleSet, posted: Posted, store: Store | None, top: int | None,
            subject: SubjectKey | None = None) -> Decision:
    """Decide and log (policies applied, committed before the answer; only ``subject``'s decision when
    one is asked for), or decide alone without a log."""
    if store is None:
        decision = loaded.advisor.decide(posted.facts, max_per_subject=top)
    else:
        decision = decide_and_log(store, loaded.advisor, posted, max_per_subject=top, source="api", subject=subject,
                                  on_logged=metrics.logged)
    observe.note(decision_id=decision.id)
    return decision


def _subject(decision: Decision, subject_type: SubjectType, subject_id: str) -> SubjectDecision:
    """The decision about the subject asked for; the engine decides for every posted subject, so a
    decision without it is a bug, answered as ``internal_error`` (and logged with this message)."""
    subject = decision.subject(subject_type, subject_id)
    if subject is None:
        raise RuntimeError(f"decision {decision.id or '(not logged)'} has no {subject_type} `{subject_id}`, "
                           "which was posted")
    return subject


@router.post(f"/{{subject_type:{paths.SUBJECT_TYPE}}}/{{subject_id}}", response_model=SubjectDecisionResponse,
             responses=documented("not_found", "subject_not_in_facts") | _PROBLEMS,
             summary="Decide for one client or one manager")
def decide_one(
    request: Request,
    subject_type: Annotated[SubjectType, Path(description="client (next-best-actions) or manager (coaching)")],
    subject_id: Annotated[str, Path(min_length=1, max_length=200, description="the subject's id in the facts")],
    body: Annotated[FactsDocument, Body(openapi_examples=examples.ONE_SUBJECT)],
    loaded: LoadedDep, settings: SettingsDep, store: OptionalStoreDep, lang: LangDep, principal: Decider,
    top: Top = None,
    prefer: PreferQuery = "given",
    explain: Explain = True,
) -> Response:
    """Post the subject with its related facts (a client with its manager and interactions; a manager
    with their clients) and get that subject's ranked, explained recommendations.

    Every subject posted is decided (together: they share the contact caps), but only the one asked
    for is answered and logged: its recommendations, all of them (``top`` cuts what is shown), and
    the posted facts as the input. While the server's experiment runs (on the facts' as-of date),
    the subject's arm decides on its own rule set (`revision`), and the arm is logged and answered
    (`experiment`)."""
    posted = _facts(loaded, body, settings, prefer, principal, store)
    _check_posted(loaded, posted, subject_type, subject_id)
    key = SubjectKey(subject_type, subject_id)
    run: ExperimentRun | None = getattr(request.app.state, "experiment", None)
    if store is not None and run is not None and run.running(posted.facts.as_of):
        # the subject's arm decides, on its own rule set, and the arm is logged with the decision
        arm = ExperimentArm(id=run.experiment.id, arm=run.experiment.assign(key))
        advisor = run.advisors[arm.arm]
        decision = decide_and_log(store, advisor, Posted.check(advisor, posted.document, prefer=prefer),
                                  max_per_subject=top, source="api", subject=key, on_logged=metrics.logged,
                                  experiment=arm)
        observe.note(decision_id=decision.id)
        request.state.revision = advisor.book.revision
    else:
        arm, decision = None, _decide(loaded, posted, store, top, key)
    subject = _subject(decision, subject_type, subject_id)
    return present.subject_decision(decision, subject, lang, explain, arm).response(language_headers(lang))


@router.post("", response_model=DecisionsResponse, responses=_PROBLEMS,
             summary="Decide for every client and manager posted")
def decide_many(
    body: Annotated[FactsDocument, Body(openapi_examples=examples.MANY_SUBJECTS)],
    loaded: LoadedDep, settings: SettingsDep, store: OptionalStoreDep, lang: LangDep, principal: Decider,
    top: Top = None,
    prefer: PreferQuery = "given",
    explain: Explain = True,
) -> Response:
    """Decisions for every client and manager in the posted facts (at most the server's
    ``max_subjects``, default 100), in one call and on one rule-set revision, logged as one decision
    with every recommended item (``top`` cuts what is shown)."""
    decision = _decide(loaded, _facts(loaded, body, settings, prefer, principal, store), store, top)
    return present.decisions(decision, lang, explain).response(language_headers(lang))


ItemQuery = Annotated[str | None, Query(max_length=200, description="an action or coaching topic: why it was, or "
                                                                     "why it was not, recommended for the subject")]
RuleQuery = Annotated[str | None, Query(max_length=200, description="a rule: why it fired, or why it did not, "
                                                                     "for the subject")]


@router.post(f"/{{subject_type:{paths.SUBJECT_TYPE}}}/{{subject_id}}/explain", response_model=ExplanationsResponse,
             responses=documented("not_found", "subject_not_in_facts", "unknown_item") | _PROBLEMS,
             summary="Why, and why not, for one client or one manager")
def explain_one(
    subject_type: Annotated[SubjectType, Path(description="client or manager")],
    subject_id: Annotated[str, Path(min_length=1, max_length=200, description="the subject's id in the facts")],
    body: Annotated[FactsDocument, Body(openapi_examples=examples.ONE_SUBJECT)],
    loaded: LoadedDep, settings: SettingsDep, store: OptionalStoreDep, lang: LangDep, principal: Decider,
    item: ItemQuery = None, rule: RuleQuery = None, prefer: PreferQuery = "given",
) -> Response:
    """Post the facts as for a decision and ask why: with `item`, why that action or coaching topic
    was or was not recommended (each candidate rule with its failing conditions, the value seen and
    the smallest change that flips each); with `rule`, why that rule fired or did not; with neither,
    why each recommendation, or, when nothing was recommended, the closest rules and what each lacks.
    Nothing is logged: the engine decides alone, without the contact policies. A user explains
    only facts of the books they see, as for a decision (403 `forbidden`)."""
    from rm_advisor.engine.authoring import Explainer
    from rm_advisor.engine.loading import Locator

    if item is not None and rule is not None:
        raise Problem("invalid_request", "give `item` or `rule`, not both",
                      [ErrorItem(code="item_and_rule", parameter="rule", detail="`item` is given too")])
    posted = _facts(loaded, body, settings, prefer, principal, store)
    _check_posted(loaded, posted, subject_type, subject_id)
    book = loaded.book
    check_known(book.kb, {r.id for r in book.rules}, item, rule)
    ex = Explainer(book, loaded.advisor.run(posted.facts), Locator.from_files(loaded.rule_files))
    found = explain_subjects(ex, [SubjectKey(subject_type, subject_id)], item, rule)
    return present.explanations(book.revision, posted.facts.as_of, found, lang).response(language_headers(lang))


def explain_subjects(ex: Explainer, subjects: list[SubjectKey], item: str | None,
                     rule: str | None) -> list[Explanation]:
    """What explain answers for each subject: why (not) ``item``, why (not) ``rule``, or why each
    recommendation (why nothing, for a subject with none)."""
    if item is not None:
        return [ex.explain_item(item, s) for s in subjects]
    if rule is not None:
        return [ex.explain_rule(rule, s) for s in subjects if ex.rules[rule].rule.subject == s.type]
    wanted = {str(s) for s in subjects}
    return [e for e in ex.explain_decision() if e.subject in wanted]


def check_known(kb: KnowledgeBase, rules: set[str], item: str | None, rule: str | None) -> None:
    """Refuse an item or rule the rule set does not know, with the closest name."""
    from rm_advisor.engine.errors import suggest

    for name, value, known in (("item", item, set(kb.actions) | set(kb.coaching)), ("rule", rule, rules)):
        if value is not None and value not in known:
            raise Problem("unknown_item", f"no {'action or coaching topic' if name == 'item' else 'rule'} "
                          f"`{value}` in this rule set",
                          [ErrorItem(code="unknown_item", parameter=name, detail=f"unknown {name} `{value}`",
                                     hint=suggest(value, known) or None)])
