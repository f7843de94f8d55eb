"""engine/authoring/explain.py: why a recommendation was made, and why not, with a change that really flips it."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest
import yaml

from rm_advisor.engine import Advisor
from rm_advisor.engine.authoring.explain import ConditionReport, Explainer
from rm_advisor.engine.inference.book import load_rule_book
from rm_advisor.engine.language.knowledge import Text
from rm_advisor.engine.language.subjects import SubjectKey
from rm_advisor.engine.loading.locations import Locator
from tests.conftest import ROOT
from tests.helpers import KB_FILES, Doc, action, client, rule, rule_text

C1 = SubjectKey("client", "C1")
C2 = SubjectKey("client", "C2")
T_001 = SubjectKey("client", "T-001")
T_003 = SubjectKey("client", "T-003")

AS_OF = "2026-11-23"


def en(text: Text | None) -> str:
    """The English of an explainer's text (the Chinese is checked in test_texts_are_in_both_languages)."""
    assert text is not None
    return text.en


def explainer(rules: list[Doc], facts: Doc) -> Explainer:
    files = {"rules/t.yaml": rule_text(*rules)}
    book = load_rule_book(files, KB_FILES)
    return Explainer(book, Advisor(book).run(facts), Locator.from_files(files))


def doc(*clients: Doc, **extra: Any) -> Doc:
    return {"as_of": AS_OF, "clients": list(clients), **extra}


def apply(facts: Doc, report: ConditionReport) -> Doc:
    """The facts with the suggested fix applied to the fact the condition looked at."""
    assert report.fix is not None, report
    out = copy.deepcopy(facts)
    fact_type, _, fact_id = report.subject.partition(":")
    target = next(f for f in out[fact_type + "s"] if f["id"] == fact_id)
    name = report.fix.field.partition(".")[2]
    if report.fix.remove:
        target.pop(name, None)
    else:
        target[name] = report.fix.value
    return out


NET = action("guide_to_network_ordering")


@pytest.mark.parametrize("when, fields, expected_change", [
    ({"client.days_since_last_visit": {"gt": "$visit_interval_days_a"}}, {"days_since_last_visit": 3},
     "change client.days_since_last_visit from 3 to 8"),
    ({"client.days_since_last_visit": {"le": 10}}, {"days_since_last_visit": 30},
     "change client.days_since_last_visit from 30 to 10"),
    ({"client.satisfaction": {"lt": 60}}, {"satisfaction": 72.5}, "change client.satisfaction from 72.5 to 59"),
    ({"client.days_since_last_visit": {"between": [5, 9]}}, {}, "give client.days_since_last_visit the value 5"),
    ({"client.client_class": {"in": ["A", "B"]}}, {"client_class": "C"}, "change client.client_class from C to A"),
    ({"client.client_class": {"not_in": ["A", "B"]}}, {"client_class": "A"}, "change client.client_class from A to C"),
    ({"client.network_client": False}, {"network_client": True}, "change client.network_client from true to false"),
    ({"client.agreement_expiry": {"in_next_days": 30}}, {"agreement_expiry": "2027-06-01"},
     "change client.agreement_expiry from 2027-06-01 to 2026-12-23"),
    ({"client.agreement_expiry": {"older_than_days": 10}}, {"agreement_expiry": "2026-11-20"},
     "change client.agreement_expiry from 2026-11-20 to 2026-11-12"),
    ({"client.is_key": {"present": False}}, {"is_key": True}, "leave client.is_key empty (remove its value)"),
    ({"not": {"client.days_since_last_visit": {"ge": 3}}}, {"days_since_last_visit": 9},
     "change client.days_since_last_visit from 9 to 2"),
])
def test_smallest_change_per_operator_flips_the_rule(when: Doc, fields: Doc, expected_change: str) -> None:
    rules = [rule("t.r", {"all": [{"client.domain": "tobacco"}, when]}, {"actions": [NET]})]
    facts = doc(client("C1", **fields))
    ex = explainer(rules, facts)
    e = ex.explain_item("guide_to_network_ordering", C1)
    assert e.outcome == "not recommended"
    [report] = e.rules
    [failing] = report.failing
    assert en(failing.change) == expected_change
    assert report.matched == {"client.domain": "tobacco"}
    flipped = explainer(rules, apply(facts, failing)).explain_item("guide_to_network_ordering", C1)
    assert flipped.outcome == "recommended"


