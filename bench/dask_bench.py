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
With ``--write`` each run also writes the outputs as ``rm-advisor batch`` does (CSV tables, the
decisions, report.html, in a new folder in the system's temporary folder): on a revision where the
workers write them (since issue 18, ``cli/outputs.py``) through the run's writer, on an earlier one
from the decisions that came back (``write_outputs``), so the peak covers what the command holds.
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


def one(backend: str, workers: int, clients: int, log: bool = False, write: bool = False) -> dict[str, Any]:
    """One batch in this process (logged in a new SQLite file with ``log``; its outputs written with ``write``)."""
    import dataclasses
    import importlib.util
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
    out = Path(tempfile.mkdtemp(prefix="rm-advisor-bench-out-"))
    writer = None
    if write and importlib.util.find_spec("rm_advisor.cli.outputs") is not None:  # the workers write
        from rm_advisor.cli.outputs import OutputWriter, TableFormat

        writer = OutputWriter(out, TableFormat.csv)
        plan = dataclasses.replace(plan, writer=writer)
    if backend == "dask":
        with connect_cluster(None, workers) as client:
            if writer is not None:
                writer.start(in_parts=True)
            result = run_batch(advisor, dataclasses.replace(plan, jobs=0, backend=DaskBackend(client, texts)))
            if write:
                _written(result, writer, out, advisor)
            worker_rss = max(client.run(_peak_rss).values())
    else:
        result = run_batch(advisor, plan)
        if write:
            _written(result, writer, out, advisor)
        worker_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # the largest pool process
    seconds = time.perf_counter() - started
    return {"backend": backend, "workers": workers, "clients": result.counts.clients,
            "managers": result.counts.managers, "seconds": round(seconds, 1),
            "clients_per_s": round(result.counts.clients / seconds), "caller_peak_mib": _mib(_peak_rss()),
            "largest_worker_peak_mib": _mib(worker_rss), "logged": result.logged, "written": write,
            "loadavg": Path("/proc/loadavg").read_text().split()[:3]}


def _written(result: Any, writer: Any, out: Path, advisor: Any) -> None:
    """The outputs of ``result`` under ``out`` as ``rm-advisor batch`` writes them (then removed):
    joined from the workers' parts with a ``writer``, else written from the decisions that came back."""
    import importlib
    import shutil

    report: Any = importlib.import_module("rm_advisor.cli.report")
    if writer is not None:
        writer.finish(result.parts)
        report.write_report(result.piece, result.run.tables, out / "report.html", advisor.book)
    else:  # a revision before the workers wrote: the calling process writes from the decisions
        old: Any = importlib.import_module("rm_advisor.cli.batch")
        old.write_outputs(result.run, out, old.TableFormat.csv)
        report.write_report(result.run, out / "report.html", advisor.book)
    shutil.rmtree(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=1_000_000)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--backends", nargs="+", default=["local", "dask"], choices=["local", "dask"])
    ap.add_argument("--log", action="store_true", help="logged runs (a new SQLite decision log each)")
    ap.add_argument("--write", action="store_true", help="write the outputs as rm-advisor batch does (CSV)")
    ap.add_argument("--one", nargs=2, metavar=("BACKEND", "WORKERS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one[0], int(args.one[1]), args.clients, args.log, args.write)), flush=True)
        return
    for workers in args.workers:
        for backend in args.backends:
            subprocess.run([sys.executable, __file__, "--clients", str(args.clients), "--one", backend,
                            str(workers), *(["--log"] if args.log else []), *(["--write"] if args.write else [])],
                           check=True)


if __name__ == "__main__":
    main()
