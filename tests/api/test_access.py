"""api/access.py and api/routes/auth.py: logging in, sessions, CSRF, API tokens, and scoping.

Manager A (alice, M-T01) and manager B (bob, M-B01) each have a logged decision; every route of the
app that takes a decision, client or manager id is asked, as A, for B's data by changing the id in
the URL or in the body, and must answer 403 or 404 with nothing of B's in the body."""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI, routing
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from rm_advisor.api import examples
from rm_advisor.api.access import PageUser, Principal, managers_visible, may_see_manager, require_manager, safe_next
from rm_advisor.api.app import create_app
from rm_advisor.api.problems import Problem
from rm_advisor.api.ruleset import LiveRuleSet
from rm_advisor.store import Store
from rm_advisor.store.schema import SessionRow
from tests.api.conftest import AUTH, problem, settings
from tests.helpers import rejectable

PASSWORD = "correct-horse-battery"
HTTPS = "https://testserver"
USERS = {"alice": ("manager", "M-T01", "east"), "bob": ("manager", "M-B01", "west"),
         "carol": ("branch_head", None, "east"), "rita": ("rule_author", None, None),
         "ada": ("administrator", None, None)}


def _b_facts() -> dict[str, Any]:
    """Manager B's own client, shaped like the example of manager A's client."""
    facts = copy.deepcopy(examples.CLIENT)
    facts["clients"][0].update(id="B-777", manager_id="M-B01")
    facts["managers"][0].update(id="M-B01")
    facts["interactions"][0].update(client_id="B-777", manager_id="M-B01")
    return facts


class World:
    """An app with accounts and one logged decision for each of managers A and B."""

    def __init__(self, client: TestClient, store: Store):
        self.c, self.store = client, store
        a = client.post("/v1/decisions/client/T-001", json=examples.CLIENT, headers=AUTH, params={"lang": "en"})
        b = client.post("/v1/decisions/client/B-777", json=_b_facts(), headers=AUTH, params={"lang": "en"})
        assert a.status_code == b.status_code == 200, (a.text, b.text)
        self.a, self.b = a.json(), b.json()

    def login(self, username: str, password: str = PASSWORD, next_path: str = "/app/") -> Any:
        self.c.cookies.clear()
        form = self.c.get("/login")
        assert form.status_code == 200
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert csrf is not None
        return self.c.post("/login", data={"username": username, "password": password, "csrf_token": csrf[1],
                                           "next": next_path}, follow_redirects=False)

    def session_csrf(self) -> str:
        token = self.c.cookies.get("rm_session")
        assert token
        found = self.store.users.session(token, dt.timedelta(hours=1))
        assert found is not None
        return found.csrf_token


@pytest.fixture
def world(live: LiveRuleSet, fresh_log: str) -> Iterator[World]:
    with Store(fresh_log) as store:
        for name, (role, manager, branch) in USERS.items():
            store.users.add(name, PASSWORD, role, display_name=name.title(), manager_id=manager, branch=branch)
        with TestClient(create_app(settings(db_url=fresh_log), live), base_url=HTTPS) as c:
            yield World(c, store)


def test_login_sets_a_secure_httponly_samesite_session_cookie_and_redirects_to_next(world: World) -> None:
    r = world.login("alice", next_path="/app/week")
    assert r.status_code == 303 and r.headers["location"] == "/app/week"
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("rm_session="))
    flags = {part.strip().lower() for part in cookie.split(";")}
    assert {"httponly", "secure", "samesite=lax", "path=/"} <= flags
    me = world.c.get(f"/v1/decisions/{world.a['decision_id']}")
    assert me.status_code == 200


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example", "app", ""])
def test_login_redirects_only_to_paths_of_this_site(world: World, target: str) -> None:
    r = world.login("alice", next_path=target)
    assert r.status_code == 303 and r.headers["location"] == "/app/"
    assert safe_next(target) == "/app/"


def test_a_failed_login_says_one_thing_for_a_wrong_password_an_unknown_user_and_a_disabled_one(
        world: World) -> None:
    world.store.users.disable("bob")
    answers = [world.login("alice", "wrong-password-123"), world.login("nobody-here"), world.login("bob")]
    assert [r.status_code for r in answers] == [401, 401, 401]
    assert len({re.sub(r'value="[^"]+"', "", r.text) for r in answers}) == 1
    assert all("rm_session=" not in r.headers.get("set-cookie", "") for r in answers)
    form = world.c.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert csrf is not None
    for username in ("alice", "nobody-here", "bob"):
        r = world.c.post("/login", data={"username": username, "password": "wrong-password-123",
                                         "csrf_token": csrf[1]}, headers={"Accept": "application/json"})
        problem(r, 401, "login_failed")


