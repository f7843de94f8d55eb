"""api/routes/ruleset.py: revision and counts, hot reload (refused when broken), API key."""

from __future__ import annotations

import contextlib
import json
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from rm_advisor.api import examples
from rm_advisor.api.app import create_app
from rm_advisor.api.ruleset import LiveRuleSet
from tests.api.conftest import AUTH, KEY, copy_rules, problem, settings
from tests.cli.test_main import BROKEN
from tests.conftest import ROOT
from tests.helpers import action, rule, rule_text

ONE = "/v1/decisions/client/T-001"
RELOAD = "/v1/ruleset/reload"

#: the shipped rule files, as the server names them
PACKS = sorted(p.name for p in (ROOT / "rules").glob("*.yaml") if not p.name.endswith(".scenarios.yaml"))


MakeApp = Callable[[Path], tuple[TestClient, LiveRuleSet]]


@pytest.fixture
def make_app() -> Iterator[MakeApp]:
    """Start an app (with its lifespan: the decision store opens) on a rule directory; stopped after the test."""
    with contextlib.ExitStack() as running:
        def make(rules_dir: Path) -> tuple[TestClient, LiveRuleSet]:
            s = settings(rules_dir=rules_dir)
            live = LiveRuleSet.start(s)
            return running.enter_context(TestClient(create_app(s, live))), live

        yield make


def _recommended(c: TestClient) -> tuple[str, list[tuple[str, list[str]]]]:
    """The revision that answered, and each recommendation with the rules behind it."""
    r = c.post(ONE, json=examples.CLIENT)
    assert r.status_code == 200, r.text
    return r.headers["x-rule-revision"], [(x["id"], x["rules"]) for x in r.json()["subject"]["recommendations"]]


def test_rule_set_info_counts(client: TestClient, live: LiveRuleSet) -> None:
    r = client.get("/v1/ruleset")
    body = r.json()
    book = live.current().book
    assert r.status_code == 200 and body["revision"] == live.revision == r.headers["x-rule-revision"]
    assert body["rules"] == len(book.rules) == sum(body["rules_by_domain"].values())
    assert body["rules_by_subject"] == {"client": len(book.for_subject("client")),
                                        "manager": len(book.for_subject("manager"))}
    assert body["actions"] == len(book.kb.actions) and body["coaching"] == len(book.kb.coaching)
    assert [Path(f).name for f in body["files"]] == PACKS


def test_reload_needs_the_key(client: TestClient) -> None:
    body = problem(client.post(RELOAD), 401, "unauthorized")
    assert body["revision"]
    r = client.post(RELOAD, headers={"X-API-Key": KEY[:-1] + "x"})
    assert problem(r, 401, "unauthorized") and r.headers["www-authenticate"].startswith("ApiKey")
    unchanged = client.post(RELOAD, headers=AUTH)
    assert unchanged.status_code == 200 and unchanged.json()["changed"] is False


def test_reload_is_refused_when_no_key_is_configured(live: LiveRuleSet) -> None:
    with TestClient(create_app(settings(api_key=None), live)) as c:
        problem(c.post(RELOAD, headers=AUTH), 403, "key_not_configured")


def test_broken_rule_set_is_refused_with_located_errors_and_the_old_one_keeps_serving(rules_dir: Path,
                                                                                      make_app: MakeApp) -> None:
    c, live = make_app(rules_dir)
    before = _recommended(c)
    (rules_dir / "broken.yaml").write_text(BROKEN, encoding="utf-8")
    body = problem(c.post(RELOAD, headers=AUTH), 422, "rule_set_invalid")
    where = {(e["code"], Path(e["file"]).name, e["line"]) for e in body["errors"] if e["severity"] == "error"}
    assert where == {("unknown_field", "broken.yaml", 9), ("unknown_action", "broken.yaml", 23),
                     ("yaml_syntax", "broken.yaml", 27)}
    assert {e.get("rule_id") for e in body["errors"]} >= {"broken.misspelt", "broken.unknown_action"}
    assert any("days_since_last_visit" in (e.get("hint") or "") for e in body["errors"])
    assert body["revision"] == before[0] == live.revision
    assert _recommended(c) == before


