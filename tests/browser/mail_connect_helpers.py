"""Steps shared by the Google and Microsoft mail-connect browser tests: Demo Co as ``make run``
seeds it, the admin's way into the integrations catalog, and "Manage users' sync data" with the
sellers synced, the admin outside the provider's scope and seller2 opted out."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from copilot.models import User
from demo.engage import engage_demo_seed
from demo.seed import demo_seed

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "issue5"


def screenshots(prefix: str) -> Callable[[Page, str], None]:
    """``screenshot(page, name)`` writing ``test-artifacts/issue5/<prefix>-<name>.png`` (for people
    to look at; not asserted)."""

    def screenshot(page: Page, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{prefix}-{name}.png"), full_page=True)

    return screenshot


def demo_co_users(*, contacts: bool = False) -> dict[str, User]:
    """Demo Co's users by email — admin@, seller1@, seller2@demo.example, the same people as the
    sandbox's Google customer and Microsoft tenant — and, with ``contacts``, its Engage contacts,
    among them the sandbox's customer people."""
    org = demo_seed()
    if contacts:
        engage_demo_seed(org)
    return {user.email: user for user in User.objects.filter(organization=org)}


def search_catalog(
    admin: Page, live_server_url: str, query: str, tile: str, *, hidden: tuple[str, ...]
) -> Locator:
    """From the Admin Portal to Integrations; searching ``query`` shows ``tile`` and hides ``hidden``."""
    admin.goto(f"{live_server_url}/admin/")
    admin.get_by_role("navigation", name="Admin Portal").get_by_role("link", name="Integrations").click()
    expect(admin.get_by_role("heading", name="Integrations", exact=True)).to_be_visible()
    admin.get_by_label("Search integrations").fill(query)
    found = admin.locator(f"[data-tile={tile}]")
    expect(found).to_be_visible()
    for other in hidden:
        expect(admin.locator(f"[data-tile={other}]")).to_be_hidden()
    return found


def opt_seller2_out(admin: Page, group_name: str) -> None:
    """On the "all set up" page: Manage users' sync data of the email app shows the sellers synced
    and the admin outside the provider's group; seller2 is opted out and seller1 still syncs."""
    admin.locator("tr[data-app=email]").get_by_role("link", name="Manage users' sync data").click()
    expect(admin.get_by_role("heading", name=re.compile("Manage users' sync data"))).to_be_visible()
    rows = admin.locator("table[data-manage-users]")
    expect(rows.locator("tr[data-user='seller1@demo.example']")).to_contain_text("Synced")
    expect(rows.locator("tr[data-user='seller2@demo.example']")).to_contain_text("Synced")
    expect(rows.locator("tr[data-user='admin@demo.example']")).to_contain_text(
        f"Not in the {group_name} group — the provider's scope wins"
    )
    admin.get_by_label("Sync seller2@demo.example").uncheck()
    admin.get_by_role("button", name="Save changes").click()
    expect(rows.locator("tr[data-user='seller2@demo.example']")).to_contain_text("Opted out")
    expect(rows.locator("tr[data-user='seller1@demo.example']")).to_contain_text("Synced")
