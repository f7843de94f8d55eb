"""engine/loading/sources.py: which files of a rule directory and a knowledge-base folder are read,
how they are named, and that they are read as UTF-8."""

from __future__ import annotations

from pathlib import Path

import pytest

from rm_advisor.engine.errors import RuleError
from rm_advisor.engine.loading.sources import (
    KB_PREFIX,
    default_kb_dir,
    default_rules_dir,
    is_policy_file,
    read_kb_files,
    read_rule_files,
    read_scenario_files,
)
from tests.conftest import ROOT


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    return _write(tmp_path / "rules", {
        "tobacco.yaml": "pack: tobacco  # 烟草\n", "more/bank.yaml": "pack: bank\n",
        "contact.policies.yaml": "policies: []\n", "tobacco.scenarios.yaml": "scenarios: []\n",
        "old.yml": "pack: old\n", "rules.schema.json": "{}\n", "README.md": "# rules\n"})


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    return _write(tmp_path / "my_kb", {
        "facts.yaml": "facts: {}\n", "actions.yaml": "actions: []\n", "signals/bank.yaml": "signals: []\n",
        "facts/telecom.yaml": "extend: {}\n", "samples/demo_facts.yaml": "clients: []\n",
        "signals/deeper/x.yaml": "signals: []\n", "notes/n.yaml": "n: 1\n", "README.md": "# kb\n"})


def test_rule_files_are_the_yaml_files_but_scenarios_policies_included(rules: Path) -> None:
    files = read_rule_files(rules, relative=True)
    assert files == {"contact.policies.yaml": "policies: []\n", "more/bank.yaml": "pack: bank\n",
                     "tobacco.yaml": "pack: tobacco  # 烟草\n"}
    assert list(files) == sorted(files)


def test_scenario_files_are_read_on_their_own(rules: Path) -> None:
    assert {Path(n).name: t for n, t in read_scenario_files(rules).items()} == {
        "tobacco.scenarios.yaml": "scenarios: []\n"}


def test_files_are_named_as_a_command_line_shows_them(rules: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # outside the working directory: the full path; under it: the path from it
    assert set(read_rule_files(rules)) == {str(rules / n) for n in ("contact.policies.yaml", "more/bank.yaml",
                                                                    "tobacco.yaml")}
    monkeypatch.chdir(rules.parent)
    assert set(read_rule_files("rules")) == {"rules/contact.policies.yaml", "rules/more/bank.yaml",
                                             "rules/tobacco.yaml"}


def test_one_file_may_be_read_on_its_own(rules: Path) -> None:
    assert read_rule_files(rules / "more" / "bank.yaml", relative=True) == {"bank.yaml": "pack: bank\n"}
    assert read_rule_files(rules / "tobacco.scenarios.yaml", relative=True) == {
        "tobacco.scenarios.yaml": "scenarios: []\n"}  # named, so read whatever it is


def test_knowledge_base_files_are_the_top_folder_signals_and_facts(kb: Path) -> None:
    files = read_kb_files(kb, relative=True)
    assert sorted(files) == [KB_PREFIX + n for n in ("actions.yaml", "facts.yaml", "facts/telecom.yaml",
                                                     "signals/bank.yaml")]
    assert files[KB_PREFIX + "facts/telecom.yaml"] == "extend: {}\n"
    assert {Path(n).name for n in read_kb_files(kb)} == {"actions.yaml", "facts.yaml", "telecom.yaml", "bank.yaml"}


def test_the_shipped_rules_and_knowledge_base_are_the_defaults() -> None:
    assert default_rules_dir().resolve() == ROOT / "rules"
    assert default_kb_dir().resolve() == ROOT / "knowledge_base"
    assert read_kb_files(relative=True) == read_kb_files(ROOT / "knowledge_base", relative=True)
    assert KB_PREFIX + "facts.yaml" in read_kb_files(relative=True)


def test_policy_files_are_told_apart_by_their_suffix() -> None:
    assert is_policy_file("rules/contact.policies.yaml") and is_policy_file("x.policies.yaml")
    assert not is_policy_file("rules/policies.yaml") and not is_policy_file("rules/contact.policies.yml")


def test_files_are_read_as_utf8_and_bytes_that_are_not_are_refused_at_their_place(
        rules: Path, kb: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert read_rule_files(rules / "tobacco.yaml", relative=True) == {"tobacco.yaml": "pack: tobacco  # 烟草\n"}
    (rules / "latin1.yaml").write_bytes("pack: x\n# café\n".encode("latin-1"))
    (rules / "more" / "gbk.yaml").write_bytes("pack: y  # 烟草\n".encode("gbk"))
    monkeypatch.chdir(rules.parent)
    with pytest.raises(RuleError) as exc:
        read_rule_files(rules, relative=True)  # named by their path: the author must find the file
    assert [(d.code, d.location.file, d.location.line, d.location.column) for d in exc.value.diagnostics] == [
        ("file_not_utf8", "rules/latin1.yaml", 2, 6), ("file_not_utf8", "rules/more/gbk.yaml", 1, 12)]
    assert "UTF-8" in exc.value.diagnostics[0].hint and "0xe9" in exc.value.diagnostics[0].message
    (kb / "signals" / "bank.yaml").write_bytes(b"\xff\xfes\x00")  # UTF-16
    with pytest.raises(RuleError) as kb_exc:
        read_kb_files(kb)
    assert [d.location.file for d in kb_exc.value.diagnostics] == ["my_kb/signals/bank.yaml"]
    (rules / "tobacco.scenarios.yaml").write_bytes(b"scenarios: []  # \xb2\xe2\n")
    with pytest.raises(RuleError):
        read_scenario_files(rules)


def test_the_arbitration_file_is_told_apart_by_its_name() -> None:
    from rm_advisor.engine.loading.sources import is_arbitration_file

    assert is_arbitration_file("rules/arbitration.yaml") and is_arbitration_file("x/042_arbitration.yaml")
    assert is_arbitration_file("tobacco.arbitration.yaml")
    assert not is_arbitration_file("rules/arbitration.yml") and not is_arbitration_file("rules/arbitration.yaml.bak")
