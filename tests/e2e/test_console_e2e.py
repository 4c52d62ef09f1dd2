"""The web console end to end: a real headless Chromium (Debian's, driven by Playwright) against
one real `firstline run` process and the local fake Bot API, as editors, agents and leads.

What a person does in the browser must reach customers in Telegram: an editor's saved answer is
the bot's next answer, an agent's reply arrives in the customer's chat. Every page is checked
for uncaught JavaScript errors, unlabelled controls and requests to anything but 127.0.0.1.
Screenshots of the main pages go to docs/ (console-*.png) with FIRSTLINE_CONSOLE_SCREENSHOTS=1.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.customers.texts import EN
from tests.e2e.test_desk_e2e import _hand_off, _ticket, desk_with_admin
from tests.support.e2e import Running
from tests.support.telegram_people import customer

pytestmark = pytest.mark.model

try:
    from playwright.sync_api import Browser, Page, ViewportSize, expect, sync_playwright
except ImportError:  # pragma: no cover - the dev extra installs it
    if os.environ.get("CI") == "true":
        raise
    pytest.skip("Playwright is missing: pip install -e '.[dev]'", allow_module_level=True)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    if os.environ.get("CI") == "true":
        pytest.fail("chromium is missing: .ci/run installs it (apt-get install chromium)")
    pytest.skip("no chromium on this machine: apt-get install chromium", allow_module_level=True)

# Screenshots of the main pages: into docs/ with FIRSTLINE_CONSOLE_SCREENSHOTS=1 (how the ones
# there were made), else into a scratch folder (the pages are still drawn and captured).
DOCS = Path(__file__).resolve().parents[2] / "docs"
SCREENSHOTS = (
    DOCS
    if os.environ.get("FIRSTLINE_CONSOLE_SCREENSHOTS") == "1"
    else Path(tempfile.mkdtemp(prefix="firstline-console-"))
)
LAPTOP: ViewportSize = {"width": 1280, "height": 860}
PHONE: ViewportSize = {"width": 390, "height": 844}
# Chromium logs every failed fetch (a 401, a 412) as a console error: those are answers the
# page handles, not faults.
HANDLED = re.compile(r"Failed to load resource: the server responded with a status of 4\d\d")


@dataclass
class Console:
    running: Running
    url: str
    admin: str

    def api(self, method: str, path: str, token: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(
            method,
            f"{self.url}/api/v1{path}",
            headers={"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})},
            timeout=30,
            **kwargs,
        )

    def token(self, role: str, name: str) -> str:
        issued = self.api("POST", "/tokens", self.admin, json={"name": name, "role": role})
        assert issued.status_code == 201, issued.text
        return str(issued.json()["token"])


@dataclass
class Watched:
    """A browser tab and what went wrong in it: uncaught errors, console errors, requests that
    tried to leave 127.0.0.1."""

    page: Page
    errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory, imported_faq: Path) -> Iterator[Console]:
    workdir = tmp_path_factory.mktemp("console-e2e")
    with desk_with_admin(workdir, imported_faq) as (running, url, admin):
        yield Console(running, url, admin)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def tab(browser: Browser, console: Console) -> Iterator[Watched]:
    """A fresh browser context (its own sessionStorage) whose requests may go to 127.0.0.1
    only: anything else is refused and recorded."""
    context = browser.new_context(viewport=LAPTOP, accept_downloads=True)
    page = context.new_page()
    watched = Watched(page)

    def only_here(route: Any) -> None:
        address = route.request.url
        if address.startswith(("http://127.0.0.1:", "data:", "blob:")):
            route.continue_()
        else:
            watched.outside.append(address)
            route.abort()

    context.route("**/*", only_here)
    page.on("pageerror", lambda error: watched.errors.append(f"uncaught: {error}"))
    page.on(
        "console",
        lambda message: (
            watched.errors.append(f"console: {message.text}")
            if message.type == "error" and not HANDLED.search(message.text)
            else None
        ),
    )
    try:
        yield watched
    finally:
        context.close()
    assert watched.errors == []
    assert watched.outside == []


def _sign_in(tab: Watched, console: Console, token: str, where: str = "") -> Page:
    page = tab.page
    page.goto(f"{console.url}/console{where}")
    page.get_by_label("API token").fill(token)
    page.get_by_label("API token").press("Enter")  # the keyboard alone signs in
    expect(page.locator("#who")).to_be_visible()
    return page


def _assert_every_control_is_labelled(page: Page) -> None:
    """Every control has a label (or an accessible name), and no page shows a missing value
    as "null" or "undefined"."""
    shown = page.locator("main").inner_text()
    assert not re.search(r"\b(null|undefined|NaN)\b", shown), shown
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea, button')]
            .filter((c) => c.type !== 'hidden')
            .filter((c) => !(c.labels && c.labels.length) && !c.getAttribute('aria-label')
                && !c.getAttribute('aria-labelledby') && !(c.tagName === 'BUTTON' && c.textContent.trim()))
            .map((c) => c.outerHTML.slice(0, 120))"""
    )
    assert unlabelled == []


