"""Turn engine records (decisions, rules, catalogues) into response models in the language asked for."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

from api.ruleset import LoadedRuleSet
from api.schemas import (ActionOut, CoachingOut, DecisionsResponse, FactTypeOut, Lang, RuleDetail, RuleSetInfo,
                         RuleSummary, SignalOut, SubjectDecisionOut, SubjectDecisionResponse)
from engine.compiler import CompiledRule
from engine.decision import Decision, SubjectDecision


def _ctx(lang: Lang) -> dict[str, Any]:
    """The validation context :class:`api.schemas.LocalText` picks the language from."""
    return {"lang": lang}


def _subject(s: SubjectDecision, lang: Lang, explain: bool) -> SubjectDecisionOut:
    data = s.model_dump()
    if not explain:
        data["signals"] = []
        for rec in data["recommendations"] + data["vetoed"]:
            rec["because"] = []
    return SubjectDecisionOut.model_validate(data, context=_ctx(lang))


def _meta(d: Decision, lang: Lang) -> dict[str, Any]:
    return {"decision_id": str(uuid.uuid4()), "revision": d.revision, "as_of": d.as_of,
            "input_hash": d.input_hash, "firings": d.firings, "lang": lang}


def subject_decision(d: Decision, subject: SubjectDecision, lang: Lang, explain: bool) -> SubjectDecisionResponse:
    return SubjectDecisionResponse(**_meta(d, lang), subject=_subject(subject, lang, explain))


def decisions(d: Decision, lang: Lang, explain: bool) -> DecisionsResponse:
    return DecisionsResponse(**_meta(d, lang), clients=[_subject(s, lang, explain) for s in d.clients],
                             managers=[_subject(s, lang, explain) for s in d.managers])


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
    return ActionOut.model_validate(item.model_dump(), context=_ctx(lang))


def coaching(item: Any, lang: Lang) -> CoachingOut:
    return CoachingOut.model_validate(item.model_dump(), context=_ctx(lang))


def signal(item: Any, lang: Lang) -> SignalOut:
    return SignalOut.model_validate(item.model_dump(), context=_ctx(lang))


def fact_type(name: str, spec: Any, lang: Lang) -> FactTypeOut:
    return FactTypeOut.model_validate({"id": name, **spec.model_dump()}, context=_ctx(lang))
