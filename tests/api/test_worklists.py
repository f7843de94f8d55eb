"""The workspace's read models (GET /v1/worklists/..., /v1/clients/..., /v1/team) and its pages
(/app/...): served from a logged batch run, scoped to what the caller may see, in zh and en."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from rm_advisor.api.app import create_app
from rm_advisor.api.ruleset import LiveRuleSet
from rm_advisor.cli.workspace import BRANCH, log_batch, seed
from rm_advisor.store import Store
from tests.api.conftest import problem, settings

#: small enough to log quickly, large enough for three domains' managers
CLIENTS = 60


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database with a logged sample batch and the demo accounts, plus a branch head of another branch."""
    folder = tmp_path_factory.mktemp("workspace")
    url = f"sqlite:///{folder / 'demo.db'}"
    seed(url, CLIENTS, folder / "batch")
    with Store(url) as store:
        store.users.add("other-head", "other-password", "branch_head", branch="elsewhere")
    return url


@pytest.fixture(scope="module")
def ws(live: LiveRuleSet, demo_db: str) -> Iterator[TestClient]:
    with TestClient(create_app(settings(db_url=demo_db, secure_cookies=False), live)) as c:
        yield c


def bearer(db: str, username: str) -> dict[str, str]:
    with Store(db) as store:
        token = store.users.new_token(username, name=f"t{len(store.users.tokens(username))}")
    return {"Authorization": f"Bearer {token}"}


def session(client: TestClient, db: str, username: str) -> str:
    """Log ``username`` in (a session cookie on ``client``); the session's CSRF token."""
    with Store(db) as store:
        token, csrf = store.users.start_session(username)
    client.cookies.set("rm_session", token)
    return csrf


def test_a_manager_reads_their_week_ranked_within_capacity_with_the_why(ws: TestClient, demo_db: str) -> None:
    r = ws.get("/v1/worklists/MT001?lang=en", headers=bearer(demo_db, "manager"))
    assert r.status_code == 200, r.text
    assert r.headers["X-Rule-Revision"].startswith("r-") and r.headers["Content-Language"] == "en"
    week = r.json()
    assert week["manager_id"] == "MT001" and week["decision_id"].startswith("d-")
    planned = [i for i in week["items"] if i["status"] == "planned"]
    assert planned and len([i for i in planned if i["contact"] == "visit"]) <= week["capacity"]["visit"]
    assert [i["rank"] for i in week["items"]] == sorted(i["rank"] for i in week["items"])
    scores = [i["score"] for i in week["items"]]
    assert scores == sorted(scores, reverse=True)
    action = planned[0]["actions"][0]
    assert action["title"]["en"] and "zh" not in action["title"] and action["reason"]["en"]
    rule = action["why"][0]
    assert rule["quote"] and rule["document"].startswith("D") and rule["file"].endswith(".yaml") and rule["matched"]


def test_the_week_served_is_the_one_the_batch_wrote_ranked_by_the_classes_history_gave(ws: TestClient,
                                                                                        demo_db: str) -> None:
    """The logged input holds the given fields and the history events; the workspace derives the
    client classes from them again, so it ranks the week as the batch did (worklists.csv)."""
    out = Path(demo_db.removeprefix("sqlite:///")).parent / "batch" / "worklists.csv"
    with out.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    auth = bearer(demo_db, "manager")
    week = ws.get("/v1/worklists/MT001?lang=en", headers=auth).json()
    assert [(i["client_id"], i["status"]) for i in week["items"]] == \
        [(r["client_id"], r["status"]) for r in rows if r["manager_id"] == "MT001" and r["section"] == "contacts"]
    view = ws.get(f"/v1/clients/{week['items'][0]['client_id']}?lang=en", headers=auth).json()
    assert {"client_class", "days_since_last_visit"} <= {p["field"] for p in view["profile"]}


def test_the_week_comes_in_chinese_too(ws: TestClient, demo_db: str) -> None:
    r = ws.get("/v1/worklists/MT001", headers={**bearer(demo_db, "manager"), "Accept-Language": "zh"})
    item = r.json()["items"][0]
    assert re.search(r"[\u4e00-\u9fff]", item["actions"][0]["title"]["zh"]) and "en" not in item["reason"]


def test_a_manager_cannot_read_another_managers_book(ws: TestClient, demo_db: str) -> None:
    auth = bearer(demo_db, "manager")
    problem(ws.get("/v1/worklists/MB001", headers=auth), 404, "not_found")
    problem(ws.get("/v1/worklists/MB001/held-back", headers=auth), 404, "not_found")
    clients = ws.get("/v1/worklists/MB001", headers=bearer(demo_db, "head")).json()["items"]
    problem(ws.get(f"/v1/clients/{clients[0]['client_id']}", headers=auth), 404, "not_found")
    problem(ws.get("/v1/worklists/MT001"), 401, "unauthorized")


