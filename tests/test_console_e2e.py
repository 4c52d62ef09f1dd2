"""The web console end to end: a real headless Chromium (Debian's, driven by Playwright) against
one real `firstline run` process and the local fake Bot API, as editors, agents and leads.

What a person does in the browser must reach customers in Telegram: an editor's saved answer is
the bot's next answer, an agent's reply arrives in the customer's chat. Every page is checked
for uncaught JavaScript errors, unlabelled controls and requests to anything but 127.0.0.1.
Screenshots of the main pages go to docs/ (console-*.png).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.texts import EN
from tests.fake_bot_api import customer
from tests.processes import create_token, stop_firstline
from tests.test_bot_e2e import Running
from tests.test_desk_e2e import _desk_environment, _hand_off, _start, _ticket

pytestmark = pytest.mark.model

playwright_sync = pytest.importorskip(
    "playwright.sync_api", reason="Playwright is not installed: pip install -e '.[dev]'"
)
Browser = playwright_sync.Browser
Page = playwright_sync.Page
expect = playwright_sync.expect

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    if os.environ.get("CI") == "true":
        pytest.fail("chromium is missing: .ci/run installs it (apt-get install chromium)")
    pytest.skip(
        "no chromium on this machine: apt-get install chromium", allow_module_level=True
    )

DOCS = Path(__file__).resolve().parents[1] / "docs"
LAPTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}
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
    from tests.fake_bot_api import FakeBotApi

    workdir = tmp_path_factory.mktemp("console-e2e")
    with FakeBotApi() as telegram:
        env = _desk_environment(workdir, telegram, imported_faq)
        admin = create_token(env, "admin", "Lead")
        process = _start(workdir, telegram, env)
        port = int(env["FIRSTLINE_API_PORT"])
        running = Running(telegram, port, workdir / "data" / "firstline.sqlite3", {})
        try:
            yield Console(running, f"http://127.0.0.1:{port}", admin)
        finally:
            stop_firstline(process)
        log = (workdir / "firstline.log").read_text()
        assert "Traceback" not in log, log[-3000:]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with playwright_sync.sync_playwright() as playwright:
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
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea, button')]
            .filter((c) => c.type !== 'hidden')
            .filter((c) => !(c.labels && c.labels.length) && !c.getAttribute('aria-label')
                && !c.getAttribute('aria-labelledby') && !(c.tagName === 'BUTTON' && c.textContent.trim()))
            .map((c) => c.outerHTML.slice(0, 120))"""
    )
    assert unlabelled == []


def _screenshot(page: Page, name: str) -> None:
    DOCS.mkdir(exist_ok=True)
    page.screenshot(path=str(DOCS / f"console-{name}.png"), full_page=True)


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
