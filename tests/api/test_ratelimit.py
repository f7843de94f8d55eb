"""Rate limits per API key, or per client address without a valid key (``rate_limit``)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from rm_advisor.api.app import create_app
from tests.api.conftest import AUTH, problem, settings


def limited(rate: str) -> TestClient:
    return TestClient(create_app(settings(rate_limit=rate, decision_log=False)))


def test_requests_over_the_limit_answer_429_rate_limited_with_retry_after() -> None:
    with limited("3/minute") as c:
        for _ in range(3):
            assert c.get("/v1/ruleset").status_code == 200
        r = c.get("/v1/ruleset", params={"lang": "zh"})
        body = problem(r, 429, "rate_limited")
        assert 1 <= int(r.headers["Retry-After"]) <= 60
        assert r.headers["X-Rule-Revision"] == body["revision"] and r.headers["X-Request-ID"]
        assert body["title"] == "请求过多；请在 Retry-After 所示秒数后重试" and "3/minute" in body["detail"]
        # liveness, readiness and metrics are never limited
        assert c.get("/healthz").status_code == 200 and c.get("/metrics").status_code == 200
        assert 'rm_advisor_problems_total{code="rate_limited"}' in c.get("/metrics").text


def test_each_api_key_has_its_own_count_and_a_made_up_key_counts_as_the_address() -> None:
    with limited("2/minute") as c:
        for _ in range(2):
            assert c.get("/v1/ruleset").status_code == 200  # the address's count is used up
        problem(c.get("/v1/ruleset"), 429, "rate_limited")
        problem(c.get("/v1/ruleset", headers={"X-API-Key": "made-up-key-0123456789"}), 429, "rate_limited")
        for _ in range(2):
            assert c.get("/v1/ruleset", headers=AUTH).status_code == 200  # the key's own count
        problem(c.get("/v1/ruleset", headers=AUTH), 429, "rate_limited")


def test_a_posted_body_over_the_limit_is_refused_before_it_is_read() -> None:
    with limited("1/minute") as c:
        assert c.get("/v1/ruleset").status_code == 200
        problem(c.post("/v1/decisions", content=b"not json"), 429, "rate_limited")


def test_without_a_rate_limit_nothing_is_limited(client: TestClient) -> None:
    assert all(client.get("/healthz").status_code == 200 for _ in range(5))
    assert settings().rate_limit is None


@pytest.mark.parametrize("bad", ["abc", "120/fortnight", "-1/minute"])
def test_a_rate_limit_that_is_not_a_count_per_period_is_refused(bad: str) -> None:
    with pytest.raises(ValidationError, match="count per period"):
        settings(rate_limit=bad)
