"""The workspace in a real browser (Debian's Chromium through Playwright), on a phone-sized screen:
log in, read the week, open a "why", reject an item with a reason (confirmed first), see it held
back after the next decision, switch language; a branch head drills down from the team. Every page
is screenshotted in zh and en (build/test-artefacts/screenshots/) and checked with axe-core
(vendored in tests/web/vendor/) for serious or critical accessibility violations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rm_advisor.cli.workspace import log_batch
from tests.web.conftest import CLIENTS

AXE = Path(__file__).with_name("vendor") / "axe.min.js"
PHONE = {"width": 390, "height": 844}
PASSWORD = "demo-password"


def _login(page: Any, base_url: str, path: str, username: str) -> None:
    page.goto(base_url + path)
    assert "/login" in page.url  # no session: the login form, which comes back to the page asked for
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url(f"**{path}*")


def _accessible(page: Any) -> None:
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']})).violations
        .map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.target)}))""")
    serious = [v for v in found if v["impact"] in ("serious", "critical")]
    assert serious == [], f"{page.url}: {serious}"


def _shot(page: Any, screenshots: Path, name: str, lang: str) -> None:
    assert page.locator("html").get_attribute("lang") == ("zh-CN" if lang == "zh" else "en")
    page.screenshot(path=str(screenshots / f"{name}-{lang}.png"), full_page=True)


def _pages(page: Any, base_url: str, screenshots: Path, lang: str, client: str) -> None:
    """The manager's pages in ``lang``: each screenshotted and checked."""
    for name, path in (("week", "/app/week"), ("held", "/app/held"), ("coaching", "/app/coaching"),
                       ("client", f"/app/clients/{client}")):
        page.goto(f"{base_url}{path}?lang={lang}")
        _shot(page, screenshots, name, lang)
        _accessible(page)


def test_a_manager_reads_the_week_rejects_an_item_and_finds_it_held_back(
        browser: Any, base_url: str, demo_db: str, screenshots: Path, tmp_path: Path) -> None:
    context = browser.new_context(viewport=PHONE, locale="en-US")
    page = context.new_page()
    for lang in ("zh", "en"):  # the login form (the access helper's page) in both languages
        page.goto(f"{base_url}/login?lang={lang}")
        page.screenshot(path=str(screenshots / f"login-{lang}.png"), full_page=True)
    _login(page, base_url, "/app/week", "manager")
    assert "Planned this week" in page.inner_text("main")

    why = page.locator("details.why").first
    why.locator("summary").click()
    assert why.locator("blockquote").first.is_visible()  # the source quote behind the rule

    action = page.locator("li.action:is([data-kind=service], [data-kind=sales]):has(form.reject)").first
    item = action.get_attribute("data-item")
    client = action.locator("xpath=ancestor::article").get_attribute("data-client")
    action.locator("form.reject select").select_option(index=1)
    action.locator("form.reject button[data-confirm]").click()
    dialog = action.locator("dialog")
    assert dialog.is_visible()  # nothing is sent before the rejection is confirmed
    dialog.locator("button[data-close]").click()
    assert not dialog.is_visible()
    action.locator("form.reject button[data-confirm]").click()
    dialog.locator("button[data-confirmed]").click()
    page.wait_for_selector(".flash.ok")
    rejected = page.locator(f"article[data-client='{client}'] li.action[data-item='{item}'] .state-rejected")
    assert rejected.count() == 1

    log_batch(demo_db, CLIENTS, tmp_path / "again")  # the next decision sees the rejection through the contact policies
    page.goto(base_url + "/app/held")
    assert page.locator(f"tr[data-item='{item}'][data-client='{client}']").is_visible()

    page.goto(f"{base_url}/app/clients/{client}")
    page.locator("#whynot-h ~ form select").select_option(index=0)
    page.locator("#whynot-h ~ form button[type=submit]").click()
    page.wait_for_selector("section.why-not")  # swapped in by htmx

    page.goto(base_url + "/app/held")
    page.locator("a[hreflang=zh-CN]").click()  # the language switch, remembered for the next pages
    page.wait_for_load_state()
    assert "暂缓" in page.inner_text("h1")
    page.goto(base_url + "/app/week")
    assert "本周计划" in page.inner_text("main") and "Planned this week" not in page.inner_text("main")

    for lang in ("en", "zh"):
        _pages(page, base_url, screenshots, lang, client)
    context.close()


def test_a_branch_head_drills_down_from_the_team_to_a_managers_week(
        browser: Any, base_url: str, screenshots: Path) -> None:
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    _login(page, base_url, "/app/team", "head")
    _shot(page, screenshots, "team", "zh")
    _accessible(page)
    page.select_option("select[name=domain]", "bank")
    page.locator("form.filters button[type=submit]").click()
    page.wait_for_url("**domain=bank*")
    assert page.locator("tr[data-manager]").count() == 1
    page.goto(base_url + "/app/team?lang=en")
    _shot(page, screenshots, "team", "en")
    page.locator("a[href='/app/week/MB001']").click()
    page.wait_for_url("**/app/week/MB001")
    assert "MB001" in page.inner_text("h1")
    context.close()
