"""Engines side by side on one synthetic workload: rm-advisor, CLIPS, plain Python, pandas masks.

Run by hand (not part of `make test`), in the bench venv that has CLIPS (clipspy):

    make bench-engines                      # the default sizes below
    .venv-bench/bin/python bench/engines_bench.py --rules 50 200 1000 --clients 1000 \\
        --batch-rules 200 --batch-clients 10000

The workload (``bench/workload.py``): clients with 15 fields, rules of 2–4 comparisons in three
strata (two levels of signal chaining, some ``not`` of a signal). For each rule count R it prints:

* **load**: rm-advisor's load, check and compile of the rule file, against CLIPS's ``build``;
* **one decision**: p50 / p99 over ``--clients`` clients, one client per decision, the engines
  interleaved client by client (so a load change on the machine hits all alike): rm-advisor
  ``Advisor.run`` (validate, derive, infer, arbitrate, explain — what ``decide`` does) with its
  default evaluator and with its experta reference, CLIPS ``reset`` + ``assert`` + ``run``, plain
  Python (stratum by stratum);
* the **same firings**: every engine's (rule, client) pairs, which must be equal, or the bench stops.

Then, for ``--batch-rules`` on ``--batch-clients`` clients, the **batch**: rm-advisor's portfolio
path (tables checked, history derived, bulk gates, per-manager chaining and arbitration, worklists;
outputs not written) with one worker and with ``--jobs``, CLIPS (all clients asserted, one run),
plain Python and the pandas-mask lower bound, in clients per second, each ratio to the bound, and
the peak memory of this process (``ru_maxrss``) after each step. And ``rm-advisor batch`` itself
on the same tables written as CSV files, with ``--jobs 1`` and ``--jobs``, each in a new process, as
a user runs it (its workers decide and write their buckets' outputs; interpreter start, loading,
reading and writing included): seconds end to end and the peak memory of its largest process, its
recommendations table's (rule, client) pairs checked like the rest. (It runs before the other
steps, while this process is small, because a child's peak memory starts from its parent's at the fork.) Results go to
``bench/results/engines-<date>.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.workload import (
    AS_OF,
    Firings,
    Workload,
    clips_constructs,
    clips_fact,
    facts,
    frame,
    generate,
    managers,
    mask_firings,
    masks_to_firings,
    python_firings,
    rule_file,
    signal_file,
)
from rm_advisor.engine import Advisor
from rm_advisor.engine.loading.sources import default_kb_dir, read_kb_files
from rm_advisor.engine.portfolio.bulk import BulkGates
from rm_advisor.engine.portfolio.run import check_tables, decide_partitions, prepare

HISTORY_COLUMNS = ["id", "manager_id", "client_id", "kind", "date", "status", "item", "level", "amount", "quantity",
                   "slow_quantity", "new_brand", "closed_date", "due_date"]


def _clips() -> Any:
    try:
        import clips
    except ImportError:
        sys.exit("CLIPS is not installed: run `make bench-env` and use .venv-bench/bin/python")
    return clips


def texts(w: Workload) -> tuple[dict[str, str], dict[str, str]]:
    kb = read_kb_files(default_kb_dir(), relative=True)
    return {"bench.yaml": rule_file(w)}, {**kb, "signals/bench.yaml": signal_file(w)}


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * q))]


def _peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


class ClipsEngine:
    def __init__(self, w: Workload) -> None:
        clips = _clips()
        self.env = clips.Environment()
        t = time.perf_counter()
        for construct in _split_constructs(clips_constructs(w)):
            self.env.build(construct)
        self.load_s = time.perf_counter() - t

    def decide(self, fact_texts: list[str]) -> Firings:
        """``reset`` + ``assert`` + ``run``, and the firings read back from the ``fired`` facts."""
        self.env.reset()
        for text in fact_texts:
            self.env.assert_string(text)
        self.env.run()
        return {(str(f["rule"]), str(f["subject"])) for f in self.env.facts() if f.template.name == "fired"}


def _split_constructs(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def one_decision(w: Workload, samples: int) -> dict[str, Any]:
    rule_texts, kb_texts = texts(w)
    t = time.perf_counter()
    advisor = Advisor.from_files(rule_texts, kb_texts)
    load_rm = time.perf_counter() - t
    rete = Advisor(advisor.book, engine="experta")
    cl = ClipsEngine(w)
    people = w.clients[:samples]
    docs = [facts(w, (c,)) for c in people]
    clips_facts = [[clips_fact(c)] for c in people]
    for doc in docs[:20]:  # warm up
        advisor.run(doc)
        rete.run(doc)
    times: dict[str, list[float]] = {"rm-advisor": [], "rm-advisor (experta)": [], "CLIPS": [], "plain Python": []}
    fired: dict[str, Firings] = {k: set() for k in times}

    def rm(adv: Advisor) -> Callable[[int], Firings]:
        return lambda i: {(rid, key.id) for key, ids in adv.run(docs[i]).fired().items() for rid in ids}

    steps: list[tuple[str, Callable[[int], Firings]]] = [
        ("rm-advisor", rm(advisor)), ("rm-advisor (experta)", rm(rete)),
        ("CLIPS", lambda i: cl.decide(clips_facts[i])),
        ("plain Python", lambda i: python_firings(w, (people[i],))),
    ]
    for i in range(len(people)):
        order = steps[i % len(steps):] + steps[:i % len(steps)]
        for name, step in order:
            start = time.perf_counter()
            out = step(i)
            times[name].append((time.perf_counter() - start) * 1000)
            fired[name] |= out
    reference = python_firings(w, people)
    for name, got in fired.items():
        if got != reference:
            sys.exit(f"{name} fired {len(got)} (rule, client) pairs, plain Python {len(reference)}: the engines "
                     f"disagree (first difference: {sorted(got ^ reference)[:3]})")
    p50 = {k: statistics.median(v) for k, v in times.items()}
    return {"rules": len(w.rules), "clients": len(people), "firings": len(reference),
            "load_s": {"rm-advisor": round(load_rm, 3), "CLIPS": round(cl.load_s, 3)},
            "p50_ms": {k: round(v, 3) for k, v in p50.items()},
            "p99_ms": {k: round(_pct(v, 0.99), 3) for k, v in times.items()},
            "rm_over_clips_p50": round(p50["rm-advisor"] / p50["CLIPS"], 1)}


def _tables(w: Workload) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    def cell(v: Any) -> str:
        return ("true" if v else "false") if isinstance(v, bool) else str(v)

    clients = pd.DataFrame([{k: cell(v) for k, v in c.items()} for c in w.clients], dtype=object)
    mgrs = pd.DataFrame(managers(w), dtype=object)
    return clients, mgrs, pd.DataFrame(columns=HISTORY_COLUMNS, dtype=object)


def batch(w: Workload, jobs: int) -> dict[str, Any]:
    rule_texts, kb_texts = texts(w)
    advisor = Advisor.from_files(rule_texts, kb_texts)
    kb, as_of = advisor.book.kb, dt.date.fromisoformat(AS_OF)
    n = len(w.clients)
    out: dict[str, Any] = {"rules": len(w.rules), "clients": n, "seconds": {}, "peak_mb": {}}

    def timed(name: str, fn: Callable[[], Firings]) -> Firings:
        gc.collect()
        start = time.perf_counter()
        got = fn()
        out["seconds"][name] = round(time.perf_counter() - start, 3)
        out["peak_mb"][name] = _peak_mb()
        return got

    # the command first, while this process is small: a child's peak memory (ru_maxrss) starts from
    # its parent's at the fork, and exec does not reset it
    commands: dict[str, Firings] = {}
    with tempfile.TemporaryDirectory(prefix="rm-advisor-bench-") as tmp:
        args = _command_inputs(w, Path(tmp), rule_texts, kb_texts)
        for workers in sorted({1, jobs}):
            name = f"rm-advisor batch, --jobs {workers}"
            commands[name], out["seconds"][name], out["peak_mb"][name] = _command(args, Path(tmp) / "out", workers)
    table = frame(w)
    reference = timed("pandas masks", lambda: masks_to_firings(mask_firings(w, table), table))
    got_py = timed("plain Python", lambda: python_firings(w))
    cl = ClipsEngine(w)
    all_facts = [clips_fact(c) for c in w.clients]
    got_clips = timed("CLIPS", lambda: cl.decide(all_facts))

    def rm(workers: int) -> Firings:
        clients, mgrs, history = _tables(w)
        tables = check_tables(clients, mgrs, history, kb, as_of)
        _, parts = prepare(tables, kb, BulkGates(advisor.book))
        results = decide_partitions(advisor, parts, as_of, workers, (rule_texts, kb_texts))
        return {(rid, c.id) for r in results for c in r.decision.clients for rec in c.recommendations
                for rid in rec.rules}

    got_rm1 = timed("rm-advisor, 1 worker", lambda: rm(1))
    got_rmj = timed(f"rm-advisor, {jobs} workers", lambda: rm(jobs))
    got = {"plain Python": got_py, "CLIPS": got_clips, "rm-advisor, 1 worker": got_rm1,
           f"rm-advisor, {jobs} workers": got_rmj, **commands}
    for name, fired in got.items():
        if fired != reference:
            sys.exit(f"batch: {name} fired {len(fired)} pairs, the masks {len(reference)}: the engines disagree")
    for name in commands:  # printed last
        out["seconds"][name], out["peak_mb"][name] = out["seconds"].pop(name), out["peak_mb"].pop(name)
    bound = out["seconds"]["pandas masks"]
    out["firings"] = len(reference)
    out["clients_per_s"] = {k: round(n / s) for k, s in out["seconds"].items()}
    out["over_bound"] = {k: round(s / bound, 1) for k, s in out["seconds"].items()}
    return out


def _command_inputs(w: Workload, root: Path, rule_texts: dict[str, str], kb_texts: dict[str, str]) -> list[str]:
    """The workload's tables, rules and knowledge base as files under ``root``; the arguments of
    ``rm-advisor batch`` that read them."""
    for folder, files in (("rules", rule_texts), ("kb", kb_texts)):
        for name, text in files.items():
            rel = name.removeprefix("knowledge_base/")  # the shipped files are named from the project root
            (root / folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / folder / rel).write_text(text, encoding="utf-8")
    args = ["batch", "--rules", str(root / "rules"), "--kb", str(root / "kb"), "--as-of", AS_OF, "--no-report"]
    for name, table in zip(("clients", "managers", "history"), _tables(w), strict=True):
        table.to_csv(root / f"{name}.csv", index=False)
        args += [f"--{name}", str(root / f"{name}.csv")]
    return args


def _command(args: list[str], out: Path, workers: int) -> tuple[Firings, float, float]:
    """``rm-advisor batch`` run as a user runs it (its workers write their buckets' outputs): the
    (rule, client) pairs of its recommendations table, its seconds end to end (interpreter start,
    loading the rules, reading the CSV files and writing the outputs included) and the peak memory
    of its largest process (the calling one or a worker), MB."""
    cmd = [sys.executable, "-c", "from rm_advisor.cli.main import main; main()", *args, "--out", str(out),
           "--jobs", str(workers)]
    with tempfile.TemporaryFile("w+", encoding="utf-8") as err:  # a pipe unread until the end could fill up
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        if status != 0:
            err.seek(0)
            sys.exit(f"rm-advisor batch --jobs {workers} failed: {err.read()}")
    recs = pd.read_csv(out / "recommendations.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    fired = {(rid, client) for client, rules in zip(recs["client_id"], recs["rules"], strict=True)
             for rid in rules.split()}
    shutil.rmtree(out)
    return fired, round(seconds, 3), round(usage.ru_maxrss / 1024, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rules", type=int, nargs="+", default=[50, 200, 1000])
    ap.add_argument("--clients", type=int, default=1000, help="clients decided one by one, per rule count")
    ap.add_argument("--batch-rules", type=int, default=200)
    ap.add_argument("--batch-clients", type=int, default=10_000)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = ap.parse_args()
    started = dt.datetime.now(dt.UTC)
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores, "
          f"load average before {os.getloadavg()[0]:.1f}")
    result: dict[str, Any] = {"started": started.isoformat(timespec="seconds"), "decisions": [], "batch": None}
    print("\n| rules | firings | load rm-advisor / CLIPS (s) | one decision p50 ms: rm-advisor / its experta "
          "reference / CLIPS / Python | p99 ms | rm-advisor ÷ CLIPS (p50) |")
    print("|---|---|---|---|---|---|")
    for r in args.rules:
        d = one_decision(generate(r, args.clients, args.seed), args.clients)
        result["decisions"].append(d)
        p50, p99 = d["p50_ms"], d["p99_ms"]
        print(f"| {r} | {d['firings']:,} | {d['load_s']['rm-advisor']} / {d['load_s']['CLIPS']} | "
              f"{p50['rm-advisor']} / {p50['rm-advisor (experta)']} / {p50['CLIPS']} / {p50['plain Python']} | "
              f"{p99['rm-advisor']} / {p99['rm-advisor (experta)']} / {p99['CLIPS']} / {p99['plain Python']} | "
              f"{d['rm_over_clips_p50']}× |")
    if args.batch_clients:
        b = batch(generate(args.batch_rules, args.batch_clients, args.seed), args.jobs)
        result["batch"] = b
        print(f"\nbatch: {b['clients']:,} clients, {b['rules']} rules, {b['firings']:,} firings")
        print("| engine | seconds | clients/s | ÷ pandas bound | peak MB (this process after the step; "
              "rm-advisor batch: its largest process) |")
        print("|---|---|---|---|---|")
        for name, s in b["seconds"].items():
            print(f"| {name} | {s} | {b['clients_per_s'][name]:,} | {b['over_bound'][name]}× | {b['peak_mb'][name]} |")
    result["load_average_after"] = round(os.getloadavg()[0], 1)
    print(f"\nload average after {result['load_average_after']}")
    args.out.mkdir(exist_ok=True)
    path = args.out / f"engines-{started.date().isoformat()}.json"
    path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"written {path}")


if __name__ == "__main__":
    main()
