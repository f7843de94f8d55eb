"""api/openapi.py: the committed spec matches the code, its examples are real requests that pass,
docs/api.md lists every route, and a property-based run of the spec (schemathesis) finds no 5xx."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events, from_schema
from schemathesis.specs.openapi.checks import positive_data_acceptance

from rm_advisor.api import examples
from rm_advisor.api.app import create_app
from rm_advisor.api.openapi import SPEC_PATH, spec_text
from rm_advisor.api.ruleset import LiveRuleSet
from rm_advisor.store import Store
from tests.api.conftest import ADMIN, ADMIN_KEY, AUTH, copy_rules, located, problem
from tests.api.conftest import settings as app_settings
from tests.conftest import ROOT

SPEC = json.loads(SPEC_PATH.read_text(encoding="utf-8"))


def _operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, operations in SPEC["paths"].items():
        for method, operation in operations.items():
            yield method.upper(), path, operation


def test_committed_spec_matches_the_code(app: FastAPI) -> None:
    assert spec_text(app) == SPEC_PATH.read_text(encoding="utf-8"), \
        "api/openapi.json is out of date: run `make openapi` and review the diff"


def _example_requests() -> Iterator[tuple[str, str, str, Any]]:
    for method, path, operation in _operations():
        content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
        for name, example in content.get("examples", {}).items():
            url = path
            if "{subject_type}" in path:  # the example named for a subject type decides its first subject
                plural = {"client": "clients", "manager": "managers"}[name]
                url = path.replace("{subject_type}", name).replace("{subject_id}", example["value"][plural][0]["id"])
            yield name, method, url, example["value"]


def _answering_a_real_decision(c: TestClient, body: Any) -> Any:
    """A feedback example with the id of a decision about the example client, just made."""
    assert body["decision_id"] == examples.EXAMPLE_DECISION_ID
    decided = c.post("/v1/decisions/client/T-001", json=examples.CLIENT).json()
    return {**body, "decision_id": decided["decision_id"]}


EXAMPLES = list(_example_requests())


def test_every_request_body_has_examples() -> None:
    bodies = [op["requestBody"]["content"]["application/json"] for _, _, op in _operations() if "requestBody" in op]
    assert len(bodies) == 8 and all(body.get("examples") for body in bodies)


@pytest.mark.parametrize("name, method, url, body", EXAMPLES, ids=[f"{m} {u} {n}" for n, m, u, _ in EXAMPLES])
def test_spec_examples_are_real_requests_that_pass(client: TestClient, live: LiveRuleSet, tmp_path: Path,
                                                   name: str, method: str, url: str, body: Any) -> None:
    if url.startswith("/v1/admin/"):  # on a database of its own: a forget would rename T-001 for other tests
        app = create_app(app_settings(admin_key=ADMIN_KEY, db_url=f"sqlite:///{tmp_path / 'admin.db'}"), live)
        with TestClient(app) as admin:
            admin.post("/v1/decisions/client/T-001", json=examples.CLIENT)
            r = admin.request(method, url, json=body, headers=ADMIN)
        assert r.status_code == 200, r.text
        assert r.json()["kind"] == url.rsplit("/", 1)[1] and r.json()["by"] == body["by"]
        return
    if url == "/v1/releases":  # a rule author's proposal, on a database of its own with the accounts
        db = f"sqlite:///{tmp_path / 'releases.db'}"
        with Store(db) as store:
            store.users.add("rita", "correct-horse-battery", "rule_author")
            token = store.users.new_token("rita")
        with TestClient(create_app(app_settings(db_url=db), live)) as author:
            r = author.post(url, json=body, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 201, r.text
        assert r.json()["state"] == "proposed" and "local.yaml" in r.json()["files"]
        return
    if url == "/v1/feedback":
        body = _answering_a_real_decision(client, body)
    r = client.request(method, url, json=body, headers=AUTH)
    assert r.status_code == (201 if url == "/v1/feedback" else 200), r.text
    answer = r.json()
    subjects = [answer["subject"]] if "subject" in answer else answer.get("clients", []) + answer.get("managers", [])
    for subject in subjects:  # decisions: every subject gets explained recommendations
        assert subject["recommendations"] and subject["recommendations"][0]["because"]
    if url == "/v1/rules/check":
        assert answer["ok"] is (name == "valid")
    if url == "/v1/feedback":
        assert (answer["status"], answer["item_id"]) == (body["status"], body["item"])


def test_docs_list_every_route() -> None:
    docs = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    missing = [f"{m} {p}" for m, p, _ in _operations() if f"`{m} {p}`" not in docs]
    assert missing == []


def test_docs_pages_work_without_a_cdn(client: TestClient) -> None:
    for page in ("/docs", "/redoc"):
        html = client.get(page).text
        assert "/openapi.json" in html and "cdn" not in html.lower()
        scripts = [part.split('"')[0] for part in html.split('src="')[1:]]
        assert scripts and all(client.get(src).status_code == 200 for src in scripts)


# ---- property-based run of the spec: `schemathesis run --checks all`, in process --------------

#: Every phase (the spec's examples; the coverage phase's boundary cases, undeclared methods among
#: them; generated valid and invalid requests; stateful sequences), every check, a bounded number
#: of generated requests per operation, the same ones on every run: about 20-40 s in all.
SCHEMATHESIS: dict[str, Any] = {
    "seed": 20261201, "workers": 1, "headers": AUTH, "suppress-health-check": ["all"],
    "generation": {"max-examples": 10, "deterministic": True},
    "phases": {name: {"enabled": True} for name in ("examples", "coverage", "fuzzing", "stateful")},
    # replaced by the check below, which calls it (with the business rules the spec cannot state)
    "checks": {"positive_data_acceptance": {"enabled": False}},
}

#: Refusals of schema-valid requests by rules no JSON schema states (problem code -> the item codes
#: that may explain it; empty: any). Any other refusal of valid data means the spec and the server
#: disagree.
BUSINESS_RULES: dict[str, set[str]] = {
    "subject_not_in_facts": set(),            # the subject in the path must be among the posted facts
    "unknown_item": set(),                    # explain: the item or rule asked about is in the rule set
    "too_many_subjects": set(),               # clients + managers together at most max_subjects
    "invalid_facts": {"fact_duplicate_id"},   # fact ids are unique per type
    "invalid_request": {"duplicate_name",     # posted rule files have distinct names (and see below)
                        "item_and_rule"},     # explain: `item` or `rule`, not both
    "feedback_bad_value": set(),              # a reason that goes with the status, `until` only when snoozed
    "feedback_unknown_item": set(),           # the item was recommended by that decision
    "rules_too_large": set(),                 # at most max_check_nodes YAML nodes per check
}


def _problem(response: Any) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _refused_by_a_business_rule(response: Any, case: Any) -> bool:
    body = _problem(response)
    explained = BUSINESS_RULES.get(str(body.get("code")))
    if explained is None:
        return False
    if body["code"] == "invalid_request" and case.path in ("/v1/reports/effectiveness", "/v1/reports/simulation",
                                                           "/v1/reports/experiments/{experiment_id}"):
        return "since" in body.get("detail", "")  # since after until
    return not explained or all(e.get("code") in explained for e in body.get("errors", []))


@schemathesis.check
def accepts_valid_data(ctx: Any, response: Any, case: Any) -> bool | None:
    """schemathesis' positive_data_acceptance, except for the business rules above."""
    if _refused_by_a_business_rule(response, case):
        return None
    return positive_data_acceptance(ctx, response, case)


