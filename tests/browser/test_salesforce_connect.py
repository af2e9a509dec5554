"""Connecting Salesforce in real Chromium: Admin Portal › Integrations → Connect → the provider
sandbox's consent page → back in Cadence, connected → Details (G1, G8)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client
from playwright.sync_api import Browser, Page, expect

from copilot.models import User
from integrations.models import Connection
from tests.browser.conftest import _report_key

VIEWPORT = {"width": 1280, "height": 800}


@pytest.fixture
def sandbox_page(
    browser: Browser, live_server: Any, transactional_db: None, request: pytest.FixtureRequest
) -> Iterator[Page]:
    """A page that accepts the sandbox's self-signed certificate (only the sandbox serves HTTPS
    here; the live server is plain HTTP). Screenshotted to test-artifacts/browser/ on failure."""
    context = browser.new_context(viewport=VIEWPORT, ignore_https_errors=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    if any(report.failed for report in request.node.stash.get(_report_key, {}).values()):
        directory = request.config.rootpath / "test-artifacts" / "browser"
        directory.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(directory / f"{request.node.name}.png"), full_page=True)
    context.close()


def sign_in(page: Page, live_server: Any, user: User) -> None:
    client = Client()
    client.force_login(user)
    session = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [{"name": django_settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}]
    )


@pytest.mark.browser
def test_an_admin_connects_salesforce_and_opens_its_details(
    sandbox_page: Page, live_server: Any, sandbox: Any, settings: Any, owner: User, acme: Any
) -> None:
    settings.SALESFORCE_LOGIN_URL = sandbox.url
    page = sandbox_page
    sign_in(page, live_server, owner)

    page.goto(f"{live_server.url}/admin/")
    page.get_by_role("navigation", name="Admin Portal").get_by_role("link", name="Integrations").click()
    expect(page.get_by_role("heading", name="Integrations", exact=True)).to_be_visible()
    tile = page.locator("[data-provider=salesforce]")
    expect(tile.get_by_text("Not connected")).to_be_visible()
    tile.get_by_role("button", name="Connect").click()

    # The sandbox's consent page: plainly not Salesforce, the admin user preselected.
    page.wait_for_url(f"{sandbox.url}/services/oauth2/authorize*")
    expect(page.get_by_text("sandbox", exact=False).first).to_be_visible()
    expect(page.get_by_label("admin@sandbox-corp.example", exact=False)).to_be_checked()
    page.get_by_role("button", name="Allow").click()

    page.wait_for_url(f"{live_server.url}/admin/integrations/salesforce/*/")
    expect(page.get_by_text("Salesforce is connected as admin@sandbox-corp.example.")).to_be_visible()
    expect(page.get_by_role("heading", name="Connected Salesforce user")).to_be_visible()
    expect(page.get_by_role("cell", name="Enterprise Edition")).to_be_visible()
    expect(page.get_by_role("row", name="Leads")).to_contain_text("Yes")

    page.get_by_role("link", name="Back to Integrations").click()
    expect(tile.get_by_text("Connected", exact=True)).to_be_visible()
    tile.get_by_role("link", name="Details").click()
    expect(page.get_by_role("cell", name="admin@sandbox-corp.example")).to_be_visible()
    assert Connection.objects.get(organization=acme).status == "connected"
