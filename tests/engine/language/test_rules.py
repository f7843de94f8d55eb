"""engine/language/rules.py: the typed models of a rule file, what they refuse, and the JSON Schema
editors validate rule files with."""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

import jsonschema_rs
import pytest
import yaml
from pydantic import ValidationError

from rm_advisor.engine.language.rules import AllCond, FieldCond, RuleFile, rule_file_json_schema
from tests.conftest import ROOT
from tests.helpers import Doc, action, rule

SCHEMA = jsonschema_rs.validator_for(rule_file_json_schema(), validate_formats=True)
GOOD = rule("t.ok", {"client.is_key": True}, {"actions": [action("key_client_priority_service")]})


def pack(**changes: Any) -> Doc:
    """A one-rule file, with keys of the rule replaced (or, given None, removed)."""
    r = copy.deepcopy(GOOD)
    for key, value in changes.items():
        if value is None:
            del r[key]
        else:
            r[key] = value
    return {"pack": "test", "rules": [r]}


def as_json(doc: Doc) -> Any:
    """The document as an editor sees it: JSON values (dates as text)."""
    return json.loads(json.dumps(doc, default=str))


def first_error(doc: Doc) -> tuple[str, tuple[Any, ...]]:
    with pytest.raises(ValidationError) as exc:
        RuleFile.model_validate(doc)
    err = exc.value.errors()[0]
    return err["type"], tuple(err["loc"])


def test_a_rule_file_reads_into_typed_models() -> None:
    when = {"all": [{"client.client_class": "A"}, {"client.tier": {"in": ["major", "strategic"]}},
                    {"not": {"signal": "visit_overdue"}},
                    {"exists": {"fact": "interaction", "where": {"interaction.kind": "complaint"}}}]}
    doc = pack(when=when, effective={"from": dt.date(2026, 1, 1)}, priority=None)
    (r,) = RuleFile.model_validate(doc).rules
    assert r.priority == 50 and r.effective is not None and r.effective.from_ == dt.date(2026, 1, 1)
    assert r.effective.until is None
    assert isinstance(r.when, AllCond)
    cond = r.when.all
    assert isinstance(cond[0], FieldCond) and (cond[0].ref, cond[0].ops) == ("client.client_class", {"eq": "A"})
    assert isinstance(cond[1], FieldCond) and cond[1].ops == {"in": ("major", "strategic")}  # `in` is a keyword
    assert r.model_dump(mode="json", by_alias=True, exclude_defaults=True)["when"] == when
    assert r.then.actions[0].action == "key_client_priority_service" and r.then.veto is None


@pytest.mark.parametrize("doc, error", [
    (pack(id="T.Upper"), ("string_pattern_mismatch", ("rules", 0, "id"))),
    (pack(id="1st.rule"), ("string_pattern_mismatch", ("rules", 0, "id"))),
    (pack(id="t..empty_part"), ("string_pattern_mismatch", ("rules", 0, "id"))),
    (pack(priority=101), ("less_than_equal", ("rules", 0, "priority"))),
    (pack(priority=-1), ("greater_than_equal", ("rules", 0, "priority"))),
    (pack(priority="high"), ("int_parsing", ("rules", 0, "priority"))),
    (pack(then={"actions": [action("key_client_priority_service", priority=101)]}),
     ("less_than_equal", ("rules", 0, "then", "actions", 0, "priority"))),
    (pack(prority=60), ("extra_forbidden", ("rules", 0, "prority"))),
    (pack(when=None), ("missing", ("rules", 0, "when"))),
    (pack(title={"zh": "测试"}), ("missing", ("rules", 0, "title", "en"))),
    (pack(subject="team"), ("literal_error", ("rules", 0, "subject"))),
    (pack(when={"all": []}), ("too_short", ("rules", 0, "when", "all", "all"))),
    (pack(when={"not": [{"client.is_key": True}]}), ("condition", ("rules", 0, "when", "not", "not"))),
    (pack(when={"signal": "Visit-Overdue"}), ("string_pattern_mismatch", ("rules", 0, "when", "signal", "signal"))),
    (pack(when={"Client.Is_key": True}), ("string_pattern_mismatch",
                                          ("rules", 0, "when", "field", "Client.Is_key", "[key]"))),
    (pack(when={"client.days_since_last_visit": {"greater": 3}}),
     ("extra_forbidden", ("rules", 0, "when", "field", "client.days_since_last_visit", "ops", "greater"))),
    (pack(when={"client.days_since_last_visit": {"between": [1, 2, 3]}}),
     ("too_long", ("rules", 0, "when", "field", "client.days_since_last_visit", "ops", "between"))),
    (pack(when={"client.tier": {"eq": "major", "unknown": "maybe"}}),
     ("literal_error", ("rules", 0, "when", "field", "client.tier", "ops", "unknown"))),
    (pack(when={"compare": {"left": "client.credit_requested", "op": "above", "right": "client.funding_need"}}),
     ("literal_error", ("rules", 0, "when", "compare", "compare", "op"))),
    (pack(when={"compare": {"left": "client.credit_requested", "op": "gt"}}),
     ("missing", ("rules", 0, "when", "compare", "compare", "right"))),
    (pack(when={"compare": {"left": "client.credit_requested", "op": "gt", "right": "funding_need"}}),
     ("string_pattern_mismatch", ("rules", 0, "when", "compare", "compare", "right"))),
    (pack(when={"compare": {"left": "client.a", "op": "gt", "right": "client.b", "times": "1.2x"}}),
     ("int_type", ("rules", 0, "when", "compare", "compare", "times", "int"))),
    (pack(when={"compare": {"left": "client.a", "op": "gt", "right": "client.b", "plus": True}}),
     ("int_type", ("rules", 0, "when", "compare", "compare", "plus", "int"))),
    (pack(effective={"from": "soon"}), ("date_from_datetime_parsing", ("rules", 0, "effective", "from"))),
    ({"pack": "Test", "rules": [GOOD]}, ("string_pattern_mismatch", ("pack",))),
    ({"pack": "test", "rules": []}, ("too_short", ("rules",))),
    ({"pack": "test", "rules": [GOOD], "version": 2}, ("extra_forbidden", ("version",))),
])
def test_bad_rule_files_are_refused_by_the_model_and_the_json_schema(doc: Doc, error: tuple[str, Any]) -> None:
    assert first_error(doc) == error
    assert not SCHEMA.is_valid(as_json(doc))


