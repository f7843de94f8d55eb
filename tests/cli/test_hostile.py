"""`rm-advisor recommend` and `decide` on the hostile inputs of issue 12: located diagnostics and
exit 1 (refused facts) or 2 (a bad option), never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from rm_advisor.cli.main import app
from rm_advisor.engine import Advisor
from tests.hostile import HOSTILE, body, telecom

runner = CliRunner()
COMMANDS = {"recommend": [], "decide": ["--db"]}


@pytest.fixture(autouse=True)
def shipped(advisor: Advisor, monkeypatch: pytest.MonkeyPatch) -> None:
    """The session's compiled shipped rules instead of compiling them for every command."""
    monkeypatch.setattr(Advisor, "load", classmethod(lambda cls, *args, **kwargs: advisor))


def run(command: str, facts: Path, tmp_path: Path, *extra: str) -> tuple[int, str, BaseException | None]:
    args = [command, str(facts), *extra]
    if command == "decide":
        args += ["--db", f"sqlite:///{tmp_path / 'log.db'}"]
    result = runner.invoke(app, args)
    return result.exit_code, result.output, result.exception


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("name", ["as_of_0001", "as_of_9999", "expiry_and_as_of_9999", "surrogate_name",
                                  "surrogate_id", "surrogate_contact_person", "surrogate_note", "nan", "nul_id",
                                  "id_too_long"])
def test_hostile_facts_are_refused_with_located_diagnostics(command: str, name: str, tmp_path: Path) -> None:
    doc, expected = HOSTILE[name]
    facts = tmp_path / "facts.json"
    facts.write_bytes(body(doc))
    code, output, exc = run(command, facts, tmp_path)
    assert code == 1 and isinstance(exc, SystemExit), output
    assert "Traceback" not in output
    for diag_code, path in expected:
        assert f"{path}: {diag_code} " in output


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("as_of", ["2026-13-01", "0", "20261123", "9999-12-31", "0001-01-01"])
def test_a_bad_as_of_option_is_a_usage_error(command: str, as_of: str, tmp_path: Path) -> None:
    facts = tmp_path / "facts.json"
    facts.write_bytes(body(telecom()))
    code, output, exc = run(command, facts, tmp_path, "--as-of", as_of)
    assert code == 2 and isinstance(exc, SystemExit), output
    assert "--as-of" in output and "Traceback" not in output


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_the_last_day_of_the_business_calendar_is_decided(command: str, tmp_path: Path) -> None:
    facts = tmp_path / "facts.json"
    facts.write_bytes(body(telecom(agreement_expiry="2199-12-31")))
    code, output, _ = run(command, facts, tmp_path, "--as-of", "2199-12-31", "--brief")
    assert code == 0, output
    assert "as of 2199-12-31" in output


def test_a_yaml_file_with_a_nul_or_a_surrogate_escape_is_refused(tmp_path: Path) -> None:
    facts = tmp_path / "facts.yaml"
    facts.write_text('clients: [{id: C1, manager_id: M1, domain: telecom, name: "\\ud800"}]\n', encoding="utf-8")
    code, output, _ = run("recommend", facts, tmp_path)
    assert code == 1 and "clients[0].name: fact_bad_value" in output
    facts.write_bytes(b"clients: [{id: C\x001}]\n")
    code, output, _ = run("recommend", facts, tmp_path)
    assert code == 1 and "Traceback" not in output