def test_a_branch_head_sees_the_branchs_team_and_another_branch_sees_none(ws: TestClient, demo_db: str) -> None:
    team = ws.get("/v1/team?lang=en", headers=bearer(demo_db, "head")).json()["managers"]
    assert {m["manager_id"] for m in team} == {"MT001", "MB001", "MC001"}
    assert all(re.fullmatch(r"\d+/\d+", m["visits"]) and m["actions"] for m in team)
    assert ws.get("/v1/team", headers=bearer(demo_db, "other-head")).json()["managers"] == []
    problem(ws.get("/v1/worklists/MT001", headers=bearer(demo_db, "other-head")), 404, "not_found")
    assert BRANCH


def test_held_back_and_coaching_name_the_policy_or_veto_and_the_evidence(ws: TestClient, demo_db: str) -> None:
    auth = bearer(demo_db, "head")
    held = [h for m in ("MT001", "MB001", "MC001")
            for h in ws.get(f"/v1/worklists/{m}/held-back?lang=en", headers=auth).json()["items"]]
    assert held and all(h["held_by"] and h["outcome"] in ("vetoed", "suppressed") for h in held)
    assert all(b["until"] for h in held if h["outcome"] == "suppressed" for b in h["held_by"])
    coaching = ws.get("/v1/worklists/MT001/coaching?lang=en", headers=auth).json()["topics"]
    assert coaching and coaching[0]["reason"]["en"] and coaching[0]["why"]


def test_a_client_with_its_timeline_and_why_not_any_catalogue_action(ws: TestClient, demo_db: str) -> None:
    auth = bearer(demo_db, "manager")
    first = ws.get("/v1/worklists/MT001", headers=auth).json()["items"][0]["client_id"]
    view = ws.get(f"/v1/clients/{first}?lang=en", headers=auth).json()
    assert view["manager_id"] == "MT001" and view["actions"] and view["profile"]
    assert all(p["value"] != "***" for p in view["profile"])  # masked fields are left out
    domain = next(p for p in view["profile"] if p["field"] == "domain")
    assert (domain["value"], domain["shown"]) == ("tobacco", {"en": "tobacco"})
    zh = {p["field"]: p["shown"]["zh"] for p in ws.get(f"/v1/clients/{first}?lang=zh", headers=auth).json()["profile"]}
    assert zh["domain"] == "烟草" and {v for f, v in zh.items() if f.startswith("is_")} <= {"是", "否"}
    dates = [e["date"] for e in view["interactions"]]
    assert dates == sorted(dates, reverse=True)
    other = view["catalogue"][0]["id"]
    why = ws.get(f"/v1/clients/{first}/why-not/{other}?lang=en", headers=auth).json()
    assert why["outcome"] == "not recommended" and why["item"] == other
    assert any(c["change"] for r in why["rules"] for c in r["failing"]) or not why["rules"]
    why_zh = ws.get(f"/v1/clients/{first}/why-not/{other}?lang=zh", headers=auth).json()
    assert set(why_zh["summary"]) == {"zh"} and re.search(r"[\u4e00-\u9fff]", why_zh["summary"]["zh"])
    problem(ws.get(f"/v1/clients/{first}/why-not/no_such_action", headers=auth), 422, "unknown_item")


