"""Tools for rule authors: scenario tests and the suite runner, coverage, explanations (why and why
not), the rule graph, replay of a portfolio on two rule sets, and decision diffs."""

from rm_advisor.engine.authoring.coverage import Coverage
from rm_advisor.engine.authoring.diff import Change, diff_decisions
from rm_advisor.engine.authoring.explain import ConditionKind, ConditionReport, Explainer, Explanation, RuleReport
from rm_advisor.engine.authoring.graph import (
    cycle_nodes,
    findings,
    parse_rules,
    rule_graph,
    select,
    to_dot,
    to_mermaid,
    to_picture,
)
from rm_advisor.engine.authoring.replay import KINDS, ReplayReport, replay
from rm_advisor.engine.authoring.rule_health import Observation, RuleHealth, Suggestion, rule_health
from rm_advisor.engine.authoring.scenarios import CaseResult, Failure, declared_rule_set, scenario_file_json_schema
from rm_advisor.engine.authoring.suite import SuiteRun, merge_runs, run_suite

__all__ = [
    "KINDS",
    "CaseResult",
    "Change",
    "ConditionKind",
    "ConditionReport",
    "Coverage",
    "Explainer",
    "Explanation",
    "Failure",
    "Observation",
    "ReplayReport",
    "RuleHealth",
    "RuleReport",
    "Suggestion",
    "SuiteRun",
    "cycle_nodes",
    "declared_rule_set",
    "diff_decisions",
    "findings",
    "merge_runs",
    "parse_rules",
    "replay",
    "rule_graph",
    "rule_health",
    "run_suite",
    "scenario_file_json_schema",
    "select",
    "to_dot",
    "to_mermaid",
    "to_picture",
]
