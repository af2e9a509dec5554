"""Add to Salesflow in real Chromium, at 1366 and 800 px: a seller adds three contacts from the
contacts list and sees, before starting, the one that cannot be added and why; a user with the
"Start Salesflow on behalf of others" permission adds a contact for a colleague, and the plan
names the colleague as the sender.

Personas from ``tests/conftest.py``: ``owner`` (Olive Owner) administers Acme, ``teammate`` (Tom
Mate) sells there; both send from mailboxes Acme's Google connection serves."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from copilot.models import User
from engage.models import Enrolment
from tests.browser.test_every_page_fits import FITS
from tests.engage.salesflows.conftest import connect_mailboxes
from tests.engage.salesflows.flows_helpers import call, email, make_flow
from tests.factories import ContactFactory

WIDTHS = [1366, 800]


@pytest.fixture
def outbound(acme, owner):
    connect_mailboxes(acme, "acme.example")
    return make_flow(owner, email(subject="Hello {{ first_name|there }}"), call(delay=2), name="Outbound")


def _fits(page: Page, width: int) -> None:
    assert page.evaluate(FITS) is None, f"wider than {width} px"


@pytest.mark.browser
@pytest.mark.parametrize("width", WIDTHS)
def test_a_seller_adds_three_contacts_from_the_list_and_sees_the_refused_one_first(
    page: Page, live_server, sign_in: Callable, owner: User, acme, outbound, width: int
) -> None:
    ann = ContactFactory(
        organization=acme, first_name="Ann", last_name="Archer", email="ann@prospect.example"
    )
    ben = ContactFactory(organization=acme, first_name="Ben", last_name="Baker", email="ben@prospect.example")
    cy = ContactFactory(
        organization=acme, first_name="Cy", last_name="Cole", email="cy@prospect.example", email_opt_out=True
    )
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, owner)
    page.goto(f"{live_server.url}/app/contacts/")

    for contact in (ann, ben, cy):
        page.get_by_role("checkbox", name=f"Select {contact}").check()
    expect(page.locator("[data-selected-count]")).to_have_text("3")
    page.get_by_label("Action").select_option(label="Add to Salesflow…")
    page.get_by_role("button", name="Apply").click()

    dialog = page.get_by_role("dialog", name="Add to Salesflow")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_text("3 contacts selected")).to_be_visible()
    expect(dialog.get_by_label("Start on behalf of")).to_have_count(0)  # no permission
    dialog.get_by_label("Search Salesflows").fill("outb")
    expect(dialog.get_by_label("Salesflow", exact=True)).to_have_value(str(outbound.pk))
    dialog.get_by_role("button", name="Check").click()

    # The plan, before anything is written: who is added, who is not and why.
    refused = dialog.locator("#plan-refused")
    expect(refused).to_contain_text("Cy Cole: Opted out of email.")
    expect(dialog.locator("#plan-accepted")).to_contain_text("Ann Archer")
    expect(dialog.locator("#plan-accepted")).to_contain_text("Ben Baker")
    _fits(page, width)
    assert not Enrolment.objects.exists()

    dialog.get_by_role("button", name="Start").click()
    expect(page.get_by_text("Added 2 contacts to “Outbound”.")).to_be_visible()
    expect(page.get_by_role("heading", name="Contacts")).to_be_visible()
    assert {e.contact_id for e in Enrolment.objects.filter(flow=outbound)} == {ann.pk, ben.pk}

    # The flow's people: both there, each with the step due next, within the width.
    page.goto(f"{live_server.url}/app/salesflows/{outbound.pk}/enrolments/")
    expect(page.get_by_role("link", name="Ann Archer", exact=True)).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="Ben Baker")).to_contain_text("Step 1 of 2")
    _fits(page, width)


@pytest.mark.browser
@pytest.mark.parametrize("width", WIDTHS)
def test_a_user_with_the_permission_adds_a_contact_for_a_colleague(
    page: Page, live_server, sign_in: Callable, owner: User, teammate: User, acme, outbound, width: int
) -> None:
    teammate.can_start_salesflow_on_behalf = True
    teammate.save(update_fields=["can_start_salesflow_on_behalf"])
    dee = ContactFactory(organization=acme, first_name="Dee", last_name="Dunn", email="dee@prospect.example")
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, teammate)
    page.goto(f"{live_server.url}/app/contacts/{dee.pk}/")
    expect(page.get_by_text("Dee is not in any Salesflow")).to_be_visible()

    page.get_by_role("link", name="Add to Salesflow").click()
    dialog = page.get_by_role("dialog", name="Add to Salesflow")
    dialog.get_by_label("Start on behalf of").select_option(label="Olive Owner")
    dialog.get_by_label("Salesflow", exact=True).select_option(label="Outbound")
    dialog.get_by_role("button", name="Check").click()

    expect(dialog.locator("#plan-sender")).to_have_text("Olive Owner")
    expect(dialog.get_by_text("(on their behalf)")).to_be_visible()
    expect(dialog.locator("#plan-accepted")).to_contain_text("Dee Dunn")
    _fits(page, width)
    dialog.get_by_role("button", name="Start").click()

    expect(page.get_by_text("Added 1 contact to “Outbound” from Olive Owner's mailbox.")).to_be_visible()
    card = page.locator("#salesflows")
    expect(card.get_by_role("link", name="Outbound")).to_be_visible()
    expect(card).to_contain_text("Active")
    made = Enrolment.objects.get(contact=dee)
    assert (made.sender, made.enrolled_by) == (owner, teammate)
    _fits(page, width)
