"""api/sync.py and api/ruleset.py: worker processes follow each other's reloads.

Two LiveRuleSets sharing one sync directory stand for two worker processes of one server (the
real two-process server is exercised in test_server.py)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from rm_advisor.api.ruleset import LiveRuleSet
from rm_advisor.api.sync import RevisionChannel, Snapshot
from rm_advisor.engine import RuleError
from tests.api.conftest import settings
from tests.cli.test_main import BROKEN


def _worker(rules_dir: Path, sync_dir: Path) -> LiveRuleSet:
    return LiveRuleSet.start(settings(rules_dir=rules_dir, sync_dir=sync_dir))


def _edit(rules_dir: Path, note: str) -> None:
    path = rules_dir / "generic.yaml"
    path.write_text(path.read_text(encoding="utf-8") + f"\n# {note}\n", encoding="utf-8")


def test_channel_publishes_atomically_and_notices_changes(tmp_path: Path) -> None:
    channel = RevisionChannel(tmp_path)
    assert channel.read() is None
    channel.publish(Snapshot("r-1", {"rules/a.yaml": "pack: a"}, {"kb/facts.yaml": "facts: {}"}))
    assert channel.changed()
    assert channel.read() == Snapshot("r-1", {"rules/a.yaml": "pack: a"}, {"kb/facts.yaml": "facts: {}"})
    assert not channel.changed()
    channel.publish(Snapshot("r-2", {}, {}))
    assert channel.changed()
    latest = channel.read()
    assert latest is not None and latest.revision == "r-2"
    assert [p.name for p in tmp_path.iterdir()] == ["ruleset.json"]  # no temporary file left behind
    (tmp_path / "ruleset.json").unlink()
    assert channel.changed() and channel.read() is None and not channel.changed()


def test_a_reload_in_one_worker_reaches_the_other(rules_dir: Path, tmp_path: Path) -> None:
    a, b = _worker(rules_dir, tmp_path / "sync"), _worker(rules_dir, tmp_path / "sync")
    assert a.revision == b.revision
    first = b.current()
    _edit(rules_dir, "v2")
    previous, current = a.reload()
    assert current.revision != previous.revision == first.revision
    assert b.current().revision == current.revision
    assert b.current() is b.current()  # followed once, then served without reloading


def test_a_refused_reload_reaches_no_worker(rules_dir: Path, tmp_path: Path) -> None:
    a, b = _worker(rules_dir, tmp_path / "sync"), _worker(rules_dir, tmp_path / "sync")
    revision = a.revision
    (rules_dir / "broken.yaml").write_text(BROKEN, encoding="utf-8")
    with pytest.raises(RuleError):
        a.reload()
    assert a.current().revision == b.current().revision == revision


def test_a_restarted_worker_starts_from_the_published_rule_set_not_from_disk(rules_dir: Path,
                                                                            tmp_path: Path) -> None:
    a = _worker(rules_dir, tmp_path / "sync")
    _edit(rules_dir, "reloaded")
    _, reloaded = a.reload()
    _edit(rules_dir, "edited but not reloaded")
    restarted = _worker(rules_dir, tmp_path / "sync")
    assert restarted.revision == reloaded.revision


def test_a_damaged_snapshot_is_logged_once_and_the_worker_keeps_serving(rules_dir: Path, tmp_path: Path,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    a, b = _worker(rules_dir, tmp_path / "sync"), _worker(rules_dir, tmp_path / "sync")
    (tmp_path / "sync" / "ruleset.json").write_text("{not json", encoding="utf-8")
    with caplog.at_level(logging.ERROR, logger="rm_advisor.api"):
        assert b.current().revision == a.revision
        assert b.current().revision == a.revision
    assert len([r for r in caplog.records if "cannot read the published rule set" in r.getMessage()]) == 1
