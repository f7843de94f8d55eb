"""engine/inference/compiler.py: rules compiled to CompiledRule (gate, signal patterns, joins, stratum)
and the dates a rule is active on."""

from __future__ import annotations

import datetime as dt

import pytest

from rm_advisor.engine.inference.compiler import local_conditions
from rm_advisor.engine.inference.conditions import Env
from rm_advisor.engine.language.facts import validate_facts
from tests.helpers import KB, Doc, action, advisor, book, client, rule, rule_text


def test_effective_dates_and_relative_date_operators() -> None:
    adv = advisor(rule("t.e", {"client.is_key": True}, {"actions": [action("key_client_priority_service")]},
                       effective={"from": dt.date(2026, 1, 1), "until": dt.date(2026, 6, 30)}))
    facts = {"clients": [client(is_key=True)]}
    assert adv.decide(facts, as_of=dt.date(2026, 3, 1)).clients[0].recommendations
    assert not adv.decide(facts, as_of=dt.date(2026, 7, 1)).clients[0].recommendations


# ---- what a rule compiles to -------------------------------------------------------------------

COACH = {"coaching": [{"topic": "visit_coverage_by_class", "reason": {"zh": "辅导", "en": "coach"}}]}
CHAIN = (
    rule("t.a", {"client.network_client": False}, {"signals": ["outside_official_channel"]}),
    rule("t.b", {"all": [{"signal": "outside_official_channel"}, {"client.is_key": True}]},
         {"signals": ["counterfeit_risk"]}),
    rule("t.c", {"all": [{"signal": "counterfeit_risk"}, {"not": {"signal": "order_decline"}},
                         {"not": {"signal": "outside_official_channel"}}]},
         {"actions": [action("anti_counterfeit_training")]}),
    rule("t.overdue", {"client.days_since_last_visit": {"gt": 7}}, {"signals": ["visit_overdue"]}),
    rule("t.coach", {"all": [{"manager.tenure_months": {"lt": 6}}, {"exists": {"fact": "client", "where": {
        "all": [{"signal": "visit_overdue"}, {"client.client_class": "A"}]}}}]}, COACH, subject="manager"),
    rule("t.complaint", {"exists": {"fact": "interaction", "where": {"interaction.kind": "complaint"}}},
         {"actions": [action("resolve_retailer_complaint")]}),
)
BOOK = book(*CHAIN)
RULES = BOOK.by_id()
FACTS = validate_facts({"managers": [{"id": "M1", "domain": "tobacco", "tenure_months": 3}],
                        "clients": [client("KEY", is_key=True, client_class="A"), client("OTHER", is_key=False)],
                        "interactions": [{"id": "I1", "client_id": "KEY", "kind": "complaint"}]}, KB)


def env(fact_type: str, fact_id: str) -> Env:
    return Env({fact_type: FACTS.get(fact_type, fact_id)}, FACTS.as_of, FACTS)


def test_signal_conditions_become_patterns_and_the_rest_the_gate() -> None:
    b, c = RULES["t.b"], RULES["t.c"]
    assert (b.requires, b.forbids, b.joins) == (("outside_official_channel",), (), ())
    assert (c.requires, c.forbids) == (("counterfeit_risk",), ("order_decline", "outside_official_channel"))
    # t.b's gate is its fact condition alone: it holds for a key client whatever the signals
    assert b.local(env("client", "KEY"), None) is True and b.local(env("client", "OTHER"), None) is False
    assert c.local(env("client", "OTHER"), None) is True  # signals only: the gate always holds


def test_exists_on_a_related_facts_signal_is_a_join() -> None:
    coach = RULES["t.coach"]
    (join,) = coach.joins
    assert (join.fact, join.link_field, join.signals) == ("client", "manager_id", ("visit_overdue",))
    assert join.link_field == KB.facts["client"].links["manager"]
    # the join's `where` keeps the related fact's other conditions; the gate keeps the manager's
    assert join.where(env("client", "KEY"), None) is True and join.where(env("client", "OTHER"), None) is False
    assert coach.local(env("manager", "M1"), None) is True
    assert (coach.requires, coach.forbids) == ((), ())


def test_exists_without_signals_is_part_of_the_gate() -> None:
    complaint = RULES["t.complaint"]
    assert complaint.joins == () and complaint.direct
    assert complaint.local(env("client", "KEY"), None) is True
    assert complaint.local(env("client", "OTHER"), None) is False


def test_only_rules_without_signal_conditions_or_joins_are_direct() -> None:
    assert sorted(r.id for r in BOOK.rules if r.direct) == ["t.a", "t.complaint", "t.overdue"]


def test_strata_put_every_producer_of_a_signal_before_its_users() -> None:
    assert {r.id: r.stratum for r in BOOK.rules} == {"t.a": 0, "t.b": 1, "t.c": 2, "t.overdue": 0, "t.coach": 1,
                                                     "t.complaint": 0}
    producers = {s: r for r in BOOK.rules for s in r.rule.then.signals}
    for r in BOOK.rules:
        for signal in r.requires + r.forbids + tuple(s for j in r.joins for s in j.signals):
            if signal in producers:
                assert producers[signal].salience > r.salience, (producers[signal].id, r.id)


def test_a_compiled_rule_keeps_its_file_and_line() -> None:
    lines = rule_text(*CHAIN).splitlines()
    for r in BOOK.rules:
        assert r.file == "rules/test.yaml"
        assert lines[r.line - 1].strip() == f"- id: {r.id}"


def test_rules_by_id_and_by_subject() -> None:
    assert sorted(RULES) == sorted(r["id"] for r in CHAIN)
    assert [r.id for r in BOOK.for_subject("manager")] == ["t.coach"]
    assert "t.coach" not in {r.id for r in BOOK.for_subject("client")}


def test_local_conditions_are_the_fact_conjuncts_of_nested_alls() -> None:
    when = {"all": [{"client.is_key": True}, {"all": [{"signal": "visit_overdue"}, {"client.client_class": "A"}]},
                    {"not": {"signal": "order_decline"}}, {"any": [{"client.tier": "major"}]}]}
    r = rule("t.n", when, {"actions": [action("key_client_priority_service")]})
    (compiled,) = book(r).rules
    assert [c.model_dump(mode="json", by_alias=True) for c in local_conditions(compiled.rule)] == [
        {"client.is_key": True}, {"client.client_class": "A"}, {"any": [{"client.tier": "major"}]}]


@pytest.mark.parametrize("effective, active", [
    (None, [True, True, True, True]),
    ({"from": dt.date(2026, 3, 1), "until": dt.date(2026, 3, 31)}, [False, True, True, False]),
    ({"from": dt.date(2026, 3, 1)}, [False, True, True, True]),
    ({"until": dt.date(2026, 3, 31)}, [True, True, True, False]),
])
def test_active_on_includes_both_ends_of_the_effective_dates(effective: Doc | None, active: list[bool]) -> None:
    extra: Doc = {"effective": effective} if effective else {}
    (compiled,) = book(rule("t.e", {"client.is_key": True}, {"actions": [action("key_client_priority_service")]},
                            **extra)).rules
    days = [dt.date(2026, 2, 28), dt.date(2026, 3, 1), dt.date(2026, 3, 31), dt.date(2026, 4, 1)]
    assert [compiled.active_on(d) for d in days] == active
