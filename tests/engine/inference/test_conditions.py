"""engine/inference/conditions.py: fact conditions as predicates: missing values, negation, exists over
related facts, parameters, and the values a trace records."""

from __future__ import annotations

from tests.helpers import action, advisor, client, rule, subject_of


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
