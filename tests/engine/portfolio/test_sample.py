"""engine/portfolio/sample.py: the sample portfolio is deterministic, linked, and passes the table checks."""

from __future__ import annotations

import pandas as pd

from rm_advisor.engine import Advisor
from rm_advisor.engine.portfolio.run import check_tables
from rm_advisor.engine.portfolio.sample import generate


def test_sample_portfolio_is_deterministic_for_a_seed_and_differs_for_another() -> None:
    a, b, c = generate(80, 4, seed=11), generate(80, 4, seed=11), generate(80, 4, seed=12)
    for name in ("clients", "managers", "history"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert a.as_of == b.as_of
    assert not a.clients.equals(c.clients) and not a.history.equals(c.history)


def test_sample_portfolio_sizes_and_links() -> None:
    p = generate(80, 4, seed=11)
    assert len(p.clients) == 80 and len(p.managers) == 4
    assert p.clients["id"].is_unique and p.managers["id"].is_unique and p.history["id"].is_unique
    assert set(p.clients["manager_id"]) <= set(p.managers["id"])
    assert set(p.history["client_id"].dropna()) <= set(p.clients["id"])
    assert set(p.history["manager_id"]) <= set(p.managers["id"])
    assert pd.to_datetime(p.history["date"]).max() <= pd.Timestamp(p.as_of)


def test_sample_portfolio_passes_the_table_checks(advisor: Advisor) -> None:
    p = generate(80, 4, seed=11)
    tables = check_tables(p.clients, p.managers, p.history, advisor.book.kb, p.as_of)
    assert [d for d in tables.diagnostics if d.severity == "error"] == []
    assert tables.bad_rows == 0
