"""User Management's "Start Salesflows on behalf of others" toggle (A5) persists: checked in one
visit, still checked after a reload and in a fresh session."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from copilot.models import User


@pytest.mark.browser
def test_the_on_behalf_permission_survives_a_reload(
    page: Page, new_page: Callable[[], Page], live_server, sign_in: Callable, owner: User, teammate: User
) -> None:
    name = "Tom Mate may start Salesflows on behalf of others"
    sign_in(page, owner)
    page.goto(f"{live_server.url}/admin/users/")
    checkbox = page.get_by_role("row").filter(has_text=teammate.email).get_by_role("checkbox", name=name)
    expect(checkbox).not_to_be_checked()

    with page.expect_response(re.compile(rf"/admin/users/{teammate.pk}/on-behalf/$")) as response:
        checkbox.check()
    assert response.value.ok

    page.reload()
    row = page.get_by_role("row").filter(has_text=teammate.email)
    expect(row.get_by_role("checkbox", name=name)).to_be_checked()
    teammate.refresh_from_db()
    assert teammate.can_start_salesflow_on_behalf is True

    # Another admin's browser sees the same.
    other = new_page()
    sign_in(other, owner)
    other.goto(f"{live_server.url}/admin/users/")
    expect(
        other.get_by_role("row").filter(has_text=teammate.email).get_by_role("checkbox", name=name)
    ).to_be_checked()
