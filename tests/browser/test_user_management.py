"""Admin Portal › User Management in real Chromium: the htmx row edits, the live search, revoking
an invitation behind a confirm dialog, and the keyboard behaviour of the user menu.

Personas from ``tests/conftest.py``: ``owner`` administers Acme, ``teammate`` is a Contributor."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.core import mail
from playwright.sync_api import Dialog, Page, expect

from copilot.models import Invitation, Role, User
from copilot.services.invitations import invitation_create

INVITE_LINK = re.compile(r"https?://\S+/invite/[\w-]+/")


@pytest.fixture
def users_page(page: Page, live_server, sign_in: Callable, owner: User, teammate: User) -> Page:
    """The owner on User Management, with a marker that a full page load would wipe out."""
    sign_in(page, owner)
    page.goto(f"{live_server.url}/admin/users/")
    expect(page.get_by_role("heading", name="User Management")).to_be_visible()
    mark_loaded(page)
    return page


def mark_loaded(page: Page) -> None:
    """Tag the loaded document and log its htmx requests; a full page load would reset both."""
    page.evaluate(
        """() => {
            window.loadedOnce = true;
            window.htmxRequests = [];
            document.body.addEventListener("htmx:beforeRequest", (event) => {
                const config = event.detail.requestConfig;
                window.htmxRequests.push(`${config.verb.toUpperCase()} ${config.path}`);
            });
        }"""
    )


def row_of(page: Page, user: User):
    return page.get_by_role("row").filter(has_text=user.email)


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.loadedOnce === true"), "the page reloaded instead of swapping the row"


def htmx_requests(page: Page) -> list[str]:
    return page.evaluate("window.htmxRequests")


@pytest.mark.browser
def test_an_admin_changes_a_role_in_place(users_page: Page, teammate: User) -> None:
    page = users_page
    role = row_of(page, teammate).get_by_role("combobox", name="Role of Tom Mate")
    expect(role).to_have_value(Role.CONTRIBUTOR)

    with page.expect_response(re.compile(rf"/admin/users/{teammate.pk}/role/$")) as response:
        role.select_option(label="Administrator")
    assert response.value.ok

    row = row_of(page, teammate)
    expect(row.get_by_role("combobox", name="Role of Tom Mate")).to_have_value(Role.ADMINISTRATOR)
    expect(row.get_by_role("alert")).to_have_count(0)
    assert_not_reloaded(page)
    # Only the row was asked for: the filter form must not also refresh the table (that raced
    # with the row's own request and could paint the old role back).
    assert htmx_requests(page) == [f"POST /admin/users/{teammate.pk}/role/"]
    teammate.refresh_from_db()
    assert teammate.role == Role.ADMINISTRATOR

    # It survives a reload: the page shows what the database holds.
    page.reload()
    expect(row_of(page, teammate).get_by_role("combobox", name="Role of Tom Mate")).to_have_value(
        Role.ADMINISTRATOR
    )


@pytest.mark.browser
def test_an_admin_lets_a_user_start_salesflows_on_behalf_of_others(users_page: Page, teammate: User) -> None:
    page = users_page
    name = "Tom Mate may start Salesflows on behalf of others"
    checkbox = row_of(page, teammate).get_by_role("checkbox", name=name)
    expect(checkbox).not_to_be_checked()

    with page.expect_response(re.compile(rf"/admin/users/{teammate.pk}/on-behalf/$")):
        checkbox.check()
    expect(row_of(page, teammate).get_by_role("checkbox", name=name)).to_be_checked()
    assert_not_reloaded(page)
    assert htmx_requests(page) == [f"POST /admin/users/{teammate.pk}/on-behalf/"]
    teammate.refresh_from_db()
    assert teammate.can_start_salesflow_on_behalf is True

    with page.expect_response(re.compile(rf"/admin/users/{teammate.pk}/on-behalf/$")):
        row_of(page, teammate).get_by_role("checkbox", name=name).uncheck()
    expect(row_of(page, teammate).get_by_role("checkbox", name=name)).not_to_be_checked()
    teammate.refresh_from_db()
    assert teammate.can_start_salesflow_on_behalf is False

    page.reload()
    expect(row_of(page, teammate).get_by_role("checkbox", name=name)).not_to_be_checked()


@pytest.mark.browser
def test_the_last_administrator_cannot_be_demoted(users_page: Page, owner: User) -> None:
    page = users_page
    with page.expect_response(re.compile(rf"/admin/users/{owner.pk}/role/$")):
        row_of(page, owner).get_by_role("combobox", name="Role of Olive Owner").select_option(
            label="Contributor"
        )

    row = row_of(page, owner)
    expect(row.get_by_role("alert")).to_have_text(
        "An organisation needs at least one Administrator. Promote someone else first."
    )
    # The select snaps back to what is stored.
    expect(row.get_by_role("combobox", name="Role of Olive Owner")).to_have_value(Role.ADMINISTRATOR)
    assert_not_reloaded(page)
    assert htmx_requests(page) == [f"POST /admin/users/{owner.pk}/role/"]
    owner.refresh_from_db()
    assert owner.role == Role.ADMINISTRATOR


@pytest.mark.browser
def test_the_search_filters_as_you_type_and_says_when_nothing_matches(
    users_page: Page, owner: User, teammate: User
) -> None:
    page = users_page
    search = page.get_by_role("searchbox", name="Search")

    search.fill("tom")
    expect(row_of(page, owner)).to_have_count(0)
    expect(row_of(page, teammate)).to_have_count(1)
    expect(page).to_have_url(re.compile(r"[?&]q=tom\b"))

    search.fill("nobody-by-this-name")
    expect(page.get_by_role("heading", name="No users match")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="@acme.example")).to_have_count(0)
    assert_not_reloaded(page)
    assert set(htmx_requests(page)) == {"GET /admin/users/"}

    page.get_by_role("link", name="Clear filters").click()
    expect(row_of(page, owner)).to_have_count(1)
    expect(row_of(page, teammate)).to_have_count(1)


@pytest.mark.browser
def test_a_revoked_invitation_link_stops_working(
    users_page: Page, new_page: Callable[[], Page], live_server, owner: User, mailoutbox
) -> None:
    invitation = invitation_create(
        organization=owner.organization,
        actor=owner,
        email="ivy@acme.example",
        first_name="Ivy",
        last_name="Invitee",
        base_url=live_server.url,
    )
    [email] = mail.outbox
    link = INVITE_LINK.search(email.body).group(0)

    page = users_page
    page.reload()
    mark_loaded(page)
    invitation_row = page.get_by_role("row").filter(has_text="ivy@acme.example")
    revoke = invitation_row.get_by_role("button", name="Revoke")
    dialogs: list[str] = []

    # Dismissing the dialog keeps the invitation.
    def dismiss(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    revoke.click()
    assert dialogs == [
        "Revoke the invitation for ivy@acme.example? The link in their email will stop working."
    ]
    assert_not_reloaded(page)
    invitation.refresh_from_db()
    assert invitation.status == "pending"

    # Confirming revokes it.
    def accept(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    revoke.click()
    expect(page.get_by_role("status")).to_contain_text("Revoked the invitation for ivy@acme.example.")
    expect(page.get_by_role("row").filter(has_text="ivy@acme.example")).to_have_count(0)
    assert len(dialogs) == 2
    assert Invitation.objects.get(pk=invitation.pk).status == "revoked"

    invitee = new_page()
    invitee.goto(link)
    expect(invitee.get_by_role("heading", name="This invitation can't be used")).to_be_visible()
    expect(invitee.get_by_role("alert")).to_have_text("This invitation was withdrawn by an administrator.")
    expect(invitee.get_by_role("button", name="Set password and continue")).to_have_count(0)


@pytest.mark.browser
def test_the_user_menu_opens_with_enter_and_closes_with_escape(users_page: Page) -> None:
    page = users_page
    summary = page.get_by_label("Account menu for Olive Owner")
    menu = page.get_by_role("menu")
    expect(menu).to_be_hidden()

    summary.focus()
    page.keyboard.press("Enter")
    expect(menu).to_be_visible()
    expect(menu.get_by_role("menuitem", name="Admin")).to_be_visible()

    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    # Focus returns to the toggle so keyboard users are not dropped at the top of the page.
    expect(summary).to_be_focused()
