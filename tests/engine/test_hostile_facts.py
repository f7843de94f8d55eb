"""Hostile facts through the library (issue 12): each input that gave an exception other than a
FactError is refused with located diagnostics; the number of problems collected is capped."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from rm_advisor.engine import Advisor, FactError
from rm_advisor.engine.errors import CODES, MAX_ERRORS
from rm_advisor.engine.language.facts import validate_facts
from tests.engine.language.test_facts import problems
from tests.helpers import KB, client
from tests.hostile import HOSTILE, telecom


def refused(advisor: Advisor, doc: Any, as_of: dt.date | None = None) -> list[tuple[str, str]]:
    with pytest.raises(FactError) as exc:
        advisor.decide(doc, as_of=as_of, history=[])  # with the contact policies, as the decision log decides
    for d in exc.value.diagnostics:
        assert d.code in CODES and d.location.path
        assert d.format().encode("utf-8") and "\x00" not in d.format() and "\x1b" not in d.format()
    return sorted((d.code, d.location.path) for d in exc.value.diagnostics)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_facts_are_refused_with_located_diagnostics(advisor: Advisor, name: str) -> None:
    doc, expected = HOSTILE[name]
    assert refused(advisor, doc) == sorted(expected)


@pytest.mark.parametrize("day", ["1900-01-01", "2199-12-31"])
def test_the_ends_of_the_business_calendar_get_a_decision(advisor: Advisor, day: str) -> None:
    decision = advisor.decide(telecom(as_of=day, agreement_expiry=day), history=[])
    assert decision.as_of.isoformat() == day and decision.clients[0].recommendations


def test_an_as_of_override_is_bounded_too(advisor: Advisor) -> None:
    assert refused(advisor, telecom(), as_of=dt.date(9999, 12, 31)) == [("fact_bad_value", "as_of")]
    assert advisor.decide(telecom(as_of="0001-01-01"), as_of=dt.date(2026, 11, 23)).as_of == dt.date(2026, 11, 23)


@pytest.mark.parametrize("text", ["20261123", "2026-W48-1", "2026-11-23T00:00:00", "2026-13-01", "0"])
def test_dates_must_be_written_yyyy_mm_dd(advisor: Advisor, text: str) -> None:
    # fromisoformat alone took 20261123 and ISO week dates
    assert refused(advisor, telecom(as_of=text, agreement_expiry=text)) == \
        [("fact_type", "as_of"), ("fact_type", "clients[0].agreement_expiry")]


def test_dates_read_from_yaml_are_dates_already(advisor: Advisor) -> None:
    doc = telecom(agreement_expiry=dt.date(2026, 12, 1))
    doc["as_of"] = dt.date(2026, 11, 23)
    assert advisor.decide(doc).as_of == dt.date(2026, 11, 23)


@pytest.mark.parametrize("fields, path", [
    ({"id": ""}, "clients[0].id"),
    ({"id": "C\n1"}, "clients[0].id"),
    ({"manager_id": "M" * 201}, "clients[0].manager_id"),
    ({"days_since_last_visit": 2**63}, "clients[0].days_since_last_visit"),
    ({"days_since_last_visit": 1e300}, "clients[0].days_since_last_visit"),
    ({"satisfaction": float("nan")}, "clients[0].satisfaction"),  # NaN fails neither side of [0, 100]
])
def test_ids_and_numbers_at_the_edges(fields: dict[str, Any], path: str) -> None:
    with pytest.raises(FactError) as exc:
        validate_facts({"clients": [client(**fields)]}, KB)
    assert [(d.code, d.location.path) for d in exc.value.diagnostics] == [("fact_bad_value", path)]


def test_names_and_notes_may_hold_any_other_text() -> None:
    fs = validate_facts({"clients": [client(name="=HYPERLINK(\"x\")\r\n\t\u202e😀")], "interactions": [
        {"id": "I1", "client_id": "C1", "kind": "visit", "note": ""}]}, KB)
    assert fs.subjects("client")[0]["name"].startswith("=HYPERLINK")


def test_hostile_keys_are_named_escaped() -> None:
    with pytest.raises(FactError) as exc:
        hostile: dict[str, Any] = {"\ud800\x1b[31m": 1, "x" * 10_000: 1}
        validate_facts({"": [], "clients": [{**client(), **hostile}]}, KB)
    found = [(d.code, d.location.path) for d in exc.value.diagnostics]
    assert ("fact_unknown_type", "<facts>") in found  # the key "" has no path of its own
    assert ("fact_unknown_field", "clients[0].\\ud800\\x1b[31m") in found
    assert all(len(d.format()) < 500 for d in exc.value.diagnostics)


def test_a_duplicate_id_is_located_at_its_own_index() -> None:
    # the index counted valid facts only: the second C2 was reported at clients[1]
    assert problems({"clients": [client("C1", is_key="no"), client("C2"), client("C2")]}) == \
        [("fact_type", "clients[0].is_key"), ("fact_duplicate_id", "clients[2].id")]


def test_333000_empty_interactions_cost_no_more_than_the_first_hundred_problems() -> None:
    # issue 12: 1 MB of `{}` gave a million diagnostics, 22 s of CPU and 2.6 GB through the API
    seen: list[int] = []

    class Counted(list[dict[str, object]]):  # counts the interactions validation looks at
        def __iter__(self) -> Iterator[dict[str, object]]:
            for i, item in enumerate(super().__iter__()):
                seen.append(i)
                yield item

    with pytest.raises(FactError) as exc:
        validate_facts({"interactions": Counted([{}] * 333_000)}, KB)
    assert len(seen) <= MAX_ERRORS + 1  # validation stopped at the cap, it did not go on
    assert exc.value.stopped_at == MAX_ERRORS
    diags = exc.value.diagnostics
    assert len(diags) == MAX_ERRORS + 1
    assert {d.code for d in diags[:-1]} == {"fact_missing_field"}
    assert (diags[-1].code, diags[-1].location.path) == ("fact_error_limit", "<facts>")
    assert str(MAX_ERRORS) in diags[-1].message


@pytest.mark.parametrize("bad, stopped", [(MAX_ERRORS, None), (MAX_ERRORS + 1, MAX_ERRORS)])
def test_the_cap_counts_problems_exactly(bad: int, stopped: int | None) -> None:
    with pytest.raises(FactError) as exc:
        validate_facts({"clients": [client(f"C{i}", is_key="no") for i in range(bad)]}, KB)
    assert exc.value.stopped_at == stopped
    assert [d.code for d in exc.value.diagnostics].count("fact_type") == MAX_ERRORS
    assert ("fact_error_limit" in [d.code for d in exc.value.diagnostics]) == (stopped is not None)


def test_the_cap_can_be_set() -> None:
    with pytest.raises(FactError) as exc:
        validate_facts({"clients": [client(f"C{i}", is_key="no") for i in range(10)]}, KB, max_errors=3)
    assert exc.value.stopped_at == 3 and len(exc.value.diagnostics) == 4
