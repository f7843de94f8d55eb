"""Tools for rule authors: scenario tests and the suite runner, coverage, explanations (why and why
not), the rule graph, replay of a portfolio on two rule sets, decision diffs, champion/challenger
experiments and the offline simulation of a new rule set on the decision log."""

from rm_advisor.engine.authoring.coverage import Coverage
from rm_advisor.engine.authoring.diff import Change, diff_decisions
from rm_advisor.engine.authoring.experiments import (
    ALPHA,
    MIN_PER_ARM,
    NAME_PATTERN,
    ArmCounts,
    ArmResult,
    Comparison,
    Experiment,
    ExperimentReport,
    Metric,
    Rate,
    analyse,
    check_experiment,
    experiment_file_json_schema,
)
from rm_advisor.engine.authoring.explain import (
    OUTCOME_TEXT,
    ConditionKind,
    ConditionReport,
    Explainer,
    Explanation,
    RuleReport,
)
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
from rm_advisor.engine.authoring.simulation import RESAMPLES, LoggedItem, OffPolicyEstimate, estimate_acceptance
from rm_advisor.engine.authoring.suite import SuiteRun, merge_runs, run_suite

__all__ = [
    "ALPHA",
    "KINDS",
    "MIN_PER_ARM",
    "NAME_PATTERN",
    "OUTCOME_TEXT",
    "RESAMPLES",
    "ArmCounts",
    "ArmResult",
    "CaseResult",
    "Change",
    "Comparison",
    "ConditionKind",
    "ConditionReport",
    "Coverage",
    "Experiment",
    "ExperimentReport",
    "Explainer",
    "Explanation",
    "Failure",
    "LoggedItem",
    "Metric",
    "Observation",
    "OffPolicyEstimate",
    "Rate",
    "ReplayReport",
    "RuleHealth",
    "RuleReport",
    "Suggestion",
    "SuiteRun",
    "analyse",
    "check_experiment",
    "cycle_nodes",
    "declared_rule_set",
    "diff_decisions",
    "estimate_acceptance",
    "experiment_file_json_schema",
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
