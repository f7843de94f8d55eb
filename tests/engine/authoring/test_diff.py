"""engine/authoring/diff.py: what changed between two decisions on the same facts."""

from __future__ import annotations

from rm_advisor.engine import Advisor
from rm_advisor.engine.authoring.diff import diff_decisions
from tests.conftest import ROOT
from tests.helpers import action, advisor, client, rule

NET = {"client.network_client": False}


def test_the_same_decision_has_no_changes() -> None:
    a = advisor(rule("t.a", NET, {"actions": [action("guide_to_network_ordering")]}))
    facts = {"clients": [client(network_client=False)]}
    assert diff_decisions(a.decide(facts), a.decide(facts)) == []


def test_score_rule_and_reason_changes_are_reported_per_item() -> None:
    before = advisor(rule("t.a", NET, {"actions": [action("guide_to_network_ordering", en="old")]}, priority=50),
                     rule("t.b", NET, {"actions": [action("counter_placement")]}))
    after = advisor(rule("t.a", NET, {"actions": [action("guide_to_network_ordering", en="new")]}, priority=70),
                    rule("t.c", NET, {"actions": [action("promote_e_settlement")]}))
    facts = {"clients": [client(network_client=False)]}
    changes = {(c.item, c.what): c for c in diff_decisions(before.decide(facts), after.decide(facts))}
    assert set(changes) == {("guide_to_network_ordering", "score"), ("guide_to_network_ordering", "reasons"),
                            ("guide_to_network_ordering", "rank"),  # 50 tied with counter_placement, 70 leads
                            ("counter_placement", "removed"), ("promote_e_settlement", "added")}
    assert (changes[("guide_to_network_ordering", "score")].before,
            changes[("guide_to_network_ordering", "score")].after) == ("50", "70")
    assert changes[("counter_placement", "removed")].format() == \
        "client:C1 counter_placement: removed: recommended #1 [50] -> -"


def test_different_matched_facts_show_as_a_trace_change() -> None:
    a = advisor(rule("t.a", {"client.days_since_last_visit": {"gt": 5}},
                     {"actions": [action("periodic_visit_by_class")]}))
    changes = diff_decisions(a.decide({"clients": [client(days_since_last_visit=9)]}),
                             a.decide({"clients": [client(days_since_last_visit=30)]}))
    assert [(c.item, c.what) for c in changes] == [("periodic_visit_by_class", "trace")]


def test_an_item_moved_to_vetoed_is_an_outcome_change() -> None:
    rec = rule("t.a", NET, {"actions": [action("counter_placement")]})
    veto = rule("t.v", {"client.under_investigation": True}, {"veto": {"all_sales": True, "reason": {"zh": "查",
                                                                                                     "en": "probe"}}})
    a = advisor(rec, veto)
    changes = diff_decisions(a.decide({"clients": [client(network_client=False)]}),
                             a.decide({"clients": [client(network_client=False, under_investigation=True)]}))
    outcome = [c for c in changes if c.what == "outcome"]
    assert [(c.item, c.before, c.after) for c in outcome] == [("counter_placement", "recommended #1 [50]",
                                                                "vetoed [50] by t.v")]


def test_a_changed_team_benchmark_shows_as_a_card_change() -> None:
    shipped = Advisor.load(ROOT / "rules", ROOT / "knowledge_base")
    facts = {"as_of": "2026-11-23", "managers": [{"id": "M1", "domain": "bank", "credit_file_deductions": 12},
                                                 {"id": "M2", "domain": "bank", "credit_file_deductions": 2}]}
    given = {**facts, "team_benchmarks": [{"id": "bank.credit_file_deductions", "domain": "bank",
                                           "field": "credit_file_deductions", "managers": 9, "median": 4, "mean": 5}]}
    [change] = diff_decisions(shipped.decide(facts), shipped.decide(given))
    assert (change.subject, change.item, change.what) == ("manager:M1", "credit_file_documents_and_ledger", "card")
    assert change.before is not None and "team 7.0 (posted, 2 managers)" in change.before
    assert change.after is not None and "team 4.0 (given, 9 managers)" in change.after
def test_a_rule_that_starts_asking_for_a_missing_value_shows_as_a_to_confirm_change() -> None:
    before = advisor(rule("t.a", {"client.is_key": True}, {"actions": [action("key_client_priority_service")]}))
    after = advisor(rule("t.a", {"client.is_key": {"eq": True, "unknown": "ask"}},
                         {"actions": [action("key_client_priority_service")]}))
    facts = {"clients": [client()]}
    [change] = diff_decisions(before.decide(facts), after.decide(facts))
    assert change.format() == "client:C1: to_confirm: - -> client.is_key -> key_client_priority_service [50]"
