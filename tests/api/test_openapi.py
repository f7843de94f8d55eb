"""api/openapi.py: the committed spec matches the code, its examples are real requests that pass,
docs/api.md lists every route, and a property-based run of the spec (schemathesis) finds no 5xx."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from api import examples
from api.app import create_app
from api.openapi import SPEC_PATH, spec_text
from api.ruleset import LiveRuleSet
from tests.api.conftest import AUTH
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
    assert len(bodies) == 4 and all(body.get("examples") for body in bodies)


@pytest.mark.parametrize("name, method, url, body", EXAMPLES, ids=[f"{m} {u} {n}" for n, m, u, _ in EXAMPLES])
def test_spec_examples_are_real_requests_that_pass(client: TestClient, name: str, method: str, url: str,
                                                   body: Any) -> None:
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


# ---- property-based run of the spec ------------------------------------------------------------

@pytest.fixture(scope="module")
def api_schema(live: LiveRuleSet) -> Any:
    # an app of its own, so a reload it triggers cannot disturb other tests' expectations
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(app_settings(), live))


OPERATIONS = [(m, p) for m, p, _ in _operations()]


@pytest.mark.parametrize("method, path", OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_no_generated_request_gets_a_server_error_or_breaks_the_spec(api_schema: Any, method: str,
                                                                     path: str) -> None:
    # schemathesis generates valid and invalid requests from the spec; every answer must be a
    # documented status with a body matching its documented schema, and never a 5xx
    @given(case=api_schema[path][method].as_strategy())
    @settings(max_examples=8 if path == "/v1/rules/check" else 20,  # a check compiles the whole rule set
              deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        case.call_and_validate(headers=AUTH, checks=[not_a_server_error, status_code_conformance,
                                                     content_type_conformance, response_schema_conformance])

    run()
