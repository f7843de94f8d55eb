"""api/routes/rules.py: the loaded rules with provenance, and checking posted rule files."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from api import examples
from api.ruleset import LiveRuleSet
from tests.api.conftest import located, problem
from tests.cli.test_main import BROKEN

CHECK = "/v1/rules/check"


def _check(client: TestClient, files: dict[str, str], together: bool = True) -> dict[str, Any]:
    r = client.post(CHECK, json={"files": [{"name": n, "text": t} for n, t in files.items()], "together": together})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_rules_are_listed_with_location_and_provenance(client: TestClient, live: LiveRuleSet) -> None:
    body = client.get("/v1/rules", params={"lang": "en"}).json()
    book = live.current().book
    assert body["count"] == len(body["rules"]) == len(book.rules)
    assert [r["id"] for r in body["rules"]] == sorted(r.id for r in book.rules)
    first = body["rules"][0]
    assert first["file"].endswith(".yaml") and first["line"] > 0 and first["provenance"]["quote"]
    assert set(first["title"]) == {"en"}


def test_rules_can_be_filtered(client: TestClient) -> None:
    bank = client.get("/v1/rules", params={"domain": "bank"}).json()["rules"]
    coaching = client.get("/v1/rules", params={"subject": "manager"}).json()["rules"]
    assert bank and {r["domain"] for r in bank} == {"bank"}
    assert coaching and {r["subject"] for r in coaching} == {"manager"} and not any(r["actions"] for r in coaching)
    problem(client.get("/v1/rules", params={"domain": "insurance"}), 422, "invalid_request")


def test_one_rule_as_written(client: TestClient, live: LiveRuleSet) -> None:
    rule = live.current().book.by_id()["tobacco.complaint_overdue"]
    r = client.get("/v1/rules/tobacco.complaint_overdue", params={"lang": "zh"})
    body = r.json()
    assert r.status_code == 200 and body["id"] == rule.id and body["line"] == rule.line
    assert body["provenance"] == rule.rule.provenance.model_dump(exclude_none=True)
    assert body["then"]["actions"][0]["action"] == "resolve_retailer_complaint"
    assert set(body["then"]["actions"][0]["reason"]) == {"zh", "en"}  # the rule text as written
    assert body["when"] and set(body["title"]) == {"zh"}


def test_an_unknown_rule_is_a_located_404(client: TestClient) -> None:
    body = problem(client.get("/v1/rules/tobacco.nope"), 404, "not_found")
    assert located(body) == {("not_found", "rule_id")}


def test_checking_a_valid_file_loads_nothing(client: TestClient, live: LiveRuleSet) -> None:
    revision = live.revision
    body = _check(client, {"local.yaml": examples.RULE_FILE})
    assert body["ok"] is True and body["errors"] == 0 and "local.yaml" in body["files"]
    assert live.revision == revision and "local.key_client_off_network" not in live.current().book.by_id()


def test_checking_reports_every_problem_located(client: TestClient) -> None:
    body = _check(client, {"rules/broken.yaml": BROKEN}, together=False)
    assert body["ok"] is False and body["errors"] == 3 and body["files"] == ["rules/broken.yaml"]
    assert [(d["code"], d["file"], d["line"]) for d in body["diagnostics"]] == [
        ("unknown_field", "rules/broken.yaml", 9), ("unknown_action", "rules/broken.yaml", 23),
        ("yaml_syntax", "rules/broken.yaml", 27)]
    assert body["diagnostics"][0]["rule_id"] == "broken.misspelt"
    assert "days_since_last_visit" in body["diagnostics"][0]["hint"]


def test_checking_together_finds_clashes_with_the_loaded_rules(client: TestClient, live: LiveRuleSet) -> None:
    clash = examples.RULE_FILE.replace("local.key_client_off_network", "tobacco.complaint_overdue")
    together = _check(client, {"local.yaml": clash})
    assert [d["code"] for d in together["diagnostics"] if d["severity"] == "error"] == ["duplicate_rule_id"]
    assert _check(client, {"local.yaml": clash}, together=False)["ok"] is True
    # a posted file replaces the loaded file of the same name: the loaded tobacco.yaml posted back is fine
    tobacco = next(t for n, t in live.current().rule_files.items() if n.endswith("tobacco.yaml"))
    assert _check(client, {"tobacco.yaml": tobacco})["ok"] is True


def test_checking_refuses_two_files_of_one_name(client: TestClient) -> None:
    files = [{"name": "a.yaml", "text": examples.RULE_FILE}, {"name": "a.yaml", "text": examples.RULE_FILE}]
    body = problem(client.post(CHECK, json={"files": files}), 422, "invalid_request")
    assert located(body) == {("duplicate_name", "/files/1/name")}


def test_checking_bad_requests(client: TestClient) -> None:
    assert ("unknown_field", "/files/0/txt") in located(
        problem(client.post(CHECK, json={"files": [{"name": "a.yaml", "txt": "x"}]}), 422, "invalid_request"))
    assert ("missing_field", "/files/0/text") in located(
        problem(client.post(CHECK, json={"files": [{"name": "a.yaml"}]}), 422, "invalid_request"))
    assert ("bad_value", "/files/0/name") in located(
        problem(client.post(CHECK, json={"files": [{"name": "../x.txt", "text": ""}]}), 422, "invalid_request"))


def test_regression_hostile_yaml_is_a_diagnostic_not_a_500_or_a_hang(client: TestClient) -> None:
    bomb = "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]\n" for i in range(1, 9))
    deep = "pack: " + "[" * 3000 + "]" * 3000 + "\n"
    for text in (bomb, deep):
        body = _check(client, {"hostile.yaml": text}, together=False)
        assert [d["code"] for d in body["diagnostics"]] == ["yaml_too_complex"]
