"""engine/portfolio/sample.py: the sample portfolio is deterministic, linked, covers every domain, and passes
the table checks."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from rm_advisor.engine import Advisor
from rm_advisor.engine.portfolio.run import check_tables
from rm_advisor.engine.portfolio.sample import DOMAIN_SHARE, generate


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


def test_every_domain_has_a_manager_and_each_client_a_manager_of_its_domain() -> None:
    p = generate(60, len(DOMAIN_SHARE), seed=3)
    assert sorted(p.managers["domain"]) == sorted(DOMAIN_SHARE)
    domain_of = dict(zip(p.managers["id"], p.managers["domain"], strict=True))
    assert all(domain_of[m] == d for m, d in zip(p.clients["manager_id"], p.clients["domain"], strict=True))


def test_fewer_managers_than_domains_is_refused() -> None:
    with pytest.raises(ValueError, match=f"at least {len(DOMAIN_SHARE)} managers"):
        generate(10, len(DOMAIN_SHARE) - 1)


def test_visits_cover_the_days_asked_for_up_to_the_as_of_date() -> None:
    # (open loans and unpaid interest may be older: they are still open on the as-of date)
    as_of = dt.date(2026, 6, 30)
    p = generate(80, 4, days=30, seed=5, as_of=as_of)
    dates = pd.to_datetime(p.history["date"])
    visits = dates[p.history["kind"] == "visit"]
    assert p.as_of == as_of and dates.max() <= pd.Timestamp(as_of) and len(visits) > 0
    assert visits.min() > pd.Timestamp(as_of - dt.timedelta(days=30))
