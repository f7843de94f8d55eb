"""Turn engine records (decisions, rules, catalogues) into response models in the language asked for."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import TYPE_CHECKING, Any

from rm_advisor.api.ruleset import LoadedRuleSet
from rm_advisor.api.schemas import (
    ActionOut,
    CoachingOut,
    DecisionList,
    DecisionsResponse,
    DecisionSummaryOut,
    EffectivenessOut,
    ExperimentArmOut,
    ExperimentReportOut,
    ExplanationOut,
    ExplanationsResponse,
    FactTypeOut,
    FeedbackOut,
    FeedbackReasonOut,
    Lang,
    LoggedDecisionResponse,
    ReplayOut,
    RuleDetail,
    RuleSetInfo,
    RuleSummary,
    SignalOut,
    SimulationOut,
    SubjectDecisionOut,
    SubjectDecisionResponse,
)
from rm_advisor.engine.authoring import RuleHealth
from rm_advisor.engine.inference import CompiledRule
from rm_advisor.engine.language import Decision, FeedbackReasonSpec, SubjectDecision
from rm_advisor.engine.policies import EffectivenessReport
from rm_advisor.store import MASK, DecisionSummary, ExperimentArm, FeedbackRecord, LoggedDecision, ReplayReport
from rm_advisor.store.decision_log import new_decision_id

if TYPE_CHECKING:  # the authoring tools load only when a why or why-not is asked
    from rm_advisor.engine.authoring import ExperimentReport, Explanation
    from rm_advisor.store.simulation import Simulation


def _ctx(lang: Lang) -> dict[str, Any]:
    """The validation context :class:`api.schemas.LocalText` picks the language from."""
    return {"lang": lang}


def _subject(s: SubjectDecision, lang: Lang, explain: bool) -> SubjectDecisionOut:
    data = s.model_dump()
    for rec in data["recommendations"] + data["vetoed"] + data["suppressed"]:
        # a client erased before forget kept the details has them masked: left out (a mask is no channel or kind)
        rec["details"] = {k: v for k, v in rec["details"].items() if v != MASK}
        if not explain:
            rec["because"] = []
    if not explain:
        data["signals"] = []
    return SubjectDecisionOut.model_validate(data, context=_ctx(lang))


def _meta(d: Decision, lang: Lang) -> dict[str, Any]:
    """A logged decision keeps its log id; one made without the log gets an id of the same shape."""
    return {"decision_id": d.id or new_decision_id(dt.datetime.now(dt.UTC)), "logged": d.id is not None,
            "revision": d.revision, "as_of": d.as_of, "input_hash": d.input_hash, "firings": d.firings, "lang": lang}


def subject_decision(d: Decision, subject: SubjectDecision, lang: Lang, explain: bool,
                     experiment: ExperimentArm | None = None) -> SubjectDecisionResponse:
    arm = ExperimentArmOut.model_validate(experiment.model_dump()) if experiment is not None else None
    return SubjectDecisionResponse(**_meta(d, lang), subject=_subject(subject, lang, explain), experiment=arm)


def decisions(d: Decision, lang: Lang, explain: bool) -> DecisionsResponse:
    return DecisionsResponse(**_meta(d, lang), clients=[_subject(s, lang, explain) for s in d.clients],
                             managers=[_subject(s, lang, explain) for s in d.managers])


def explanations(revision: str, as_of: dt.date, found: list[Explanation], lang: Lang) -> ExplanationsResponse:
    return ExplanationsResponse(revision=revision, as_of=as_of, lang=lang, explanations=[
        ExplanationOut.model_validate(e.model_dump(), context=_ctx(lang)) for e in found])


def feedback(record: FeedbackRecord) -> FeedbackOut:
    return FeedbackOut.model_validate(record.model_dump())


def logged_decision(logged: LoggedDecision, records: list[FeedbackRecord], lang: Lang,
                    explain: bool) -> LoggedDecisionResponse:
    d = logged.decision
    return LoggedDecisionResponse(
        **_meta(d, lang), clients=[_subject(s, lang, explain) for s in d.clients],
        managers=[_subject(s, lang, explain) for s in d.managers], logged_at=logged.logged_at, source=logged.source,
        subject=logged.subject, max_per_subject=logged.max_per_subject, policies_applied=logged.history is not None,
        input=logged.input, feedback=[feedback(r) for r in records], erasure_id=logged.erasure_id)


def decision_list(rows: list[DecisionSummary]) -> DecisionList:
    return DecisionList(count=len(rows), decisions=[DecisionSummaryOut.model_validate(r.model_dump()) for r in rows])


def replay(report: ReplayReport) -> ReplayOut:
    # the re-made decisions stay out: the logged one is GET /v1/decisions/{id}, the differences say the rest
    return ReplayOut.model_validate(report.model_dump(exclude={"on_logged": {"decision"},
                                                               "on_current": {"decision"}}))


def effectiveness(report: EffectivenessReport, health: list[RuleHealth], lang: Lang) -> EffectivenessOut:
    return EffectivenessOut.model_validate({**report.model_dump(), "rule_health": [h.model_dump() for h in health]},
                                           context=_ctx(lang))


def experiment(report: ExperimentReport, lang: Lang) -> ExperimentReportOut:
    return ExperimentReportOut.model_validate(report.model_dump(), context=_ctx(lang))


def simulation(result: Simulation, lang: Lang) -> SimulationOut:
    return SimulationOut.model_validate(result.model_dump(), context=_ctx(lang))


def feedback_reason(code: str, spec: FeedbackReasonSpec, lang: Lang) -> FeedbackReasonOut:
    return FeedbackReasonOut.model_validate({**spec.model_dump(), "id": code}, context=_ctx(lang))


def _rule_data(r: CompiledRule) -> dict[str, Any]:
    rule = r.rule
    then = rule.then
    return {**rule.model_dump(by_alias=True, include={"id", "title", "domain", "subject", "priority",
                                                       "provenance", "effective", "tags"}),
            "file": r.file, "line": r.line, "signals": list(then.signals),
            "actions": [a.action for a in then.actions], "coaching": [c.topic for c in then.coaching],
            "veto": then.veto is not None}


def rule_summary(r: CompiledRule, lang: Lang) -> RuleSummary:
    return RuleSummary.model_validate(_rule_data(r), context=_ctx(lang))


def rule_detail(r: CompiledRule, lang: Lang) -> RuleDetail:
    written = r.rule.model_dump(mode="json", by_alias=True, exclude_none=True, include={"when", "then"})
    return RuleDetail.model_validate({**_rule_data(r), **written}, context=_ctx(lang))


def rule_set_info(loaded: LoadedRuleSet) -> RuleSetInfo:
    rules = [r.rule for r in loaded.book.rules]
    kb = loaded.book.kb
    return RuleSetInfo(revision=loaded.revision, loaded_at=loaded.loaded_at, rules=len(rules),
                       rules_by_domain=dict(sorted(Counter(r.domain for r in rules).items())),
                       rules_by_subject=dict(sorted(Counter(r.subject for r in rules).items())),
                       actions=len(kb.actions), coaching=len(kb.coaching), signals=len(kb.signals),
                       fact_types=len(kb.facts), parameters=len(kb.parameters), files=sorted(loaded.rule_files))


def action(item: Any, lang: Lang) -> ActionOut:
    return ActionOut.model_validate({**item.model_dump(), "sales": item.sales}, context=_ctx(lang))


def coaching(item: Any, lang: Lang) -> CoachingOut:
    return CoachingOut.model_validate(item.model_dump(), context=_ctx(lang))


def signal(item: Any, lang: Lang) -> SignalOut:
    return SignalOut.model_validate(item.model_dump(), context=_ctx(lang))


def fact_type(name: str, spec: Any, lang: Lang) -> FactTypeOut:
    return FactTypeOut.model_validate({"id": name, **spec.model_dump()}, context=_ctx(lang))
