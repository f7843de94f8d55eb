"""engine/language/decision.py: the decision record: found by subject, immutable, and the same after a
round trip through JSON (what the decision log stores)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from rm_advisor.engine import Decision
from tests.helpers import action, advisor, client, rule

ADVISOR = advisor(
    rule("t.overdue", {"client.days_since_last_visit": {"gt": 7}}, {"signals": ["visit_overdue"]}),
    rule("t.visit", {"signal": "visit_overdue"}, {"actions": [action("periodic_visit_by_class")]}),
    rule("t.coach", {"exists": {"fact": "client", "where": {"signal": "visit_overdue"}}},
         {"coaching": [{"topic": "visit_coverage_by_class", "reason": {"zh": "辅导", "en": "coach"}}]},
         subject="manager"),
)
FACTS = {"as_of": "2026-11-23", "managers": [{"id": "M1", "domain": "tobacco"}],
         "clients": [client("C1", days_since_last_visit=9), client("C2", days_since_last_visit=1)]}


def test_a_subject_is_found_by_type_and_id() -> None:
    d = ADVISOR.decide(FACTS)
    c1, m1 = d.subject("client", "C1"), d.subject("manager", "M1")
    assert c1 is not None and (c1.subject_type, c1.id) == ("client", "C1")
    assert [r.id for r in c1.recommendations] == ["periodic_visit_by_class"]
    assert m1 is not None and [(r.kind, r.id) for r in m1.recommendations] == [("coaching", "visit_coverage_by_class")]
    assert d.subject("client", "M1") is None and d.subject("manager", "C1") is None
    assert d.subject("client", "C9") is None


def test_a_decision_survives_a_round_trip_through_json() -> None:
    d = ADVISOR.decide(FACTS)
    again = Decision.model_validate_json(d.model_dump_json())
    assert again == d
    assert again.clients[0].recommendations[0].because[0].signals[0].asserted_by[0].rule_id == "t.overdue"


def test_a_decision_cannot_be_changed() -> None:
    d = ADVISOR.decide(FACTS)
    with pytest.raises(ValidationError):
        d.firings = 0  # type: ignore[misc]


def test_a_trusted_trace_is_the_validated_one_and_needs_every_field() -> None:
    """The engine builds rule and signal traces with ``trusted`` (no second check of its own values):
    each must equal, field for field and in JSON, what validating the same values gives."""
    d = ADVISOR.decide(FACTS)
    c1 = d.subject("client", "C1")
    assert c1 is not None and c1.signals and c1.recommendations
    for trace in [*c1.signals, *(t for r in c1.recommendations for t in r.because)]:
        again = type(trace).model_validate(trace.model_dump())
        assert again == trace and again.model_dump_json() == trace.model_dump_json()
        assert again.model_fields_set == trace.model_fields_set
    rt = c1.recommendations[0].because[0]
    values = {name: getattr(rt, name) for name in type(rt).model_fields}
    assert type(rt).trusted(**values) == type(rt)(**values)
    del values["unknown"]
    with pytest.raises(TypeError, match=r"RuleTrace.trusted needs every field: missing \['unknown'\]"):
        type(rt).trusted(**values)
