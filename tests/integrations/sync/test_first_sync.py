"""Connecting starts the first sync at once, and a big first sync that keeps meeting the quota
while making progress never ends up "failed" (issue 5 points 7 and 11)."""

from __future__ import annotations

import time

from copilot.models import Activity
from integrations import governance
from integrations.google import limits
from integrations.models import SyncState
from integrations.sandbox.google import control as google_control
from integrations.sync.engine import Stop
from integrations.sync.engine import run as run_mailbox_sync
from tests.integrations.sync.mailbox_helpers import ADMIN, SELLER1, SELLER2, sandbox_google_connection
from tests.integrations.sync.test_engine import customer_mail, row


def test_choosing_the_scope_starts_the_first_sync_without_waiting_for_the_beat(
    sandbox, demo, django_capture_on_commit_callbacks
):
    connection = sandbox_google_connection(sandbox, demo)
    assert not SyncState.objects.filter(connection=connection).exists()

    with django_capture_on_commit_callbacks(execute=True):
        governance.connection_set_scope(
            connection=connection,
            kind="group",
            key="sales@demo.example",
            name="Sales team",
            members=[SELLER1, SELLER2],
            actor=demo.admin,
        )

    synced = SyncState.objects.filter(connection=connection, last_success_at__isnull=False)
    assert {s.object_name.split(":", 1)[1] for s in synced} == {SELLER1, SELLER2}
    assert not SyncState.objects.filter(connection=connection, object_name__endswith=ADMIN).exists()
    assert Activity.objects.filter(organization=demo.org, kind=Activity.Kind.EMAIL).exists()
    assert Activity.objects.filter(organization=demo.org, kind=Activity.Kind.MEETING).exists()


def test_a_first_sync_slowed_by_the_quota_keeps_going_without_failing(sandbox, demo, settings, monkeypatch):
    connection = sandbox_google_connection(sandbox, demo)
    # Room for one page of 500 messages (2,505 units) per 8-second window: too long a wait for the
    # limiter to sleep through, so each run commits a page, stops, and the next one resumes. (The
    # window is long enough that a slow, loaded machine still cannot finish a second page in it.)
    # Between runs the test moves Cadence's limiter clock and the sandbox's clock past the window
    # together instead of waiting for it.
    skipped = [0.0]
    monkeypatch.setattr(limits, "wall_clock", lambda: time.time() + skipped[0])
    settings.GMAIL_USER_QUOTA = "3000/8"
    google_control.set_gmail_quota(sandbox.control, units=3000, per_seconds=8)
    google_control.add_messages(sandbox.control, customer_mail(1200, prefix="big"))
    state = row(connection, demo.seller1)

    outcomes = []
    for _ in range(40):
        result = run_mailbox_sync(sync_state_id=state.pk, force=True)
        state.refresh_from_db()
        outcomes.append((result.stopped, result.pages, state.attempts))
        if result.stopped == Stop.DONE:
            break
        # the quota window frees up (the follow-up task would wait longer still)
        skipped[0] += 8.1
        google_control.advance_clock(sandbox.state, 8.1)

    assert outcomes[-1][0] == Stop.DONE, outcomes
    assert any(stopped == Stop.THROTTLED and pages for stopped, pages, _ in outcomes), outcomes
    assert all(stopped != Stop.FAILED for stopped, _, _ in outcomes)
    # Every throttled run that committed pages counts as the first attempt, not one more.
    assert all(attempts == 1 for stopped, pages, attempts in outcomes if stopped == Stop.THROTTLED and pages)
    assert Activity.objects.filter(organization=demo.org, subject__startswith="Order big-").count() == 1200
