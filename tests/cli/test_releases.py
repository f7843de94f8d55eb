"""cli/releases.py: rule releases from the command line, on a SQLite file: four eyes on names while the
database has accounts, the direct path of a single-operator install, rollback and the audit trail."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from rm_advisor.cli.main import app
from rm_advisor.store import Store
from tests.conftest import ROOT

runner = CliRunner()
PASSWORD = "a-long-password-1"
ACTION = "action: guide_to_network_ordering"


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'advisor.db'}"


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def _changed(tmp_path: Path, priority: int) -> Path:
    """The shipped rule packs with the network-ordering action at another priority."""
    folder = tmp_path / f"rules-{priority}"
    folder.mkdir()
    for path in (ROOT / "rules").glob("*.yaml"):
        if not path.name.endswith(".scenarios.yaml"):
            shutil.copy(path, folder / path.name)
    text = (folder / "tobacco.yaml").read_text(encoding="utf-8")
    (folder / "tobacco.yaml").write_text(text.replace(ACTION, f"{ACTION}\n          priority: {priority}", 1),
                                         encoding="utf-8")
    return folder


def _json(*args: str) -> Any:
    code, output = run(*args, "--format", "json")
    assert code == 0, output
    return json.loads(output)


def test_with_accounts_a_rule_author_proposes_and_only_another_administrator_approves(db: str,
                                                                                     tmp_path: Path) -> None:
    with Store(db) as store:
        for name, role in (("rita", "rule_author"), ("ada", "administrator"), ("wang", "manager")):
            store.users.add(name, PASSWORD, role, manager_id="M-T01" if role == "manager" else None)
    rules = str(_changed(tmp_path, 1))
    code, output = run("release", "propose", rules, "--by", "wang", "--db", db)
    assert code == 1 and "wang (manager) may not propose" in output
    code, output = run("release", "propose", rules, "--by", "rita", "--direct", "--db", db)
    assert code == 1 and "without --direct" in output  # four_eyes_required
    release = _json("release", "propose", rules, "--by", "rita", "--note", "network ordering first", "--db", db)
    assert (release["state"], release["proposed_by"], release["diff"]["basis"]) == ("proposed", "rita",
                                                                                    "sample_portfolio")
    assert release["diff"]["by_item"]["guide_to_network_ordering"]["reranked"] >= 1
    rid = str(release["id"])
    code, output = run("release", "approve", rid, "--by", "rita", "--db", db)
    assert code == 1 and "rita (rule_author) may not approve" in output
    with Store(db) as store:
        store.users.add("alan", PASSWORD, "administrator")
    code, output = run("release", "propose", str(_changed(tmp_path, 2)), "--by", "alan", "--db", db)
    assert code == 0, output
    code, output = run("release", "approve", "2", "--by", "alan", "--db", db)
    assert code == 1 and "release_self_approval" in output
    approved = _json("release", "approve", rid, "--by", "ada", "--note", "diff read", "--db", db)
    assert (approved["state"], approved["decided_by"]) == ("active", "ada")
    shown = _json("release", "show", rid, "--db", db)
    assert [(e["event"], e["by"]) for e in shown["events"]] == [("proposed", "rita"), ("approved", "ada")]
    code, output = run("release", "show", rid, "--db", db)
    assert code == 0 and "guide_to_network_ordering" in output and "approved (active) ada: diff read" in output


def test_a_single_operator_releases_directly_and_rolls_back_to_a_named_revision(db: str, tmp_path: Path) -> None:
    first = _json("release", "propose", str(_changed(tmp_path, 1)), "--by", "ops", "--direct", "--db", db)
    assert first["state"] == "active" and [e["event"] for e in first["events"]] == ["proposed", "direct"]
    second = _json("release", "propose", str(_changed(tmp_path, 2)), "--by", "ops", "--direct", "--db", db)
    assert second["base_revision"] == first["revision"]  # diffed against the active release
    back = _json("release", "rollback", first["revision"], "--by", "ops", "--note", "back", "--db", db)
    assert (back["id"], back["state"]) == (first["id"], "active")
    states = {r["id"]: r["state"] for r in _json("release", "list", "--db", db)}
    assert states == {first["id"]: "active", second["id"]: "rolled_back"}
    code, output = run("release", "rollback", "r-000000000000", "--by", "ops", "--db", db)
    assert code == 1 and "release_not_found" in output


def test_a_rule_directory_that_does_not_check_is_refused_with_located_diagnostics(db: str, tmp_path: Path) -> None:
    folder = _changed(tmp_path, 1)
    text = (folder / "tobacco.yaml").read_text(encoding="utf-8")
    (folder / "tobacco.yaml").write_text(text.replace("priority: 70", "priority: 700", 1), encoding="utf-8")
    code, output = run("release", "propose", str(folder), "--by", "ops", "--db", db)
    assert code == 1 and "tobacco.yaml:" in output and "schema_violation" in output
    assert _json("release", "list", "--db", db) == []
