"""engine/authoring/graph.py: the rule graph, its findings, and DOT, Mermaid and picture output."""

from __future__ import annotations

import networkx as nx
import pydot
import pytest

from rm_advisor.engine.authoring.graph import (
    cycle_nodes,
    findings,
    live_rules,
    parse_rules,
    rule_graph,
    select,
    to_dot,
    to_mermaid,
    to_picture,
)
from rm_advisor.engine.checking.signals import Node
from rm_advisor.engine.language.rules import Rule
from rm_advisor.engine.loading.locations import Locator
from tests.helpers import KB, KB_FILES, Doc, action, rule, rule_text

PRODUCE = rule("t.produce", {"client.network_client": False}, {"signals": ["outside_official_channel"]})
USE = rule("t.use", {"all": [{"signal": "outside_official_channel"}, {"not": {"signal": "compliance_hold"}}]},
           {"actions": [action("guide_to_network_ordering")]})
VETO = rule("t.veto", {"client.under_investigation": True},
            {"veto": {"actions": ["counter_placement"], "reason": {"zh": "暂停", "en": "hold"}}})


def build(*rules: Doc) -> tuple[nx.DiGraph[Node], list[Rule], Locator]:
    files = {"rules/t.yaml": rule_text(*rules)}
    parsed = [r for r, _ in parse_rules(files)]
    locator = Locator.from_files(files, KB_FILES)
    return rule_graph(parsed, KB, locator), parsed, locator


def test_fields_rules_signals_and_outcomes_with_their_relations() -> None:
    graph, _, _ = build(PRODUCE, USE, VETO)
    rel = {(a, b): data.get("relation") for a, b, data in graph.edges(data=True)}
    assert rel[("field", "client.network_client"), ("rule", "t.produce")] == "reads"
    assert rel[("rule", "t.produce"), ("signal", "outside_official_channel")] == "asserts"
    assert rel[("signal", "outside_official_channel"), ("rule", "t.use")] == "requires"
    assert rel[("signal", "compliance_hold"), ("rule", "t.use")] == "forbids"
    assert rel[("rule", "t.use"), ("action", "guide_to_network_ordering")] == "recommends"
    assert rel[("rule", "t.veto"), ("action", "counter_placement")] == "vetoes"
    assert graph.nodes[("rule", "t.use")]["file"] == "rules/t.yaml" and graph.nodes[("rule", "t.use")]["line"] > 1


def test_findings_name_unproduced_and_unused_signals_and_unreachable_outcomes() -> None:
    lonely = rule("t.lonely", {"signal": "visit_overdue"}, {"actions": [action("periodic_visit_by_class")]})
    graph, parsed, locator = build(PRODUCE, lonely)
    found = findings(graph, parsed, KB, locator)
    assert {d.severity for d in found} == {"warning"}
    [unproduced] = [d for d in found if d.code == "signal_unproduced" and d.rule_id == "t.lonely"]
    assert "visit_overdue" in unproduced.message and unproduced.location.file == "rules/t.yaml"
    assert [d.rule_id for d in found if d.code == "signal_unused"] == ["t.produce"]
    unreachable = [d for d in found if d.code == "unreachable_outcome"]
    periodic = next(d for d in unreachable if "`periodic_visit_by_class`" in d.message)
    assert "t.lonely" in periodic.message and periodic.location.file == "rules/t.yaml"
    catalogue_only = next(d for d in unreachable if "`counter_placement`" in d.message)
    assert catalogue_only.location.file.endswith("actions.yaml") and catalogue_only.location.line > 1
    catalogue_signal = next(d for d in found if d.code == "signal_unproduced" and "class_changed" in d.message)
    assert catalogue_signal.location.file.endswith("signals/tobacco.yaml")


def test_a_rule_whose_condition_can_never_hold_reaches_nothing() -> None:
    never = Rule.model_validate(rule("t.never", {"client.days_since_last_visit": {"gt": 30, "lt": 10}},
                                     {"actions": [action("guide_to_network_ordering")]}))
    fine = Rule.model_validate(PRODUCE)
    graph = rule_graph([never, fine], KB)
    assert live_rules(graph, [never, fine], KB) == {"t.produce"}