def _screenshot(page: Page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"console-{name}.png"), full_page=True)


def test_nothing_shows_without_a_valid_token_and_a_revoked_one_signs_out(
    tab: Watched, console: Console
) -> None:
    page = tab.page
    page.goto(f"{console.url}/console#/faq")
    token_field = page.get_by_label("API token")
    expect(token_field).to_have_attribute("type", "password")
    expect(token_field).to_be_focused()
    expect(page.locator("#top")).to_be_hidden()
    _screenshot(page, "sign-in")

    token_field.fill("fl_not-a-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("unknown or revoked")
    expect(page.locator("table")).to_have_count(0)

    secret = console.token("editor", "Eda")
    _sign_in(tab, console, secret, "#/faq")
    expect(page.locator("#faq-count")).to_contain_text("entries")
    kept = page.evaluate("() => [Object.keys(sessionStorage), Object.keys(localStorage)]")
    assert kept == [["firstline.console.token"], []]
    assert page.context.cookies() == []

    tokens = console.api("GET", "/tokens", console.admin).json()
    revoked = next(t for t in tokens if t["name"] == "Eda")
    console.api("DELETE", f"/tokens/{revoked['id']}", console.admin)
    page.get_by_role("link", name="Try it").click()
    expect(page.get_by_label("API token")).to_be_visible()
    expect(page.get_by_text("no longer valid")).to_be_visible()
    assert page.evaluate("() => sessionStorage.length") == 0


def test_each_role_sees_only_what_it_may_do(tab: Watched, console: Console) -> None:
    page = tab.page
    sections = page.locator("#nav a")
    _sign_in(tab, console, console.token("agent", "Ann"))
    expect(sections).to_have_text(["FAQ", "Try it", "Tickets"])
    expect(page.get_by_role("heading", name="Tickets")).to_be_visible()
    page.get_by_role("link", name="FAQ").click()
    expect(page.locator("#faq-count")).to_contain_text("entries")
    expect(page.get_by_role("link", name="New entry")).to_have_count(0)
    page.get_by_role("link", name="refund", exact=True).click()
    expect(page.get_by_text("Read only")).to_be_visible()
    expect(page.get_by_role("button", name="Save")).to_have_count(0)
    page.goto(f"{console.url}/console#/settings")
    expect(page.get_by_text("has no page")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()

    _sign_in(tab, console, console.token("editor", "Ed"))
    expect(sections).to_have_text(["FAQ", "Import & export", "Try it", "Gaps"])
    page.get_by_role("button", name="Sign out").click()

    _sign_in(tab, console, console.admin)
    expect(sections).to_have_text(
        ["FAQ", "Import & export", "Try it", "Gaps", "Tickets", "Analytics", "Teams", "Settings"]
    )
    _assert_every_control_is_labelled(page)
    _screenshot(page, "faq")


def test_an_editors_saved_answer_is_the_bots_next_answer(tab: Watched, console: Console) -> None:
    telegram = console.running.telegram
    question = console.api("GET", "/faq/cancel-subscription", console.admin).json()["question"]
    page = _sign_in(tab, console, console.token("editor", "Anna"))
    page.get_by_label("Search").fill("cancel-sub")
    page.get_by_role("link", name="cancel-subscription").click()
    answer = page.get_by_label("Answer", exact=True)
    answer.fill("Отмена в два шага: *Профиль* → «Отменить подписку».")
    expect(page.locator("#answer-preview b")).to_have_text("Профиль")  # as Telegram shows it
    _assert_every_control_is_labelled(page)
    _screenshot(page, "faq-editor")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#notice")).to_contain_text("Saved")
    expect(page.locator("#entry-version")).to_have_text("version 2")

    telegram.send_text(customer(801, "Ира"), question)
    reply = telegram.wait_for_messages(801, 1)[0]
    assert "Отмена в два шага: <b>Профиль</b>" in reply.text

    page.get_by_role("button", name="History").click()
    page.get_by_role("button", name="What changed in version 2").click()
    expect(page.locator(".diff-add")).to_contain_text("Отмена в два шага")
    page.get_by_role("button", name="Roll back to version 1").click()
    expect(page.locator("#entry-version")).to_have_text("version 3")
    restored = console.api("GET", "/faq/cancel-subscription", console.admin).json()
    assert "Отмена в два шага" not in restored["answer"]


def test_a_stale_save_shows_both_versions_and_keeps_the_other_edit(
    tab: Watched, console: Console
) -> None:
    page = _sign_in(tab, console, console.token("editor", "Boris"), "#/faq/entry/refund")
    expect(page.locator("#entry-version")).to_have_text("version 1")

    read = console.api("GET", "/faq/refund", console.admin)
    theirs = {k: v for k, v in read.json().items() if k in ("question", "alt_questions", "tags")}
    theirs |= {"language": "ru", "status": "published", "answer": "Их правка: деньги за 3 дня."}
    saved = console.api(
        "PUT", "/faq/refund", console.admin, headers={"If-Match": read.headers["ETag"]}, json=theirs
    )
    assert saved.status_code == 200, saved.text

    page.get_by_label("Answer", exact=True).fill("Моя правка: деньги за 10 дней.")
    page.get_by_role("button", name="Save").click()
    conflict = page.locator("#conflict")
    expect(conflict.get_by_role("heading")).to_contain_text("someone else saved")
    answer_row = conflict.locator("tr[data-field=answer]")
    expect(answer_row.locator(".mine")).to_have_text("Моя правка: деньги за 10 дней.")
    expect(answer_row.locator(".theirs")).to_have_text("Их правка: деньги за 3 дня.")
    expect(answer_row).to_contain_text("differs")
    _screenshot(page, "conflict")
    assert console.api("GET", "/faq/refund", console.admin).json()["answer"] == theirs["answer"]

    page.get_by_role("button", name="Discard my edit, open the saved version").click()
    expect(page.get_by_label("Answer", exact=True)).to_have_value(theirs["answer"])
    expect(page.locator("#entry-version")).to_have_text("version 2")


def test_an_agent_takes_and_replies_and_the_customer_gets_it_in_telegram(
    tab: Watched, console: Console
) -> None:
    telegram = console.running.telegram
    user = customer(802, "Олег")
    _hand_off(console.running, user)
    telegram.wait_for_messages(802, 1)
    ticket_id = _ticket(console.running, 802)[0]
    page = _sign_in(tab, console, console.token("agent", "Vera"))
    page.get_by_label("Assignee").select_option("none")
    page.get_by_role("link", name=f"#{ticket_id}").click()
    expect(page.locator("#conversation")).to_contain_text("перевод в последней серии ужасный")
    page.get_by_role("button", name="Take").click()
    expect(page.locator("#notice")).to_contain_text(f"You took ticket #{ticket_id}")
    page.get_by_label("Reply", exact=True).fill("Исправим <b>завтра</b>!")
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator("#notice")).to_contain_text("Reply sent")
    telegram.wait_until_found(
        lambda: [m for m in telegram.messages_to(802) if "Исправим &lt;b&gt;завтра" in m.text]
    )
    page.get_by_label("Note", exact=True).fill("проверить субтитры")
    page.get_by_role("button", name="Add note").click()
    expect(page.get_by_role("table", name="Audit trail")).to_contain_text("проверить субтитры")
    page.get_by_label("Priority").select_option("high")
    page.get_by_role("button", name="Set priority").click()
    expect(page.locator("dl.facts")).to_contain_text("high")
    _assert_every_control_is_labelled(page)
    _screenshot(page, "ticket")
    page.get_by_role("link", name="← All tickets").click()
    page.get_by_label("Assignee").select_option(label="Me")
    expect(page.get_by_role("table", name="Tickets")).to_contain_text(f"#{ticket_id}")
    _screenshot(page, "tickets")

    page.set_viewport_size(PHONE)
    page.get_by_role("link", name=f"#{ticket_id}").click()
    expect(page.locator("#conversation")).to_contain_text("Исправим <b>завтра</b>!")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    _screenshot(page, "phone-ticket")


def test_try_it_shows_the_decision_and_its_candidates(tab: Watched, console: Console) -> None:
    page = _sign_in(tab, console, console.admin, "#/try")
    page.get_by_label("A customer writes").fill("как отменить подписку")
    page.get_by_role("button", name="What would the bot do?").click()
    expect(page.locator("[data-decision]")).to_have_text(re.compile("answer|clarify"))
    expect(page.get_by_role("table", name="Candidates").locator("tbody tr").first).to_be_visible()
    _screenshot(page, "try")


def test_the_analytics_page_draws_its_charts_and_exports_csv(
    tab: Watched, console: Console
) -> None:
    page = _sign_in(tab, console, console.admin, "#/analytics")
    expect(page.locator("#chart-hours svg rect")).to_have_count(24)
    expect(page.locator("#chart-weekdays svg rect")).to_have_count(7)
    expect(page.locator("#chart-csat svg rect")).to_have_count(5)
    expect(page.locator("#chart-reasons svg rect").first).to_be_visible()
    expect(page.locator("#chart-days svg")).to_be_visible()
    days = page.locator("#chart-days svg rect")  # the week asked for, a bar a day
    assert days.count() >= 7
    expect(page.locator("#chart-days-resolved svg rect")).to_have_count(days.count())
    _assert_every_control_is_labelled(page)
    _screenshot(page, "analytics")
    with page.expect_download() as download:
        page.get_by_role("button", name="Export CSV").click()
    text = Path(download.value.path()).read_text("utf-8")
    assert text.startswith("section,item,measure,value")
    assert re.search(r"^conversations,all,total,\d+", text, re.MULTILINE)
    assert re.search(r"^conversations_by_day,\d{4}-\d\d-\d\d,total,\d+", text, re.MULTILINE)


def test_import_is_checked_by_a_dry_run_before_it_is_applied(
    tab: Watched, console: Console, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps([{"key": "gift-card", "question": "Подарок?"}]), "utf-8")
    good = tmp_path / "faq.json"
    entries = [
        {"key": "gift-card", "question": "Как подарить подписку?", "answer": "В «Профиле»."},
        {"key": "student-plan", "question": "Есть ли скидка студентам?", "answer": "Да, 50 %."},
    ]
    good.write_text(json.dumps(entries, ensure_ascii=False), "utf-8")
    page = _sign_in(tab, console, console.token("editor", "Ira"), "#/import")

    page.get_by_label("FAQ file").set_input_files(str(broken))
    page.get_by_role("button", name="Check (dry run)").click()
    expect(page.locator("#import-result")).to_contain_text("Problems: nothing imported")
    expect(page.get_by_role("button", name="Import", exact=True)).to_be_disabled()

    page.get_by_label("FAQ file").set_input_files(str(good))
    page.get_by_role("button", name="Check (dry run)").click()
    expect(page.locator("[data-list=created]")).to_contain_text("Created: 2")
    assert console.api("GET", "/faq/gift-card", console.admin).status_code == 404
    _assert_every_control_is_labelled(page)
    _screenshot(page, "import")
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator("#notice")).to_contain_text("2 created")
    assert console.api("GET", "/faq/gift-card", console.admin).status_code == 200


