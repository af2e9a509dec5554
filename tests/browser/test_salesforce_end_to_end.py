"""Salesforce end to end in real Chromium (G1, G3, G4, G6, G9, F3): an admin connects Salesforce
through the provider sandbox's consent page, changes the Lead mapping, builds the rule "Title
contains Sales", previews how many Leads it matches, polls them and sees the contacts; then a
seller changes one of those contacts' status and the Lead's Status changes in Salesforce.

Celery runs eagerly here: the poll and the status write-back run inside the live server's request,
once its transaction commits (``transaction.on_commit``), so each page shows their outcome.

Personas from ``tests/conftest.py``: ``owner`` administers Acme, ``teammate`` sells there."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from copilot.models import User
from engage.models import Contact, FieldMapping
from engage.selectors import COUNT_CAP
from engage.services.statuses import statuses_from_crm
from integrations.sandbox.salesforce import control as sfc
from integrations.sandbox.salesforce.demo import ADMIN_USERNAME
from tests.engage.crm.sf_helpers import records

OPEN, WORKING = "Open - Not Contacted", "Working - Contacted"
# The historical poll runs inside the "Poll now" request (eager Celery): about a thousand Leads.
POLL_TIMEOUT_MS = 30_000


def sales_leads(sandbox: Any) -> list[dict[str, Any]]:
    """The Leads "Title contains Sales" matches, straight from the sandbox's store (SOQL's LIKE
    ignores case)."""
    return [lead for lead in records(sandbox, "Lead") if "sales" in (lead.get("Title") or "").lower()]


def count_htmx_swaps(page: Page) -> None:
    """Count the htmx swaps that have settled in each document ``page`` loads from now on."""
    page.context.add_init_script(
        "window.htmxSettled = 0;"
        "document.addEventListener('htmx:afterSettle', () => { window.htmxSettled += 1; });"
    )


def swapped(page: Page, action: Callable[[], Any]) -> None:
    """Do ``action`` and wait until the htmx swap it causes has settled (new inputs bound)."""
    before = page.evaluate("window.htmxSettled")
    action()
    page.wait_for_function("n => window.htmxSettled > n", arg=before)


def count(summary: Locator, name: str) -> Locator:
    """One figure of the poll's summary (``<dt>name</dt><dd>figure</dd>``)."""
    return (
        summary.locator("dl.import-counts > div")
        .filter(has=summary.page.get_by_text(name, exact=True))
        .locator("dd")
    )


