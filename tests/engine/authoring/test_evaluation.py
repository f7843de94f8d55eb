"""engine/authoring/evaluation.py: the traced evaluator agrees with inference and records every node."""

from __future__ import annotations

import datetime as dt

from rm_advisor.engine import Advisor
from rm_advisor.engine.authoring.evaluation import evaluate_rule
from rm_advisor.engine.inference.conditions import subject_env
from rm_advisor.engine.language.facts import validate_facts
from rm_advisor.engine.language.rules import Rule
from rm_advisor.engine.language.subjects import SubjectKey
from tests.conftest import ShippedResults
from tests.helpers import KB, action, client, rule


def test_verdict_equals_whether_the_rule_fired_in_every_shipped_scenario(
        advisor: Advisor, shipped_results: ShippedResults) -> None:
    kb = advisor.book.kb
    disagreements = []
    checked = 0
    for result in shipped_results.values():
        if result.run is None:
            continue
        fired, held, fs = result.run.fired(), result.run.held(), result.run.fact_set
        for subject_type in kb.subjects():
            for fact in fs.subjects(subject_type):
                env = subject_env(kb, fs, subject_type, fact)
                for compiled in advisor.book.for_subject(subject_type):
                    outcome = evaluate_rule(compiled.rule, env, kb, held)
                    checked += 1
                    if outcome.holds != (compiled.id in fired.get(outcome.subject, set())):
                        disagreements.append((result.case.id, compiled.id, outcome.subject))
    assert checked > 10_000 and disagreements == []


def test_nodes_carry_paths_values_and_related_facts() -> None:
    parsed = Rule.model_validate(rule("t.r", {"all": [
        {"client.days_since_last_visit": {"gt": "$visit_interval_days_a"}},
        {"exists": {"fact": "interaction", "where": {"interaction.kind": "complaint"}}}]},
        {"actions": [action("resolve_retailer_complaint")]}))
    fs = validate_facts({"as_of": "2026-11-23", "clients": [client("C1", days_since_last_visit=5)],
                         "interactions": [{"id": "I1", "client_id": "C1", "kind": "visit"},
                                          {"id": "I2", "client_id": "C1", "kind": "complaint"}]}, KB)
    out = evaluate_rule(parsed, subject_env(KB, fs, "client", fs.subjects("client")[0]), KB, {})
    visit, exists = out.root.children
    assert (visit.holds, visit.value, visit.path) == (False, 5, ("when", "all", 0, "client.days_since_last_visit"))
    assert visit.text == "client.days_since_last_visit > $visit_interval_days_a (7)"
    assert exists.holds and exists.candidates == (SubjectKey("interaction", "I1"), SubjectKey("interaction", "I2"))
    assert [r.holds for r in exists.related] == [False, True]
    assert not out.holds and out.active


def test_a_rule_out_of_its_effective_window_does_not_hold() -> None:
    parsed = Rule.model_validate(rule("t.r", {"client.is_key": True},
                                      {"actions": [action("guide_to_network_ordering")]},
                                      effective={"until": dt.date(2026, 1, 1)}))
    fs = validate_facts({"as_of": "2026-11-23", "clients": [client("C1", is_key=True)]}, KB)
    out = evaluate_rule(parsed, subject_env(KB, fs, "client", fs.subjects("client")[0]), KB, {})
    assert out.root.holds and not out.active and not out.holds
