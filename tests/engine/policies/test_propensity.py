"""engine/policies/propensity.py: acceptance counted as of a date (no peeking), decayed, and its
Beta-Binomial posterior; exploration draws reproducible from the seed."""

from __future__ import annotations

import datetime as dt

from rm_advisor.engine.language.feedback import FeedbackEvent
from rm_advisor.engine.language.knowledge import FeedbackStatus
from rm_advisor.engine.language.propensity import PropensityTable
from rm_advisor.engine.policies.arbitration import PropensitySettings
from rm_advisor.engine.policies.effectiveness import ItemRecord
from rm_advisor.engine.policies.propensity import acceptance, build_table, prior_rate

DAY = dt.date(2026, 11, 30)
SETTINGS = PropensitySettings(enabled=True, window_days=90, half_life_days=30, prior_strength=10, min_decided=3)


def _item(n: int, as_of: dt.date, item: str = "ask_for_referral", segment: str = "tobacco/B",
          manager: str = "M1", shown: bool = True) -> ItemRecord:
    return ItemRecord(decision_id=f"d{n}", as_of=as_of, subject_type="client", subject_id=f"C{n}", item_id=item,
                      manager_id=manager, segment=segment, shown=shown)


def _fb(n: int, status: FeedbackStatus, date: dt.date, item: str = "ask_for_referral") -> FeedbackEvent:
    return FeedbackEvent(decision_id=f"d{n}", subject_id=f"C{n}", item_id=item, status=status,
                         reason_code="client_not_interested" if status == "rejected" else None, date=date)


def test_only_feedback_before_the_date_on_decisions_before_it_counts() -> None:
    week = DAY - dt.timedelta(days=7)
    items = [_item(1, week), _item(2, week), _item(3, week), _item(4, DAY), _item(5, week, shown=False),
             _item(6, DAY - dt.timedelta(days=91))]
    feedback = [_fb(1, "accepted", week), _fb(2, "rejected", week), _fb(3, "done", DAY),  # dated on the day: not yet
                _fb(4, "accepted", DAY), _fb(5, "accepted", week), _fb(6, "accepted", DAY - dt.timedelta(days=90))]
    (entry,) = build_table(items, feedback, DAY, SETTINGS).entries
    assert (entry.action, entry.segment, entry.manager, entry.accepted, entry.decided) == \
        ("ask_for_referral", "tobacco/B", None, 1, 2)
    # a day later the done on item 3 counts too, and an accepted then done item counts once, as done
    later = build_table(items, [*feedback, _fb(1, "done", DAY)], DAY + dt.timedelta(days=1), SETTINGS)
    assert [(e.accepted, e.decided) for e in later.entries] == [(3, 4)]


def test_older_evidence_weighs_less_by_the_half_life() -> None:
    items = [_item(1, DAY - dt.timedelta(days=30)), _item(2, DAY - dt.timedelta(days=60))]
    feedback = [_fb(1, "accepted", DAY - dt.timedelta(days=29)), _fb(2, "rejected", DAY - dt.timedelta(days=59))]
    (entry,) = build_table(items, feedback, DAY, SETTINGS).entries
    assert entry.weighted_accepted == 0.5 and entry.weighted_decided == 0.75


def test_by_manager_adds_each_managers_own_counts() -> None:
    items = [_item(1, DAY - dt.timedelta(days=3), manager="M1"), _item(2, DAY - dt.timedelta(days=3), manager="M2")]
    feedback = [_fb(1, "accepted", DAY - dt.timedelta(days=2)), _fb(2, "rejected", DAY - dt.timedelta(days=2))]
    table = build_table(items, feedback, DAY, SETTINGS.model_copy(update={"by_manager": True}))
    assert [(e.manager, e.accepted, e.decided) for e in table.entries] == [(None, 1, 2), ("M1", 1, 1), ("M2", 0, 1)]


def test_the_posterior_starts_at_the_rules_priority_and_moves_with_evidence() -> None:
    table = PropensityTable(as_of=DAY, window_days=90, half_life_days=30)
    items = [_item(n, DAY - dt.timedelta(days=1)) for n in range(10)]
    feedback = [_fb(n, "accepted" if n < 2 else "rejected", DAY - dt.timedelta(days=1)) for n in range(10)]
    (entry,) = build_table(items, feedback, DAY, SETTINGS).entries
    a = acceptance(entry, 60, SETTINGS, table, "C1")
    # prior 0.6 worth 10 decided; 2 of 10 accepted, each weighed 0.5 ** (1 / 30)
    w = 0.5 ** (1 / 30)
    assert a.prior == 0.6 and a.rate == round((6 + 2 * w) / (10 + 10 * w), 4) and a.used
    assert (a.accepted, a.decided) == (2, 10)
    assert not acceptance(entry, 60, SETTINGS.model_copy(update={"min_decided": 11}), table, "C1").used
    assert prior_rate(100) == 0.99 and prior_rate(0) == 0.01


def test_exploration_draws_the_same_for_the_same_seed_and_differs_across_seeds() -> None:
    items = [_item(n, DAY - dt.timedelta(days=1)) for n in range(6)]
    feedback = [_fb(n, "accepted" if n % 2 else "rejected", DAY - dt.timedelta(days=1)) for n in range(6)]
    explore = SETTINGS.model_copy(update={"explore": True})
    draws = []
    for seed in ("d-1", "d-1", "d-2", "d-3"):
        table = build_table(items, feedback, DAY, explore, seed)
        a = acceptance(table.entries[0], 50, explore, table, "C1")
        assert a.sampled and 0 < a.rate < 1
        draws.append(a.rate)
    assert draws[0] == draws[1] and len(set(draws)) == 3
