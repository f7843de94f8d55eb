"""Every scenario in rules/*.scenarios.yaml passes against the shipped rule set."""

from __future__ import annotations

import pytest

from engine.scenarios import load_scenarios, run_case
from engine.sources import read_scenario_files
from tests.conftest import ROOT

CASES, PROBLEMS = load_scenarios(read_scenario_files(ROOT / "rules"))


def test_scenario_files_are_well_formed() -> None:
    assert [d.format() for d in PROBLEMS] == []


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_scenario(advisor, case) -> None:
    failures = run_case(advisor, case)
    assert not failures, f"{case.file}:{case.line}: " + "\n".join(failures)
