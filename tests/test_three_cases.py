"""The three cases that opened the one-door issue, each sent through every door: the nightly batch
on the tables, the Python API, `rm-advisor recommend` and `decide`, and the HTTP routes for one
subject. Each door gives the batch's answer, and the batch's answer is the one the issue asked for:

1. an A-class retailer with a visit dated 2026-09-01 and a complaint open since 2026-10-01, as dated
   interactions without counters: resolve the complaint (90), the overdue visit (65), and coaching;
2. late plan submissions coach the manager; a bank manager's credit-cooperative points come from
   the events (−10 for interest unpaid past 15 days, −3 for an uninsured collateral);
3. a manager whose `assessment_score: 58` is given and who has no inspection events keeps the 58
   and the lagging-performer advice (with a weak hand at the CRM: master the system).

Dry runs are compared to dry runs and logged runs to logged runs (each door its own database)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from rm_advisor.api.app import create_app
from rm_advisor.api.present import decisions as present
from rm_advisor.api.ruleset import LiveRuleSet
from rm_advisor.api.schemas import Lang
from rm_advisor.api.settings import Settings
from rm_advisor.cli.main import app as cli
from rm_advisor.engine import Advisor, Decision
from rm_advisor.engine.language import SubjectDecision
from tests.api.conftest import AUTH, KEY
from tests.conftest import ROOT
from tests.helpers import first_difference

AS_OF = "2026-11-23"
runner = CliRunner()


@dataclass(frozen=True)
class Case:
    name: str
    managers: list[dict[str, Any]]
    clients: list[dict[str, Any]]
    interactions: list[dict[str, Any]]
    subject: tuple[str, str]  # the one subject the HTTP route is asked about

    def facts(self) -> dict[str, Any]:
        return {"as_of": AS_OF, "managers": self.managers, "clients": self.clients,
                "interactions": self.interactions}


def _event(eid: str, manager: str, client: str | None, kind: str, date: str, status: str = "done",
           **more: Any) -> dict[str, Any]:
    return {"id": eid, "manager_id": manager, "client_id": client, "kind": kind, "date": date, "status": status,
            **more}


CASES = [
    Case("retailer_with_dated_history",
         managers=[{"id": "M1", "name": "王经理", "domain": "tobacco"}],
         clients=[{"id": "T1", "manager_id": "M1", "name": "便民烟酒店", "domain": "tobacco", "client_class": "A"}],
         interactions=[_event("V1", "M1", "T1", "visit", "2026-09-01"),
                       _event("Q1", "M1", "T1", "complaint", "2026-10-01", "open")],
         subject=("client", "T1")),
    Case("late_plans_and_credit_points",
         managers=[{"id": "M1", "name": "王经理", "domain": "tobacco"},
                   {"id": "MB1", "name": "李经理", "domain": "bank"}],
         clients=[{"id": "T2", "manager_id": "M1", "name": "好运超市", "domain": "tobacco", "client_class": "C"},
                  {"id": "B1", "manager_id": "MB1", "name": "张三", "domain": "bank"}],
         interactions=[_event("V2", "M1", "T2", "visit", "2026-11-20"),
                       _event("P0", "M1", None, "plan_submission", "2026-10-02", due_date="2026-10-02",
                              closed_date="2026-10-05"),
                       _event("P1", "M1", None, "plan_submission", "2026-11-06", due_date="2026-11-06"),
                       _event("V3", "MB1", "B1", "visit", "2026-11-18"),
                       _event("I1", "MB1", "B1", "interest_due", "2026-10-20", "open", amount=2000),
                       _event("K1", "MB1", "B1", "credit_file_check", "2026-11-02", item="collateral_uninsured")],
         subject=("manager", "MB1")),
    Case("given_score_without_inspections",
         managers=[{"id": "M3", "name": "赵经理", "domain": "tobacco", "assessment_score": 58,
                    "crm_proficiency": "low"}],
         clients=[{"id": "T3", "manager_id": "M3", "name": "街角便利店", "domain": "tobacco", "client_class": "B"}],
         interactions=[_event("V4", "M3", "T3", "visit", "2026-11-20")],
         subject=("manager", "M3")),
]


def _write_tables(case: Case, folder: Path) -> None:
    folder.mkdir(parents=True)
    for name, rows in (("managers", case.managers), ("clients", case.clients), ("history", case.interactions)):
        pd.DataFrame(rows).to_csv(folder / f"{name}.csv", index=False)
    (folder / "facts.json").write_text(json.dumps(case.facts(), ensure_ascii=False), encoding="utf-8")


def _invoke(*args: str) -> str:
    result = runner.invoke(cli, [*args])
    assert result.exit_code == 0, result.output
    return result.stdout


def _batch(folder: Path, out: Path, *extra: str) -> list[Decision]:
    _invoke("batch", "--clients", str(folder / "clients.csv"), "--managers", str(folder / "managers.csv"),
            "--history", str(folder / "history.csv"), "--out", str(out), "--as-of", AS_OF, "--jobs", "1", *extra)
    lines = (out / "decisions.jsonl").read_text(encoding="utf-8").splitlines()
    return [Decision.model_validate_json(line) for line in lines]


def _subjects(decisions: list[Decision]) -> dict[tuple[str, str], SubjectDecision]:
    return {(s.subject_type, s.id): s for d in decisions for s in d.clients + d.managers}


def _answers(subjects: dict[tuple[str, str], SubjectDecision]) -> dict[str, Any]:
    return {f"{t}:{i}": s.model_dump(mode="json") for (t, i), s in subjects.items()}


@dataclass
class Doors:
    """Each subject's decision through each door, by door name."""
    dry: dict[str, dict[tuple[str, str], SubjectDecision]]
    logged: dict[str, dict[tuple[str, str], SubjectDecision]]
    batch: dict[str, list[Decision]]  # the batch's decisions, dry and logged, as the HTTP doors present them


