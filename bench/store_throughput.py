"""Decision-log and feedback timings, run by hand (not part of `make test`):

    .venv/bin/python -m bench.store_throughput                      # a SQLite file in build/
    .ci/with-postgres .venv/bin/python -m bench.store_throughput    # and a throwaway PostgreSQL

Logs a decision on 40 tobacco clients, records one feedback per recommendation (each its own
committed transaction, as the API and the CLI do), then decides again with that history.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

from rm_advisor.engine import Advisor
from rm_advisor.store import FeedbackInput, Store, decide_and_log
from tests.store.conftest import tobacco_facts


def run(url: str, advisor: Advisor) -> str:
    facts = tobacco_facts(40)
    with Store(url, advisor.book.kb) as store:
        start = time.perf_counter()
        decision = decide_and_log(store, advisor, facts)
        first = time.perf_counter() - start
        items = [(c.id, r.id) for c in decision.clients for r in c.recommendations]
        times = []
        for subject, item in items:
            start = time.perf_counter()
            store.feedback.add(FeedbackInput(decision_id=decision.id, subject=subject, item=item, status="accepted"))
            times.append(time.perf_counter() - start)
        start = time.perf_counter()
        decide_and_log(store, advisor, facts)
        again = time.perf_counter() - start
    start = time.perf_counter()
    advisor.decide(facts)
    bare = time.perf_counter() - start
    p95 = sorted(times)[int(len(times) * 0.95)]
    return (f"{store.db.dialect}: decide+log 40 clients {first * 1000:.0f} ms (decide alone {bare * 1000:.0f} ms), "
            f"again with {len(items)} feedback events {again * 1000:.0f} ms; feedback add median "
            f"{statistics.median(times) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms")


def main() -> None:
    advisor = Advisor.load()
    Path("build").mkdir(exist_ok=True)
    db = Path("build/bench-store.db")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    print(run(f"sqlite:///{db}", advisor))
    if os.environ.get("RM_ADVISOR_TEST_PG_URL"):
        print(run(os.environ["RM_ADVISOR_TEST_PG_URL"], advisor))


if __name__ == "__main__":
    main()
