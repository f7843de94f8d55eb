"""Operating the decision log against real `rm-advisor serve` processes: purge and forget over the
admin routes (SQLite and PostgreSQL), and a backup taken while the server writes (SQLite)."""

from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess
import threading
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import update

from rm_advisor.api.app import create_app
from rm_advisor.api.ruleset import LiveRuleSet
from rm_advisor.store import Store
from rm_advisor.store.schema import DecisionRow
from tests.api.conftest import ADMIN, ADMIN_KEY, AUTH, problem, settings
from tests.api.real_server import Server, _command
from tests.conftest import ROOT
from tests.store.conftest import db_url, pg_base_url, tobacco_facts  # noqa: F401 (fixtures: both databases)

PURGE, FORGET, ERASURES = "/v1/admin/decision-log/purge", "/v1/admin/decision-log/forget", \
    "/v1/admin/decision-log/erasures"


def _decide(server: Server, as_of: str) -> dict[str, Any]:
    r = server.post("/v1/decisions", json=tobacco_facts(3, as_of=as_of), params={"explain": "false", "top": "2"})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    for client, status in zip(body["clients"], ("accepted", "done", "snoozed"), strict=True):
        extra = {"until": (dt.date.fromisoformat(as_of) + dt.timedelta(days=5)).isoformat()} \
            if status == "snoozed" else {}
        fb = server.post("/v1/feedback", headers=AUTH,
                         json={"decision_id": body["decision_id"], "subject": client["id"],
                               "item": client["recommendations"][0]["id"], "status": status, **extra})
        assert fb.status_code == 201, fb.text
    return body


def _report(server: Server, **params: str) -> Any:
    r = server.get("/v1/reports/effectiveness", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_purge_and_forget_over_the_admin_routes_of_a_real_server(db_url: str, tmp_path: Path) -> None:
    server = Server(tmp_path / "server.log", db_url, env={"RM_ADVISOR_ADMIN_KEY": ADMIN_KEY})
    try:
        server.wait_ready()
        old = [_decide(server, day)["decision_id"] for day in ("2026-09-07", "2026-09-14")]
        kept = _decide(server, "2026-11-16")
        periods = [{}, {"until": "2026-09-30"}, {"since": "2026-09-10", "until": "2026-11-30"}]
        before = [_report(server, **p) for p in periods]
        assert before[0]["decisions"] == 3 and before[0]["total"]["answered"] == 9

        assert problem(server.post(PURGE, json={"older_than_days": 400}, headers=AUTH), 401, "unauthorized")
        with Store(db_url) as store, store.db.transaction() as session:  # as if logged 500 days ago
            session.execute(update(DecisionRow).where(DecisionRow.id.in_(old)).values(
                logged_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=500)))
        r = server.post(PURGE, json={"older_than_days": 400, "by": "ops"}, headers=ADMIN)
        assert r.status_code == 200, r.text
        assert (r.json()["kind"], r.json()["decisions"], r.json()["feedback"]) == ("purge", 2, 6)
        assert problem(server.get(f"/v1/decisions/{old[0]}"), 404, "decision_not_found")
        assert [_report(server, **p) for p in periods] == before   # the counts of purged periods stay

        r = server.post(FORGET, json={"client_id": "T001", "by": "privacy desk"}, headers=ADMIN)
        assert r.status_code == 200, r.text
        assert (r.json()["kind"], r.json()["decisions"], r.json()["feedback"]) == ("forget", 1, 1)
        shown = server.get(f"/v1/decisions/{kept['decision_id']}")
        assert shown.status_code == 200 and "T001" not in shown.text and "T000" in shown.text
        assert shown.json()["erasure_id"] == r.json()["id"]
        body = problem(server.get(f"/v1/decisions/{kept['decision_id']}/replay"), 409, "decision_erased")
        assert body["errors"][0]["parameter"] == "decision_id"
        assert [_report(server, **p) for p in periods] == before

        listed = server.get(ERASURES, headers=ADMIN)
        assert [e["kind"] for e in listed.json()["erasures"]] == ["forget", "purge"] and "T001" not in listed.text
    finally:
        server.stop()


