"""No loss: acknowledged feedback survives a killed writer; two writers on one database neither lose
nor duplicate feedback. Real processes, real databases (SQLite file and PostgreSQL)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from rm_advisor.engine import Advisor
from rm_advisor.store import Store, decide_and_log
from tests.conftest import ROOT
from tests.store.conftest import tobacco_facts


def _decision_items(db_url: str, advisor: Advisor, clients: int, tmp_path: Path) -> tuple[str, list[tuple[str, str]],
                                                                                          Path]:
    with Store(db_url, advisor.book.kb) as store:
        decision = decide_and_log(store, advisor, tobacco_facts(clients))
    items = [(s.id, r.id) for s in decision.clients for r in s.recommendations]
    path = tmp_path / "items.json"
    path.write_text(json.dumps(items), encoding="utf-8")
    return str(decision.id), items, path


def _writer(db_url: str, decision_id: str, items: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tests.store.writer", db_url, decision_id, str(items), "accepted"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _stored(db_url: str, decision_id: str) -> list[tuple[str, str]]:
    with Store(db_url) as store:
        return [(r.subject_id, r.item_id) for r in store.feedback.for_decision(decision_id)]


def test_acknowledged_feedback_survives_a_sigkill_mid_stream(db_url: str, advisor: Advisor, tmp_path: Path) -> None:
    decision_id, items, path = _decision_items(db_url, advisor, 40, tmp_path)
    proc = _writer(db_url, decision_id, path)
    acked: list[tuple[str, str]] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("ack "):
            _, subject, item = line.split()
            acked.append((subject, item))
        if len(acked) == 25:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read() if proc.stderr else ""
    stored = _stored(db_url, decision_id)
    assert set(acked) <= set(stored)                       # nothing acknowledged was lost
    assert len(stored) == len(set(stored)) < len(items)    # no duplicates; it really died mid-stream


def test_two_writers_on_one_database_neither_lose_nor_duplicate(db_url: str, advisor: Advisor, tmp_path: Path) -> None:
    decision_id, items, path = _decision_items(db_url, advisor, 10, tmp_path)
    backwards = tmp_path / "backwards.json"
    backwards.write_text(json.dumps(items[::-1]), encoding="utf-8")
    procs = [_writer(db_url, decision_id, path), _writer(db_url, decision_id, backwards)]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outputs]
    acks = [{tuple(line.split()[1:]) for line in out.splitlines() if line.startswith("ack ")} for out, _ in outputs]
    dups = [{tuple(line.split()[1:]) for line in out.splitlines() if line.startswith("dup ")} for out, _ in outputs]
    assert acks[0] | acks[1] == set(items) and not acks[0] & acks[1]
    assert dups[0] == acks[1] and dups[1] == acks[0]  # each item: one writer recorded it, the other was told
    stored = _stored(db_url, decision_id)
    assert sorted(stored) == sorted(items)
