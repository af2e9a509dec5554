"""The whole first-run story in real Chromium: a founder signs up, works through onboarding,
invites a colleague from the Admin Portal, and the colleague joins through the emailed link."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from copilot.models import Role, User

FOUNDER_EMAIL = "fay@northwind.example"
FOUNDER_PASSWORD = "quiet-lantern-harbour-42"
INVITEE_EMAIL = "ivan@northwind.example"
INVITEE_PASSWORD = "amber-kettle-orchard-17"
INVITE_LINK = re.compile(r"https?://\S+/invite/[\w-]+/")
CONFIRM_LINK = re.compile(r"https?://\S+/accounts/confirm-email/[^/\s]+/")
# "Password:" (allauth) or "Password *" (our forms), but not "Password (again)".
PASSWORD = re.compile(r"^Password[\s:*]*$")


def wizard_step(page: Page, title: str):
    """The progress indicator's entry for one step (its link reads "<n>. <title>")."""
    link = page.get_by_role("link", name=re.compile(rf"^\d+\. {re.escape(title)}$"))
    return page.get_by_role("listitem").filter(has=link)


def save_and_continue(page: Page) -> None:
    page.get_by_role("button", name="Save and continue").click()


def open_user_menu_item(page: Page, item: str) -> None:
    page.get_by_label(re.compile(r"^Account menu for ")).click()
    page.get_by_role("menuitem", name=item).click()


def confirmation_link_for(email: str) -> str:
    """The link in the email that asks ``email`` to confirm the address it signed up with."""
    [message] = [m for m in mail.outbox if m.to == [email] and CONFIRM_LINK.search(m.body)]
    return CONFIRM_LINK.search(message.body).group(0)


def invitation_link_for(email: str) -> str:
    """The link in the invitation email to ``email`` (sign-up also mails the founder)."""
    [message] = [m for m in mail.outbox if m.to == [email]]
    match = INVITE_LINK.search(message.body)
    assert match, f"no invitation link in:\n{message.body}"
    return match.group(0)


