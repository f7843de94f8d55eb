"""Bounded load run of the HTTP API against a local server, on loopback only, with wrk.

Starts ``rm-advisor serve`` on 127.0.0.1 with 1 and then 2 workers, drives it with wrk
(Debian: ``apt-get install wrk``) at rising concurrency for a fixed time per step, and checks
every answer against the answer computed in-process, one request at a time: any other status or
body (apart from the per-answer ``decision_id``) counts as a wrong answer. Prints requests per
second with p50/p99 latency, errors and wrong answers, as a Markdown table.

The server logs every decision, as it does by default, into a SQLite file in a temporary
directory (no feedback is given, so every answer stays the same); ``--no-decision-log`` measures
deciding alone.

    .venv/bin/python bench/load_api.py                       # 1 and 2 workers, 1..16 connections, 10 s each
    .venv/bin/python bench/load_api.py --duration 5 --connections 1,4 --workers 2 --json out.json
    .venv/bin/python bench/load_api.py --no-decision-log     # without the decision log

Run by hand (not in `make test`); record the numbers in README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient  # noqa: E402
from pydantic import SecretStr  # noqa: E402

from rm_advisor.api.app import create_app  # noqa: E402
from rm_advisor.api.settings import Settings  # noqa: E402
from rm_advisor.cli.main import sample_facts_path  # noqa: E402

LUA = r"""
local specs, requests, expected = {}, {}, {}
%(entries)s
-- counters are globals: done() reads them from each thread with thread:get
i, wrong, bad_status = 0, 0, 0
function init(args)
  -- formatted here, not at load time, so that wrk has set the Host header
  for n, spec in ipairs(specs) do
    requests[n] = wrk.format("POST", spec[1], {["Content-Type"] = "application/json"}, spec[2])
  end
end
function request()
  i = i %% #requests + 1
  return requests[i]
end
function response(status, headers, body)
  if status ~= 200 then bad_status = bad_status + 1 return end
  local id = body:match('"subject":{"subject_type":"client","id":"([^"]+)"')
  local stable = body:gsub('"decision_id":"[^"]*",', '', 1)
  if id == nil or expected[id] ~= stable then wrong = wrong + 1 end
end
local threads = {}
function setup(thread) table.insert(threads, thread) end
function done(summary, latency, reqs)
  local w, s = 0, 0
  for _, t in ipairs(threads) do w = w + t:get("wrong"); s = s + t:get("bad_status") end
  local e = summary.errors
  io.write(string.format('RESULT {"requests": %%d, "seconds": %%f, "p50_us": %%d, "p99_us": %%d, ' ..
    '"max_us": %%d, "socket_errors": %%d, "bad_status": %%d, "wrong": %%d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99), latency.max,
    e.connect + e.read + e.write + e.timeout, s, w))
