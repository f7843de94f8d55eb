"""The experta reference is selectable at every door (`--engine experta`, `RM_ADVISOR_ENGINE`,
`Advisor(engine=...)`) and gives, door by door, the answer the default evaluator gives."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from rm_advisor.api.app import create_app
from rm_advisor.api.ruleset import LiveRuleSet
from rm_advisor.api.settings import Settings
from rm_advisor.cli.main import app, sample_facts_path
from tests.conftest import ROOT

runner = CliRunner()


def test_recommend_gives_the_same_decision_with_either_engine() -> None:
    outputs = []
    for extra in ([], ["--engine", "experta"]):
        result = runner.invoke(app, ["recommend", str(sample_facts_path()), "--json", *extra])
        assert result.exit_code == 0, result.output
        outputs.append(json.loads(result.output))
    default, reference = outputs
    assert default["clients"] and default == reference


def test_an_unknown_engine_is_a_usage_error() -> None:
    result = runner.invoke(app, ["recommend", str(sample_facts_path()), "--engine", "clips"])
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_the_batch_writes_the_same_recommendations_with_either_engine(tmp_path: Path) -> None:
    written = []
    for name, extra in (("compiled", []), ("experta", ["--engine", "experta"])):
        out = tmp_path / name
        result = runner.invoke(app, ["batch", "--sample-clients", "150", "--jobs", "1", "--no-report",
                                     "--out", str(out), *extra])
        assert result.exit_code == 0, result.output
        written.append({f: (out / f).read_text(encoding="utf-8-sig") for f in
                        ("recommendations.csv", "coaching.csv", "worklists.csv", "to_confirm.csv")})
    assert written[0]["recommendations.csv"].count("\n") > 100 and written[0] == written[1]


def test_the_server_decides_alike_with_either_engine() -> None:
    facts = json.loads(json.dumps(yaml.safe_load(sample_facts_path().read_text(encoding="utf-8")), default=str))
    answers = []
    for engine in ("compiled", "experta"):
        s = Settings(rules_dir=ROOT / "rules", kb_dir=ROOT / "knowledge_base", decision_log=False, engine=engine)
        live = LiveRuleSet.start(s)
        assert live.current().advisor.engine == engine
        with TestClient(create_app(s, live)) as c:
            r = c.post("/v1/decisions?lang=en", json=facts)
            assert r.status_code == 200, r.text
            body = r.json()
            answers.append({k: body[k] for k in ("clients", "managers", "revision", "firings")})
    assert answers[0]["clients"] and answers[0] == answers[1]
