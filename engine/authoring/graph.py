"""The rule set as a graph: facts' fields -> rules -> signals -> rules -> actions and coaching topics.

Built on :func:`engine.checking.signals.signal_graph` (the graph the checker uses to find signal cycles and
the compiler to order rules), with the fields each rule reads and the outcomes it recommends or
vetoes added. From it come:

* findings (:func:`findings`): signals no rule asserts or no rule uses, and actions or coaching
  topics that no rule able to fire recommends (a topic the coaching from clients recommends is
  reachable); cycles are the checker's ``signal_cycle`` errors and
  are marked on the graph (:func:`cycle_nodes`);
* DOT (:func:`to_dot`, via pydot), Mermaid (:func:`to_mermaid`) and a PNG or SVG picture
  (:func:`to_picture`, drawn with matplotlib in layers, so no Graphviz program is needed).

Nodes are ``(kind, id)`` pairs: kinds ``field``, ``rule``, ``signal``, ``action``, ``coaching``; DOT and
Mermaid label each with its id and its zh and en titles (the picture, drawn without CJK fonts, with
its id). A veto with ``all_sales`` is drawn onto the sales actions of its rule's domain and the
generic ones: a bank rule's veto never reaches a tobacco action.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import networkx as nx

from rm_advisor.engine.checking.analysis import can_hold
from rm_advisor.engine.checking.signals import Node, signal_graph
from rm_advisor.engine.errors import Diagnostic
from rm_advisor.engine.language.knowledge import KnowledgeBase, Text
from rm_advisor.engine.language.rules import Condition, Rule, RuleFile
from rm_advisor.engine.language.walk import children, conjuncts, form, refs, signal_test
from rm_advisor.engine.loading.locations import Locator
from rm_advisor.engine.loading.validation import validate_document
from rm_advisor.engine.loading.yaml_source import parse_yaml

OUTCOME_KINDS = ("action", "coaching")
_COLOURS = {"field": "#d9d9d9", "rule": "#9ecae1", "signal": "#fdd49e", "action": "#a1d99b",
            "coaching": "#bcbddc"}
_CYCLE = "#fb6a4a"
#: the relation read off an edge that has none: a signal a rule uses inside ``any`` or ``not``
_UNLABELLED = ""


def parse_rules(files: dict[str, str]) -> list[tuple[Rule, str]]:
    """The rules of every file that matches the rule format, with their file (no semantic check):
    enough to draw a rule set the checker refuses, e.g. one with a signal cycle."""
    out: list[tuple[Rule, str]] = []
    for name in sorted(files):
        parsed = parse_yaml(files[name], name)
        doc, _ = validate_document(RuleFile, parsed) if parsed.data is not None else (None, [])
        out.extend((rule, name) for rule in (doc.rules if doc else ()))
    return out


def rule_graph(rules: Sequence[Rule], kb: KnowledgeBase, locator: Locator | None = None) -> nx.DiGraph[Node]:
    """The rule set as a directed graph; edges carry a ``relation``: reads, requires, forbids,
    joins (a signal on a related fact), asserts, recommends, vetoes."""
    graph = signal_graph(list(rules))
    for rule in rules:
        node = ("rule", rule.id)
        loc = locator.rule(rule.id) if locator else None
        graph.nodes[node].update(kind="rule", label=rule.id, priority=rule.priority, subject=rule.subject,
                                 file=loc.file if loc else "", line=loc.line if loc else 0,
                                 pack=(loc.file.rsplit("/", 1)[-1].removesuffix(".yaml") if loc and loc.file
                                       else rule.id.split(".")[0]))
        for name, relation in _signal_uses(rule):
            graph.edges[("signal", name), node]["relation"] = relation
        for name in rule.then.signals:
            graph.edges[node, ("signal", name)]["relation"] = "asserts"
        for ref in sorted(set(refs(rule.when))):
            graph.add_edge(("field", ref), node, relation="reads")
        for out in rule.then.actions:
            graph.add_edge(node, ("action", out.action), relation="recommends")
        for co in rule.then.coaching:
            graph.add_edge(node, ("coaching", co.topic), relation="recommends")
        if rule.then.veto:
            blocked = set(rule.then.veto.actions)
            if rule.then.veto.all_sales:  # the sales actions a subject of the rule's domain can be given
                blocked |= {a.id for a in kb.actions.values() if a.sales and
                            (rule.domain == "generic" or a.domain in (rule.domain, "generic"))}
            for aid in sorted(blocked):
                if not graph.has_edge(node, ("action", aid)):
                    graph.add_edge(node, ("action", aid), relation="vetoes")
    titles: dict[str, Mapping[str, Any]] = {"rule": {r.id: r.title for r in rules}, "signal": kb.signals,
                                            "action": kb.actions, "coaching": kb.coaching}
    for node, data in graph.nodes(data=True):
        data.setdefault("kind", node[0])
        data.setdefault("label", node[1])
        found = titles.get(node[0], {}).get(node[1])
        title = found if isinstance(found, Text) else getattr(found, "title", None)
        if title is not None:
            data.update(title_zh=title.zh, title_en=title.en)
    return graph


def _titled(data: dict[str, Any], sep: str) -> str:
    """A node's zh and en titles after its id, joined by ``sep`` (nothing for a field)."""
    return "".join(sep + data[k] for k in ("title_zh", "title_en") if data.get(k))


