"""engine/inference/arbitration.py: merging, vetoes, ranking and tie-breaking."""

from __future__ import annotations

import pytest

from rm_advisor.engine import Advisor
from rm_advisor.engine.inference.arbitration import _derived_text
from tests.helpers import KB, action, advisor, client, rule


def test_two_rules_for_one_action_merge_with_both_reasons() -> None:
    adv = advisor(
        rule("t.a", {"client.network_client": False}, {"actions": [action("guide_to_network_ordering", en="A")]},
             priority=40),
        rule("t.b", {"client.e_settlement": "none"}, {"actions": [action("guide_to_network_ordering", en="B")]},
             priority=70),
    )
    (rec,) = adv.decide({"clients": [client(network_client=False, e_settlement="none")]}).clients[0].recommendations
    assert rec.score == 70 and rec.rules == ["t.a", "t.b"]
    assert [r.text.en for r in rec.reasons] == ["B", "A"]


def test_veto_beats_any_priority_and_is_shown() -> None:
    adv = advisor(
        rule("t.sell", {"client.owner_contact": True},
             {"actions": [action("cross_sell_retail_to_corporate_owner", priority=100)]}),
        rule("t.risk", {"client.credit_bad_record": True}, {"veto": {"all_sales": True,
             "reason": {"zh": "征信不良", "en": "bad record"}}}, priority=10),
    )
    d = adv.decide({"clients": [client(owner_contact=True, credit_bad_record=True)]}).clients[0]
    assert d.recommendations == []
    (v,) = d.vetoed
    assert v.id == "cross_sell_retail_to_corporate_owner" and [x.rule_id for x in v.vetoed_by] == ["t.risk"]


def test_veto_by_action_id_leaves_other_actions() -> None:
    adv = advisor(
        rule("t.a", {"client.is_key": True}, {"actions": [action("key_client_priority_service"),
                                                          action("promote_key_brands")]}),
        rule("t.v", {"client.under_investigation": True},
             {"veto": {"actions": ["promote_key_brands"], "reason": {"zh": "稽查中", "en": "under investigation"}}}),
    )
    d = adv.decide({"clients": [client(is_key=True, under_investigation=True)]}).clients[0]
    assert [r.id for r in d.recommendations] == ["key_client_priority_service"]
    assert [r.id for r in d.vetoed] == ["promote_key_brands"]


def test_ranking_by_score_then_support_then_id() -> None:
    adv = advisor(
        rule("t.1", {"client.is_key": True}, {"actions": [action("relationship_care"), action("ask_for_referral")]},
             priority=50),
        rule("t.2", {"client.is_key": True}, {"actions": [action("ask_for_referral")]}, priority=50),
        rule("t.3", {"client.is_key": True}, {"actions": [action("periodic_big_client_visit")]}, priority=50),
        rule("t.4", {"client.is_key": True}, {"actions": [action("key_client_priority_service")]}, priority=90),
    )
    recs = adv.decide({"clients": [client(is_key=True)]}).clients[0].recommendations
    assert [r.id for r in recs] == ["key_client_priority_service", "ask_for_referral",
                                    "periodic_big_client_visit", "relationship_care"]


def test_actions_answering_one_cause_become_one_recommendation_with_its_alternatives() -> None:
    """knowledge_base/alternatives.yaml: the open complaint's visit and call are one recommendation."""
    adv = advisor(
        rule("t.visit", {"client.open_complaints": {"gt": 0}},
             {"actions": [action("resolve_retailer_complaint", en="visit")]}, priority=60),
        rule("t.call", {"client.open_complaints": {"gt": 0}},
             {"actions": [action("manage_complaint_expectations", en="call")]}, priority=80),
        rule("t.other", {"client.open_complaints": {"gt": 0}}, {"actions": [action("relationship_care")]}, priority=10),
    )
    recs = adv.decide({"clients": [client(open_complaints=1)]}).clients[0].recommendations
    assert [r.id for r in recs] == ["resolve_retailer_complaint", "relationship_care"]
    first = recs[0]
    assert first.score == 80 and first.rules == ["t.call", "t.visit"]  # the most urgent reason scores it
    assert [r.text.en for r in first.reasons] == ["call", "visit"] and [t.rule_id for t in first.because] == [
        "t.call", "t.visit"]
    assert [(a.id, a.score, a.rules) for a in first.alternatives] == [("manage_complaint_expectations", 80, ["t.call"])]
    assert first.cause is not None and first.cause.en == "The client has an open complaint"
    assert recs[1].alternatives == [] and recs[1].cause is None


