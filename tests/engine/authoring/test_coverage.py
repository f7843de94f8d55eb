"""engine/authoring/coverage.py: rules, conditions and actions the scenarios never exercise, per file."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import yaml

from rm_advisor.engine import Advisor
from rm_advisor.engine.authoring.coverage import Coverage, measure
from rm_advisor.engine.authoring.scenarios import evaluate_case, load_scenarios
from rm_advisor.engine.inference.book import load_rule_book
from rm_advisor.engine.loading.locations import Locator
from tests.helpers import KB_FILES, Doc, action, client, rule, rule_text

NET = rule("t.net", {"all": [{"client.network_client": False}, {"client.domain": "tobacco"}]},
           {"actions": [action("guide_to_network_ordering")]})
KEY = rule("t.key", {"client.is_key": True}, {"actions": [action("key_client_priority_service")]})
RULES = {"rules/t.yaml": rule_text(NET), "rules/u.yaml": rule_text(KEY, pack="u")}
BOOK = load_rule_book(RULES, KB_FILES)


def coverage(*scenarios: Doc, packs: Collection[str] | None = None) -> Coverage:
    text = yaml.safe_dump({"scenarios": list(scenarios)}, sort_keys=False)
    cases, _ = load_scenarios({"rules/t.scenarios.yaml": text})
    advisor = Advisor(BOOK)
    return measure(BOOK, [evaluate_case(advisor, c) for c in cases], Locator.from_files(RULES), packs=packs)


def facts(**fields: Any) -> Doc:
    return {"as_of": "2026-11-23", "clients": [client("C1", **fields)]}


def test_rules_conditions_and_actions_never_exercised_are_listed_per_file() -> None:
    cov = coverage({"name": "fires", "facts": facts(network_client=False),
                    "expect": [{"subject": "client:C1", "actions": ["guide_to_network_ordering"]}]})
    t, u = cov.files
    assert (t.file, t.never_fired, t.never_decided, t.never_expected) == ("rules/t.yaml", [], [], [])
    assert u.never_fired == ["t.key"] and u.never_decided == ["key_client_priority_service"]
    assert u.never_expected == ["key_client_priority_service"]
    never_false = [(c.rule_id, c.text, c.location.line) for c in t.conditions if not c.seen_false]
    lines = RULES["rules/t.yaml"].splitlines()
    assert never_false == [("t.net", "client.network_client == false",
                            1 + next(i for i, ln in enumerate(lines) if "client.network_client" in ln)),
                           ("t.net", "client.domain == tobacco",
                            1 + next(i for i, ln in enumerate(lines) if "client.domain: tobacco" in ln))]
    assert cov.scenarios == 1


def test_a_close_case_covers_the_condition_it_changes() -> None:
    cov = coverage({"name": "fires", "facts": facts(network_client=False)},
                   {"name": "close case", "facts": facts(network_client=True)})
    [net] = [c for c in cov.files[0].conditions if c.text.startswith("client.network_client")]
    assert net.covered and cov.files[0].conditions_covered == 1


def test_packs_limit_the_report_to_their_rule_files() -> None:
    cov = coverage({"name": "fires", "facts": facts(network_client=False)}, packs={"t"})
    assert [f.file for f in cov.files] == ["rules/t.yaml"]
    assert cov.to_dict()["files"][0]["rules"] == {"total": 1, "fired": 1, "never_fired": []}