def test_a_gap_becomes_a_draft_that_is_published(tab: Watched, console: Console) -> None:
    _hand_off(console.running, customer(803, "Нина"))
    page = _sign_in(tab, console, console.token("editor", "Gal"), "#/gaps")
    gap = page.locator("[data-gap]", has_text="перевод в последней серии").first
    gap.get_by_role("button", name="Turn into an entry…").click()
    gap.get_by_label("Key").fill("translation-quality")
    gap.get_by_label("Answer").fill("Спасибо! Передали переводчикам, исправим за неделю.")
    _assert_every_control_is_labelled(page)
    _screenshot(page, "gaps")
    gap.get_by_role("button", name="Create the draft").click()
    gap.get_by_role("link", name="open translation-quality").click()
    expect(page.get_by_role("heading", name=re.compile("translation-quality"))).to_contain_text(
        "draft"
    )
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_role("heading", name=re.compile("translation-quality"))).to_contain_text(
        "published"
    )
    decided = console.api(
        "POST", "/answer", console.admin, json={"text": "перевод в последней серии ужасный"}
    ).json()
    assert decided["faq_key"] == "translation-quality", decided


def test_an_admins_business_hours_are_what_the_bot_tells_customers(
    tab: Watched, console: Console
) -> None:
    telegram = console.running.telegram
    before = console.api("GET", "/settings/business-hours", console.admin).json()
    page = _sign_in(tab, console, console.admin, "#/settings")
    today = time.strftime("%Y-%m-%d", time.gmtime())
    page.get_by_label("Time zone", exact=True).fill("UTC")
    for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"):
        page.get_by_label(day).fill("09:00-18:00")
    page.get_by_label("Special days").fill(f"{today} closed inventory")
    page.get_by_role("button", name="Save business hours").click()
    expect(page.locator("#notice")).to_contain_text("Business hours saved")
    expect(page.locator("#hours")).to_contain_text("closed now")
    _assert_every_control_is_labelled(page)
    _screenshot(page, "settings")
    try:
        telegram.send_text(customer(804, "Lena", "en"), "agent please")
        told = telegram.wait_until_found(
            lambda: [m for m in telegram.messages_to(804) if "closed right now" in m.text]
        )[-1]
        assert EN.out_of_hours.split("{opening}")[0] in told.text
        assert "tomorrow at 9:00" in told.text
    finally:
        restored = {k: before[k] for k in ("timezone", "weekly", "holidays", "special_days")}
        console.api("PUT", "/settings/business-hours", console.admin, json=restored)

    page.get_by_label("Whose token").fill("New editor")
    page.get_by_role("button", name="Create token").click()
    secret = page.get_by_label("New token")
    expect(secret).to_have_value(re.compile(r"^fl_"))
    expect(page.get_by_text("shown only once")).to_be_visible()


