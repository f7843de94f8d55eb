"""One CLI convention (issue 22 §5): ``--format text|json`` (``--json`` a hidden alias),
``-r/--rules`` for a rule set, ``-o/--out`` for a file written, ``--lang`` where people read,
plain --help at 80 columns, and errors as one JSON object on stdout with ``--format json``."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from rm_advisor.cli.main import app, main, sample_facts_path
from tests.conftest import ROOT

runner = CliRunner()

BROKEN = """pack: broken
rules:
  - id: broken.unknown_action
    title: {zh: 未知动作, en: Unknown action}
    domain: tobacco
    subject: client
    provenance: {document: D4, quote: 努力引导客户向网络客户发展}
    when:
      client.network_client: false
    then:
      actions:
        - action: guide_to_network_orderin
          reason: {zh: 原因, en: reason}
"""


# typer 0.29 carries its own copy of click (typer._click): commands and parameters are read by their attributes
def _commands(group: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    for name, command in getattr(group, "commands", {}).items():
        yield (*prefix, name), command
        yield from _commands(command, (*prefix, name))


ROOT_COMMAND = typer.main.get_command(app)
COMMANDS = dict(_commands(ROOT_COMMAND))
LEAVES = {" ".join(k): c for k, c in COMMANDS.items() if not getattr(c, "commands", None)}


def _options(command: Any) -> dict[str, Any]:
    return {p.name or "": p for p in command.params}


def _opts(param: Any) -> set[str]:
    return set(param.opts) | set(param.secondary_opts)


#: commands that write a file (or a folder of files), and the option that names it
WRITERS = {"schema", "coaching-schema", "arbitration-schema", "scenario-schema", "policies schema", "openapi",
           "graph", "batch", "sample-portfolio", "test", "log backup"}
#: commands that print only a document for tools (a JSON Schema): no messages of their own to translate
NO_LANG = {"schema", "coaching-schema", "arbitration-schema", "scenario-schema", "policies schema",
           "experiment-schema"}


@pytest.mark.parametrize("name", sorted(["", *(" ".join(k) for k in COMMANDS)]))
def test_every_help_is_plain_at_80_columns(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    result = runner.invoke(app, [*name.split(), "--help"], terminal_width=80)
    assert result.exit_code == 0, result.output
    text = result.output
    for bad in ("<bool>", "{", "<list[", "<str>", "<int", "<path>", "…"):
        assert bad not in text, f"`rm-advisor {name} --help` shows {bad!r}:\n{text}"
    # every option is shown with its whole name (no name cut at the column)
    for param in COMMANDS.get(tuple(name.split()), ROOT_COMMAND).params:
        if param.param_type_name == "option" and not param.hidden:
            for opt in _opts(param):
                assert opt in text, f"{opt} is not shown whole in `rm-advisor {name} --help`"


def test_every_command_that_takes_a_rule_set_spells_it_r_rules() -> None:
    takes = {name for name, c in LEAVES.items() if "rules" in _options(c)}
    assert {"check", "graph", "test", "explain", "recommend", "decide", "batch", "replay", "policies list",
            "serve"} <= takes
    for name in takes:
        assert {"-r", "--rules"} <= _opts(_options(LEAVES[name])["rules"]), name


def test_check_and_graph_take_r_rules_and_still_the_old_positional(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text(BROKEN, encoding="utf-8")
    for command in ("check", "graph"):
        for args in (["-r", str(tmp_path)], ["--rules", str(tmp_path)], [str(tmp_path)]):
            result = runner.invoke(app, [command, *args, "--format", "json"])
            assert result.exit_code == 1, (command, args, result.output)
            assert json.loads(result.output)["ok"] is False
        shipped = runner.invoke(app, [command, "-r", str(ROOT / "rules"), "--format", "json"])
        assert shipped.exit_code == 0 and json.loads(shipped.output)["ok"] is True


def test_every_command_that_writes_a_file_spells_it_o_out() -> None:
    for name in WRITERS:
        outs = [p for p in LEAVES[name].params if "--out" in _opts(p)]
        assert outs and "-o" in _opts(outs[0]), name


def test_o_out_writes_the_file(tmp_path: Path) -> None:
    for command in ("schema", "scenario-schema", "policies schema", "coaching-schema", "arbitration-schema"):
        target = tmp_path / (command.replace(" ", "-") + ".json")
        assert runner.invoke(app, [*command.split(), "-o", str(target)]).exit_code == 0
        assert json.loads(target.read_text(encoding="utf-8"))
    report = tmp_path / "report.json"
    result = runner.invoke(app, ["test", str(ROOT / "rules" / "generic.scenarios.yaml"), "--format", "json",
                                 "-o", str(report)])
    assert result.exit_code == 0, result.output
    assert json.loads(report.read_text(encoding="utf-8"))["failed"] == 0
    graphs = tmp_path / "graph"
    assert runner.invoke(app, ["graph", "-o", str(graphs)]).exit_code == 0
    assert {p.name for p in graphs.iterdir()} == {"rules.dot", "rules.mmd", "rules.svg"}


def test_every_command_people_read_takes_lang() -> None:
    for name, command in LEAVES.items():
        if name not in NO_LANG:
            assert "--lang" in {o for p in command.params for o in _opts(p)}, name


def test_format_json_is_the_one_spelling_and_json_a_hidden_alias() -> None:
    for name, command in LEAVES.items():
        options = {o: p for p in command.params for o in _opts(p)}
        if "--json" in options:
            assert options["--json"].hidden and "--format" in options, name
    assert "--format" in _opts(_options(LEAVES["recommend"])["fmt"])
    text = runner.invoke(app, ["recommend", str(sample_facts_path()), "--json", "--lang", "en"])
    fmt = runner.invoke(app, ["recommend", str(sample_facts_path()), "--format", "json", "--lang", "en"])
    assert text.exit_code == fmt.exit_code == 0
    assert json.loads(text.output)["clients"] == json.loads(fmt.output)["clients"]


def _error(result: Any, code: str, exit_code: int = 1) -> dict[str, Any]:
    assert result.exit_code == exit_code, result.output
    doc: dict[str, Any] = json.loads(result.stdout)
    assert doc["ok"] is False and doc["code"] == code and doc["message"], doc
    assert isinstance(doc["diagnostics"], list)
    return doc


@pytest.fixture()
def broken(tmp_path: Path) -> Path:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "broken.yaml").write_text(BROKEN, encoding="utf-8")
    return tmp_path / "rules"


@pytest.mark.parametrize("flag", [["--format", "json"], ["--json"]])
def test_json_errors_of_recommend_and_decide(flag: list[str], broken: Path, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'log.db'}"
    for command in (["recommend"], ["decide", "--db", db]):
        missing = runner.invoke(app, [*command, str(tmp_path / "nope.yaml"), *flag])
        assert "nope.yaml" in _error(missing, "file_not_found", 2)["message"]
        rules = runner.invoke(app, [*command, str(sample_facts_path()), "-r", str(broken), *flag])
        doc = _error(rules, "rule_set_invalid")
        assert [d["code"] for d in doc["diagnostics"]] == ["unknown_action"]
        bad = tmp_path / "bad.yaml"
        bad.write_text("clients:\n  - {id: C1, manager_id: M1, domain: tobacco, days_since_last_visit: ten}\n")
        doc = _error(runner.invoke(app, [*command, str(bad), *flag]), "facts_refused")
        assert any("days_since_last_visit" in (d["path"] or "") + d["message"] for d in doc["diagnostics"])


def test_json_errors_of_check_test_and_batch(broken: Path, tmp_path: Path) -> None:
    _error(runner.invoke(app, ["check", "-r", str(tmp_path / "nope"), "--format", "json"]), "file_not_found", 2)
    doc = _error(runner.invoke(app, ["check", "-r", str(broken), "--format", "json"]), "rule_set_invalid")
    assert doc["errors"] == 1
    _error(runner.invoke(app, ["test", str(tmp_path / "nope"), "--format", "json"]), "file_not_found", 2)
    (broken / "broken.scenarios.yaml").write_text("scenarios: []\n", encoding="utf-8")
    doc = _error(runner.invoke(app, ["test", str(broken / "broken.scenarios.yaml"), "--format", "json"]),
                 "rule_set_invalid")
    assert [d["code"] for d in doc["diagnostics"]] == ["unknown_action"]
    out = tmp_path / "out"
    _error(runner.invoke(app, ["batch", "--clients", str(tmp_path / "c.csv"), "--format", "json", "-o", str(out)]),
           "bad_usage", 2)
    _error(runner.invoke(app, ["batch", "--clients", str(tmp_path / "c.csv"), "--managers", str(tmp_path / "m.csv"),
                               "--history", str(tmp_path / "h.csv"), "--format", "json", "-o", str(out)]),
           "file_not_found", 2)
    doc = _error(runner.invoke(app, ["batch", "-r", str(broken), "--format", "json", "-o", str(out)]),
                 "rule_set_invalid")
    assert [d["code"] for d in doc["diagnostics"]] == ["unknown_action"]


def test_text_errors_stay_on_stderr(broken: Path) -> None:
    result = runner.invoke(app, ["recommend", str(sample_facts_path()), "-r", str(broken)])
    assert result.exit_code == 1 and result.stdout == "" and "unknown_action" in result.stderr


def test_an_error_the_command_line_catches_is_json_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    kb = tmp_path / "kb"
    shutil.copytree(ROOT / "knowledge_base", kb)
    actions = kb / "actions.yaml"
    actions.write_bytes(actions.read_bytes() + "# 广东烟草\n".encode("gbk"))
    monkeypatch.setattr(sys, "argv", ["rm-advisor", "test", "--kb", str(kb), "--format", "json"])
    with pytest.raises(SystemExit) as exc:
        main()
    doc = json.loads(capsys.readouterr().out)
    assert exc.value.code == 1 and doc["ok"] is False and doc["code"] == "rule_set_invalid"
    assert doc["diagnostics"][0]["code"] == "file_not_utf8"


def test_no_format_is_left_over_from_the_command_before(broken: Path) -> None:
    assert runner.invoke(app, ["recommend", str(sample_facts_path()), "--json"]).exit_code == 0
    result = runner.invoke(app, ["policies", "list", "-r", str(broken)])
    assert result.exit_code == 1 and result.stdout == "" and "unknown_action" in result.stderr


@pytest.mark.parametrize("args", [["recommend", "facts.yaml", "--format", "json", "--lang", "xx"],
                                  ["check", "--format=json", "--no-such-option"],
                                  ["decide", "--json"]])
def test_a_usage_error_is_json_with_format_json(args: list[str], monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "argv", ["rm-advisor", *args])
    with pytest.raises(SystemExit) as exc:
        main()
    doc = json.loads(capsys.readouterr().out)
    assert exc.value.code == 2 and doc["ok"] is False and doc["code"] == "bad_usage" and doc["message"]


def test_main_keeps_the_exit_code_with_format_json(monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "argv", ["rm-advisor", "check", "--format", "json"])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 0 and json.loads(capsys.readouterr().out)["ok"] is True