def test_conditions_are_reported_in_order_with_actual_expected_and_location() -> None:
    rules = [rule("t.r", {"all": [{"client.is_key": True}, {"client.days_since_last_visit": {"gt": 30}}]},
                  {"actions": [NET]})]
    e = explainer(rules, doc(client("C1", is_key=False, days_since_last_visit=4))).explain_rule("t.r", C1)
    first, second = e.rules[0].failing
    assert (first.condition, first.actual, en(first.expected)) == ("client.is_key == true", False, "== true")
    assert (second.actual, en(second.expected)) == (4, "> 30")
    lines = rule_text(*rules).splitlines()
    assert (first.file, first.line) == ("rules/t.yaml", 1 + next(i for i,
                                                                 ln in enumerate(lines) if "client.is_key" in ln))
    assert e.outcome == "not fired"


def test_a_missing_signal_names_the_rules_that_would_assert_it_and_their_failing_conditions() -> None:
    rules = [rule("t.produce", {"client.network_client": False}, {"signals": ["outside_official_channel"]}),
             rule("t.use", {"all": [{"signal": "outside_official_channel"}, {"client.domain": "tobacco"}]},
                  {"actions": [NET]})]
    e = explainer(rules, doc(client("C1", network_client=True))).explain_item("guide_to_network_ordering", C1)
    [signal] = e.rules[0].failing
    assert (signal.kind, signal.actual, en(signal.expected)) == ("signal", "not held", "the signal holds")
    [producer] = signal.producers
    assert producer.rule_id == "t.produce" and not producer.fired
    assert en(producer.failing[0].change) == "change client.network_client from true to false"


def test_a_forbidden_signal_that_holds_names_who_asserted_it() -> None:
    rules = [rule("t.hold", {"client.under_investigation": True}, {"signals": ["compliance_hold"]}),
             rule("t.sell", {"all": [{"client.is_key": True}, {"not": {"signal": "compliance_hold"}}]},
                  {"actions": [NET]})]
    e = explainer(rules, doc(client("C1", is_key=True, under_investigation=True))).explain_rule("t.sell", C1)
    [blocked] = e.rules[0].failing
    assert (blocked.actual, en(blocked.expected)) == ("held", "the signal does not hold")
    [asserted] = blocked.asserted_by
    assert asserted.rule_id == "t.hold" and asserted.fired and asserted.matched == {"client.under_investigation": True}


def test_exists_reports_the_closest_related_fact() -> None:
    rules = [rule("t.r", {"exists": {"fact": "interaction", "where": {"all": [
        {"interaction.kind": "complaint"}, {"interaction.days_open": {"gt": 3}}]}}}, {"actions": [NET]})]
    facts = doc(client("C1"), interactions=[{"id": "I1", "client_id": "C1", "kind": "feedback", "days_open": 1},
                                            {"id": "I2", "client_id": "C1", "kind": "complaint", "days_open": 2}])
    [report] = explainer(rules, facts).explain_rule("t.r", C1).rules
    [exists] = report.failing
    assert exists.kind == "exists" and exists.actual == ["interaction:I1", "interaction:I2"]
    [inner] = exists.inner
    assert inner.subject == "interaction:I2" and en(inner.change) == "change interaction.days_open from 2 to 4"
    none = explainer(rules, doc(client("C1"))).explain_rule("t.r", C1).rules[0].failing[0]
    assert en(none.change).startswith("add an interaction linked to client:C1")


def test_any_lists_every_branch() -> None:
    rules = [rule("t.r", {"any": [{"client.network_client": False}, {"client.client_class": "A"}]}, {"actions": [NET]})]
    [group] = explainer(rules, doc(client("C1", network_client=True, client_class="B"))).explain_rule(
        "t.r", C1).rules[0].failing
    assert group.kind == "any" and len(group.inner) == 2 and en(group.change) == "make one of these hold"


