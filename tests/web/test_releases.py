"""The Releases page in a real browser: a rule author proposes a release (over the API, with a
token), an administrator opens the page, sees its diff summary, approves it (confirmed first), and
the server answers with the new revision. Screenshotted in zh and en, checked with axe-core."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from rm_advisor.store import Store
from tests.conftest import ROOT
from tests.web.test_workspace import PHONE, _accessible, _login, _shot

PASSWORD = "demo-password"
ACTION = "action: guide_to_network_ordering"


def test_an_administrator_approves_a_rule_authors_release_and_the_server_serves_it(
        browser: Any, base_url: str, demo_db: str, screenshots: Path) -> None:
    with Store(demo_db) as store:
        store.users.add("rita", PASSWORD, "rule_author", "Rita")
        store.users.add("ada", PASSWORD, "administrator", "Ada")
        token = store.users.new_token("rita")
    text = (ROOT / "rules" / "tobacco.yaml").read_text(encoding="utf-8")
    body = {"files": [{"name": "tobacco.yaml", "text": text.replace(ACTION, f"{ACTION}\n          priority: 1", 1)}],
            "note": "network ordering last"}
    proposed = httpx.post(f"{base_url}/v1/releases", json=body, headers={"Authorization": f"Bearer {token}"},
                          timeout=120)
    assert proposed.status_code == 201, proposed.text
    release = proposed.json()
    before = httpx.get(f"{base_url}/v1/ruleset").json()["revision"]
    assert before != release["revision"]

    context = browser.new_context(viewport=PHONE, locale="en-US")
    page = context.new_page()
    _login(page, base_url, "/app/releases", "ada")
    section = page.locator(f"section[data-release='{release['id']}']")
    assert "guide_to_network_ordering" in section.inner_text()  # the diff summary
    assert page.locator("[data-serving]").inner_text() == before
    for lang in ("zh", "en"):
        page.goto(f"{base_url}/app/releases?lang={lang}")
        _shot(page, screenshots, "releases", lang)
        _accessible(page)
    section = page.locator(f"section[data-release='{release['id']}']")
    section.locator("button[data-confirm$='-approve']").click()
    dialog = section.locator(f"dialog#release-{release['id']}-approve")
    assert dialog.is_visible()  # nothing is sent before the approval is confirmed
    dialog.locator("button[data-close]").click()
    assert httpx.get(f"{base_url}/v1/ruleset").json()["revision"] == before
    section.locator("button[data-confirm$='-approve']").click()
    dialog.locator("input[name=note]").fill("diff read")
    dialog.locator("button[data-confirmed]").click()
    page.wait_for_selector(".flash.ok")
    assert page.locator("[data-serving]").inner_text() == release["revision"]
    assert page.locator(f"section[data-release='{release['id']}']").get_attribute("data-state") == "active"
    assert httpx.get(f"{base_url}/v1/ruleset").json()["revision"] == release["revision"]
    context.close()