def test_cycles_are_marked() -> None:
    loop = rule("t.loop", {"signal": "counterfeit_risk"}, {"signals": ["outside_official_channel"]})
    back = rule("t.back", {"signal": "outside_official_channel"}, {"signals": ["counterfeit_risk"]})
    graph, _, _ = build(loop, back, PRODUCE)
    assert cycle_nodes(graph) == {("rule", "t.loop"), ("rule", "t.back"), ("signal", "counterfeit_risk"),
                                  ("signal", "outside_official_channel")}
    assert "fb6a4a" in to_dot(graph) and ":::cycle" in to_mermaid(graph)


@pytest.mark.filterwarnings("ignore:'setParseAction' deprecated")  # pydot's parser on pyparsing 3.3
def test_dot_parses_back_with_every_node_and_edge() -> None:
    graph, _, _ = build(PRODUCE, USE, VETO)
    graphs = pydot.graph_from_dot_data(to_dot(graph))
    assert graphs is not None
    [parsed] = graphs
    labels = {n.get("label").strip('"') for n in parsed.get_nodes() if n.get("label")}
    assert {"rule\\nt.use", "signal\\noutside_official_channel"} <= {"\\n".join(label.split("\\n")[:2])
                                                                     for label in labels}
    assert len(parsed.get_edges()) == graph.number_of_edges()


def test_mermaid_has_a_node_per_graph_node_and_an_arrow_per_edge() -> None:
    graph, _, _ = build(PRODUCE, USE, VETO)
    text = to_mermaid(graph)
    assert text.startswith("flowchart LR\n")
    assert sum(1 for line in text.splitlines() if ":::" in line) == len(graph)
    assert sum(1 for line in text.splitlines() if "-->" in line or ".->" in line or ".-x" in line) == \
        graph.number_of_edges()
    assert "-. veto .-x" in text and "-. not .->" in text


def test_select_by_pack_and_focus() -> None:
    graph, _, _ = build(PRODUCE, USE, VETO)
    focused = select(graph, focus="action:guide_to_network_ordering")
    assert ("rule", "t.produce") in focused and ("rule", "t.veto") not in focused
    assert set(select(graph, pack="t")) == set(graph)
    with pytest.raises(KeyError):
        select(graph, focus="nothing_like_this")


@pytest.mark.parametrize("fmt, magic", [("png", b"\x89PNG"), ("svg", b"<svg")])
def test_picture(fmt: str, magic: bytes) -> None:
    pytest.importorskip("matplotlib", reason="the picture needs the `picture` extra (matplotlib)")
    graph, _, _ = build(PRODUCE, USE, VETO)
    data = to_picture(graph, fmt)
    assert magic in data[:400]


def test_a_domains_sales_veto_reaches_only_that_domains_and_the_generic_sales_actions() -> None:
    red_flag = dict(rule("t.red_flag", {"all": [{"client.domain": "bank"}, {"client.credit_bad_record": True}]},
                         {"veto": {"all_sales": True, "reason": {"zh": "暂停营销", "en": "hold sales"}}}),
                    domain="bank")
    graph, _, _ = build(red_flag, USE)
    vetoed = {b[1] for _, b, rel in graph.edges(data="relation", default="") if rel == "vetoes"}
    assert {"cross_sell_retail_to_corporate_owner", "develop_prospect", "ask_for_referral"} <= vetoed
    assert {KB.actions[a].domain for a in vetoed} == {"bank", "generic"}
    assert ("action", "counter_placement") not in graph  # a tobacco sales action
    focused = select(graph, focus="rule:t.red_flag")
    assert {KB.actions[n[1]].domain for n in focused if n[0] == "action"} == {"bank", "generic"}


def test_dot_and_mermaid_label_nodes_with_their_titles_in_zh_and_en() -> None:
    graph, _, _ = build(PRODUCE, USE)
    dot, mermaid = to_dot(graph), to_mermaid(graph)
    title = KB.actions["guide_to_network_ordering"].title
    for text in (dot, mermaid):
        assert title.zh in text and title.en in text and "guide_to_network_ordering" in text
        assert "测试" in text and "test" in text  # the rules' titles (tests.helpers.rule)
    assert f"guide_to_network_ordering<br/>{title.zh}<br/>{title.en}" in mermaid