def test_a_rule_out_of_effect_says_so() -> None:
    rules = [rule("t.r", {"client.is_key": True}, {"actions": [NET]}, effective={"from": dt.date(2027, 1, 1)})]
    [report] = explainer(rules, doc(client("C1", is_key=True))).explain_rule("t.r", C1).rules
    assert not report.fired and not report.active and "2027-01-01" in en(report.note) and report.failing == []


def test_why_a_recommendation_was_made_and_why_it_was_vetoed() -> None:
    rules = [rule("t.r", {"client.is_key": True}, {"actions": [action("promote_key_brands")]}),
             rule("t.veto", {"client.under_investigation": True},
                  {"veto": {"all_sales": True, "reason": {"zh": "稽查期间暂停", "en": "on hold"}}})]
    ex = explainer(rules, doc(client("C1", is_key=True), client("C2", is_key=True, under_investigation=True)))
    made = ex.explain_item("promote_key_brands", C1)
    assert made.outcome == "recommended" and [t.rule_id for t in made.why] == ["t.r"]
    assert made.why[0].matched == {"client.is_key": True}
    blocked = ex.explain_item("promote_key_brands", C2)
    assert blocked.outcome == "vetoed" and [v.rule_id for v in blocked.vetoed_by] == ["t.veto"]
    assert blocked.rules[0].rule_id == "t.veto" and blocked.rules[0].fired
    assert {(e.subject, e.outcome) for e in ex.explain_decision()} == {("client:C1", "recommended"),
                                                                       ("client:C2", "vetoed")}


def test_shipped_rules_explain_the_demo(advisor: Advisor) -> None:
    from rm_advisor.engine.loading.sources import read_rule_files
    facts = yaml.safe_load((ROOT / "knowledge_base" / "samples" / "demo_facts.yaml").read_text(encoding="utf-8"))
    ex = Explainer(advisor.book, advisor.run(facts), Locator.from_files(read_rule_files(ROOT / "rules")))
    chain = ex.explain_item("anti_counterfeit_training", T_003)
    assert chain.outcome == "not recommended"
    first = next(r for r in chain.rules if r.rule_id == "tobacco.anti_counterfeit_training").failing[0]
    assert first.kind == "signal" and first.producers[0].rule_id == "tobacco.counterfeit_exposure"
    assert ex.explain_item("anti_counterfeit_training", T_001).outcome == "recommended"


def test_without_rule_texts_conditions_point_at_their_rule() -> None:
    files = {"rules/t.yaml": rule_text(rule("t.r", {"client.is_key": True}, {"actions": [NET]}))}
    book = load_rule_book(files, KB_FILES)
    ex = Explainer(book, Advisor(book).run(doc(client("C1", is_key=False))))
    [failing] = ex.explain_rule("t.r", C1).rules[0].failing
    assert (failing.file, failing.line) == ("rules/t.yaml", book.by_id()["t.r"].line)
    assert en(failing.change) == "change client.is_key from false to true"


def test_a_comparison_on_a_missing_value_says_what_the_value_counted_as() -> None:
    rules = [rule("t.r", {"all": [{"client.domain": "tobacco"}, {"client.tier": {"eq": "major", "unknown": "no_match"}},
                                  {"client.days_since_last_visit": {"gt": 3}}]}, {"actions": [NET]})]
    [report] = explainer(rules, doc(client("C1", days_since_last_visit=1))).explain_rule("t.r", C1).rules
    tier, days = report.failing
    assert (tier.actual, tier.unknown, en(tier.expected)) == (None, "no_match", "== major (unknown: no_match)")
    assert en(tier.change) == "give client.tier the value major"
    assert (days.actual, days.unknown) == (1, None)  # a given value: nothing counted