def test_reload_swaps_in_a_changed_rule_set(rules_dir: Path, make_app: MakeApp) -> None:
    c, live = make_app(rules_dir)
    old_revision, old = _recommended(c)
    tobacco = rules_dir / "tobacco.yaml"
    tobacco.write_text(tobacco.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    r = c.post(RELOAD, headers=AUTH)
    body = r.json()
    assert r.status_code == 200 and body["changed"] is True and body["previous_revision"] == old_revision
    assert body["revision"] == r.headers["x-rule-revision"] != old_revision
    new_revision, new = _recommended(c)
    assert new_revision == body["revision"] == live.revision != old_revision and new == old
    assert c.get("/v1/ruleset").json()["revision"] == new_revision


def test_reload_changes_answers(rules_dir: Path, make_app: MakeApp) -> None:
    c, _ = make_app(rules_dir)
    _, before = _recommended(c)
    tobacco = rules_dir / "tobacco.yaml"
    text = tobacco.read_text(encoding="utf-8")
    tobacco.write_text(text.replace("client.open_complaints: {ge: 1}", "client.open_complaints: {ge: 5}", 1),
                       encoding="utf-8")
    assert c.post(RELOAD, headers=AUTH).json()["changed"] is True
    _, after = _recommended(c)
    # the generic pack's complaint call is folded into the visit (knowledge_base/alternatives.yaml)
    generic = ["generic.complaint_expectations", "generic.complaint_past_due"]
    assert ("resolve_retailer_complaint", [*generic, "tobacco.complaint_open", "tobacco.complaint_overdue"]) in before
    assert ("resolve_retailer_complaint", [*generic, "tobacco.complaint_overdue"]) in after


def test_unreadable_rule_file_is_refused(rules_dir: Path, make_app: MakeApp) -> None:
    c, live = make_app(rules_dir)
    revision = live.revision
    (rules_dir / "latin1.yaml").write_bytes("pack: x\n# caf\xe9\n".encode("latin-1"))
    body = problem(c.post(RELOAD, headers=AUTH), 422, "rules_unreadable")
    assert [(Path(e["file"]).name, e["line"], e["column"]) for e in body["errors"]] == [("latin1.yaml", 2, 6)]
    assert body["revision"] == revision == live.revision


def test_a_request_in_flight_finishes_on_the_revision_it_started_with(rules_dir: Path, make_app: MakeApp,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    c, live = make_app(rules_dir)
    old = live.current()
    started, release = threading.Event(), threading.Event()
    decide = old.advisor.decide

    def slow_decide(*args: Any, **kwargs: Any) -> Any:
        started.set()
        assert release.wait(30)
        return decide(*args, **kwargs)

    monkeypatch.setattr(old.advisor, "decide", slow_decide)
    result: dict[str, Any] = {}
    worker = threading.Thread(target=lambda: result.update(r=c.post(ONE, json=examples.CLIENT)))
    worker.start()
    assert started.wait(30)
    (rules_dir / "tobacco.yaml").write_text((rules_dir / "tobacco.yaml").read_text(encoding="utf-8") + "\n# v2\n",
                                            encoding="utf-8")
    reloaded = c.post(RELOAD, headers=AUTH).json()
    assert reloaded["changed"] is True and live.revision == reloaded["revision"] != old.revision
    release.set()
    worker.join(30)
    in_flight = result["r"]
    assert in_flight.status_code == 200
    assert in_flight.json()["revision"] == in_flight.headers["x-rule-revision"] == old.revision
    assert c.post(ONE, json=examples.CLIENT).json()["revision"] == reloaded["revision"]


def test_reads_can_require_the_key(live: LiveRuleSet) -> None:
    with TestClient(create_app(settings(protect_reads=True), live)) as c:
        problem(c.get("/v1/rules"), 401, "unauthorized")
        problem(c.post(ONE, json=examples.CLIENT), 401, "unauthorized")
        assert c.get("/v1/rules", headers=AUTH).status_code == 200
        assert c.post(ONE, json=examples.CLIENT, headers=AUTH).status_code == 200
        assert c.get("/healthz").status_code == 200  # liveness stays open for orchestrators


def test_regression_a_refused_reload_names_its_first_error_not_a_warning(rules_dir: Path, make_app: MakeApp) -> None:
    # issue 12: a warning in a file that sorts before broken.yaml (the shipped packs had some; loading no
    # longer runs the warning-only pairwise findings) was named as the first error
    c, _ = make_app(rules_dir)
    (rules_dir / "broken.yaml").write_text(BROKEN, encoding="utf-8")
    warned = rule("t.warned", {"client.is_key": True}, {"actions": [action("key_client_priority_service", zh="key")]})
    (rules_dir / "a_warned.yaml").write_text(rule_text(warned), encoding="utf-8")
    body = problem(c.post(RELOAD, headers=AUTH), 422, "rule_set_invalid")
    assert any(e["severity"] == "warning" for e in body["errors"])
    first = body["detail"].split("First error: ", 1)[1]
    assert first.startswith("broken.yaml:9:7: unknown_field") and "warning" not in first
    assert body["detail"].startswith("3 error(s) and 1 warning(s);")


def test_regression_reloading_a_file_of_thousands_of_errors_is_quick_and_listed_up_to_a_cap(
        rules_dir: Path, make_app: MakeApp) -> None:
    # issue 12: a reload of an 8,000-item file held the reload lock for 13.8 s
    c, live = make_app(rules_dir)
    revision = live.revision
    (rules_dir / "zz_items.yaml").write_text("rules: [" + ",".join(["1"] * 8000) + "]\n", encoding="utf-8")
    r = c.post(RELOAD, headers=AUTH)  # CPU: bench/hostile_api.py
    body = problem(r, 422, "rule_set_invalid")
    assert len(body["errors"]) <= 200 and "(the first " in body["detail"]
    assert int(body["detail"].split(" error(s)")[0]) > 8000
    assert "First error: zz_items.yaml:1:" in body["detail"]
    assert body["revision"] == revision == live.revision



def test_regression_answers_name_files_relative_to_the_rule_directory(tmp_path: Path, make_app: MakeApp) -> None:
    # issue 12: /v1/ruleset files, /v1/rules/{id} file, because.file and /v1/rules/check files were
    # absolute server paths (for a rule directory outside the working directory)
    rules_dir = copy_rules(tmp_path / "srv" / "rules")
    c, live = make_app(rules_dir)
    secret = str(tmp_path)
    packs = PACKS
    info = c.get("/v1/ruleset")
    assert info.json()["files"] == packs and secret not in info.text
    listed = c.get("/v1/rules")
    assert {r["file"] for r in listed.json()["rules"]} <= set(packs) and secret not in listed.text
    one = c.get("/v1/rules/tobacco.complaint_overdue")
    assert one.json()["file"] == "tobacco.yaml" and secret not in one.text
    decided = c.post(ONE, json=examples.CLIENT)
    because = [b for rec in decided.json()["subject"]["recommendations"] for b in rec["because"]]
    assert because and {b["file"] for b in because} == {"generic.yaml", "tobacco.yaml"} and secret not in decided.text
    logged = c.get(f"/v1/decisions/{decided.json()['decision_id']}")
    assert logged.status_code == 200 and secret not in logged.text
    checked = c.post("/v1/rules/check", json={"files": [{"name": "local.yaml", "text": examples.RULE_FILE}]})
    assert checked.json()["files"] == sorted([*packs, "local.yaml"]) and secret not in checked.text
    assert {d["file"] for d in checked.json()["diagnostics"]} <= set(packs)
    (rules_dir / "broken.yaml").write_text(BROKEN, encoding="utf-8")
    refused = c.post(RELOAD, headers=AUTH)
    assert {e["file"] for e in problem(refused, 422, "rule_set_invalid")["errors"]} <= {*packs, "broken.yaml"}
    assert secret not in refused.text
    (rules_dir / "broken.yaml").write_bytes("pack: x\n# caf\xe9\n".encode("latin-1"))
    unreadable = c.post(RELOAD, headers=AUTH)
    assert [e["file"] for e in problem(unreadable, 422, "rules_unreadable")["errors"]] == ["broken.yaml"]
    assert secret not in unreadable.text
    assert live.revision == info.json()["revision"]


def test_knowledge_base_files_are_named_by_their_place_in_the_knowledge_base(tmp_path: Path) -> None:
    kb = tmp_path / "srv" / "kb"
    shutil.copytree(ROOT / "knowledge_base", kb)
    s = settings(rules_dir=copy_rules(tmp_path / "srv" / "rules"), kb_dir=kb)
    live = LiveRuleSet.start(s)
    assert "knowledge_base/facts.yaml" in live.current().kb_files
    assert "knowledge_base/signals/tobacco.yaml" in live.current().kb_files
    with TestClient(create_app(s, live)) as c:
        signals = kb / "signals" / "tobacco.yaml"
        signals.write_text(signals.read_text(encoding="utf-8") + "  - idd: oops\n", encoding="utf-8")
        body = problem(c.post(RELOAD, headers=AUTH), 422, "rule_set_invalid")
        assert {e["file"] for e in body["errors"]} == {"knowledge_base/signals/tobacco.yaml"}
        assert str(tmp_path) not in json.dumps(body)


def test_regression_a_deleted_pack_needs_a_confirmation(rules_dir: Path, make_app: MakeApp) -> None:
    # issue 12: a deleted pack file was accepted on reload (49 rules gone, changed: true, no warning)
    c, live = make_app(rules_dir)
    revision = live.revision
    bank_rules = sum(1 for r in live.current().book.rules if r.file == "bank.yaml")
    assert bank_rules > 20
    (rules_dir / "bank.yaml").unlink()
    body = problem(c.post(RELOAD, headers=AUTH), 409, "packs_removed")
    assert body["errors"] == [{"code": "pack_removed", "file": "bank.yaml", "severity": "error",
                               "detail": f"`bank.yaml` is gone: its {bank_rules} rule(s) would be gone",
                               "hint": "restore the file, or confirm with allow_removed_packs=true"}]
    assert "allow_removed_packs=true" in body["detail"] and body["revision"] == revision == live.revision
    assert c.get("/v1/ruleset").json()["revision"] == revision
    r = c.post(RELOAD, headers=AUTH, params={"allow_removed_packs": "true"})
    answer = r.json()
    assert r.status_code == 200 and answer["changed"] is True and answer["removed_packs"] == ["bank.yaml"]
    assert answer["rules"] == len(live.current().book.rules) and live.revision != revision
    assert c.post(RELOAD, headers=AUTH).json() | {"loaded_at": None} == {
        "revision": live.revision, "previous_revision": live.revision, "changed": False,
        "rules": answer["rules"], "removed_packs": [], "loaded_at": None}


def test_a_deleted_contact_policy_file_needs_a_confirmation_too(rules_dir: Path, make_app: MakeApp) -> None:
    c, _ = make_app(rules_dir)
    (rules_dir / "contact.policies.yaml").unlink()
    body = problem(c.post(RELOAD, headers=AUTH), 409, "packs_removed")
    assert [(e["file"], e["detail"]) for e in body["errors"]] == [
        ("contact.policies.yaml", "`contact.policies.yaml` is gone: its contact policies would no longer apply")]
