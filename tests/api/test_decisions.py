"""api/routes/decisions.py: decisions over HTTP, in zh and en, equal to the engine's, located errors."""

from __future__ import annotations

import copy
import json
import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from rm_advisor.api import examples
from rm_advisor.api.app import create_app
from rm_advisor.api.deps import negotiate
from rm_advisor.api.ruleset import LiveRuleSet, LoadedRuleSet
from rm_advisor.cli.main import sample_facts_path
from rm_advisor.engine import Advisor, Decision
from rm_advisor.engine.inference import Engine
from rm_advisor.engine.inference import advisor as advisor_module
from tests.api.conftest import AUTH, located, problem, settings

ONE = "/v1/decisions/client/T-001"


def _texts(node: Any) -> list[dict[str, Any]]:
    """Every text object (title, reason, description) anywhere in a response."""
    if isinstance(node, dict):
        if set(node) <= {"zh", "en"} and node:
            return [node]
        return [t for v in node.values() for t in _texts(v)]
    if isinstance(node, list):
        return [t for v in node for t in _texts(v)]
    return []


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_client_decision_in_the_language_asked_for_equals_the_engine(client: TestClient, live: LiveRuleSet,
                                                                     lang: str) -> None:
    r = client.post(ONE, json=examples.CLIENT, headers={"Accept-Language": lang})
    assert r.status_code == 200, r.text
    body = r.json()
    # a logged decision: the contact policies apply, with no feedback yet in this client's history
    expected = live.current().advisor.decide(examples.CLIENT, history=[]).subject("client", "T-001")
    assert expected is not None and expected.recommendations and expected.suppressed
    recs = body["subject"]["recommendations"]
    assert [x["id"] for x in recs] == [x.id for x in expected.recommendations]
    assert [x["id"] for x in body["subject"]["suppressed"]] == [x.id for x in expected.suppressed]
    assert body["logged"] is True
    assert [x["reasons"][0]["text"][lang] for x in recs] == \
        [getattr(x.reasons[0].text, lang) for x in expected.recommendations]
    assert recs[0]["because"][0]["provenance"]["quote"]  # explained down to the source quote
    assert {tuple(t) for t in _texts(body)} == {(lang,)}
    assert body["lang"] == lang and r.headers["content-language"] == lang
    assert body["revision"] == r.headers["x-rule-revision"] == live.revision


def test_both_languages_on_request_and_query_wins_over_header(client: TestClient) -> None:
    both = client.post(ONE, params={"lang": "both"}, json=examples.CLIENT, headers={"Accept-Language": "en"})
    assert {tuple(sorted(t)) for t in _texts(both.json())} == {("en", "zh")}
    zh = client.post(ONE, params={"lang": "zh"}, json=examples.CLIENT, headers={"Accept-Language": "en"})
    assert zh.json()["lang"] == "zh" and zh.headers["content-language"] == "zh"


@pytest.mark.parametrize("header, expected", [
    ("en-US,en;q=0.9", "en"), ("zh-CN,zh;q=0.9,en;q=0.8", "zh"), ("fr, en;q=0.5, zh;q=0.8", "zh"),
    ("fr", "both"), ("zh;q=0, en;q=0.1", "en"), ("zh;q=abc", "both"), ("", "both"), (None, "both"),
])
def test_accept_language_negotiation(header: str | None, expected: str) -> None:
    assert negotiate(None, header, "both") == expected


def test_default_language_is_a_setting(live: LiveRuleSet) -> None:
    with TestClient(create_app(settings(default_lang="en"), live)) as c:
        body = c.post(ONE, json=examples.CLIENT).json()
    assert body["lang"] == "en" and {tuple(t) for t in _texts(body)} == {("en",)}


def test_manager_decision_recommends_coaching(client: TestClient) -> None:
    r = client.post("/v1/decisions/manager/M-B01", json=examples.MANAGER, params={"lang": "en"})
    subject = r.json()["subject"]
    assert r.status_code == 200 and subject["subject_type"] == "manager" and subject["id"] == "M-B01"
    assert subject["recommendations"] and {x["kind"] for x in subject["recommendations"]} == {"coaching"}


