"""The CRM settings' fallback owner in real Chromium: an admin picks the teammate who owns synced
records whose Salesforce owner is no Cadence user, saves, and finds the choice kept; the choice
lists the organisation's people only."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from copilot.models import User
from engage.models import CrmSettings


@pytest.mark.browser
def test_an_admin_sets_the_fallback_owner(
    page: Page, live_server, sign_in: Callable, owner: User, teammate: User, outsider: User, acme
) -> None:
    sign_in(page, owner)
    page.goto(f"{live_server.url}/admin/crm/")
    select = page.get_by_label("Owner of records whose Salesforce owner is not a Cadence user")
    expect(select).to_have_value("")  # nobody chosen: whoever starts the poll or import
    expect(select.locator("option", has_text="Whoever starts the poll or import")).to_have_count(1)
    expect(select.locator("option", has_text="outsider@globex.example")).to_have_count(0)
    select.select_option(label="Tom Mate (teammate@acme.example)")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Saved the CRM settings.")).to_be_visible()
    expect(page.get_by_label("Owner of records whose Salesforce owner is not a Cadence user")).to_have_value(
        str(teammate.pk)
    )
    assert CrmSettings.objects.get(organization=acme).fallback_owner == teammate
