"""docs/authoring-guide.*.md: the walkthrough works as written, the excerpts are the shipped rules,
the commands exist; the editor schemas and the pre-commit hooks are wired up."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from rm_advisor.cli.main import app, sample_facts_path
from tests.conftest import ROOT

GUIDES = [ROOT / "docs" / "authoring-guide.en.md", ROOT / "docs" / "authoring-guide.zh.md"]
runner = CliRunner()


def blocks(path: Path, marker: str) -> list[str]:
    """Fenced blocks that follow an HTML comment ``<!-- marker -->``."""
    text = path.read_text(encoding="utf-8")
    return re.findall(rf"<!-- {re.escape(marker)} -->\n```[a-z]*\n(.*?)```", text, flags=re.S)


def walkthrough(path: Path) -> tuple[str, str]:
    [rule] = blocks(path, "walkthrough: rule")
    [scenarios] = blocks(path, "walkthrough: scenarios")
    return rule, scenarios


def commands() -> set[str]:
    names = set()
    for c in app.registered_commands:
        assert c.callback is not None, c  # every command runs a function
        names.add(c.name or c.callback.__name__)
    return names


@pytest.mark.parametrize("guide", GUIDES, ids=lambda p: p.name)
def test_excerpts_are_the_shipped_rules(guide: Path) -> None:
    text = guide.read_text(encoding="utf-8")
    found = re.findall(r"<!-- excerpt: (\S+) -->\n```yaml\n(.*?)```", text, flags=re.S)
    assert len(found) >= 4
    for file, excerpt in found:
        shipped = {r["id"]: r for r in yaml.safe_load((ROOT / file).read_text(encoding="utf-8"))["rules"]}
        for rule in yaml.safe_load(excerpt):
            assert rule == shipped[rule["id"]], f"{guide.name}: excerpt of {rule['id']} differs from {file}"


@pytest.mark.parametrize("guide", GUIDES, ids=lambda p: p.name)
def test_every_command_in_the_guide_exists(guide: Path) -> None:
    text = guide.read_text(encoding="utf-8")
    used = set(re.findall(r"\.venv/bin/rm-advisor ([a-z-]+)", text))
    assert used and used <= commands() | {"--help"}


def test_both_guides_walk_through_the_same_rule() -> None:
    assert walkthrough(GUIDES[0]) == walkthrough(GUIDES[1])


def test_walkthrough_adds_a_rule_that_checks_passes_its_scenarios_and_shows_in_the_demo(tmp_path: Path) -> None:
    rule, scenarios = walkthrough(GUIDES[0])
    before, rules = tmp_path / "rules-before", tmp_path / "rules"
    shutil.copytree(ROOT / "rules", before, ignore=shutil.ignore_patterns("__init__.py", "__pycache__"))
    shutil.copytree(before, rules)
    for name, block in (("tobacco.yaml", rule), ("tobacco.scenarios.yaml", scenarios)):
        path = rules / name
        path.write_text(path.read_text(encoding="utf-8").rstrip("\n") + "\n\n" + block, encoding="utf-8")

    check = runner.invoke(app, ["check", str(rules), "--format", "json"])
    assert check.exit_code == 0, check.output
    assert [d for d in json.loads(check.output)["diagnostics"]
            if d["rule_id"] == "tobacco.small_retailer_best_practice"] == []

    tested = runner.invoke(app, ["test", str(rules / "tobacco.scenarios.yaml"), "-k", "small-retailer advice"])
    assert tested.exit_code == 0 and "OK: 2 passed, 0 failed" in tested.output, tested.output

    demo = runner.invoke(app, ["recommend", str(sample_facts_path()), "--rules", str(rules), "--json"])
    t003 = next(c for c in json.loads(demo.output)["clients"] if c["id"] == "T-003")
    assert [r["id"] for r in t003["recommendations"]] == ["share_best_practice"]

    why_not = runner.invoke(app, ["explain", str(sample_facts_path()), "--rules", str(rules), "--rule",
                                  "tobacco.small_retailer_best_practice", "--subject", "client:T-002", "--lang", "en"])
    assert "to flip it: change client.client_class from B to C" in why_not.output

    diff = runner.invoke(app, ["diff", str(before), str(rules), "--facts", str(sample_facts_path()), "--format",
                               "json"])
    changes = json.loads(diff.output)["changes"]
    assert [(c["subject"], c["item"], c["kind"]) for c in changes] == [("client:T-003", "share_best_practice", "added")]


def test_the_misspelling_shown_in_the_guide_is_reported_as_shown(tmp_path: Path) -> None:
    rule, _ = walkthrough(GUIDES[0])
    (tmp_path / "t.yaml").write_text("pack: t\nrules:\n" + rule.replace("client.client_class:", "client.client_clas:"),
                                     encoding="utf-8")
    result = runner.invoke(app, ["check", str(tmp_path / "t.yaml")])
    shown = next(ln for ln in GUIDES[0].read_text(encoding="utf-8").splitlines() if "unknown_field [" in ln)
    expected = shown.split(": ", 1)[1]  # the guide's line without its file:line:column
    assert expected in result.output, result.output


def test_readme_links_to_both_guides() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for guide in GUIDES:
        assert f"docs/{guide.name}" in readme


def test_editor_settings_point_at_the_committed_schemas() -> None:
    settings = json.loads((ROOT / ".vscode" / "settings.json").read_text(encoding="utf-8"))
    for schema, globs in settings["yaml.schemas"].items():
        assert (ROOT / schema).is_file() and globs
    assert set(settings["yaml.schemas"]) == {f"./rules/{p.name}" for p in (ROOT / "rules").glob("*.schema.json")}
    for path in sorted((ROOT / "rules").glob("*.yaml")):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        wanted = ("scenarios.schema.json" if path.name.endswith(".scenarios.yaml") else
                  "policies.schema.json" if path.name.endswith(".policies.yaml") else
                  "arbitration.schema.json" if path.name == "arbitration.yaml" else "rules.schema.json")
        assert first == f"# yaml-language-server: $schema=./{wanted}", path.name


def test_pre_commit_files_are_valid_and_run_real_commands() -> None:
    for verb, name in (("validate-config", ".pre-commit-config.yaml"), ("validate-manifest", ".pre-commit-hooks.yaml")):
        done = subprocess.run([sys.executable, "-m", "pre_commit", verb, name], cwd=ROOT, capture_output=True,
                              text=True)
        assert done.returncode == 0, done.stdout + done.stderr
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    hooks = [h for repo in config["repos"] for h in repo["hooks"]]
    assert {h["id"] for h in hooks} == {"rm-advisor-check", "rm-advisor-test"}
    for hook in hooks:
        program, command, *args = hook["entry"].split()
        assert program == ".venv/bin/rm-advisor" and command in commands()
        assert all((ROOT / a).exists() for a in args)
    manifest = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert {h["entry"].split()[1] for h in manifest} <= commands()


@pytest.mark.parametrize("guide", GUIDES, ids=lambda p: p.name)
def test_the_one_pass_example_reports_what_the_guide_shows(guide: Path, tmp_path: Path) -> None:
    [rule] = blocks(guide, "one-pass: rule")
    [shown] = blocks(guide, "one-pass: output")
    (tmp_path / "draft.yaml").write_text(rule, encoding="utf-8")
    result = runner.invoke(app, ["check", str(tmp_path / "draft.yaml")])
    assert result.exit_code == 1
    got = [ln.replace(str(tmp_path / "draft.yaml"), "draft.yaml") for ln in result.output.splitlines()]
    expected = shown.splitlines()
    assert len(got) == len(expected)
    for line, want in zip(got, expected, strict=True):
        assert line.startswith(want), (line, want)
