"""engine/policies/effectiveness.py: acceptance and completion rates, noisy rules, the period."""

from __future__ import annotations

import datetime as dt

from rm_advisor.engine.language.feedback import FeedbackEvent
from rm_advisor.engine.language.knowledge import FeedbackStatus
from rm_advisor.engine.policies.effectiveness import ItemRecord, Thresholds, effectiveness, settle

DAY = dt.date(2026, 11, 23)


def item(n: int, item_id: str = "counter_placement", rules: tuple[str, ...] = ("t.a",), manager: str = "M1",
         segment: str = "tobacco/A", as_of: dt.date = DAY) -> ItemRecord:
    return ItemRecord(decision_id=f"d-{n}", as_of=as_of, subject_type="client", subject_id=f"C{n}",
                      item_id=item_id, manager_id=manager, segment=segment, rules=rules)


def fb(n: int, status: FeedbackStatus, item_id: str = "counter_placement", reason: str | None = None) -> FeedbackEvent:
    if status == "rejected" and reason is None:
        reason = "client_not_interested"
    return FeedbackEvent(decision_id=f"d-{n}", subject_id=f"C{n}", item_id=item_id, status=status,
                         reason_code=reason, date=DAY)


def test_rates_follow_each_items_final_state() -> None:
    items = [item(i) for i in range(6)]
    events = [fb(0, "accepted"), fb(0, "done"),                  # done (accepted first)
              fb(1, "accepted"),                                 # accepted, not done yet
              fb(2, "snoozed"), fb(2, "rejected", reason="wrong_timing"),  # rejected after a snooze
              fb(3, "rejected"),
              fb(4, "snoozed")]                                  # undecided
    row = effectiveness(items, events).by_action[0]
    assert (row.recommended, row.answered, row.accepted, row.rejected, row.done, row.snoozed) == (6, 5, 2, 2, 1, 1)
    assert (row.acceptance_rate, row.rejection_rate, row.completion_rate) == (0.5, 0.5, 0.5)
    assert row.top_reason in ("client_not_interested", "wrong_timing")


def test_only_the_items_an_answer_showed_count() -> None:
    # an item below a `top` limit is logged and takes feedback, but no manager was shown it
    items = [item(0), item(1), ItemRecord(**{**item(2).model_dump(), "shown": False})]
    report = effectiveness(items, [fb(0, "accepted"), fb(2, "rejected")])
    assert (report.total.recommended, report.total.accepted, report.total.rejected, report.decisions) == (2, 1, 0, 2)
    assert item(3).shown  # a record says nothing: it was shown


def test_an_item_counts_for_each_rule_behind_it_and_groups_are_separate() -> None:
    items = [item(0, rules=("t.a", "t.b"), manager="M1", segment="tobacco/A"),
             item(1, item_id="promote_e_settlement", rules=("t.b",), manager="M2", segment="bank/corporate")]
    report = effectiveness(items, [fb(0, "rejected"), fb(1, "done", item_id="promote_e_settlement")])
    by_rule = {r.key: (r.recommended, r.rejected, r.done) for r in report.by_rule}
    assert by_rule == {"t.a": (1, 1, 0), "t.b": (2, 1, 1)}
    assert {r.key: r.acceptance_rate for r in report.by_manager} == {"M1": 0.0, "M2": 1.0}
    assert {r.key for r in report.by_segment} == {"tobacco/A", "bank/corporate"}
    assert (report.total.recommended, report.decisions) == (2, 2)


def test_noisy_rules_fire_often_and_are_nearly_always_rejected() -> None:
    noisy = [item(i, rules=("t.noisy",)) for i in range(10)]
    good = [item(100 + i, rules=("t.good",)) for i in range(10)]
    rare = [item(200 + i, rules=("t.rare",)) for i in range(2)]
    events = [fb(i, "rejected") for i in range(9)] + [fb(9, "accepted")]
    events += [fb(100 + i, "accepted") for i in range(10)] + [fb(200 + i, "rejected") for i in range(2)]
    report = effectiveness(noisy + good + rare, events,
                           thresholds=Thresholds(min_recommended=5, min_decided=3, min_rejection_rate=0.8))
    assert [r.key for r in report.noisy_rules] == ["t.noisy"]
    assert report.noisy_rules[0].rejection_rate == 0.9
    strict = effectiveness(noisy + good + rare, events, thresholds=Thresholds(min_rejection_rate=0.95,
                                                                               min_recommended=5, min_decided=3))
    assert strict.noisy_rules == []


def test_the_period_selects_items_by_their_decisions_as_of_date() -> None:
    items = [item(0, as_of=DAY - dt.timedelta(days=40)), item(1), item(2, as_of=DAY + dt.timedelta(days=1))]
    report = effectiveness(items, [fb(0, "rejected"), fb(1, "accepted")], since=DAY - dt.timedelta(days=30), until=DAY)
    assert (report.total.recommended, report.total.accepted, report.total.rejected) == (1, 1, 0)


def test_no_items_gives_an_empty_report() -> None:
    report = effectiveness([], [])
    assert report.total.recommended == 0 and report.by_rule == [] and report.total.acceptance_rate is None


def test_settled_counts_stand_for_the_items_they_count() -> None:
    # what `rm-advisor log purge` keeps: a report from the counts is the report from the items
    later = DAY + dt.timedelta(days=7)
    items = [item(0), item(1, rules=("t.a", "t.b")), item(2, item_id="promote_e_settlement", manager="M2"),
             item(3, as_of=later, segment="tobacco/B"), item(4, as_of=later), item(5, as_of=later),
             ItemRecord(decision_id="d-6", as_of=DAY, subject_type="client", subject_id="C6",
                        item_id="counter_placement", shown=False)]
    events = [fb(0, "accepted"), fb(0, "done"), fb(1, "rejected", reason="no_capacity"), fb(3, "snoozed"),
              fb(3, "rejected", reason="wrong_timing"), fb(4, "rejected", reason="no_capacity"),
              fb(2, "accepted", item_id="promote_e_settlement"), fb(6, "rejected")]
    settled = settle(items, events)
    assert sum(c.count for c in settled) == 6  # the item not shown is not counted
    per_day = {DAY: 3, later: 3}
    for since, until in ((None, None), (DAY, DAY), (later, None), (None, DAY - dt.timedelta(days=1))):
        expected = effectiveness(items, events, since, until, Thresholds(min_recommended=1, min_decided=1))
        rolled = effectiveness([], [], since, until, Thresholds(min_recommended=1, min_decided=1), settled, per_day)
        assert rolled == expected
    half = [c for c in settled if c.as_of == DAY]   # some periods rolled up, others still items
    mixed = effectiveness([i for i in items if i.as_of == later], events, settled=half, settled_decisions={DAY: 3})
    assert mixed == effectiveness(items, events)
