"""Admin Portal › Contact Status in real Chromium: adding a coloured status, reordering it with
the htmx-swapped list, a refused duplicate keeping what was typed, and deleting a status while
moving its contacts elsewhere.

Personas from ``tests/conftest.py``: ``owner`` administers Acme."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from copilot.models import User
from engage.models import Contact, ContactStatus
from tests.factories import ContactFactory


def status_names(page: Page) -> list[str]:
    return page.locator("tr.status-row input[type=text]").evaluate_all("els => els.map(e => e.value)")


def row(page: Page, name: str):
    return page.locator("tr.status-row").filter(has=page.get_by_role("textbox", name=f"Name of {name}"))


@pytest.mark.browser
def test_an_admin_adds_moves_and_deletes_statuses(
    page: Page, live_server, sign_in: Callable, owner: User, acme
) -> None:
    contacted = ContactStatus.objects.get(organization=acme, name="Contacted")
    opened = ContactStatus.objects.get(organization=acme, name="Open")
    ContactFactory.create_batch(3, organization=acme, status=contacted)
    ContactFactory.create_batch(2, organization=acme, status=opened)

    sign_in(page, owner)
    page.goto(f"{live_server.url}/admin/contact-status/")
    expect(page.get_by_role("heading", name="Contact Status")).to_be_visible()
    expect(page.get_by_role("link", name="Contact Status")).to_have_attribute("aria-current", "page")
    expect(row(page, "Contacted").get_by_role("cell", name="3 contacts")).to_be_visible()
    expect(row(page, "New").get_by_text("Default", exact=True)).to_be_visible()
    page.evaluate("window.loadedOnce = true")

    # Add "Negotiating" in orange: it lands at the end of the list, without a page load.
    page.get_by_label("Colour of the new status").fill("#ff8800")
    name = page.get_by_placeholder("Type a new status…")
    name.fill("Negotiating")
    page.get_by_role("button", name="Add status").click()
    expect(page.get_by_role("status")).to_have_text("Added the status Negotiating.")
    expect(row(page, "Negotiating").get_by_role("cell", name="0 contacts")).to_be_visible()
    assert status_names(page)[-1] == "Negotiating"
    expect(row(page, "Negotiating").get_by_label("Colour of Negotiating")).to_have_value("#ff8800")
    expect(page.get_by_placeholder("Type a new status…")).to_have_value("")
    assert page.evaluate("window.loadedOnce === true"), "the list should swap in place"

    # Move it up one place.
    row(page, "Negotiating").get_by_role("button", name="Move up").click()
    expect(page.get_by_role("status")).to_have_text("Moved Negotiating up.")
    names = status_names(page)
    assert names[-2:] == ["Negotiating", "Unqualified"], names
    assert ContactStatus.objects.get(organization=acme, name="Negotiating").position == len(names) - 2

    # A duplicate name is refused with the typed text kept.
    page.get_by_placeholder("Type a new status…").fill("open")
    page.get_by_role("button", name="Add status").click()
    expect(page.get_by_role("alert")).to_have_text("There is already a status called “open”.")
    expect(page.get_by_placeholder("Type a new status…")).to_have_value("open")
    assert ContactStatus.objects.filter(organization=acme).count() == len(names)

    # Delete "Contacted", moving its three contacts to "Open".
    row(page, "Contacted").get_by_role("link", name="Delete").click()
    expect(page.get_by_role("heading", name="Delete the status Contacted?")).to_be_visible()
    expect(page.get_by_text("3 contacts use this status.")).to_be_visible()
    target = page.get_by_label("Move its contacts to")
    expect(target).to_have_value(str(ContactStatus.objects.get(organization=acme, name="New").pk))
    target.select_option(label="Open")
    page.get_by_role("button", name="Move contacts and delete").click()

    expect(page.get_by_role("status")).to_contain_text(
        "Deleted the status Contacted. 3 contacts moved to Open."
    )
    expect(row(page, "Contacted")).to_have_count(0)
    expect(row(page, "Open").get_by_role("cell", name="5 contacts")).to_be_visible()
    assert Contact.objects.filter(organization=acme, status=opened).count() == 5
    assert not ContactStatus.objects.filter(pk=contacted.pk).exists()


@pytest.mark.browser
def test_the_default_status_explains_why_it_cannot_be_deleted(
    page: Page, live_server, sign_in: Callable, owner: User, acme
) -> None:
    sign_in(page, owner)
    page.goto(f"{live_server.url}/admin/contact-status/")
    row(page, "New").get_by_role("link", name="Delete").click()
    expect(page.get_by_role("alert")).to_contain_text("Make another status the default first")
    expect(page.get_by_role("button", name="Delete status")).to_have_count(0)

    page.get_by_role("link", name="Back to Contact Status").click()
    row(page, "Open").get_by_role("button", name="Make default").click()
    expect(row(page, "Open").get_by_text("Default", exact=True)).to_be_visible()
    expect(row(page, "New").get_by_role("button", name="Make default")).to_be_visible()
    assert ContactStatus.objects.get(organization=acme, is_default=True).name == "Open"
