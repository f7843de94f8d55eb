"""engine/inference/conditions.py: fact conditions as predicates: missing values, negation, exists over
related facts, parameters, and the values a trace records."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter

from rm_advisor.engine.inference.conditions import Env, Trace, compile_condition
from rm_advisor.engine.language.facts import Fact, validate_facts
from rm_advisor.engine.language.rules import Condition
from tests.helpers import KB, Doc, action, advisor, client, rule, subject_of


def test_missing_values_fail_comparisons_but_not_negations() -> None:
    adv = advisor(
        rule("t.gt", {"client.days_since_last_visit": {"gt": 3}}, {"actions": [action("periodic_visit_by_class")]}),
        rule("t.not", {"not": {"client.is_key": True}}, {"actions": [action("befriend_client_first")]}),
        rule("t.missing", {"client.client_class": {"present": False}},
             {"actions": [action("reevaluate_client_in_crm")]}),
    )
    recs = [r.id for r in adv.decide({"clients": [client()]}).clients[0].recommendations]
    assert sorted(recs) == ["befriend_client_first", "reevaluate_client_in_crm"]


def test_exists_over_interactions_without_signals() -> None:
    adv = advisor(rule("t.c", {"exists": {"fact": "interaction", "where": {"all": [
        {"interaction.kind": "complaint"}, {"interaction.status": "open"}]}}},
        {"actions": [action("resolve_retailer_complaint")]}))
    facts = {"clients": [client("C1"), client("C2")],
             "interactions": [{"id": "I1", "client_id": "C1", "kind": "complaint", "status": "open"},
                              {"id": "I2", "client_id": "C2", "kind": "complaint", "status": "closed"}]}
    d = adv.decide(facts)
    assert [r.id for r in subject_of(d, "client", "C1").recommendations] == ["resolve_retailer_complaint"]
    assert subject_of(d, "client", "C1").recommendations[0].because[0].related == {"interaction": ["I1"]}
    assert subject_of(d, "client", "C2").recommendations == []


def test_client_rule_reads_its_managers_fields() -> None:
    adv = advisor(rule("t.m", {"manager.tenure_months": {"lt": 6}}, {"actions": [action("befriend_client_first")]}))
    d = adv.decide({"managers": [{"id": "M1", "domain": "tobacco", "tenure_months": 3}], "clients": [client()]})
    assert d.clients[0].recommendations[0].because[0].matched == {"manager.tenure_months": 3}


def test_date_window_takes_a_parameter() -> None:
    adv = advisor(rule("t.exp", {"client.agreement_expiry": {"in_next_days": "$telecom_expiry_lead_days"}},
                       {"actions": [action("renew_agreement_before_expiry")]}))
    assert adv.decide({"as_of": "2026-11-23",
                       "clients": [client(agreement_expiry="2027-01-10")]}).clients[0].recommendations
    assert not adv.decide({"as_of": "2026-11-23",
                           "clients": [client(agreement_expiry="2027-06-10")]}).clients[0].recommendations


# ---- the predicates themselves, on one client, its manager and its interactions -------------------

COND: TypeAdapter[Condition] = TypeAdapter(Condition)
FACTS = validate_facts({
    "as_of": "2026-11-23",
    "managers": [{"id": "M1", "domain": "tobacco", "tenure_months": 3}, {"id": "M2", "domain": "tobacco"}],
    "clients": [client("C1", days_since_last_visit=9), client("C2", days_since_last_visit=1),
                {**client("C3", days_since_last_visit=30), "manager_id": "M2"}, client("BARE")],
    "interactions": [{"id": "I1", "client_id": "C1", "kind": "complaint", "status": "open"},
                     {"id": "I2", "client_id": "C1", "kind": "visit", "status": "done"},
                     {"id": "I3", "client_id": "C2", "kind": "complaint", "status": "open"}],
}, KB)


def holds(cond: Doc, subject: str = "C1", outer: str = "client", trace: Trace | None = None) -> bool:
    """``cond`` compiled and evaluated for one client (with its manager) or, with ``outer="manager"``,
    one manager."""
    fact = FACTS.get(outer, subject)
    assert fact is not None, subject
    scope: dict[str, Fact | None] = {outer: fact}
    if outer == "client":
        scope["manager"] = FACTS.get("manager", fact["manager_id"])
    return compile_condition(COND.validate_python(cond), KB, outer)(Env(scope, FACTS.as_of, FACTS), trace)


@pytest.mark.parametrize("ops", [
    {"eq": 3}, {"ne": 3}, {"gt": 3}, {"ge": 3}, {"lt": 3}, {"le": 3}, {"between": [1, 5]}, {"in": [1, 2]},
    {"not_in": [1, 2]}, {"present": True}])
def test_a_missing_value_fails_every_comparison_and_its_negation_holds(ops: Doc) -> None:
    cond = {"client.days_since_last_visit": ops}
    assert holds(cond, "BARE") is False
    assert holds({"not": cond}, "BARE") is True


def test_present_false_holds_only_for_a_missing_value() -> None:
    assert holds({"client.days_since_last_visit": {"present": False}}, "BARE") is True
    assert holds({"client.days_since_last_visit": {"present": False}}, "C1") is False
    assert holds({"client.days_since_last_visit": {"present": True}}, "C1") is True


def test_a_field_of_a_fact_that_is_not_there_is_missing() -> None:
    # C1's manager M1 has a tenure; no fact in scope is an interaction
    assert holds({"manager.tenure_months": {"lt": 6}}) is True
    trace: Trace = {}
    assert holds({"interaction.kind": "visit"}, trace=trace) is False
    assert holds({"not": {"interaction.kind": "visit"}}) is True
    assert trace == {"interaction.kind": None, "unknown:interaction.kind": "no_match"}


def test_several_operators_on_one_field_must_all_hold() -> None:
    window = {"client.days_since_last_visit": {"gt": 3, "lt": 10}}
    assert (holds(window, "C1"), holds(window, "C2"), holds(window, "C3")) == (True, False, False)


def test_a_parameter_operand_means_its_value_in_the_knowledge_base() -> None:
    interval = KB.parameters["visit_interval_days_a"].value
    assert isinstance(interval, int) and 1 <= interval < 9  # between C2's days and C1's
    by_name = {"client.days_since_last_visit": {"gt": "$visit_interval_days_a"}}
    by_value = {"client.days_since_last_visit": {"gt": interval}}
    assert [holds(by_name, c) for c in ("C1", "C2", "C3", "BARE")] == [True, False, True, False]
    assert [holds(by_value, c) for c in ("C1", "C2", "C3", "BARE")] == [True, False, True, False]


def test_the_trace_records_every_value_read_even_after_a_conjunct_fails() -> None:
    trace: Trace = {}
    cond = {"all": [{"client.is_key": True}, {"client.days_since_last_visit": {"gt": 3}},
                    {"manager.tenure_months": {"lt": 6}}]}
    assert holds(cond, trace=trace) is False
    assert trace == {"client.is_key": None, "client.days_since_last_visit": 9, "manager.tenure_months": 3,
                     "unknown:client.is_key": "no_match"}
    trace = {}
    assert holds({"any": [{"client.days_since_last_visit": {"gt": 3}}, {"client.client_class": "A"}]},
                 trace=trace) is True
    assert trace == {"client.days_since_last_visit": 9, "client.client_class": None,
                     "unknown:client.client_class": "no_match"}


@pytest.mark.parametrize("cond", [
    {"all": [{"client.is_key": True}, {"client.days_since_last_visit": {"gt": 3}}]},
    {"any": [{"client.days_since_last_visit": {"gt": 3}}, {"client.is_key": True}]},
    {"not": {"any": [{"client.is_key": True}, {"client.client_class": "B"}]}},
    {"exists": {"fact": "interaction", "where": {"interaction.kind": "visit"}}},
])
def test_tracing_does_not_change_the_answer(cond: Doc) -> None:
    for subject in ("C1", "C2", "BARE"):
        assert holds(cond, subject, trace={}) is holds(cond, subject)


def test_exists_looks_only_at_the_subjects_own_related_facts() -> None:
    open_complaint = {"exists": {"fact": "interaction", "where": {"all": [
        {"interaction.kind": "complaint"}, {"interaction.status": "open"}]}}}
    trace: Trace = {}
    assert holds(open_complaint, "C1", trace=trace) is True
    assert trace == {"exists:interaction": ["I1"]}  # the values read inside `where` are not the subject's
    assert holds(open_complaint, "C2") is True and holds(open_complaint, "C3") is False
    assert holds({"exists": {"fact": "interaction"}}, "C1") is True  # no `where`: any related fact
    assert holds({"exists": {"fact": "interaction"}}, "BARE") is False
    assert holds({"not": {"exists": {"fact": "interaction"}}}, "BARE") is True


def test_exists_records_each_related_fact_once() -> None:
    trace: Trace = {}
    cond = {"all": [{"exists": {"fact": "interaction", "where": {"interaction.kind": "complaint"}}},
                    {"exists": {"fact": "interaction", "where": {"interaction.status": {"in": ["open", "done"]}}}}]}
    assert holds(cond, "C1", trace=trace) is True
    assert trace == {"exists:interaction": ["I1", "I2"]}


def test_exists_over_a_managers_clients() -> None:
    overdue = {"exists": {"fact": "client", "where": {"client.days_since_last_visit": {"gt": 3}}}}
    trace: Trace = {}
    assert holds(overdue, "M1", outer="manager", trace=trace) is True
    assert trace == {"exists:client": ["C1"]}  # C2 visited a day ago, BARE has no value, C3 is M2's
    assert holds({"exists": {"fact": "client", "where": {"client.days_since_last_visit": {"gt": 20}}}},
                 "M1", outer="manager") is False


def test_a_signal_is_left_to_the_rete_network() -> None:
    with pytest.raises(ValueError, match="Rete network"):
        compile_condition(COND.validate_python({"signal": "visit_overdue"}), KB, "client")


@pytest.mark.parametrize("unknown, missing, given_pass, given_fail", [
    ("match", True, True, False), ("no_match", False, True, False), ("ask", False, True, False),
])
def test_unknown_decides_a_missing_value_and_only_a_missing_one(unknown: str, missing: bool, given_pass: bool,
                                                               given_fail: bool) -> None:
    cond = {"client.days_since_last_visit": {"gt": 3, "unknown": unknown}}  # C1: 9 days, C2: 1 day, BARE: none
    assert (holds(cond, "BARE"), holds(cond, "C1"), holds(cond, "C2")) == (missing, given_pass, given_fail)
    assert holds({"not": cond}, "BARE") is not missing


def test_the_trace_says_what_each_missing_value_counted_as() -> None:
    trace: Trace = {}
    holds({"all": [{"client.days_since_last_visit": {"gt": 3, "unknown": "match"}},
                   {"client.is_key": {"present": False}}, {"not": {"client.tier": "strategic"}}]}, "BARE", trace=trace)
    assert trace == {"client.days_since_last_visit": None, "unknown:client.days_since_last_visit": "match",
                     "client.is_key": None,  # `present` tests the gap itself: nothing counted
                     "client.tier": None, "unknown:client.tier": "no_match"}  # the comparison inside `not`


def test_a_rule_matching_on_a_missing_value_says_so_in_its_trace() -> None:
    adv = advisor(rule("t.tier", {"all": [{"client.domain": "tobacco"},
                                          {"client.tier": {"ne": "strategic", "unknown": "match"}}]},
                       {"actions": [action("befriend_client_first")]}))
    [rec] = adv.decide({"clients": [client()]}).clients[0].recommendations
    assert rec.because[0].matched == {"client.domain": "tobacco", "client.tier": None}
    assert rec.because[0].unknown == {"client.tier": "match"}


# ---------------------------------------------------------------- comparisons between fields

def test_a_comparison_between_fields_reads_both_and_records_both_in_the_trace() -> None:
    cond = {"compare": {"left": "client.days_since_last_visit", "op": "gt", "right": "manager.tenure_months"}}
    trace: Trace = {}
    assert holds(cond, "C1", trace=trace) is True  # 9 days against a manager 3 months in the post
    assert trace == {"client.days_since_last_visit": 9, "manager.tenure_months": 3}
    assert holds(cond, "C2") is False  # 1 day
    trace = {}
    assert holds({**cond, "compare": {**cond["compare"], "unknown": "match"}}, "BARE", trace=trace) is True
    assert trace["unknown:client.days_since_last_visit"] == "match"
    assert holds(cond, "BARE") is False and holds({"not": cond}, "BARE") is True


def test_a_rule_over_two_fields_fires_on_the_fields_alone_and_its_trace_shows_both() -> None:
    adv = advisor(rule("t.over", {"compare": {"left": "client.credit_requested", "op": "gt",
                                              "right": "client.funding_need", "times": 1.2}},
                       {"actions": [action("guide_to_network_ordering", en="asks {client.credit_requested}")]}))
    d = adv.decide({"clients": [client("C1", credit_requested=8_000_000, funding_need=6_000_000),
                                client("C2", credit_requested=7_000_000, funding_need=6_000_000)]})
    [rec] = subject_of(d, "client", "C1").recommendations
    assert rec.because[0].matched == {"client.credit_requested": 8_000_000, "client.funding_need": 6_000_000}
    assert subject_of(d, "client", "C2").recommendations == []