def test_a_rule_kept_back_only_by_missing_asked_values_names_them() -> None:
    rules = [rule("t.r", {"all": [{"client.domain": "tobacco"}, {"client.tier": {"eq": "major", "unknown": "ask"}},
                                  {"client.is_key": {"eq": True, "unknown": "ask"}}]}, {"actions": [NET]})]
    [report] = explainer(rules, doc(client("C1"))).explain_rule("t.r", C1).rules
    assert report.to_confirm == ["client.tier == major", "client.is_key == true"]  # in the order written
    [known] = explainer(rules, doc(client("C1", is_key=False))).explain_rule("t.r", C1).rules
    assert known.to_confirm == []  # a given value fails: confirming the tier alone would not be enough


def test_the_decision_and_the_explanation_ask_for_the_same_fields(advisor: Advisor) -> None:
    facts = doc({"id": "B1", "manager_id": "M1", "domain": "bank", "new_need": True, "new_need_kind": "financing"})
    run = advisor.run(facts)
    ex = Explainer(advisor.book, run)
    [item] = run.decision.clients[0].to_confirm
    for unlock in item.unlocks:
        report = ex.explain_rule(unlock.rule_id, SubjectKey("client", "B1")).rules[0]
        assert [c.split()[0] for c in report.to_confirm] == [f"{f.fact}.{f.field}" for f in item.fields]


# ---------------------------------------------------------------------------- why nothing (issue 22 §4)


def _near_and_far() -> list[Doc]:
    near = rule("t.near", {"all": [{"client.is_key": True}, {"client.client_class": "A"}]},
                {"actions": [action("guide_to_network_ordering")]})
    far = rule("t.far", {"all": [{"client.is_key": True}, {"client.client_class": "A"},
                                 {"client.network_client": False}]},
               {"actions": [action("anti_counterfeit_training")]})
    bank = dict(rule("t.bank", {"all": [{"client.domain": "bank"}, {"client.is_key": True}]},
                     {"actions": [action("guide_to_network_ordering")]}), domain="bank")
    return [near, far, bank]


def test_why_nothing_lists_the_closest_rules_of_the_subjects_domain_and_what_each_lacks() -> None:
    ex = explainer(_near_and_far(), doc(client("C1", is_key=True, client_class="B", network_client=True)))
    [e] = ex.explain_decision()  # C1 has no recommendation: the decision's explanation says why
    assert (e.subject, e.target, e.outcome) == ("client:C1", "nothing", "not recommended")
    assert [r.rule_id for r in e.rules] == ["t.near", "t.far"]  # fewest failing first; the bank rule is not named
    assert [c.fix.field for c in e.rules[0].failing if c.fix] == ["client.client_class"]
    assert "2 closest of the 2 rule(s) for a tobacco client" in en(e.summary)


def test_subjects_of_a_rules_domain_and_subjects_named_by_their_bare_id() -> None:
    ex = explainer(_near_and_far(), doc(client("C1"), dict(client("B1"), domain="bank"),
                                        managers=[{"id": "C1", "domain": "tobacco"}]))
    assert ex.subjects("client", "bank") == [SubjectKey("client", "B1")]
    assert ex.subjects("client", "generic") == ex.subjects("client") == [SubjectKey("client", "B1"), C1]
    assert ex.find_subject("B1") == ex.find_subject("client:B1") == [SubjectKey("client", "B1")]
    assert ex.find_subject("C1") == [C1, SubjectKey("manager", "C1")]


# ---------------------------------------------------------------- comparisons between fields

_OVER = {"compare": {"left": "client.credit_requested", "op": "gt", "right": "client.funding_need", "times": 1.2}}


def test_a_failing_comparison_between_fields_says_what_it_needs_and_what_it_had_and_the_fix_flips_it() -> None:
    rules = [rule("t.over", {"all": [{"client.domain": "tobacco"}, _OVER]}, {"actions": [NET]})]
    facts = doc(client("C1", credit_requested=6_000_000, funding_need=6_000_000))
    e = explainer(rules, facts).explain_rule("t.over", C1)
    [failing] = e.rules[0].failing
    assert failing.kind == "compare"
    assert failing.condition == "client.credit_requested > client.funding_need × 1.2"
    assert failing.actual == {"client.credit_requested": 6_000_000, "client.funding_need": 6_000_000}
    assert en(failing.change).startswith("needs client.credit_requested > 7200000; has 6000000")
    assert failing.fix is None  # a strict bound on a real number: no single value to name
    lines = rule_text(*rules).splitlines()
    assert failing.line == 1 + next(i for i, ln in enumerate(lines) if "compare:" in ln)