def test_a_page_without_a_session_redirects_to_the_login_form(ws: TestClient) -> None:
    ws.cookies.clear()
    r = ws.get("/app/week", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/app/week"


def _week_page(ws: TestClient, lang: str) -> str:
    r = ws.get(f"/app/week?lang={lang}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    return str(r.text)


def test_the_week_page_in_both_languages_with_forms_carrying_the_csrf_token(ws: TestClient, demo_db: str) -> None:
    csrf = session(ws, demo_db, "manager")
    en, zh = _week_page(ws, "en"), _week_page(ws, "zh")
    assert "Planned this week" in en and 'lang="en"' in en
    assert "本周计划" in zh and 'lang="zh-CN"' in zh and "Planned this week" not in zh
    forms = re.findall(r'<form method="post".*?</form>', en, flags=re.S)
    assert forms and all(f'name="csrf_token" value="{csrf}"' in f for f in forms)
    assert "<dialog" in en  # a rejection is confirmed before it is sent
    assert ws.get("/app/week/MB001").status_code == 404


def _reject_form(page: str) -> dict[str, Any]:
    """The fields of the first rejection form of a service or sales action (the kinds a rejection
    holds back: a risk or obligation action is never suppressed)."""
    form = re.search(r'<li class="action" data-item="[^"]+" data-kind="(?:service|sales)">.*?'
                     r'(<form method="post" action="/app/feedback" class="inline reject".*?</form>)', page, re.S)
    assert form, "no rejection form on the page"
    fields = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', form.group(1)))
    fields["reason_code"] = re.findall(r'<option value="([a-z_]+)">', form.group(1))[0]
    return fields


def test_a_rejection_needs_the_csrf_token_and_is_held_back_after_the_next_batch(
        ws: TestClient, demo_db: str, tmp_path: Path) -> None:
    session(ws, demo_db, "manager")
    page = _week_page(ws, "en")
    fields = _reject_form(page)
    problem(ws.post("/app/feedback", data={**fields, "csrf_token": "wrong"}, follow_redirects=False), 403,
            "csrf_failed")
    r = ws.post("/app/feedback", data=fields, follow_redirects=False)
    assert r.status_code == 303 and "msg=rejected" in r.headers["location"]
    shown = ws.get(r.headers["location"]).text
    assert "Feedback recorded" in shown
    with Store(demo_db) as store:
        recorded = store.feedback.for_decision(fields["decision_id"])
    assert [(f.item_id, f.status, f.manager_id) for f in recorded][-1] == (fields["item"], "rejected", "MT001")
    log_batch(demo_db, CLIENTS, tmp_path / "again")  # the next decision sees the rejection
    held = ws.get("/v1/worklists/MT001/held-back?lang=en", headers=bearer(demo_db, "manager")).json()["items"]
    client = fields["subject"].split(":", 1)[1]
    assert any(h["client_id"] == client and h["item"] == fields["item"] and h["outcome"] == "suppressed"
               for h in held), held


def test_the_team_page_filters_and_drills_down(ws: TestClient, demo_db: str) -> None:
    session(ws, demo_db, "head")
    page = ws.get("/app/team?lang=en").text
    assert all(f'href="/app/week/{m}"' in page for m in ("MT001", "MB001", "MC001"))
    only_bank = ws.get("/app/team?lang=en&domain=bank").text
    assert 'href="/app/week/MB001"' in only_bank and 'href="/app/week/MT001"' not in only_bank
    assert ws.get("/app/week/MT001?lang=en").status_code == 200
    assert ws.get("/app/").headers.get("location") is None  # followed to the team page


def test_the_client_page_shows_the_actions_with_their_forms_and_answers_why_not(ws: TestClient, demo_db: str) -> None:
    session(ws, demo_db, "manager")
    client = ws.get("/v1/worklists/MT001", headers=bearer(demo_db, "manager")).json()["items"][0]["client_id"]
    page = ws.get(f"/app/clients/{client}?lang=en")
    assert page.status_code == 200 and "Ranked actions" in page.text and 'action="/app/feedback"' in page.text
    item = re.findall(r'<option value="([a-z_]+)"', page.text.split('id="whynot-h"')[1])[0]
    fragment = ws.get(f"/app/clients/{client}?item={item}&lang=en", headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<section class="why-not"') and "<html" not in fragment.text


def test_an_action_ranked_by_feedback_shows_how_in_the_why(advisor: Any) -> None:
    """The read model carries the arbitration's ranking text, which the "why" disclosure shows."""
    from rm_advisor.api import readmodels
    from rm_advisor.api.schemas import LocalText
    from rm_advisor.engine.language.propensity import AcceptanceCount, PropensityTable
    from rm_advisor.engine.portfolio import generate

    p = generate(clients=30, managers=3, seed=5)
    def given(frame: Any) -> list[dict[str, Any]]:
        return [{str(k): v for k, v in r.items() if v == v and v is not None} for r in frame.to_dict("records")]
    clients = given(p.clients)
    facts = {"as_of": p.as_of.isoformat(), "clients": clients, "managers": given(p.managers)}
    first = advisor.decide(facts)
    client = next(c for c in first.clients if c.recommendations)
    fact = next(f for f in clients if f["id"] == client.id)
    table = PropensityTable(as_of=p.as_of, window_days=90, half_life_days=30, entries=(AcceptanceCount(
        action=client.recommendations[0].id, segment=advisor.book.kb.segment_of("client", fact), accepted=60,
        decided=60, weighted_accepted=60, weighted_decided=60),))
    ranked = advisor.decide(facts, propensities=table).subject("client", client.id)
    assert ranked is not None
    view = readmodels._action(ranked.recommendations[0], ranked, advisor.book.kb.action_kinds(), {})
    text = LocalText.model_validate(view["ranking"], context={"lang": "both"})
    assert text.en is not None and text.en.startswith("priority ") and "accepted 60 of 60" in text.en
    assert text.zh is not None and "被接受 60/60 次" in text.zh
