"""engine/inference/confirm.py: the missing facts that would bring advice if known (``to_confirm``):
which rules count, how items are ranked and capped, what they say, and that confirming them really
brings what they promise."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from rm_advisor.engine import Advisor
from rm_advisor.engine.checking.analysis import candidates_for
from rm_advisor.engine.inference.conditions import subject_env
from rm_advisor.engine.inference.confirm import MAX_FIELDS, MAX_TO_CONFIRM, missing_needs
from rm_advisor.engine.language.decision import SubjectDecision
from rm_advisor.engine.language.operators import field_holds, operator
from rm_advisor.engine.language.subjects import SubjectKey
from tests.conftest import ShippedResults
from tests.helpers import KB, Doc, action, advisor, book, client, rule

AS_OF = "2026-11-23"


def ask(value: Any, op: str = "eq") -> Doc:
    return {op: value, "unknown": "ask"}


def confirm(adv: Advisor, *clients: Doc, **facts: Any) -> list[SubjectDecision]:
    return adv.decide({"as_of": AS_OF, "clients": list(clients), **facts}).clients


def asked(s: SubjectDecision) -> list[tuple[list[str], list[str]]]:
    """Each item as (its fields, what it unlocks)."""
    return [([f"{f.fact}.{f.field}" for f in t.fields], [u.id for u in t.unlocks]) for t in s.to_confirm]


NET, VISIT, CARE = (action("guide_to_network_ordering"), action("periodic_visit_by_class"),
                    action("relationship_care"))


# ---------------------------------------------------------------- the cases that opened the issue


def test_a_voiced_financing_need_whose_reporting_is_not_on_file_asks_the_one_question_that_decides(
        advisor: Advisor) -> None:
    [b1] = confirm(advisor, {"id": "B1", "manager_id": "M1", "domain": "bank", "name": "华东机电", "new_need": True,
                             "new_need_kind": "financing"})
    assert b1.recommendations == []
    [item] = b1.to_confirm
    assert [(f.fact, f.field, f.description.en) for f in item.fields] == \
        [("client", "new_need_reported", KB.facts["client"].fields["new_need_reported"].description.en)]
    assert [(u.id, u.score, u.rule_id, u.when.en) for u in item.unlocks] == [
        ("report_new_need_to_departments", 65, "bank.new_need_unreported",
         "The new need was reported to the departments is no"),
        ("credit_department_assess_new_need", 60, "bank.new_financing_need",
         "The new need was reported to the departments is yes")]
    assert item.score == 65
    assert item.text.en == ("Confirm The new need was reported to the departments: if no, “Report a new client need "
                            "to the departments” (65) applies; if yes, “Credit department assesses a new financing "
                            "need” (60) applies")
    assert item.text.zh.startswith("请确认新需求已报告相关部门：若为否，适用「") and "若为是" in item.text.zh
    [answered] = confirm(advisor, {"id": "B1", "manager_id": "M1", "domain": "bank", "new_need": True,
                                   "new_need_kind": "financing", "new_need_reported": True})
    assert [r.id for r in answered.recommendations] == ["credit_department_assess_new_need"]
    assert answered.to_confirm == []


def test_a_strong_client_without_capital_strength_on_file_is_asked_for_it(advisor: Advisor) -> None:
    [b2] = confirm(advisor, {"id": "B2", "manager_id": "M1", "domain": "bank", "tier": "major", "pays_on_time": True,
                             "integrity_termination_5y": False, "credit_bad_record": False})
    assert asked(b2) == [(["client.capital_strength"], ["review_strategic_tier"])]
    assert b2.to_confirm[0].text.en == "Confirm Capital strength: if strong, “Review the strategic-client tier” (50) " \
                                       "applies"


def test_a_new_hire_with_empty_exam_and_experience_flags_is_asked_about_both(advisor: Advisor) -> None:
    d = advisor.decide({"as_of": AS_OF, "managers": [{"id": "M1", "domain": "bank", "tenure_months": 2}]})
    [m1] = d.managers
    assert asked(m1) == [(["manager.entry_exam_passed"], ["shadowing_designated_manager"]),
                         (["manager.basic_ops_experience"], ["start_from_basic_business"])]


def test_a_threshold_set_by_a_parameter_reads_by_its_value_never_by_the_parameter_name(advisor: Advisor) -> None:
    """A manager asked for a tenure knows no ``$coaching_shadowing_months``: the text says the number."""
    d = advisor.decide({"as_of": AS_OF, "managers": [{"id": "M1", "domain": "bank", "entry_exam_passed": True}]})
    [m1] = d.managers
    [item] = [t for t in m1.to_confirm if [f.field for f in t.fields] == ["tenure_months"]]
    months = KB.parameters["coaching_shadowing_months"].value
    said = {lang: [getattr(item.text, lang), *(getattr(u.when, lang) for u in item.unlocks)] for lang in ("en", "zh")}
    assert all("$" not in t and "coaching_shadowing_months" not in t for texts in said.values() for t in texts), said
    assert f"< {months}" in item.text.en and f"小于 {months}" in item.text.zh, said


# ---------------------------------------------------------------- which rules count


def test_only_conditions_written_with_unknown_ask_are_asked_for() -> None:
    adv = advisor(rule("t.ask", {"client.is_key": ask(True)}, {"actions": [NET]}),
                  rule("t.plain", {"client.tier": "major"}, {"actions": [VISIT]}),
                  rule("t.no", {"client.client_class": {"eq": "A", "unknown": "no_match"}}, {"actions": [CARE]}))
    [c1] = confirm(adv, client())
    assert asked(c1) == [(["client.is_key"], ["guide_to_network_ordering"])]


@pytest.mark.parametrize("facts, why", [
    ({"is_key": False}, "the asked value is given and fails"),
    ({"tier": "general"}, "another condition fails on a given value"),
    ({}, "another condition fails on a missing value it does not ask for"),
])
def test_a_rule_kept_from_firing_by_anything_but_missing_asked_values_is_not_offered(facts: Doc, why: str) -> None:
    adv = advisor(rule("t.r", {"all": [{"client.is_key": ask(True)}, {"client.tier": "major"}]}, {"actions": [NET]}))
    assert confirm(adv, client(**facts))[0].to_confirm == [], why


def test_a_missing_signal_or_a_forbidden_one_that_holds_is_not_a_missing_value() -> None:
    produce = rule("t.produce", {"client.network_client": False}, {"signals": ["outside_official_channel"]})
    needs = rule("t.needs", {"all": [{"signal": "outside_official_channel"}, {"client.is_key": ask(True)}]},
                 {"actions": [VISIT]})
    forbids = rule("t.forbids", {"all": [{"not": {"signal": "outside_official_channel"}},
                                         {"client.tier": ask("major")}]}, {"actions": [CARE]})
    adv = advisor(produce, needs, forbids)
    assert asked(confirm(adv, client(network_client=True))[0]) == [(["client.tier"], ["relationship_care"])]
    assert asked(confirm(adv, client(network_client=False))[0]) == [(["client.is_key"], ["periodic_visit_by_class"])]


def test_what_the_fired_rules_already_recommend_or_veto_is_not_offered_again() -> None:
    adv = advisor(rule("t.fires", {"client.network_client": False}, {"actions": [NET]}),
                  rule("t.same", {"client.is_key": ask(True)}, {"actions": [NET, VISIT]}),
                  rule("t.veto", {"client.network_client": False},
                       {"veto": {"actions": ["relationship_care"], "reason": {"zh": "否决", "en": "vetoed"}}}),
                  rule("t.vetoed", {"client.tier": ask("major")}, {"actions": [CARE]}))
    [c1] = confirm(adv, client(network_client=False))
    assert asked(c1) == [(["client.is_key"], ["periodic_visit_by_class"])]


def test_rules_of_another_domain_or_out_of_effect_are_not_offered() -> None:
    adv = advisor(rule("t.bank", {"client.is_key": ask(True)}, {"actions": [NET]}, domain="bank"),
                  rule("t.old", {"client.tier": ask("major")}, {"actions": [VISIT]}, effective={"until": "2025-12-31"}),
                  rule("t.generic", {"client.client_class": ask("A")}, {"actions": [CARE]}, domain="generic"))
    assert asked(confirm(adv, client())[0]) == [(["client.client_class"], ["relationship_care"])]


def test_through_any_the_branch_needing_the_fewest_fields_is_asked_for() -> None:
    adv = advisor(rule("t.any", {"any": [{"all": [{"client.is_key": ask(True)}, {"client.tier": ask("major")}]},
                                         {"client.client_class": ask("A")}]}, {"actions": [NET]}))
    assert asked(confirm(adv, client())[0]) == [(["client.client_class"], ["guide_to_network_ordering"])]
    assert asked(confirm(adv, client(client_class="B"))[0]) == [(["client.is_key", "client.tier"],
                                                                 ["guide_to_network_ordering"])]


def test_a_missing_value_under_not_lets_the_negation_hold_and_is_not_asked_for() -> None:
    adv = advisor(rule("t.not", {"all": [{"not": {"client.tier": {"eq": "strategic", "unknown": "no_match"}}},
                                         {"client.is_key": ask(True)}]}, {"actions": [NET]}))
    assert asked(confirm(adv, client())[0]) == [(["client.is_key"], ["guide_to_network_ordering"])]
    assert confirm(adv, client(tier="strategic"))[0].to_confirm == []


def test_an_exists_that_fails_is_not_a_missing_value() -> None:
    adv = advisor(rule("t.ex", {"all": [{"exists": {"fact": "interaction", "where": {"interaction.kind": "complaint"}}},
                                        {"client.is_key": ask(True)}]}, {"actions": [NET]}))
    assert confirm(adv, client())[0].to_confirm == []
    complaint = {"id": "I1", "client_id": "C1", "kind": "complaint", "status": "open"}
    assert asked(confirm(adv, client(), interactions=[complaint])[0]) == [(["client.is_key"],
                                                                           ["guide_to_network_ordering"])]


def test_a_field_of_the_linked_manager_is_asked_for_when_the_manager_is_there() -> None:
    adv = advisor(rule("t.m", {"manager.tenure_months": ask(6, "lt")}, {"actions": [NET]}))
    assert confirm(adv, client())[0].to_confirm == []  # the manager is not in the facts: nothing to confirm on it
    [c1] = confirm(adv, client(), managers=[{"id": "M1", "domain": "tobacco"}])
    assert asked(c1) == [(["manager.tenure_months"], ["guide_to_network_ordering"])]
    assert c1.to_confirm[0].fields[0].fact == "manager"


def test_a_rule_missing_more_fields_than_max_fields_is_not_offered() -> None:
    names = ["is_key", "tier", "client_class", "network_client"][:MAX_FIELDS + 1]
    values: dict[str, Any] = {"is_key": True, "tier": "major", "client_class": "A", "network_client": False}
    adv = advisor(rule("t.wide", {"all": [{f"client.{n}": ask(values[n])} for n in names]}, {"actions": [NET]}))
    assert confirm(adv, client())[0].to_confirm == []
    [c1] = confirm(adv, client(**{names[0]: values[names[0]]}))
    assert len(c1.to_confirm[0].fields) == MAX_FIELDS


# ---------------------------------------------------------------- ranking, grouping, the cap


def _ranked() -> list[Doc]:
    return [rule("t.x70", {"client.is_key": ask(True)}, {"actions": [NET]}, priority=70),
            rule("t.y70", {"client.tier": ask("major")}, {"actions": [VISIT, CARE, action("value_added_service")]},
                 priority=70),
            rule("t.xy90", {"all": [{"client.is_key": ask(True)}, {"client.tier": ask("major")}]},
                 {"actions": [action("befriend_client_first")]}, priority=90),
            rule("t.z40", {"client.client_class": ask("A")}, {"actions": [action("reevaluate_client_in_crm")]},
                 priority=40),
            rule("t.x50", {"client.is_key": ask(False)}, {"actions": [action("explain_policy")]}, priority=50)]


def test_items_rank_by_best_score_then_how_much_they_unlock_then_how_few_fields() -> None:
    [c1] = confirm(advisor(*_ranked()), client())
    assert [(fields, t.score) for (fields, _), t in zip(asked(c1), c1.to_confirm, strict=True)] == [
        (["client.is_key", "client.tier"], 90), (["client.tier"], 70), (["client.is_key"], 70),
        (["client.client_class"], 40)]
    x = c1.to_confirm[2]  # rules needing the same field are one item, best first, each with what it needs
    assert [(u.id, u.rule_id, u.when.en) for u in x.unlocks] == [
        ("guide_to_network_ordering", "t.x70", "Key client is yes"), ("explain_policy", "t.x50",
                                                                      "Key client is no")]


def test_max_to_confirm_caps_the_list_and_zero_looks_for_nothing() -> None:
    rb = book(*_ranked())
    assert len(Advisor(rb).decide({"clients": [client()]}).clients[0].to_confirm) == min(4, MAX_TO_CONFIRM)
    assert [t.score for t in Advisor(rb, max_to_confirm=2).decide({"clients": [client()]}).clients[0].to_confirm] \
        == [90, 70]
    assert Advisor(rb, max_to_confirm=0).decide({"clients": [client()]}).clients[0].to_confirm == []


def test_missing_needs_names_each_field_once_with_every_comparison_it_must_pass() -> None:
    rb = book(rule("t.w", {"all": [{"client.days_since_last_visit": ask(3, "gt")},
                                   {"client.days_since_last_visit": ask(30, "lt")}]}, {"actions": [NET]}))
    fs = Advisor(rb).validate({"clients": [client()]})
    env = subject_env(rb.kb, fs, "client", fs.subjects("client")[0])
    [need] = missing_needs(rb.by_id()["t.w"], env) or []
    assert (need.ref, [op for op, _, _ in need.ops]) == ("client.days_since_last_visit", ["gt", "lt"])
    assert need.text(KB.facts["client"].fields["days_since_last_visit"]).en == \
        "Days since the last visit > 3 and < 30"


# ---------------------------------------------------------------- confirming brings what was promised


def _witness(spec: Any, ops: tuple[tuple[str, Any, Any], ...], as_of: Any) -> Any:
    tests = [(operator(op), arg) for op, _, arg in ops]
    options = candidates_for(spec, [(op, arg, False) for op, _, arg in ops], as_of)
    return next(v for v in options if field_holds(tests, v, as_of))


def test_confirming_the_asked_values_makes_the_rules_fire_in_every_shipped_scenario(
        advisor: Advisor, shipped_results: ShippedResults) -> None:
    checked = 0
    for result in shipped_results.values():
        run = result.run
        if run is None:
            continue
        for decided in run.decision.clients + run.decision.managers:
            key = SubjectKey(decided.subject_type, decided.id)
            fact = run.fact_set.get(key.type, key.id)
            assert fact is not None
            env = subject_env(advisor.book.kb, run.fact_set, key.type, fact)
            for item in decided.to_confirm:
                for rule_id in dict.fromkeys(u.rule_id for u in item.unlocks):
                    needs = missing_needs(advisor.book.by_id()[rule_id], env)
                    assert needs is not None and sorted(n.ref for n in needs) == \
                        sorted(f"{f.fact}.{f.field}" for f in item.fields)
                    facts = copy.deepcopy(result.case.scenario.facts)
                    for need in needs:
                        fact_type, _, name = need.ref.partition(".")
                        holder_id = fact["id"] if fact_type == key.type else fact[KB.one_links(key.type)[fact_type]]
                        target = next(f for f in facts[KB.facts[fact_type].plural] if f["id"] == holder_id)
                        value = _witness(KB.facts[fact_type].fields[name], need.ops, run.fact_set.as_of)
                        target[name] = value.isoformat() if hasattr(value, "isoformat") else value
                    again = advisor.run(facts)
                    assert rule_id in again.fired().get(key, set()), (result.case.id, str(key), rule_id)
                    checked += 1
    assert checked >= 20  # the shipped scenarios ask for things, so this is not vacuous


def test_asked_enum_values_read_by_their_labels_never_by_their_codes(shipped_results: ShippedResults) -> None:
    shown = 0
    for result in shipped_results.values():
        run = result.run
        if run is None:
            continue
        for decided in run.decision.clients + run.decision.managers:
            for item in decided.to_confirm:
                for f in item.fields:
                    spec = KB.facts[f.fact].fields[f.field]
                    if spec.type != "enum":
                        continue
                    for value in spec.values or ():
                        label = spec.label(value)
                        assert label is not None
                        for lang in ("en", "zh"):
                            said = [getattr(item.text, lang), *(getattr(u.when, lang) for u in item.unlocks)]
                            if "_" in value or lang == "zh":
                                assert not any(value in t for t in said), (result.case.id, lang, value, said)
                            shown += sum(getattr(label, lang) in t for t in said)
    assert shown > 0  # some shipped scenario asks for an enum field
