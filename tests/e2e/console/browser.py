"""What the console's end-to-end tests drive and check: a real headless Chromium (Debian's, driven
by Playwright) against one real `firstline run` process and the local fake Bot API.

Every page is checked for uncaught JavaScript errors, unlabelled controls and requests to
anything but 127.0.0.1. Screenshots of the main pages go to docs/ (console-*.png) with
FIRSTLINE_CONSOLE_SCREENSHOTS=1.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.e2e import Running

try:
    from playwright.sync_api import BrowserContext, Page, ViewportSize, expect
except ImportError:  # pragma: no cover - the dev extra installs it
    if os.environ.get("CI") == "true":
        raise
    pytest.skip("Playwright is missing: pip install -e '.[dev]'", allow_module_level=True)

__all__ = ["expect"]  # the tests' assertions on pages come from here, behind the guard above

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    if os.environ.get("CI") == "true":
        pytest.fail("chromium is missing: .ci/run installs it (apt-get install chromium)")
    pytest.skip("no chromium on this machine: apt-get install chromium", allow_module_level=True)

# Screenshots of the main pages: into docs/ with FIRSTLINE_CONSOLE_SCREENSHOTS=1 (how the ones
# there were made), else into a scratch folder (the pages are still drawn and captured).
DOCS = Path(__file__).resolve().parents[3] / "docs"
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


def watch(context: BrowserContext) -> Watched:
    """A new tab of the context whose requests may go to 127.0.0.1 only: anything else is
    refused and recorded, as are uncaught errors and console errors."""
    watched = Watched(context.new_page())

    def only_here(route: Any) -> None:
        address = route.request.url
        if address.startswith(("http://127.0.0.1:", "data:", "blob:")):
            route.continue_()
        else:
            watched.outside.append(address)
            route.abort()

    context.route("**/*", only_here)
    watched.page.on("pageerror", lambda error: watched.errors.append(f"uncaught: {error}"))
    watched.page.on(
        "console",
        lambda message: (
            watched.errors.append(f"console: {message.text}")
            if message.type == "error" and not HANDLED.search(message.text)
            else None
        ),
    )
    return watched


def sign_in(tab: Watched, console: Console, token: str, where: str = "") -> Page:
    page = tab.page
    page.goto(f"{console.url}/console{where}")
    page.get_by_label("API token").fill(token)
    page.get_by_label("API token").press("Enter")  # the keyboard alone signs in
    expect(page.locator("#who")).to_be_visible()
    return page


def assert_every_control_is_labelled(page: Page) -> None:
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


def screenshot(page: Page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"console-{name}.png"), full_page=True)
