"""Contacts in real Chromium: creating a contact (and being offered the existing one for a known
email while typing), filtering the list, and changing the status of several contacts at once.

Personas from ``tests/conftest.py``: ``teammate`` is a seller (Contributor) of Acme."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from copilot.models import User
from engage.models import Contact, ContactStatus
from tests.factories import ContactFactory


@pytest.mark.browser
def test_a_seller_creates_a_contact_and_is_offered_an_existing_one(
    page: Page, live_server, sign_in: Callable, teammate: User, acme
) -> None:
    ContactFactory(organization=acme, email="linus@kernel.example", first_name="Linus", last_name="T")
    sign_in(page, teammate)
    page.goto(f"{live_server.url}/app/contacts/")
    expect(page.get_by_role("heading", name="No contacts yet")).to_have_count(0)
    page.get_by_role("link", name="New contact").click()
    expect(page.get_by_role("heading", name="New contact")).to_be_visible()

    # A known email is flagged while typing, before anything is submitted.
    page.get_by_role("textbox", name="Email").fill("Linus@kernel.example")
    expect(page.get_by_text("Already in your contacts")).to_be_visible()
    expect(page.get_by_role("link", name="Linus T")).to_be_visible()

    page.get_by_role("textbox", name="Email").fill("margaret@apollo.example")
    expect(page.get_by_text("Already in your contacts")).to_have_count(0)
    page.get_by_label("First name").fill("Margaret")
    page.get_by_label("Last name").fill("Hamilton")
    page.get_by_label("Company").fill("MIT Instrumentation Lab")
    page.get_by_label("Job title").fill("Director of Software Engineering")
    page.get_by_label("Status").select_option(label="Prospecting")
    page.get_by_role("button", name="Add contact").click()

    expect(page.get_by_role("heading", name="Margaret Hamilton")).to_be_visible()
    expect(page.get_by_text("Added Margaret Hamilton.")).to_be_visible()
    expect(page.get_by_role("link", name="MIT Instrumentation Lab")).to_be_visible()
    contact = Contact.objects.get(email="margaret@apollo.example")
    assert contact.status.name == "Prospecting" and contact.owner == teammate

    # Submitting the known email anyway is refused, offering the existing contact, input kept.
    page.goto(f"{live_server.url}/app/contacts/new/")
    page.get_by_label("First name").fill("Another")
    page.get_by_role("textbox", name="Email").fill("margaret@apollo.example")
    page.get_by_role("button", name="Add contact").click()
    expect(page.get_by_role("alert").filter(has_text="already has the email address")).to_be_visible()
    expect(page.get_by_label("First name")).to_have_value("Another")
    page.get_by_role("link", name="Open Margaret Hamilton").click()
    expect(page.get_by_role("heading", name="Margaret Hamilton")).to_be_visible()
    assert Contact.objects.filter(email="margaret@apollo.example").count() == 1


@pytest.mark.browser
def test_a_seller_changes_the_status_of_several_contacts_at_once(
    page: Page, live_server, sign_in: Callable, teammate: User, acme
) -> None:
    for first in ["Ann", "Bob", "Cy", "Di"]:
        ContactFactory(organization=acme, first_name=first, last_name="Prospect", owner=teammate)
    ContactFactory(
        organization=acme,
        first_name="Eve",
        last_name="Elsewhere",
        email="eve@elsewhere.example",
        owner=teammate,
    )
    sign_in(page, teammate)
    page.goto(f"{live_server.url}/app/contacts/?sort=name")

    # Filter by search without a page load; the bulk bar then works on what is shown.
    page.get_by_role("searchbox", name="Search").fill("prospect")
    expect(page.get_by_role("row")).to_have_count(5)  # header + the 4 prospects, not Eve

    page.get_by_role("checkbox", name="Select Ann Prospect").check()
    page.get_by_role("checkbox", name="Select Cy Prospect").check()
    expect(page.locator("[data-selected-count]")).to_have_text("2")
    page.get_by_label("New status").select_option(label="Qualified")
    page.get_by_role("button", name="Apply").click()

    expect(page.get_by_text("Changed the status of 2 contacts to Qualified.")).to_be_visible()
    qualified = ContactStatus.objects.for_org(acme).get(name="Qualified")
    assert set(Contact.objects.filter(status=qualified).values_list("first_name", flat=True)) == {"Ann", "Cy"}
    expect(page.get_by_role("row").filter(has_text="Ann Prospect")).to_contain_text("Qualified")
    expect(page.get_by_role("row").filter(has_text="Bob Prospect")).to_contain_text("New")

    # Then change the owner of everything matching a status filter (after a confirm dialog).
    page.get_by_label("Status", exact=True).select_option(label="Qualified")
    expect(page.get_by_role("row")).to_have_count(3)
    page.get_by_label("Action").select_option(label="Change owner to…")
    page.get_by_label("New owner").select_option(label="Unassigned")
    page.get_by_role("radio", name="All").check()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("Gave 2 contacts to nobody (unassigned).")).to_be_visible()
    assert Contact.objects.filter(owner__isnull=True).count() == 2
