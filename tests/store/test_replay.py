"""store/replay.py: a logged decision replays identically from the database alone, and shows what
the current rules change."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import yaml

from rm_advisor.engine import Advisor
from rm_advisor.engine.language import Decision
from rm_advisor.store import FeedbackInput, Store, decide_and_log, replay
from tests.conftest import ROOT
from tests.helpers import action, client, decision_id, rule, rule_text, subject_of

NET = {"client.network_client": False}
REST = {"policies": [{"id": "rest", "kind": "suppress_after", "title": {"zh": "歇", "en": "rest"},
                      "statuses": ["rejected"], "days": 30}]}


def _rules(priority: int) -> str:
    named = action("guide_to_network_ordering", en="{client.name} orders off the network", zh="{client.name}未入网")
    return rule_text(rule("t.net", NET, {"actions": [named]}, priority=priority),
                     rule("t.settle", NET, {"actions": [action("promote_e_settlement")]}, priority=60))


def _write(folder: Path, priority: int) -> None:
    folder.mkdir(exist_ok=True)
    (folder / "t.yaml").write_text(_rules(priority), encoding="utf-8")
    (folder / "t.policies.yaml").write_text(yaml.safe_dump(REST, allow_unicode=True), encoding="utf-8")


FACTS = {"as_of": "2026-11-23", "clients": [client("C1", name="城东便民店", network_client=False),
                                            client("C2", name="新村小卖部", network_client=False)]}


def test_replay_needs_no_files_and_shows_what_new_rules_change(db_url: str, tmp_path: Path) -> None:
    old_rules = tmp_path / "old"
    _write(old_rules, 50)
    old = Advisor.load(old_rules, ROOT / "knowledge_base")
    with Store(db_url, old.book.kb) as store:
        first = decide_and_log(store, old, FACTS)
        store.feedback.add(FeedbackInput(decision_id=first.id, subject="C1", item="promote_e_settlement",
                                         status="rejected", reason_code="client_not_interested"))
        second = decide_and_log(store, old, FACTS)
    assert [r.id for r in subject_of(second, "client", "C1").suppressed] == ["promote_e_settlement"]
    shutil.rmtree(old_rules)
    new_rules = tmp_path / "new"
    _write(new_rules, 70)
    with Store(db_url) as store:  # a fresh process would see the same: nothing cached
        report = replay(store.decisions, decision_id(second), Advisor.load(new_rules, ROOT / "knowledge_base"))
    assert report.on_logged.revision == report.logged_revision == old.revision
    assert report.on_logged.identical and report.on_logged.changes == []
    assert subject_of(report.on_logged.decision, "client", "C1").suppressed[0].suppressed_by[0].policy_id == "rest"
    current = report.on_current
    assert current is not None and current.revision != old.revision and not current.identical
    assert {(c.subject, c.item, c.what, c.before, c.after) for c in current.changes if c.what == "score"} == {
        ("client:C1", "guide_to_network_ordering", "score", "50", "70"),
        ("client:C2", "guide_to_network_ordering", "score", "50", "70")}


def test_the_shipped_sample_replays_identically_with_names_masked(store: Store, advisor: Advisor) -> None:
    facts = yaml.safe_load((ROOT / "knowledge_base" / "samples" / "demo_facts.yaml").read_text(encoding="utf-8"))
    logged = decide_and_log(store, advisor, facts, as_of=dt.date(2026, 11, 24), max_per_subject=3)
    report = replay(store.decisions, decision_id(logged), advisor)
    assert report.on_logged.identical, [c.format() for c in report.on_logged.changes]
    assert report.on_current is not None and report.on_current.identical
    assert report.on_logged.decision.as_of == dt.date(2026, 11, 24)
    # the log holds every recommended item (the limit cut what was shown), and so does the replay
    answered = {s.id: [r.id for r in s.recommendations] for s in logged.clients}
    assert all(len(ids) <= 3 for ids in answered.values())
    again = report.on_logged.decision
    assert {s.id: [r.id for r in s.recommendations][:3] for s in again.clients} == answered
    assert any(len(s.recommendations) > 3 for s in again.clients)


def test_a_batch_book_that_reaches_other_books_across_links_replays_identically(store: Store,
                                                                                 advisor: Advisor) -> None:
    """A book's logged input holds the clients of other books its links reach; the replay is about the
    book's own clients, as the log holds them, with the same recommendations."""
    from rm_advisor.engine.portfolio import (
        BulkGates,
        check_tables,
        decide_partitions,
        facts_document,
        generate,
        prepare,
    )

    kb = advisor.book.kb
    p = generate(clients=300, managers=6, seed=1)
    _, parts = prepare(check_tables(p.clients, p.managers, p.history, kb, p.as_of, links=p.links), kb,
                       BulkGates(advisor.book))
    links = {"bank.guarantor_of_overdue_loan", "bank.group_red_flag_reaches_members",
             "tobacco.same_owner_counterfeit_exposure", "telecom.group_in_arrears_member_prepays"}

    def fired(d: Decision) -> set[str]:
        return {t.rule_id for c in d.clients for r in c.recommendations for t in r.because}
    by_manager = {x.manager_id: x for x in parts}
    result = next(r for r in decide_partitions(advisor, parts, p.as_of) if fired(r.decision) & links)
    part = by_manager[result.manager_id]
    assert part.context and not {c.id for c in result.decision.clients} & set(part.context)
    logged = store.decisions.record(result.decision, facts_document(part, p.as_of, kb), advisor.book, "batch")
    report = replay(store.decisions, decision_id(logged), advisor).on_logged
    assert report.identical, report.changes
    again = report.decision
    assert {c.id: [r.id for r in c.recommendations] for c in again.clients} == \
        {c.id: [r.id for r in c.recommendations] for c in result.decision.clients}
    assert fired(again) & links


def test_every_logged_batch_book_replays_identically_with_the_events_behind_its_derived_fields(
        store: Store, advisor: Advisor) -> None:
    """The logged input of a batch book is what a single decision would be posted (the given fields
    and the history events): its replay derives the same fields from the same events, so the traces
    name them as the batch's did."""
    from rm_advisor.engine.portfolio import (
        BulkGates,
        check_tables,
        decide_partitions,
        facts_document,
        generate,
        prepare,
    )

    kb = advisor.book.kb
    p = generate(clients=120, managers=3, seed=1)
    _, parts = prepare(check_tables(p.clients, p.managers, p.history, kb, p.as_of), kb, BulkGates(advisor.book))
    by_manager = {x.manager_id: x for x in parts}
    results = decide_partitions(advisor, parts, p.as_of)
    assert len(results) == 3
    for result in results:
        logged = store.decisions.record(result.decision, facts_document(by_manager[result.manager_id], p.as_of, kb),
                                        advisor.book, "batch")
        report = replay(store.decisions, decision_id(logged), advisor).on_logged
        assert report.identical, (result.manager_id, report.changes[:3])
        assert any(t.derived for c in report.decision.clients for r in c.recommendations for t in r.because)
