"""engine/language/propensity.py: the acceptance table looked up by action, segment and manager,
and cut to what one decision looked up."""

from __future__ import annotations

import datetime as dt

from rm_advisor.engine.language.propensity import AcceptanceCount, PropensityTable


def _count(action: str, segment: str, manager: str | None = None) -> AcceptanceCount:
    return AcceptanceCount(action=action, segment=segment, manager=manager, accepted=1, decided=2,
                           weighted_accepted=1.0, weighted_decided=2.0)


def test_lookup_tells_a_segment_from_a_manager_in_it_and_only_keeps_what_was_asked() -> None:
    table = PropensityTable(as_of=dt.date(2026, 11, 30), window_days=90, half_life_days=30, entries=(
        _count("a", "tobacco/B"), _count("a", "tobacco/B", "M1"), _count("b", "tobacco/A")))
    assert table.lookup("a", "tobacco/B") == _count("a", "tobacco/B")
    assert table.lookup("a", "tobacco/B", "M1") == _count("a", "tobacco/B", "M1")
    assert table.lookup("a", "tobacco/A") is None and table.lookup("b", "tobacco/A", "M1") is None
    cut = table.only({("a", "tobacco/B", "M1")})
    assert cut.entries == (_count("a", "tobacco/B", "M1"),) and cut.as_of == table.as_of
    assert PropensityTable.model_validate_json(cut.model_dump_json()) == cut  # recorded with a decision, read back