def test_the_login_form_needs_its_own_csrf_token(world: World) -> None:
    world.c.cookies.clear()
    r = world.c.post("/login", data={"username": "alice", "password": PASSWORD, "csrf_token": "made-up"},
                     follow_redirects=False)
    assert r.status_code == 403 and "rm_session=" not in r.headers.get("set-cookie", "")
    problem(world.c.post("/login", data={"username": "alice", "password": PASSWORD},
                         headers={"Accept": "application/json"}), 403, "csrf_failed")


def test_login_form_language_follows_lang_then_accept_language(world: World) -> None:
    zh = world.c.get("/login", headers={"Accept-Language": "zh-CN"})
    en = world.c.get("/login", params={"lang": "en"}, headers={"Accept-Language": "zh-CN"})
    assert zh.headers["content-language"] == "zh" and "登录" in zh.text
    assert en.headers["content-language"] == "en" and "Log in" in en.text and "登录" not in en.text


def test_a_changing_request_with_the_cookie_needs_the_session_csrf_token(world: World) -> None:
    world.login("alice")
    action = rejectable([x["id"] for x in world.a["subject"]["recommendations"]])
    body = {"decision_id": world.a["decision_id"], "subject": "T-001", "item": action, "status": "accepted"}
    problem(world.c.post("/v1/feedback", json=body), 403, "csrf_failed")
    problem(world.c.post("/v1/feedback", json=body, headers={"X-CSRF-Token": "wrong"}), 403, "csrf_failed")
    r = world.c.post("/v1/feedback", json=body, headers={"X-CSRF-Token": world.session_csrf()})
    assert r.status_code == 201, r.text
    assert r.json()["manager_id"] == "M-T01"  # recorded as the manager who gave it


def test_logout_needs_the_csrf_token_and_ends_the_session(world: World) -> None:
    world.login("alice")
    token = world.c.cookies.get("rm_session")
    assert world.c.post("/logout", follow_redirects=False).status_code == 403
    csrf = world.session_csrf()
    r = world.c.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    world.c.cookies.set("rm_session", token or "")
    problem(world.c.get(f"/v1/decisions/{world.a['decision_id']}"), 401, "unauthorized")


def test_a_disabled_user_cannot_log_in_and_their_session_and_token_stop_working(world: World) -> None:
    world.login("alice")
    token = world.store.users.new_token("alice", "crm")
    assert world.c.get(f"/v1/decisions/{world.a['decision_id']}").status_code == 200
    world.store.users.disable("alice")
    problem(world.c.get(f"/v1/decisions/{world.a['decision_id']}"), 401, "unauthorized")
    world.c.cookies.clear()
    problem(world.c.get(f"/v1/decisions/{world.a['decision_id']}", headers={"Authorization": f"Bearer {token}"}),
            401, "unauthorized")
    assert world.login("alice").status_code == 401


def test_an_idle_session_has_expired(world: World) -> None:
    world.login("alice")
    with world.store.db.transaction() as session:
        for row in session.query(SessionRow):
            row.last_seen = dt.datetime.now(dt.UTC) - dt.timedelta(hours=13)
    problem(world.c.get(f"/v1/decisions/{world.a['decision_id']}"), 401, "unauthorized")


def test_an_api_token_authenticates_without_csrf_and_a_revoked_one_does_not(world: World) -> None:
    world.c.cookies.clear()
    token = world.store.users.new_token("alice", "crm")
    bearer = {"Authorization": f"Bearer {token}"}
    assert world.c.get(f"/v1/decisions/{world.a['decision_id']}", headers=bearer).status_code == 200
    action = rejectable([x["id"] for x in world.a["subject"]["recommendations"]])
    body = {"decision_id": world.a["decision_id"], "subject": "T-001", "item": action, "status": "accepted"}
    assert world.c.post("/v1/feedback", json=body, headers=bearer).status_code == 201
    world.store.users.revoke_token("alice", "crm")
    problem(world.c.get(f"/v1/decisions/{world.a['decision_id']}", headers=bearer), 401, "unauthorized")


