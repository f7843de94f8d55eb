"""Dask benchmark: a batch on the local backend and on a Dask cluster, with 1 and 2 workers.

Run by hand (not part of `make test`):

    .venv/bin/python bench/dask_bench.py --clients 1000000 --workers 1 2

For each backend and worker count, in a fresh process each (so that one run's peak memory is not
another's), on the generated sample portfolio (50 clients per manager) and the shipped rule set,
it runs :func:`engine.portfolio.run_batch` as ``rm-advisor batch`` does, outputs not written,
and prints one JSON line: the seconds end to end (the cluster started and the rule book compiled
on its workers included), clients per second, and the peak resident memory of the calling
process and of the largest worker process (MiB). The local backend's workers are its
``--jobs`` processes; the dask backend's are the LocalCluster's worker processes.

With ``--log`` each run is a logged one (``rm-advisor batch --db``): contact policies applied with the
log's feedback, every decision recorded in a new SQLite file in the system's temporary folder.
The script runs on the revision it sits in; a copy of an earlier revision's tree
(``git archive``) measures that revision with the same environment.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _mib(kib: int) -> float:
    return round(kib / 1024, 1)  # ru_maxrss is in KiB on Linux


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def one(backend: str, workers: int, clients: int, log: bool = False) -> dict[str, Any]:
    """One batch in this process (logged in a new SQLite file with ``log``)."""
    import dataclasses
    import tempfile

    from rm_advisor.cli import batch as cli_batch
    from rm_advisor.engine import Advisor
    from rm_advisor.engine.loading import default_kb_dir, default_rules_dir, read_kb_files, read_rule_files
    from rm_advisor.engine.portfolio import AS_OF, BatchPlan, run_batch
    from rm_advisor.engine.portfolio.distributed import DaskBackend, connect_cluster

    started = time.perf_counter()
    texts = (read_rule_files(default_rules_dir(), relative=True), read_kb_files(default_kb_dir(), relative=True))
    advisor = Advisor.from_files(*texts)
    url = f"sqlite:///{tempfile.mkdtemp(prefix='rm-advisor-bench-')}/log.db"
    logged: dict[str, Any] = {"log": cli_batch._StoreLog(url, advisor)} if log else {}
    if log and "open_log" in BatchPlan.__dataclass_fields__:  # workers log (since issue 18)
        logged["open_log"] = cli_batch._WorkerLog(url)
    plan = BatchPlan(AS_OF, sample_clients=clients, jobs=workers, texts=texts, **logged)
    if backend == "dask":
        with connect_cluster(None, workers) as client:
            result = run_batch(advisor, dataclasses.replace(plan, jobs=0, backend=DaskBackend(client, texts)))
            worker_rss = max(client.run(_peak_rss).values())
    else:
        result = run_batch(advisor, plan)
        worker_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # the largest pool process
    seconds = time.perf_counter() - started
    return {"backend": backend, "workers": workers, "clients": result.counts.clients,
            "managers": result.counts.managers, "seconds": round(seconds, 1),
            "clients_per_s": round(result.counts.clients / seconds), "caller_peak_mib": _mib(_peak_rss()),
            "largest_worker_peak_mib": _mib(worker_rss), "logged": result.logged,
            "loadavg": Path("/proc/loadavg").read_text().split()[:3]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=1_000_000)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--backends", nargs="+", default=["local", "dask"], choices=["local", "dask"])
    ap.add_argument("--log", action="store_true", help="logged runs (a new SQLite decision log each)")
    ap.add_argument("--one", nargs=2, metavar=("BACKEND", "WORKERS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one[0], int(args.one[1]), args.clients, args.log)), flush=True)
        return
    for workers in args.workers:
        for backend in args.backends:
            subprocess.run([sys.executable, __file__, "--clients", str(args.clients), "--one", backend,
                            str(workers), *(["--log"] if args.log else [])], check=True)


if __name__ == "__main__":
    main()
