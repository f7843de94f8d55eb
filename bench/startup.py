"""Start-up time of the ``rm-advisor`` command: what a user waits for before anything happens.

Run by hand (not part of `make test`):

    .venv/bin/python bench/startup.py --runs 7
    .venv/bin/python bench/startup.py --runs 7 --busy 2      # with a CPU-bound loop per core

Each command runs ``--runs`` times as a fresh process (the first run warms the disk cache and is
not counted); the median and the slowest of the counted runs are printed, in seconds:

* ``--help``: the command list (loads typer and the command signatures only);
* ``check``: check the shipped rule packs (YAML, schema, references, static analysis);
* ``recommend``: decide the bundled sample facts (``knowledge_base/samples/demo_facts.yaml``);
* ``serve`` with 1 and 2 workers: from the start of the process until ``/readyz`` answers 200 on
  every worker (``--no-decision-log``, a free loopback port).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = str(Path(sys.executable).with_name("rm-advisor"))
DEMO = str(ROOT / "knowledge_base" / "samples" / "demo_facts.yaml")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(*args: str) -> float:
    start = time.perf_counter()
    subprocess.run([CLI, *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    return time.perf_counter() - start


def _pids_ready(port: int) -> set[str]:
    """The worker pids that answered /readyz with 200 (one request)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as r:
            return {str(json.loads(r.read())["pid"])} if r.status == 200 else set()
    except (urllib.error.URLError, ConnectionError, OSError, ValueError, KeyError):
        return set()


def _serve(workers: int, limit: float = 180) -> float:
    port = _free_port()
    start = time.perf_counter()
    proc = subprocess.Popen([CLI, "serve", "--port", str(port), "--workers", str(workers), "--no-decision-log",
                             "--no-access-log"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    seen: set[str] = set()
    try:
        while len(seen) < workers:
            if proc.poll() is not None or time.perf_counter() - start > limit:
                raise RuntimeError(f"serve --workers {workers} did not become ready")
            seen |= _pids_ready(port)
            if len(seen) < workers:
                time.sleep(0.05)
        return time.perf_counter() - start
    finally:
        proc.terminate()
        proc.wait(30)


def _measure(name: str, fn: Callable[[], float], runs: int) -> dict[str, float | str]:
    fn()  # warm the disk cache; not counted
    times = [fn() for _ in range(runs)]
    return {"command": name, "median_s": statistics.median(times), "max_s": max(times)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--busy", type=int, default=0, help="CPU-bound processes running meanwhile (one per core: 2)")
    ap.add_argument("--only", default="", help="only the commands whose name contains this text (e.g. serve)")
    args = ap.parse_args()
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
    try:
        _table(args.runs, args.busy, args.only)
    finally:
        for hog in hogs:
            hog.kill()


def _table(runs: int, busy: int, only: str) -> None:
    cases: list[tuple[str, Callable[[], float]]] = [
        ("rm-advisor --help", lambda: _run("--help")),
        ("rm-advisor check", lambda: _run("check")),
        ("rm-advisor recommend demo_facts.yaml", lambda: _run("recommend", DEMO)),
        ("rm-advisor serve (1 worker, until ready)", lambda: _serve(1)),
        ("rm-advisor serve --workers 2 (until both ready)", lambda: _serve(2)),
    ]
    cases = [(name, fn) for name, fn in cases if only in name]
    print(f"# {platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f}, {busy} busy loop(s), {runs} runs each")
    print("| command | median s | slowest s |")
    print("|---|---:|---:|")
    for name, fn in cases:
        row = _measure(name, fn, runs)
        print(f"| `{row['command']}` | {row['median_s']:.2f} | {row['max_s']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
