"""store/retention.py: purge keeps the effectiveness report, forget erases one client and keeps the
counts, both recorded; on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import select, update

from rm_advisor.engine import Advisor
from rm_advisor.engine.language import SubjectKey
from rm_advisor.engine.policies import EffectivenessReport
from rm_advisor.store import FeedbackInput, Store, StoreError, decide_and_log, effectiveness_report, replay
from rm_advisor.store.retention import ERASED_HASH, PSEUDONYM_PREFIX, erasures, forget, purge
from rm_advisor.store.schema import DecisionItemRow, DecisionRow, ErasureRow, FeedbackRow
from tests.store.conftest import tobacco_facts

DAYS = ["2026-10-05", "2026-10-19", "2026-11-02", "2026-11-16"]
PERIODS: list[tuple[str | None, str | None]] = [
    (None, None), ("2026-10-01", "2026-10-31"), ("2026-10-19", "2026-11-02"), ("2026-11-01", None),
    (None, "2026-10-05")]


def _feedback(store: Store, decision: Any, day: str) -> None:
    """Feedback of every state on the decision's shown items: rejections with two reasons, done,
    accepted, a snooze, and items left unanswered."""
    statuses = [("rejected", "no_capacity"), ("done", None), ("accepted", None), ("rejected", "facts_out_of_date"),
                ("snoozed", None), ("rejected", "no_capacity")]
    n = 0
    for client in decision.clients:
        for rec in client.recommendations[:2]:
            status, reason = statuses[n % len(statuses)]
            n += 1
            until = (dt.date.fromisoformat(day) + dt.timedelta(days=3)) if status == "snoozed" else None
            try:
                store.feedback.add(FeedbackInput(decision_id=decision.id, subject=client.id, item=rec.id, status=status,
                                                 reason_code=reason, until=until, manager_id="M1"), source="cli")
            except StoreError as exc:  # a reason that does not fit this action: leave the item unanswered
                assert exc.diagnostics[0].code in ("feedback_reason_kind", "feedback_bad_value")


def _log(store: Store, advisor: Advisor) -> list[str]:
    ids = []
    for day in DAYS:
        decision = decide_and_log(store, advisor, tobacco_facts(4, as_of=day), max_per_subject=3)
        _feedback(store, decision, day)
        ids.append(str(decision.id))
    return ids


def _reports(store: Store) -> list[EffectivenessReport]:
    def day(text: str | None) -> dt.date | None:
        return dt.date.fromisoformat(text) if text else None

    return [effectiveness_report(store, day(a), day(b)) for a, b in PERIODS]


def _age(store: Store, ids: list[str], days: int) -> None:
    with store.db.transaction() as session:
        session.execute(update(DecisionRow).where(DecisionRow.id.in_(ids)).values(
            logged_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=days)))


def test_purge_removes_old_decisions_and_the_effectiveness_report_stays_the_same(store: Store,
                                                                                 advisor: Advisor) -> None:
    ids = _log(store, advisor)
    before = _reports(store)
    assert before[0].total.answered > 0 and before[0].total.rejected > 0 and before[0].total.done > 0
    _age(store, ids[:2], 500)
    first = purge(store.db, 400, by="ops")
    assert (first.kind, first.by, first.decisions) == ("purge", "ops", 2) and first.items > 0 and first.feedback > 0
    for gone in ids[:2]:
        with pytest.raises(StoreError) as err:
            store.decisions.get(gone)
        assert err.value.diagnostics[0].code == "decision_not_found"
        assert store.feedback.for_decision(gone) == []
    assert store.decisions.get(ids[2]).id == ids[2]
    assert _reports(store) == before   # the periods purged, kept and split between both

    _age(store, ids[2:], 450)          # a second purge adds to the rollup
    second = purge(store.db, 400, by="ops")
    assert second.decisions == 2
    assert _reports(store) == before
    with store.db.transaction() as session:
        assert session.execute(select(DecisionRow.id)).first() is None
        assert session.execute(select(FeedbackRow.id)).first() is None
    assert [e.id for e in erasures(store.db)] == [second.id, first.id]


def test_purge_keeps_a_decision_whose_snooze_still_runs(store: Store, advisor: Advisor) -> None:
    decision = decide_and_log(store, advisor, tobacco_facts(1, as_of="2026-01-05"))
    client = decision.clients[0]
    item = next(r for r in client.recommendations if r.kind == "action")
    store.feedback.add(FeedbackInput(decision_id=decision.id, subject=client.id, item=item.id, status="snoozed",
                                     until=dt.date.today() + dt.timedelta(days=30)))
    _age(store, [str(decision.id)], 500)
    done = purge(store.db, 400, by="ops")
    assert (done.decisions, done.kept_snoozed) == (0, 1)
    assert store.decisions.get(str(decision.id))


def test_purge_wants_a_positive_age(store: Store) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        purge(store.db, 0, by="ops")


# ---- forget -------------------------------------------------------------------------------------

CLIENT = "零售户-ZQ7781"     # non-ASCII: SQLite's JSON text escapes it, PostgreSQL's does not
PHONE, NAME, NOTE = "13912345678", "林小梅烟酒店", "林小梅说下周再来"


def _facts(as_of: str = "2026-11-23") -> dict[str, Any]:
    facts = tobacco_facts(3, as_of=as_of)
    facts["clients"][1].update(id=CLIENT, name=NAME, contact_phone=PHONE, contact_person="林小梅")
    facts["interactions"] = [{"id": "I-9", "client_id": CLIENT, "kind": "complaint", "status": "open",
                              "days_open": 9, "note": NOTE},
                             {"id": "I-10", "client_id": "T000", "kind": "complaint", "status": "open", "days_open": 2}]
    return facts


def _everything(store: Store, tables: tuple[Any, ...] = (DecisionRow, DecisionItemRow, FeedbackRow, ErasureRow)) -> str:
    """Every stored value of every decision, item, feedback event and erasure, as one text."""
    with store.db.transaction() as session:
        rows: list[Any] = []
        for table in tables:
            for row in session.execute(select(table)).scalars():
                rows.append({c.key: getattr(row, c.key) for c in table.__table__.columns})
    return json.dumps(rows, ensure_ascii=False, default=str)


def test_forget_erases_one_clients_personal_data_everywhere_and_keeps_every_count(store: Store,
                                                                                  advisor: Advisor) -> None:
    everyone = decide_and_log(store, advisor, _facts())
    alone = decide_and_log(store, advisor, _facts("2026-11-24"), subject=SubjectKey("client", CLIENT))
    other = decide_and_log(store, advisor, tobacco_facts(2, as_of="2026-11-25"))
    mine = next(c for c in everyone.clients if c.id == CLIENT)
    for rec in mine.recommendations[:2]:
        store.feedback.add(FeedbackInput(decision_id=everyone.id, subject=CLIENT, item=rec.id, status="accepted"))
    store.feedback.add(FeedbackInput(decision_id=alone.id, subject=CLIENT, item=alone.clients[0].recommendations[0].id,
                                     status="done"))
    before = effectiveness_report(store)
    t000 = store.decisions.get(str(everyone.id)).decision.subject("client", "T000")
    assert CLIENT in _everything(store)

    done = forget(store.db, advisor.book.kb, CLIENT, by="privacy desk")
    assert (done.kind, done.by, done.decisions, done.feedback) == ("forget", "privacy desk", 2, 3)
    assert done.items == len(mine.recommendations) + len(mine.suppressed) + len(mine.vetoed) + \
        len(alone.clients[0].recommendations) + len(alone.clients[0].suppressed) + len(alone.clients[0].vetoed)
    stored = _everything(store)
    for secret in (CLIENT, "ZQ7781", PHONE, NAME, NOTE, "I-9"):
        assert secret not in stored
    assert effectiveness_report(store) == before  # items and feedback stay, under a pseudonym

    logged = store.decisions.get(str(everyone.id))
    pseudonym = next(c["id"] for c in logged.input["clients"] if str(c["id"]).startswith(PSEUDONYM_PREFIX))
    assert set(next(c for c in logged.input["clients"] if c["id"] == pseudonym)) <= \
        {"id", "manager_id", "domain", "client_class"}
    assert [i["id"] for i in logged.input["interactions"]] == ["I-10"]  # another client's stays
    assert logged.input["clients"][0]["name"] == "***" and logged.input["clients"][0]["id"] == "T000"
    assert logged.input_hash == ERASED_HASH and logged.erasure_id == done.id
    erased = logged.decision.subject("client", pseudonym)
    assert erased is not None and [r.id for r in erased.recommendations] == [r.id for r in mine.recommendations]
    assert all(x.text.en == "***" for r in erased.recommendations for x in r.reasons)
    assert logged.decision.subject("client", "T000") == t000  # another client's decision is unchanged
    assert store.decisions.get(str(alone.id)).subject == f"client:{pseudonym}"
    assert {f.subject_id for f in store.feedback.for_decision(str(everyone.id))} == {pseudonym}

    for erased_id in (everyone.id, alone.id):
        with pytest.raises(StoreError) as err:
            replay(store.decisions, str(erased_id), advisor)
        assert err.value.diagnostics[0].code == "decision_erased"
    assert replay(store.decisions, str(other.id)).on_logged.identical  # untouched, replays as before
    assert store.decisions.get(str(other.id)).erasure_id is None


def test_forget_of_a_client_the_log_does_not_hold_changes_nothing_and_is_recorded(store: Store,
                                                                                  advisor: Advisor) -> None:
    decision = decide_and_log(store, advisor, tobacco_facts(2))
    log = (DecisionRow, DecisionItemRow, FeedbackRow)
    before = _everything(store, log)
    done = forget(store.db, advisor.book.kb, "T0", by="desk")  # a prefix of T000: not the same client
    assert (done.decisions, done.items, done.feedback) == (0, 0, 0)
    assert [e.kind for e in erasures(store.db)] == ["forget"]
    assert _everything(store, log) == before
    assert replay(store.decisions, str(decision.id)).on_logged.identical


def test_the_erasure_record_names_no_client(store: Store, advisor: Advisor) -> None:
    decide_and_log(store, advisor, _facts())
    done = forget(store.db, advisor.book.kb, CLIENT, by="desk")
    assert CLIENT not in done.model_dump_json() and CLIENT not in json.dumps(
        [e.model_dump(mode="json") for e in erasures(store.db)], ensure_ascii=False)
