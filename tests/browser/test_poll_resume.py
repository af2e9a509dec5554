"""A historical poll whose worker was killed, as an admin sees it in real Chromium: the poll page
says it is being resumed (not failed), and "Carry on now" carries it on from the record after the
last page it stored, to the end, without polling anything twice.

The killed worker is a real process killed with SIGKILL; the poll's first run stored two pages of
500 Leads before it (``tests/engage/crm/test_poll_resume.py`` shows the same from the service)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from copilot.models import User
from engage.models import Contact, CrmPoll
from engage.services.crm import poll as crm_poll
from tests.engage.crm.conftest import salesforce_connection  # noqa: F401  (a fixture)
from tests.engage.jobs_helpers import WorkerKilled, dead_worker

PAGE = 500
LEADS = 3_000  # the sandbox's demo leads
POLL_TIMEOUT_MS = 30_000  # the rest of the poll runs inside the "Poll now" request (eager Celery)


@pytest.fixture
def killed_poll(
    acme: Any,
    owner: User,
    salesforce_connection: Any,  # noqa: F811  (the fixture imported above)
    monkeypatch: pytest.MonkeyPatch,
) -> CrmPoll:
    """Acme's Lead poll, killed while it applied its third page of 500."""
    monkeypatch.setattr("integrations.salesforce.fetch.poll.BATCH_SIZE", PAGE)
    real = crm_poll._Progress.page
    pages: list[Any] = []

    def die_on_the_third_page(self: Any, *args: Any) -> None:
        pages.append(args)
        if len(pages) == 3:
            raise WorkerKilled
        real(self, *args)

    monkeypatch.setattr(crm_poll._Progress, "page", die_on_the_third_page)
    # Browser tests commit for real: the queued task runs (eagerly) as poll_start commits.
    with pytest.raises(WorkerKilled):
        crm_poll.poll_start(organization=acme, sobject="Lead", actor=owner)
    poll = CrmPoll.objects.get(organization=acme, sobject="Lead")
    monkeypatch.setattr(crm_poll._Progress, "page", real)
    CrmPoll.objects.filter(pk=poll.pk).update(worker=dead_worker("crm-poll"))
    poll.refresh_from_db()
    return poll


@pytest.mark.browser
def test_an_admin_sees_a_killed_poll_being_resumed_and_carries_it_on_to_the_end(
    new_page: Callable[..., Page],
    sign_in: Callable[[Page, User], Page],
    live_server: Any,
    sandbox: Any,
    owner: User,
    acme: Any,
    killed_poll: CrmPoll,
) -> None:
    assert (killed_poll.status, killed_poll.processed) == (CrmPoll.Status.RUNNING, 2 * PAGE)

    admin = sign_in(new_page(ignore_https_errors=True), owner)
    admin.goto(f"{live_server.url}/admin/crm/poll/Lead/")
    status = admin.locator("#poll-status")
    expect(status).to_contain_text("Resuming after a worker restart…")
    expect(status).to_contain_text("it carries on from record 1,001")
    expect(status).not_to_contain_text("did not finish")

    status.get_by_role("button", name="Carry on now").click()

    resumed = "The earlier poll stopped when its worker did; it carries on from record 1,001."
    expect(admin.get_by_text(resumed, exact=True)).to_be_visible()
    expect(status.get_by_role("heading", name="Last poll finished")).to_be_visible(timeout=POLL_TIMEOUT_MS)
    killed_poll.refresh_from_db()
    assert (killed_poll.status, killed_poll.processed, killed_poll.created_count) == ("done", LEADS, LEADS)
    assert CrmPoll.objects.filter(organization=acme).count() == 1
    assert Contact.objects.filter(organization=acme, crm_type="Lead").exclude(crm_id="").count() == LEADS
