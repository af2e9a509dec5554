"""One customer in real Chromium at 1366 and 800 px: a seller opens a contact whose team has
mailed her at two addresses and sees the whole team's timeline, then opens her account and sees
the company's timeline, its people and the account's contacts, and goes on to the company page
and back.

Personas from ``tests/conftest.py``: ``teammate`` is a seller (Contributor) of Acme, ``owner``
its admin."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from copilot.models import User
from tests.engage.test_one_customer import MEI, MEI_WORK, _new_contact, sync_kestrel


@pytest.mark.browser
@pytest.mark.parametrize("width", [1366, 800])
def test_a_seller_sees_her_contacts_team_timeline_and_her_accounts_company(
    page: Page, live_server, sign_in: Callable, acme, owner: User, teammate: User, width: int
) -> None:
    mei = _new_contact(acme, teammate, MEI, "Mei")
    _new_contact(acme, teammate, "raj.patel@kestrel.example", "Raj")
    sync_kestrel(owner, teammate)
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, teammate)

    page.goto(f"{live_server.url}/app/contacts/")
    page.get_by_role("link", name="Mei", exact=True).first.click()
    expect(page.get_by_role("heading", name="Mei", exact=True)).to_be_visible()
    timeline = page.get_by_role("list", name="Activity with Mei")
    # The teammate's mail went to her second address; Mei's own mail came from the first.
    expect(timeline.get_by_text("Pricing sent to her work address")).to_be_visible()
    expect(timeline.get_by_text("Intro from Mei")).to_be_visible()
    expect(timeline.get_by_text("Only for Raj")).to_have_count(0)
    expect(page.locator("#contact-addresses")).to_contain_text(MEI_WORK)
    _fits(page)

    page.get_by_role("link", name="Kestrel Robotics").first.click()
    expect(page.get_by_role("heading", name="Kestrel Robotics", exact=True)).to_be_visible()
    company_timeline = page.get_by_role("list", name="Activity with Kestrel Robotics")
    for subject in ("Pricing sent to her work address", "Intro from Mei", "Only for Raj"):
        expect(company_timeline.get_by_text(subject)).to_be_visible()
    contacts = page.locator("#account-contacts")
    expect(contacts.get_by_role("link", name="Mei", exact=True)).to_be_visible()
    expect(contacts.get_by_role("link", name="Raj", exact=True)).to_be_visible()
    people = page.locator("#account-people")
    # Both of Mei's addresses (one person to the team) are marked as the contact, and Raj.
    expect(people.get_by_role("link", name="Mei Nguyen")).to_have_count(2)
    expect(people.get_by_text(MEI_WORK)).to_be_visible()
    expect(people.locator(".also-contact")).to_have_count(3)
    _fits(page)

    page.locator("#account-company-link").click()
    expect(page.get_by_role("heading", name="Kestrel Robotics", exact=True)).to_be_visible()
    page.get_by_role("link", name="Account: Kestrel Robotics").click()
    expect(page).to_have_url(f"{live_server.url}/app/accounts/{mei.account_id}/")


def _fits(page: Page) -> None:
    """The page is no wider than the window (tables scroll inside their card)."""
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{overflow}px wider than the window"