def test_the_admin_routes_need_the_admin_key(live: LiveRuleSet, tmp_path: Path) -> None:
    body = {"client_id": "T-001"}
    with TestClient(create_app(settings(db_url=f"sqlite:///{tmp_path / 'a.db'}"), live)) as c:
        problem(c.post(FORGET, json=body, headers={**AUTH, **ADMIN}), 403, "key_not_configured")
    with TestClient(create_app(settings(admin_key=ADMIN_KEY, db_url=f"sqlite:///{tmp_path / 'b.db'}"), live)) as c:
        problem(c.post(FORGET, json=body, headers=AUTH), 401, "unauthorized")   # the API key erases nothing
        problem(c.post(FORGET, json=body, headers={"X-Admin-Key": "wrong-key-0123456789"}), 401, "unauthorized")
        problem(c.get(ERASURES), 401, "unauthorized")
        problem(c.post(PURGE, json={"older_than_days": 0}, headers=ADMIN), 422, "invalid_request")
        problem(c.post(FORGET, json={"client_id": ""}, headers=ADMIN), 422, "invalid_request")
        assert c.post(FORGET, json=body, headers=ADMIN).status_code == 200


# ---- backup while the server writes ---------------------------------------------------------------

def _cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*_command(), "log", *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, check=False)


def _write(base: str, acked: list[str], stop: threading.Event) -> None:
    """Decisions and feedback, one after another, noting each decision once both were acknowledged."""
    with httpx.Client(base_url=base, headers=AUTH, timeout=60) as http:
        while not stop.is_set():
            r = http.post("/v1/decisions/client/T000", json=tobacco_facts(1), params={"explain": "false"})
            assert r.status_code == 200, r.text
            body = r.json()
            recommended = body["subject"]["recommendations"]
            if recommended:
                fb = http.post("/v1/feedback", json={"decision_id": body["decision_id"], "subject": "T000",
                                                     "item": recommended[0]["id"], "status": "accepted"})
                assert fb.status_code == 201, fb.text
            acked.append(body["decision_id"])


def test_a_backup_taken_while_the_server_writes_restores_every_acknowledged_write(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    server = Server(tmp_path / "server.log", url)
    acked: list[str] = []
    stop = threading.Event()
    writer = threading.Thread(target=_write, args=(server.base, acked, stop))
    try:
        server.wait_ready()
        writer.start()
        while len(acked) < 10 and writer.is_alive():
            threading.Event().wait(0.05)
        before = list(acked)                      # acknowledged before the backup started
        done = _cli("backup", tmp_path / "log.bak", "--db", url)
        after_backup = len(acked)
        assert done.returncode == 0, done.stderr
        assert "integrity ok" in done.stdout
        while len(acked) < after_backup + 3 and writer.is_alive():  # the server kept writing
            threading.Event().wait(0.05)
    finally:
        stop.set()
        writer.join(60)
        server.stop()
    assert not writer.is_alive() and len(acked) >= after_backup + 3

    restored = tmp_path / "restored.db"
    done = _cli("restore", tmp_path / "log.bak", "--db", f"sqlite:///{restored}")
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(restored) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        ids = {r[0] for r in conn.execute("SELECT id FROM decisions")}
        answered = {r[0] for r in conn.execute("SELECT decision_id FROM feedback")}
        given = {r[0] for r in conn.execute("SELECT decision_id FROM decision_items WHERE outcome = 'recommended'")}
    assert set(before) <= ids and set(before) & given <= answered  # every write acknowledged before it
    assert not set(acked[after_backup:]) & ids                     # and nothing written after it returned
    with Store(f"sqlite:///{restored}") as store:                   # a decision log again, migrated
        assert store.decisions.get(before[-1]).id == before[-1]
