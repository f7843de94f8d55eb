"""api/schemas.py: the response models restate the engine's decision models (kept apart, as the
HTTP contract); these tests fail when the two drift apart, so a field the engine adds reaches the
API (and its OpenAPI spec) or is left out on purpose here."""

from __future__ import annotations

import importlib
import inspect
import json
from typing import Any

import yaml
from pydantic import BaseModel

from rm_advisor.api import present, schemas
from rm_advisor.cli.main import sample_facts_path
from rm_advisor.engine import Advisor

#: the modules whose pydantic models the API restates as ``<Name>Out``
ENGINE_MODULES = tuple(importlib.import_module(f"rm_advisor.{name}") for name in (
    "engine.language.decision", "engine.authoring.explain", "engine.authoring.rule_health",
    "engine.policies.effectiveness", "engine.authoring.experiments", "engine.authoring.simulation",
    "store.replay", "store.simulation"))

#: engine fields deliberately not published, by response model: a replay answers with its changes,
#: not a second copy of the whole decision (GET /v1/decision-log/{id} has that)
UNPUBLISHED: dict[str, set[str]] = {"ReplayRunOut": {"decision"}}


def _pairs() -> list[tuple[type[BaseModel], type[BaseModel]]]:
    pairs = []
    for name, out in inspect.getmembers(schemas, inspect.isclass):
        if not name.endswith("Out"):
            continue
        for module in ENGINE_MODULES:
            engine = getattr(module, name.removesuffix("Out"), None)
            if inspect.isclass(engine) and issubclass(engine, BaseModel) and issubclass(out, BaseModel):
                pairs.append((engine, out))
    return pairs


def test_every_engine_decision_field_is_published_by_its_response_model() -> None:
    pairs = _pairs()
    assert {e.__name__ for e, _ in pairs} >= {"SubjectDecision", "Recommendation", "RuleTrace", "ToConfirm",
                                              "CoachingCard", "Alternative", "Suppression",
                                              "Explanation", "RuleReport", "ConditionReport", "Fix",
                                              "RateRow", "ReplayRun", "RuleHealth", "Suggestion",
                                              "ExperimentReport", "ArmResult", "Comparison", "Rate",
                                              "Simulation", "OffPolicyEstimate"}
    for engine, out in pairs:
        skipped = UNPUBLISHED.get(out.__name__, set())
        assert set(engine.model_fields) - skipped == set(out.model_fields), out.__name__


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def test_a_decision_in_both_languages_reaches_the_api_whole(advisor: Advisor) -> None:
    facts = yaml.safe_load(sample_facts_path().read_text(encoding="utf-8"))
    d = advisor.decide(facts)
    published = present.decisions(d, "both", explain=True)
    subjects = d.clients + d.managers
    assert len(subjects) > 3 and any(s.to_confirm for s in subjects) and any(
        r.card for s in d.managers for r in s.recommendations)
    for engine, out in zip(subjects, [*published.clients, *published.managers], strict=True):
        assert _plain(json.loads(out.model_dump_json(exclude_none=True))) == \
            _plain(json.loads(engine.model_dump_json(exclude_none=True))), engine.id