def test_schemathesis_with_every_check_finds_nothing(live: LiveRuleSet) -> None:
    # the issue's reports, among others: OPTIONS `Allow` of /v1/decisions and /v1/rules/check,
    # POST /v1/decisions/{id}/replay (405, not 422), facts with properties the server refuses
    app = create_app(app_settings(), live)  # its own app: a reload it triggers disturbs no other test
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=SchemathesisConfig.from_dict(SCHEMATHESIS))
    failures: list[str] = []
    tested: set[str] = set()
    with TestClient(app):  # the app's lifespan: its decision store is open
        for event in from_schema(schema).execute():
            if isinstance(event, (events.NonFatalError, events.FatalError)):
                failures.append(f"{type(event).__name__}: {event}")
            if not isinstance(event, events.ScenarioFinished):
                continue
            if event.status in (Status.SUCCESS, Status.FAILURE) and event.label:
                tested.add(event.label)
            for checks in event.recorder.checks.values():
                for check in checks:
                    if check.status == Status.FAILURE and check.failure_info is not None:
                        failure = check.failure_info.failure
                        failures.append(f"{event.label}: {check.name}: {failure.title}: {failure.message}\n"
                                        f"    {check.failure_info.code_sample}")
    assert failures == [], "\n".join(dict.fromkeys(failures))
    assert tested >= {f"{m} {p}" for m, p, _ in _operations()}


# ---- what schemathesis reported (issue 12), each sent again ---------------------------------------

@pytest.mark.parametrize("method, url, allowed", [
    ("OPTIONS", "/v1/decisions", "GET, POST"),           # two routes share the path; Allow named one
    ("OPTIONS", "/v1/rules/check", "POST"),              # /v1/rules/{rule_id} matched and said GET
    ("GET", "/v1/rules/check", "POST"),
    ("POST", "/v1/decisions/T-001/replay", "GET"),       # was 422: subject_type `T-001` of the decide route
    ("DELETE", "/v1/decisions/client/T-001", "POST"),
])
def test_regression_an_undeclared_method_is_a_405_listing_every_method_of_the_path(
        client: TestClient, method: str, url: str, allowed: str) -> None:
    r = client.request(method, url, headers=AUTH)
    body = problem(r, 405, "method_not_allowed")
    assert r.headers["allow"] == allowed and allowed in body["detail"]
    declared = sorted(m.upper() for m in SPEC["paths"].get(url, {}))
    assert not declared or declared == allowed.split(", ")


