"""`rm-advisor serve` as a real server: a subprocess with two workers on a loopback port.

It answers the bundled sample client in zh and en, refuses a broken rule set with located errors
while both workers keep deciding on the previous revision, and a good reload through one worker
reaches the other. It also comes up, both workers answering, while every core is kept busy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from rm_advisor.cli.main import sample_facts_path
from tests.api import real_server
from tests.api.conftest import AUTH, copy_rules
from tests.cli.test_main import BROKEN

SAMPLE = json.loads(json.dumps(yaml.safe_load(sample_facts_path().read_text(encoding="utf-8")), default=str))


class Server(real_server.Server):
    def workers(self, tries: int = 200) -> dict[int, set[str]]:
        """Revisions seen per worker process, asking until both workers answered."""
        seen: dict[int, set[str]] = {}
        extra = 6  # a few more answers once both workers were seen, so a straggler would show
        for _ in range(tries):
            body = self.get("/readyz").json()
            seen.setdefault(body["pid"], set()).add(body["revision"])
            if len(seen) == 2:
                extra -= 1
                if extra == 0:
                    break
        return seen


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def test_regression_two_workers_come_up_while_every_core_is_busy(tmp_path: Path) -> None:
    # uvicorn killed a worker that had not answered its health-check ping within 5 s; on a busy
    # machine every worker took longer than that to start (re-importing the whole CLI), so it was
    # killed and replaced in a loop ("Child process [...] died") and the server never became ready
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(cores())]
    try:
        s = Server(tmp_path / "server.log", f"sqlite:///{tmp_path / 'decisions.db'}", workers=2)
        try:
            s.wait_ready(limit=120)  # generous: about 8 s on a busy 2-core machine
            seen = s.workers()
            decided = s.post("/v1/decisions/client/T-001", json=SAMPLE)
        finally:
            code = s.stop()
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    log = s.log.read_text()
    assert len(seen) == 2 and len(set.union(*seen.values())) == 1, f"{seen}\n{log}"
    assert decided.status_code == 200, decided.text
    assert "died" not in log and "was not ready" not in log, log
    assert code == 0, log


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("server")
    s = Server(folder / "server.log", f"sqlite:///{folder / 'decisions.db'}", workers=2,
               rules=copy_rules(folder / "rules"))
    try:
        s.wait_ready()
        yield s
    finally:
        assert s.stop() == 0, s.log.read_text()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_real_server_explains_the_sample_client(server: Server, lang: str) -> None:
    r = server.post("/v1/decisions/client/T-001", json=SAMPLE, headers={"Accept-Language": lang})
    assert r.status_code == 200, r.text
    recs = r.json()["subject"]["recommendations"]
    assert recs and all(set(x["title"]) == {lang} and x["reasons"] and x["because"] for x in recs)
    assert r.headers["x-rule-revision"] == r.json()["revision"]


def test_real_server_refuses_a_broken_reload_and_spreads_a_good_one(server: Server) -> None:
    start = server.workers()
    assert len(start) == 2, f"only one worker answered: {start}"
    (old,) = set.union(*start.values())
    rules = server.rules
    assert rules is not None

    broken = rules / "broken.yaml"
    broken.write_text(BROKEN, encoding="utf-8")
    refused = server.post("/v1/ruleset/reload", headers=AUTH)
    assert refused.status_code == 422 and refused.json()["code"] == "rule_set_invalid"
    assert {(Path(e["file"]).name, e["line"]) for e in refused.json()["errors"] if e["severity"] == "error"} == \
        {("broken.yaml", 9), ("broken.yaml", 23), ("broken.yaml", 27)}
    assert all(revs == {old} for revs in server.workers().values())
    decided = server.post("/v1/decisions/client/T-001", json=SAMPLE)
    assert decided.status_code == 200 and decided.json()["revision"] == old

    broken.unlink()
    generic = rules / "generic.yaml"
    generic.write_text(generic.read_text(encoding="utf-8") + "\n# revised\n", encoding="utf-8")
    accepted = server.post("/v1/ruleset/reload", headers=AUTH).json()
    new = accepted["revision"]
    assert accepted["changed"] is True and new != old
    after = server.workers()
    assert len(after) == 2 and all(revs == {new} for revs in after.values()), after
    assert server.post("/v1/decisions", json=SAMPLE).json()["revision"] == new
