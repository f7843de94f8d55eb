"""Running a rule set's scenario tests: the suite behind ``rm-advisor test``.

:func:`run_suite` loads scenario files, checks their references against the rule book, evaluates
every case and (when asked) measures coverage; it returns a :class:`SuiteRun` that a command
line, an editor or a CI job formats as it likes (text, JSON, JUnit XML).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from rm_advisor.engine.authoring.coverage import Coverage, measure
from rm_advisor.engine.authoring.scenarios import CaseResult, check_references, junit_xml, load_scenarios
from rm_advisor.engine.authoring.scenarios import evaluate_case as _evaluate
from rm_advisor.engine.errors import Diagnostic
from rm_advisor.engine.inference.advisor import Advisor
from rm_advisor.engine.inference.compiler import RuleBook
from rm_advisor.engine.loading.locations import Locator
from rm_advisor.engine.loading.sources import SCENARIO_SUFFIX


@dataclass(frozen=True)
class SuiteRun:
    """The outcome of a suite: every case's result, the problems of the scenario files, coverage."""

    results: tuple[CaseResult, ...]
    problems: tuple[Diagnostic, ...]
    coverage: Coverage | None
    files: int
    #: the rule set each group of scenario files ran against, as the caller names it
    rule_sets: tuple[str, ...] = ()

    @property
    def failed(self) -> int:
        return sum(1 for r in self.results if not r.passed)

    @property
    def passed(self) -> int:
        return len(self.results) - self.failed

    @property
    def ok(self) -> bool:
        """Every case passed and no scenario file has an error."""
        return not self.failed and not any(d.severity == "error" for d in self.problems)

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"passed": self.passed, "failed": self.failed, "rule_sets": list(self.rule_sets),
                               "problems": [d.to_dict() for d in self.problems],
                               "scenarios": [r.to_dict() for r in self.results]}
        if self.coverage is not None:
            doc["coverage"] = self.coverage.to_dict()
        return doc

    def junit_xml(self) -> str:
        return junit_xml(self.results)


def merge_runs(runs: Sequence[SuiteRun]) -> SuiteRun:
    """One run from the runs of several rule sets (scenario files that name different rule sets)."""
    covs = [r.coverage for r in runs if r.coverage is not None]
    cov = Coverage(tuple(f for c in covs for f in c.files), sum(c.scenarios for c in covs)) if covs else None
    return SuiteRun(tuple(x for r in runs for x in r.results), tuple(p for r in runs for p in r.problems), cov,
                    sum(r.files for r in runs), tuple(n for r in runs for n in r.rule_sets))


def run_suite(book: RuleBook, scenario_files: Mapping[str, str], rule_files: Mapping[str, str] | None = None,
              keyword: str | None = None, coverage: bool = False, rule_set: str = "") -> SuiteRun:
    """Run the scenarios in ``scenario_files`` (name → YAML text) against ``book``.

    ``keyword`` keeps the scenarios whose name contains it (any case). With ``coverage``, the rule
    files of the packs run (``rule_files``, name → text, for locations) get a coverage report.
    ``rule_set`` names the rule set in the result (``rules/tobacco.yaml``)."""
    cases, problems = load_scenarios(dict(scenario_files))
    problems += check_references(cases, book)
    if keyword:
        cases = [c for c in cases if keyword.lower() in c.scenario.name.lower()]
    advisor = Advisor(book)
    results = tuple(_evaluate(advisor, c) for c in cases)
    cov = None
    if coverage:
        packs = {PurePath(name).name.removesuffix(SCENARIO_SUFFIX) for name in scenario_files}
        cov = measure(book, results, Locator.from_files(dict(rule_files or {})), packs=packs)
    return SuiteRun(results, tuple(problems), cov, len(scenario_files), (rule_set,) if rule_set else ())
