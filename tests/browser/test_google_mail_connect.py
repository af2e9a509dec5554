"""Google Workspace end to end in real Chromium (issue 5 points 4, 5, 6, 7, 9, 12, 13): Demo Co's
admin finds Gmail in Admin Portal › Integrations, connects it through the provider sandbox's
Google consent page, limits the sync to the Google group sales@demo.example, sees who will sync
(the sellers; the admin is outside the group) and opts one seller out; a sync runs; a seller opens
a customer's company page and sees the emails and meetings of the sandbox's demo world; the admin
blocks a customer's domain on Revenue Intelligence (the confirmation says how many activities
go), a new message from that domain arrives in the sandbox, the next sync runs, and the message
is not on the timeline — the "why" page names the rule.

The sync runs the way beat runs it (``integrations.dispatch_syncs``: the fan-out, then one task
per mailbox); Celery is eager in tests, so it runs in the test's thread, against the HTTPS
sandbox, with the real Google client libraries.

Screenshots of the key pages go to ``test-artifacts/issue5/`` for people to look at (not asserted).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from copilot.models import Activity, ActivityParticipant, IngestionSkip, User
from integrations.dispatcher import dispatch_all
from integrations.models import Connection, SyncOptOut, SyncState
from integrations.sandbox import demo_world
from integrations.sandbox.google import control as google
from tests.browser.mail_connect_helpers import demo_co_users, opt_seller2_out, screenshots, search_catalog

# A customer of seller1 whose thread and meeting subjects the timeline must show.
SHOWN = "Bluefin Analytics"
# The domain of another of seller1's customers (Lumen Ridge Energy), which the admin blocks.
BLOCKED_DOMAIN = "lumenridge.example"
LATE_MESSAGE_ID = "late-budget-note@mail.lumenridge.example"
screenshot = screenshots("google")


@pytest.fixture
def demo_co(transactional_db: None) -> dict[str, User]:
    return demo_co_users(contacts=True)


@pytest.mark.browser
def test_an_admin_connects_gmail_for_the_sales_group_and_a_seller_sees_the_synced_timeline(
    new_page: Callable[..., Page],
    sign_in: Callable[[Page, User], Page],
    live_server: Any,
    sandbox: Any,
    demo_co: dict[str, User],
) -> None:
    admin_user = demo_co["admin@demo.example"]
    seller1, seller2 = demo_co["seller1@demo.example"], demo_co["seller2@demo.example"]
    world = demo_world.build_world()

    # --- Admin Portal › Integrations: search, Connect on Gmail ------------------------------------
    # The sandbox serves HTTPS with its own CA, which this Chromium does not trust; Chromium has
    # no per-origin exception, so the context ignores certificate errors (the live server itself
    # is plain HTTP, so nothing of Cadence's is exempted from a check it would otherwise get).
    admin = sign_in(new_page(ignore_https_errors=True), admin_user)
    gmail = search_catalog(admin, live_server.url, "gmail", "gmail", hidden=("outlook", "salesforce"))
    screenshot(admin, "1-catalog-search")
    gmail.get_by_role("button", name="Connect").click()

    # --- The sandbox's Google consent page: the admin account, Allow ---------------------------
    admin.wait_for_url(f"{sandbox.url}/google/o/oauth2/v2/auth*")
    expect(admin.get_by_text("Cadence provider sandbox")).to_be_visible()
    admin.get_by_label("admin@demo.example").check()
    screenshot(admin, "2-consent")
    admin.get_by_role("button", name="Allow").click()

    # --- Who is synced: the Google group sales@demo.example --------------------------------------
    expect(admin.get_by_role("heading", name="Choose whose Gmail and Calendar Cadence syncs")).to_be_visible()
    admin.get_by_label(demo_world.SALES_GROUP_NAME).check()
    screenshot(admin, "3-scope")
    admin.get_by_role("button", name="Save and continue").click()
    expect(admin.get_by_role("heading", name="You're all set up")).to_be_visible()
    expect(admin.get_by_text(demo_world.SALES_GROUP_EMAIL).first).to_be_visible()
    screenshot(admin, "4-all-set-up")
    connection = Connection.objects.get(organization=admin_user.organization, provider="google")
    assert connection.details["mode"] == "dwd"
    assert connection.details["scope"]["key"] == demo_world.SALES_GROUP_EMAIL
    assert set(connection.details["scope_members"]) == set(demo_world.SELLERS)

    # --- Manage users' sync data: sellers sync, the admin is outside the group; opt seller2 out --
    opt_seller2_out(admin, demo_world.SALES_GROUP_NAME)
    screenshot(admin, "5-manage-users")
    assert SyncOptOut.objects.filter(connection=connection, app="email", user=seller2).exists()

    # --- A sync runs (what beat does every 5 minutes) ------------------------------------------
    dispatch_all()
    email_states = SyncState.objects.filter(connection=connection, kind="email")
    assert {s.user.email for s in email_states} == {
        "seller1@demo.example"
    }  # seller2 opted out, admin outside
    assert all(s.status == "idle" and s.last_success_at and not s.last_error for s in email_states)
    assert not ActivityParticipant.objects.filter(activity__kind="email", email="admin@demo.example").exists()

    # --- seller1 sees a customer's timeline: emails and meetings from the sandbox's mailboxes ----
    seller_threads = [t for t in world.threads if t.mailbox_owners[0] == "seller1@demo.example"]
    shown_threads = [
        t.subject for t in seller_threads if SHOWN in t.subject or _company_of(world, t) == SHOWN
    ]
    shown_meetings = [m.subject for m in world.meetings if m.subject.endswith(f"— {SHOWN}")]
    assert shown_threads and shown_meetings
    seller = sign_in(new_page(), seller1)
    seller.goto(f"{live_server.url}/companies/")
    seller.get_by_role("searchbox").fill("bluefin")
    seller.keyboard.press("Enter")
    seller.get_by_role("link", name=re.compile("Bluefin", re.IGNORECASE)).first.click()
    expect(seller.get_by_role("heading", level=1)).to_contain_text(re.compile("Bluefin", re.IGNORECASE))
    for subject in shown_threads:
        expect(seller.get_by_text(subject, exact=False).first).to_be_visible()
    for subject in shown_meetings:
        expect(seller.get_by_text(subject, exact=False).first).to_be_visible()
    screenshot(seller, "6-company-timeline")

    # ... and the same conversations on the Engage contact page of one of the customer's people.
    ava = next(
        p
        for p in world.people
        if p.company == SHOWN and any(p.email == m.sender[0] for t in seller_threads for m in t.messages)
    )
    seller.goto(f"{live_server.url}/app/contacts/?q={ava.email}")
    seller.get_by_role("link", name=ava.name).first.click()
    expect(seller.get_by_role("heading", level=1)).to_contain_text(ava.name)
    timeline = seller.locator("#timeline")
    ava_threads = [t.subject for t in seller_threads if any(ava.email == m.sender[0] for m in t.messages)]
    expect(timeline.get_by_text(ava_threads[0]).first).to_be_visible()
    screenshot(seller, "6b-contact-timeline")

    # --- The admin blocks a customer's domain: the confirmation says how much goes --------------
    blocked = Activity.objects.filter(
        organization=admin_user.organization, participants__email__endswith=f"@{BLOCKED_DOMAIN}"
    ).distinct()
    going = blocked.count()
    assert going > 0
    admin.get_by_role("navigation", name="Admin Portal").get_by_role(
        "link", name="Revenue Intelligence"
    ).click()
    admin.get_by_label("Domain or email address").fill(BLOCKED_DOMAIN)
    admin.get_by_label("Block list").check()
    admin.get_by_role("button", name="Add").click()
    expect(
        admin.get_by_text(
            re.compile(
                rf"{going} activit(y|ies) and \d+ (person|people) from {BLOCKED_DOMAIN} will be removed"
            )
        )
    ).to_be_visible()
    screenshot(admin, "7-block-confirm")
    admin.get_by_role("button", name="Confirm").click()
    expect(admin.locator("section[aria-labelledby=block-heading]")).to_contain_text(BLOCKED_DOMAIN)
    assert not blocked.exists()

    # --- New mail arrives: from the blocked domain, to the opted-out seller, and a normal one -----
    contact = next(p for p in world.people if p.domain == BLOCKED_DOMAIN)
    customer = next(p for p in world.people if p.company == SHOWN)
    seller2_customer = next(p for p in world.people if p.company == "Harbor & Pine Foods")
    google.add_messages(
        sandbox.control,
        [
            _message("seller1@demo.example", contact, "Budget approved for the rollout", LATE_MESSAGE_ID),
            _message("seller1@demo.example", customer, "Signed order form attached", "late-order@bluefin"),
            _message("seller2@demo.example", seller2_customer, "Question for Sofia", "late-q@harborpine"),
        ],
    )
    dispatch_all()
    state = email_states.get()
    assert state.status == "idle" and not state.last_error, state.last_error
    assert state.stats["last_run"]["records"] == 2  # the sync did see both of seller1's new messages
    assert Activity.objects.filter(subject="Signed order form attached").exists()
    assert not Activity.objects.filter(subject="Budget approved for the rollout").exists()  # blocked
    assert not Activity.objects.filter(subject="Question for Sofia").exists()  # seller2 opted out
    assert IngestionSkip.objects.filter(
        organization=admin_user.organization, party__contains=BLOCKED_DOMAIN
    ).exists()

    seller.goto(f"{live_server.url}/companies/?q=lumen")
    expect(seller.get_by_role("link", name=re.compile("Lumen", re.IGNORECASE))).to_have_count(0)
    seller.goto(f"{live_server.url}/companies/")
    seller.get_by_role("link", name=re.compile("Bluefin", re.IGNORECASE)).first.click()
    expect(seller.get_by_text("Signed order form attached")).to_be_visible()
    expect(seller.get_by_text(shown_threads[0]).first).to_be_visible()
    expect(seller.get_by_text("Budget approved for the rollout")).to_have_count(0)
    screenshot(seller, "9-timeline-after-block")

    # --- Why wasn't it ingested? The admin asks and gets the rule -------------------------------
    admin.get_by_role("link", name="Why wasn't a message ingested?").click()
    admin.get_by_label("From").fill(contact.email)
    admin.get_by_label("To and Cc").fill("seller1@demo.example")
    admin.get_by_label("Message-ID").fill(LATE_MESSAGE_ID)
    admin.get_by_role("button", name="Check").click()
    expect(admin.get_by_role("heading", name="This message is not synced")).to_be_visible()
    expect(admin.get_by_text(f"Matching entry: {BLOCKED_DOMAIN}")).to_be_visible()
    screenshot(admin, "8-why-not-ingested")


def _company_of(world: demo_world.World, thread: demo_world.Thread) -> str:
    people = {p.email: p.company for p in world.people}
    for message in thread.messages:
        for address, _ in (message.sender, *message.to):
            if people.get(address):
                return people[address]
    return ""


def _message(mailbox: str, sender: demo_world.Person, subject: str, message_id: str) -> dict[str, Any]:
    """A message from a customer arriving in a Demo Co mailbox (the sandbox's seed format)."""
    return {
        "mailbox": mailbox,
        "from": f"{sender.name} <{sender.email}>",
        "to": [mailbox],
        "subject": subject,
        "body": "Good news: the budget is approved. Can we sign this week?",
        "message_id": message_id,
    }
