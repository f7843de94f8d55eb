"""engine/language/templates.py: {fact.field} placeholders found and filled by plain substitution, and
every other brace reported so that the checker refuses it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from rm_advisor.engine.language.templates import fill, malformed, pieces, placeholders

FACTS: dict[str, dict[str, Any]] = {
    "client": {"name": "城东店", "days_since_last_visit": 12, "is_key": True, "network_client": False,
               "satisfaction": 72.5, "order_trend_pct": -10.0, "agreement_expiry": dt.date(2027, 1, 10)},
    "param": {"visit_interval_days_a": 7},
}


def test_placeholders_are_the_field_references_in_order() -> None:
    text = "{client.name}: {client.days_since_last_visit} > {param.visit_interval_days_a}; {client.name}"
    assert placeholders(text) == ["client.name", "client.days_since_last_visit", "param.visit_interval_days_a",
                                  "client.name"]
    assert placeholders("no placeholder, {Client.Name} or { client.name }") == []


def test_pieces_alternate_literal_text_and_references() -> None:
    assert pieces("{client.name}: {client.days_since_last_visit}天") == ["", "client.name", ": ",
                                                                        "client.days_since_last_visit", "天"]
    assert pieces("no placeholder, {Client.Name}") == ["no placeholder, {Client.Name}"]


def test_each_placeholder_is_replaced_by_its_value() -> None:
    text = "{client.name}已{client.days_since_last_visit}天未拜访(周期{param.visit_interval_days_a}天)"
    assert fill(text, FACTS) == "城东店已12天未拜访(周期7天)"


@pytest.mark.parametrize("field, shown", [
    ("is_key", "true"), ("network_client", "false"),  # as a rule author writes them, not True/False
    ("order_trend_pct", "-10"), ("satisfaction", "72.5"),  # a whole number without ".0"
    ("agreement_expiry", "2027-01-10"),
])
def test_values_are_shown_as_written_in_rules(field: str, shown: str) -> None:
    assert fill(f"[{{client.{field}}}]", FACTS) == f"[{shown}]"


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
    ("{client.name} is fine, {param.x} too", []),
])
def test_malformed_braces_are_found_with_the_placeholder_they_may_mean(text: str,
                                                                       found: list[tuple[int, str, str]]) -> None:
    assert malformed(text) == found


def test_a_malformed_placeholder_is_left_as_written() -> None:
    # the checker refuses these (bad_template); were one to reach a reason, it would not be half-filled
    for text in ("{ client.name }", "{Client.Name}", "{client.name!r:>10}"):
        assert malformed(text) and fill(text, FACTS) == text
