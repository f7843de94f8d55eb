"""cli/experiments.py: `decide --experiment FILE` and `report experiment ID` as a user runs them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from rm_advisor.cli.main import app, sample_facts_path
from rm_advisor.engine.authoring.experiments import experiment_file_json_schema
from tests.conftest import ROOT

runner = CliRunner()


def run(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


def _experiment(tmp_path: Path, text: str | None = None) -> Path:
    rules = tmp_path / "rules_next"
    rules.mkdir()
    for path in (ROOT / "rules").glob("*.yaml"):
        if not path.name.endswith(".scenarios.yaml"):
            shutil.copy(path, rules / path.name)
    path = tmp_path / "trial.experiment.yaml"
    path.write_text(text or f"id: trial\narms:\n  - {{name: champion, rules: {ROOT / 'rules'}}}\n"
                            "  - {name: challenger, rules: rules_next}\n", encoding="utf-8")
    return path


def test_decide_in_an_experiment_logs_each_client_with_its_arm_and_reports_per_arm(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'advisor.db'}"
    code, output = run("decide", sample_facts_path(), "--db", db, "--experiment", _experiment(tmp_path), "--json")
    assert code == 0, output
    decided = json.loads(output)
    arms = {d["experiment"]["arm"] for d in decided}
    assert {d["experiment"]["id"] for d in decided} == {"trial"} and arms <= {"champion", "challenger"}
    assert all(len(d["clients"]) + len(d["managers"]) == 1 for d in decided)  # one subject a decision
    code, output = run("report", "experiment", "trial", "--db", db)
    assert code == 0, output
    assert "champion" in output and "not enough evidence yet" in output  # a handful of clients
    code, output = run("report", "experiment", "trial", "--db", db, "--json")
    report = json.loads(output)
    assert sum(a["decisions"] for a in report["arms"]) == len(decided) and report["enough_evidence"] is False
    code, output = run("report", "experiment", "trial", "--db", db, "--lang", "zh")
    assert "证据尚不足" in output


def test_a_bad_experiment_file_is_refused_at_its_line(tmp_path: Path) -> None:
    path = _experiment(tmp_path, "id: trial\narms:\n  - {name: a, rules: rules_next}\n"
                                 "  - {name: b, rules: rules_next, wieght: 2}\n")
    code, output = run("decide", sample_facts_path(), "--db", f"sqlite:///{tmp_path / 'x.db'}",
                       "--experiment", path)
    assert code == 1 and f"{path}:4:" in output and "schema_violation" in output and "Traceback" not in output


def test_an_experiment_never_logged_is_refused(tmp_path: Path) -> None:
    code, output = run("report", "experiment", "nothing", "--db", f"sqlite:///{tmp_path / 'x.db'}")
    assert code == 1 and "experiment_not_found" in output


def test_experiment_schema_prints_the_schema() -> None:
    code, output = run("experiment-schema")
    assert code == 0 and json.loads(output) == json.loads(json.dumps(experiment_file_json_schema()))


def test_simulate_prints_the_diff_summary_beside_the_estimate(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'advisor.db'}"
    code, output = run("decide", sample_facts_path(), "--db", db, "--top", "2", "--json")
    assert code == 0, output
    _experiment(tmp_path)  # writes rules_next, a copy of the shipped rules
    tobacco = tmp_path / "rules_next" / "tobacco.yaml"
    tobacco.write_text(tobacco.read_text(encoding="utf-8").replace("priority: 70", "priority: 20"), encoding="utf-8")
    code, output = run("simulate", "--log", db, "--rules", tmp_path / "rules_next")
    assert code == 0, output
    assert "Replayed 1 decision(s)" in output and "would change" in output and "doubly robust" in output
    code, output = run("simulate", "--log", db, "--rules", tmp_path / "rules_next", "--json", "--seed", "3")
    result = json.loads(output)
    assert result["decisions"] == 1 and result["changed"] == 1 and result["acceptance"]["seed"] == 3
    code, output = run("simulate", "--log", db, "--rules", tmp_path / "nowhere")
    assert code == 1 and "no_rules" in output and "Traceback" not in output


def test_serve_refuses_a_bad_experiment_file_before_any_worker_starts(tmp_path: Path) -> None:
    path = _experiment(tmp_path, "id: trial\narms:\n  - {name: a, rules: rules_next}\n"
                                 "  - {name: b, rules: rules_next, wieght: 2}\n")
    code, output = run("serve", "--db", f"sqlite:///{tmp_path / 'x.db'}", "--experiment", path)
    assert code == 1 and f"{path}:4:" in output and "not serving: the experiment file has" in output
    missing = tmp_path / ("a-long-folder-name-" * 4) / "none.yaml"  # the path is printed whole, not wrapped
    code, output = run("serve", "--db", f"sqlite:///{tmp_path / 'x.db'}", "--experiment", missing)
    assert code == 1 and "not serving" in output and str(missing) in output and "Traceback" not in output