def test_with_accounts_the_decision_log_needs_a_user_or_the_key(world: World) -> None:
    world.c.cookies.clear()
    problem(world.c.get("/v1/decisions"), 401, "unauthorized")
    problem(world.c.get(f"/v1/decisions/{world.b['decision_id']}"), 401, "unauthorized")
    listing = world.c.get("/v1/decisions", headers=AUTH).json()  # the machine client's key sees all
    assert {d["id"] for d in listing["decisions"]} == {world.a["decision_id"], world.b["decision_id"]}


def test_a_manager_lists_only_their_own_book_a_branch_head_their_branch_a_rule_author_nothing(
        world: World) -> None:
    both = {world.a["decision_id"], world.b["decision_id"]}
    seen = {}
    for name in ("alice", "bob", "carol", "ada"):
        world.login(name)
        seen[name] = {d["id"] for d in world.c.get("/v1/decisions").json()["decisions"]}
    assert seen == {"alice": {world.a["decision_id"]}, "bob": {world.b["decision_id"]},
                    "carol": {world.a["decision_id"]}, "ada": both}
    world.login("rita")
    problem(world.c.get("/v1/decisions"), 403, "forbidden")
    problem(world.c.get("/v1/reports/effectiveness"), 403, "forbidden")


def _id_routes(world: World) -> list[tuple[str, str]]:
    """Every route of the app with a decision, client or manager id in its path or body."""
    found: list[tuple[str, str]] = []
    app = world.c.app
    assert isinstance(app, FastAPI)
    for context in routing.iter_route_contexts(app.router.routes):
        route = context.original_route
        if not isinstance(route, APIRoute):
            continue
        path = context.path_format or route.path
        params = {p.name for p in route.dependant.path_params}
        body = {f.name for f in route.dependant.body_params}
        if params & {"decision_id", "subject_id", "manager_id", "client_id"} or \
                (body and path.startswith(("/v1/feedback", "/v1/decisions"))):
            found.extend((m, path) for m in sorted(route.methods or ()))
    return sorted(set(found))


def _as_a_for_b(world: World, method: str, path: str) -> Any:
    """Ask, as manager A, for manager B's data on this route."""
    b_decision, b_item = world.b["decision_id"], world.b["subject"]["recommendations"][0]["id"]
    headers = {"X-CSRF-Token": world.session_csrf()}
    url = (path.replace("{decision_id}", b_decision).replace("{subject_type}", "client")
           .replace("{subject_id}", "B-777").replace("{client_id}", "B-777").replace("{manager_id}", "M-B01"))
    if path == "/v1/feedback":
        return world.c.post(url, json={"decision_id": b_decision, "subject": "B-777", "item": b_item,
                                       "status": "accepted"}, headers=headers)
    if method == "POST":
        return world.c.post(url, json=_b_facts(), headers=headers)
    return world.c.request(method, url)


def test_every_id_route_asked_by_manager_a_for_manager_b_is_403_or_404_and_holds_nothing_of_b(
        world: World) -> None:
    routes = _id_routes(world)
    assert ("GET", "/v1/decisions/{decision_id}") in routes and ("POST", "/v1/feedback") in routes
    world.login("alice")
    for method, path in routes:
        if path.startswith("/app/"):
            continue  # the workspace pages answer an HTML "not found" page (tests/api/test_worklists.py)
        r = _as_a_for_b(world, method, path)
        assert r.status_code in (403, 404), (method, path, r.status_code, r.text)
        if not r.headers.get("content-type", "").startswith("application/problem+json"):  # a page's own 404
            assert "B-777" not in r.text.replace(r.url.path, "") and "recommendations" not in r.text, (method, path)
            continue
        body = r.json()
        assert body["code"] in ("decision_not_found", "not_found", "forbidden"), (method, path, body)
        assert set(body) <= {"type", "title", "status", "detail", "instance", "code", "revision", "errors"}
        # only the id A asked with comes back (in the request path, or named as not found): nothing of B's book
        told = str({k: v for k, v in body.items() if k != "instance"}).replace(world.b["decision_id"], "")
        assert "B-777" not in told and "M-B01" not in told, (method, path, body)


def test_manager_a_cannot_give_feedback_in_manager_b_s_name(world: World) -> None:
    world.login("alice")
    action = rejectable([x["id"] for x in world.a["subject"]["recommendations"]])
    body = {"decision_id": world.a["decision_id"], "subject": "T-001", "item": action, "status": "accepted",
            "manager_id": "M-B01"}
    problem(world.c.post("/v1/feedback", json=body, headers={"X-CSRF-Token": world.session_csrf()}), 403,
            "forbidden")


