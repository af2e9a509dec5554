"""The seller's Actions queue in real Chromium, at 1366 and 800 px wide (issue 13 point 11): a call
step of a Salesflow is on Today and in Actions with the contact's number as a tel: link; logging
the call moves the flow on — the call leaves the queue, the task after it waits as upcoming, and
the navigation's count drops. A task is marked done, and an email to write opens in the composer
with the step filled for the contact. An email the engine could not send waits on Today and at
the top of Actions with its reason, and "Try again" hands it back to the engine. No page is wider
than the window.

``owner`` (Acme's admin) sends the Salesflow from Acme's mailbox; flows and enrolments are made
through the product's services (tests/engage/salesflows/actions_helpers.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from copilot.models import User
from engage.models import CallLog, Enrolment, SalesflowStep, StepSend
from engage.salesflows import events
from tests.engage.salesflows.actions_helpers import due_calls, enrol
from tests.engage.salesflows.conftest import connect_mailboxes
from tests.engage.salesflows.flows_helpers import email, make_flow, task
from tests.factories import ContactFactory

WIDTHS = [1366, 800]
Kind = SalesflowStep.Kind


def _fits(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"the page is {width}px wide"


@pytest.mark.browser
@pytest.mark.parametrize("width", WIDTHS)
def test_a_call_step_waits_in_actions_and_logging_it_moves_the_flow_on(
    page: Page, live_server, sign_in: Callable, owner: User, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    (enrolment,) = due_calls(owner, 1, due_at=timezone.now() - timedelta(days=1, hours=1))
    sign_in(page, owner)

    page.goto(f"{live_server.url}/app/")
    today = page.get_by_role("region", name="Today's actions")
    expect(today.get_by_role("link", name="Pat0 Prospect")).to_be_visible()
    expect(today.get_by_text("Overdue by 1")).to_be_visible()
    nav = page.get_by_role("navigation", name="Workspace")
    expect(nav.get_by_role("link", name="Actions 1 due")).to_be_visible()
    _fits(page)

    nav.get_by_role("link", name="Actions 1 due").click()
    expect(page.get_by_role("heading", name="Actions", level=1)).to_be_visible()
    row = page.locator(f"[data-action='{enrolment.pk}']")
    expect(row.get_by_text("Phone call")).to_be_visible()
    expect(row.get_by_text("Spring outreach · step 1 of 3")).to_be_visible()
    expect(row.get_by_role("link", name="+1 415-555-0142")).to_have_attribute("href", "tel:+1-415-555-0142")
    _fits(page)

    row.get_by_text("Log call").click()
    expect(row.get_by_label("Subject")).to_have_value("Call: Spring outreach step 1")
    row.get_by_label("Result").select_option(label="Left message")
    row.get_by_label("Comments").fill("Call back on Thursday")
    _fits(page)
    row.get_by_role("button", name="Save call").click()

    expect(
        page.get_by_text("Call with Pat0 Prospect logged. Next for Pat0 Prospect: step 2, task")
    ).to_be_visible()
    # The call is done: the row now holds the task, coming up tomorrow, and nothing is due.
    row = page.locator(f"[data-action='{enrolment.pk}']")
    expect(row.get_by_text("Send the case study", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Upcoming", level=2)).to_be_visible()
    expect(page.get_by_role("button", name="Save call")).to_have_count(0)
    expect(nav.get_by_role("link", name="Actions", exact=True)).to_be_visible()  # no count
    _fits(page)
    log = CallLog.objects.get()
    assert (log.result, log.comments, log.enrolment_id) == (
        "left_message",
        "Call back on Thursday",
        enrolment.pk,
    )
    enrolment.refresh_from_db()
    assert enrolment.current_step.kind == Kind.TASK


@pytest.mark.browser
@pytest.mark.parametrize("width", WIDTHS)
def test_a_task_is_done_and_an_email_to_write_opens_in_the_composer(
    page: Page, live_server, sign_in: Callable, owner: User, acme, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    connect_mailboxes(acme, "acme.example")
    flow = make_flow(
        owner,
        task("Connect on LinkedIn with a note about the webinar", delay=0),
        email(
            subject="About {{ account.name|your team }}",
            body="<p>Hi {{ first_name }},</p>",
            kind=Kind.MANUAL_EMAIL,
        ),
        name="Warm intro",
    )
    lee = ContactFactory(organization=acme, first_name="Lee", last_name="Chen", email="lee@chen.example")
    (enrolment,) = enrol(flow, owner, [lee])
    Enrolment.objects.filter(pk=enrolment.pk).update(due_at=timezone.now() - timedelta(minutes=5))
    sign_in(page, owner)

    page.goto(f"{live_server.url}/app/actions/")
    row = page.locator(f"[data-action='{enrolment.pk}']")
    expect(row.get_by_text("Connect on LinkedIn with a note about the webinar", exact=True)).to_be_visible()
    row.get_by_role("button", name="Done", exact=False).click()
    expect(
        page.get_by_text("Task for Lee Chen done. Next for Lee Chen: step 2, manual email")
    ).to_be_visible()

    Enrolment.objects.filter(pk=enrolment.pk).update(due_at=timezone.now() - timedelta(minutes=1))
    page.reload()
    page.locator(f"[data-action='{enrolment.pk}']").get_by_role("link", name="Write email").click()
    expect(page.get_by_role("heading", name="Email to Lee Chen", level=1)).to_be_visible()
    expect(page.get_by_label("Subject")).to_have_value("About your team")
    expect(page.locator(".sf-editor-area")).to_contain_text("Hi Lee,")
    _fits(page)
    page.get_by_role("link", name="Cancel").click()
    expect(page.get_by_role("heading", name="Actions", level=1)).to_be_visible()


@pytest.mark.browser
@pytest.mark.parametrize("width", WIDTHS)
def test_an_email_needing_attention_shows_why_and_try_again_sends_it_back_to_the_engine(
    page: Page, live_server, sign_in: Callable, owner: User, acme, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    connect_mailboxes(acme, "acme.example")
    flow = make_flow(
        owner, email(subject="For {{ first_name }}", body="<p>Being {{ title }}?</p>"), name="Titles"
    )
    lee = ContactFactory(
        organization=acme, first_name="Lee", last_name="Chen", title="", email="lee@chen.example"
    )
    (enrolment,) = enrol(flow, owner, [lee])
    # As the send engine leaves it: the send names the missing field, the enrolment waits.
    StepSend.objects.create(
        organization=acme,
        enrolment=enrolment,
        step=enrolment.current_step,
        message_id=f"sf-{acme.pk}-{enrolment.pk}-{enrolment.current_step_id}@acme.example",
        state=StepSend.State.NEEDS_ATTENTION,
        error="No value for {{ title }}",
    )
    events.enrolment_pause(enrolment, reason=Enrolment.PauseReason.NEEDS_ATTENTION)
    sign_in(page, owner)

    page.goto(f"{live_server.url}/app/")
    today = page.get_by_role("region", name="Today's actions")
    expect(today.get_by_text("Lee Chen has no value for {{ title }}.")).to_be_visible()
    nav = page.get_by_role("navigation", name="Workspace")
    nav.get_by_role("link", name="Actions 1 due").click()

    attention = page.get_by_role("list", name="Needs your attention")
    row = attention.locator(f"[data-action='{enrolment.pk}']")
    expect(row.get_by_text("Lee Chen has no value for {{ title }}.")).to_be_visible()
    expect(row.get_by_role("link", name="Edit Lee Chen")).to_have_attribute(
        "href", f"/app/contacts/{lee.pk}/edit/"
    )
    expect(row.get_by_role("button", name="Skip this step", exact=False)).to_be_visible()
    _fits(page)

    lee.title = "VP Sales"
    lee.save(update_fields=["title"])
    row.get_by_role("button", name="Try again", exact=False).click()

    expect(page.get_by_text("The email to Lee Chen will be tried again")).to_be_visible()
    expect(page.get_by_role("list", name="Needs your attention")).to_have_count(0)
    expect(nav.get_by_role("link", name="Actions", exact=True)).to_be_visible()  # no count
    _fits(page)
    enrolment.refresh_from_db()
    assert (enrolment.state, enrolment.pause_reason) == (Enrolment.State.ACTIVE, "")
    assert enrolment.current_step.kind == Kind.AUTO_EMAIL  # the next beat sends it