@pytest.fixture(scope="module")
def doors(advisor: Advisor, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Doors]:
    out: dict[str, Doors] = {}
    for case in CASES:
        folder = tmp_path_factory.mktemp(case.name)
        _write_tables(case, folder / "in")
        facts = str(folder / "in" / "facts.json")
        rules = ("--rules", str(ROOT / "rules"))
        batch = {"dry": _batch(folder / "in", folder / "dry"),
                 "logged": _batch(folder / "in", folder / "logged", "--db", f"sqlite:///{folder / 'batch.db'}")}
        dry = {"batch": _subjects(batch["dry"]),
               "library": _subjects([advisor.decide(case.facts())]),
               "recommend": _subjects([Decision.model_validate_json(_invoke("recommend", facts, "--json", *rules))])}
        logged = {"batch": _subjects(batch["logged"]),
                  "decide": _subjects([Decision.model_validate_json(
                      _invoke("decide", facts, "--json", "--db", f"sqlite:///{folder / 'cli.db'}", *rules))])}
        out[case.name] = Doors(dry, logged, batch)
    return out


def _server(**overrides: Any) -> Iterator[TestClient]:
    settings = Settings(rules_dir=ROOT / "rules", kb_dir=ROOT / "knowledge_base", api_key=KEY, **overrides)
    with TestClient(create_app(settings, LiveRuleSet.start(settings))) as c:
        yield c


@pytest.fixture(scope="module")
def dry_http() -> Iterator[TestClient]:
    yield from _server(decision_log=False)


@pytest.fixture(scope="module")
def logged_http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    yield from _server(db_url=f"sqlite:///{tmp_path_factory.mktemp('three-cases') / 'http.db'}")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_the_library_and_the_cli_give_the_batch_answer(case: Case, doors: dict[str, Doors]) -> None:
    d = doors[case.name]
    for runs, door in ((d.dry, "library"), (d.dry, "recommend"), (d.logged, "decide")):
        assert sorted(runs[door]) == sorted(runs["batch"]), door
        assert first_difference(_answers(runs[door]), _answers(runs["batch"])) is None, door


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_the_one_subject_route_gives_the_batch_answer(case: Case, lang: Lang, doors: dict[str, Doors],
                                                      dry_http: TestClient, logged_http: TestClient) -> None:
    kind, sid = case.subject
    for http, run in ((dry_http, "dry"), (logged_http, "logged")):
        r = http.post(f"/v1/decisions/{kind}/{sid}", json=case.facts(), headers={**AUTH, "Accept-Language": lang})
        assert r.status_code == 200, r.text
        shown = [s.model_dump(mode="json") for d in doors[case.name].batch[run]
                 for s in (present(d, lang, True).clients if kind == "client" else present(d, lang, True).managers)
                 if s.id == sid]
        assert first_difference([r.json()["subject"]], shown) is None, run


def test_the_retailer_gets_the_complaint_the_overdue_visit_and_coaching(doors: dict[str, Doors]) -> None:
    answer = doors["retailer_with_dated_history"].dry["batch"]
    scores = {r.id: r.score for r in answer[("client", "T1")].recommendations}
    assert scores["resolve_retailer_complaint"] == 90 and scores["periodic_visit_by_class"] == 65
    visit = next(r for r in answer[("client", "T1")].recommendations if r.id == "periodic_visit_by_class")
    assert "?" not in visit.reasons[0].text.en and "?" not in visit.reasons[0].text.zh
    assert answer[("manager", "M1")].recommendations


def test_late_plans_coach_and_credit_points_come_from_the_events(doors: dict[str, Doors]) -> None:
    answer = doors["late_plans_and_credit_points"].dry["batch"]
    assert "plan_submission_on_time" in {r.id for r in answer[("manager", "M1")].recommendations}
    points = {f.field: f for f in answer[("manager", "MB1")].derived}["credit_coop_points"]
    assert points.value == -13 and sorted(points.events) == ["I1", "K1"]


def test_a_given_score_is_kept_and_the_lagging_advice_stays(doors: dict[str, Doors]) -> None:
    answer = doors["given_score_without_inspections"].dry["batch"][("manager", "M3")]
    assert "assessment_score" not in {f.field for f in answer.derived}
    assert "lagging_performer" in {s.signal for s in answer.signals}
    [crm] = [r for r in answer.recommendations if r.id == "crm_system_mastery"]
    assert "58" in crm.reasons[0].text.en and "58" in crm.reasons[0].text.zh
