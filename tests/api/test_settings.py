"""api/settings.py and api/server.py: flags or RM_ADVISOR_* variables; unsafe combinations are
refused; worker listeners are TCP sockets; spawned workers start light and the health-check timeout
reaches uvicorn."""

from __future__ import annotations

import multiprocessing
import socket
import sys
from multiprocessing.connection import Connection
from pathlib import Path

import pytest
from pydantic import ValidationError
from uvicorn.supervisors import Multiprocess

from rm_advisor.api import server
from rm_advisor.api.server import TcpConfig, workers_main
from rm_advisor.api.settings import Settings


def test_settings_come_from_prefixed_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RM_ADVISOR_PORT", "9123")
    monkeypatch.setenv("RM_ADVISOR_CORS_ORIGINS", "https://crm.example, https://b.example")
    monkeypatch.setenv("RM_ADVISOR_API_KEY", "k" * 20)
    s = Settings()
    assert s.port == 9123 and s.cors_origins == ("https://crm.example", "https://b.example")
    assert s.api_key is not None and s.api_key.get_secret_value() == "k" * 20
    assert "k" * 20 not in repr(s)  # the key is never shown
    assert Settings(port=8001).port == 8001  # flags win over the environment


def test_short_keys_and_protected_reads_without_a_key_are_refused() -> None:
    with pytest.raises(ValidationError, match="16 characters"):
        Settings(api_key="short")
    with pytest.raises(ValidationError, match="protect_reads needs an api_key"):
        Settings(protect_reads=True)


def test_the_admin_key_is_long_and_not_the_api_key() -> None:
    with pytest.raises(ValidationError, match="16 characters"):
        Settings(admin_key="short")
    with pytest.raises(ValidationError, match="must not be the API key"):
        Settings(api_key="k" * 16, admin_key="k" * 16)
    assert Settings(api_key="k" * 16, admin_key="a" * 16).to_env()["RM_ADVISOR_ADMIN_KEY"] == "a" * 16


def test_to_env_rebuilds_the_same_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    s = Settings(port=9000, workers=2, rules_dir=Path("/tmp/r"), api_key="x" * 16, protect_reads=True,
                 cors_origins=("https://a.example",), max_subjects=7, default_lang="en", decision_log=False,
                 db_url="postgresql://rm:pw@db.example/rm")
    for name, value in s.to_env().items():
        monkeypatch.setenv(name, value)
    assert Settings() == s


def test_the_decision_log_is_on_by_default_and_its_url_is_not_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RM_ADVISOR_DB_URL", raising=False)
    assert Settings().decision_log is True and Settings().database_url() is None  # the store's default file
    monkeypatch.setenv("RM_ADVISOR_DB_URL", "postgresql://rm:secret-pw@db.example/rm")
    s = Settings()
    assert s.database_url() == "postgresql://rm:secret-pw@db.example/rm" and "secret-pw" not in repr(s)


def test_regression_worker_listeners_are_tcp_so_responses_are_not_held_by_nagle() -> None:
    # uvicorn binds the --workers listener with proto 0; asyncio then leaves TCP_NODELAY off on
    # accepted connections and each keep-alive response waited ~40 ms for a delayed ACK
    config = TcpConfig("rm_advisor.api.app:app_from_env", factory=True, host="127.0.0.1", port=0, workers=2)
    sock = config.bind_socket()
    try:
        assert sock.proto == socket.IPPROTO_TCP and sock.getsockname()[0] == "127.0.0.1"
        sock.listen()  # the server does this when it starts
        peer = socket.create_connection(sock.getsockname())
        accepted, _ = sock.accept()
        assert accepted.proto == socket.IPPROTO_TCP  # what asyncio checks before setting TCP_NODELAY
        peer.close()
        accepted.close()
    finally:
        sock.close()


def test_the_worker_healthcheck_timeout_is_a_setting_with_a_safe_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().worker_healthcheck_timeout == 60
    monkeypatch.setenv("RM_ADVISOR_WORKER_HEALTHCHECK_TIMEOUT", "90")
    s = Settings()
    assert s.worker_healthcheck_timeout == 90 and s.to_env()["RM_ADVISOR_WORKER_HEALTHCHECK_TIMEOUT"] == "90"
    with pytest.raises(ValidationError):
        Settings(worker_healthcheck_timeout=0)
    seen: dict[str, object] = {}
    monkeypatch.setattr(Multiprocess, "run",
                        lambda self: seen.update(timeout=self.config.timeout_worker_healthcheck))
    monkeypatch.setattr(server.TcpConfig, "bind_socket", lambda self: socket.socket())
    server.run(s.model_copy(update={"workers": 2}))
    assert seen == {"timeout": 90}


def _report_main_and_cli(conn: Connection) -> None:
    """In a spawned process: the name of its ``__main__`` and which CLI-only modules it imported."""
    heavy = sorted(m for m in sys.modules if m.split(".")[0] in {"typer", "rich", "matplotlib", "pandas"}
                   or m.startswith("rm_advisor.cli"))
    conn.send((getattr(sys.modules["__main__"].__spec__, "name", None), heavy))
    conn.close()


def _spawn_and_report() -> tuple[str | None, list[str]]:
    ctx = multiprocessing.get_context("spawn")  # as uvicorn starts its workers
    ours, theirs = ctx.Pipe()
    proc = ctx.Process(target=_report_main_and_cli, args=(theirs,))
    proc.start()
    try:
        assert ours.poll(120), "the spawned process did not report"
        main, heavy = ours.recv()
        return main, heavy
    finally:
        proc.join(60)


def test_regression_spawned_workers_do_not_import_the_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    # A spawned worker re-imports the parent's __main__ before it answers uvicorn's health-check
    # pings. Under `rm-advisor serve` that was the console script, so every worker imported the
    # whole CLI first (1.5 s idle, 3-6 s with both cores busy) and missed the 5 s ping deadline.
    script = Path(sys.executable).parent / "rm-advisor"
    if not script.exists():
        pytest.skip("no rm-advisor console script beside this interpreter")
    main = sys.modules["__main__"]
    monkeypatch.setattr(main, "__spec__", None)  # as when the console script is the main module
    monkeypatch.setattr(main, "__file__", str(script), raising=False)
    _, heavy = _spawn_and_report()
    assert "rm_advisor.cli.main" in heavy  # the problem, as it was
    with workers_main():
        name, heavy = _spawn_and_report()
    assert name == "rm_advisor.api.server" and heavy == []
    assert main.__spec__ is None  # the parent's main module as it was
