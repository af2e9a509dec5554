"""The Today home and the Admin Portal home in real Chromium, at 1366 and 800 px wide: a seller
sees today's meeting with its join link and a contact's email (and opens the contact from it);
the admin sees the organisation at a glance with a connection's health. Neither page is wider
than the window.

Personas from ``tests/conftest.py``: ``teammate`` is a seller of Acme, ``owner`` its admin."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from copilot.models import User
from integrations.models import ConnectionApp, SyncState
from tests.copilot.intelligence.factories import PersonFactory, activity_with_links
from tests.factories import ContactFactory
from tests.integrations.salesforce.factories import ConnectionFactory, SyncStateFactory

WIDTHS = [1366, 800]


def _fits(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"the page is {width}px wide"


@pytest.mark.browser
@pytest.mark.parametrize("width", WIDTHS)
def test_a_seller_sees_todays_meeting_and_a_contacts_email(
    page: Page, live_server, sign_in: Callable, teammate: User, owner: User, acme, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    dana = ContactFactory(organization=acme, first_name="Dana", last_name="Scully", email="dana@fbi.example")
    person = PersonFactory(organization=acme, email=dana.email, name="Dana Scully")
    now = timezone.now()
    activity_with_links(
        organization=acme,
        kind="meeting",
        occurred_at=now,
        users=[teammate],
        people=[person],
        subject="Quarterly review with Dana",
        join_url="https://meet.google.com/abc-defg-hij",
        join_provider="google_meet",
    )
    activity_with_links(
        organization=acme,
        occurred_at=now - dt.timedelta(hours=2),
        users=[teammate],
        people=[person],
        sender=person,
        subject="Re: the proposal",
        snippet="Looks good, let's sign next week.",
    )
    sign_in(page, teammate)
    page.goto(f"{live_server.url}/app/")

    # Today is the first thing in the workspace's navigation, and marked as the current page.
    today = page.get_by_role("navigation", name="Workspace").get_by_role("link", name="Today")
    expect(today).to_have_attribute("aria-current", "page")
    meetings = page.get_by_role("region", name="Today's meetings")
    expect(meetings.get_by_role("listitem").filter(has_text="Quarterly review with Dana")).to_be_visible()
    join = meetings.get_by_role("link", name="Join (Google Meet)")
    expect(join).to_have_attribute("href", "https://meet.google.com/abc-defg-hij")
    actions = page.get_by_role("region", name="Today's actions")
    expect(actions.get_by_text("Steps of your Salesflows due today")).to_be_visible()
    active = page.get_by_role("region", name="Contacts with new activity")
    expect(active.get_by_role("link", name="Dana Scully")).to_be_visible()
    mail = page.get_by_role("region", name="Recent replies and inbound mail from your contacts")
    expect(mail.get_by_text("Re: the proposal")).to_be_visible()
    _fits(page)

    mail.get_by_role("link", name="Dana Scully").click()
    expect(page.get_by_role("heading", name="Dana Scully", level=1)).to_be_visible()


@pytest.mark.browser
@pytest.mark.parametrize("width", WIDTHS)
def test_the_admin_sees_the_organisation_at_a_glance(
    page: Page, live_server, sign_in: Callable, owner: User, teammate: User, acme, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    google = ConnectionFactory(organization=acme, provider="google", external_username="acme.example")
    for app in ("email", "calendar"):
        ConnectionApp.objects.create(organization=acme, connection=google, app=app)
    SyncStateFactory(
        connection=google,
        user=teammate,
        kind="email",
        object_name=f"email:{teammate.email}",
        last_success_at=timezone.now() - dt.timedelta(minutes=3),
    )
    salesforce = ConnectionFactory(organization=acme, api_used=500, api_max=15_000)
    SyncStateFactory(
        connection=salesforce,
        object_name="Lead",
        status=SyncState.Status.FAILED,
        last_error="INVALID_SESSION_ID",
    )
    sign_in(page, owner)
    page.goto(f"{live_server.url}/app/")
    page.get_by_role("link", name="Admin Portal").click()

    expect(page.get_by_role("heading", name="Acme at a glance")).to_be_visible()
    connections = page.get_by_role("region", name="Connections")
    expect(connections.get_by_text("Gmail: last sync 3 minutes ago")).to_be_visible()
    expect(connections.locator("[data-provider=salesforce]").get_by_text("Connected")).to_be_visible()
    attention = page.get_by_role("region", name="Sync errors needing attention")
    expect(attention.get_by_text("1 sync row failed and stopped retrying.")).to_be_visible()
    expect(attention.get_by_text("Last error: INVALID_SESSION_ID")).to_be_visible()
    expect(attention.get_by_role("link", name="Salesforce")).to_have_attribute(
        "href", f"/admin/integrations/salesforce/{salesforce.pk}/"
    )
    budget = page.get_by_role("region", name="Salesforce API budget")
    expect(budget.get_by_text("of 15,000 API requests used in the last 24 hours (3%)")).to_be_visible()
    people = page.get_by_role("region", name="People")
    expect(people.get_by_text("Active users")).to_be_visible()
    _fits(page)

    people.get_by_role("link", name="User Management").click()
    expect(page.get_by_role("heading", name="User Management")).to_be_visible()
