"""cli/serve.py: `serve` refuses a broken rule set before starting; `openapi` writes and checks the spec."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from rm_advisor.api.openapi import SPEC_PATH
from rm_advisor.cli.main import app
from tests.cli.test_main import BROKEN

runner = CliRunner()


def test_serve_refuses_a_broken_rule_set_with_located_errors(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text(BROKEN, encoding="utf-8")
    result = runner.invoke(app, ["serve", "--rules", str(tmp_path), "--port", "1"])
    assert result.exit_code == 1
    assert "broken.yaml:9:" in result.output and "unknown_field" in result.output
    assert "not serving" in result.output


def test_serve_speaks_the_language_it_is_given(tmp_path: Path) -> None:
    # --lang is the server's default language (texts, problems) and the language of its own messages
    (tmp_path / "broken.yaml").write_text(BROKEN, encoding="utf-8")
    result = runner.invoke(app, ["serve", "--rules", str(tmp_path), "--port", "1", "--lang", "zh"])
    assert result.exit_code == 1 and "未启动服务：规则集有" in result.output
    result = runner.invoke(app, ["serve", "--rules", str(tmp_path), "--port", "1", "--default-lang", "en"])
    assert result.exit_code == 1 and "not serving: the rule set has" in result.output


def test_serve_refuses_a_decision_database_it_cannot_use(tmp_path: Path) -> None:
    not_a_db = tmp_path / "notes.db"
    not_a_db.write_text("not a database\n" * 100, encoding="utf-8")
    result = runner.invoke(app, ["serve", "--db", f"sqlite:///{not_a_db}", "--port", "1"])
    assert result.exit_code == 1
    assert "store_unavailable" in result.output and "not serving" in result.output


def test_serve_refuses_bad_settings() -> None:
    result = runner.invoke(app, ["serve", "--api-key", "short"])
    assert result.exit_code == 2 and "16 characters" in result.output


def test_openapi_writes_the_committed_spec_and_check_fails_on_a_stale_one(tmp_path: Path) -> None:
    written = tmp_path / "new.json"
    assert runner.invoke(app, ["openapi", "--out", str(written)]).exit_code == 0
    assert written.read_text(encoding="utf-8") == SPEC_PATH.read_text(encoding="utf-8")
    stale = tmp_path / "openapi.json"
    stale.write_text(SPEC_PATH.read_text(encoding="utf-8").replace("rm-advisor", "rm-adviser", 1), encoding="utf-8")
    result = runner.invoke(app, ["openapi", "--out", str(stale), "--check"])
    assert result.exit_code == 1 and "make openapi" in result.output
