"""api/routes/releases.py: rule releases with four eyes, through the app and through a real server.

A rule author proposes, an administrator other than the proposer approves, and the server answers
with the new revision; the proposer cannot approve their own release, other roles are refused,
every change of state is in the audit trail, and a named earlier revision comes back in one step.
Each test has a live rule set of its own (an approval changes what it serves)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from rm_advisor.api.app import create_app
from rm_advisor.api.ruleset import LiveRuleSet
from rm_advisor.store import Store
from tests.api.conftest import AUTH, problem, settings
from tests.api.real_server import Server
from tests.store.conftest import db_url, pg_base_url  # noqa: F401 (fixtures: both databases)

PASSWORD = "correct-horse-battery"
USERS = {"rita": "rule_author", "ada": "administrator", "alan": "administrator", "carol": "branch_head"}
ACTION = "action: guide_to_network_ordering"


def _changed(rules: Path, priority: int) -> dict[str, Any]:
    """The body of a proposal: tobacco.yaml with the network-ordering action at another priority."""
    text = (rules / "tobacco.yaml").read_text(encoding="utf-8")
    return {"files": [{"name": "tobacco.yaml", "text": text.replace(ACTION, f"{ACTION}\n          priority: {priority}",
                                                                    1)}],
            "note": f"network ordering at priority {priority}"}


class Desk:
    """An app with accounts (each with an API token) on a database and a live rule set of its own."""

    def __init__(self, client: TestClient, store: Store, tokens: dict[str, str], rules: Path):
        self.c, self.store, self.tokens, self.rules = client, store, tokens, rules

    def as_(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def propose(self, user: str, priority: int) -> Any:
        return self.c.post("/v1/releases", json=_changed(self.rules, priority), headers=self.as_(user))

    def serving(self) -> str:
        revision: str = self.c.get("/v1/ruleset").json()["revision"]
        return revision


def _accounts(store: Store, manager: bool = True) -> dict[str, str]:
    tokens = {}
    for name, role in USERS.items():
        store.users.add(name, PASSWORD, role, branch="east" if role == "branch_head" else None)
        tokens[name] = store.users.new_token(name)
    if manager:
        store.users.add("alice", PASSWORD, "manager", manager_id="M-T01", branch="east")
        tokens["alice"] = store.users.new_token("alice")
    return tokens


@pytest.fixture
def desk(db_url: str, rules_dir: Path) -> Iterator[Desk]:
    live = LiveRuleSet.start(settings(rules_dir=rules_dir, db_url=db_url))
    with Store(db_url) as store:
        tokens = _accounts(store)
        with TestClient(create_app(settings(rules_dir=rules_dir, db_url=db_url), live)) as c:
            yield Desk(c, store, tokens, rules_dir)


def test_a_proposal_serves_only_once_another_administrator_approves_it_and_every_step_is_audited(desk: Desk) -> None:
    before = desk.serving()
    proposed = desk.propose("rita", 1)
    assert proposed.status_code == 201, proposed.text
    release = proposed.json()
    assert (release["state"], release["proposed_by"], release["base_revision"]) == ("proposed", "rita", before)
    assert release["revision"] != before and release["check"]["errors"] == 0
    diff = release["diff"]
    assert diff["basis"] == "sample_portfolio" and diff["old_revision"] == before
    assert diff["new_revision"] == release["revision"] and diff["documents"] > 0
    assert desk.serving() == before  # proposed, not serving
    # the proposer may not approve: a rule author has no approver role, an administrator not their own
    problem(desk.c.post(f"/v1/releases/{release['id']}/approve", headers=desk.as_("rita")), 403, "forbidden")
    own = desk.propose("ada", 2).json()
    body = problem(desk.c.post(f"/v1/releases/{own['id']}/approve", headers=desk.as_("ada")), 403,
                   "release_self_approval")
    assert "four eyes" in body["detail"]
    assert desk.c.get(f"/v1/releases/{own['id']}", headers=desk.as_("ada")).json()["state"] == "proposed"
    approved = desk.c.post(f"/v1/releases/{release['id']}/approve", params={"note": "diff reviewed"},
                           headers=desk.as_("alan"))
    assert approved.status_code == 200, approved.text
    out = approved.json()
    assert (out["state"], out["decided_by"], out["serving"], out["previous_revision"]) == (
        "active", "alan", release["revision"], before)
    assert desk.serving() == release["revision"]
    assert approved.headers["X-Rule-Revision"] == release["revision"]
    shown = desk.c.get(f"/v1/releases/{release['id']}", headers=desk.as_("rita")).json()
    assert [(e["event"], e["by"], e.get("serving_before")) for e in shown["events"]] == [
        ("proposed", "rita", before), ("approved", "alan", before)]
    assert shown["diff"] == diff and shown["decision_note"] == "diff reviewed"


def test_other_roles_and_the_api_key_cannot_propose_or_decide_and_anonymous_callers_are_401(desk: Desk) -> None:
    rid = desk.propose("rita", 1).json()["id"]
    for user in ("alice", "carol"):
        problem(desk.c.get("/v1/releases", headers=desk.as_(user)), 403, "forbidden")
        problem(desk.propose(user, 3), 403, "forbidden")
        problem(desk.c.post(f"/v1/releases/{rid}/approve", headers=desk.as_(user)), 403, "forbidden")
        problem(desk.c.post(f"/v1/releases/{rid}/reject", headers=desk.as_(user)), 403, "forbidden")
    listed = desk.c.get("/v1/releases", headers=AUTH)  # the API key reads, and does nothing else
    assert listed.status_code == 200 and [r["id"] for r in listed.json()["releases"]] == [rid]
    assert listed.json()["four_eyes"] is True
    problem(desk.c.post("/v1/releases", json=_changed(desk.rules, 3), headers=AUTH), 403, "forbidden")
    problem(desk.c.post(f"/v1/releases/{rid}/approve", headers=AUTH), 403, "forbidden")
    problem(desk.c.post(f"/v1/releases/{rid}/rollback", headers=AUTH), 403, "forbidden")
    problem(desk.c.get("/v1/releases"), 401, "unauthorized")
    problem(desk.c.get(f"/v1/releases/{rid + 100}", headers=desk.as_("rita")), 404, "release_not_found")


def test_with_four_eyes_the_direct_reload_is_refused_even_with_the_api_key(desk: Desk) -> None:
    body = problem(desk.c.post("/v1/ruleset/reload", headers=AUTH), 403, "four_eyes_required")
    assert "/v1/releases" in body["detail"]


def test_a_rejected_release_never_serves_and_is_not_decided_again(desk: Desk) -> None:
    before = desk.serving()
    rid = desk.propose("rita", 1).json()["id"]
    rejected = desk.c.post(f"/v1/releases/{rid}/reject", params={"note": "too broad"}, headers=desk.as_("ada"))
    assert rejected.status_code == 200 and rejected.json()["state"] == "rejected"
    problem(desk.c.post(f"/v1/releases/{rid}/approve", headers=desk.as_("alan")), 409, "release_state")
    assert desk.serving() == before
    assert [e["event"] for e in rejected.json()["events"]] == ["proposed", "rejected"]


def test_rollback_serves_a_named_earlier_revision_again_in_one_audited_step(desk: Desk) -> None:
    first = desk.propose("rita", 1).json()
    desk.c.post(f"/v1/releases/{first['id']}/approve", headers=desk.as_("ada"))
    second = desk.propose("rita", 2).json()
    assert second["base_revision"] == first["revision"]  # diffed against what serves now
    desk.c.post(f"/v1/releases/{second['id']}/approve", headers=desk.as_("ada"))
    assert desk.serving() == second["revision"]
    back = desk.c.post(f"/v1/releases/{first['id']}/rollback", params={"note": "second misfires"},
                       headers=desk.as_("alan"))
    assert back.status_code == 200, back.text
    assert (back.json()["id"], back.json()["serving"]) == (first["id"], first["revision"])
    assert desk.serving() == first["revision"]
    listed = {r["id"]: r for r in desk.c.get("/v1/releases", headers=desk.as_("rita")).json()["releases"]}
    assert (listed[first["id"]]["state"], listed[second["id"]]["state"]) == ("active", "rolled_back")
    assert [(e["event"], e["by"]) for e in listed[first["id"]]["events"]] == [
        ("proposed", "rita"), ("approved", "ada"), ("superseded", "ada"), ("reactivated", "alan")]
    assert listed[first["id"]]["events"][-1]["note"] == "second misfires"
    problem(desk.c.post(f"/v1/releases/{first['id']}/rollback", headers=desk.as_("alan")), 409, "release_state")
    problem(desk.c.post("/v1/releases/999/rollback", headers=desk.as_("alan")), 404, "release_not_found")
    problem(desk.c.post(f"/v1/releases/{second['id']}/rollback", headers=desk.as_("rita")), 403, "forbidden")
    never = desk.propose("rita", 3).json()  # proposed, never served: nothing to roll back to
    problem(desk.c.post(f"/v1/releases/{never['id']}/rollback", headers=desk.as_("alan")), 409, "release_state")


def test_a_release_proposed_before_the_knowledge_base_changed_is_stale(desk: Desk) -> None:
    from rm_advisor.api.ruleset import build

    release = desk.propose("rita", 1).json()
    live: LiveRuleSet = desk.c.app.state.live  # type: ignore[attr-defined]
    serving = live.current()
    kb = dict(serving.kb_files)
    name = next(n for n in sorted(kb) if n.endswith("parameters.yaml"))
    kb[name] += "\n# a comment: another revision\n"
    live.swap(build(serving.rule_files, kb, live.max_firings))
    body = problem(desk.c.post(f"/v1/releases/{release['id']}/approve", headers=desk.as_("ada")), 409,
                   "release_stale")
    assert release["revision"] in body["detail"]
    assert desk.c.get(f"/v1/releases/{release['id']}", headers=desk.as_("ada")).json()["state"] == "proposed"


def test_a_broken_or_unchanged_proposal_is_refused_located_and_nothing_is_recorded(desk: Desk) -> None:
    text = (desk.rules / "tobacco.yaml").read_text(encoding="utf-8").replace("priority: 70", "priority: 700", 1)
    body = problem(desk.c.post("/v1/releases", json={"files": [{"name": "tobacco.yaml", "text": text}]},
                               headers=desk.as_("rita")), 422, "rule_set_invalid")
    assert any(e.get("file") == "tobacco.yaml" and e.get("line") for e in body["errors"])
    problem(desk.c.post("/v1/releases", json={}, headers=desk.as_("rita")), 409, "release_unchanged")  # disk = serving
    assert desk.c.get("/v1/releases", headers=desk.as_("rita")).json()["releases"] == []


def test_a_restarted_server_serves_the_active_release_not_the_files_on_disk(db_url: str,
                                                                             rules_dir: Path) -> None:
    live = LiveRuleSet.start(settings(rules_dir=rules_dir, db_url=db_url))
    with Store(db_url) as store:
        tokens = _accounts(store, manager=False)
        with TestClient(create_app(settings(rules_dir=rules_dir, db_url=db_url), live)) as c:
            desk = Desk(c, store, tokens, rules_dir)
            release = desk.propose("rita", 1).json()
            desk.c.post(f"/v1/releases/{release['id']}/approve", headers=desk.as_("ada"))
    again = LiveRuleSet.start(settings(rules_dir=rules_dir, db_url=db_url))
    assert again.revision != release["revision"]  # the files on disk
    with TestClient(create_app(settings(rules_dir=rules_dir, db_url=db_url), again)) as c:
        assert c.get("/v1/ruleset").json()["revision"] == release["revision"]


def test_four_eyes_work_against_a_real_server(db_url: str, rules_dir: Path, tmp_path: Path) -> None:
    with Store(db_url) as store:
        tokens = _accounts(store, manager=False)
    server = Server(tmp_path / "server.log", db_url, rules=rules_dir)
    try:
        server.wait_ready()
        before = server.get("/v1/ruleset").json()["revision"]
        rita, ada = ({"Authorization": f"Bearer {tokens[u]}"} for u in ("rita", "ada"))
        proposed = server.post("/v1/releases", json=_changed(rules_dir, 1), headers=rita)
        assert proposed.status_code == 201, proposed.text
        rid = proposed.json()["id"]
        assert server.post(f"/v1/releases/{rid}/approve", headers=rita).json()["code"] == "forbidden"
        assert server.post("/v1/ruleset/reload", headers=AUTH).json()["code"] == "four_eyes_required"
        approved = server.post(f"/v1/releases/{rid}/approve", headers=ada)
        assert approved.status_code == 200, approved.text
        after = server.get("/v1/ruleset").json()["revision"]
        assert after == proposed.json()["revision"] != before
    finally:
        server.stop()
    with Store(db_url) as store:
        events = store.releases.get(rid).events
    assert [(e.event, e.by) for e in events] == [("proposed", "rita"), ("approved", "ada")]


def _login(c: TestClient, username: str, page_csrf: bool = True) -> str:
    """Log in through the form; the session's CSRF token, as the Releases page carries it."""
    import re

    c.cookies.clear()
    form = c.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    c.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token[1], "next": "/app/"},
           follow_redirects=False)
    if not page_csrf:
        return ""
    page = c.get("/app/releases", params={"lang": "en"})
    assert page.status_code == 200, page.text
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    return found[1]