def test_the_routes_beside_the_overlapping_ones_still_answer(client: TestClient) -> None:
    assert client.get("/v1/rules/tobacco.complaint_overdue").status_code == 200
    assert client.post("/v1/decisions/client/T-001", json=examples.CLIENT).status_code == 200
    assert problem(client.post("/v1/decisions/clients/T-001", json=examples.CLIENT), 404, "not_found")


def test_regression_the_spec_allows_no_fact_property_the_server_refuses(client: TestClient) -> None:
    # issue 12: facts were `additionalProperties: true` in the spec, and the engine refuses unknown
    # fact lists and fields; the spec now states each fact type's fields from the knowledge base
    schemas = SPEC["components"]["schemas"]
    document = schemas["FactsDocument"]
    assert document["additionalProperties"] is False
    facts = client.get("/v1/catalogues/facts").json()["fact_types"]
    assert set(document["properties"]) == {"as_of"} | {f["plural"] for f in facts}
    for fact in facts:
        schema = schemas[fact["id"].capitalize() + "Fact"]
        assert schema["additionalProperties"] is False and set(schema["properties"]) == set(fact["fields"])
        assert set(schema["required"]) == {n for n, f in fact["fields"].items() if f["required"]}
    extra = {**examples.CLIENT, "clients": [{**examples.CLIENT["clients"][0], "favourite_colour": "red"}]}
    body = problem(client.post("/v1/decisions/client/T-001", json=extra), 422, "invalid_facts")
    assert located(body) == {("fact_unknown_field", "/clients/0/favourite_colour")}
    body = problem(client.post("/v1/decisions", json={**examples.CLIENT, "visits": []}), 422, "invalid_facts")
    assert located(body) == {("fact_unknown_type", "/visits")}


def test_every_spec_example_fits_the_spec(client: TestClient) -> None:
    validator = jsonschema_rs.validator_for({**SPEC, "$ref": "#/components/schemas/FactsDocument"})
    for name, _, url, body in EXAMPLES:
        if "/decisions" in url:
            assert validator.is_valid(body), (name, list(validator.iter_errors(body))[:3])


def test_reload_needs_the_key_in_the_spec_too() -> None:
    # FastAPI keeps included routers' routes apart; the spec marked every key optional
    assert SPEC["paths"]["/v1/ruleset/reload"]["post"]["security"] == [{"ApiKey": []}]
    # reading routes: open, or the key, a user's token or a session (protect_reads)
    assert SPEC["paths"]["/v1/rules"]["get"]["security"] == [{}, {"ApiKey": []}, {"BearerToken": []},
                                                             {"SessionCookie": []}]


def test_the_spec_follows_a_reload_that_changes_the_fact_schema(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    shutil.copytree(ROOT / "knowledge_base", kb)
    s = app_settings(kb_dir=kb, rules_dir=copy_rules(tmp_path / "rules"))
    with TestClient(create_app(s)) as c:
        assert "loyalty_tier" not in c.get("/openapi.json").json()["components"]["schemas"]["ClientFact"]["properties"]
        (kb / "facts" / "zz_extra.yaml").write_text(
            "extend:\n  client:\n    fields:\n      loyalty_tier:\n        type: integer\n        min: 0\n"
            "        description: {zh: 忠诚等级, en: Loyalty tier}\n", encoding="utf-8")
        assert c.post("/v1/ruleset/reload", headers=AUTH).json()["changed"] is True
        field = c.get("/openapi.json").json()["components"]["schemas"]["ClientFact"]["properties"]["loyalty_tier"]
        assert field["anyOf"][0] == {"type": "integer", "minimum": 0, "maximum": 2**63 - 1,
                                     "description": "Loyalty tier"}


def test_every_operation_has_a_stable_readable_id() -> None:
    ids = [operation["operationId"] for _, _, operation in _operations()]
    assert len(ids) == len(set(ids))
    assert all(i.isidentifier() and "__" not in i and not i.endswith(("_post", "_get")) for i in ids), ids
    named = {(m, p): o["operationId"] for m, p, o in _operations()}
    assert named[("POST", "/v1/decisions/{subject_type}/{subject_id}")] == "decide_one"
    assert named[("POST", "/v1/feedback")] == "add_feedback"
    assert named[("GET", "/v1/worklists/{manager_id}")] == "get_worklist"


def test_every_response_declares_the_rule_revision_header() -> None:
    missing = [f"{m} {p} {status}" for m, p, o in _operations() for status, r in o["responses"].items()
               if "X-Rule-Revision" not in r.get("headers", {})]
    assert missing == []