def test_an_editor_translates_an_entry_and_a_ukrainian_customer_gets_it(
    tab: Watched, console: Console
) -> None:
    telegram = console.running.telegram
    page = _sign_in(tab, console, console.token("editor", "Oksana"), "#/faq/entry/buy-movie")
    expect(page.locator("fieldset[data-language=ru]")).to_be_hidden()  # the main language
    page.get_by_label("Question (Ukrainian)").fill("Як купити фільм поза підпискою?")
    page.get_by_label("Other phrasings (Ukrainian)").fill("Фільм платний, як його купити")
    page.get_by_label("Answer (Ukrainian)").fill("Відкрийте фільм і натисніть *«Купити»*.")
    _assert_every_control_is_labelled(page)
    _screenshot(page, "faq-translation")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#notice")).to_contain_text("Saved")
    expect(page.locator("#entry-version")).to_have_text("version 2")

    telegram.send_text(customer(811, "Тарас", "uk"), "Як купити фільм поза підпискою?")
    reply = telegram.wait_for_messages(811, 1)[0]
    assert "Відкрийте фільм і натисніть <b>«Купити»</b>." in reply.text

    page.get_by_role("button", name="History").click()
    expect(page.locator("li[data-version='2']")).to_contain_text("changed: uk")
    page.goto(f"{console.url}/console#/faq/translations")
    expect(page.locator("#translations-summary")).to_contain_text("answers went out")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="buy-movie"))
    expect(row).to_contain_text("English")
    expect(row).not_to_contain_text("Ukrainian")
    _assert_every_control_is_labelled(page)

    page.goto(f"{console.url}/console#/try")
    page.get_by_label("A customer writes").fill("How do I rent or buy a movie?")
    page.get_by_label("Language").select_option("en")
    page.get_by_role("button", name="What would the bot do?").click()
    expect(page.locator("#answer-language")).to_have_text(
        "Russian (no English translation: sent with a note)"
    )


