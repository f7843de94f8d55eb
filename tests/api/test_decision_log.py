"""api/routes/decision_log.py: every decision the API makes is logged under the id it answers with;
a logged decision is read back (input masked, with its feedback) and replayed on its own revision
and on the serving one."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from rm_advisor.api import examples
from rm_advisor.api.app import create_app
from rm_advisor.api.ruleset import LiveRuleSet
from tests.api.conftest import AUTH, located, problem, settings

ONE = "/v1/decisions/client/T-001"


def _subjects(body: dict[str, Any]) -> list[dict[str, Any]]:
    subjects: list[dict[str, Any]] = body["clients"] + body["managers"]
    return subjects


def test_a_batch_decision_is_logged_as_answered_with_its_input_masked(log_client: TestClient) -> None:
    answer = log_client.post("/v1/decisions", json=examples.BATCH, params={"lang": "en"}).json()
    assert answer["logged"] is True
    r = log_client.get(f"/v1/decisions/{answer['decision_id']}", params={"lang": "en"})
    assert r.status_code == 200, r.text
    logged = r.json()
    # the log holds the answer, with each sensitive value (the names here) masked wherever it appears
    names = [f["name"] for f in examples.BATCH["clients"] + examples.BATCH["managers"]]
    masked = json.dumps(_subjects(answer), ensure_ascii=False)
    for name in sorted(names, key=len, reverse=True):
        masked = masked.replace(name, "***")
    assert _subjects(logged) == json.loads(masked) != _subjects(answer)
    assert {k: logged[k] for k in ("decision_id", "revision", "as_of", "input_hash", "firings")} == \
        {k: answer[k] for k in ("decision_id", "revision", "as_of", "input_hash", "firings")}
    assert (logged["source"], logged["policies_applied"], logged["feedback"]) == ("api", True, [])
    logged_names = [f["name"] for f in logged["input"]["clients"] + logged["input"]["managers"]]
    assert len(logged_names) == len(names) and set(logged_names) == {"***"}
    assert not any(name in r.text for name in names)
    assert logged["input"]["clients"][0]["client_class"] == examples.BATCH["clients"][0]["client_class"]


def test_a_one_subject_decision_logs_that_subject_alone_and_lists_newest_first(log_client: TestClient) -> None:
    # changed: a one-subject request logged the decision about every subject posted with it
    first = log_client.post(ONE, json=examples.CLIENT).json()
    second = log_client.post("/v1/decisions/manager/M-B01", json=examples.MANAGER).json()
    logged = log_client.get(f"/v1/decisions/{first['decision_id']}", params={"explain": "false"}).json()
    assert [s["id"] for s in _subjects(logged)] == ["T-001"] and logged["subject"] == "client:T-001"
    assert [m["id"] for m in logged["input"]["managers"]] == ["M-T01"]  # the facts posted with it were the input
    assert all(r["because"] == [] for s in _subjects(logged) for r in s["recommendations"])
    listing = log_client.get("/v1/decisions").json()
    assert [d["id"] for d in listing["decisions"]] == [second["decision_id"], first["decision_id"]]
    row = listing["decisions"][1]
    client = first["subject"]
    assert (row["source"], row["recommended"], row["shown"], row["suppressed"]) == \
        ("api", len(client["recommendations"]), len(client["recommendations"]), len(client["suppressed"]))
    assert log_client.get("/v1/decisions", params={"since": "2026-11-24"}).json()["count"] == 0


def test_regression_co_posted_subjects_are_neither_logged_nor_counted(log_client: TestClient) -> None:
    # a co-posted client with nothing recommended was logged "recommended: 28", and three one-client
    # calls counted the recommendations of every subject posted with them
    quiet = {"id": "T-900", "manager_id": "M-T01", "domain": "tobacco"}
    facts = {**examples.BATCH, "clients": [*examples.BATCH["clients"], quiet]}
    answers = [log_client.post(f"/v1/decisions/client/{cid}", json=facts).json() for cid in ("T-900", "T-001", "T-002")]
    assert answers[0]["subject"]["recommendations"] == [] and all(a["logged"] for a in answers)
    listing = {d["id"]: d["recommended"] for d in log_client.get("/v1/decisions").json()["decisions"]}
    assert listing == {a["decision_id"]: len(a["subject"]["recommendations"]) for a in answers}
    assert listing[answers[0]["decision_id"]] == 0
    report = log_client.get("/v1/reports/effectiveness").json()
    assert report["total"]["recommended"] == sum(len(a["subject"]["recommendations"]) for a in answers) == 9
    t002 = answers[2]["subject"]["recommendations"][0]["id"]
    body = problem(log_client.post("/v1/feedback", headers=AUTH, json={
        "decision_id": answers[1]["decision_id"], "subject": "T-002", "item": t002, "status": "accepted"}),
        422, "feedback_unknown_item")
    assert "T-002" in body["detail"]


def test_top_limits_what_is_shown_not_what_is_logged(log_client: TestClient) -> None:
    answer = log_client.post(ONE, json=examples.CLIENT, params={"top": 1}).json()
    [shown] = answer["subject"]["recommendations"]
    logged = log_client.get(f"/v1/decisions/{answer['decision_id']}").json()
    [subject] = logged["clients"]
    every = [r["id"] for r in subject["recommendations"]]
    assert len(every) > 1 and every[0] == shown["id"] and logged["max_per_subject"] == 1
    row = log_client.get("/v1/decisions").json()["decisions"][0]
    assert (row["recommended"], row["shown"]) == (len(every), 1)
    for item in every[:2]:  # the item below the cut takes feedback too (it was `feedback_unknown_item`)
        r = log_client.post("/v1/feedback", headers=AUTH, json={
            "decision_id": answer["decision_id"], "subject": "T-001", "item": item, "status": "accepted"})
        assert r.status_code == 201, r.text
    report = log_client.get("/v1/reports/effectiveness").json()
    assert (report["total"]["recommended"], report["total"]["accepted"]) == (1, 1)  # what was shown
    assert [x["key"] for x in report["by_action"]] == [shown["id"]]
    assert log_client.get(f"/v1/decisions/{answer['decision_id']}/replay").json()["on_logged"]["identical"]


def test_a_refused_request_logs_nothing(log_client: TestClient) -> None:
    problem(log_client.post("/v1/decisions/client/T-999", json=examples.CLIENT), 422, "subject_not_in_facts")
    assert log_client.get("/v1/decisions").json()["count"] == 0


def test_unknown_decision_is_a_404_naming_the_parameter(log_client: TestClient) -> None:
    for path in ("/v1/decisions/d-20261123-0000000000000000", "/v1/decisions/d-20261123-0000000000000000/replay"):
        body = problem(log_client.get(path), 404, "decision_not_found")
        assert located(body) == {("decision_not_found", "decision_id")}


def test_replay_is_identical_on_its_revision_and_shows_what_a_reload_changed(rules_dir: Path, fresh_log: str) -> None:
    s = settings(rules_dir=rules_dir, db_url=fresh_log)
    with TestClient(create_app(s, LiveRuleSet.start(s))) as c:
        decided = c.post(ONE, json=examples.CLIENT).json()
        path = f"/v1/decisions/{decided['decision_id']}/replay"
        same = c.get(path).json()
        assert same["on_logged"] == same["on_current"] == {"revision": decided["revision"], "identical": True,
                                                           "changes": []}
        tobacco = rules_dir / "tobacco.yaml"
        text = tobacco.read_text(encoding="utf-8")
        tobacco.write_text(text.replace("client.open_complaints: {ge: 1}", "client.open_complaints: {ge: 5}", 1),
                           encoding="utf-8")
        new = c.post("/v1/ruleset/reload", headers=AUTH).json()["revision"]
        report = c.get(path).json()
        assert report["logged_revision"] == report["on_logged"]["revision"] == decided["revision"] != new
        assert report["on_logged"]["identical"] is True
        assert report["on_current"]["revision"] == new and report["on_current"]["identical"] is False
        # the complaint call of the generic pack is folded into the visit (knowledge_base/alternatives.yaml)
        generic = "generic.complaint_expectations, generic.complaint_past_due"
        assert {"subject": "client:T-001", "item": "resolve_retailer_complaint", "what": "rules",
                "before": f"{generic}, tobacco.complaint_open, tobacco.complaint_overdue",
                "after": f"{generic}, tobacco.complaint_overdue"} in report["on_current"]["changes"]
        assert "on_current" not in c.get(path, params={"current": "false"}).json()


def test_a_decision_whose_rule_set_is_not_in_the_log_cannot_be_replayed(live: LiveRuleSet, fresh_log: str) -> None:
    with TestClient(create_app(settings(db_url=fresh_log), live)) as c:
        decided = c.post(ONE, json=examples.CLIENT).json()
        with sqlite3.connect(fresh_log.removeprefix("sqlite:///")) as db:  # as if logged without its rule texts
            db.execute("DELETE FROM rule_sets")
        body = problem(c.get(f"/v1/decisions/{decided['decision_id']}/replay"), 409, "revision_not_logged")
        assert decided["revision"] in body["detail"]
        assert c.get(f"/v1/decisions/{decided['decision_id']}").status_code == 200  # still readable


def test_a_logged_decision_is_explained_on_its_own_revision(log_client: TestClient) -> None:
    answer = log_client.post(ONE, json=examples.CLIENT).json()
    url = f"/v1/decisions/{answer['decision_id']}/explain"
    body = log_client.get(url, params={"item": "counter_placement", "lang": "en"}).json()
    assert body["revision"] == answer["revision"] and body["as_of"] == answer["as_of"]
    [e] = body["explanations"]
    assert (e["subject"], e["target"], e["outcome"]) == ("client:T-001", "action:counter_placement", "not recommended")
    shown = {r["id"] for r in answer["subject"]["recommendations"]}
    why = log_client.get(url).json()["explanations"]  # every recommendation of the subject it was asked for
    assert {x["target"].split(":", 1)[1] for x in why if x["outcome"] == "recommended"} == shown
    problem(log_client.get(url, params={"subject": "client:T-999"}), 422, "subject_not_in_facts")
    problem(log_client.get(url, params={"rule": "tobacco.nope"}), 422, "unknown_item")
    problem(log_client.get("/v1/decisions/d-20261123-0000000000000000/explain"), 404, "decision_not_found")


def test_regression_a_decision_erased_with_masked_details_is_still_shown(live: LiveRuleSet, fresh_log: str) -> None:
    # forgets made before the details were kept masked them ("***" where a channel or kind stands)
    with TestClient(create_app(settings(db_url=fresh_log), live)) as c:
        decided = c.post(ONE, json=examples.CLIENT).json()
        with sqlite3.connect(fresh_log.removeprefix("sqlite:///")) as db:
            [(raw,)] = db.execute("SELECT output FROM decisions").fetchall()
            output = json.loads(raw)
            for subject in output["clients"]:
                for rec in subject["recommendations"]:
                    rec["details"] = dict.fromkeys(rec["details"], "***")
            db.execute("UPDATE decisions SET output = ?", (json.dumps(output),))
        shown = c.get(f"/v1/decisions/{decided['decision_id']}")
        assert shown.status_code == 200, shown.text
        recs = [r for s in shown.json()["clients"] for r in s["recommendations"]]
        assert recs and all("***" not in json.dumps(r.get("details", {})) for r in recs)