def test_the_releases_page_shows_the_diff_and_lets_another_administrator_approve(
        db_url: str, rules_dir: Path) -> None:
    live = LiveRuleSet.start(settings(rules_dir=rules_dir, db_url=db_url))
    with Store(db_url) as store:
        tokens = _accounts(store)
        app = create_app(settings(rules_dir=rules_dir, db_url=db_url, secure_cookies=False), live)
        with TestClient(app) as c:
            desk = Desk(c, store, tokens, rules_dir)
            release = desk.propose("rita", 1).json()
            csrf = _login(c, "rita")  # the proposer sees it, without the buttons
            page = c.get("/app/releases", params={"lang": "en"}).text
            assert f'data-release="{release["id"]}"' in page and "guide_to_network_ordering" in page
            assert f'action="/app/releases/{release["id"]}/approve"' not in page
            assert 'href="/app/releases"' in page  # in the nav for rule authors
            refused = c.post(f"/app/releases/{release['id']}/approve", data={"csrf_token": csrf},
                             follow_redirects=False)
            assert "error=forbidden" in refused.headers["location"]
            csrf = _login(c, "ada")
            zh = c.get("/app/releases", params={"lang": "zh"}).text
            assert "批准" in zh and "规则发布" in zh
            page = c.get("/app/releases", params={"lang": "en"}).text
            assert f'action="/app/releases/{release["id"]}/approve"' in page
            no_csrf = c.post(f"/app/releases/{release['id']}/approve", data={}, follow_redirects=False)
            assert no_csrf.status_code == 403 and desk.serving() != release["revision"]
            done = c.post(f"/app/releases/{release['id']}/approve", data={"csrf_token": csrf, "note": "ok"},
                          follow_redirects=False)
            assert done.status_code == 303 and "done=approved" in done.headers["location"]
            assert desk.serving() == release["revision"]
            assert "Release approved" in c.get(done.headers["location"]).text
            _login(c, "alice", page_csrf=False)
            assert c.get("/app/releases").status_code == 403  # a manager
