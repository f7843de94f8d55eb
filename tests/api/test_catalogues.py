"""api/routes/catalogues.py: actions, coaching topics, signals and fact types of the loaded rule set."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from rm_advisor.api.ruleset import LiveRuleSet
from tests.api.conftest import located, problem


@pytest.mark.parametrize("kind", ["actions", "coaching", "signals"])
def test_catalogues_list_every_item_in_the_language_asked_for(client: TestClient, live: LiveRuleSet,
                                                             kind: str) -> None:
    r = client.get(f"/v1/catalogues/{kind}", headers={"Accept-Language": "zh-CN"})
    body = r.json()
    items = getattr(live.current().book.kb, kind)
    assert r.status_code == 200 and body["count"] == len(items) and body["revision"] == live.revision
    assert [i["id"] for i in body[kind]] == list(items)
    assert all(set(i["title"]) == {"zh"} and set(i["description"]) == {"zh"} for i in body[kind])


def test_one_action_and_one_topic_with_provenance(client: TestClient, live: LiveRuleSet) -> None:
    kb = live.current().book.kb
    action = client.get("/v1/catalogues/actions/guide_to_network_ordering").json()
    assert action["channel"] == kb.actions["guide_to_network_ordering"].channel and action["provenance"]["quote"]
    assert (action["kind"], action["sales"]) == ("service", False)
    collection = client.get("/v1/catalogues/actions/collect_overdue_loan").json()
    assert (collection["kind"], collection["sales"]) == ("obligation", False)
    assert client.get("/v1/catalogues/actions/counter_placement").json()["sales"] is True
    topic_id = next(iter(kb.coaching))
    topic = client.get(f"/v1/catalogues/coaching/{topic_id}").json()
    assert topic["formats"] == list(kb.coaching[topic_id].formats)


def test_unknown_catalogue_items_are_located_404s(client: TestClient) -> None:
    assert located(problem(client.get("/v1/catalogues/actions/nope"), 404, "not_found")) == \
        {("not_found", "action_id")}
    assert located(problem(client.get("/v1/catalogues/coaching/nope"), 404, "not_found")) == \
        {("not_found", "topic_id")}


def test_fact_types_say_what_a_facts_document_may_hold(client: TestClient, live: LiveRuleSet) -> None:
    body = client.get("/v1/catalogues/facts", params={"lang": "en"}).json()
    by_id = {f["id"]: f for f in body["fact_types"]}
    assert set(by_id) == set(live.current().book.kb.facts)
    client_type = by_id["client"]
    assert client_type["plural"] == "clients" and client_type["subject"] is True
    assert client_type["links"] == {"manager": "manager_id"}
    assert client_type["fields"]["client_class"]["values"] == ["A", "B", "C"]
    assert client_type["fields"]["id"]["required"] is True
