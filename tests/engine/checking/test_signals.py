"""engine/checking/signals.py: the signal graph of a rule set, its cycles, and the strata that let
every signal be asserted before a rule tests it."""

from __future__ import annotations

from rm_advisor.engine.checking.signals import signal_cycles, signal_graph, strata
from rm_advisor.engine.language.rules import Rule
from tests.helpers import Doc, action, rule


def rules(*docs: Doc) -> list[Rule]:
    return [Rule.model_validate(d) for d in docs]


def asserts(rule_id: str, when: Doc, *signals: str) -> Doc:
    return rule(rule_id, when, {"signals": list(signals)})


def recommends(rule_id: str, when: Doc) -> Doc:
    return rule(rule_id, when, {"actions": [action("guide_to_network_ordering")]})


def used(name: str) -> Doc:
    return {"signal": name}


def test_edges_run_from_a_signal_to_its_users_and_from_a_rule_to_what_it_asserts() -> None:
    graph = signal_graph(rules(
        asserts("t.a", {"client.network_client": False}, "outside", "risky"),
        asserts("t.b", {"all": [used("outside"), {"not": used("late")}]}, "late_b"),
        recommends("t.c", {"exists": {"fact": "client", "where": used("risky")}}),
        recommends("t.alone", {"client.is_key": True}),
    ))
    assert sorted(graph.edges) == [
        (("rule", "t.a"), ("signal", "outside")), (("rule", "t.a"), ("signal", "risky")),
        (("rule", "t.b"), ("signal", "late_b")),
        (("signal", "late"), ("rule", "t.b")), (("signal", "outside"), ("rule", "t.b")),
        (("signal", "risky"), ("rule", "t.c"))]
    assert ("rule", "t.alone") in graph.nodes and graph.degree(("rule", "t.alone")) == 0


def test_a_rule_set_without_loops_has_no_cycles() -> None:
    assert signal_cycles(rules(asserts("t.a", {"client.is_key": True}, "s1"), asserts("t.b", used("s1"), "s2"),
                               recommends("t.c", {"not": used("s2")}))) == []


def test_each_cycle_names_its_rules_sorted_and_the_cycles_come_in_a_stable_order() -> None:
    loops = rules(
        asserts("t.z", used("x"), "y"), asserts("t.m", used("y"), "x"),      # t.m <-> t.z
        asserts("t.self", {"not": used("own")}, "own"),                     # a rule that tests what it asserts
        asserts("t.c", used("p"), "q"), asserts("t.b", used("q"), "r"), asserts("t.a", used("r"), "p"),
        asserts("t.free", {"client.is_key": True}, "x"),                    # feeds a loop, is in none
    )
    expected = [["t.a", "t.b", "t.c"], ["t.m", "t.z"], ["t.self"]]
    assert signal_cycles(loops) == expected
    assert signal_cycles(loops[::-1]) == expected


def test_a_stratum_is_the_longest_chain_of_asserting_rules_before_a_rule() -> None:
    levels = strata(rules(
        recommends("t.last", {"all": [used("deep"), used("shallow")]}),
        asserts("t.deep", used("mid"), "deep"),
        asserts("t.mid", used("base"), "mid"),
        asserts("t.base", {"client.network_client": False}, "base"),
        asserts("t.shallow", {"client.is_key": True}, "shallow"),
        recommends("t.alone", {"client.is_key": True}),
    ))
    assert levels == {"t.base": 0, "t.shallow": 0, "t.alone": 0, "t.mid": 1, "t.deep": 2, "t.last": 3}


def test_a_signal_no_rule_asserts_puts_nothing_before_its_user() -> None:
    assert strata(rules(recommends("t.user", used("from_nowhere")))) == {"t.user": 0}


def test_a_negated_signal_orders_the_rules_as_a_required_one_does() -> None:
    # `not: {signal: s}` is sound only once every rule asserting s has fired
    levels = strata(rules(recommends("t.user", {"not": used("s")}), asserts("t.maker", {"client.is_key": True}, "s")))
    assert levels["t.maker"] < levels["t.user"]


def test_every_rule_asserting_a_signal_comes_before_every_rule_using_it() -> None:
    docs = rules(
        asserts("t.p1", {"client.is_key": True}, "s"), asserts("t.p2", used("t"), "s"),
        asserts("t.t", {"client.tier": "major"}, "t"), recommends("t.u1", used("s")),
        recommends("t.u2", {"exists": {"fact": "client", "where": used("s")}}),
    )
    levels = strata(docs)
    makers = [r.id for r in docs if "s" in r.then.signals]
    users = ["t.u1", "t.u2"]
    assert all(levels[m] < levels[u] for m in makers for u in users), levels
