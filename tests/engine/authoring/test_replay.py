"""engine/authoring/replay.py: which decisions change between two rule sets, per manager and per action."""

from __future__ import annotations

from rm_advisor.engine.authoring.replay import replay
from rm_advisor.engine.language.facts import validate_facts
from tests.helpers import KB, action, advisor, client, rule

NET = rule("t.net", {"client.network_client": False}, {"actions": [action("guide_to_network_ordering")]}, priority=70)
KEY = rule("t.key", {"client.is_key": True}, {"actions": [action("key_client_priority_service")]}, priority=60)
VETO = rule("t.hold", {"client.under_investigation": True},
            {"veto": {"actions": ["key_client_priority_service"], "reason": {"zh": "稽查期间暂停", "en": "hold"}}})
LAGGING = rule("t.lag", {"manager.assessment_score": {"lt": 70}},
               {"coaching": [{"topic": "crm_system_mastery", "reason": {"zh": "考核偏低", "en": "low score"}}]},
               subject="manager")

FACTS = {"as_of": "2026-11-23",
         "managers": [{"id": "M1", "domain": "tobacco", "assessment_score": 60},
                      {"id": "M2", "domain": "tobacco", "assessment_score": 90}],
         "clients": [client("C1", network_client=False, is_key=True),
                     client("C2", network_client=True, is_key=True, under_investigation=True),
                     {**client("C3", network_client=False), "manager_id": "M2"}]}


def test_added_removed_reranked_and_veto_per_subject() -> None:
    old = advisor(NET, KEY, LAGGING)
    new = advisor(rule("t.net", {"client.network_client": False}, {"actions": [action("guide_to_network_ordering")]},
                       priority=50), KEY, VETO)
    report = replay(old, new, [("portfolio.yaml", FACTS)])
    changes = {(c.subject, c.item): (c.kind, c.before, c.after, c.manager) for c in report.changes}
    assert changes == {
        ("client:C1", "guide_to_network_ordering"): ("reranked", "rank 1 (score 70)", "rank 2 (score 50)", "M1"),
        ("client:C1", "key_client_priority_service"): ("reranked", "rank 2 (score 60)", "rank 1 (score 60)", "M1"),
        ("client:C2", "key_client_priority_service"): ("removed", "rank 1 (score 60)", "vetoed", "M1"),
        ("manager:M1", "crm_system_mastery"): ("removed", "rank 1 (score 50)", "-", "M1"),
    }
    assert report.totals() == {"added": 0, "removed": 2, "reranked": 2, "veto": 0}
    assert report.by_manager()["M1"] == {"subjects": 3, "added": 0, "removed": 2, "reranked": 2, "veto": 0}
    assert report.by_manager()["M2"]["subjects"] == 0  # C3 only changed score, not place
    assert report.by_item()["key_client_priority_service"] == {"added": 0, "removed": 1, "reranked": 1, "veto": 0}
    assert (report.documents, report.subjects, report.changed_subjects) == (1, 5, 3)
    assert report.old_revision != report.new_revision


def test_the_same_rules_change_nothing_and_fact_sets_are_accepted() -> None:
    rules = advisor(NET, KEY, VETO)
    fact_set = validate_facts(FACTS, KB)
    report = replay(rules, rules, [("a", FACTS), ("b", fact_set)])
    assert report.changes == () and report.documents == 2 and report.subjects == 10


def test_a_document_refused_by_a_rule_set_is_reported_not_raised() -> None:
    bad = {"clients": [client("C1", days_since_last_visit="ten")]}
    report = replay(advisor(NET), advisor(KEY), [("bad.yaml", bad), ("good.yaml", FACTS)])
    assert [(e.document, e.side) for e in report.errors] == [("bad.yaml", "old"), ("bad.yaml", "new")]
    assert report.errors[0].diagnostics[0].code == "fact_type"
    assert {c.document for c in report.changes} == {"good.yaml"}
    assert report.to_dict()["errors"][0]["diagnostics"][0]["path"] == "clients[0].days_since_last_visit"


def test_a_new_veto_on_something_not_recommended_is_a_veto_change() -> None:
    old = advisor(NET)
    new = advisor(NET, KEY, rule("t.block", {"client.is_key": True},
                                 {"veto": {"actions": ["key_client_priority_service"],
                                           "reason": {"zh": "暂停", "en": "hold"}}}))
    report = replay(old, new, [("p", {"as_of": "2026-11-23", "clients": [client("C1", is_key=True)]})])
    assert [(c.item, c.kind, c.before, c.after) for c in report.changes] == \
        [("key_client_priority_service", "veto", "-", "vetoed")]
