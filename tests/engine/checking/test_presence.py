"""engine/checking/presence.py: which fields a rule's `when` guarantees are present when it fires, and the
`missing_fallback` check that rests on it (a placeholder for a field that may be missing needs a fallback)."""

from __future__ import annotations

from typing import Any

import pytest

from rm_advisor.engine.checking.presence import present_when_fired, signal_guarantees
from rm_advisor.engine.inference.book import check_rules
from rm_advisor.engine.language import Rule
from tests.helpers import KB, Doc, action, rule, rule_text


def _rule(when: Any, then: Doc | None = None, rule_id: str = "t.r", subject: str = "client") -> Rule:
    then = then or {"actions": [action("guide_to_network_ordering")]}
    return Rule.model_validate(rule(rule_id, when, then, subject=subject))


def _present(when: Any, subject: str = "client") -> set[str]:
    # the subject's required fields are always there; the tests look at the rest
    required = {f"{subject}.{n}" for n, f in KB.facts[subject].fields.items() if f.required}
    return set(present_when_fired(_rule(when, subject=subject), KB)) - required


@pytest.mark.parametrize("when, present", [
    ({"client.days_since_last_visit": {"gt": 7}}, {"client.days_since_last_visit"}),
    ({"client.tier": "major"}, {"client.tier"}),
    ({"client.tier": {"ne": "major"}}, {"client.tier"}),  # ne fails on a missing value too
    ({"client.tier": {"present": True}}, {"client.tier"}),
    ({"client.tier": {"present": False}}, set()),
    ({"not": {"client.tier": "strategic"}}, set()),  # holds when the tier is missing
    ({"not": {"client.tier": {"present": False}}}, {"client.tier"}),
    ({"all": [{"client.tier": "major"}, {"client.is_key": True}]}, {"client.tier", "client.is_key"}),
    ({"all": [{"client.tier": "major"}, {"all": [{"client.satisfaction": {"lt": 60}}]}]},
     {"client.tier", "client.satisfaction"}),
    ({"any": [{"client.tier": "major"}, {"client.is_key": True}]}, set()),  # either may hold alone
    ({"any": [{"all": [{"client.tier": "major"}, {"client.is_key": True}]}, {"client.tier": "general"}]},
     {"client.tier"}),
    ({"not": {"any": [{"client.tier": {"present": False}}, {"client.is_key": {"present": False}}]}},
     {"client.tier", "client.is_key"}),
    ({"not": {"all": [{"client.tier": "major"}, {"client.is_key": True}]}}, set()),
    ({"exists": {"fact": "interaction", "where": {"all": [{"interaction.kind": "complaint"},
                                                          {"client.is_key": True}]}}}, {"client.is_key"}),
    ({"exists": {"fact": "interaction"}}, set()),
])
def test_what_a_condition_guarantees_when_the_rule_fires(when: Any, present: set[str]) -> None:
    assert _present(when) == present


def test_the_subjects_required_fields_are_always_there_and_a_linked_facts_once_it_is_tested() -> None:
    assert {"client.id", "client.manager_id", "client.domain"} <= present_when_fired(_rule({"client.is_key": True}), KB)
    assert "manager.id" not in present_when_fired(_rule({"client.is_key": True}), KB)  # the manager may be absent
    linked = present_when_fired(_rule({"manager.tenure_months": {"lt": 6}}), KB)
    assert {"manager.tenure_months", "manager.id", "manager.domain"} <= linked


