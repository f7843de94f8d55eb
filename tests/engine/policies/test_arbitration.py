"""engine/policies/arbitration.py: rules/arbitration.yaml checked, in the revision, and its default
ranking the ranking by score exactly."""

from __future__ import annotations

import json

import yaml

from rm_advisor.engine import Advisor
from rm_advisor.engine.authoring.scenarios import load_scenarios
from rm_advisor.engine.inference.book import check_rules, load_rule_book
from rm_advisor.engine.loading.sources import read_scenario_files
from rm_advisor.engine.policies.arbitration import arbitration_file_json_schema, check_arbitration_files
from tests.conftest import ROOT
from tests.helpers import KB, KB_FILES, Doc, action, client, rule, rule_text

RULES = (
    rule("t.care", {"client.is_key": True}, {"actions": [action("relationship_care")]}, priority=60),
    rule("t.referral", {"client.is_key": True}, {"actions": [action("ask_for_referral")]}, priority=50),
    rule("t.brands", {"client.is_key": True}, {"actions": [action("promote_key_brands")]}, priority=40),
    rule("t.review", {"client.is_key": True}, {"actions": [action("monopoly_compliance_review")]}, priority=30),
)


def _advisor(arbitration: Doc | None) -> Advisor:
    files = {"rules/test.yaml": rule_text(*RULES)}
    if arbitration is not None:
        files["rules/arbitration.yaml"] = yaml.safe_dump(arbitration, sort_keys=False)
    return Advisor(load_rule_book(files, KB_FILES))


def _order(adv: Advisor) -> list[str]:
    return [r.id for r in adv.decide({"clients": [client(is_key=True)]}).clients[0].recommendations]


def test_the_shipped_arbitration_file_checks_and_its_schema_is_committed() -> None:
    text = (ROOT / "rules" / "arbitration.yaml").read_text(encoding="utf-8")
    arbitration, diags = check_arbitration_files({"rules/arbitration.yaml": text}, KB)
    assert arbitration is not None and diags == [] and arbitration.static
    committed = json.loads((ROOT / "rules" / "arbitration.schema.json").read_text(encoding="utf-8"))
    assert committed == arbitration_file_json_schema(), "run `make schema` (rm-advisor arbitration-schema)"


def test_the_arbitration_file_is_part_of_the_revision() -> None:
    plain, valued = _advisor({}), _advisor({"items": [{"kind": "sales", "value": 2}]})
    assert plain.revision != valued.revision
    assert _advisor({}).revision == plain.revision


def test_the_default_reproduces_the_ranking_by_score_exactly_on_the_shipped_scenarios(advisor: Advisor) -> None:
    # the shipped file (static) leaves decisions as they were, and neutral entries (every factor 1,
    # through the formula) order exactly as the score does
    assert advisor.book.sources is not None
    rules, kb = dict(advisor.book.sources.rules), dict(advisor.book.sources.knowledge_base)
    without = {k: v for k, v in rules.items() if not k.endswith("arbitration.yaml")}
    neutral = {**without, "arbitration.yaml": yaml.safe_dump(
        {"items": [{"kind": k, "value": 1, "levers": 1} for k in ("risk", "obligation", "service", "sales")]})}
    bare, formula = Advisor.from_files(without, kb), Advisor.from_files(neutral, kb)
    cases, _ = load_scenarios(read_scenario_files(ROOT / "rules"))
    ranked = 0
    for case in cases:
        if case.scenario.error is not None:
            continue
        shipped = advisor.decide(case.scenario.facts)
        before = bare.decide(case.scenario.facts)
        assert shipped.model_dump(exclude={"revision"}) == before.model_dump(exclude={"revision"}), case.id
        assert "ranking" not in json.dumps(shipped.model_dump(mode="json")), case.id
        after = formula.decide(case.scenario.facts)
        assert [(c.id, [r.id for r in c.recommendations]) for c in after.clients] == \
            [(c.id, [r.id for r in c.recommendations]) for c in before.clients], case.id
        for r in (r for c in after.clients for r in c.recommendations if r.kind == "action"):
            assert r.ranking is not None and r.ranking.priority == round(r.score / 100, 6)
            ranked += 1
    assert ranked > 200


def test_a_business_value_lifts_an_action_and_the_explanation_gives_the_formula() -> None:
    assert _order(_advisor(None)) == ["relationship_care", "ask_for_referral", "promote_key_brands",
                                      "monopoly_compliance_review"]
    adv = _advisor({"items": [{"action": "promote_key_brands", "value": 2,
                               "note": {"zh": "本月重点品牌", "en": "key brands this month"}},
                              {"kind": "sales", "value": 1.1}]})
    recs = adv.decide({"clients": [client(is_key=True)]}).clients[0].recommendations
    assert [r.id for r in recs] == ["promote_key_brands", "relationship_care", "ask_for_referral",
                                    "monopoly_compliance_review"]
    brands = recs[0].ranking
    assert brands is not None and brands.priority == 0.8 and brands.value == 2  # its own entry wins over its kind's
    assert recs[2].ranking is not None and recs[2].ranking.value == 1.1
    assert brands.text.en == "priority 0.80 = context 0.40 × value 2.00 × levers 1.00 × propensity 1.00 " \
                             "(key brands this month)"
    assert brands.text.zh.startswith("排序优先级 0.80 = 情境 0.40 × 价值 2.00")


def test_weights_are_exponents_and_zero_leaves_a_factor_out() -> None:
    adv = _advisor({"weights": {"context": 0}, "items": [{"action": "monopoly_compliance_review", "levers": 3}]})
    assert _order(adv)[0] == "monopoly_compliance_review"  # levers 3 against 1 for every other action


def _diags(doc: Doc | str) -> list[tuple[str, int, int]]:
    text = doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False)
    return [(d.code, d.location.line or 0, d.location.column or 0)
            for d in check_rules({"rules/t.yaml": rule_text(*RULES), "rules/arbitration.yaml": text}, KB)
            if d.severity == "error"]


def test_bad_entries_are_errors_at_their_place() -> None:
    text = """items:
  - action: promote_key_brand
    value: 2
  - kind: sales
    value: 2
  - kind: sales
    levers: 2
  - action: monopoly_compliance_review
    value: 0.5
  - kind: obligation
    levers: 0.9
  - action: relationship_care
    kind: service
"""
    # each at its line, at the key that is wrong (the last entry names both an action and a kind)
    assert _diags(text) == [("unknown_action", 2, 5), ("duplicate_arbitration_entry", 6, 5),
                            ("arbitration_lowers_duty", 9, 5), ("arbitration_lowers_duty", 11, 5),
                            ("schema_violation", 12, 5)]


def test_unknown_keys_and_bad_numbers_are_schema_violations() -> None:
    assert [c for c, _, _ in _diags({"weights": {"context": -1}})] == ["schema_violation"]
    assert [c for c, _, _ in _diags({"propensity": {"min_decided": 0}})] == ["schema_violation"]
    assert [c for c, _, _ in _diags({"priority": 1})] == ["schema_violation"]


def test_two_files_setting_the_weights_are_refused() -> None:
    files = {"rules/test.yaml": rule_text(*RULES), "rules/arbitration.yaml": "weights: {value: 2}\n",
             "rules/extra.arbitration.yaml": "weights: {value: 1}\n"}
    assert [d.code for d in check_rules(files, KB)] == ["duplicate_arbitration_entry"]