def test_a_comparison_between_whole_numbers_names_the_nearest_value_that_flips_it() -> None:
    when = {"compare": {"left": "client.days_since_last_visit", "op": "gt", "right": "manager.tenure_months",
                        "plus": 2}}
    rules = [rule("t.c", {"all": [{"client.domain": "tobacco"}, when]}, {"actions": [NET]})]
    facts = doc(client("C1", days_since_last_visit=4), managers=[{"id": "M1", "domain": "tobacco",
                                                                  "tenure_months": 5}])
    [failing] = explainer(rules, facts).explain_item("guide_to_network_ordering", C1).rules[0].failing
    assert en(failing.change) == ("needs client.days_since_last_visit > 7; has 4: change client.days_since_last_visit "
                              "from 4 to 8")
    flipped = explainer(rules, apply(facts, failing)).explain_item("guide_to_network_ordering", C1)
    assert flipped.outcome == "recommended"
    [report] = explainer(rules, apply(facts, failing)).explain_rule("t.c", C1).rules
    assert report.matched == {"client.domain": "tobacco", "client.days_since_last_visit": 8,
                              "manager.tenure_months": 5}


def test_a_comparison_between_fields_with_a_missing_side_says_which_and_what_it_counted_as() -> None:
    rules = [rule("t.over", {"all": [{"client.domain": "tobacco"}, _OVER]}, {"actions": [NET]})]
    [failing] = explainer(rules, doc(client("C1", credit_requested=8))).explain_rule("t.over", C1).rules[0].failing
    assert (en(failing.change), failing.unknown) == ("give client.funding_need a value", "no_match")


def test_a_comparison_between_fields_under_not_explains_the_opposite() -> None:
    rules = [rule("t.not", {"all": [{"client.domain": "tobacco"}, {"not": _OVER}]}, {"actions": [NET]})]
    facts = doc(client("C1", credit_requested=8_000_000, funding_need=6_000_000))
    [failing] = explainer(rules, facts).explain_rule("t.not", C1).rules[0].failing
    assert en(failing.expected).startswith("not (>")
    assert en(failing.change).startswith("needs client.credit_requested <= 7200000")


# ---------------------------------------------------------------- aggregates of history events

_TWO_VISITS = {"events": {"where": {"interaction.kind": "visit"}, "within_days": 30, "count": {"ge": 2}}}


def test_a_failing_count_of_events_says_what_it_needs_what_it_had_and_which_events_counted() -> None:
    rules = [rule("t.calls", {"all": [{"client.domain": "tobacco"}, _TWO_VISITS]}, {"actions": [NET]})]
    facts = doc(client("C1"), interactions=[
        {"id": "V1", "client_id": "C1", "kind": "visit", "date": "2026-11-10"},
        {"id": "V0", "client_id": "C1", "kind": "visit", "date": "2026-09-01"},  # outside the window
        {"id": "O1", "client_id": "C1", "kind": "order", "date": "2026-11-11"}])  # not a visit
    [failing] = explainer(rules, facts).explain_rule("t.calls", C1).rules[0].failing
    assert failing.kind == "events"
    assert failing.actual == 1 and failing.events == ["interaction:V1"]
    assert en(failing.change) == ("needs count of events (interaction.kind == visit) in the last 30 days >= 2; had 1: "
                              "interaction:V1")
    lines = rule_text(*rules).splitlines()
    assert failing.line == 1 + next(i for i, ln in enumerate(lines) if "events:" in ln)


