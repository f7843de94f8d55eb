"""store/__init__.py: a logged decision sees the feedback history; the effectiveness report."""

from __future__ import annotations

from rm_advisor.engine import Advisor
from rm_advisor.store import FeedbackInput, Store
from tests.helpers import decision_id, subject_of
from tests.store.conftest import tobacco_facts


def test_reject_then_decide_again_shows_the_action_suppressed_with_the_feedback(store: Store, advisor: Advisor) -> None:
    first = store.decide(advisor, tobacco_facts(2))
    top = subject_of(first, "client", "T000").recommendations[0].id
    store.feedback.add(FeedbackInput(decision_id=first.id, subject="T000", item=top, status="rejected",
                                     reason_code="client_not_interested", manager_id="M1"))
    second = store.decide(advisor, tobacco_facts(2))
    held = {r.id: r for r in subject_of(second, "client", "T000").suppressed}
    [why] = held[top].suppressed_by
    assert why.policy_id == "rest_after_rejection"
    assert [(e.decision_id, e.status, e.reason_code) for e in why.feedback] == \
        [(first.id, "rejected", "client_not_interested")]
    assert top in [r.id for r in subject_of(second, "client", "T001").recommendations]  # the other client: as before
    history = store.decisions.get(decision_id(second)).history
    assert history is not None and history[0].item_id == top


def test_done_actions_this_week_fill_the_weekly_contact_cap(store: Store, advisor: Advisor) -> None:
    first = store.decide(advisor, tobacco_facts(1))
    recs = subject_of(first, "client", "T000").recommendations
    for rec in recs[:5]:
        store.feedback.add(FeedbackInput(decision_id=first.id, subject="T000", item=rec.id, status="done"))
    second = store.decide(advisor, tobacco_facts(1))
    decided = subject_of(second, "client", "T000")
    assert decided.recommendations == []
    policies = {p.policy_id for r in decided.suppressed for p in r.suppressed_by}
    assert policies == {"rest_after_done", "client_weekly_contacts"}


def test_effectiveness_reads_the_log_and_the_feedback(store: Store, advisor: Advisor) -> None:
    first = store.decide(advisor, tobacco_facts(2))
    item = subject_of(first, "client", "T000").recommendations[0]
    store.feedback.add(FeedbackInput(decision_id=first.id, subject="T000", item=item.id, status="rejected",
                                     reason_code="risk_concern"))
    store.feedback.add(FeedbackInput(decision_id=first.id, subject="T001", item=item.id, status="accepted"))
    report = store.effectiveness()
    [row] = [r for r in report.by_action if r.key == item.id]
    assert (row.recommended, row.rejected, row.accepted, row.acceptance_rate, row.top_reason) == \
        (2, 1, 1, 0.5, "risk_concern")
    assert {r.key for r in report.by_rule} >= set(item.rules)
    assert report.decisions == 1
