"""A generated portfolio of any size as Parquet datasets, and ``rm-advisor batch`` run on it with
the peak memory of every process it starts.

Run by hand (not part of `make test`):

    .venv/bin/python bench/portfolio_files.py write --clients 1000000 --dir /tmp/p1m
    .venv/bin/python bench/portfolio_files.py run --dir /tmp/p1m -- --backend dask --jobs 2

``write`` generates the sample portfolio (:func:`engine.portfolio.generate`, 50 clients per manager)
in pieces of 50,000 clients, each piece's ids prefixed with its number (``P07T000123``), and writes
each piece as one file of each dataset (``clients/part-07.parquet``, ``managers/…``, ``history/…``,
``links/…``): no process ever holds more than one piece. ``run`` starts ``rm-advisor batch`` on the
datasets (``--as-of`` the sample's date, outputs in a new temporary folder, removed after), polls
the resident memory of the command and of every process under it (dask's scheduler, nannies and
workers, or the local worker pool) every half second, and prints one JSON line: the seconds, the
summary's counts, and the peak resident memory of the calling process and of the largest other
process (MiB), with the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PIECE = 50_000
#: the columns that hold ids, by table: a piece's ids are prefixed in all of them
ID_COLUMNS = {"clients": ("id", "manager_id"), "managers": ("id",), "history": ("id", "client_id", "manager_id"),
              "links": ("id", "from_client", "to_client")}


def write(clients: int, root: Path) -> None:
    """The portfolio of ``clients`` clients in pieces under ``root``."""
    from rm_advisor.engine.portfolio import generate

    pieces = max(1, -(-clients // PIECE))
    for i in range(pieces):
        n = min(PIECE, clients - i * PIECE)
        p = generate(n, max(3, n // 50), seed=1000 + i)
        for name, cols in ID_COLUMNS.items():
            frame = getattr(p, name).copy()
            for c in cols:
                frame[c] = frame[c].map(lambda v, k=i: f"P{k:02d}{v}" if isinstance(v, str) else v)
            (root / name).mkdir(parents=True, exist_ok=True)
            frame.to_parquet(root / name / f"part-{i:02d}.parquet", index=False)
        print(f"piece {i + 1}/{pieces}: {n} clients, {len(p.history)} events", flush=True)


def run(root: Path, extra: list[str]) -> dict[str, Any]:
    """``rm-advisor batch`` on the datasets under ``root``, its processes' peak memory polled."""
    import psutil  # type: ignore[import-untyped]  # (comes with distributed; no stubs installed)

    out = Path(tempfile.mkdtemp(prefix="rm-advisor-bench-out-"))
    cmd = [str(Path(sys.executable).with_name("rm-advisor")), "batch", "--clients", str(root / "clients"),
           "--managers", str(root / "managers"), "--history", str(root / "history"), "--links", str(root / "links"),
           "--as-of", "2026-11-23", "--out", str(out), *extra]
    load_before = Path("/proc/loadavg").read_text().split()[:3]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    top = psutil.Process(proc.pid)
    peaks: dict[int, tuple[str, int]] = {}
    while proc.poll() is None:
        try:
            for p in [top, *top.children(recursive=True)]:
                try:
                    rss = p.memory_info().rss
                    name = " ".join(p.cmdline()[:3])[-80:]
                except psutil.Error:
                    continue
                if rss > peaks.get(p.pid, ("", 0))[1]:
                    peaks[p.pid] = (name, rss)
        except psutil.Error:
            pass
        time.sleep(0.5)
    seconds = time.perf_counter() - started
    stdout = proc.stdout.read() if proc.stdout else ""
    summary = json.loads((out / "summary.json").read_text()) if (out / "summary.json").exists() else {}
    shutil.rmtree(out, ignore_errors=True)
    others = [rss for pid, (_, rss) in peaks.items() if pid != proc.pid]
    return {"command": " ".join(extra), "exit": proc.returncode, "seconds": round(seconds, 1),
            "clients": summary.get("clients"), "managers": summary.get("managers"),
            "recommendations": summary.get("recommendations"), "bad_rows": summary.get("bad_rows"),
            "caller_peak_mib": round(peaks.get(proc.pid, ("", 0))[1] / 2**20),
            "largest_other_peak_mib": round(max(others, default=0) / 2**20), "processes": len(peaks),
            "loadavg_before": load_before, "loadavg_after": Path("/proc/loadavg").read_text().split()[:3],
            "summary_line": stdout.strip().splitlines()[0] if stdout.strip() else ""}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="what", required=True)
    w = sub.add_parser("write")
    w.add_argument("--clients", type=int, default=1_000_000)
    w.add_argument("--dir", type=Path, required=True)
    r = sub.add_parser("run")
    r.add_argument("--dir", type=Path, required=True)
    r.add_argument("extra", nargs=argparse.REMAINDER, help="after --: rm-advisor batch options")
    args = ap.parse_args()
    if args.what == "write":
        write(args.clients, args.dir)
    else:
        extra = args.extra[1:] if args.extra[:1] == ["--"] else args.extra
        print(json.dumps(run(args.dir, extra), ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
