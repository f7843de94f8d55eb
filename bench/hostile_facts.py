"""CPU, memory and answer size of small hostile facts documents (issue 12: cheap requests that cost
a lot). Run by hand (not part of `make test`):

    .venv/bin/python bench/hostile_facts.py

Each document is validated through the library (``Advisor.validate``) and posted to the HTTP API
(``POST /v1/decisions`` through the in-process test client, decision log on a temporary SQLite
file, the default ``max_body_bytes``). Printed per document: the body size, the CPU seconds of the
call (``time.process_time``), the number of diagnostics or listed errors, the answer size, and the
process's peak resident memory so far. Only public entry points are used, so the script also runs
on revisions before the error cap.
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DOCUMENTS: dict[str, dict[str, Any]] = {
    "333,000 empty interactions": {"interactions": [{}] * 333_000},
    "300,000 interactions that are not objects": {"interactions": [1] * 300_000},
    "10,000 clients with a bad domain": {"clients": [{"id": "x", "manager_id": "m", "domain": "bad"}] * 10_000},
    "50,000 unknown lists": {f"list{i}": [] for i in range(50_000)},
}


def _peak_mb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def main() -> None:
    from fastapi.testclient import TestClient

    from rm_advisor.api.app import create_app
    from rm_advisor.api.ruleset import LiveRuleSet
    from rm_advisor.api.settings import Settings
    from rm_advisor.engine import FactError

    settings = Settings(rules_dir=ROOT / "rules", kb_dir=ROOT / "knowledge_base",
                        db_url=f"sqlite:///{tempfile.mkdtemp()}/decisions.db", max_subjects=10_000)
    live = LiveRuleSet.start(settings)
    with TestClient(create_app(settings, live)) as client:
        for name, doc in DOCUMENTS.items():
            payload = json.dumps(doc, separators=(",", ":")).encode()
            started = time.process_time()
            try:
                live.current().advisor.validate(doc)
                found = 0
            except FactError as exc:
                found = len(exc.diagnostics)
            lib = time.process_time() - started
            started = time.process_time()
            r = client.post("/v1/decisions", content=payload, headers={"content-type": "application/json"})
            api = time.process_time() - started
            errors = len(r.json().get("errors", []))
            print(f"{name}: body {len(payload):,} B | library {lib:.3f} s CPU, {found:,} diagnostics | "
                  f"API {api:.3f} s CPU, HTTP {r.status_code}, {errors:,} errors, {len(r.content):,} B | "
                  f"peak RSS {_peak_mb():,} MB", flush=True)


if __name__ == "__main__":
    main()