end
"""


def _lua_string(text: str) -> str:
    level = "=" * 4
    assert f"]{level}]" not in text
    return f"[{level}[{text}]{level}]"


def requests_and_answers(settings: Settings) -> list[tuple[str, str, str]]:
    """(path, body, expected answer without decision_id) for each sample client with its related facts,
    the answer computed in-process one request at a time."""
    doc = json.loads(json.dumps(yaml.safe_load(sample_facts_path().read_text(encoding="utf-8")), default=str))
    out = []
    with TestClient(create_app(settings)) as client:
        for c in doc["clients"]:
            facts = {"as_of": doc["as_of"], "clients": [c],
                     "managers": [m for m in doc["managers"] if m["id"] == c["manager_id"]],
                     "interactions": [i for i in doc["interactions"] if i["client_id"] == c["id"]]}
            path = f"/v1/decisions/client/{c['id']}?lang=en"
            body = json.dumps(facts, ensure_ascii=False)
            r = client.post(path, content=body.encode(), headers={"Content-Type": "application/json"})
            assert r.status_code == 200, r.text
            stable = r.text.replace(f'"decision_id":"{r.json()["decision_id"]}",', "", 1)
            out.append((path, body, stable))
    return out


def lua_script(cases: list[tuple[str, str, str]]) -> str:
    entries = []
    for n, (path, body, stable) in enumerate(cases, 1):
        subject = path.split("/")[4].split("?")[0]
        entries.append(f"specs[{n}] = {{ {_lua_string(path)}, {_lua_string(body)} }}")
        entries.append(f"expected[ {_lua_string(subject)} ] = {_lua_string(stable)}")
    return LUA % {"entries": "\n".join(entries)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(workers: int, log: Path, settings: Settings) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    script = Path(sys.executable).parent / "rm-advisor"
    proc = subprocess.Popen([str(script), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers",
                             str(workers), "--no-access-log", "--log-level", "warning"],
                            cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT,
                            env={**os.environ, **settings.model_copy(update={"workers": workers}).to_env()})
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited:\n{log.read_text()}")
        try:
            if httpx.get(base + "/readyz", timeout=10).status_code == 200:
                return proc, base
        except httpx.TransportError:
            time.sleep(0.3)
    proc.terminate()
    raise SystemExit("server did not become ready")


def run_wrk(base: str, script: Path, connections: int, seconds: int) -> dict[str, Any]:
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", str(script),
                          base], capture_output=True, text=True, timeout=seconds + 60, check=True)
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("RESULT "))
    result: dict[str, Any] = json.loads(line.removeprefix("RESULT "))
    result["rps"] = result["requests"] / result["seconds"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per step (bounded: at most 60)")
    parser.add_argument("--connections", default="1,2,4,8,16", help="concurrent connections per step")
    parser.add_argument("--workers", default="1,2", help="worker counts to measure")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--no-decision-log", dest="decision_log", action="store_false",
                        help="serve without logging decisions (default: log into a temporary SQLite file)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    seconds = max(1, min(args.duration, 60))
    levels = [int(c) for c in args.connections.split(",")]
    load_before = os.getloadavg()[0]
    results = []
    with tempfile.TemporaryDirectory(prefix="rm-advisor-bench-") as tmp:
        expected = SecretStr(f"sqlite:///{tmp}/expected.db")
        cases = requests_and_answers(Settings(decision_log=args.decision_log, db_url=expected))
        script = Path(tmp) / "decide.lua"
        script.write_text(lua_script(cases), encoding="utf-8")
        for workers in (int(w) for w in args.workers.split(",")):
            db = SecretStr(f"sqlite:///{tmp}/served-{workers}.db")
            served = Settings(decision_log=args.decision_log, db_url=db)
            proc, base = start_server(workers, Path(tmp) / f"server-{workers}.log", served)
            try:
                run_wrk(base, script, max(levels), 3)  # warm-up: every worker thread builds its engine
                for c in levels:
                    r = run_wrk(base, script, c, seconds)
                    results.append({"workers": workers, "connections": c, **r})
                    print(f"workers={workers} connections={c}: {r['rps']:.1f} req/s, p99 {r['p99_us'] / 1000:.0f} ms,"
                          f" errors {r['socket_errors'] + r['bad_status']}, wrong {r['wrong']}", file=sys.stderr)
            finally:
                proc.terminate()
                proc.wait(30)
    load = os.getloadavg()[0]
    print(f"\nrm-advisor HTTP API, POST /v1/decisions/client/{{id}} ({len(cases)} sample clients in rotation), "
          f"decision log {'on (SQLite file)' if args.decision_log else 'off'}, {seconds} s per step, "
          f"{os.cpu_count()} cores (load average before {load_before:.1f}, after {load:.1f}), "
          f"wrk -t1 on loopback\n")
    print("| workers | connections | req/s | p50 ms | p99 ms | errors | wrong answers |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['workers']} | {r['connections']} | {r['rps']:.1f} | {r['p50_us'] / 1000:.1f} | "
              f"{r['p99_us'] / 1000:.1f} | {r['socket_errors'] + r['bad_status']} | {r['wrong']} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    if any(r["socket_errors"] or r["bad_status"] or r["wrong"] for r in results):
        raise SystemExit("errors or wrong answers under load")


if __name__ == "__main__":
    main()