@pytest.mark.parametrize("doc, at, message", [
    (pack(then={}), ("rules", 0, "then"), "`then` needs at least one of signals, actions, coaching, veto"),
    (pack(then={"veto": {"reason": {"zh": "风险", "en": "risk"}}}), ("rules", 0, "then", "veto"),
     "a veto names `actions` or sets `all_sales: true`"),
    (pack(when={"client.is_key": True, "client.tier": "major"}), ("rules", 0, "when", "field"),
     "a field condition names exactly one field"),
    (pack(when={"client.days_since_last_visit": {}}),
     ("rules", 0, "when", "field", "client.days_since_last_visit", "ops"), "give at least one operator: eq, ne,"),
    (pack(when={"client.tier": {"unknown": "match"}}),  # what a missing value counts as, beside no comparison
     ("rules", 0, "when", "field", "client.tier", "ops"), "give at least one operator: eq, ne,"),
])
def test_what_a_model_validator_refuses_says_what_to_write(doc: Doc, at: tuple[Any, ...], message: str) -> None:
    with pytest.raises(ValidationError) as exc:
        RuleFile.model_validate(doc)
    err = exc.value.errors()[0]
    assert (err["type"], tuple(err["loc"])) == ("value_error", at) and message in err["msg"]


@pytest.mark.parametrize("when", [
    {"client.is_key": True},
    {"client.days_since_last_visit": {"gt": 3, "le": 30}},
    {"client.agreement_expiry": {"in_next_days": "$telecom_expiry_lead_days"}},
    {"all": [{"client.client_class": "A"}, {"any": [{"client.is_key": True}, {"not": {"client.tier": "general"}}]}]},
    {"all": [{"signal": "visit_overdue"}, {"not": {"signal": "order_decline"}}]},
    {"exists": {"fact": "interaction", "where": {"all": [{"interaction.kind": "complaint"},
                                                         {"interaction.status": "open"}]}}},
    {"exists": {"fact": "interaction"}},
    {"all": [{"client.tier": {"ne": "strategic", "unknown": "match"}},
             {"client.is_key": {"eq": True, "unknown": "ask"}},
             {"client.days_since_last_visit": {"gt": 3, "unknown": "no_match"}}]},
    {"compare": {"left": "client.credit_requested", "op": "gt", "right": "client.funding_need"}},
    {"not": {"compare": {"left": "client.credit_requested", "op": "le", "right": "client.funding_need", "times": 1.2,
                         "plus": "$coaching_credit_file_clients", "unknown": "no_match"}}},
])
def test_every_condition_form_is_accepted_by_the_model_and_the_json_schema(when: Doc) -> None:
    doc = pack(when=when, effective={"from": "2026-01-01", "until": "2026-12-31"})
    RuleFile.model_validate(doc)
    assert SCHEMA.is_valid(as_json(doc)), [str(e) for e in SCHEMA.iter_errors(as_json(doc))]


def test_regression_the_json_schema_accepts_the_shipped_rule_files() -> None:
    # a field condition's schema took any mapping, so every `all`, `any`, `not` or `exists` matched two
    # of the condition forms and the schema's `oneOf` refused it: editors marked every shipped rule
    # file as wrong
    packs = [p for p in sorted((ROOT / "rules").glob("*.yaml"))
             if not p.name.endswith((".scenarios.yaml", ".policies.yaml", "arbitration.yaml"))]
    assert len(packs) >= 5
    for path in packs:
        doc = as_json(yaml.safe_load(path.read_text(encoding="utf-8")))
        RuleFile.model_validate(doc)
        assert [str(e)[:200] for e in SCHEMA.iter_errors(doc)] == [], path.name


def test_unknown_is_read_beside_the_operators_and_not_as_one() -> None:
    cond = RuleFile.model_validate(pack(when={"client.tier": {"ne": "strategic", "unknown": "match"}})).rules[0].when
    assert isinstance(cond, FieldCond) and (cond.ops, cond.unknown) == ({"ne": "strategic"}, "match")
    plain = RuleFile.model_validate(pack(when={"client.tier": "major"})).rules[0].when
    assert isinstance(plain, FieldCond) and plain.unknown is None
    modes = rule_file_json_schema()["$defs"]["Ops"]["properties"]["unknown"]
    assert {"match", "no_match", "ask"} == {m for option in modes["anyOf"] for m in option.get("enum", [])}


def test_the_json_schema_is_for_editors_of_rule_files() -> None:
    schema = rule_file_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "rm-advisor rule file" and schema["required"] == ["pack", "rules"]
    assert json.loads((ROOT / "rules" / "rules.schema.json").read_text(encoding="utf-8")) == schema
