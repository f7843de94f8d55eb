"""A rule set checked completely: references, types and placement (checker), static analysis of
the conditions (analysis), and the signal graph with its cycles and strata (signals)."""

from rm_advisor.engine.checking.checker import RuleSet, check_rule_files
from rm_advisor.engine.checking.signals import Node, signal_graph, strata

__all__ = [
    "Node", "RuleSet", "check_rule_files", "signal_graph", "strata",
]
