"""Microsoft 365 end to end in real Chromium (issue 5 points 4, 5, 7, 13): Demo Co's admin finds
Microsoft Outlook in Admin Portal › Integrations, grants Cadence tenant-wide admin consent on the
provider sandbox's Microsoft pages (sign-in first, then the signed-in tenant's admin consent), limits the sync to the security group "Cadence sellers",
installs Microsoft Calendar too, sees who will sync (the sellers; the admin is outside the group)
and opts one seller out; a sync runs through Microsoft Graph; a seller sees a customer's emails
and meetings on its company page.

The sync runs the way beat runs it (``integrations.dispatch_syncs``); Celery is eager in tests.
Screenshots of the key pages go to ``test-artifacts/issue5/`` (not asserted).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from copilot.models import ActivityParticipant, ActivitySource, User
from integrations.dispatcher import dispatch_all
from integrations.models import Connection, SyncOptOut, SyncState
from integrations.sandbox import demo_world
from integrations.sandbox.microsoft.demo import DEMO_TENANT_ID
from tests.browser.mail_connect_helpers import demo_co_users, opt_seller2_out, screenshots, search_catalog

SHOWN = "Bluefin Analytics"  # one of seller1's customers in the demo world
screenshot = screenshots("microsoft")


@pytest.fixture
def demo_co(transactional_db: None) -> dict[str, User]:
    return demo_co_users()


@pytest.mark.browser
def test_an_admin_connects_outlook_for_a_security_group_and_a_seller_sees_the_synced_timeline(
    new_page: Callable[..., Page],
    sign_in: Callable[[Page, User], Page],
    live_server: Any,
    sandbox: Any,
    demo_co: dict[str, User],
) -> None:
    admin_user = demo_co["admin@demo.example"]
    seller1, seller2 = demo_co["seller1@demo.example"], demo_co["seller2@demo.example"]
    group = demo_world.SALES_SECURITY_GROUP_NAME

    # --- Admin Portal › Integrations: search, Connect on Microsoft Outlook -------------------------
    # The sandbox serves HTTPS with its own CA, which this Chromium does not trust; Chromium has
    # no per-origin exception, so the context ignores certificate errors (the live server itself
    # is plain HTTP, so nothing of Cadence's is exempted from a check it would otherwise get).
    admin = sign_in(new_page(ignore_https_errors=True), admin_user)
    outlook = search_catalog(admin, live_server.url, "outlook", "outlook", hidden=("gmail",))
    screenshot(admin, "1-catalog-search")
    outlook.get_by_role("button", name="Connect").click()

    # --- The sandbox's Microsoft sign-in (Cadence learns the tenant from the verified ID token) ---
    admin.wait_for_url(f"{sandbox.url}/organizations/oauth2/v2.0/authorize*")
    expect(admin.get_by_text("Cadence provider sandbox").first).to_be_visible()
    admin.get_by_label("admin@demo.example").check()
    screenshot(admin, "2-sign-in")
    admin.get_by_role("button", name="Accept").click()

    # --- Then that tenant's admin consent page: the Global Administrator, Accept -----------------
    admin.wait_for_url(f"{sandbox.url}/{DEMO_TENANT_ID}/v2.0/adminconsent*")
    expect(admin.get_by_text("Cadence provider sandbox").first).to_be_visible()
    admin.get_by_label("admin@demo.example").check()
    screenshot(admin, "2-admin-consent")
    admin.get_by_role("button", name="Accept").click()

    # --- Who is synced: the security group ----------------------------------------------------------
    expect(admin.get_by_role("heading", name="Which Microsoft 365 users may Cadence sync?")).to_be_visible()
    admin.get_by_label(group).check()
    screenshot(admin, "3-security-group")
    admin.get_by_role("button", name="Continue").click()
    expect(admin.get_by_role("heading", name="You're all set up")).to_be_visible()
    expect(admin.get_by_text(f"Only members of the security group {group} are synced.")).to_be_visible()
    admin.get_by_role("button", name="Install Microsoft Calendar too").click()
    expect(admin.get_by_role("heading", name="You're all set up")).to_be_visible()
    expect(admin.locator("tr[data-app=calendar]")).to_be_visible()
    screenshot(admin, "4-all-set-up")
    connection = Connection.objects.get(organization=admin_user.organization, provider="microsoft")
    assert connection.details["mode"] == "app"
    assert connection.details["scope"]["kind"] == "security_group"
    assert set(connection.details["scope_members"]) == set(demo_world.SELLERS)

    # --- Manage users' sync data: sellers sync, the admin is outside the group; opt seller2 out --
    opt_seller2_out(admin, group)
    screenshot(admin, "5-manage-users")
    assert SyncOptOut.objects.filter(connection=connection, app="email", user=seller2).exists()

    # --- A sync runs through Graph ---------------------------------------------------------------
    dispatch_all()
    states = SyncState.objects.filter(connection=connection)
    email_users = {s.user.email for s in states.filter(kind="email")}
    assert email_users == {"seller1@demo.example"}, email_users
    for state in states:
        assert state.status == "idle" and state.last_success_at and not state.last_error, (
            state.object_name,
            state.last_error,
        )
    assert ActivitySource.objects.filter(user=seller1, kind="email", provider="microsoft").exists()
    assert not ActivityParticipant.objects.filter(activity__kind="email", email="admin@demo.example").exists()

    # --- seller1 sees a customer's emails and meetings ----------------------------------------
    world = demo_world.build_world()
    thread = next(t for t in world.threads if SHOWN in t.subject)
    meeting = next(m for m in world.meetings if m.subject.endswith(f"— {SHOWN}"))
    seller = sign_in(new_page(), seller1)
    seller.goto(f"{live_server.url}/companies/?q=bluefin")
    seller.get_by_role("link", name=re.compile("Bluefin", re.IGNORECASE)).first.click()
    expect(seller.get_by_role("heading", level=1)).to_contain_text(re.compile("Bluefin", re.IGNORECASE))
    expect(seller.get_by_text(thread.subject).first).to_be_visible()
    expect(seller.get_by_text(meeting.subject).first).to_be_visible()
    screenshot(seller, "6-company-timeline")
