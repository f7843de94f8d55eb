"""CPU of each hostile request to the HTTP API (issue 12): rule checks, reloads, spec mismatches.

Run by hand (not part of `make test`):

    .venv/bin/python bench/hostile_api.py [case ...]

Each request goes to an app built in this process (FastAPI's TestClient, a copy of the shipped
rules, a SQLite decision log in a temporary directory); for each the CPU and wall time of the
request, the status and the size of the answer are printed. None should cost a second of CPU.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
only = set(sys.argv[1:])

from fastapi.testclient import TestClient  # noqa: E402

from rm_advisor.api import examples  # noqa: E402
from rm_advisor.api.app import create_app  # noqa: E402
from rm_advisor.api.settings import Settings  # noqa: E402

Call = Callable[[TestClient], Any]


tmp = Path(tempfile.mkdtemp())
rules = tmp / "rules"
rules.mkdir()
for p in sorted((ROOT / "rules").glob("*.yaml")):
    if not p.name.endswith(".scenarios.yaml"):
        shutil.copy(p, rules / p.name)
KEY = {"X-API-Key": "k" * 20}
app = create_app(Settings(rules_dir=rules, kb_dir=ROOT / "knowledge_base", api_key="k" * 20,
                          db_url=f"sqlite:///{tmp}/d.db"))
ONES = "rules: [" + ",".join(["1"] * 10_000) + "]\n"
BOMB = ("a: &a [1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
        "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\nrules: [*d,*d,*d,*d,*d]\n")


def check(files: list[tuple[str, str]], together: bool = False) -> Call:
    return lambda c: c.post("/v1/rules/check", json={"files": [{"name": n, "text": t} for n, t in files],
                                                     "together": together})


def reload_with(name: str, text: str) -> Call:
    def run(c: TestClient) -> Any:
        (rules / name).write_text(text)
        try:
            return c.post("/v1/ruleset/reload", headers=KEY)
        finally:
            (rules / name).unlink()
    return run


def reload_without(name: str) -> Call:
    def run(c: TestClient) -> Any:
        saved = (rules / name).read_text()
        (rules / name).unlink()
        try:
            return c.post("/v1/ruleset/reload", headers=KEY)
        finally:
            (rules / name).write_text(saved)
    return run


BAD_TEMPLATE = examples.RULE_FILE.replace("{client.name}", "{client.name!r:>10}", 1)
EXTRA = {**examples.CLIENT, "clients": [{**examples.CLIENT["clients"][0], "favourite_colour": "red"}]}
CASES: dict[str, tuple[str, Call]] = {
    "check-20kb-ones": ("POST /v1/rules/check, 20 KB `rules: [1,1,...]`", check([("x.yaml", ONES)])),
    "check-5x20kb": ("POST /v1/rules/check, 5 files of 20 KB", check([(f"x{i}.yaml", ONES) for i in range(5)])),
    "check-3x20kb": ("POST /v1/rules/check, 3 files of 20 KB", check([(f"x{i}.yaml", ONES) for i in range(3)])),
    "check-45x20kb": ("POST /v1/rules/check, 45 files of 20 KB (900 KB)",
                      check([(f"x{i}.yaml", ONES) for i in range(45)])),
    "check-480kb": ("POST /v1/rules/check, one 480 KB `[1,1,...]` file",
                    check([("x.yaml", "rules: [" + ",".join(["1"] * 240_000) + "]\n")])),
    "check-budget-empty": ("POST /v1/rules/check, 19,000 `{}` (at the node budget), together",
                           check([("x.yaml", "rules: [" + ",".join(["{}"] * 19_000) + "]\n")], True)),
    "check-bombs": ("POST /v1/rules/check, 48 alias files of 33k nodes each",
                    check([(f"b{i}.yaml", BOMB) for i in range(48)])),
    "check-bad-template": ("POST /v1/rules/check, `{client.name!r:>10}`", check([("local.yaml", BAD_TEMPLATE)], True)),
    "reload-8000": ("POST /v1/ruleset/reload, an 8,000-item file",
                    reload_with("zz.yaml", "rules: [" + ",".join(["1"] * 8000) + "]\n")),
    "reload-deleted-pack": ("POST /v1/ruleset/reload, bank.yaml deleted", reload_without("bank.yaml")),
    "options-decisions": ("OPTIONS /v1/decisions", lambda c: c.options("/v1/decisions")),
    "options-check": ("OPTIONS /v1/rules/check", lambda c: c.options("/v1/rules/check")),
    "post-replay": ("POST /v1/decisions/T-001/replay", lambda c: c.post("/v1/decisions/T-001/replay")),
    "extra-fact-field": ("POST /v1/decisions/client/T-001, an unknown fact field",
                         lambda c: c.post("/v1/decisions/client/T-001", json=EXTRA)),
    "readyz": ("GET /readyz", lambda c: c.get("/readyz")),
}
with TestClient(app) as c:
    c.get("/readyz")
    for name, (label, call) in CASES.items():
        if only and name not in only:
            continue
        t0, w0 = time.process_time(), time.perf_counter()
        r = call(c)
        cpu, wall = time.process_time() - t0, time.perf_counter() - w0
        allow = r.headers.get("allow", "")
        print(f"{label:66s} cpu {cpu:7.2f} s  wall {wall:7.2f} s  -> {r.status_code} {allow} {len(r.content):>9} B",
              flush=True)
