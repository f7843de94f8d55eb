"""store/releases.py and store/release_review.py: rule releases with four eyes, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from rm_advisor.engine import Advisor, RuleError
from rm_advisor.store import Store, StoreError
from rm_advisor.store.release_review import review_release
from rm_advisor.store.schema import ReleaseEventRow
from tests.store.conftest import tobacco_facts

BASE = "r-base00000000"
CHECK: dict[str, Any] = {"errors": 0, "warnings": 0, "by_code": {}, "listed": []}
DIFF: dict[str, Any] = {"basis": "sample_portfolio", "totals": {"added": 1}}


@pytest.fixture
def releases(db_url: str) -> Iterator[Store]:
    with Store(db_url) as store:
        yield store


def _code(exc: pytest.ExceptionInfo[StoreError]) -> str:
    return exc.value.diagnostics[0].code


def _propose(store: Store, revision: str, by: str = "amy", note: str | None = None) -> int:
    return store.releases.propose({"t.yaml": revision}, revision, BASE, CHECK, DIFF, by, note).id


def test_a_proposal_is_activated_only_by_another_user_and_every_step_is_audited(releases: Store) -> None:
    first = _propose(releases, "r-one", note="raise the visit priority")
    assert releases.releases.active() is None and releases.releases.get(first).state == "proposed"
    with pytest.raises(StoreError) as exc:
        releases.releases.approve(first, "amy")
    assert _code(exc) == "release_self_approval"
    assert releases.releases.get(first).state == "proposed"  # the refusal changed nothing
    approved = releases.releases.approve(first, "li", note="looked at the diff")
    assert (approved.state, approved.proposed_by, approved.decided_by) == ("active", "amy", "li")
    assert approved.diff_summary == DIFF and approved.rule_files == {"t.yaml": "r-one"}
    assert [(e.event, e.state, e.by, e.serving_before) for e in approved.events] == [
        ("proposed", "proposed", "amy", BASE), ("approved", "active", "li", BASE)]
    second = _propose(releases, "r-two", by="bob")
    releases.releases.approve(second, "amy")  # amy may approve what bob proposed
    assert releases.releases.get(first).state == "superseded"
    active = releases.releases.active()
    assert active is not None and (active.id, active.revision) == (second, "r-two")
    assert [e.event for e in releases.releases.get(first).events] == ["proposed", "approved", "superseded"]


def test_a_decided_release_is_not_decided_again_and_a_rejected_one_never_serves(releases: Store) -> None:
    rid = _propose(releases, "r-one")
    rejected = releases.releases.reject(rid, "li", note="the diff removes too much")
    assert (rejected.state, rejected.decided_by, rejected.decision_note) == ("rejected", "li",
                                                                            "the diff removes too much")
    for decide in (releases.releases.approve, releases.releases.reject):
        with pytest.raises(StoreError) as exc:
            decide(rid, "zoe")
        assert _code(exc) == "release_state"
    assert releases.releases.active() is None
    with pytest.raises(StoreError) as exc:
        releases.releases.rollback("r-one", "li")
    assert _code(exc) == "release_not_found"
    with pytest.raises(StoreError) as exc:
        releases.releases.approve(999, "li")
    assert _code(exc) == "release_not_found"


def test_rollback_reactivates_a_named_earlier_revision_in_one_audited_step(releases: Store) -> None:
    one = _propose(releases, "r-one")
    releases.releases.approve(one, "li")
    two = _propose(releases, "r-two")
    releases.releases.approve(two, "li")
    back = releases.releases.rollback("r-one", "li", note="r-two rejects too much")
    assert (back.id, back.state) == (one, "active")
    assert releases.releases.get(two).state == "rolled_back"
    assert [(e.event, e.serving_before) for e in back.events][-1] == ("reactivated", "r-two")
    assert [e.event for e in releases.releases.get(two).events] == ["proposed", "approved", "rolled_back"]
    with pytest.raises(StoreError) as exc:
        releases.releases.rollback("r-one", "li")
    assert _code(exc) == "release_state"  # it serves now
    releases.releases.rollback("r-two", "li")  # and forward again
    active = releases.releases.active()
    assert active is not None and active.revision == "r-two"
    with releases.db.transaction() as session:
        events = list(session.execute(select(ReleaseEventRow.event).order_by(ReleaseEventRow.id)).scalars())
    assert events.count("reactivated") == 2 and events.count("rolled_back") == 2


def test_the_serving_revision_or_one_proposed_already_is_not_proposed(releases: Store) -> None:
    with pytest.raises(StoreError) as exc:
        _propose(releases, BASE)
    assert _code(exc) == "release_unchanged"
    _propose(releases, "r-one")
    with pytest.raises(StoreError) as exc:
        _propose(releases, "r-one", by="bob")
    assert _code(exc) == "release_unchanged"


def test_a_direct_release_of_a_single_operator_is_active_at_once_and_recorded_as_direct(releases: Store) -> None:
    release = releases.releases.propose({"t.yaml": "x"}, "r-one", BASE, CHECK, DIFF, "ops", "single operator",
                                        direct=True)
    assert (release.state, release.decided_by) == ("active", "ops")
    assert [e.event for e in release.events] == ["proposed", "direct"]


def test_a_review_checks_the_files_and_diffs_them_over_the_newest_logged_batch_run(db_url: str,
                                                                                   advisor: Advisor) -> None:
    from rm_advisor.store import decide_and_log

    rules, kb = dict(advisor.book.sources.rules), dict(advisor.book.sources.knowledge_base)  # type: ignore[union-attr]
    changed = dict(rules)
    action = "action: guide_to_network_ordering"
    changed["tobacco.yaml"] = changed["tobacco.yaml"].replace(action, action + "\n          priority: 1", 1)
    with Store(db_url, advisor.book.kb) as store:
        sample = review_release(changed, kb, advisor.book, store.decisions)
        assert sample.diff_summary["basis"] == "sample_portfolio" and sample.diff_summary["documents"] > 0
        decide_and_log(store, advisor, tobacco_facts(), source="batch")
        logged = review_release(changed, kb, advisor.book, store.decisions)
    diff = logged.diff_summary
    assert (diff["basis"], diff["documents"], diff["old_revision"]) == ("decision_log", 1, advisor.revision)
    assert diff["new_revision"] == logged.revision != advisor.revision
    assert diff["by_item"]["guide_to_network_ordering"]["reranked"] >= 1, diff
    assert logged.check_summary["errors"] == 0
    broken = dict(rules, **{"tobacco.yaml": rules["tobacco.yaml"].replace("priority: 70", "priority: 700", 1)})
    with pytest.raises(RuleError):
        review_release(broken, kb, advisor.book, None)
