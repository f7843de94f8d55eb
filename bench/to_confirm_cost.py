"""What ``to_confirm`` costs: each manager's book of a generated portfolio decided with it and without.

Run by hand (not part of `make test`):

    .venv/bin/python bench/to_confirm_cost.py --clients 2000 --runs 5

On the generated sample portfolio (50 clients per manager) and the shipped rules, the books are
decided in one process with the bulk gates precomputed, as a batch worker decides them, once with
``Advisor(max_to_confirm=0)`` (nothing is looked for) and once with the default, alternating, ``--runs``
times each. It prints the median time per client of both, the difference, and how many subjects got
an item and how many items there were. It also times one decision posted as a document (validation
included, as the API serves it) for a client whose financing need has no reporting status on file.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rm_advisor.engine import Advisor
from rm_advisor.engine.inference.confirm import MAX_TO_CONFIRM
from rm_advisor.engine.portfolio import BulkGates, check_tables, generate, prepare
from rm_advisor.engine.portfolio.run import decide_partition

NEED = {"as_of": "2026-11-23", "managers": [{"id": "M1", "domain": "bank", "tenure_months": 2}],
        "clients": [{"id": "B1", "manager_id": "M1", "domain": "bank", "new_need": True, "new_need_kind": "financing",
                     "tier": "major", "pays_on_time": True}]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    shipped = Advisor.load()
    without, with_ = Advisor(shipped.book, max_to_confirm=0), Advisor(shipped.book, max_to_confirm=MAX_TO_CONFIRM)
    p = generate(clients=args.clients, managers=max(1, args.clients // 50), seed=args.seed)
    tables = check_tables(p.clients, p.managers, p.history, shipped.book.kb, p.as_of)
    _, parts = prepare(tables, shipped.book.kb, BulkGates(shipped.book))
    clients = sum(len(part.facts["client"]) for part in parts)
    times: dict[str, list[float]] = {"without": [], "with": []}
    gc.disable()  # as a batch worker runs
    for _ in range(args.runs):
        for name, adv in (("without", without), ("with", with_)):
            start = time.perf_counter()
            results = [decide_partition(adv, part, p.as_of) for part in parts]
            times[name].append(time.perf_counter() - start)
    gc.enable()
    subjects = [s for r in results for s in r.decision.clients + r.decision.managers]
    asked = [s for s in subjects if s.to_confirm]
    ms = {k: statistics.median(v) / clients * 1000 for k, v in times.items()}
    print(f"{clients} clients, {len(parts)} managers, {args.runs} runs each (median)")
    print(f"  without to_confirm: {ms['without']:.3f} ms/client")
    print(f"  with to_confirm:    {ms['with']:.3f} ms/client  ({ms['with'] - ms['without']:+.3f} ms, "
          f"{(ms['with'] / ms['without'] - 1) * 100:+.1f}%)")
    print(f"  {len(asked)} of {len(subjects)} subjects asked for something, "
          f"{sum(len(s.to_confirm) for s in asked)} items")
    lat: dict[str, list[float]] = {"without": [], "with": []}
    for _ in range(200):
        for name, adv in (("without", without), ("with", with_)):
            start = time.perf_counter()
            adv.decide(NEED)
            lat[name].append((time.perf_counter() - start) * 1000)
    print("  one posted decision, p50: " + ", ".join(f"{k} {statistics.median(v):.2f} ms" for k, v in lat.items()))


if __name__ == "__main__":
    main()