def _signal_uses(rule: Rule) -> list[tuple[str, str]]:
    uses = []
    for cond, path in conjuncts(rule.when):
        test = signal_test(cond)
        if test is not None:
            uses.append((test[0], "requires" if test[1] else "forbids"))
        for where, at in children(cond, path) if form(cond) in ("exists", "linked") else ():
            uses += [(name, "joins") for c, _ in conjuncts(where, at) if (name := _required(c))]
    return uses


def _required(cond: Condition) -> str:
    test = signal_test(cond)
    return test[0] if test is not None and test[1] else ""


def cycle_nodes(graph: nx.DiGraph[Node]) -> set[Node]:
    """Rules and signals on a signal cycle (the checker reports each cycle as ``signal_cycle``)."""
    core = graph.subgraph(n for n in graph if n[0] in ("rule", "signal"))
    return {n for comp in nx.strongly_connected_components(core) if len(comp) > 1 for n in comp}


def live_rules(graph: nx.DiGraph[Node], rules: Sequence[Rule], kb: KnowledgeBase) -> set[str]:
    """Rules that can fire: their conditions can hold and every signal they require (on the
    subject or through a join) is asserted by a rule that can fire. A fixpoint over the graph."""
    possible = {r.id for r in rules if can_hold(r, kb)}
    live: set[str] = set()
    changed = True
    while changed:
        changed = False
        for rid in sorted(possible - live):
            needed = [s for s, _, rel in graph.in_edges(("rule", rid), data="relation", default=_UNLABELLED)
                      if s[0] == "signal" and rel in ("requires", "joins")]
            if all(any(p[1] in live for p in graph.predecessors(s)) for s in needed):
                live.add(rid)
                changed = True
    return live


def findings(graph: nx.DiGraph[Node], rules: Sequence[Rule], kb: KnowledgeBase, locator: Locator) -> list[Diagnostic]:
    """Warnings about the shape of the rule set (see the module docstring)."""
    diags = []
    signals = sorted({n[1] for n in graph if n[0] == "signal"} | set(kb.signals))
    for name in signals:
        node = ("signal", name)
        producers = sorted(p[1] for p in graph.predecessors(node)) if node in graph else []
        users = sorted(s[1] for s in graph.successors(node)) if node in graph else []
        if not producers:
            where = locator.rule(users[0]) if users else locator.entry("signals", name)
            text = (f"signal `{name}` is used by {', '.join(users)} but no rule asserts it" if users
                    else f"signal `{name}` is in the catalogue but no rule asserts or uses it")
            diags.append(Diagnostic("signal_unproduced", text, where, rule_id=users[0] if users else "",
                                    severity="warning",
                                    hint="add a rule that asserts it under `then.signals`, or drop the condition"))
        elif not users:
            diags.append(Diagnostic("signal_unused", f"signal `{name}` is asserted by {', '.join(producers)} but "
                                    "no rule uses it (it only shows in decisions)", locator.rule(producers[0]),
                                    rule_id=producers[0], severity="warning",
                                    hint="use it in a rule's `when`, or keep it as information on purpose"))
    live = live_rules(graph, rules, kb)
    from_clients = {e.topic for e in kb.coaching_from_clients.values()}  # coaching the clients' actions call for
    for kind, catalogue in (("action", kb.actions), ("coaching", kb.coaching)):
        for item in sorted(catalogue):
            node = (kind, item)
            if kind == "coaching" and item in from_clients:
                continue
            recommenders = [r[1] for r, _, rel in graph.in_edges(node, data="relation", default=_UNLABELLED)
                            if rel == "recommends"] if node in graph else []
            if any(r in live for r in recommenders):
                continue
            why = ("no rule recommends it" if not recommenders else
                   f"the rules that recommend it ({', '.join(sorted(recommenders))}) can never fire")
            where = locator.rule(sorted(recommenders)[0]) if recommenders else locator.entry(
                "actions" if kind == "action" else "coaching", item)
            diags.append(Diagnostic("unreachable_outcome", f"{kind} `{item}` can never be recommended: {why}",
                                    where, severity="warning",
                                    hint="add a rule for it, fix the rules' conditions, or drop it from the catalogue"))
    return diags


