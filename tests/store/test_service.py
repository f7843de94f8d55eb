"""store/service.py: deciding with the decision log (facts checked once, history read, policies
applied, the decision logged with the facts as posted); the effectiveness report."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from rm_advisor.engine import Advisor
from rm_advisor.engine.language import Decision, FactSet, SubjectKey
from rm_advisor.store import (
    MASK,
    FeedbackInput,
    Posted,
    Store,
    decide_and_log,
    effectiveness_report,
    propensity_table,
    replay,
)
from rm_advisor.store.schema import DecisionItemRow
from tests.helpers import KB, decision_id, rejectable, subject_of
from tests.store.conftest import tobacco_facts


def test_reject_then_decide_again_shows_the_action_suppressed_with_the_feedback(store: Store, advisor: Advisor) -> None:
    first = decide_and_log(store, advisor, tobacco_facts(2))
    top = rejectable(subject_of(first, "client", "T000"))
    store.feedback.add(FeedbackInput(decision_id=first.id, subject="T000", item=top, status="rejected",
                                     reason_code="client_not_interested", manager_id="M1"))
    second = decide_and_log(store, advisor, tobacco_facts(2))
    held = {r.id: r for r in subject_of(second, "client", "T000").suppressed}
    [why] = held[top].suppressed_by
    assert why.policy_id == "rest_after_rejection"
    assert [(e.decision_id, e.status, e.reason_code) for e in why.feedback] == \
        [(first.id, "rejected", "client_not_interested")]
    assert top in [r.id for r in subject_of(second, "client", "T001").recommendations]  # the other client: as before
    history = store.decisions.get(decision_id(second)).history
    assert history is not None and history[0].item_id == top


def test_done_actions_this_week_fill_the_weekly_contact_cap(store: Store, advisor: Advisor) -> None:
    first = decide_and_log(store, advisor, tobacco_facts(1))
    recs = subject_of(first, "client", "T000").recommendations
    for rec in recs[:5]:
        store.feedback.add(FeedbackInput(decision_id=first.id, subject="T000", item=rec.id, status="done"))
    second = decide_and_log(store, advisor, tobacco_facts(1))
    decided = subject_of(second, "client", "T000")
    # what is left is the duty done too: a risk or obligation action is never rested nor capped
    assert [r.id for r in decided.recommendations] == [r.id for r in recs[:5] if KB.actions[r.id].duty] != []
    policies = {p.policy_id for r in decided.suppressed for p in r.suppressed_by}
    assert policies == {"rest_after_done", "client_weekly_contacts"}


def test_posted_facts_are_validated_once_and_logged_as_posted(store: Store, advisor: Advisor,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    checked: list[Any] = []
    validate = advisor.validate

    def counted(facts: Any, as_of: dt.date | None = None, prefer: Any = "given") -> FactSet:
        checked.append(facts)
        return validate(facts, as_of, prefer)

    monkeypatch.setattr(advisor, "validate", counted)
    doc = tobacco_facts(2)
    posted = Posted.check(advisor, doc)
    decision = decide_and_log(store, advisor, posted, source="api")
    assert len(checked) == 1  # by Posted.check; deciding and logging do not check again
    logged = store.decisions.get(decision_id(decision))
    assert logged.source == "api" and logged.input["as_of"] == "2026-11-23"  # the document, not the FactSet
    assert logged.input["clients"][0]["contact_phone"] == MASK
    again = decide_and_log(store, advisor, doc)  # a plain document is checked here, once
    assert len(checked) == 2
    assert again.model_copy(update={"id": None}) == decision.model_copy(update={"id": None})


def test_as_of_overrides_a_document_and_posted_facts_keep_the_day_they_were_checked_on(store: Store,
                                                                                       advisor: Advisor) -> None:
    day = dt.date(2026, 11, 30)
    from_document = decide_and_log(store, advisor, tobacco_facts(1), as_of=day)
    assert store.decisions.get(decision_id(from_document)).as_of == day
    posted = Posted.check(advisor, tobacco_facts(1), as_of=day)
    assert decide_and_log(store, advisor, posted, as_of=dt.date(2026, 1, 1)).as_of == day


def test_the_limit_per_subject_is_applied_after_the_policies_and_logged(store: Store, advisor: Advisor) -> None:
    first = decide_and_log(store, advisor, tobacco_facts(1))
    recs = [r.id for r in subject_of(first, "client", "T000").recommendations]
    rejected = rejectable(recs)
    store.feedback.add(FeedbackInput(decision_id=decision_id(first), subject="T000", item=rejected,
                                     status="rejected", reason_code="client_not_interested"))
    second = decide_and_log(store, advisor, tobacco_facts(1), max_per_subject=1)
    assert [r.id for r in subject_of(second, "client", "T000").recommendations] == [recs[recs[0] == rejected]]
    assert store.decisions.get(decision_id(second)).max_per_subject == 1


def test_effectiveness_reads_the_log_and_the_feedback(store: Store, advisor: Advisor) -> None:
    first = decide_and_log(store, advisor, tobacco_facts(2))
    t000 = subject_of(first, "client", "T000")
    item = next(r for r in t000.recommendations if r.id == rejectable(t000, "risk_concern"))
    store.feedback.add(FeedbackInput(decision_id=first.id, subject="T000", item=item.id, status="rejected",
                                     reason_code="risk_concern"))
    store.feedback.add(FeedbackInput(decision_id=first.id, subject="T001", item=item.id, status="accepted"))
    report = effectiveness_report(store)
    [row] = [r for r in report.by_action if r.key == item.id]
    assert (row.recommended, row.rejected, row.accepted, row.acceptance_rate, row.top_reason) == \
        (2, 1, 1, 0.5, "risk_concern")
    assert {r.key for r in report.by_rule} >= set(item.rules)
    assert report.decisions == 1


def _items(decision: Decision) -> list[tuple[str, str, list[str], list[str], list[str]]]:
    """Each subject's recommended, vetoed and suppressed item ids, in order."""
    return [(s.subject_type, s.id, [r.id for r in s.recommendations], [r.id for r in s.vetoed],
             [r.id for r in s.suppressed]) for s in [*decision.clients, *decision.managers]]


