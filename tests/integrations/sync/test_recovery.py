"""The one engine recovers by itself (issue 11, point 10): a run killed on this host is taken over
at once, leases are short and renewed with every page, and a lost database connection is an
outage like a provider 5xx that never parks a mailbox which keeps making progress."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys

import pytest
from django.db import OperationalError
from django.utils import timezone

from copilot.models import Activity
from integrations.models import SyncState
from integrations.sandbox.google import control as google_control
from integrations.sync import fanout, policy
from integrations.sync import states as sync_states
from integrations.sync import tasks as sync_tasks
from integrations.sync.engine import Stop
from integrations.sync.engine import run as run_sync
from integrations.sync.registry import register_handler, unregister_handler
from integrations.workers import this_host
from tests.integrations.sync.mailbox_helpers import sandbox_google_connection
from tests.integrations.sync.test_engine import customer_mail, row


@pytest.fixture
def connection(sandbox, demo):
    return sandbox_google_connection(sandbox, demo)


@pytest.fixture
def dead_owner():
    """The lease owner a worker process killed with SIGKILL on this host left behind."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    return f"mailsync:{this_host()}:{child.pid}:deadbeef"


@pytest.fixture
def live_owner():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield f"mailsync:{this_host()}:{child.pid}:cafebabe"
    child.kill()
    child.wait()


def hold_lease(state: SyncState, owner: str, *, seconds: float = 100) -> None:
    SyncState.objects.filter(pk=state.pk).update(
        lease_owner=owner,
        lease_expires_at=timezone.now() + dt.timedelta(seconds=seconds),
        status=SyncState.Status.RUNNING,
    )


def test_a_run_killed_on_this_host_is_taken_over_at_once_and_resumes(
    sandbox, demo, connection, recorder, dead_owner
):
    google_control.add_messages(sandbox.control, customer_mail(30, prefix="taken"))
    state = row(connection, demo.seller1)
    hold_lease(state, dead_owner)

    result = run_sync(sync_state_id=state.pk)

    assert result.stopped == Stop.DONE, result.reason
    assert Activity.objects.filter(organization=demo.org, subject__startswith="Order taken-").count() == 30
    state.refresh_from_db()
    assert (state.status, state.lease_owner) == (SyncState.Status.IDLE, "")


def test_a_live_run_keeps_its_lease(sandbox, demo, connection, recorder, live_owner):
    state = row(connection, demo.seller1)
    hold_lease(state, live_owner)

    result = run_sync(sync_state_id=state.pk)

    assert result.stopped == Stop.BUSY
    state.refresh_from_db()
    assert state.lease_owner == live_owner


def test_the_dispatcher_picks_up_a_dead_run_s_row_without_waiting_for_its_lease(
    sandbox, demo, connection, recorder, monkeypatch, dead_owner, live_owner
):
    dead_row = row(connection, demo.seller1)
    live_row = row(connection, demo.seller2)
    hold_lease(dead_row, dead_owner)
    hold_lease(live_row, live_owner)
    enqueued: list[int] = []
    monkeypatch.setattr(sync_tasks, "enqueue_sync", lambda pk, **kw: enqueued.append(pk))

    fanout.fan_out()

    assert dead_row.pk in enqueued and live_row.pk not in enqueued


def test_leases_are_short_and_renewed_with_every_page(sandbox, demo, connection, monkeypatch):
    google_control.add_messages(sandbox.control, customer_mail(1100, prefix="lease"))  # three pages
    state = row(connection, demo.seller1)
    seen: list[float] = []

    def lease_left(context, records):
        expires = SyncState.objects.get(pk=state.pk).lease_expires_at
        seen.append((expires - timezone.now()).total_seconds())

    register_handler("email", lease_left)
    try:
        assert run_sync(sync_state_id=state.pk).stopped == Stop.DONE
    finally:
        unregister_handler("email", lease_left)
    assert policy.MAILBOX.lease_seconds == policy.CRM.lease_seconds == 120
    assert len(seen) >= 3 and all(0 < left <= 120 for left in seen)
    assert min(seen[1:]) > 100  # renewed by every committed page, not counting down from the start


def test_a_lost_database_connection_is_an_outage_and_progress_never_parks_the_mailbox(
    sandbox, demo, connection, recorder, settings
):
    """Five database blips in a row, each after the run committed a page: the mailbox backs off
    30 s each time and is never FAILED; everything arrives once the database holds."""
    settings.GMAIL_USER_QUOTA = "1000000/60"  # this test is about the database, not Gmail's quota
    google_control.add_messages(sandbox.control, customer_mail(2600, prefix="blip"))  # six pages of 500
    state = row(connection, demo.seller1)
    blips = {"left": 5, "pages": 0}

    def database_blip_after_one_page(context, records):
        blips["pages"] += 1
        if blips["left"] and blips["pages"] % 2 == 0:
            blips["left"] -= 1
            raise OperationalError("terminating connection due to administrator command")

    register_handler("email", database_blip_after_one_page)
    outcomes = []
    try:
        for _ in range(10):
            result = run_sync(sync_state_id=state.pk, force=True)
            state.refresh_from_db()
            outcomes.append((result.stopped, result.pages, state.attempts, state.status))
            if result.stopped == Stop.DONE:
                break
            assert result.stopped == Stop.UNAVAILABLE and "database" in result.reason
            assert 25 <= (state.next_run_at - timezone.now()).total_seconds() <= 30
    finally:
        unregister_handler("email", database_blip_after_one_page)

    assert outcomes[-1][0] == Stop.DONE, outcomes
    assert sum(1 for o in outcomes if o[0] == Stop.UNAVAILABLE) == 5
    assert all(status != SyncState.Status.FAILED and attempts <= 1 for _, _, attempts, status in outcomes)
    assert Activity.objects.filter(organization=demo.org, subject__startswith="Order blip-").count() == 2600


def test_a_database_blip_before_any_page_counts_towards_the_limit_like_an_outage(
    sandbox, demo, connection, recorder
):
    google_control.add_messages(sandbox.control, customer_mail(10, prefix="down"))
    state = row(connection, demo.seller1)

    def database_down(context, records):
        raise OperationalError("could not connect to server")

    register_handler("email", database_down)
    try:
        results = [
            run_sync(sync_state_id=state.pk, force=True) for _ in range(policy.MAILBOX.max_retries + 1)
        ]
    finally:
        unregister_handler("email", database_down)

    state.refresh_from_db()
    assert [r.stopped for r in results[:-1]] == [Stop.UNAVAILABLE] * policy.MAILBOX.max_retries
    assert results[-1].stopped == Stop.FAILED and state.status == SyncState.Status.FAILED
    assert (
        sync_states.sync_state_retry_now(sync_state=state, actor=demo.admin).status == SyncState.Status.IDLE
    )
