"""engine/portfolio/columnar.py: the chaining rules decided in bulk, as mask operations over whole
tables, give what experta's network (the reference) and the stratified evaluator give, firing by
firing (match traces, related subjects, signal producers) and decision by decision: on random rule
sets, every shipped scenario and generated portfolios through the batch's own path."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from rm_advisor.engine import Advisor
from rm_advisor.engine.authoring.scenarios import load_scenarios
from rm_advisor.engine.errors import InferenceError
from rm_advisor.engine.inference.advisor import Run
from rm_advisor.engine.language.facts import FactSet
from rm_advisor.engine.language.subjects import SubjectKey
from rm_advisor.engine.loading import read_scenario_files
from rm_advisor.engine.portfolio.bulk import BulkGates
from rm_advisor.engine.portfolio.columnar import BulkChaining, frames_of
from rm_advisor.engine.portfolio.run import bulk_gates, check_tables, decide_partition, prepare
from rm_advisor.engine.portfolio.sample import generate
from tests.conftest import ROOT
from tests.engine.inference.test_stratified import portfolios, rule_sets, signature
from tests.helpers import Doc, book, client, rule


def columnar(advisor: Advisor, fact_set: FactSet) -> Run:
    """One decision with its gates and chaining decided in bulk over the fact set's own tables."""
    gated, chained = BulkChaining(BulkGates(advisor.book)).run(frames_of(fact_set, advisor.book.kb))
    return advisor.run(fact_set, gates=[g for gs in gated.values() for g in gs], chained=chained)


def same_three(experta: Advisor, compiled: Advisor, facts: Any) -> Run:
    reference = experta.run(facts)
    for other in (compiled.run(reference.fact_set), columnar(compiled, reference.fact_set)):
        assert signature(other.result) == signature(reference.result)
        assert other.decision == reference.decision
    return reference


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules=rule_sets(), facts=portfolios())
def test_random_rule_sets_fire_alike_in_all_three(rules: list[Doc], facts: Doc) -> None:
    b = book(*rules)
    same_three(Advisor(b, engine="experta"), Advisor(b, engine="compiled"), facts)


def test_every_shipped_scenario_fires_alike_in_all_three(advisor: Advisor) -> None:
    experta, compiled = Advisor(advisor.book, engine="experta"), Advisor(advisor.book, engine="compiled")
    cases, _ = load_scenarios(read_scenario_files(ROOT / "rules"))
    chained = 0
    for case in cases:
        run = same_three(experta, compiled, case.scenario.facts)
        chained += any(not advisor.book.by_id()[f.rule_id].direct for f in run.result.firings)
    assert len(cases) > 500 and chained > 100  # the scenarios chain signals, so this compares something


@pytest.mark.parametrize("seed", [5, 23])
def test_a_batch_decides_its_books_chaining_in_bulk_as_the_reference_decides_them(advisor: Advisor,
                                                                                 seed: int) -> None:
    experta, compiled = Advisor(advisor.book, engine="experta"), Advisor(advisor.book, engine="compiled")
    kb = advisor.book.kb
    p = generate(150, 3, seed=seed)
    tables = check_tables(p.clients, p.managers, p.history, kb, p.as_of, links=p.links)
    _, parts = prepare(tables, kb, bulk_gates(compiled))
    _, reference_parts = prepare(tables, kb, bulk_gates(experta))
    assert all(part.chained is not None for part in parts) and all(r.chained is None for r in reference_parts)
    fired = sum(len(rules) for part in parts if part.chained is not None for rules in part.chained.fired.values())
    assert fired > 50  # the generated books chain, so the bulk chaining decides something
    for part, ref in zip(parts, reference_parts, strict=True):
        assert part.chained is not None
        # a book's clients of other books are left for the book's evaluator, which sees them in context
        assert part.chained.open == {SubjectKey("client", c) for c in part.context}
        assert decide_partition(compiled, part, p.as_of) == decide_partition(experta, ref, p.as_of)


def _outcome(evaluator: str, b: Any, cap: int, facts: Doc) -> str:
    """The decision (as JSON) or the error code one evaluator gives under a firing cap."""
    advisor = Advisor(b, max_firings=cap, engine="experta" if evaluator == "experta" else "compiled")
    try:
        run = columnar(advisor, advisor.validate(facts)) if evaluator == "bulk" else advisor.run(facts)
    except InferenceError as exc:
        return exc.diagnostics[0].code
    return run.decision.model_dump_json(exclude={"id"})


def test_the_firing_cap_counts_activations_alike_in_all_three() -> None:
    rules = [rule("t.a", {"client.days_since_last_visit": {"gt": 7}}, {"signals": ["visit_overdue"]}),
             rule("t.coach", {"exists": {"fact": "client", "where": {"signal": "visit_overdue"}}},
                  {"coaching": [{"topic": "visit_coverage_by_class", "reason": {"zh": "z", "en": "e"}}]},
                  subject="manager")]
    facts = {"managers": [{"id": "M1", "domain": "tobacco"}],
             "clients": [client(f"C{i}", days_since_last_visit=9) for i in range(3)]}
    b = book(*rules)
    for cap, fails in ((3, False), (2, True)):  # the join fires once per client: 3 activations
        outcomes = [_outcome(e, b, cap, facts) for e in ("experta", "compiled", "bulk")]
        if fails:
            assert outcomes == ["firing_limit"] * 3
        else:
            assert len(set(outcomes)) == 1 and "firing_limit" not in outcomes[0]
