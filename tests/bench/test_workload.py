"""bench/workload.py: the synthetic workload the engine comparison runs on. rm-advisor, plain
Python and the pandas masks must give the same firings on it, or the bench compares nothing."""

from __future__ import annotations

import pytest

from bench.workload import (
    facts,
    frame,
    generate,
    mask_firings,
    masks_to_firings,
    python_firings,
    rule_file,
    signal_file,
)
from rm_advisor.engine import Advisor
from rm_advisor.engine.loading.sources import default_kb_dir, read_kb_files


def advisor_for(rules: str, signals: str) -> Advisor:
    kb = read_kb_files(default_kb_dir(), relative=True)
    return Advisor.from_files({"bench.yaml": rules}, {**kb, "signals/bench.yaml": signals})


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rm_advisor_fires_what_plain_python_and_the_masks_fire(seed: int) -> None:
    w = generate(rules=40, clients=60, seed=seed)
    assert {r.stratum for r in w.rules} == {0, 1, 2} and any(r.forbids for r in w.rules)
    expected = python_firings(w)
    assert masks_to_firings(mask_firings(w, frame(w)), frame(w)) == expected
    run = advisor_for(rule_file(w), signal_file(w)).run(facts(w))
    fired = {(rid, key.id) for key, rules in run.fired().items() for rid in rules}
    assert fired == expected
    # the workload exercises chaining: rules of every stratum fire, and a `not` holds back some
    strata = {r.id: r.stratum for r in w.rules}
    assert {strata[rid] for rid, _ in expected} == {0, 1, 2}


def test_the_same_arguments_give_the_same_workload() -> None:
    assert generate(30, 10, seed=5) == generate(30, 10, seed=5) != generate(30, 10, seed=6)
