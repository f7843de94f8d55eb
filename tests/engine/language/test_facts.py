"""engine/language/facts.py: every fact error names the fact, the field, what was expected and what came."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from rm_advisor.engine import FactError
from rm_advisor.engine.language.facts import validate_facts
from tests.helpers import KB, client


def problems(doc: Any) -> list[tuple[str, str]]:
    with pytest.raises(FactError) as exc:
        validate_facts(doc, KB)
    return [(d.code, d.location.path) for d in exc.value.diagnostics]


@pytest.mark.parametrize("doc, expected", [
    ({"clients": [client(days_since_last_visit="ten")]}, ("fact_type", "clients[0].days_since_last_visit")),
    ({"clients": [client(is_key="yes")]}, ("fact_type", "clients[0].is_key")),
    ({"clients": [client(days_since_last_visit=2.5)]}, ("fact_type", "clients[0].days_since_last_visit")),
    ({"clients": [client(agreement_expiry="next week")]}, ("fact_type", "clients[0].agreement_expiry")),
    ({"clients": [client(client_class="D")]}, ("fact_bad_value", "clients[0].client_class")),
    ({"clients": [client(satisfaction=120)]}, ("fact_bad_value", "clients[0].satisfaction")),
    ({"clients": [client(days_since_visit=3)]}, ("fact_unknown_field", "clients[0].days_since_visit")),
    ({"clients": [{"id": "C1", "domain": "tobacco"}]}, ("fact_missing_field", "clients[0].manager_id")),
    ({"clints": []}, ("fact_unknown_type", "clints")),
    ({"clients": {"id": "C1"}}, ("fact_shape", "clients")),
    ({"clients": ["C1"]}, ("fact_shape", "clients[0]")),
    ({"clients": [client("C1"), client("C1")]}, ("fact_duplicate_id", "clients[1].id")),
    ({"as_of": "someday", "clients": []}, ("fact_type", "as_of")),
    ({"interactions": [{"id": "E1", "kind": "visit"}]}, ("fact_unlinked", "interactions[0]")),
])
def test_fact_errors(doc: Any, expected: tuple[str, str]) -> None:
    assert problems(doc) == [expected]


def test_messages_say_what_was_expected_and_what_came() -> None:
    with pytest.raises(FactError) as exc:
        validate_facts({"clients": [client(days_since_last_visit="ten")]}, KB)
    msg = exc.value.diagnostics[0].message
    assert "client.days_since_last_visit" in msg and "integer" in msg and "ten" in msg


def test_unknown_field_suggests_the_right_one() -> None:
    with pytest.raises(FactError) as exc:
        validate_facts({"clients": [client(days_since_visit=3)]}, KB)
    assert "days_since_last_visit" in exc.value.diagnostics[0].hint


def test_all_problems_are_reported_together() -> None:
    found = problems({"clients": [client(is_key="no", client_class="Z"), {"id": "C2", "domain": "bank"}]})
    assert sorted(code for code, _ in found) == ["fact_bad_value", "fact_missing_field", "fact_type"]


def test_not_a_mapping() -> None:
    assert problems([1, 2]) == [("fact_shape", "<facts>")]


def test_valid_facts_are_converted_and_sorted() -> None:
    fs = validate_facts({"as_of": "2026-11-23", "clients": [client("C2", agreement_expiry="2027-01-01"),
                                                           client("C1", days_since_last_visit=4.0)]}, KB)
    assert fs.as_of == dt.date(2026, 11, 23)
    assert [c["id"] for c in fs.subjects("client")] == ["C1", "C2"]
    c1, c2 = fs.get("client", "C1"), fs.get("client", "C2")
    assert c2 is not None and c2["agreement_expiry"] == dt.date(2027, 1, 1)
    assert c1 is not None and c1["days_since_last_visit"] == 4


def test_null_means_missing() -> None:
    fs = validate_facts({"clients": [client(days_since_last_visit=None)]}, KB)
    assert "days_since_last_visit" not in fs.subjects("client")[0]


def test_a_managers_own_event_needs_no_client() -> None:
    fs = validate_facts({"managers": [{"id": "M1", "domain": "tobacco"}],
                         "interactions": [{"id": "E1", "manager_id": "M1", "kind": "plan_submission"}]}, KB)
    assert [e["id"] for e in fs.related("interaction", "manager", "M1")] == ["E1"]
