"""Portfolio benchmark: batch throughput and one-decision latency, beside two references.

Run by hand (not part of `make test`):

    .venv/bin/python bench/batch_bench.py --clients 10000 100000

For each size, on the generated sample portfolio (50 clients per manager) and the full shipped
rule set, it prints:

* **batch** — check tables, derive history fields, bulk gates and chaining, per-manager explained
  decisions (arbitration) + worklists on every core: clients per second, end to end (outputs not
  written), and peak resident memory of the calling process and of the largest worker;
* **lower bound** — the same single-fact conditions as pandas boolean masks (BulkGates alone),
  and the ratio batch / lower bound;
* **naive experta** — every rule in the Rete network and a new engine per client, as a first
  attempt with experta would do; measured on a sample of clients and reported per second;
* **one decision** — p50 / p99 latency of `Advisor.decide` for one client with its manager and
  open items, posted as a document (validation included), as the API serves it.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import resource
import statistics
import sys
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rm_advisor.engine import Advisor
from rm_advisor.engine.derivation.history import derive
from rm_advisor.engine.inference.chaining import Inference
from rm_advisor.engine.inference.compiler import CompiledRule, RuleBook
from rm_advisor.engine.loading.sources import default_kb_dir, default_rules_dir, read_kb_files, read_rule_files
from rm_advisor.engine.portfolio.bulk import BulkGates, Frames
from rm_advisor.engine.portfolio.run import Partition, check_tables, decide_partitions, prepare
from rm_advisor.engine.portfolio.sample import generate


class _AllInRete(CompiledRule):
    """A rule forced through the Rete network (what a naive experta use does with every rule)."""

    @property
    def direct(self) -> bool:
        return False


def naive_book(book: RuleBook) -> RuleBook:
    rules = tuple(_AllInRete(**{f.name: getattr(r, f.name) for f in fields(r)}) for r in book.rules)
    return RuleBook(rules, book.kb, book.revision)


def one_client_docs(parts: list[Partition], count: int, seed: int = 1) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    docs: list[dict[str, Any]] = []
    for part in rng.sample(parts, min(len(parts), count)):
        if not part.facts["client"]:
            continue
        c = rng.choice(part.facts["client"])
        inter = [i for i in part.facts["interaction"] if i.get("client_id") == c["id"]]
        docs.append({"clients": [c], "managers": part.facts["manager"], "interactions": inter})
    while len(docs) < count and docs:
        docs.append(docs[len(docs) % max(1, len(docs))])
    return docs[:count]


def run(n: int, jobs: int, latency_samples: int, naive_samples: int) -> dict[str, Any]:
    texts = (read_rule_files(default_rules_dir()), read_kb_files(default_kb_dir()))
    advisor = Advisor.from_files(*texts)
    kb = advisor.book.kb
    p = generate(n, max(3, n // 50))
    gates = BulkGates(advisor.book)

    # the lower bound first, in a clean process state (no decisions held in memory yet)
    tables = check_tables(p.clients, p.managers, p.history, kb, p.as_of)
    d = derive(tables.clients.frame, tables.managers.frame, tables.history.frame, p.as_of, kb)
    frames = Frames({"client": d.clients, "manager": d.managers, "interaction": d.interactions.set_index(
        d.interactions["id"].astype(str), drop=False)}, p.as_of, kb)
    t1 = time.perf_counter()
    gates.gates(frames)
    t_masks = time.perf_counter() - t1
    del d, frames, tables

    t0 = time.perf_counter()
    tables = check_tables(p.clients, p.managers, p.history, kb, p.as_of)
    derived, parts = prepare(tables, kb, gates)
    t_prep = time.perf_counter() - t0
    results = decide_partitions(advisor, parts, p.as_of, jobs, texts)
    t_batch = time.perf_counter() - t0
    decided = sum(len(r.decision.clients) for r in results)
    # peak resident memory so far (kilobytes on Linux): this process, and the largest worker process
    peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peak_worker = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    del results, derived
    gc.collect()

    docs = one_client_docs(parts, latency_samples)
    for doc in docs[:20]:
        advisor.decide(doc, as_of=p.as_of)  # warm up
    lat = []
    for doc in docs:
        t = time.perf_counter()
        advisor.decide(doc, as_of=p.as_of)
        lat.append((time.perf_counter() - t) * 1000)
    lat.sort()

    naive = naive_book(advisor.book)
    ndocs = one_client_docs(parts, naive_samples, seed=2)
    t2 = time.perf_counter()
    for doc in ndocs:
        fs = advisor.validate(doc, as_of=p.as_of)
        Inference(naive).run(fs)  # a new engine (class and instance) per client
    t_naive = (time.perf_counter() - t2) / max(1, len(ndocs))

    return {
        "clients": decided, "managers": len(parts), "events": len(p.history), "rules": len(advisor.book.rules),
        "jobs": jobs, "batch_s": round(t_batch, 2), "prepare_s": round(t_prep, 2),
        "peak_rss_mib": round(peak_self), "peak_worker_rss_mib": round(peak_worker),
        "batch_clients_per_s": round(decided / t_batch), "masks_s": round(t_masks, 3),
        "lower_bound_clients_per_s": round(n / t_masks), "batch_over_lower_bound": round(t_batch / t_masks, 1),
        "naive_ms_per_client": round(t_naive * 1000, 1), "naive_clients_per_s": round(1 / t_naive),
        "naive_sample": len(ndocs), "one_decision_p50_ms": round(statistics.median(lat), 2),
        "one_decision_p99_ms": round(lat[int(len(lat) * 0.99) - 1], 2), "latency_samples": len(lat),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--latency-samples", type=int, default=2000)
    ap.add_argument("--naive-samples", type=int, default=200)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = ap.parse_args()
    args.out.mkdir(exist_ok=True)
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores, jobs={args.jobs}")
    for n in args.clients:
        r = run(n, args.jobs, args.latency_samples, args.naive_samples)
        print(f"\n{n:,} clients, {r['managers']} managers, {r['events']:,} events, {r['rules']} rules")
        print(f"  batch (all steps, {r['jobs']} workers): {r['batch_s']} s = {r['batch_clients_per_s']:,} clients/s"
              f"  (tables + history + bulk gates and chaining: {r['prepare_s']} s); peak memory "
              f"{r['peak_rss_mib']:,} MiB, largest worker {r['peak_worker_rss_mib']:,} MiB")
        print(f"  pandas lower bound (masks only):       {r['masks_s']} s = {r['lower_bound_clients_per_s']:,} "
              f"clients/s  -> batch is {r['batch_over_lower_bound']}x the lower bound")
        print(f"  naive experta (new engine per client): {r['naive_ms_per_client']} ms/client = "
              f"{r['naive_clients_per_s']} clients/s (sample of {r['naive_sample']})")
        print(f"  one decision (validate+infer+arbitrate): p50 {r['one_decision_p50_ms']} ms, "
              f"p99 {r['one_decision_p99_ms']} ms over {r['latency_samples']} requests")
        (args.out / f"batch-{n}.json").write_text(json.dumps(r, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
