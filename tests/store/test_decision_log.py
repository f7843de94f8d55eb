"""store/decision_log.py and store/masking.py: what a logged decision holds."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re

import pytest
from sqlalchemy import func, select

from rm_advisor.engine import Advisor
from rm_advisor.engine.language.feedback import FeedbackEvent
from rm_advisor.store import MASK, Store, decide_and_log
from rm_advisor.store.errors import StoreError
from rm_advisor.store.schema import DecisionItemRow, RuleSetRow
from tests.helpers import decision_id, subject_of
from tests.store.conftest import tobacco_facts


def test_a_logged_decision_keeps_id_time_revision_input_output_and_trace(store: Store, advisor: Advisor) -> None:
    facts = tobacco_facts(2)
    history = [FeedbackEvent(decision_id="d-0", subject_id="T000", item_id="counter_placement", status="done",
                             date=dt.date(2026, 11, 20))]
    decision = advisor.decide(facts, history=history)
    before = dt.datetime.now(dt.UTC)
    logged_decision = store.decisions.record(decision, facts, advisor.book, "api", history, max_per_subject=None)
    assert re.fullmatch(r"d-\d{8}-[0-9a-f]{16}", decision_id(logged_decision))
    got = store.decisions.get(decision_id(logged_decision))
    assert (got.id, got.source, got.revision, got.as_of, got.input_hash) == \
        (logged_decision.id, "api", advisor.revision, dt.date(2026, 11, 23), decision.input_hash)
    assert before <= got.logged_at <= dt.datetime.now(dt.UTC)
    assert got.history == history
    assert got.input["clients"][1]["days_since_last_visit"] == 40
    recs = subject_of(got.decision, "client", "T000").recommendations
    assert recs and all(r.because for r in recs)  # the trace is kept
    assert subject_of(got.decision, "client", "T000").suppressed[0].suppressed_by  # so are suppressions


def test_sensitive_fields_are_masked_in_the_input_and_wherever_the_output_repeats_them(
        store: Store, advisor: Advisor) -> None:
    facts = tobacco_facts(2)
    logged = store.decisions.record(advisor.decide(facts), facts, advisor.book)
    got = store.decisions.get(decision_id(logged))
    client = got.input["clients"][0]
    assert (client["name"], client["contact_phone"], client["id"]) == (MASK, MASK, "T000")
    assert got.input["managers"][0]["name"] == MASK
    stored = json.dumps(got.decision.model_dump(mode="json"), ensure_ascii=False)
    assert "零售户000号" not in stored and "王经理" not in stored and "13800000000" not in stored
    assert MASK in stored  # reasons that named the client name the mask instead
    assert "零售户000号" in json.dumps(logged.model_dump(mode="json"), ensure_ascii=False)  # the caller's copy is whole


def test_each_revisions_rule_texts_are_stored_once(store: Store, advisor: Advisor) -> None:
    for _ in range(2):
        store.decisions.record(advisor.decide(tobacco_facts(1)), tobacco_facts(1), advisor.book)
    with store.db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(RuleSetRow)) == 1
    texts = store.decisions.rule_set(advisor.revision)
    assert texts is not None and advisor.book.sources is not None
    assert dict(texts.rules) == dict(advisor.book.sources.rules)
    assert any(name.endswith("contact.policies.yaml") for name in texts.rules)


def test_items_are_indexed_with_outcome_rank_manager_and_segment(store: Store, advisor: Advisor) -> None:
    facts = tobacco_facts(3)
    logged = store.decisions.record(advisor.decide(facts, history=[]), facts, advisor.book)
    with store.db.transaction() as session:
        rows = session.execute(select(DecisionItemRow).where(DecisionItemRow.subject_id == "T001")).scalars().all()
        by_outcome = {o: sorted((r.rank, r.item_id) for r in rows if r.outcome == o) for o in ("recommended",
                                                                                               "suppressed")}
        assert {(r.manager_id, r.segment) for r in rows} == {("M1", "tobacco/B")}
    subject = subject_of(logged, "client", "T001")
    assert by_outcome["recommended"] == [(i, r.id) for i, r in enumerate(subject.recommendations, 1)]
    assert [i for _, i in by_outcome["suppressed"]] == [r.id for r in subject.suppressed]
    items = store.decisions.items()
    assert {(i.subject_id, i.item_id) for i in items} >= {("T001", r.id) for r in subject.recommendations}
    assert all(i.rules for i in items)


def test_an_unknown_decision_is_a_coded_error(store: Store) -> None:
    with pytest.raises(StoreError) as exc:
        store.decisions.get("d-20260101-0000000000000000")
    assert [d.code for d in exc.value.diagnostics] == ["decision_not_found"]


def test_recent_lists_newest_first_with_counts(store: Store, advisor: Advisor) -> None:
    ids = [decide_and_log(store, advisor, tobacco_facts(n)).id for n in (1, 2)]
    recent = store.decisions.recent()
    assert [r.id for r in recent] == ids[::-1]
    assert recent[0].recommended > recent[1].recommended and recent[0].suppressed > 0
    assert store.decisions.recent(since=dt.date(2027, 1, 1)) == []


def test_a_book_without_its_texts_is_logged_but_cannot_be_replayed(store: Store, advisor: Advisor) -> None:
    bare = Advisor(dataclasses.replace(advisor.book, sources=None))
    logged = store.decisions.record(bare.decide(tobacco_facts(1)), tobacco_facts(1), bare.book)
    assert store.decisions.get(decision_id(logged)).revision == advisor.revision
    with pytest.raises(StoreError) as exc:
        store.decisions.advisor_for(advisor.revision)
    assert [d.code for d in exc.value.diagnostics] == ["revision_not_logged"]


def test_the_newest_batch_decision_of_each_managers_book_is_found(store: Store, advisor: Advisor) -> None:
    facts = tobacco_facts()
    decision = advisor.decide(facts)
    store.decisions.record(decision, facts, advisor.book, source="cli")  # not a batch: not a worklist
    assert store.decisions.latest_by_manager() == {}
    older = store.decisions.record(decision, facts, advisor.book, source="batch")
    newer = store.decisions.record(decision, facts, advisor.book, source="batch")
    assert older.id != newer.id
    assert store.decisions.latest_by_manager() == {"M1": newer.id}
    assert store.decisions.manager_of("client", "T000") == "M1"
    assert store.decisions.manager_of("client", "no-such-client") is None


def test_a_decision_recorded_once_under_its_id_again_is_not_logged_twice(store: Store, advisor: Advisor) -> None:
    facts = tobacco_facts(2)
    decision = advisor.decide(facts)

    def items() -> int:
        with store.db.transaction() as session:
            return int(session.scalar(select(func.count()).select_from(DecisionItemRow)) or 0)

    key = "d-20261123-00000000000000aa"
    first = store.decisions.record(decision, facts, advisor.book, "batch", [], decision_id=key, once=True)
    logged_items = items()
    # a batch task run again after its worker was lost
    again = store.decisions.record(decision, facts, advisor.book, "batch", [], decision_id=key, once=True)
    assert first.id == again.id == key
    assert [d.id for d in store.decisions.recent(10)] == [key]
    assert logged_items > 0 and items() == logged_items