def test_a_subject_asked_for_is_logged_alone_with_the_posted_facts_as_its_input(store: Store, advisor: Advisor) -> None:
    both = decide_and_log(store, advisor, tobacco_facts(2))
    one = decide_and_log(store, advisor, tobacco_facts(2), subject=SubjectKey("client", "T001"))
    assert [(s.subject_type, s.id) for s in [*one.clients, *one.managers]] == [("client", "T001")]
    assert one.clients == [subject_of(both, "client", "T001")]  # decided with the others, as before
    logged = store.decisions.get(decision_id(one))
    assert logged.subject == "client:T001" and _items(logged.decision) == _items(one)
    assert [c["id"] for c in logged.input["clients"]] == ["T000", "T001"] and logged.input["managers"]
    with store.db.transaction() as session:
        subjects = set(session.execute(select(DecisionItemRow.subject_type, DecisionItemRow.subject_id)
                                       .where(DecisionItemRow.decision_id == one.id)).all())
    assert subjects == {("client", "T001")}
    assert store.decisions.get(decision_id(both)).subject is None
    with pytest.raises(ValueError, match="client:T999"):
        decide_and_log(store, advisor, tobacco_facts(2), subject=SubjectKey("client", "T999"))


def test_every_recommended_item_is_logged_and_the_limit_marks_what_was_shown(store: Store, advisor: Advisor) -> None:
    answered = decide_and_log(store, advisor, tobacco_facts(2), max_per_subject=2)
    engine = advisor.decide(tobacco_facts(2), max_per_subject=2, history=[])
    assert answered.model_copy(update={"id": None}) == engine  # what is shown: the engine's own limit
    logged = store.decisions.get(decision_id(answered))
    every = subject_of(logged.decision, "client", "T000").recommendations
    assert len(every) > 2 and _items(logged.decision) == _items(advisor.decide(tobacco_facts(2), history=[]))
    assert _items(logged.shown()) == _items(answered) and logged.max_per_subject == 2
    with store.db.transaction() as session:
        rows = session.execute(select(DecisionItemRow.item_id, DecisionItemRow.outcome, DecisionItemRow.shown)
                               .where(DecisionItemRow.subject_id == "T000")).all()
    assert sorted(i for i, outcome, _ in rows if outcome == "recommended") == sorted(r.id for r in every)
    assert sorted(i for i, _, shown in rows if shown) == sorted(r.id for r in every[:2])
    below = every[2].id
    store.feedback.add(FeedbackInput(decision_id=answered.id, subject="T000", item=below, status="accepted"))
    store.feedback.add(FeedbackInput(decision_id=answered.id, subject="T000", item=every[0].id, status="rejected",
                                     reason_code="facts_out_of_date"))  # a reason any kind of action takes
    report = effectiveness_report(store)
    shown = sum(len(s.recommendations) for s in [*answered.clients, *answered.managers])
    assert report.total.recommended == shown < sum(len(s.recommendations) for s in logged.decision.clients)
    assert (report.total.accepted, report.total.rejected) == (0, 1)  # feedback on an item not shown: not counted
    assert [(s.recommended > s.shown, s.shown) for s in store.decisions.recent()] == [(True, shown)]