def test_an_admin_makes_a_team_and_its_service_s_tickets_open_in_its_group(
    tab: Watched, console: Console
) -> None:
    telegram = console.running.telegram
    page = _sign_in(tab, console, console.admin, "#/teams")
    expect(page.locator("#teams")).to_contain_text("First line")
    page.get_by_label("Team name").fill("Billing")
    page.get_by_label("Level").select_option("second")
    page.get_by_label("Forum group id").fill("-1009876543210")
    page.get_by_label("Services (tags)").fill("billing")
    page.get_by_role("button", name="Create team").click()
    expect(page.locator("#notice")).to_contain_text("Team Billing saved")
    expect(page.locator("#teams")).to_contain_text("-1009876543210")
    page.get_by_label("Team name").fill("Billing")
    page.get_by_role("button", name="Create team").click()
    expect(page.get_by_role("alert")).to_contain_text("already a team 'Billing'")
    expect(page.locator("#team-figures")).to_contain_text("solved by the first line")
    _assert_every_control_is_labelled(page)
    _screenshot(page, "teams")
    page.goto(f"{console.url}/console#/settings")
    page.get_by_label("Rule name").fill("chargebacks")
    page.get_by_label("Keywords").fill("chargeback")
    page.get_by_label("Send to team").fill("billing")
    page.get_by_role("button", name="Save routing rule").click()
    expect(page.locator("#routing")).to_contain_text("team Billing")
    teams = console.api("GET", "/teams", console.admin).json()
    billing = next(team for team in teams if team["name"] == "Billing")
    assert (billing["level"], billing["group"], billing["tags"]) == (
        "second",
        -1009876543210,
        ["billing"],
    )
    try:
        telegram.send_text(customer(806, "Ira"), "оплата по безналу от компании")
        telegram.wait_until_found(
            lambda: [m for m in telegram.messages_to(-1009876543210) if "<b>Ticket #" in m.text]
        )
    finally:
        ticket = console.api("GET", f"/tickets?team_id={billing['id']}", console.admin).json()
        for item in ticket["items"]:
            console.api("POST", f"/tickets/{item['id']}/close", console.admin)
        console.api("DELETE", "/settings/routing-rules/chargebacks", console.admin)
        console.api("DELETE", f"/teams/{billing['id']}", console.admin)
