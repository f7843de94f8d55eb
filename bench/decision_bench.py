"""One decision, in-process: what the library, the CLI and every HTTP decision route spend per call.

Run by hand (not part of `make test`):

    .venv/bin/python bench/decision_bench.py --runs 300

Decides the bundled sample facts (``knowledge_base/samples/demo_facts.yaml``: 6 clients,
3 managers, 2 interactions) ``--runs`` times after 20 warm-up calls and prints p50 / p99 in
milliseconds of:

* ``derive (per record)``: the history derivation a single decision uses
  (:func:`engine.derivation.per_record.derive_records`);
* ``derive (pandas)``: the same derivation through the vectorised portfolio path
  (:func:`engine.derivation.history.derive` on frames of the same records) — what a single
  decision used before;
* ``decide``: a whole decision (validate, derive, infer, arbitrate, explain), with the default
  evaluator of chaining rules and with its experta reference (``decide (experta)``), interleaved
  run by run;
* ``decide, one client``: one client with its manager per decision (what ``POST
  /v1/decisions/client/{id}`` decides), the sample's clients in turn.

``--freeze-gc`` freezes what is alive after loading (:func:`gc.freeze`), as ``rm-advisor serve``
does (the ``freeze_gc`` setting, :mod:`api.collector`): without it about one decision in a
hundred pays for a full collection over the rule book, which is most of the p99.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from rm_advisor.engine import Advisor
from rm_advisor.engine.derivation import derive, frame
from rm_advisor.engine.derivation.per_record import derive_records

DEMO = Path(__file__).resolve().parents[1] / "knowledge_base" / "samples" / "demo_facts.yaml"


def _times(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    for _ in range(20):
        fn()
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    out.sort()
    return statistics.median(out), out[min(len(out) - 1, int(len(out) * 0.99))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--freeze-gc", action="store_true", help="gc.freeze() after loading, as the server does")
    args = parser.parse_args()
    advisor = Advisor.load()
    kb = advisor.book.kb
    doc = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    alone = itertools.cycle([_alone(doc, c) for c in doc["clients"]])
    fs = advisor.validate(doc)
    subjects = {t: list(fs.subjects(t)) for t in ("client", "manager", "interaction")}

    def per_record() -> object:
        return derive_records(subjects["client"], subjects["manager"], subjects["interaction"], fs.as_of, kb)

    def vectorised() -> object:
        clients, managers, events = (frame(subjects[t], kb.facts[t]) for t in ("client", "manager", "interaction"))
        return derive(clients, managers, events, fs.as_of, kb)

    rete = Advisor(advisor.book, engine="experta")
    if args.freeze_gc:
        gc.collect()
        gc.freeze()
    collector = "frozen after loading" if args.freeze_gc else "as Python sets it"
    print(f"{platform.python_version()} on {os.cpu_count()} cores, {args.runs} runs each, milliseconds, "
          f"load average {os.getloadavg()[0]:.1f}, gc {collector}")
    print(f"{'':22} {'p50':>8} {'p99':>8}")
    for name, fn in (("derive (per record)", per_record), ("derive (pandas)", vectorised)):
        p50, p99 = _times(fn, args.runs)
        print(f"{name:22} {p50:8.2f} {p99:8.2f}")
    for name, (p50, p99) in _interleaved({"decide": lambda: advisor.decide(doc),
                                          "decide (experta)": lambda: rete.decide(doc),
                                          "decide, one client": lambda: advisor.decide(next(alone))},
                                         args.runs).items():
        print(f"{name:22} {p50:8.2f} {p99:8.2f}")


def _alone(doc: dict[str, Any], client: dict[str, Any]) -> dict[str, Any]:
    """The facts document of one client: the client, its manager, its own interactions, the teams."""
    return {**doc, "clients": [client], "links": [],
            "managers": [m for m in doc["managers"] if m["id"] == client["manager_id"]],
            "interactions": [i for i in doc.get("interactions", []) if i.get("client_id") == client["id"]]}


def _interleaved(fns: dict[str, Callable[[], object]], runs: int) -> dict[str, tuple[float, float]]:
    """p50 and p99 of each function, run in turn so that a change of load hits all alike."""
    for fn in fns.values():
        for _ in range(20):
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - start) * 1000)
    out = {}
    for name, xs in times.items():
        xs.sort()
        out[name] = (statistics.median(xs), xs[min(len(xs) - 1, int(len(xs) * 0.99))])
    return out


if __name__ == "__main__":
    main()
