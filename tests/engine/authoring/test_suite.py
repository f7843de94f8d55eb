"""engine/authoring/suite.py: a rule set's scenario suite as a result object (what `rm-advisor test` prints)."""

from __future__ import annotations

from rm_advisor.engine import Advisor
from rm_advisor.engine.authoring.suite import run_suite
from rm_advisor.engine.loading.sources import read_rule_files, read_scenario_files
from tests.conftest import ROOT

BROKEN = """scenarios:
  - name: expects an action the telecom rules never give
    facts:
      as_of: 2026-11-23
      clients: [{id: X1, domain: telecom}]
    expect:
      - subject: client:X1
        actions: [no_such_action]
"""


def test_the_shipped_telecom_scenarios_pass_with_coverage_of_their_pack(advisor: Advisor) -> None:
    files = read_scenario_files(ROOT / "rules" / "telecom.scenarios.yaml")
    run = run_suite(advisor.book, files, read_rule_files(ROOT / "rules"), coverage=True)
    assert run.ok and run.failed == 0 and run.passed == len(run.results) > 5
    assert run.coverage is not None and [f.file.rsplit("/", 1)[-1] for f in run.coverage.files] == ["telecom.yaml"]
    doc = run.to_dict()
    assert doc["passed"] == run.passed and "coverage" in doc and "<testsuite" in run.junit_xml()


def test_a_keyword_keeps_matching_scenarios_and_unknown_references_are_problems(advisor: Advisor) -> None:
    run = run_suite(advisor.book, {"rules/x.scenarios.yaml": BROKEN}, keyword="NEVER GIVE")
    assert len(run.results) == 1 and not run.ok
    assert [d.code for d in run.problems] and all(d.location.file == "rules/x.scenarios.yaml" for d in run.problems)
    assert run_suite(advisor.book, {"rules/x.scenarios.yaml": BROKEN}, keyword="nothing like it").results == ()
