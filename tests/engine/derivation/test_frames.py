"""engine/derivation/frames.py: fact records become typed frames and come back unchanged."""

from __future__ import annotations

import datetime as dt

from rm_advisor.engine.derivation.frames import frame, records
from tests.helpers import KB


def test_records_survive_a_frame_with_their_types_and_missing_fields() -> None:
    facts = [
        {"id": "E1", "client_id": "C1", "kind": "order", "date": dt.date(2026, 11, 2), "quantity": 30,
         "amount": 1250.5, "new_brand": True},
        {"id": "E2", "manager_id": "M1", "kind": "plan_submission", "date": dt.date(2026, 11, 7),
         "due_date": dt.date(2026, 11, 6)},
    ]
    table = frame(facts, KB.facts["interaction"])
    assert list(table.index) == ["E1", "E2"]
    assert str(table["date"].dtype) == "datetime64[ns]" and str(table["quantity"].dtype) == "Int64"
    assert table["amount"].dtype == float and table["new_brand"].dtype == object
    assert records(table, KB.facts["interaction"]) == facts


def test_no_facts_give_an_empty_frame_with_every_column() -> None:
    table = frame([], KB.facts["client"])
    assert len(table) == 0 and set(table.columns) == set(KB.facts["client"].fields)
    assert records(table, KB.facts["client"]) == []
