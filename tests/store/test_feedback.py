"""store/feedback.py: feedback is checked, recorded once, and read back as policy history."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from rm_advisor.engine import Advisor, Decision
from rm_advisor.store import FeedbackInput, Store, decide_and_log
from rm_advisor.store.errors import StoreError
from tests.helpers import decision_id, duty, rejectable, subject_of
from tests.store.conftest import tobacco_facts

DAY = dt.date(2026, 11, 23)


@pytest.fixture
def decision(store: Store, advisor: Advisor) -> Decision:
    return decide_and_log(store, advisor, tobacco_facts(2))


def fb(decision: Decision, item: str | None = None, subject: str = "T000", **kw: Any) -> FeedbackInput:
    # default: the best service or sales action with the client, which every reason fits
    item = item or rejectable(subject_of(decision, "client", "T000"), "client_not_interested", "risk_concern")
    return FeedbackInput(decision_id=decision.id, subject=subject, item=item, **kw)


def codes(store: Store, given: FeedbackInput) -> list[tuple[str, str]]:
    with pytest.raises(StoreError) as exc:
        store.feedback.add(given)
    return [(d.code, d.location.path) for d in exc.value.diagnostics]


def test_feedback_is_recorded_with_the_decisions_date_by_default(store: Store, decision: Decision) -> None:
    rec = store.feedback.add(fb(decision, status="rejected", reason_code="client_not_interested", manager_id="M1"),
                             source="cli")
    assert (rec.subject_type, rec.subject_id, rec.status, rec.date, rec.source, rec.manager_id) == \
        ("client", "T000", "rejected", DAY, "cli", "M1")
    assert store.feedback.for_decision(decision_id(decision)) == [rec]


def test_an_item_can_be_snoozed_then_accepted_then_done(store: Store, decision: Decision) -> None:
    until = DAY + dt.timedelta(days=3)
    for status, extra in (("snoozed", {"until": until, "reason_code": "no_capacity"}), ("accepted", {}),
                          ("done", {"date": DAY + dt.timedelta(days=4)})):
        store.feedback.add(fb(decision, status=status, **extra))
    assert [r.status for r in store.feedback.for_decision(decision_id(decision))] == ["snoozed", "accepted", "done"]


def test_unknown_decision(store: Store, decision: Decision) -> None:
    given = FeedbackInput(decision_id="d-20260101-00", subject="T000", item="x", status="done")
    assert codes(store, given) == [("decision_not_found", "decision_id")]


def test_an_item_the_decision_did_not_recommend(store: Store, decision: Decision) -> None:
    assert codes(store, fb(decision, item="counter_placment", status="done")) == [("feedback_unknown_item", "item")]
    assert codes(store, fb(decision, subject="T999", status="done")) == [("feedback_unknown_item", "subject")]
    suppressed = subject_of(decision, "client", "T000").suppressed[0].id
    with pytest.raises(StoreError) as exc:
        store.feedback.add(fb(decision, item=suppressed, status="accepted"))
    assert "suppressed, not recommended" in exc.value.diagnostics[0].message


def test_a_typo_in_the_item_gets_a_suggestion(store: Store, decision: Decision) -> None:
    item = subject_of(decision, "client", "T000").recommendations[0].id
    with pytest.raises(StoreError) as exc:
        store.feedback.add(fb(decision, item=item[:-1], status="done"))
    assert exc.value.diagnostics[0].hint == f"did you mean `{item}`?"


def test_the_same_status_twice_is_a_duplicate(store: Store, decision: Decision) -> None:
    store.feedback.add(fb(decision, status="accepted"))
    assert codes(store, fb(decision, status="accepted")) == [("feedback_duplicate", "status")]
    assert codes(store, fb(decision, subject="client:T000", status="accepted")) == [("feedback_duplicate", "status")]


def test_nothing_follows_a_rejection_or_done(store: Store, decision: Decision) -> None:
    store.feedback.add(fb(decision, status="rejected", reason_code="wrong_timing"))
    assert codes(store, fb(decision, status="accepted")) == [("feedback_conflict", "status")]
    other = subject_of(decision, "client", "T001").recommendations[0].id
    store.feedback.add(fb(decision, subject="T001", item=other, status="done"))
    assert codes(store, fb(decision, subject="T001", item=other, status="snoozed")) == [("feedback_conflict", "status")]


def test_reason_codes_are_checked_against_the_catalogue(store: Store, decision: Decision) -> None:
    assert codes(store, fb(decision, status="rejected")) == [("feedback_bad_value", "reason_code")]
    assert codes(store, fb(decision, status="rejected", reason_code="not_interested")) == \
        [("unknown_reason_code", "reason_code")]
    assert codes(store, fb(decision, status="done", reason_code="risk_concern")) == \
        [("feedback_bad_value", "reason_code")]
    with pytest.raises(StoreError) as exc:
        store.feedback.add(fb(decision, status="rejected", reason_code="client_not_intrested"))
    assert exc.value.diagnostics[0].hint == "did you mean `client_not_interested`?"


def test_dates_must_fit_the_decision(store: Store, decision: Decision) -> None:
    assert codes(store, fb(decision, status="done", date=DAY - dt.timedelta(days=1))) == [("feedback_bad_value",
                                                                                           "date")]
    assert codes(store, fb(decision, status="done", until=DAY + dt.timedelta(days=3))) == [("feedback_bad_value",
                                                                                            "until")]
    assert codes(store, fb(decision, status="snoozed", until=DAY)) == [("feedback_bad_value", "until")]


def test_a_manager_subject_takes_coaching_feedback(store: Store, decision: Decision) -> None:
    topic = subject_of(decision, "manager", "M1").recommendations[0].id
    rec = store.feedback.add(fb(decision, subject="M1", item=topic, status="accepted"))
    assert (rec.subject_type, rec.subject_id) == ("manager", "M1")


def test_subjects_are_typed_or_bare_ids_and_a_malformed_one_is_an_unknown_subject(store: Store,
                                                                                  decision: Decision) -> None:
    topic = subject_of(decision, "manager", "M1").recommendations[0].id
    rec = store.feedback.add(fb(decision, subject="manager:M1", item=topic, status="accepted"))
    assert (rec.subject_type, rec.subject_id) == ("manager", "M1")
    for malformed in ("client:", ":T000", "shop:T000"):  # taken as bare ids, which the decision does not have
        with pytest.raises(StoreError) as exc:
            store.feedback.add(fb(decision, subject=malformed, status="accepted"))
        [d] = exc.value.diagnostics
        assert (d.code, d.location.path, d.message) == \
            ("feedback_unknown_item", "subject", f"decision {decision.id} has no recommendation for `{malformed}`")


def test_history_holds_the_subjects_window_and_this_weeks_capped_actions(store: Store, advisor: Advisor) -> None:
    old = decide_and_log(store, advisor, tobacco_facts(2, as_of="2026-10-01"))
    new = decide_and_log(store, advisor, tobacco_facts(3))

    def first(d: Decision, c: str) -> str:
        return subject_of(d, "client", c).recommendations[0].id

    store.feedback.add(FeedbackInput(decision_id=old.id, subject="T000", item=first(old, "T000"), status="done"))
    store.feedback.add(FeedbackInput(decision_id=new.id, subject="T001", item=first(new, "T001"), status="done"))
    placed = "counter_placement"
    store.feedback.add(FeedbackInput(decision_id=new.id, subject="T002", item=placed, status="accepted"))
    policies = advisor.book.policies
    history = store.feedback.history_for([("client", "T000"), ("client", "T001")], DAY, policies)
    # T000's feedback of October is older than the longest rest; T002 counts only for the volume cap
    assert sorted((e.subject_id, e.item_id) for e in history) == \
        [("T001", first(new, "T001")), ("T002", placed)]
    assert store.feedback.history_for([], DAY - dt.timedelta(days=60), policies) == []


def test_reasons_are_checked_against_the_catalogue_given_with_the_feedback(store: Store, decision: Decision) -> None:
    # a server checks against the knowledge base serving now; a reload may have dropped a code
    catalogue = {code: spec for code, spec in store.feedback.reasons.items() if code != "risk_concern"}
    given = fb(decision, status="rejected", reason_code="risk_concern")
    with pytest.raises(StoreError) as exc:
        store.feedback.add(given, reasons=catalogue)
    assert [d.code for d in exc.value.diagnostics] == ["unknown_reason_code"]
    assert store.feedback.add(given).reason_code == "risk_concern"  # the store's own catalogue has it


def test_a_bad_reason_and_kind_pairing_is_refused_with_the_reasons_that_fit(store: Store, decision: Decision) -> None:
    risk = duty(subject_of(decision, "client", "T000"))  # the monopoly check of a retailer outside the network
    with pytest.raises(StoreError) as exc:
        store.feedback.add(fb(decision, item=risk, status="rejected", reason_code="client_not_interested"))
    [d] = exc.value.diagnostics
    assert (d.code, d.location.path) == ("feedback_reason_kind", "reason_code")
    assert d.message == f"reason `client_not_interested` does not fit `{risk}`, an action of kind `risk`"
    assert d.hint == ("reasons for kind `risk` on channel `visit` with status `rejected`: already_done_elsewhere, "
                      "contact_info_wrong, facts_out_of_date, no_capacity, wrong_timing")
    assert codes(store, fb(decision, item=risk, status="rejected", reason_code="risk_concern")) == \
        [("feedback_reason_kind", "reason_code")]
    assert store.feedback.for_decision(decision_id(decision)) == []  # nothing of it was recorded
    fitting = fb(decision, item=risk, status="rejected", reason_code="facts_out_of_date")
    assert store.feedback.add(fitting).item_id == risk


def test_a_reason_about_the_clients_answer_does_not_fit_an_internal_desk_action(store: Store,
                                                                                advisor: Advisor) -> None:
    facts = tobacco_facts(1)
    facts["clients"][0]["previous_class"] = "B"  # the class changed: re-evaluate the retailer in the CRM
    decision = decide_and_log(store, advisor, facts)
    with pytest.raises(StoreError) as exc:
        store.feedback.add(fb(decision, item="reevaluate_client_in_crm", status="rejected",
                              reason_code="client_not_interested"))
    [d] = exc.value.diagnostics
    assert d.code == "feedback_reason_kind"
    assert d.message == ("reason `client_not_interested` does not fit `reevaluate_client_in_crm`, an action of "
                         "kind `service` on channel `internal`")
    assert d.hint.endswith("already_done_elsewhere, facts_out_of_date, no_capacity, risk_concern")


def test_a_risk_or_obligation_action_is_snoozed_only_to_a_date(store: Store, decision: Decision) -> None:
    risk = duty(subject_of(decision, "client", "T000"))
    assert codes(store, fb(decision, item=risk, status="snoozed", reason_code="no_capacity")) == \
        [("feedback_bad_value", "until")]
    rec = store.feedback.add(fb(decision, item=risk, status="snoozed", reason_code="no_capacity",
                                until=DAY + dt.timedelta(days=7)))
    assert (rec.status, rec.until) == ("snoozed", DAY + dt.timedelta(days=7))
    assert store.feedback.add(fb(decision, status="snoozed")).until is None  # a service action: the policy's days


def test_regression_a_snooze_that_still_runs_is_in_the_history_however_long_ago_it_was_given(
        store: Store, advisor: Advisor) -> None:
    # a snooze older than the longest rest (30 days) was left out, and its item came back early
    old = decide_and_log(store, advisor, tobacco_facts(1, as_of="2026-10-01"))
    item = subject_of(old, "client", "T000").recommendations[0].id
    store.feedback.add(FeedbackInput(decision_id=old.id, subject="T000", item=item, status="snoozed",
                                     until=dt.date(2027, 1, 31)))
    policies = advisor.book.policies
    assert [(e.item_id, e.status) for e in store.feedback.history_for([("client", "T000")], DAY, policies)] == \
        [(item, "snoozed")]
    assert store.feedback.history_for([("client", "T000")], dt.date(2027, 1, 31), policies) == []  # it ended
    later = decide_and_log(store, advisor, tobacco_facts(1, as_of="2027-01-30"))
    [held] = [r for r in subject_of(later, "client", "T000").suppressed if r.id == item]
    assert [(p.policy_id, p.until) for p in held.suppressed_by] == [("snooze", dt.date(2027, 1, 31))]