def _held(decision: Decision, item: str) -> list[tuple[str, dt.date | None]]:
    """The policies holding ``item`` back from T000, with the day each lets it come back."""
    return [(p.policy_id, p.until) for r in subject_of(decision, "client", "T000").suppressed if r.id == item
            for p in r.suppressed_by]


def test_done_dated_after_the_decisions_as_of_applies_from_its_own_date(store: Store, advisor: Advisor) -> None:
    first = decide_and_log(store, advisor, tobacco_facts(1, as_of="2026-11-23"))  # a Monday
    item = rejectable(subject_of(first, "client", "T000"))  # an action the contact policies may hold back
    store.feedback.add(FeedbackInput(decision_id=first.id, subject="T000", item=item, status="done",
                                     date=dt.date(2026, 11, 27)))
    before = decide_and_log(store, advisor, tobacco_facts(1, as_of="2026-11-26"))
    assert item in [r.id for r in subject_of(before, "client", "T000").recommendations]  # not done yet on the 26th
    assert store.decisions.get(decision_id(before)).history == []  # nor counted against the weekly cap
    on_the_day = decide_and_log(store, advisor, tobacco_facts(1, as_of="2026-11-27"))
    assert _held(on_the_day, item) == [("rest_after_done", dt.date(2026, 12, 11))]  # 14 days from the 27th
    assert _held(decide_and_log(store, advisor, tobacco_facts(1, as_of="2026-12-10")), item) == \
        [("rest_after_done", dt.date(2026, 12, 11))]  # not 14 days from the decision's 23rd
    back = decide_and_log(store, advisor, tobacco_facts(1, as_of="2026-12-11"))
    assert item in [r.id for r in subject_of(back, "client", "T000").recommendations]


def test_feedback_dated_after_a_later_decisions_as_of_is_not_applied_to_it(store: Store, advisor: Advisor) -> None:
    first = decide_and_log(store, advisor, tobacco_facts(1, as_of="2026-11-23"))
    item = rejectable(subject_of(first, "client", "T000"))  # an action the contact policies may hold back
    later = decide_and_log(store, advisor, tobacco_facts(1, as_of="2026-11-25"))
    store.feedback.add(FeedbackInput(decision_id=first.id, subject="T000", item=item, status="rejected",
                                     reason_code="client_not_interested", date=dt.date(2026, 11, 26)))
    # recorded after it, dated after it: the later decision, replayed or made again, does not see it
    assert replay(store.decisions, decision_id(later)).on_logged.identical
    again = decide_and_log(store, advisor, tobacco_facts(1, as_of="2026-11-25"))
    assert _held(again, item) == [] and item in [r.id for r in subject_of(again, "client", "T000").recommendations]
    assert _held(decide_and_log(store, advisor, tobacco_facts(1, as_of="2026-11-26")), item) == \
        [("rest_after_rejection", dt.date(2026, 12, 26))]


