"""One answer whatever the door: each manager's book of a generated portfolio, sent as facts with
its interaction records, gets through the Python API, `rm-advisor recommend` and a real HTTP
server the decision `rm-advisor batch` gives on the tables: same actions, coaching, scores,
vetoes, reasons, derived fields and traces (dry runs, no decision log)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pytest

from rm_advisor.api.present import decisions as present
from rm_advisor.engine import Advisor, Decision
from rm_advisor.engine.derivation import records
from rm_advisor.engine.portfolio import BulkGates, check_tables, generate, prepare
from rm_advisor.engine.portfolio.run import decide_partition
from tests.api.conftest import AUTH
from tests.api.real_server import Server
from tests.conftest import ROOT
from tests.helpers import first_difference

SEEDS = (3, 11, 29)


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def _books(advisor: Advisor, seed: int) -> list[tuple[dict[str, Any], Decision]]:
    """(facts document with the interaction records, batch decision) for each manager of one portfolio."""
    kb = advisor.book.kb
    p = generate(clients=60, managers=3, seed=seed)
    tables = check_tables(p.clients, p.managers, p.history, kb, p.as_of)
    _, parts = prepare(tables, kb, BulkGates(advisor.book))
    batch = {part.manager_id: decide_partition(advisor, part, p.as_of).decision for part in parts}
    rows = {t: records(table.frame, kb.facts[t]) for t, table in
            (("client", tables.clients), ("manager", tables.managers), ("interaction", tables.history))}
    out = []
    for manager in rows["manager"]:
        mid = manager["id"]
        clients = [c for c in rows["client"] if c["manager_id"] == mid]
        ids = {c["id"] for c in clients}
        events = [e for e in rows["interaction"] if e.get("client_id") in ids
                  or (e.get("client_id") is None and e.get("manager_id") == mid)]
        doc = {"as_of": p.as_of.isoformat(), "managers": [manager], "clients": clients, "interactions": events}
        out.append(({k: [{f: _json(v) for f, v in r.items()} for r in v] if isinstance(v, list) else v
                     for k, v in doc.items()}, batch[mid]))
    assert len(out) == 3 and all(d.clients for _, d in out)
    return out


@pytest.fixture(scope="module")
def books(advisor: Advisor) -> list[tuple[dict[str, Any], Decision]]:
    return [book for seed in SEEDS for book in _books(advisor, seed)]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("doors")
    s = Server(folder / "server.log", None, workers=2, rules=ROOT / "rules")
    try:
        s.wait_ready()
        yield s
    finally:
        assert s.stop() == 0, s.log.read_text()


def _answer(decision: Decision) -> dict[str, Any]:
    return decision.model_dump(mode="json", exclude={"id"})


def test_books_exercise_history_derivation(books: list[tuple[dict[str, Any], Decision]]) -> None:
    derived = [f for _, d in books for s in d.clients + d.managers for f in s.derived]
    assert {f.field for f in derived} >= {"days_since_last_visit", "open_complaints", "assessment_score"}
    assert sum(len(s.recommendations) for _, d in books for s in d.clients) > 50


def test_the_python_api_gives_the_batch_decision(advisor: Advisor,
                                                 books: list[tuple[dict[str, Any], Decision]]) -> None:
    for doc, batch in books:
        assert first_difference(_answer(advisor.decide(doc)), _answer(batch)) is None


def test_the_cli_gives_the_batch_decision(tmp_path: Path, books: list[tuple[dict[str, Any], Decision]]) -> None:
    script = Path(sys.executable).parent / "rm-advisor"
    for i, (doc, batch) in enumerate(books):
        path = tmp_path / f"book{i}.json"
        path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        out = subprocess.run([str(script), "recommend", str(path), "--json", "--rules", str(ROOT / "rules")],
                             capture_output=True, text=True, cwd=ROOT, check=True)
        assert first_difference(_answer(Decision.model_validate_json(out.stdout)), _answer(batch)) is None


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_real_server_gives_the_batch_decision(server: Server, lang: Literal["zh", "en"],
                                                books: list[tuple[dict[str, Any], Decision]]) -> None:
    for doc, batch in books:
        r = server.post("/v1/decisions", json=doc, headers={**AUTH, "Accept-Language": lang})
        assert r.status_code == 200, r.text
        got = {k: v for k, v in r.json().items() if k != "decision_id"}
        expected = {k: v for k, v in present(batch, lang, True).model_dump(mode="json").items() if k != "decision_id"}
        assert first_difference(got, expected) is None
