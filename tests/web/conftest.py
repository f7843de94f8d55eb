"""Browser fixtures: Debian's Chromium driven by Playwright (no browser download), and the app
served by uvicorn in a thread of the test process on a free port, on a database with a logged
sample batch and the demo accounts.

Chromium comes from ``$RM_ADVISOR_TEST_CHROMIUM`` (``.ci/with-chromium`` installs Debian's package
with CJK fonts and sets it; ``.ci/run`` uses it), else ``/usr/bin/chromium``. When the variable is
set, a missing browser fails the tests; otherwise they are skipped, and pytest's summary says why
(as the PostgreSQL tests of tests/store do).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from rm_advisor.api.app import create_app
from rm_advisor.api.ruleset import LiveRuleSet
from rm_advisor.api.settings import Settings
from rm_advisor.cli.workspace import seed
from tests.conftest import ROOT

CHROMIUM_ENV = "RM_ADVISOR_TEST_CHROMIUM"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
#: screenshots of every page in zh and en, kept by CI as test artefacts
SCREENSHOTS = ROOT / "build" / "test-artefacts" / "screenshots"
#: small enough to log in seconds, large enough for the three domains' managers
CLIENTS = 60


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """The Chromium executable, or a skip (a failure when the variable was set explicitly)."""
    path = os.environ.get(CHROMIUM_ENV) or DEFAULT_CHROMIUM
    if not os.access(path, os.X_OK):
        reason = f"no Chromium at {path}"
        if os.environ.get(CHROMIUM_ENV):
            pytest.fail(f"{reason} ({CHROMIUM_ENV} is set, so the browser tests must run)")
        pytest.skip(f"{reason}; run `.ci/with-chromium make test` or set {CHROMIUM_ENV}")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("web")
    url = f"sqlite:///{folder / 'demo.db'}"
    seed(url, CLIENTS, folder / "batch")
    return url


@pytest.fixture(scope="module")
def base_url(chromium_path: str, demo_db: str) -> Iterator[str]:
    """The app on a free port of 127.0.0.1, served from a thread until the module's tests end."""
    settings = Settings(rules_dir=ROOT / "rules", kb_dir=ROOT / "knowledge_base", db_url=demo_db,
                        secure_cookies=False, request_log=False)
    app = create_app(settings, LiveRuleSet.start(settings))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