def test_an_aggregate_of_no_events_reads_never_and_says_what_it_counted_as() -> None:
    latest = {"events": {"where": {"interaction.kind": "visit"}, "days_since_latest": {"le": 30}}}
    rules = [rule("t.seen", {"all": [{"client.domain": "tobacco"}, latest]}, {"actions": [NET]})]
    [failing] = explainer(rules, doc(client("C1"))).explain_rule("t.seen", C1).rules[0].failing
    assert (failing.actual, failing.unknown) == ("never", "no_match")
    assert en(failing.change) == ("needs days since the latest of events (interaction.kind == visit) <= 30; had never "
                              "(no matching event)")


def test_a_fired_rule_over_events_shows_the_aggregate_and_the_events_behind_it() -> None:
    rules = [rule("t.calls", _TWO_VISITS, {"actions": [NET]})]
    facts = doc(client("C1"), interactions=[
        {"id": f"V{i}", "client_id": "C1", "kind": "visit", "date": f"2026-11-1{i}"} for i in range(2)])
    ex = explainer(rules, facts)
    [report] = ex.explain_rule("t.calls", C1).rules
    assert report.fired and report.matched == {"count of events (interaction.kind == visit) in the last 30 days": 2}
    decision = Advisor(ex.book).decide(facts)
    [rec] = decision.clients[0].recommendations
    assert rec.because[0].related == {"interaction": ["V0", "V1"]}


# ---------------------------------------------------------------- deadlines ahead

_UNPAID = {"deadline": {"elapsed": "client.interest_unpaid_days", "threshold": "interest_unpaid", "within_days": 4}}
_KEY = "client.interest_unpaid_days reaches $unpaid_interest_days (15) within the next 4 days"


def test_a_deadline_too_far_ahead_says_the_days_left_and_the_window_it_needs() -> None:
    rules = [rule("t.ahead", {"all": [{"client.domain": "bank"}, _UNPAID]}, {"actions": [NET]})]
    facts = doc(client("C1", domain="bank", interest_unpaid_days=8))
    [failing] = explainer(rules, facts).explain_rule("t.ahead", C1).rules[0].failing
    assert failing.kind == "deadline" and failing.condition == _KEY
    assert failing.actual == {"days_left": 7, "client.interest_unpaid_days": 8}
    assert en(failing.change) == "needs 0 to 4 days left; 7 days left (client.interest_unpaid_days = 8)"
    lines = rule_text(*rules).splitlines()
    assert failing.line == 1 + next(i for i, ln in enumerate(lines) if "deadline:" in ln)


def test_a_deadline_already_passed_or_missing_says_so() -> None:
    rules = [rule("t.ahead", {"all": [{"client.domain": "bank"}, _UNPAID]}, {"actions": [NET]})]
    facts = doc(client("C1", domain="bank", interest_unpaid_days=20), client("C2", domain="bank"))
    ex = explainer(rules, facts)
    [passed] = ex.explain_rule("t.ahead", C1).rules[0].failing
    assert en(passed.change) == "needs 0 to 4 days left; passed 5 days ago (client.interest_unpaid_days = 20)"
    [missing] = ex.explain_rule("t.ahead", C2).rules[0].failing
    assert (en(missing.change), missing.unknown) == ("give client.interest_unpaid_days a value", "no_match")


def test_a_fired_deadline_shows_the_days_left_in_the_trace_and_its_reason_what_acting_saves() -> None:
    reason = {"zh": "还有{deadline.days_left}天(至{deadline.date}),可免{deadline.cost}",
              "en": "{deadline.days_left} days left (until {deadline.date}): acting now saves {deadline.cost}"}
    then = {"actions": [{"action": "remind_interest_before_deduction", "reason": reason}]}
    rules = [rule("t.ahead", {"all": [{"client.domain": "bank"}, _UNPAID]}, then)]
    facts = doc(client("C1", domain="bank", interest_unpaid_days=11))
    ex = explainer(rules, facts)
    [report] = ex.explain_rule("t.ahead", C1).rules
    assert report.fired and report.matched == {"client.domain": "bank", "client.interest_unpaid_days": 11,
                                               "days left: " + _KEY: 4}
    [rec] = Advisor(ex.book).decide(facts).clients[0].recommendations
    assert rec.reasons[0].text.en == "4 days left (until 2026-11-27): acting now saves 10 points per account until " \
                                     "it is collected"
    assert rec.reasons[0].text.zh == "还有4天(至2026-11-27),可免每户扣10分,直至收回"
    assert rec.because[0].matched == report.matched


