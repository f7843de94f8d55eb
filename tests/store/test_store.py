"""store/__init__.py: the effectiveness report over the log and the feedback."""

from __future__ import annotations

from rm_advisor.engine import Advisor
from rm_advisor.store import FeedbackInput, Store, decide_and_log
from tests.helpers import subject_of
from tests.store.conftest import tobacco_facts


def test_effectiveness_reads_the_log_and_the_feedback(store: Store, advisor: Advisor) -> None:
    first = decide_and_log(store, advisor, tobacco_facts(2))
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
