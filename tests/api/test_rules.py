"""api/routes/rules.py: the loaded rules with provenance, and checking posted rule files."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from rm_advisor.api import examples
from rm_advisor.api.ruleset import LiveRuleSet
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
    body = _check(client, {"hostile.yaml": deep}, together=False)
    assert [d["code"] for d in body["diagnostics"]] == ["yaml_too_complex"]
    # aliases expanding past the check's node budget are refused before anything is parsed
    r = client.post(CHECK, json={"files": [{"name": "hostile.yaml", "text": bomb}], "together": False})
    assert located(problem(r, 413, "rules_too_large")) == {("rules_too_large", "/files/0/text")}


# ---- hostile input: bounded work, bounded answers ----------------------------------------------

ONES = "rules: [" + ",".join(["1"] * 10_000) + "]\n"  # 20 KB, 10,000 schema errors


def test_regression_many_schema_errors_are_counted_linearly_and_listed_up_to_a_cap(client: TestClient) -> None:
    # issue 12: 20 KB of `rules: [1,1,...]` cost 4.9 s (quadratic in the errors) and a 1.6 MB answer
    r = client.post(CHECK, json={"files": [{"name": "ones.yaml", "text": ONES}], "together": False})
    body = r.json()  # CPU of each of these inputs: bench/hostile_api.py
    assert r.status_code == 200
    assert body["ok"] is False and body["errors"] > 10_000 and body["warnings"] == 0
    assert len(body["diagnostics"]) <= 200 and body["omitted"] == body["errors"] - len(body["diagnostics"])
    assert body["diagnostics"][0]["code"] == "schema_violation" and body["diagnostics"][0]["line"] == 1
    summary = [d for d in body["diagnostics"] if d["code"] == "too_many_problems"]
    assert len(summary) == 1 and "not listed" in summary[0]["detail"]
    assert len(r.content) < 100_000


def test_regression_one_check_request_does_bounded_work(client: TestClient) -> None:
    # issue 12: 50 such files per request cost minutes; now the posted YAML is counted (cheaply) first
    files = [{"name": f"ones{i}.yaml", "text": ONES} for i in range(45)]  # 900 KB: under max_body_bytes
    r = client.post(CHECK, json={"files": files, "together": False})
    body = problem(r, 413, "rules_too_large")
    assert ("rules_too_large", "/files/0/text") in located(body) and "40000" in body["detail"]
    big = "rules: [" + ",".join(["1"] * 240_000) + "]\n"  # one file at the posted text's length limit
    r = client.post(CHECK, json={"files": [{"name": "big.yaml", "text": big}]})
    assert problem(r, 413, "rules_too_large")


def test_a_check_at_the_node_budget_is_answered_and_listed_up_to_a_cap(client: TestClient) -> None:
    text = "rules: [" + ",".join(["{}"] * 19_000) + "]\n"  # 7 missing keys per item: 133,000 errors
    r = client.post(CHECK, json={"files": [{"name": "empty.yaml", "text": text}]})  # 0.5 s: bench/hostile_api.py
    body = r.json()
    assert r.status_code == 200 and body["errors"] > 100_000 and len(body["diagnostics"]) <= 200


def test_healthz_answers_while_a_big_check_runs(app: FastAPI) -> None:
    # the check runs in the thread pool; /healthz is answered on the event loop meanwhile
    text = "rules: [" + ",".join(["{}"] * 19_000) + "]\n"

    async def run() -> tuple[float, list[float], float]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            started = time.perf_counter()
            check = asyncio.create_task(c.post(CHECK, json={"files": [{"name": "empty.yaml", "text": text}]}))
            latencies: list[float] = []
            while not check.done() or not latencies:
                t0 = time.perf_counter()
                r = await asyncio.wait_for(c.get("/healthz"), timeout=10)
                assert r.status_code == 200
                latencies.append(time.perf_counter() - t0)
                await asyncio.sleep(0.01)
            assert (await check).status_code == 200
            return time.perf_counter() - started, latencies, max(latencies)

    took, latencies, worst = asyncio.run(run())
    print(f"check took {took:.2f} s; {len(latencies)} /healthz answers meanwhile, the slowest in {worst:.3f} s")
    assert len(latencies) >= 2 or took < 0.1, latencies  # /healthz answered while the check ran


def test_regression_a_malformed_reason_placeholder_does_not_pass_the_check(client: TestClient) -> None:
    # issue 12: `{client.name!r:>10}` passed `check` and was printed raw in the reasons
    text = examples.RULE_FILE.replace("{client.name}", "{client.name!r:>10}", 1)
    assert text != examples.RULE_FILE
    body = _check(client, {"local.yaml": text})
    assert body["ok"] is False and body["errors"] == 1
    (d,) = [d for d in body["diagnostics"] if d["severity"] == "error"]
    assert (d["code"], d["file"], d["rule_id"]) == ("bad_template", "local.yaml", "local.key_client_off_network")
    assert d["line"] > 1 and d["column"] > 1 and "{client.name}" in d["hint"]
