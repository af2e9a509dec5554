"""Browser tests: Debian's Chromium, driven by Playwright, against pytest-django's live server.

Run them with ``pytest tests/browser`` (or ``-m browser``). Chromium is not optional here: when
``/usr/bin/chromium`` is missing the tests fail with a message saying so, because CI installs it
and a silent skip would hide a broken pipeline. Never ``playwright install``: the system browser
is the one we test against.

A failing test leaves a full-page screenshot of every page it opened in
``test-artifacts/browser/<test name>.png`` (``-2.png``, ``-3.png`` … for further pages).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from copilot.models import User

# Playwright's sync API keeps an asyncio event loop running in the main thread, so Django's
# async-safety guard would refuse every ORM call a test makes (factories, assertions) there.
# The app itself runs in the live server's own thread and is unaffected.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

# CHROMIUM points elsewhere only for a machine whose Chromium lives elsewhere (or to prove the
# missing-browser path); `make test` runs scripts/ensure-chromium with the same variable first.
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}
# Short enough that a broken page fails fast; every step of a healthy run takes well under this.
DEFAULT_TIMEOUT_MS = 7_000

_report_key = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[pytest.TestReport]:
    """Keep each phase's report on the item so fixtures can tell, at teardown, whether it failed."""
    report = yield
    item.stash.setdefault(_report_key, {})[report.when] = report
    return report


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}. The browser tests need Debian's chromium package "
            "(`make test` installs it when run as root; otherwise: sudo apt-get install chromium); "
            "they fail rather than skip so a CI image without it is noticed.",
            pytrace=False,
        )
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


def _artifact_name(node_name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", node_name)


@pytest.fixture
def new_page(
    browser: Browser, request: pytest.FixtureRequest, transactional_db: None
) -> Iterator[Callable[..., Page]]:
    """Opens a page in a fresh browser context (own cookies: a different person) per call.
    Keyword arguments go to ``new_context``: ``ignore_https_errors=True`` for a page that visits
    the provider sandbox (it serves HTTPS with its own CA; the live server is plain HTTP)."""
    contexts = []
    pages: list[Page] = []

    def open_page(**context_options: Any) -> Page:
        context = browser.new_context(viewport=VIEWPORT, **context_options)
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        pages.append(page)
        return page

    yield open_page

    reports = request.node.stash.get(_report_key, {})
    if any(report.failed for report in reports.values()):
        directory = request.config.rootpath / "test-artifacts" / "browser"
        directory.mkdir(parents=True, exist_ok=True)
        name = _artifact_name(request.node.name)
        for number, page in enumerate(pages, start=1):
            suffix = "" if number == 1 else f"-{number}"
            try:
                page.screenshot(path=str(directory / f"{name}{suffix}.png"), full_page=True)
            except Exception as exc:  # a crashed page must not hide the test's own failure
                print(f"Could not screenshot page {number} of {request.node.name}: {exc}")
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[[], Page]) -> Page:
    """A page in a new 1280×800 context; screenshotted to test-artifacts/browser/ if the test fails."""
    return new_page()


@pytest.fixture
def sign_in(live_server) -> Callable[[Page, User], Page]:
    """Signs ``user`` in to ``page``'s context without the login form (the flow test covers that)."""

    def sign_in_as(page: Page, user: User) -> Page:
        client = Client()
        client.force_login(user)
        session = client.cookies[settings.SESSION_COOKIE_NAME].value
        page.context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}]
        )
        return page

    return sign_in_as