def test_a_manager_s_report_counts_only_their_own_book(world: World) -> None:
    full = world.c.get("/v1/reports/effectiveness", headers=AUTH).json()
    world.login("alice")
    mine = world.c.get("/v1/reports/effectiveness")
    assert mine.status_code == 200, mine.text
    assert "M-B01" in str(full) and "M-B01" not in mine.text and "M-T01" in mine.text


def test_a_branch_head_sees_the_managers_of_their_branch(world: World) -> None:
    carol = Principal("carol", "Carol", "branch_head", None, "east", None)
    assert managers_visible(carol, world.store) == frozenset({"M-T01"})
    world.login("carol")
    assert world.c.get(f"/v1/decisions/{world.a['decision_id']}").status_code == 200
    problem(world.c.get(f"/v1/decisions/{world.b['decision_id']}"), 404, "decision_not_found")


def test_pages_redirect_to_the_login_form_without_a_session(world: World) -> None:
    app = world.c.app
    assert isinstance(app, FastAPI)

    @app.get("/app/probe-for-test")
    def probe(user: PageUser) -> dict[str, str]:
        return {"user": user.username}

    world.c.cookies.clear()
    r = world.c.get("/app/probe-for-test?x=1", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/app/probe-for-test%3Fx%3D1"
    world.login("alice")
    assert world.c.get("/app/probe-for-test").json() == {"user": "alice"}


def test_without_accounts_the_server_behaves_as_before(live: LiveRuleSet, fresh_log: str) -> None:
    with TestClient(create_app(settings(db_url=fresh_log, api_key=None), live)) as c:
        answer = c.post("/v1/decisions/client/T-001", json=examples.CLIENT).json()
        assert c.get(f"/v1/decisions/{answer['decision_id']}").status_code == 200
        assert c.get("/v1/decisions").status_code == 200


def test_failed_logins_are_limited_per_address(live: LiveRuleSet, fresh_log: str) -> None:
    with Store(fresh_log) as store:
        store.users.add("alice", PASSWORD, "manager", manager_id="M-T01")
    with TestClient(create_app(settings(db_url=fresh_log, login_failures="2/minute"), live), base_url=HTTPS) as c:
        page = c.get("/login")
        statuses = []
        for password in ("wrong-password-123", "wrong-password-456", PASSWORD):
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert csrf is not None  # each answer's form carries a fresh token
            page = c.post("/login", data={"username": "alice", "password": password, "csrf_token": csrf[1]},
                          follow_redirects=False)
            statuses.append(page.status_code)
        assert statuses == [401, 401, 429]  # the right password too, once over the limit
        assert problem(page, 429, "rate_limited")["detail"] and int(page.headers["retry-after"]) >= 1


def test_require_manager_is_a_404_for_a_book_the_principal_does_not_see(world: World) -> None:
    alice = Principal("alice", "Alice", "manager", "M-T01", "east", None)
    rita = Principal("rita", "Rita", "rule_author", None, None, None)
    admin = Principal("ada", "Ada", "administrator", None, None, None)
    require_manager(alice, "M-T01", world.store)
    for who, manager in ((alice, "M-B01"), (rita, "M-T01")):
        with pytest.raises(Problem) as exc:
            require_manager(who, manager, world.store)
        assert exc.value.code == "not_found"
    assert may_see_manager(admin, "M-B01", world.store) and managers_visible(admin, world.store) is None
    assert managers_visible(rita, world.store) == frozenset()


def test_an_administrator_account_opens_the_administration_routes_and_is_recorded_as_who_asked(
        world: World) -> None:
    purge, erasures = "/v1/admin/decision-log/purge", "/v1/admin/decision-log/erasures"
    world.login("alice")
    problem(world.c.get(erasures), 403, "forbidden")
    problem(world.c.post(purge, json={"older_than_days": 400}, headers={"X-CSRF-Token": world.session_csrf()}),
            403, "forbidden")
    world.login("ada")
    problem(world.c.post(purge, json={"older_than_days": 400}), 403, "csrf_failed")
    done = world.c.post(purge, json={"older_than_days": 400, "by": "ticket-7"},
                        headers={"X-CSRF-Token": world.session_csrf()})
    assert done.status_code == 200, done.text
    assert done.json()["by"] == "ada" and done.json()["decisions"] == 0
    assert [e["by"] for e in world.c.get(erasures).json()["erasures"]] == ["ada"]
    world.c.cookies.clear()
    problem(world.c.get(erasures), 401, "unauthorized")