def test_a_signal_guarantees_what_every_rule_asserting_it_guarantees() -> None:
    producers = [_rule({"all": [{"client.tier": "major"}, {"client.is_key": True}]},
                       {"signals": ["key_client"]}, "t.a"),
                 _rule({"all": [{"client.tier": "general"}, {"client.satisfaction": {"gt": 90}}]},
                       {"signals": ["key_client"]}, "t.b"),
                 _rule({"all": [{"signal": "key_client"}, {"client.segment": "retail"}]},
                       {"signals": ["key_client_at_risk"]}, "t.c")]
    by_signal = signal_guarantees(producers, KB)
    assert by_signal["key_client"] == {"client.tier"}  # both rules test it; each tests one more of its own
    assert by_signal["key_client_at_risk"] == {"client.tier", "client.segment"}  # through the signal it requires
    user = _rule({"signal": "key_client_at_risk"})
    assert {"client.tier", "client.segment"} <= present_when_fired(user, KB, by_signal)
    assert "client.tier" not in present_when_fired(_rule({"not": {"signal": "key_client"}}), KB, by_signal)


def test_signals_in_a_loop_never_guarantee_more_than_their_rules_test() -> None:
    rules = [_rule({"all": [{"signal": "b_sig"}, {"client.is_key": True}]}, {"signals": ["a_sig"]}, "t.a"),
             _rule({"signal": "a_sig"}, {"signals": ["b_sig"]}, "t.b")]
    found = signal_guarantees(rules, KB)
    assert found["a_sig"] == {"client.is_key"}
    assert all(v <= {"client.is_key"} for v in found.values())  # a loop is cut short, never assumed


def _codes(when: Any, zh: str, en: str = "because", subject: str = "client") -> list[tuple[str, str]]:
    then = {"actions": [action("guide_to_network_ordering", zh=zh, en=en)]} if subject == "client" else \
        {"coaching": [{"topic": "crm_system_mastery", "reason": {"zh": zh, "en": en}}]}
    return [(d.code, str(d.location)) for d in check_rules({"rules/test.yaml": rule_text(rule("t.r", when, then,
                                                                                           subject=subject))}, KB)]


def test_a_placeholder_for_a_field_that_may_be_missing_needs_a_fallback() -> None:
    found = _codes({"client.is_key": True}, zh="已推荐{client.referrals_given}家新客户")
    assert found == [("missing_fallback", "rules/test.yaml:19:9")]  # located at the zh text


@pytest.mark.parametrize("when, zh", [
    ({"client.is_key": True}, "推荐新客户数:{client.referrals_given|未记录}"),  # a fallback
    ({"client.referrals_given": {"ge": 1}}, "已推荐{client.referrals_given}家新客户"),  # the rule tests it
    ({"client.is_key": True}, "{client.name}是重点客户"),  # the schema says how a missing name reads
    ({"client.is_key": True}, "{client.domain}客户"),  # required
    ({"client.is_key": True}, "拜访周期{param.visit_interval_days_a}天"),  # a parameter always has a value
])
def test_a_placeholder_that_cannot_be_missing_needs_no_fallback(when: Any, zh: str) -> None:
    assert _codes(when, zh=zh) == []


def test_missing_fallback_names_each_text_of_each_placeholder() -> None:
    found = [f for f in _codes({"not": {"client.tier": "strategic"}}, zh="现层级:{client.tier}",
                               en="tier {client.tier}")
             if f[0] != "not_on_missing"]  # that `not` holds on a missing tier is the other check's warning
    assert [c for c, _ in found] == ["missing_fallback", "missing_fallback"]
    assert found[0][1] != found[1][1]  # the zh line and the en line
    manager = _codes({"manager.grade": "trainee"}, zh="{manager.name}入职{manager.tenure_months}个月",
                     en="{manager.name}: {manager.tenure_months|?} months", subject="manager")
    assert [c for c, _ in manager] == ["missing_fallback"]


def test_the_shipped_rules_leave_no_placeholder_without_a_value_or_a_fallback() -> None:
    from rm_advisor.engine.loading.sources import read_rule_files
    from tests.conftest import ROOT

    files = {k: v for k, v in read_rule_files(ROOT / "rules").items() if not k.endswith(".policies.yaml")}
    assert [d.format() for d in check_rules(files, KB) if d.code == "missing_fallback"] == []
