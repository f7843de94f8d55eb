"""Every scenario in rules/*.scenarios.yaml passes against the shipped rule set."""

from __future__ import annotations

import pytest

from rm_advisor.engine import Advisor
from rm_advisor.engine.authoring.scenarios import Case, check_references, load_scenarios
from rm_advisor.engine.loading.sources import read_scenario_files
from tests.conftest import ROOT, ShippedResults

CASES, PROBLEMS = load_scenarios(read_scenario_files(ROOT / "rules"))


def test_scenario_files_are_well_formed(advisor: Advisor) -> None:
    assert [d.format() for d in PROBLEMS + check_references(CASES, advisor.book)] == []


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_scenario(shipped_results: ShippedResults, case: Case) -> None:
    result = shipped_results[(case.file, case.line)]
    assert result.passed, f"{case.file}:{case.line}: " + "\n".join(f.message for f in result.failures)
