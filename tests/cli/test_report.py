"""cli/report.py: the report links each manager's worklist to the workspace pages when a server
is configured (RM_ADVISOR_WORKSPACE_URL), and links nowhere otherwise (a self-contained file)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rm_advisor.cli.main import app
from rm_advisor.cli.report import WORKSPACE_URL_ENV, workspace_url

runner = CliRunner()


def _report(out: Path) -> str:
    result = runner.invoke(app, ["batch", "--sample-clients", "60", "--jobs", "1", "--lang", "en", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return (out / "report.html").read_text(encoding="utf-8")


def test_the_report_links_to_the_workspace_when_a_server_is_configured(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(WORKSPACE_URL_ENV, "https://rm.example.internal/")
    linked = _report(tmp_path / "linked")
    weeks = re.findall(r'href="https://rm\.example\.internal/app/week/([^"]+)"', linked)
    assert sorted(weeks) == ["MB001", "MC001", "MT001"]
    assert 'href="https://rm.example.internal/app/held/MT001"' in linked
    monkeypatch.delenv(WORKSPACE_URL_ENV)
    alone = _report(tmp_path / "alone")
    assert "/app/" not in alone and not re.search(r'(href|src)="https?://', alone)


def test_only_an_http_address_is_a_workspace() -> None:
    assert workspace_url("http://127.0.0.1:8000/") == "http://127.0.0.1:8000"
    assert workspace_url("javascript:alert(1)") is None and workspace_url("") is None
