"""api/routes/decisions.py with a server experiment (settings.experiment): a client decided alone is
decided by its arm's rule set, answered and logged with the arm, and replays on its arm's revision."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from rm_advisor.api import examples
from rm_advisor.api.app import create_app
from rm_advisor.api.ruleset import LiveRuleSet
from rm_advisor.engine.language import SubjectKey
from rm_advisor.store import Store, replay
from rm_advisor.store.service import open_experiment
from tests.api.conftest import AUTH, copy_rules, settings
from tests.conftest import ROOT


def _experiment(tmp_path: Path) -> Path:
    rules = copy_rules(tmp_path / "rules_next")
    tobacco = rules / "tobacco.yaml"  # the challenger ranks network ordering lower
    tobacco.write_text(tobacco.read_text(encoding="utf-8").replace("priority: 70", "priority: 20"), encoding="utf-8")
    path = tmp_path / "trial.experiment.yaml"
    path.write_text(f"id: trial\narms:\n  - {{name: champion, rules: {ROOT / 'rules'}}}\n"
                    "  - {name: challenger, rules: rules_next}\nstart: 2026-01-01\n", encoding="utf-8")
    return path


def _client(client_id: str) -> dict[str, object]:
    facts = copy.deepcopy(examples.CLIENT)
    facts["clients"][0]["id"] = client_id
    for event in facts["interactions"]:
        event["client_id"] = client_id
    return facts


def test_each_client_is_decided_by_its_arm_answered_and_logged_with_it(live: LiveRuleSet, fresh_log: str,
                                                                        tmp_path: Path) -> None:
    path = _experiment(tmp_path)
    with Store(fresh_log) as store:
        run = open_experiment(path, store)
    revisions = {name: a.book.revision for name, a in run.advisors.items()}
    assert revisions["champion"] != revisions["challenger"]
    seen = set()
    with TestClient(create_app(settings(db_url=fresh_log, experiment=path), live)) as c:
        for n in range(12):
            client_id = f"T-9{n:02d}"
            r = c.post(f"/v1/decisions/client/{client_id}", json=_client(client_id), headers=AUTH)
            assert r.status_code == 200, r.text
            body = r.json()
            arm = run.experiment.assign(SubjectKey("client", client_id))
            assert body["experiment"] == {"id": "trial", "arm": arm}
            assert body["revision"] == r.headers["X-Rule-Revision"] == revisions[arm]
            seen.add(arm)
            with Store(fresh_log) as store:
                logged = store.decisions.get(body["decision_id"])
                assert logged.experiment is not None and logged.experiment.arm == arm
                assert logged.revision == revisions[arm]
                assert replay(store.decisions, body["decision_id"]).on_logged.identical
    assert seen == {"champion", "challenger"}


def test_before_the_experiment_starts_the_serving_rules_decide_without_an_arm(live: LiveRuleSet, fresh_log: str,
                                                                             tmp_path: Path) -> None:
    path = _experiment(tmp_path)
    path.write_text(path.read_text(encoding="utf-8").replace("start: 2026-01-01", "start: 2099-01-01"),
                    encoding="utf-8")
    with TestClient(create_app(settings(db_url=fresh_log, experiment=path), live)) as c:
        body = c.post("/v1/decisions/client/T-001", json=examples.CLIENT, headers=AUTH).json()
    assert body.get("experiment") is None and body["revision"] == live.revision


def test_an_experiment_needs_the_decision_log(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="an experiment needs the decision log"):
        settings(decision_log=False, experiment=_experiment(tmp_path))