def _b_class(day: dt.date, n: int = 4) -> dict[str, Any]:
    """``n`` tobacco B-class retailers new on ``day`` (new ids each day: no contact policy rests them)."""
    return {"as_of": day.isoformat(), "managers": [{"id": "M1", "domain": "tobacco", "assessment_score": 60}],
            "clients": [{"id": f"R{day:%m%d}{i}", "manager_id": "M1", "domain": "tobacco", "client_class": "B",
                         "network_client": False, "e_settlement": "low_awareness", "counterfeit_awareness": "weak",
                         "days_since_last_visit": 40, "new_brand_stocked": True, "new_brand_on_counter": False}
                        for i in range(n)]}


def test_feedback_in_the_log_reranks_a_later_decision_which_explains_it_and_replays_identically(
        store: Store, advisor: Advisor) -> None:
    start = dt.date(2026, 11, 2)
    before = decide_and_log(store, advisor, _b_class(start))
    order = [r.id for r in before.clients[0].recommendations]
    assert order.index("anti_counterfeit_training") < order.index("promote_e_settlement")
    assert before.propensities is None and all(r.ranking is None for r in before.clients[0].recommendations)
    rejections = 0
    for day in (start + dt.timedelta(days=d) for d in range(7)):  # a week of managers' answers
        logged = before if day == start else decide_and_log(store, advisor, _b_class(day))
        for c in logged.clients:  # answered when recommended: ranked low, the training is capped out
            shown = {r.id for r in c.recommendations}
            if "anti_counterfeit_training" in shown:
                store.feedback.add(FeedbackInput(decision_id=decision_id(logged), subject=c.id,
                                                 item="anti_counterfeit_training", status="rejected",
                                                 reason_code="client_not_interested"))
                rejections += 1
            store.feedback.add(FeedbackInput(decision_id=decision_id(logged), subject=c.id,
                                             item="promote_e_settlement", status="accepted"))
    after = decide_and_log(store, advisor, _b_class(start + dt.timedelta(days=7)))
    recs = {r.id: r for r in after.clients[0].recommendations}
    assert after.clients[0].recommendations[0].id == "promote_e_settlement"
    held = {r.id: r for r in after.clients[0].suppressed}  # ranked last, the weekly contact cap holds it back
    accepted, rejected = recs["promote_e_settlement"].ranking, held["anti_counterfeit_training"].ranking
    assert accepted is not None and accepted.acceptance is not None and rejected is not None
    assert 20 <= rejections < 28
    assert (accepted.acceptance.segment, accepted.acceptance.accepted, accepted.acceptance.decided) == \
        ("tobacco/B", 28, 28)
    assert "accepted 28 of 28 in tobacco class B over 90 days → propensity" in accepted.text.en
    assert f"accepted 0 of {rejections} in tobacco class B over 90 days → propensity" in rejected.text.en
    duty = recs["monopoly_check_off_channel_retailer"].ranking  # a risk action: never ranked lower than its score
    assert duty is not None and duty.priority == 0.8
    # the decision keeps what its ranking looked up; its replay on its own revision is identical
    logged = store.decisions.get(decision_id(after)).decision
    assert logged.propensities is not None and logged.propensities.as_of == after.as_of
    assert replay(store.decisions, decision_id(after)).on_logged.identical


def test_the_acceptance_table_is_counted_again_only_when_the_log_changed(store: Store, advisor: Advisor) -> None:
    day = dt.date(2026, 11, 2)
    settings = advisor.book.arbitration.propensity
    logged = decide_and_log(store, advisor, _b_class(day))
    later = day + dt.timedelta(days=3)
    first = propensity_table(store, later, settings, "d-1")
    assert first.entries == () and propensity_table(store, later, settings, "d-2").seed == "d-2"
    store.feedback.add(FeedbackInput(decision_id=decision_id(logged), subject=logged.clients[0].id,
                                     item="promote_e_settlement", status="accepted"))
    (entry,) = propensity_table(store, later, settings).entries  # the feedback is seen at once
    assert (entry.action, entry.accepted, entry.decided) == ("promote_e_settlement", 1, 1)
    decide_and_log(store, advisor, _b_class(day + dt.timedelta(days=1)))  # a decision of the window
    assert propensity_table(store, later, settings).entries == (entry,)
    # one table per as-of date: the two decisions' own and the one asked for
    assert sorted(k[0] for k in store.propensity_cache) == [day, day + dt.timedelta(days=1), later]
