"""One `firstline run` with the agents' desk and one headless Chromium for all the console's
pages (package scope: both test modules share them, as the one module they came from did).

The browser module is imported inside the fixtures: it skips (or, under CI, fails) when
Playwright or Chromium is missing, which only a test module may do at import.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support.desk import desk_with_admin

if TYPE_CHECKING:
    from playwright.sync_api import Browser

    from tests.e2e.console.browser import Console, Watched


@pytest.fixture(scope="package")
def console(tmp_path_factory: pytest.TempPathFactory, imported_faq: Path) -> Iterator[Console]:
    from tests.e2e.console.browser import Console

    workdir = tmp_path_factory.mktemp("console-e2e")
    with desk_with_admin(workdir, imported_faq) as (running, url, admin):
        yield Console(running, url, admin)


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    from tests.e2e.console.browser import CHROMIUM

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def tab(browser: Browser, console: Console) -> Iterator[Watched]:
    """A fresh browser context (its own sessionStorage) watched for errors and for requests
    that leave 127.0.0.1; none may have happened by the end of the test."""
    from tests.e2e.console.browser import LAPTOP, watch

    context = browser.new_context(viewport=LAPTOP, accept_downloads=True)
    watched = watch(context)
    try:
        yield watched
    finally:
        context.close()
    assert watched.errors == []
    assert watched.outside == []