@pytest.mark.browser
def test_an_admin_connects_and_polls_salesforce_and_a_seller_s_status_change_reaches_the_lead(
    new_page: Callable[..., Page],
    sign_in: Callable[[Page, User], Page],
    live_server: Any,
    sandbox: Any,
    owner: User,
    teammate: User,
    acme: Any,
) -> None:
    matching = sales_leads(sandbox)
    lead = next(
        r for r in matching if not r.get("IsConverted") and r.get("Status") == OPEN and r.get("Email")
    )
    lead_name = f"{lead['FirstName']} {lead['LastName']}"
    assert len(matching) > 100  # the demo org: a poll of many pages' worth of rows, not a handful

    # --- The admin connects Salesforce through the sandbox's consent page --------------------------
    admin = sign_in(new_page(ignore_https_errors=True), owner)
    count_htmx_swaps(admin)
    admin.goto(f"{live_server.url}/admin/integrations/")
    expect(admin.get_by_role("heading", name="Integrations", exact=True)).to_be_visible()
    tile = admin.locator("[data-provider=salesforce]")
    tile.get_by_role("button", name="Connect").click()
    admin.wait_for_url(f"{sandbox.url}/services/oauth2/authorize*")
    expect(admin.get_by_text("Cadence provider sandbox")).to_be_visible()
    expect(admin.get_by_label(ADMIN_USERNAME, exact=False)).to_be_checked()
    admin.get_by_role("button", name="Allow").click()
    admin.wait_for_url(f"{live_server.url}/admin/integrations/salesforce/*/")
    expect(admin.get_by_text(f"Salesforce is connected as {ADMIN_USERNAME}.")).to_be_visible()

    # --- Admin › CRM › Leads mapping: a default value for Country, verified and saved ---------------
    # Admin › CRM opens on its settings; once Salesforce is connected it asks to map the statuses
    # to the Lead Status picklist (F3: the default Lead mapping maps Contact Status to it), and the
    # list follows the picklist once the admin applies the suggested mapping.
    admin.get_by_role("navigation", name="Admin Portal").get_by_role("link", name="CRM").click()
    expect(admin.get_by_role("heading", name="Settings", exact=True)).to_be_visible()
    assert not statuses_from_crm(organization=acme)
    admin.get_by_role("link", name="choose a Lead Status for each status and apply the mapping").click()
    admin.get_by_role("button", name="Apply mapping").click()
    expect(admin.get_by_text("Statuses now follow Salesforce Lead Status")).to_be_visible()
    assert statuses_from_crm(organization=acme)
    crm_nav = admin.get_by_role("navigation", name="CRM")
    crm_nav.get_by_role("link", name="Leads", exact=True).click()
    expect(admin.get_by_role("heading", name="Leads field mapping")).to_be_visible()
    country_default = admin.get_by_role("textbox", name="Country default value")
    country_default.fill("United States")
    admin.get_by_role("button", name="Verify and save").first.click()
    expect(admin.get_by_text("Verified and saved the Leads mapping.")).to_be_visible()
    expect(country_default).to_have_value("United States")
    saved = FieldMapping.objects.get(organization=acme, sobject="Lead", engage_field="country")
    assert saved.default_value == "United States"
    assert statuses_from_crm(organization=acme)  # still: the saved mapping maps status too

    # --- Sync rules for Leads: Title contains "Sales", previewed, saved ----------------------------
    crm_nav.get_by_role("link", name="Leads sync rules").click()
    expect(admin.get_by_role("heading", name="Leads sync rules")).to_be_visible()
    admin.get_by_role("button", name="Add condition").click()
    # Each choice swaps the condition's inputs in (htmx); the next one waits for that to settle.
    swapped(admin, lambda: admin.get_by_label("Field of condition 1").select_option("Title"))
    swapped(admin, lambda: admin.get_by_label("How to compare Title").select_option(label="contains"))
    admin.get_by_label("Value for Title").fill("Sales")
    admin.get_by_role("button", name="Preview").click()
    expect(admin.locator("#rule-preview")).to_contain_text(f"Preview: {len(matching)} records match.")
    admin.get_by_role("button", name="Save rules").click()
    expect(admin.get_by_text("Saved the Leads sync rules.")).to_be_visible()
    expect(admin.get_by_label("How to compare Title")).to_have_value("contains")
    expect(admin.get_by_label("Value for Title")).to_have_value("Sales")

    # --- Poll historical Leads: confirm, wait for the end, read the summary ------------------------
    crm_nav.get_by_role("link", name="Leads poll").click()
    expect(admin.get_by_role("heading", name="Poll historical data: Leads")).to_be_visible()
    expect(admin.get_by_text(f"{len(matching):,} leads match your sync rules")).to_be_visible()
    admin.get_by_role("link", name="Poll now").click()
    confirm = admin.get_by_role("alertdialog")
    expect(confirm).to_contain_text(f"Poll {len(matching):,} leads from Salesforce now?")
    confirm.get_by_role("button", name="Poll now").click()
    status = admin.locator("#poll-status")
    expect(status.get_by_role("heading", name="Last poll finished")).to_be_visible(timeout=POLL_TIMEOUT_MS)
    expect(count(status, "Created")).to_have_text(f"{len(matching):,}")
    expect(count(status, "Errors (not polled)")).to_have_text("0")

    status.get_by_role("link", name="See the contacts").click()
    expect(admin.get_by_role("heading", name="Contacts")).to_be_visible()
    expect(admin.get_by_label("Source")).to_have_value("crm")
    shown = f"{COUNT_CAP:,}+" if len(matching) > COUNT_CAP else f"{len(matching):,}"
    expect(admin.locator("#results")).to_contain_text(f"{shown} contacts match")
    assert Contact.objects.filter(organization=acme, source="crm", crm_type="Lead").count() == len(matching)
    with admin.expect_response(lambda r: "/app/contacts/" in r.url and "q=" in r.url):
        admin.get_by_label("Search").fill(lead["Email"])
    expect(admin.get_by_role("link", name=lead_name)).to_be_visible()

    # --- A seller changes the Lead-linked contact's status: Salesforce's Lead Status follows -------
    contact = Contact.objects.get(organization=acme, crm_type="Lead", crm_id=lead["Id"])
    assert contact.status.crm_value == OPEN
    seller = sign_in(new_page(), teammate)
    seller.goto(f"{live_server.url}/app/contacts/?source=crm")
    with seller.expect_response(lambda r: "/app/contacts/" in r.url and "q=" in r.url):
        seller.get_by_label("Search").fill(lead["Email"])
    seller.get_by_role("link", name=lead_name).click()
    expect(seller.get_by_role("heading", name=lead_name)).to_be_visible()
    expect(seller.get_by_text(f"Lead {lead['Id']}")).to_be_visible()
    status_select = seller.get_by_role("combobox", name="Status", exact=True)
    expect(status_select.locator("option:checked")).to_have_text(OPEN)
    status_select.select_option(label=WORKING)
    seller.get_by_role("button", name="Save status").click()
    expect(seller.get_by_text(f"is now {WORKING}.")).to_be_visible()
    expect(status_select.locator("option:checked")).to_have_text(WORKING)

    assert sfc.get_record(sandbox.state, "Lead", lead["Id"])["Status"] == WORKING
