"""engine/authoring/scenarios.py: results a tool can read (expected against actual), references, JUnit XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import yaml

from rm_advisor.engine.authoring.scenarios import (
    Case,
    check_references,
    evaluate_case,
    junit_xml,
    load_scenarios,
    run_case,
    scenario_file_json_schema,
)
from tests.helpers import Doc, action, advisor, client, rule

NET = rule("t.net", {"client.network_client": False}, {"actions": [action("guide_to_network_ordering")]})
VETO = rule("t.hold", {"client.under_investigation": True},
            {"veto": {"all_sales": True, "reason": {"zh": "稽查期间暂停营销", "en": "on hold"}}})
ADVISOR = advisor(NET, VETO)


def cases(*scenarios: Doc) -> list[Case]:
    text = yaml.safe_dump({"scenarios": list(scenarios)}, allow_unicode=True, sort_keys=False)
    found, problems = load_scenarios({"rules/t.scenarios.yaml": text})
    assert problems == []
    return found


def scenario(expect: list[Doc] | None = None, error: str | None = None, **fields: Any) -> Doc:
    doc: Doc = {"name": "s", "facts": {"as_of": "2026-11-23", "clients": [client("C1", **fields)]}}
    if expect is not None:
        doc["expect"] = expect
    if error:
        doc["error"] = error
    return doc


def test_passing_scenario_has_no_failures_and_records_what_the_subject_got() -> None:
    [case] = cases(scenario([{"subject": "client:C1", "actions": ["guide_to_network_ordering"],
                              "fired": ["t.net"]}], network_client=False))
    result = evaluate_case(ADVISOR, case)
    assert result.passed and result.run is not None
    [seen] = result.observed
    assert seen.recommended == ("guide_to_network_ordering",) and seen.fired == ("t.net",)


def test_each_unmet_expectation_is_one_failure_with_expected_actual_and_line() -> None:
    [case] = cases(scenario([{"subject": "client:C1", "actions": ["counter_placement"],
                              "not_actions": ["guide_to_network_ordering"], "order": ["counter_placement"]}],
                            network_client=False))
    result = evaluate_case(ADVISOR, case)
    assert [(f.check, f.item) for f in result.failures] == [("actions", "counter_placement"),
                                                           ("not_actions", "guide_to_network_ordering"),
                                                           ("order", "")]
    order = result.failures[-1]
    assert order.expected == ("counter_placement",) and order.actual == ()
    assert all(f.line == case.expect_lines[0] > case.line for f in result.failures)
    assert run_case(ADVISOR, case)[-1].startswith("client:C1: actual recommendations ['guide_to_network_ordering']")


def test_a_veto_that_blocked_nothing_still_counts_as_fired() -> None:
    """Regression: `fired` was read from the decision, where a veto with nothing to block leaves no trace."""
    [case] = cases(scenario([{"subject": "client:C1", "fired": ["t.hold"], "nothing": True}],
                            under_investigation=True, network_client=True))
    assert evaluate_case(ADVISOR, case).passed


def test_expected_error_and_unexpected_acceptance() -> None:
    refused, accepted = cases(scenario(error="fact_type", days_since_last_visit="ten"),
                              scenario(error="fact_type", network_client=True))
    assert evaluate_case(ADVISOR, refused).passed
    [failure] = evaluate_case(ADVISOR, accepted).failures
    assert (failure.check, failure.expected) == ("error", ("fact_type",))


def test_unknown_subject_is_a_failure() -> None:
    [case] = cases(scenario([{"subject": "client:C9", "actions": ["guide_to_network_ordering"]}]))
    assert [f.check for f in evaluate_case(ADVISOR, case).failures] == ["subject"]


def test_misspelt_ids_in_expectations_are_reported_with_a_hint() -> None:
    found = cases(scenario([{"subject": "client:C1", "not_actions": ["guide_to_network_orderin"],
                             "fired": ["t.nett"]}]), scenario(error="fact_typo"))
    diags = check_references(found, ADVISOR.book)
    assert [d.code for d in diags] == ["scenario_unknown_id"] * 3
    assert "did you mean `guide_to_network_ordering`?" in diags[0].hint
    assert diags[0].location.file == "rules/t.scenarios.yaml" and diags[0].location.line == found[0].expect_lines[0]


def test_junit_xml_has_one_testcase_per_scenario_and_the_failures() -> None:
    good, bad = cases({**scenario([{"subject": "client:C1", "actions": ["guide_to_network_ordering"]}],
                                  network_client=False), "name": "good"},
                      {**scenario([{"subject": "client:C1", "actions": ["counter_placement"]}],
                                  network_client=False), "name": "bad"})
    root = ET.fromstring(junit_xml([evaluate_case(ADVISOR, good), evaluate_case(ADVISOR, bad)]))
    assert (root.get("tests"), root.get("failures")) == ("2", "1")
    [suite] = root.findall("testsuite")
    names = {tc.get("name"): tc for tc in suite.findall("testcase")}
    assert names["good"].find("failure") is None
    failure = names["bad"].find("failure")
    assert failure is not None and "counter_placement" in failure.get("message", "")
    assert f"rules/t.scenarios.yaml:{bad.expect_lines[0]}" in (failure.text or "")


def test_scenario_schema_describes_the_file_format() -> None:
    schema = scenario_file_json_schema()
    expectation = schema["$defs"]["Expectation"]
    assert expectation["additionalProperties"] is False
    assert {"actions", "not_actions", "fired", "order", "nothing", "to_confirm", "not_to_confirm"} <= \
        set(expectation["properties"])
    assert schema["$defs"]["ConfirmExpectation"]["required"] == ["fields"]


def test_a_scenario_can_expect_coaching_from_the_clients_and_names_its_entries(advisor: Any) -> None:
    # `advisor` here is the shipped rule set (the session fixture), which has coaching from clients
    facts = {"as_of": "2026-11-23", "managers": [{"id": "MB", "domain": "bank"}],
             "clients": [{"id": f"B{i}", "manager_id": "MB", "domain": "bank", "has_collateral": True,
                          "collateral_insured": False} for i in range(2)]}
    good, bad = cases({"name": "good", "facts": facts,
                       "expect": [{"subject": "manager:MB", "from_clients": ["bank_credit_file_problems"]}]},
                      {"name": "bad", "facts": facts,
                       "expect": [{"subject": "manager:MB", "not_from_clients": ["bank_credit_file_problems"],
                                   "from_clients": ["tobacco_stale_complaints"]}]})
    passed = evaluate_case(advisor, good)
    assert passed.passed and passed.observed[0].from_clients == ("bank_credit_file_problems",)
    assert [(f.check, f.item) for f in evaluate_case(advisor, bad).failures] == [
        ("from_clients", "tobacco_stale_complaints"), ("not_from_clients", "bank_credit_file_problems")]
    typo = cases({"name": "typo", "facts": facts, "expect": [{"subject": "manager:MB",
                                                             "from_clients": ["bank_credit_file_problem"]}]})
    [d] = check_references(typo, advisor.book)
    assert d.code == "scenario_unknown_id" and "bank_credit_file_problems" in d.hint


ASK = advisor(rule("t.ask", {"all": [{"client.domain": "tobacco"}, {"client.is_key": {"eq": True, "unknown": "ask"}}]},
                   {"actions": [action("key_client_priority_service")]}))


def test_a_to_confirm_expectation_names_the_fields_of_one_item_and_what_it_unlocks() -> None:
    want = {"fields": ["client.is_key"], "unlocks": ["key_client_priority_service"]}
    [case] = cases(scenario([{"subject": "client:C1", "not_to_confirm": ["client.tier"], "to_confirm": [want]}]))
    result = evaluate_case(ASK, case)
    assert result.passed, [f.message for f in result.failures]
    assert result.observed[0].to_confirm == (("client.is_key", ("key_client_priority_service",)),)
    assert result.observed[0].to_dict()["to_confirm"] == [{"fields": ["client.is_key"],
                                                           "unlocks": ["key_client_priority_service"]}]


def test_unmet_to_confirm_expectations_say_which_item_and_what_is_missing() -> None:
    [case] = cases(scenario([{"subject": "client:C1", "not_to_confirm": ["client.is_key"],
                              "to_confirm": [{"fields": ["client.is_key"], "unlocks": ["counter_placement"]},
                                             {"fields": ["client.tier", "client.is_key"]}]}]))
    failures = evaluate_case(ASK, case).failures
    assert [(f.check, f.item) for f in failures] == [("to_confirm", "counter_placement"),
                                                     ("to_confirm", "client.is_key + client.tier"),
                                                     ("not_to_confirm", "client.is_key")]
    assert failures[0].message == \
        "client:C1: expected to_confirm `client.is_key` to unlock `counter_placement`, missing"
    answered = cases(scenario([{"subject": "client:C1", "to_confirm": [{"fields": ["client.is_key"]}]}], is_key=True))
    assert [f.check for f in evaluate_case(ASK, answered[0]).failures] == ["to_confirm"]


def test_misspelt_fields_and_items_in_to_confirm_are_reported() -> None:
    found = cases(scenario([{"subject": "client:C1", "not_to_confirm": ["client.is_kee"],
                             "to_confirm": [{"fields": ["client.tire"], "unlocks": ["key_client_priority_servce"]}]}]))
    diags = check_references(found, ASK.book)
    assert [d.code for d in diags] == ["scenario_unknown_id"] * 3
    assert [d.hint for d in diags] == ["did you mean `client.is_key`?", "did you mean `client.tier`?",
                                       "did you mean `key_client_priority_service`?"]
