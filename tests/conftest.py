"""Shared fixtures: the shipped advisor (compiled once per session), the shipped scenarios run once
per session, and small helpers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rm_advisor.engine import Advisor
from rm_advisor.engine.authoring.scenarios import CaseResult, evaluate_case, load_scenarios
from rm_advisor.engine.loading.sources import read_scenario_files

# The test process hosts hundreds of apps, each started and stopped; a server freezing the garbage
# collector's view of everything alive (the freeze_gc setting, on by default) would make every app's
# start a full collection over the whole test session. tests/api/test_collector.py turns it on.
os.environ.setdefault("RM_ADVISOR_FREEZE_GC", "false")

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
ShippedResults = dict[tuple[str, int], CaseResult]  # the shipped scenarios' results, by (file, line)


@pytest.fixture(scope="session")
def advisor() -> Advisor:
    return Advisor.load(ROOT / "rules", ROOT / "knowledge_base")


@pytest.fixture(scope="session")
def shipped_results(advisor: Advisor) -> ShippedResults:
    """Every shipped scenario's result, by (file, line): run once, read by several tests."""
    cases, problems = load_scenarios(read_scenario_files(ROOT / "rules"))
    assert not problems, problems
    return {(c.file, c.line): evaluate_case(advisor, c) for c in cases}