# ---------------------------------------------------------------- across links between clients

def _guarantee(overdue: float) -> tuple[list[Doc], Doc]:
    overdue_rule = rule("t.overdue", {"client.overdue_amount": {"gt": 0}}, {"signals": ["loan_overdue"]})
    where = {"all": [{"signal": "loan_overdue"}, {"client.overdue_amount": {"ge": 1000}}]}
    guarantor = rule("t.guarantor", {"all": [{"client.domain": "bank"},
                                             {"linked": {"kind": "guarantor_of", "where": where}}]}, {"actions": [NET]})
    facts = doc(client("G1", domain="bank"), client("B7", domain="bank", overdue_amount=overdue),
                links=[{"id": "K1", "kind": "guarantor_of", "from_client": "G1", "to_client": "B7"}])
    return [overdue_rule, guarantor], facts


def test_a_rule_across_a_link_shows_the_path_and_what_the_linked_client_matched() -> None:
    rules, facts = _guarantee(300000)
    ex = explainer(rules, facts)
    [report] = ex.explain_rule("t.guarantor", SubjectKey("client", "G1")).rules
    assert report.fired
    assert report.related == {"guarantor_of": [
        "client:G1 —guarantor_of→ client:B7: signal loan_overdue, client.overdue_amount = 300000"]}
    [rec] = Advisor(ex.book).decide(facts).subject("client", "G1").recommendations  # type: ignore[union-attr]
    assert rec.because[0].related == {"guarantor_of": ["client:B7"]}


def test_why_not_across_a_link_names_the_closest_linked_client_and_what_it_lacks() -> None:
    rules, facts = _guarantee(500)
    [failing] = explainer(rules, facts).explain_rule("t.guarantor", SubjectKey("client", "G1")).rules[0].failing
    assert failing.kind == "linked" and failing.actual == ["client:G1 —guarantor_of→ client:B7"]
    assert en(failing.change) == "closest is client:G1 —guarantor_of→ client:B7; change it as below"
    [inner] = failing.inner
    assert (inner.subject, inner.actual) == ("client:B7", 500)
    alone = doc(client("G1", domain="bank"))
    [none] = explainer(rules, alone).explain_rule("t.guarantor", SubjectKey("client", "G1")).rules[0].failing
    assert en(none.change) == "no client is linked to client:G1 by guarantor of: add the link"


def _texts(model: Any) -> list[Text]:
    """Every summary, note and change in an explanation, however deep."""
    from pydantic import BaseModel
    found: list[Text] = []
    if isinstance(model, BaseModel):
        for name in type(model).model_fields:
            value = getattr(model, name)
            if name in ("summary", "note", "change") and isinstance(value, Text):
                found.append(value)
            else:
                found += _texts(value)
    elif isinstance(model, list):
        for item in model:
            found += _texts(item)
    return found


def test_texts_are_in_both_languages(advisor: Advisor) -> None:
    """What a manager reads on a zh page is Chinese: every summary, note and smallest change of the
    demo's explanations (why, why not for every rule, why nothing) has a Chinese sentence of its own."""
    import re
    facts = yaml.safe_load((ROOT / "knowledge_base" / "samples" / "demo_facts.yaml").read_text(encoding="utf-8"))
    ex = Explainer(advisor.book, advisor.run(facts))
    found = [t for e in ex.explain_decision() for t in _texts(e)]
    for subject in ex.subjects("client")[:4]:
        found += [t for r in advisor.book.for_subject("client") for t in _texts(ex.explain_rule(r.id, subject))]
    assert len(found) > 100
    for text in found:
        assert re.search(r"[\u4e00-\u9fff]", text.zh), text
        assert not re.search(r"[\u4e00-\u9fff]", text.en), text