def select(graph: nx.DiGraph[Node], pack: str | None = None, focus: str | None = None) -> nx.DiGraph[Node]:
    """A part of the graph: the rules of one pack with their neighbours, and/or everything
    upstream and downstream of one node (``focus`` is an id, or ``kind:id``)."""
    keep = set(graph)
    if pack:
        rules = {n for n, d in graph.nodes(data=True) if n[0] == "rule" and d.get("pack") == pack}
        keep = rules | {m for n in rules for m in nx.all_neighbors(graph, n)}
    if focus:
        kind, _, ident = focus.rpartition(":")
        hits = [n for n in graph if n[1] == ident and (not kind or n[0] == kind)]
        if not hits:
            raise KeyError(focus)
        around = set(hits)
        for n in hits:
            around |= nx.ancestors(graph, n) | nx.descendants(graph, n)
        keep &= around
    return graph.subgraph(keep).copy()


def _layers(graph: nx.DiGraph[Node]) -> dict[Node, int]:
    """Columns for drawing: fields first, then rules and the signals they assert by stratum (a
    rule one column right of the signals it uses), outcomes last."""
    core = graph.subgraph(n for n in graph if n[0] in ("rule", "signal"))
    column: dict[Node, int] = {}
    if nx.is_directed_acyclic_graph(core):
        level: dict[Node, int] = {}
        for node in nx.topological_sort(core):
            preds = [level[p] for p in core.predecessors(node)]
            level[node] = max(preds, default=0) + (1 if node[0] == "rule" else 0)
            column[node] = 2 * level[node] - 1 if node[0] == "rule" else 2 * level[node]
    else:
        column = {n: 1 if n[0] == "rule" else 2 for n in core}
    last = max(column.values(), default=1) + 1
    return {n: column.get(n, 0 if n[0] == "field" else last) for n in graph}


def _positions(graph: nx.DiGraph[Node], layers: dict[Node, int]) -> dict[Node, tuple[float, float]]:
    """Columns left to right; within a column, nodes ordered by the mean height of the nodes that
    lead to them (then fields by the rules they feed), which keeps most edges short and uncrossed."""
    columns: dict[int, list[Node]] = {}
    for node in sorted(graph):
        columns.setdefault(layers[node], []).append(node)
    rank: dict[Node, float] = {}

    def place(nodes: list[Node], neighbours: Any) -> None:
        def key(n: Node) -> tuple[float, Node]:
            known = [rank[m] for m in neighbours(n) if m in rank]
            return (sum(known) / len(known) if known else float("inf"), n)
        for i, n in enumerate(sorted(nodes, key=key)):
            rank[n] = i / max(len(nodes) - 1, 1)

    order = sorted(columns)
    for sweep in range(2):  # forward, fields from what they feed, forward again
        for col in order[1:]:
            place(columns[col], graph.predecessors)
        if order and sweep == 0:
            place(columns[order[0]], graph.successors)
    return {n: (float(layers[n]), 1.0 - rank.get(n, 0.5)) for n in graph}


def to_dot(graph: nx.DiGraph[Node], name: str = "rules") -> str:
    """Graphviz DOT text (render it with ``dot -Tsvg`` or any DOT viewer)."""
    import pydot

    dot = pydot.Dot(name, graph_type="digraph", rankdir="LR", fontsize="10")
    dot.set_node_defaults(fontname="Helvetica", fontsize="10", style="filled")
    hot = cycle_nodes(graph)
    ids = _ids(graph)
    for node in sorted(graph):
        data = graph.nodes[node]
        shape = {"field": "note", "rule": "box", "signal": "ellipse"}.get(node[0], "box")
        attrs: dict[str, Any] = {"label": _quote(f"{node[0]}\n{node[1]}{_titled(data, chr(10))}"), "shape": shape,
                                 "fillcolor": _quote(_CYCLE if node in hot else _COLOURS[node[0]])}
        if data.get("file"):
            attrs["tooltip"] = _quote(f"{data['file']}:{data['line']}")
        dot.add_node(pydot.Node(ids[node], **attrs))
    for a, b, rel in sorted(graph.edges(data="relation", default=_UNLABELLED), key=lambda e: (e[0], e[1])):
        attrs = {"label": _quote(rel)} if rel in ("forbids", "joins", "vetoes") else {}
        if rel in ("forbids", "vetoes"):
            attrs.update(style="dashed", color="red")
        dot.add_edge(pydot.Edge(ids[a], ids[b], **attrs))
    return str(dot.to_string())


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _ids(graph: nx.DiGraph[Node]) -> dict[Node, str]:
    return {node: f"n{i}" for i, node in enumerate(sorted(graph))}


