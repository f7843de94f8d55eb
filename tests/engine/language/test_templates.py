"""engine/language/templates.py: {fact.field} and {fact.field|fallback} placeholders found and filled by plain
substitution, values shown as labels in the text's language, holes reported, and every other brace reported so
that the checker refuses it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from rm_advisor.engine.language.templates import (
    Filled,
    Placeholder,
    fill,
    literal_text,
    malformed,
    parse,
    pieces,
    placeholders,
    render,
)
from rm_advisor.engine.loading.knowledge_base import load_knowledge_base
from tests.helpers import KB, kb_files_with

FACTS: dict[str, dict[str, Any]] = {
    "client": {"name": "城东店", "days_since_last_visit": 12, "is_key": True, "network_client": False,
               "satisfaction": 72.5, "order_trend_pct": -10.0, "agreement_expiry": dt.date(2027, 1, 10),
               "e_settlement": "low_awareness", "tier": "major"},
    "param": {"visit_interval_days_a": 7},
}


def test_placeholders_are_the_field_references_in_order() -> None:
    text = "{client.name}: {client.days_since_last_visit} > {param.visit_interval_days_a}; {client.name}"
    assert placeholders(text) == ["client.name", "client.days_since_last_visit", "param.visit_interval_days_a",
                                  "client.name"]
    assert placeholders("no placeholder, {Client.Name} or { client.name }") == []


def test_pieces_alternate_literal_text_and_references() -> None:
    assert pieces("{client.name}: {client.days_since_last_visit|?}天") == ["", "client.name", ": ",
                                                                          "client.days_since_last_visit", "天"]
    assert pieces("no placeholder, {Client.Name}") == ["no placeholder, {Client.Name}"]


def test_each_placeholder_is_replaced_by_its_value() -> None:
    text = "{client.name}已{client.days_since_last_visit}天未拜访(周期{param.visit_interval_days_a}天)"
    assert fill(text, FACTS) == "城东店已12天未拜访(周期7天)"


@pytest.mark.parametrize("field, zh, en", [
    ("is_key", "是", "yes"), ("network_client", "否", "no"),  # never true/false
    ("order_trend_pct", "-10", "-10"), ("satisfaction", "72.5", "72.5"),  # a whole number without ".0"
    ("agreement_expiry", "2027-01-10", "2027-01-10"),
    ("e_settlement", "已开通但不熟悉", "set up but little understood"),  # an enum value as its label
    ("tier", "大客户", "major"),
])
def test_values_are_shown_as_people_read_them_in_the_texts_language(field: str, zh: str, en: str) -> None:
    assert fill(f"[{{client.{field}}}]", FACTS, "zh", KB) == f"[{zh}]"
    assert fill(f"[{{client.{field}}}]", FACTS, "en", KB) == f"[{en}]"


def test_a_long_fraction_is_rounded_and_a_whole_number_keeps_no_decimals() -> None:
    facts = {"client": {"satisfaction": 66.66666, "order_trend_pct": 0.1 + 0.2, "overdue_amount": 80000.0}}
    assert fill("{client.satisfaction} {client.order_trend_pct}% {client.overdue_amount}元", facts, "zh", KB) == \
        "66.67 0.3% 80000元"


def test_a_boolean_field_may_read_in_words_of_its_own() -> None:
    labels = "labels: {true: {zh: 重点, en: key}, false: {zh: 非重点, en: not key}}"
    files = kb_files_with("facts.yaml", "is_key: {type: boolean, ", f"is_key: {{type: boolean, {labels}, ")
    kb = load_knowledge_base(files)
    assert fill("{client.is_key}", FACTS, "zh", kb) == "重点"
    assert fill("({client.network_client})", FACTS, "en", kb) == "(no)"  # the others keep yes and no


def test_the_language_is_the_texts_own_unless_given() -> None:
    assert fill("重点:{client.is_key}", FACTS, kb=KB) == "重点:是"
    assert fill("key: {client.is_key}", FACTS, kb=KB) == "key: yes"


def test_a_missing_value_shows_the_placeholders_fallback() -> None:
    text = "已推荐新客户:{client.referrals_given|未记录}"
    assert render(text, FACTS, "zh", KB) == Filled("已推荐新客户:未记录")
    assert render(text, {"client": {"referrals_given": 3}}, "zh", KB) == Filled("已推荐新客户:3")
    # a fallback may hold any text but braces and |
    assert fill("tier: {client.tier|not yet tiered, ask the branch}", FACTS, "en", KB) == "tier: major"
    assert fill("tier: {client.segment|not yet tiered, ask the branch}", FACTS, "en", KB) == \
        "tier: not yet tiered, ask the branch"


def test_a_missing_value_without_a_fallback_shows_the_fields_text_for_it_else_it_is_a_hole() -> None:
    # the schema says how a missing name reads; a field without such a text leaves a hole, reported
    assert render("{client.name}:{client.referrals_given}", {"client": {}}, "zh", KB) == \
        Filled("该客户:未记录", holes=("client.referrals_given",))
    assert render("{client.name} ({client.segment})", {}, "en", KB) == \
        Filled("The client (not recorded)", holes=("client.segment",))


def test_an_english_text_that_starts_with_a_word_filled_in_starts_with_a_capital() -> None:
    assert fill("{client.tier} client {client.name}", FACTS, "en", KB) == "Major client 城东店"
    assert fill("{client.name} visited", {"client": {"name": "east shop"}}, "en", KB) == "east shop visited"
    assert fill("{client.tier}客户", FACTS, "zh", KB) == "大客户客户"


def test_without_a_schema_values_are_plain_and_booleans_still_words() -> None:
    assert fill("{client.e_settlement}, {client.is_key}", FACTS, "en") == "low_awareness, yes"


def test_the_literal_text_is_the_template_without_its_placeholders() -> None:
    assert literal_text("已推荐{client.referrals_given|未记录}家,{client.name}") == "已推荐家,"
    assert parse("{client.a|x y} {param.b}") == [Placeholder("client.a", "x y", 0, 14),
                                                 Placeholder("param.b", None, 15, 24)]


def test_filling_is_one_plain_substitution() -> None:
    # a value that looks like a placeholder is shown as it is, not filled again
    facts = {"client": {"name": "{client.secret}", "secret": "s3cret"}}
    assert fill("visit {client.name}", facts) == "visit {client.secret}"
    # nothing is evaluated: no attribute access, conversion or format spec
    assert fill("{client.name.__class__} {client.name!r} {client.name:>10}", FACTS) == \
        "{client.name.__class__} {client.name!r} {client.name:>10}"


def test_text_without_placeholders_is_left_alone() -> None:
    text = "Visit the retailer this week"
    assert fill(text, FACTS) == text and malformed(text) == []


@pytest.mark.parametrize("text, found", [
    ("{client.name!r:>10}", [(0, "{client.name!r:>10}", "{client.name}")]),
    ("visit { client.name } today", [(6, "{ client.name }", "{client.name}")]),
    ("{client.name.__class__}", [(0, "{client.name.__class__}", "{client.name}")]),
    ("{{client.name}}", [(0, "{{client.name}}", "{client.name}")]),
    ("{client.name", [(0, "{client.name", "{client.name}")]),
    ("{Client.Name}", [(0, "{Client.Name}", "")]),
    ("{client} and {0}", [(0, "{client}", ""), (13, "{0}", "")]),
    ("open { and close", [(5, "{ and close", "")]),
    ("a } b", [(2, "}", "")]),
    ("{client.name|}", [(0, "{client.name|}", "{client.name}")]),  # an empty fallback
    ("{client.name| }", [(0, "{client.name| }", "{client.name}")]),
    ("{client.name|a|b}", [(0, "{client.name|a|b}", "{client.name}")]),
    ("{client.name} is fine, {param.x} too, {client.name|该客户} as well", []),
])
def test_malformed_braces_are_found_with_the_placeholder_they_may_mean(text: str,
                                                                       found: list[tuple[int, str, str]]) -> None:
    assert malformed(text) == found


def test_a_malformed_placeholder_is_left_as_written() -> None:
    # the checker refuses these (bad_template); were one to reach a reason, it would not be half-filled
    for text in ("{ client.name }", "{Client.Name}", "{client.name!r:>10}"):
        assert malformed(text) and fill(text, FACTS) == text
