"""`rm-advisor serve` as a real server for tests: a subprocess on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.api.conftest import KEY
from tests.conftest import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _command() -> list[str]:
    script = Path(sys.executable).parent / "rm-advisor"
    return [str(script)] if script.exists() else [sys.executable, "-m", "rm_advisor.cli.main"]


class Server:
    """``rm-advisor serve`` with the test API key, logging decisions into ``db_url`` (None: no log);
    ``env``: more ``RM_ADVISOR_*`` settings (the admin key)."""

    def __init__(self, log: Path, db_url: str | None, workers: int = 1, rules: Path | None = None,
                 env: dict[str, str] | None = None):
        self.rules = rules
        self.base = f"http://127.0.0.1:{free_port()}"
        self.log = log
        args = ["serve", "--port", self.base.rsplit(":", 1)[1], "--workers", str(workers), "--no-access-log"]
        args += ["--rules", str(rules)] if rules else []
        self.proc = subprocess.Popen(
            [*_command(), *args], cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT,
            env={**{k: v for k, v in os.environ.items() if k != "RM_ADVISOR_DB_URL"}, "RM_ADVISOR_API_KEY": KEY,
                 **({"RM_ADVISOR_DB_URL": db_url} if db_url else {"RM_ADVISOR_DECISION_LOG": "false"}), **(env or {})})

    def get(self, path: str, **kw: Any) -> httpx.Response:
        # a new connection each time, so requests spread over the workers
        return httpx.get(self.base + path, timeout=60, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return httpx.post(self.base + path, timeout=60, **kw)

    def wait_ready(self, limit: float = 90) -> None:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                if self.get("/readyz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        raise AssertionError("server did not become ready:\n" + self.log.read_text())

    def stop(self) -> int:
        if self.proc.poll() is not None:
            return self.proc.returncode
        self.proc.terminate()
        try:
            return self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(30)
