"""engine/inference/gates.py: the rules about a subject share each distinct field test (by what it
means, ``unknown:`` included), and a firing's match trace is what evaluating its gate alone records."""

from __future__ import annotations

from rm_advisor.engine import Advisor
from rm_advisor.engine.authoring.scenarios import load_scenarios
from rm_advisor.engine.errors import FactError
from rm_advisor.engine.inference.conditions import FieldTest, subject_env
from rm_advisor.engine.inference.gates import plan_gates
from rm_advisor.engine.loading import read_scenario_files
from tests.conftest import ROOT
from tests.helpers import action, advisor, book, client, rule

COUNTED = {"client.client_class": {"eq": "A", "unknown": "match"}}
PLAIN = {"client.client_class": {"eq": "A"}}
RULES = (
    rule("t.counted", COUNTED, {"actions": [action("key_client_priority_service")]}),
    rule("t.plain", PLAIN, {"actions": [action("anti_counterfeit_training")]}),
    rule("t.same", {"all": [PLAIN, {"client.is_key": True}]}, {"actions": [action("resolve_retailer_complaint")]}),
)


def test_a_test_with_another_unknown_mode_is_another_test_and_the_same_test_is_shared() -> None:
    plan = plan_gates(book(*RULES))
    assert [t.key for t in plan.tests["client"]] == [
        ("client.client_class", (("eq", ("str", "A")),), "match"),
        ("client.client_class", (("eq", ("str", "A")),), None),
        ("client.is_key", (("eq", ("bool", True)),), None)]
    steps = {r.id: s for r, s in plan.rules}
    assert steps["t.plain"] == (1,) and steps["t.same"] == (1, 2)  # t.same reuses t.plain's test


def test_rules_sharing_a_field_keep_their_own_unknown_mode_and_trace() -> None:
    adv = advisor(*RULES)
    run = adv.run({"clients": [client("C1", is_key=True)], "managers": [{"id": "M1", "domain": "tobacco"}]})
    fired = {f.rule_id: dict(f.matched) for f in run.result.firings}
    assert fired == {"t.counted": {"client.client_class": None, "unknown:client.client_class": "match"}}
    run = adv.run({"clients": [client("C1", is_key=True, client_class="A")],
                   "managers": [{"id": "M1", "domain": "tobacco"}]})
    assert {f.rule_id: dict(f.matched) for f in run.result.firings} == {
        "t.counted": {"client.client_class": "A"}, "t.plain": {"client.client_class": "A"},
        "t.same": {"client.client_class": "A", "client.is_key": True}}


def test_operands_of_other_types_or_in_lists_make_distinct_hashable_keys() -> None:
    keys = {FieldTest("client.x", ops, None).key for ops in ({"eq": 1}, {"eq": True}, {"eq": 1.5}, {"eq": "1"})}
    assert len(keys) == 4
    listed = FieldTest("client.c", {"in": ["A", "B"]}, None).key
    assert listed == FieldTest("client.c", {"in": ["A", "B"]}, None).key
    assert listed != FieldTest("client.c", {"in": ["B"]}, None).key


def test_every_firing_traces_what_its_gate_records_evaluated_alone(advisor: Advisor) -> None:
    """On every shipped scenario: the trace written from the shared tests' memo is the trace of the
    rule's own gate, key for key and in the same order (``any``, ``exists``, deadlines, unknowns)."""
    cases, _ = load_scenarios(read_scenario_files(ROOT / "rules"))
    rules = advisor.book.by_id()
    compared = 0
    for case in cases:
        try:
            run = advisor.run(case.scenario.facts)
        except FactError:
            continue
        fs = run.fact_set
        for f in run.result.firings:
            alone: dict[str, object] = {}
            fact = fs.get(f.subject.type, f.subject.id)
            assert fact is not None
            assert rules[f.rule_id].local(subject_env(advisor.book.kb, fs, f.subject.type, fact), alone)
            assert list(f.matched.items()) == list(alone.items()), (case.scenario.name, f.rule_id)
            compared += 1
    assert compared > 500