@pytest.mark.browser
def test_a_founder_signs_up_onboards_and_invites_a_colleague_who_joins(
    live_server, new_page: Callable[[], Page], mailoutbox
) -> None:
    admin = new_page()

    # Sign up: a new organisation whose first user is its Administrator.
    admin.goto(f"{live_server.url}/accounts/signup/")
    admin.get_by_label("First name").fill("Fay")
    admin.get_by_label("Last name").fill("Founder")
    admin.get_by_label("Company").fill("Northwind")
    admin.get_by_label("Email").fill(FOUNDER_EMAIL)
    admin.get_by_label(PASSWORD).fill(FOUNDER_PASSWORD)
    admin.get_by_label("Password (again)").fill(FOUNDER_PASSWORD)
    admin.get_by_role("button", name="Sign Up").click()

    # The address must be confirmed first (mandatory verification): open the emailed link, confirm.
    expect(admin.get_by_role("heading", name="Verify Your Email Address")).to_be_visible()
    admin.goto(confirmation_link_for(FOUNDER_EMAIL))
    admin.get_by_role("button", name="Confirm").click()

    # The wizard starts at its first step.
    expect(admin).to_have_url(re.compile(r"/onboarding/contact/$"))
    expect(admin.get_by_role("heading", name="Contact details")).to_be_visible()
    expect(wizard_step(admin, "Contact details")).to_have_attribute("aria-current", "step")
    expect(admin.get_by_label("First name")).to_have_value("Fay")
    admin.get_by_label("Phone").fill("+1 415 555 0100")
    admin.get_by_label("Job title").fill("Head of Sales")
    save_and_continue(admin)

    # Skip the email provider for now.
    expect(admin.get_by_role("heading", name="Email provider")).to_be_visible()
    admin.get_by_role("button", name="Skip for now").click()
    expect(admin.get_by_text("Skipped “Email provider”")).to_be_visible()

    # The progress indicator shows what is done, what was skipped and where we are.
    expect(admin.get_by_role("heading", name="CRM")).to_be_visible()
    expect(wizard_step(admin, "Contact details")).to_contain_text("(done)")
    expect(wizard_step(admin, "Contact details")).to_have_class(re.compile(r"\bdone\b"))
    expect(wizard_step(admin, "Email provider")).to_contain_text("(skipped)")
    expect(wizard_step(admin, "Email provider")).to_have_class(re.compile(r"\bskipped\b"))
    expect(wizard_step(admin, "CRM")).to_have_attribute("aria-current", "step")
    admin.get_by_label("Salesforce").check()
    save_and_continue(admin)

    expect(admin.get_by_role("heading", name="Email signature")).to_be_visible()
    admin.get_by_label("Template: classic").check()
    save_and_continue(admin)

    expect(admin.get_by_role("heading", name="Dialer phone")).to_be_visible()
    admin.get_by_label("Phone number for the dialer").fill("+1 415 555 0199")
    save_and_continue(admin)

    expect(admin.get_by_role("heading", name="Time zone and language")).to_be_visible()
    admin.get_by_label("Time zone").select_option("Europe/Berlin")
    admin.get_by_label("Language").select_option("en")
    save_and_continue(admin)

    expect(admin).to_have_url(re.compile(r"/onboarding/done/$"))
    expect(admin.get_by_role("heading", name="You're all set")).to_be_visible()
    expect(admin.get_by_text("5 of 6 steps done. You skipped: Email provider")).to_be_visible()
    for title in ("Contact details", "CRM", "Email signature", "Dialer phone", "Time zone and language"):
        expect(wizard_step(admin, title)).to_contain_text("(done)")
    expect(wizard_step(admin, "Email provider")).to_contain_text("(skipped)")

    founder = User.objects.get(email=FOUNDER_EMAIL)
    assert founder.role == Role.ADMINISTRATOR
    assert founder.organization.name == "Northwind"
    assert founder.organization.crm == "salesforce"
    assert (founder.phone, founder.job_title, founder.time_zone) == (
        "+1 415 555 0100",
        "Head of Sales",
        "Europe/Berlin",
    )

    # Admin Portal › User Management › Add user.
    admin.get_by_role("link", name="Go to your workspace").click()
    open_user_menu_item(admin, "Admin")  # the portal's home, then its User Management
    admin.get_by_role("navigation", name="Admin Portal").get_by_role("link", name="User Management").click()
    expect(admin.get_by_role("heading", name="User Management")).to_be_visible()
    expect(
        admin.get_by_role("navigation", name="Admin Portal").get_by_role("link", name="User Management")
    ).to_have_attribute("aria-current", "page")
    admin.get_by_role("link", name="Add user").click()
    expect(admin.get_by_role("heading", name="Add user")).to_be_visible()
    admin.get_by_label("First name").fill("Ivan")
    admin.get_by_label("Last name").fill("Invitee")
    admin.get_by_label("Email").fill(INVITEE_EMAIL)
    admin.get_by_label("Contributor").check()
    admin.get_by_label("May start Salesflows on behalf of other users").check()
    admin.get_by_role("button", name="Send invitation").click()

    expect(admin).to_have_url(re.compile(r"/admin/users/$"))
    expect(admin.get_by_role("status")).to_contain_text(f"Invitation sent to {INVITEE_EMAIL}.")
    pending = admin.get_by_role("region", name=re.compile(r"^Pending invitations \(1\)$"))
    expect(pending.get_by_role("row").filter(has_text=INVITEE_EMAIL)).to_contain_text("Ivan Invitee")
    expect(pending.get_by_role("row").filter(has_text=INVITEE_EMAIL)).to_contain_text("Contributor")

    # The invitee opens the emailed link in their own browser and sets a password.
    link = invitation_link_for(INVITEE_EMAIL)
    assert link.startswith(live_server.url)
    invitee = new_page()
    invitee.goto(link)
    expect(invitee.get_by_role("heading", name="Join Northwind")).to_be_visible()
    expect(invitee.get_by_text("Fay Founder invited you as Contributor")).to_be_visible()
    invitee.get_by_label(PASSWORD).fill(INVITEE_PASSWORD)
    invitee.get_by_label("Password (again)").fill(INVITEE_PASSWORD)
    invitee.get_by_role("button", name="Set password and continue").click()

    # Signed in, in onboarding; "Finish later" leads to the workspace.
    expect(invitee).to_have_url(re.compile(r"/onboarding/contact/$"))
    expect(invitee.get_by_role("status")).to_contain_text("Welcome to Northwind!")
    expect(invitee.get_by_label("Company")).to_be_disabled()
    invitee.get_by_role("link", name="Finish later").click()
    expect(invitee).to_have_url(re.compile(r"/app/$"))
    workspace_nav = invitee.get_by_role("navigation", name="Workspace")
    for section in ("Contacts", "Salesflows", "Analytics", "Feed"):
        expect(workspace_nav.get_by_role("link", name=section)).to_be_visible()
    expect(invitee.get_by_role("region", name="Account setup")).to_contain_text("0 of 6 steps done.")

    # Sign out, then back in with email and password.
    open_user_menu_item(invitee, "Sign out")
    expect(invitee.get_by_role("heading", name="Sign In")).to_be_visible()
    invitee.get_by_label("Email").fill(INVITEE_EMAIL)
    invitee.get_by_label(PASSWORD).fill(INVITEE_PASSWORD)
    invitee.get_by_role("button", name="Sign In").click()
    expect(invitee).to_have_url(re.compile(r"/app/$"))
    expect(invitee.get_by_role("heading", name="Welcome, Ivan")).to_be_visible()
    expect(
        invitee.get_by_role("navigation", name="Workspace").get_by_role("link", name="Contacts")
    ).to_be_visible()

    # The admin now sees Ivan as a user, and no longer as a pending invitation.
    admin.reload()
    ivan_row = admin.get_by_role("row").filter(has_text=INVITEE_EMAIL)
    expect(ivan_row).to_have_count(1)
    expect(ivan_row.get_by_role("combobox", name="Role of Ivan Invitee")).to_have_value(Role.CONTRIBUTOR)
    expect(
        ivan_row.get_by_role("checkbox", name="Ivan Invitee may start Salesflows on behalf of others")
    ).to_be_checked()
    expect(admin.get_by_role("region", name=re.compile(r"^Pending invitations"))).to_have_count(0)