def test_a_vetoed_alternative_is_not_folded() -> None:
    adv = advisor(
        rule("t.trust", {"client.is_key": True}, {"actions": [action("befriend_client_first"),
                                                              action("relationship_care")]}),
        rule("t.v", {"client.under_investigation": True},
             {"veto": {"actions": ["befriend_client_first"], "reason": {"zh": "稽查中", "en": "under investigation"}}}),
    )
    d = adv.decide({"clients": [client(is_key=True, under_investigation=True)]}).clients[0]
    assert [(r.id, r.alternatives) for r in d.recommendations] == [("relationship_care", [])]
    assert [r.id for r in d.vetoed] == ["befriend_client_first"]


def test_max_per_subject_limits_the_list() -> None:
    adv = advisor(rule("t.1", {"client.is_key": True}, {"actions": [action("relationship_care"),
                                                                    action("ask_for_referral")]}))
    d = adv.decide({"clients": [client(is_key=True)]}, max_per_subject=1)
    assert len(d.clients[0].recommendations) == 1


def test_reason_templates_are_filled_from_facts_and_parameters() -> None:
    adv = advisor(rule("t.v", {"client.days_since_last_visit": {"gt": "$visit_interval_days_a"}},
                       {"actions": [action("periodic_visit_by_class", en="{client.name}: {client.days_since_last_visit}"
                                           " days > {param.visit_interval_days_a}; {client.client_class|no class}, "
                                           "e-settlement {client.e_settlement|not recorded}",
                                           zh="{client.name}已{client.days_since_last_visit}天({client.client_class|未分类},"
                                              "电子结算{client.e_settlement|未记录})")]}))
    (rec,) = adv.decide({"clients": [client(name="城东店", days_since_last_visit=12, client_class="B")]}
                        ).clients[0].recommendations
    # each text in its own language: the label of the value, the fallback for a missing one
    assert rec.reasons[0].text.en == "城东店: 12 days > 7; class B, e-settlement not recorded"
    assert rec.reasons[0].text.zh == "城东店已12天(B类,电子结算未记录)"
    (rec,) = adv.decide({"clients": [client(days_since_last_visit=12, e_settlement="low_awareness")]}
                        ).clients[0].recommendations
    assert rec.reasons[0].text.en == "The client: 12 days > 7; no class, e-settlement set up but little understood"
    assert rec.reasons[0].text.zh == "该客户已12天(未分类,电子结算已开通但不熟悉)"


def test_a_derived_fields_text_shows_its_value_as_people_read_it() -> None:
    spec = KB.facts["client"].fields["e_settlement"]
    text = _derived_text(spec, "low_awareness", ())
    assert (text.zh, text.en) == ("电子结算状态：已开通但不熟悉（由其他字段计算）",
                                  "E-settlement status: set up but little understood (worked out from other fields)")
    flag = _derived_text(KB.facts["client"].fields["is_key"], True, ("E1",))
    assert flag.zh.startswith("是否重点客户：是（") and flag.en.startswith("Key client: yes (")


def test_a_deadline_ahead_on_a_related_loan_shows_the_nearest_one_in_the_reason(shipped: Advisor) -> None:
    """bank.limitation_period_at_risk: of two open loan events, the reason names the period that ends first."""
    facts = {"as_of": "2026-11-23", "managers": [{"id": "M1", "domain": "bank"}],
             "clients": [{"id": "B2", "manager_id": "M1", "domain": "bank", "overdue_amount": 300000}],
             "interactions": [
                 {"id": "L1", "client_id": "B2", "kind": "loan_event", "status": "open", "days_open": 950},
                 {"id": "L2", "client_id": "B2", "kind": "loan_event", "status": "open", "days_open": 1050},
                 {"id": "L3", "client_id": "B2", "kind": "loan_event", "status": "open", "days_open": 100}]}
    decision = shipped.decide(facts)
    [rec] = [r for r in decision.clients[0].recommendations if r.id == "preserve_limitation_period"]
    assert "ends in 45 days (on 2027-01-07)" in rec.reasons[0].text.en
    assert "还剩45天(至2027-01-07届满)" in rec.reasons[0].text.zh
    assert rec.because[0].related["interaction"] == ["L1", "L2"]


@pytest.fixture
def shipped(advisor: Advisor) -> Advisor:  # the shipped rules (conftest), not the helper of that name
    return advisor
