"""engine/portfolio/sample.py: the sample portfolio is deterministic, linked, covers every domain, and passes
the table checks."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pandas as pd
import pytest

from rm_advisor.engine import Advisor
from rm_advisor.engine.portfolio.run import check_tables
from rm_advisor.engine.portfolio.sample import DOMAIN_SHARE, RATES, generate, rates_table
from tests.conftest import ROOT


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


def test_the_rates_are_plausible_for_a_real_branch() -> None:
    p = generate(2000, 40, seed=7)
    bank = p.clients[p.clients["domain"] == "bank"]
    red = bank["multi_bank_credit"].astype(bool) | bank["credit_bad_record"].astype(bool) | \
        bank["integrity_termination_5y"].astype(bool)
    assert 0.02 < red.mean() < 0.08  # credit red flags: a few percent of bank clients
    active_trusted = (p.clients["relationship"] == "active") & (p.clients["trust_established"] == True)  # noqa: E712
    assert 0.1 < active_trusted.mean() < 0.3  # asked for a referral: a minority, not half the book
    assert p.clients["trust_established"].isna().mean() > 0.4  # a soft judgement many files leave blank
    tobacco = p.clients[p.clients["domain"] == "tobacco"]
    assert tobacco["network_client"].astype(bool).mean() > 0.9
    assert (tobacco["satisfaction"] < 70).mean() < 0.1


def test_other_rates_give_another_portfolio() -> None:
    flagged = generate(400, 8, seed=7, rates=replace(RATES, multi_bank_credit=1.0))
    bank = flagged.clients[flagged.clients["domain"] == "bank"]
    assert bank["multi_bank_credit"].astype(bool).all()


def test_every_rate_is_explained_and_listed_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = rates_table()
    assert len(table) > 15 and all(why for _, _, why in table)
    missing = [name for name, value, why in table if f"| `{name}` | {value:g} | {why} |" not in readme]
    assert missing == [], "README.md: the table of the sample rates is out of step with engine/portfolio/sample.py"


def test_the_sample_portfolio_exercises_the_event_window_and_deadline_rules(advisor: Advisor) -> None:
    """Phone-order calls, repeated complaints, interest and limitation deadlines and agreement expiries occur
    in the default sample, so a batch run (and `make demo`) shows those rules at work."""
    from rm_advisor.engine.portfolio.bulk import BulkGates
    from rm_advisor.engine.portfolio.run import prepare

    p = generate(clients=2000, managers=40, seed=1)
    tables = check_tables(p.clients, p.managers, p.history, advisor.book.kb, p.as_of)
    _, parts = prepare(tables, advisor.book.kb, BulkGates(advisor.book))
    gated = {rule_id for part in parts for rule_id, _ in part.gates}
    assert {"tobacco.phone_order_calls_failing", "practice_bank.interest_due_before_deduction",
            "bank.limitation_period_at_risk", "telecom.agreement_expiry"} <= gated