def test_batch_decides_every_subject_on_one_revision(client: TestClient, live: LiveRuleSet) -> None:
    r = client.post("/v1/decisions", json=examples.BATCH, params={"lang": "en"})
    body = r.json()
    assert r.status_code == 200
    assert [c["id"] for c in body["clients"]] == ["B-001", "T-001", "T-002"]
    assert [m["id"] for m in body["managers"]] == ["M-B01", "M-T01"]
    assert all(s["recommendations"] for s in body["clients"] + body["managers"])
    assert body["revision"] == live.revision


def test_top_limits_recommendations_and_explain_false_drops_the_chain(client: TestClient) -> None:
    full = client.post("/v1/decisions", json=examples.BATCH).json()
    short = client.post("/v1/decisions", json=examples.BATCH, params={"top": 1, "explain": "false"}).json()
    assert any(len(s["recommendations"]) > 1 for s in full["clients"])
    for f, s in zip(full["clients"], short["clients"], strict=True):
        assert [r["id"] for r in s["recommendations"]] == [r["id"] for r in f["recommendations"]][:1]
        assert all(r["because"] == [] for r in s["recommendations"]) and s["signals"] == []
        assert s["recommendations"][0]["reasons"] == f["recommendations"][0]["reasons"]


def test_subject_missing_from_the_facts(client: TestClient) -> None:
    body = problem(client.post("/v1/decisions/client/T-999", json=examples.CLIENT), 422, "subject_not_in_facts")
    assert located(body) == {("subject_not_in_facts", "/clients")}
    assert "T-001" in body["errors"][0]["detail"]


