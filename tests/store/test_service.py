"""store/service.py: deciding with the decision log (facts checked once, history read, policies
applied, the decision logged with the facts as posted); the effectiveness report."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from rm_advisor.engine import Advisor
from rm_advisor.engine.language import FactSet
from rm_advisor.store import MASK, FeedbackInput, Posted, Store, decide_and_log, effectiveness_report
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
