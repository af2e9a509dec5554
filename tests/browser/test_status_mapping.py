"""F3 in real Chromium at 1366 and 800 px: connecting Salesforce does not switch the contact statuses by
itself. The admin connects through the provider sandbox's consent page, is asked to map the
statuses to Salesforce's Lead Status, sees the suggestions, applies the mapping, and a contact's
status dropdown then offers only the Lead Status values (its contacts moved as chosen).

Personas from ``tests/conftest.py``: ``owner`` administers Acme."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from copilot.models import User
from engage.models import ContactStatus
from engage.services.statuses import statuses_from_crm
from integrations.sandbox.salesforce.demo import ADMIN_USERNAME
from tests.factories import ContactFactory

LEAD_STATUSES = [
    "Open - Not Contacted",
    "Working - Contacted",
    "Closed - Converted",
    "Closed - Not Converted",
]


@pytest.mark.browser
@pytest.mark.parametrize("width", [1366, 800])
def test_an_admin_maps_the_statuses_to_lead_status_and_the_dropdown_offers_only_salesforces(
    new_page: Callable[..., Page],
    sign_in: Callable[[Page, User], Page],
    live_server: Any,
    sandbox: Any,
    owner: User,
    acme: Any,
    width: int,
) -> None:
    qualified = ContactStatus.objects.get(organization=acme, name="Qualified")
    contact = ContactFactory(organization=acme, first_name="Quinn", last_name="Mapped", status=qualified)
    before = list(ContactStatus.objects.filter(organization=acme).values_list("name", flat=True))

    # --- The admin connects Salesforce through the sandbox's consent page --------------------------
    admin = sign_in(new_page(ignore_https_errors=True), owner)
    admin.set_viewport_size({"width": width, "height": 768})
    admin.goto(f"{live_server.url}/admin/integrations/")
    expect(admin.get_by_role("heading", name="Integrations", exact=True)).to_be_visible()
    admin.locator("[data-provider=salesforce]").get_by_role("button", name="Connect").click()
    admin.wait_for_url(f"{sandbox.url}/services/oauth2/authorize*")
    expect(admin.get_by_label(ADMIN_USERNAME, exact=False)).to_be_checked()
    admin.get_by_role("button", name="Allow").click()
    admin.wait_for_url(f"{live_server.url}/admin/integrations/salesforce/*/")
    expect(admin.get_by_text(f"Salesforce is connected as {ADMIN_USERNAME}.")).to_be_visible()

    # --- Admin › CRM asks for the mapping; nothing has switched ----------------------------------------
    admin.get_by_role("navigation", name="Admin Portal").get_by_role("link", name="CRM").click()
    banner = admin.locator(".crm-status-mapping-pending")
    expect(banner).to_contain_text("Map your statuses to Salesforce Lead Status.")
    assert not statuses_from_crm(organization=acme)
    assert list(ContactStatus.objects.filter(organization=acme).values_list("name", flat=True)) == before
    banner.get_by_role("link").click()
    expect(admin.get_by_role("heading", name="Map your statuses to Salesforce Lead Status")).to_be_visible()
    page_width = admin.evaluate("document.documentElement.scrollWidth")
    assert page_width <= width, f"the mapping page is {page_width}px wide at {width}px"

    # Suggested by name: "Open" → "Open - Not Contacted", "Closed" → "Closed - Converted".
    expect(admin.get_by_label("Open", exact=True)).to_have_value("Open - Not Contacted")
    expect(admin.get_by_label("Closed", exact=True)).to_have_value("Closed - Converted")
    admin.get_by_label("Qualified", exact=True).select_option(label="Working - Contacted")
    admin.get_by_role("button", name="Apply mapping").click()
    expect(admin.get_by_text("Statuses now follow Salesforce Lead Status: 1 contact moved")).to_be_visible()
    expect(admin.locator(".crm-status-mapping-pending")).to_have_count(0)
    assert statuses_from_crm(organization=acme)

    # --- The contact's status dropdown offers only Salesforce's values -----------------------------
    admin.goto(f"{live_server.url}/app/contacts/{contact.pk}/")
    status_select = admin.get_by_role("combobox", name="Status", exact=True)
    expect(status_select.locator("option")).to_have_text(LEAD_STATUSES)
    expect(status_select.locator("option:checked")).to_have_text("Working - Contacted")