@pytest.mark.parametrize("decision_log", [True, False])
def test_the_posted_facts_are_validated_once_per_request(live: LiveRuleSet, fresh_log: str, decision_log: bool,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    checked: list[Any] = []
    validate = Advisor.validate

    def counted(self: Advisor, facts: Any, as_of: Any = None, prefer: Any = "given") -> Any:
        checked.append(facts)
        return validate(self, facts, as_of, prefer)

    monkeypatch.setattr(Advisor, "validate", counted)
    with TestClient(create_app(settings(db_url=fresh_log, decision_log=decision_log), live)) as c:
        for path, facts in ((ONE, examples.CLIENT), ("/v1/decisions", examples.BATCH)):
            checked.clear()
            r = c.post(path, json=facts)
            assert r.status_code == 200 and r.json()["logged"] is decision_log, r.text
            assert len(checked) == 1, path


def test_a_decision_without_the_subject_asked_for_is_an_internal_error_naming_it(
        live: LiveRuleSet, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(Decision, "subject", lambda self, subject_type, subject_id: None)  # an engine bug
    with TestClient(create_app(settings(decision_log=False), live), raise_server_exceptions=False) as c, \
            caplog.at_level(logging.ERROR, logger="rm_advisor.api"):
        problem(c.post(ONE, json=examples.CLIENT), 500, "internal_error")
    assert any("has no client `T-001`, which was posted" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)


def test_too_many_subjects_is_refused_before_deciding(live: LiveRuleSet) -> None:
    with TestClient(create_app(settings(max_subjects=4), live)) as c:
        body = problem(c.post("/v1/decisions", json=examples.BATCH), 422, "too_many_subjects")
        assert located(body) == {("too_many_subjects", "/clients"), ("too_many_subjects", "/managers")}
        assert c.post(ONE, json=examples.CLIENT).status_code == 200


def test_bad_facts_are_located_by_json_pointer(client: TestClient) -> None:
    facts = copy.deepcopy(examples.CLIENT)
    facts["clients"][0]["days_since_last_visit"] = "ten"
    facts["clients"][0]["days_since_visit"] = 3
    facts["visits"] = []
    body = problem(client.post(ONE, json=facts), 422, "invalid_facts")
    assert located(body) == {("fact_type", "/clients/0/days_since_last_visit"),
                             ("fact_unknown_field", "/clients/0/days_since_visit"),
                             ("fact_unknown_type", "/visits")}
    hints = {e["pointer"]: e.get("hint") for e in body["errors"]}
    assert "days_since_last_visit" in hints["/clients/0/days_since_visit"]


def test_bad_json_is_a_400_not_a_500(client: TestClient) -> None:
    r = client.post(ONE, content=b'{"clients": [', headers={"Content-Type": "application/json"})
    assert "character 13" in problem(r, 400, "bad_json")["detail"]


@pytest.mark.parametrize("params, body, where", [
    ({}, {"clients": "T-001"}, ("wrong_type", "/clients")),
    ({}, {"clients": ["T-001"]}, ("wrong_type", "/clients/0")),
    ({}, {"as_of": "2026-13-01"}, ("wrong_type", "/as_of")),
    ({}, [1, 2], ("wrong_type", "")),
    ({"top": 0}, examples.CLIENT, ("bad_value", "top")),
    ({"lang": "fr"}, examples.CLIENT, ("bad_value", "lang")),
    ({"explain": "maybe"}, examples.CLIENT, ("wrong_type", "explain")),
])
def test_wrong_types_are_located(client: TestClient, params: dict[str, Any], body: Any,
                                 where: tuple[str, str]) -> None:
    assert where in located(problem(client.post(ONE, params=params, json=body), 422, "invalid_request"))


def test_unknown_subject_type_in_the_path(client: TestClient) -> None:
    # no route takes it (so that /v1/decisions/{decision_id}/replay is not taken for a decision
    # either); the problem still names the parameter at fault
    body = problem(client.post("/v1/decisions/branch/B1", json=examples.CLIENT), 404, "not_found")
    assert located(body) == {("bad_value", "subject_type")} and "`branch`" in body["detail"]
    assert body["errors"][0]["hint"].startswith("client")


def test_oversized_bodies_are_refused_with_or_without_content_length(live: LiveRuleSet) -> None:
    big = b'{"clients": [' + b'{"id": "x"},' * 200 + b'{"id": "y"}]}'
    with TestClient(create_app(settings(max_body_bytes=2048), live)) as c:
        problem(c.post(ONE, content=big, headers={"Content-Type": "application/json"}), 413, "body_too_large")

        def chunks() -> Iterator[bytes]:
            for i in range(0, len(big), 500):
                yield big[i:i + 500]

        problem(c.post(ONE, content=chunks(), headers={"Content-Type": "application/json"}), 413, "body_too_large")
        assert c.post(ONE, json=examples.CLIENT).status_code == 200


def test_a_body_that_is_not_json_is_refused(client: TestClient) -> None:
    r = client.post(ONE, content=yaml.safe_dump(examples.CLIENT).encode(), headers={"Content-Type": "text/yaml"})
    problem(r, 415, "unsupported_media_type")
    r = client.post(ONE, content=b"clients=1", headers={"Content-Type": "application/x-www-form-urlencoded"})
    problem(r, 415, "unsupported_media_type")


def _per_client_documents() -> list[tuple[str, dict[str, Any]]]:
    """Each sample client with its own manager and interactions: many different requests."""
    doc = json.loads(json.dumps(yaml.safe_load(sample_facts_path().read_text(encoding="utf-8")), default=str))
    out = []
    for c in doc["clients"]:
        out.append((c["id"], {"as_of": str(doc["as_of"]), "clients": [c],
                              "managers": [m for m in doc["managers"] if m["id"] == c["manager_id"]],
                              "interactions": [i for i in doc["interactions"] if i["client_id"] == c["id"]]}))
    return out


def _stable(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "decision_id"}


@pytest.mark.parametrize("engine", ["compiled", "experta"])
def test_concurrent_requests_get_the_single_threaded_answers(live: LiveRuleSet, monkeypatch: pytest.MonkeyPatch,
                                                            engine: Engine) -> None:
    # neither evaluator is thread-safe (experta's engines least of all): none may ever run for two threads
    runs: list[tuple[int, int]] = []  # (evaluator, thread)
    base = advisor_module.ENGINES[engine]

    class Recording(base):  # type: ignore[valid-type, misc]
        def run(self, facts: Any, gates: Any = None, chained: Any = None) -> Any:
            runs.append((id(self), threading.get_ident()))
            return super().run(facts, gates, chained)

    monkeypatch.setitem(advisor_module.ENGINES, engine, Recording)
    loaded = live.current()
    fresh = LiveRuleSet(LoadedRuleSet(Advisor(loaded.book, engine=engine), loaded.rule_files, loaded.kb_files,
                                      loaded.loaded_at))
    docs = _per_client_documents()
    with TestClient(create_app(settings(), fresh)) as c:
        expected = {cid: _stable(c.post(f"/v1/decisions/client/{cid}", json=d).json()) for cid, d in docs}
        requests = [docs[i % len(docs)] for i in range(48)]
        with ThreadPoolExecutor(max_workers=12) as pool:
            answers = list(pool.map(lambda r: (r[0], c.post(f"/v1/decisions/client/{r[0]}", json=r[1])), requests))
    assert all(resp.status_code == 200 for _, resp in answers)
    assert [_stable(resp.json()) for _, resp in answers] == [expected[cid] for cid, _ in answers]
    threads_per_engine = {e: {t for e2, t in runs if e2 == e} for e, _ in runs}
    assert len(threads_per_engine) > 1 and all(len(ts) == 1 for ts in threads_per_engine.values())


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_managers_coaching_carries_its_card_and_the_coaching_from_clients(client: TestClient, lang: str) -> None:
    facts = json.loads(json.dumps(yaml.safe_load(sample_facts_path().read_text(encoding="utf-8")), default=str))
    r = client.post("/v1/decisions/manager/M-T01", json=facts, headers={"Accept-Language": lang})
    assert r.status_code == 200, r.text
    [top, *_] = r.json()["subject"]["recommendations"]
    assert top["id"] == "complaint_to_opportunity"
    reason = next(x for x in top["reasons"] if x["rule_id"] == "from_clients.tobacco_stale_complaints")
    assert set(reason["text"]) == {lang}
    named = "T-001 城东便民店, T-004 金福烟酒店" if lang == "en" else "T-001 城东便民店、T-004 金福烟酒店"
    assert named in reason["text"][lang]
    card = top["card"]
    assert card["metric"]["field"] == "manager.avg_complaint_close_days" and card["metric"]["value"] == 6.5
    assert {k: card["benchmark"][k] for k in ("basis", "domain", "managers", "median", "standing")} == {
        "basis": "given", "domain": "tobacco", "managers": 22, "median": 3.5, "standing": "behind"}
    assert card["next_behaviour"]["form"] == "start" and set(card["next_behaviour"]["text"]) == {lang}
    assert {e["fact"] for e in card["evidence"]} >= {"client:T-001", "client:T-004", "manager.avg_complaint_close_days"}
    assert card["review"] | {"text": None} == {"metric": "manager.avg_complaint_close_days", "date": "2026-12-23",
                                               "days": 30, "text": None}
    assert all(set(t) == {lang} for t in _texts(card))


def test_actions_carry_no_card(client: TestClient) -> None:
    r = client.post(ONE, json=examples.CLIENT, headers={"Accept-Language": "en"})
    assert r.status_code == 200, r.text
    assert all("card" not in rec for rec in r.json()["subject"]["recommendations"])


def test_a_card_without_a_team_says_so_and_the_posted_managers_make_one(client: TestClient) -> None:
    one = {"as_of": "2026-11-23", "managers": [{"id": "M1", "domain": "bank", "credit_file_deductions": 12}]}
    r = client.post("/v1/decisions", json=one, headers={"Accept-Language": "en"})
    card = r.json()["managers"][0]["recommendations"][0]["card"]
    assert "benchmark" not in card and "no team benchmark" in card["diagnosis"]["en"]
    two = {**one, "managers": [*one["managers"], {"id": "M2", "domain": "bank", "credit_file_deductions": 2}]}
    r = client.post("/v1/decisions", json=two, headers={"Accept-Language": "en"})
    card = r.json()["managers"][0]["recommendations"][0]["card"]
    assert card["benchmark"]["basis"] == "posted" and card["benchmark"]["median"] == 7.0
NEED = {"as_of": "2026-11-23", "clients": [{"id": "B1", "manager_id": "M1", "domain": "bank", "new_need": True,
                                            "new_need_kind": "financing"}]}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_decision_lists_what_to_confirm_in_the_language_asked_for(client: TestClient, live: LiveRuleSet,
                                                                   lang: str) -> None:
    r = client.post("/v1/decisions/client/B1", json=NEED, params={"lang": lang, "explain": "false"})
    assert r.status_code == 200, r.text
    [item] = r.json()["subject"]["to_confirm"]  # what to confirm is advice, not explanation: explain=false keeps it
    expected = live.current().advisor.decide(NEED).subject("client", "B1")
    assert expected is not None
    [want] = expected.to_confirm
    assert item["text"] == {lang: getattr(want.text, lang)} and item["score"] == want.score == 65
    assert [(u["id"], u["rule_id"], u["score"]) for u in item["unlocks"]] == \
        [(u.id, u.rule_id, u.score) for u in want.unlocks]
    assert item["fields"] == [{"fact": "client", "field": "new_need_reported",
                               "description": {lang: getattr(want.fields[0].description, lang)}}]


# ---- why and why not (issue 22 §4) ----------------------------------------------------------


def test_explain_why_not_an_item_over_http(client: TestClient) -> None:
    r = client.post(f"{ONE}/explain?item=counter_placement&lang=en", json=examples.CLIENT)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["revision"].startswith("r-") and body["as_of"] == "2026-11-23"
    [e] = body["explanations"]
    assert (e["subject"], e["target"], e["outcome"]) == ("client:T-001", "action:counter_placement",
                                                         "not recommended")
    assert e["rules"] and all(not r["fired"] and r["failing"] for r in e["rules"])
    assert set(e["rules"][0]["title"]) == {"en"}
    why = client.post(f"{ONE}/explain?rule=tobacco.network_ordering", json=examples.CLIENT).json()
    assert [x["outcome"] for x in why["explanations"]] == ["fired"]
    every = client.post(f"{ONE}/explain", json=examples.CLIENT).json()["explanations"]
    assert every and {x["outcome"] for x in every} <= {"recommended", "vetoed"}


def test_explain_why_nothing_over_http(client: TestClient) -> None:
    facts = {"as_of": "2026-11-23", "managers": [{"id": "M1", "domain": "tobacco"}],
             "clients": [{"id": "T-9", "manager_id": "M1", "domain": "tobacco", "client_class": "B",
                          "network_client": True, "e_settlement": "active", "in_visit_delivery_system": True,
                          "counterfeit_awareness": "adequate"}]}
    [e] = client.post("/v1/decisions/client/T-9/explain", json=facts).json()["explanations"]
    assert (e["target"], e["outcome"]) == ("nothing", "not recommended") and len(e["rules"]) == 3


def test_explain_names_an_unknown_item_or_rule(client: TestClient) -> None:
    body = problem(client.post(f"{ONE}/explain?item=guide_to_network_orderin", json=examples.CLIENT), 422,
                   "unknown_item")
    assert body["errors"][0]["parameter"] == "item" and "guide_to_network_ordering" in body["errors"][0]["hint"]
    problem(client.post(f"{ONE}/explain?rule=tobacco.nope", json=examples.CLIENT), 422, "unknown_item")
    problem(client.post("/v1/decisions/client/T-999/explain", json=examples.CLIENT), 422, "subject_not_in_facts")
    both = problem(client.post(f"{ONE}/explain?item=a&rule=b", json=examples.CLIENT), 422, "invalid_request")
    assert both["errors"][0]["code"] == "item_and_rule"


def test_feedback_over_http_reranks_a_later_decision_as_the_library_ranks_it(log_client: TestClient,
                                                                              fresh_log: str) -> None:
    import datetime as dt

    from rm_advisor.store import Store
    from tests.store.test_service import _b_class

    start = dt.date(2026, 11, 2)
    for day in (start + dt.timedelta(days=d) for d in range(7)):
        r = log_client.post("/v1/decisions", json=_b_class(day), params={"lang": "en"})
        assert r.status_code == 200, r.text
        body = r.json()
        for c in body["clients"]:  # answered when recommended: ranked low, the training is capped out
            shown = {x["id"] for x in c["recommendations"]}
            for item, status in (("anti_counterfeit_training", "rejected"), ("promote_e_settlement", "accepted")):
                if item not in shown:
                    continue
                fb = {"decision_id": body["decision_id"], "subject": c["id"], "item": item, "status": status,
                      **({"reason_code": "client_not_interested"} if status == "rejected" else {})}
                assert log_client.post("/v1/feedback", json=fb, headers=AUTH).status_code == 201
    last = _b_class(start + dt.timedelta(days=7))
    r = log_client.post("/v1/decisions", json=last, params={"lang": "zh"})
    assert r.status_code == 200, r.text
    body = r.json()
    top = body["clients"][0]["recommendations"][0]
    assert top["id"] == "promote_e_settlement" and top["ranking"]["acceptance"]["decided"] == 28
    assert "近 90 天「烟草 B类」中被接受 28/28 次" in top["ranking"]["text"]["zh"]
    # the library, given the evidence the logged decision recorded, ranks every client the same
    with Store(fresh_log) as store:
        logged = store.decisions.get(body["decision_id"]).decision
    assert logged.propensities is not None
    library = Advisor.load().decide(last, propensities=logged.propensities, history=[])
    assert [(c.id, [x.id for x in c.recommendations]) for c in library.clients] == \
        [(c["id"], [x["id"] for x in c["recommendations"]]) for c in body["clients"]]
