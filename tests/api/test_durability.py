"""No loss over HTTP, with real `rm-advisor serve` processes on loopback and real databases (a SQLite
file, and PostgreSQL when reachable, as in tests/store):

* feedback the server acknowledged (201) is in the database after the server was killed with
  SIGKILL in the middle of a stream of writes;
* two servers on one database, sent the same feedback in opposite orders, record each item exactly
  once; the loser of each race is told ``feedback_duplicate``; nothing is lost.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Any

import httpx

from rm_advisor.store import Store
from tests.api.conftest import AUTH
from tests.api.real_server import Server
from tests.store.conftest import db_url, pg_base_url, tobacco_facts  # noqa: F401 (fixtures: both databases)

Item = tuple[str, str]


def _decision(server: Server, clients: int) -> tuple[str, list[Item]]:
    r = server.post("/v1/decisions", json=tobacco_facts(clients), params={"explain": "false"})
    assert r.status_code == 200, r.text
    body = r.json()
    return body["decision_id"], [(c["id"], r["id"]) for c in body["clients"] for r in c["recommendations"]]


def _stream(base: str, decision_id: str, items: list[Item], answers: list[tuple[Item, int, str]],
            acked: threading.Semaphore | None = None) -> None:
    """POST ``accepted`` for each item, one after another, noting each answer; stop when the
    server is gone."""
    with httpx.Client(base_url=base, headers=AUTH, timeout=60) as http:
        for subject, item in items:
            try:
                r = http.post("/v1/feedback", json={"decision_id": decision_id, "subject": subject, "item": item,
                                                    "status": "accepted"})
            except httpx.TransportError:
                return
            code = r.json().get("code", "") if r.status_code >= 400 else ""
            answers.append(((subject, item), r.status_code, code))
            if acked is not None and r.status_code == 201:
                acked.release()


def _stored(url: str, decision_id: str) -> list[Item]:
    with Store(url) as store:
        return [(r.subject_id, r.item_id) for r in store.feedback.for_decision(decision_id)]


def test_feedback_acknowledged_by_the_server_survives_a_sigkill_mid_stream(db_url: str, tmp_path: Path) -> None:
    server = Server(tmp_path / "server.log", db_url)
    try:
        server.wait_ready()
        decision_id, items = _decision(server, 40)
        answers: list[tuple[Item, int, str]] = []
        acked = threading.Semaphore(0)
        # two clients writing at once, so writes are in flight in the server when it dies
        writers = [threading.Thread(target=_stream, args=(server.base, decision_id, items[i::2], answers, acked))
                   for i in range(2)]
        for w in writers:
            w.start()
        for _ in range(25):
            assert acked.acquire(timeout=120), server.log.read_text()
        server.proc.send_signal(signal.SIGKILL)
        for w in writers:
            w.join(60)
        assert server.proc.wait(30) == -signal.SIGKILL
    finally:
        server.stop()
    assert {status for _, status, _ in answers} == {201}, answers  # up to the kill, every write was accepted
    stored = _stored(db_url, decision_id)
    assert {item for item, _, _ in answers} <= set(stored)  # nothing acknowledged was lost
    assert len(stored) == len(set(stored)) < len(items)    # no duplicates; it really died mid-stream


def test_two_servers_on_one_database_record_each_feedback_exactly_once(db_url: str, tmp_path: Path) -> None:
    servers = [Server(tmp_path / f"server{i}.log", db_url) for i in range(2)]  # started together
    try:
        for s in servers:
            s.wait_ready()
        decision_id, items = _decision(servers[0], 12)
        answers: list[list[tuple[Item, int, str]]] = [[], []]
        orders = [items, items[::-1]]  # opposite orders: the two streams cross in the middle
        writers = [threading.Thread(target=_stream, args=(s.base, decision_id, order, out))
                   for s, order, out in zip(servers, orders, answers, strict=True)]
        for w in writers:
            w.start()
        for w in writers:
            w.join(300)
        logged: dict[str, Any] = servers[1].get(f"/v1/decisions/{decision_id}").json()
    finally:
        codes = [s.stop() for s in servers]
    # uvicorn in one process exits by re-raising the SIGTERM it handled, after a clean shutdown
    assert set(codes) <= {0, -signal.SIGTERM}, [s.log.read_text() for s in servers]
    assert all("Application shutdown complete" in s.log.read_text() for s in servers)
    assert [len(a) for a in answers] == [len(items), len(items)]
    recorded = [{item for item, status, _ in a if status == 201} for a in answers]
    told = [{item for item, status, code in a if (status, code) == (409, "feedback_duplicate")} for a in answers]
    assert recorded[0] | recorded[1] == set(items) and not recorded[0] & recorded[1]
    assert told == [recorded[1], recorded[0]]  # each item: one server recorded it, the other said duplicate
    assert sorted(_stored(db_url, decision_id)) == sorted(items)
    assert sorted((f["subject_id"], f["item_id"]) for f in logged["feedback"]) == sorted(items)
