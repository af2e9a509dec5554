"""Validation a user can trust, in real Chromium (issue 12): New Contact refuses a phone that is
not a number with a message next to it and keeps everything typed; a valid one is saved in
E.164 and shown formatted as a tel: link; disabled buttons look disabled.

Personas from ``tests/conftest.py``: ``teammate`` sells at Acme, ``owner`` administers it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from copilot.models import User
from engage.models import Contact


@pytest.mark.browser
def test_new_contact_refuses_a_phone_that_is_not_a_number_and_keeps_the_input(
    page: Page, live_server, sign_in: Callable, teammate: User, acme
) -> None:
    sign_in(page, teammate)
    page.goto(f"{live_server.url}/app/contacts/new/")
    page.get_by_label("First name").fill("Lin")
    page.get_by_role("textbox", name="Email").fill("lin@prospect.example")
    page.get_by_label("Business phone").fill("12ab")
    page.get_by_label("Mobile phone").fill("+44 20 7946 0958")
    page.get_by_role("button", name="Add contact").click()

    expect(page.get_by_role("alert").filter(has_text="“12ab” is not a phone number")).to_be_visible()
    expect(page.get_by_label("First name")).to_have_value("Lin")
    expect(page.get_by_label("Business phone")).to_have_value("12ab")
    expect(page.get_by_label("Mobile phone")).to_have_value("+44 20 7946 0958")
    assert not Contact.objects.filter(organization=acme).exists()

    page.get_by_label("Business phone").fill("+1 (415) 555-0100")
    page.get_by_role("button", name="Add contact").click()

    expect(page.get_by_role("heading", name="Lin")).to_be_visible()
    expect(page.get_by_role("link", name="+1 415-555-0100")).to_have_attribute("href", "tel:+1-415-555-0100")
    expect(page.get_by_role("link", name="+44 20 7946 0958")).to_have_attribute(
        "href", "tel:+44-20-7946-0958"
    )
    contact = Contact.objects.get(organization=acme)
    assert (contact.business_phone, contact.mobile_phone) == ("+14155550100", "+442079460958")


@pytest.mark.browser
def test_disabled_buttons_look_disabled(page: Page, live_server, sign_in: Callable, owner: User) -> None:
    sign_in(page, owner)
    page.goto(f"{live_server.url}/admin/contact-status/")
    first_up = page.get_by_role("button", name="Move up").first
    enabled_up = page.get_by_role("button", name="Move up").nth(1)
    expect(first_up).to_be_disabled()

    def look(button) -> tuple[float, str]:
        opacity, cursor = button.evaluate("b => [getComputedStyle(b).opacity, getComputedStyle(b).cursor]")
        return float(opacity), cursor

    assert look(first_up)[0] <= 0.5 and look(first_up)[1] == "not-allowed"
    assert look(enabled_up) == (1.0, "pointer")
    first_up.hover(force=True)
    assert first_up.evaluate("b => getComputedStyle(b).backgroundColor") == "rgba(0, 0, 0, 0)"