def to_mermaid(graph: nx.DiGraph[Node]) -> str:
    """A Mermaid flowchart (renders in GitHub, GitLab and most Markdown viewers)."""
    ids = _ids(graph)
    hot = cycle_nodes(graph)
    shapes = {"field": ('["', '"]'), "rule": ('["', '"]'), "signal": ('(["', '"])'),
              "action": ('[/"', '"/]'), "coaching": ('[\\"', '"\\]')}
    lines = ["flowchart LR"]
    for kind, colour in _COLOURS.items():
        lines.append(f"  classDef {kind} fill:{colour},stroke:#555")
    lines.append(f"  classDef cycle fill:{_CYCLE},stroke:#a50f15")
    for node in sorted(graph):
        left, right = shapes[node[0]]
        label = (node[1] + _titled(graph.nodes[node], "<br/>")).replace('"', "#quot;")
        lines.append(f"  {ids[node]}{left}{label}{right}:::{'cycle' if node in hot else node[0]}")
    arrows = {"forbids": "-. not .->", "vetoes": "-. veto .-x", "joins": "-- join -->"}
    for a, b, rel in sorted(graph.edges(data="relation", default=_UNLABELLED), key=lambda e: (e[0], e[1])):
        lines.append(f"  {ids[a]} {arrows.get(rel, '-->')} {ids[b]}")
    return "\n".join(lines) + "\n"


def to_picture(graph: nx.DiGraph[Node], fmt: str = "svg") -> bytes:
    """The graph drawn in columns (fields, rules, signals, ..., outcomes) as PNG or SVG bytes."""
    from matplotlib.figure import Figure  # imported here: only pictures need it

    if fmt not in ("png", "svg"):
        raise ValueError(f"picture format must be png or svg, not {fmt}")
    graph = graph.copy()
    layers = _layers(graph)
    for node, layer in layers.items():
        graph.nodes[node]["layer"] = layer
    columns: dict[int, int] = {}
    for layer in layers.values():
        columns[layer] = columns.get(layer, 0) + 1
    height = max(4.0, 0.28 * max(columns.values(), default=1))
    width = max(6.0, 3.2 * len(columns))
    pos = _positions(graph, layers)
    fig = Figure(figsize=(width, height))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    hot = cycle_nodes(graph)
    for kind, colour in _COLOURS.items():
        nodes = [n for n in graph if n[0] == kind]
        nx.draw_networkx_nodes(graph, pos, nodelist=nodes, ax=ax, node_size=60, node_shape="s" if kind != "signal"
                               else "o", node_color=[_CYCLE if n in hot else colour for n in nodes])
    relations = list(graph.edges(data="relation", default=_UNLABELLED))
    plain = [(a, b) for a, b, rel in relations if rel not in ("forbids", "vetoes")]
    dashed = [(a, b) for a, b, rel in relations if rel in ("forbids", "vetoes")]
    nx.draw_networkx_edges(graph, pos, edgelist=plain, ax=ax, width=0.4, alpha=0.5, arrowsize=5,
                           edge_color="#555555")
    nx.draw_networkx_edges(graph, pos, edgelist=dashed, ax=ax, width=0.5, alpha=0.7, arrowsize=5,
                           edge_color="red", style="dashed")
    nx.draw_networkx_labels(graph, pos, labels={n: n[1] for n in graph}, ax=ax, font_size=5,
                            horizontalalignment="left", verticalalignment="bottom")
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], marker="o" if kind == "signal" else "s", linestyle="", color=colour, label=kind)
               for kind, colour in _COLOURS.items()]
    handles.append(Line2D([], [], color="red", linestyle="--", label="veto / not"))
    ax.legend(handles=handles, loc="upper left", fontsize=6, frameon=False)
    ax.margins(0.08, 0.02)
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=150)
    return buf.getvalue()

