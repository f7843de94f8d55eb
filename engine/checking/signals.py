"""The signal graph of a rule set: which rules assert and which use each derived signal.

Rules and signals are nodes (``("rule", id)``, ``("signal", name)``); an edge runs from a signal
to each rule that tests it and from a rule to each signal it asserts. The checker refuses a set
whose graph has a cycle (:func:`signal_cycles`), so the rules fall into strata (:func:`strata`):
every signal is asserted before any rule tests it, which is what lets a decision chain in one pass.
"""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx

from rm_advisor.engine.language.rules import Rule
from rm_advisor.engine.language.walk import signals

#: a node of the rule graphs: (kind, id), kind being field, rule, signal, action or coaching
Node = tuple[str, str]


def signal_graph(rules: Sequence[Rule]) -> nx.DiGraph[Node]:
    """Rules and signals as a graph: signal -> rule that uses it, rule -> signal it asserts."""
    graph: nx.DiGraph[Node] = nx.DiGraph()
    for rule in rules:
        node = ("rule", rule.id)
        graph.add_node(node)
        for name in signals(rule.when):
            graph.add_edge(("signal", name), node)
        for name in rule.then.signals:
            graph.add_edge(node, ("signal", name))
    return graph


def signal_cycles(rules: Sequence[Rule]) -> list[list[str]]:
    """The rule ids of each cycle through signals (each sorted; the cycles in a stable order)."""
    cycles = (sorted(n[1] for n in cycle if n[0] == "rule") for cycle in nx.simple_cycles(signal_graph(rules)))
    return sorted(cycles)


def strata(rules: Sequence[Rule]) -> dict[str, int]:
    """The longest chain of signal-asserting rules before each rule (its stratum), for a set
    without cycles: a rule of stratum k tests only signals asserted in strata below k."""
    graph = signal_graph(rules)
    level: dict[Node, int] = {}
    for node in nx.topological_sort(graph):
        preds = [level[p] for p in graph.predecessors(node)]
        top = max(preds, default=-1)  # a signal no rule asserts: nothing comes before it
        level[node] = top + 1 if node[0] == "rule" else top
    return {node[1]: lvl for node, lvl in level.items() if node[0] == "rule"}
