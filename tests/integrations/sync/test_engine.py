"""The mailbox sync engine against the sandbox's Gmail, through the real Google adapter and
copilot's real ingestion (B13, issue point 11): windows, cursors, leases, backoff, failures."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from copilot.models import Activity, ActivitySource
from integrations.models import Connection, SyncState
from integrations.sandbox.google import control as google_control
from integrations.sync import fanout
from integrations.sync import states as sync_states
from integrations.sync import tasks as mailsync_tasks
from integrations.sync.engine import Stop
from integrations.sync.engine import run as run_mailbox_sync
from integrations.sync.mailbox import MailboxRunResult
from integrations.sync.registry import register_handler as register_ingest_handler
from integrations.sync.registry import unregister_handler as unregister_ingest_handler
from tests.integrations.sync.mailbox_helpers import SELLER1, sandbox_google_connection

GMAIL = r"/google/gmail/v1/users/[^/]+/"


@pytest.fixture
def connection(sandbox, demo) -> Connection:
    return sandbox_google_connection(sandbox, demo)


def row(connection: Connection, user, kind: str = "email") -> SyncState:
    [state] = sync_states.mailbox_sync_states_ensure(
        connection=connection, wanted=[(user.pk, kind, f"{kind}:{user.email}")]
    )
    return state


def activities(demo) -> tuple[int, int]:
    return (
        Activity.objects.filter(organization=demo.org).count(),
        ActivitySource.objects.filter(organization=demo.org).count(),
    )


# --- A normal run --------------------------------------------------------------------------------
def test_a_first_sync_ingests_the_window_then_an_idle_round_costs_one_call(
    sandbox, demo, connection, recorder
):
    state = row(connection, demo.seller1)

    first = run_mailbox_sync(sync_state_id=state.pk)

    assert first.stopped == Stop.DONE, first.reason
    assert first.full_sync and first.records > 0 and first.records == len(recorder.ids("email", SELLER1))
    context = recorder.contexts()[0]
    assert (context.user_id, context.mailbox, context.kind, context.full_resync) == (
        demo.seller1.pk,
        SELLER1,
        "email",
        True,
    )
    state.refresh_from_db()
    assert state.status == SyncState.Status.IDLE and state.cursor and state.last_success_at
    assert state.lease_owner == "" and state.attempts == 0
    last_run = state.stats["last_run"]
    assert last_run["records"] == first.records and last_run["full_sync"] is True
    assert last_run["api_calls"] == first.api_calls > 0 and last_run["duration_seconds"] >= 0
    assert activities(demo)[0] > 0

    google_control.clear_api_calls(sandbox.state)
    idle = run_mailbox_sync(sync_state_id=state.pk)

    assert idle.stopped == Stop.DONE and idle.records == 0 and not idle.full_sync
    assert idle.api_calls == 1
    assert google_control.api_calls(sandbox.state, SELLER1) == {"gmail.users.history.list": 1}


def test_new_mail_arrives_in_the_next_incremental_round(sandbox, demo, connection, recorder):
    state = row(connection, demo.seller1)
    run_mailbox_sync(sync_state_id=state.pk)
    google_control.append_messages(sandbox.control, users=[SELLER1], count=3)

    result = run_mailbox_sync(sync_state_id=state.pk)

    assert result.stopped == Stop.DONE and result.records == 3 and not result.full_sync


def test_the_first_sync_only_reaches_back_as_far_as_the_window(sandbox, demo, recorder):
    old = timezone.now() - dt.timedelta(days=120)
    google_control.add_messages(
        sandbox.control,
        [
            {
                "mailbox": SELLER1,
                "from": "old.buyer@oldcustomer.example",
                "to": [SELLER1],
                "subject": "Our talk last winter",
                "body": "Hello again",
                "date": old.isoformat(),
                "message_id": "old-thread@oldcustomer.example",
            }
        ],
    )
    default = sandbox_google_connection(sandbox, demo)
    run_mailbox_sync(sync_state_id=row(default, demo.seller1).pk)
    assert "old-thread@oldcustomer.example" not in {r.message_id_header for r in recorder.records("email")}

    default.details = {**default.details, "initial_sync_days": 365}
    default.save(update_fields=["details"])
    SyncState.objects.filter(connection=default).update(cursor="")
    run_mailbox_sync(sync_state_id=row(default, demo.seller1).pk)

    assert "old-thread@oldcustomer.example" in {r.message_id_header for r in recorder.records("email")}


# --- Tokens --------------------------------------------------------------------------------------
def test_an_expired_access_token_is_refreshed_and_written_back(sandbox, demo, recorder):
    own = sandbox_google_connection(sandbox, demo, user=demo.seller1)
    before = own.get_credentials()["access_token"]
    google_control.advance_clock(sandbox.state, 2 * 3600)  # every access token the sandbox issued expired

    result = run_mailbox_sync(sync_state_id=row(own, demo.seller1).pk)

    assert result.stopped == Stop.DONE, result.reason
    own.refresh_from_db()
    assert own.status == Connection.Status.CONNECTED
    assert own.get_credentials()["access_token"] != before


def test_a_refused_refresh_marks_the_connection_needs_reconnect_and_stops_its_syncs(
    sandbox, demo, recorder, monkeypatch
):
    own = sandbox_google_connection(sandbox, demo, user=demo.seller1)
    state = row(own, demo.seller1)
    google_control.revoke_refresh_tokens(sandbox.control, [SELLER1])
    google_control.advance_clock(sandbox.state, 2 * 3600)

    result = run_mailbox_sync(sync_state_id=state.pk)

    assert result.stopped == Stop.AUTH
    own.refresh_from_db()
    assert own.status == Connection.Status.NEEDS_RECONNECT and own.status_reason
    state.refresh_from_db()
    assert state.lease_owner == "" and state.last_error
    assert recorder.batches == []
    enqueued: list[int] = []
    monkeypatch.setattr(mailsync_tasks, "enqueue_sync", lambda pk, **kw: enqueued.append(pk))
    fanout.fan_out()
    assert enqueued == []


# --- Throttling, outages, retries ----------------------------------------------------------------
def test_a_429_reschedules_the_mailbox_after_its_retry_after(
    sandbox, demo, connection, recorder, monkeypatch
):
    state = row(connection, demo.seller1)
    sandbox.control.inject_fault(GMAIL, status=429, headers={"Retry-After": "120"}, times=None)

    result = run_mailbox_sync(sync_state_id=state.pk)

    assert result.stopped == Stop.THROTTLED
    state.refresh_from_db()
    wait = (state.next_run_at - timezone.now()).total_seconds()
    assert 110 < wait <= 120 and state.attempts == 1 and state.status == SyncState.Status.IDLE
    assert "slow down" in state.last_error
    # Not due: neither the fan-out nor an early follow-up runs it before then.
    enqueued: list[int] = []
    monkeypatch.setattr(mailsync_tasks, "enqueue_sync", lambda pk, **kw: enqueued.append(pk))
    fanout.fan_out()
    assert state.pk not in enqueued
    assert run_mailbox_sync(sync_state_id=state.pk).stopped == Stop.NOT_DUE

    sandbox.control.clear_faults()
    SyncState.objects.filter(pk=state.pk).update(next_run_at=timezone.now() - dt.timedelta(seconds=1))
    assert run_mailbox_sync(sync_state_id=state.pk).stopped == Stop.DONE
    state.refresh_from_db()
    assert state.attempts == 0 and state.last_error == "" and state.next_run_at is None


def test_outages_back_off_exponentially_then_the_mailbox_fails_with_its_reason(
    sandbox, demo, connection, recorder
):
    state = row(connection, demo.seller1)
    sandbox.control.inject_fault(GMAIL, status=503, times=None)
    waits = []

    for _ in range(4):
        result = run_mailbox_sync(sync_state_id=state.pk, force=True)
        assert result.stopped == Stop.UNAVAILABLE
        state.refresh_from_db()
        waits.append(round((state.next_run_at - timezone.now()).total_seconds() / 10) * 10)
    final = run_mailbox_sync(sync_state_id=state.pk, force=True)

    assert waits == [30, 60, 120, 240]
    assert final.stopped == Stop.FAILED
    state.refresh_from_db()
    assert state.status == SyncState.Status.FAILED and state.attempts == 5
    assert state.last_error.startswith("Failed 5 times in a row") and "unavailable" in state.last_error
    assert 3500 < (state.next_run_at - timezone.now()).total_seconds() <= 3600
    assert recorder.batches == []

    # An admin's "Retry now" clears the backoff; the provider is back.
    sandbox.control.clear_faults()
    sync_states.sync_state_retry_now(sync_state=state, actor=demo.admin)
    assert run_mailbox_sync(sync_state_id=state.pk).stopped == Stop.DONE
    state.refresh_from_db()
    assert state.status == SyncState.Status.IDLE and state.attempts == 0 and state.last_error == ""


def test_the_task_reschedules_itself_and_an_early_follow_up_does_nothing(
    sandbox, demo, connection, recorder, monkeypatch
):
    state = row(connection, demo.seller1)
    sandbox.control.inject_fault(GMAIL, status=503, headers={"Retry-After": "45"}, times=1)
    follow_ups: list[dict] = []
    monkeypatch.setattr(mailsync_tasks, "enqueue_sync", lambda pk, **kw: follow_ups.append({"pk": pk, **kw}))

    mailsync_tasks.sync_row(state.pk)

    assert len(follow_ups) == 1 and follow_ups[0]["pk"] == state.pk
    assert 40 < follow_ups[0]["countdown"] <= 45


# --- Cursors, leases, crashes --------------------------------------------------------------------
def customer_mail(count: int, *, prefix: str) -> list[dict]:
    return [
        {
            "mailbox": SELLER1,
            "from": "buyer@newcustomer.example",
            "to": [SELLER1],
            "subject": f"Order {prefix}-{n}",
            "body": "Let's talk next week.",
            "message_id": f"{prefix}-{n}@newcustomer.example",
        }
        for n in range(count)
    ]


def test_an_expired_cursor_starts_a_full_resync_without_duplicates(sandbox, demo, connection, recorder):
    state = row(connection, demo.seller1)
    first = run_mailbox_sync(sync_state_id=state.pk)
    stored = activities(demo)
    # Two new customer emails arrive, then Gmail forgets the history our cursor points into.
    google_control.add_messages(sandbox.control, customer_mail(2, prefix="after"))
    google_control.expire_history(sandbox.control, [SELLER1])

    again = run_mailbox_sync(sync_state_id=state.pk)

    assert again.stopped == Stop.DONE and again.full_sync and again.records == first.records + 2
    assert activities(demo) == (stored[0] + 2, stored[1] + 2)  # only the two new ones are new
    assert len(set(recorder.ids("email"))) == first.records + 2
    state.refresh_from_db()
    assert state.cursor and state.status == SyncState.Status.IDLE
    assert run_mailbox_sync(sync_state_id=state.pk).records == 0  # and incremental again


def test_two_dispatches_of_one_mailbox_never_run_at_once(sandbox, demo, connection, recorder):
    state = row(connection, demo.seller1)
    second: list[MailboxRunResult] = []

    def dispatch_again(context, records):
        if not second:  # while the first run is ingesting its first page
            second.append(run_mailbox_sync(sync_state_id=state.pk))

    register_ingest_handler("email", dispatch_again)
    try:
        first = run_mailbox_sync(sync_state_id=state.pk)
    finally:
        unregister_ingest_handler("email", dispatch_again)

    assert first.stopped == Stop.DONE
    assert second[0].stopped == Stop.BUSY and second[0].records == 0


class WorkerKilled(BaseException):
    """What a SIGKILL looks like from inside: nothing below catches it."""


def test_a_worker_killed_mid_sync_loses_and_duplicates_nothing(
    sandbox, demo, connection, recorder, monkeypatch
):
    google_control.add_messages(sandbox.control, customer_mail(1100, prefix="bulk"))  # three pages of 500
    state = row(connection, demo.seller1)
    pages: list[int] = []

    def die_on_the_second_page(context, records):
        pages.append(len(records))
        if len(pages) == 2:
            raise WorkerKilled

    register_ingest_handler("email", die_on_the_second_page)
    try:
        with pytest.raises(WorkerKilled):
            run_mailbox_sync(sync_state_id=state.pk)
    finally:
        unregister_ingest_handler("email", die_on_the_second_page)
    state.refresh_from_db()
    assert state.status == SyncState.Status.RUNNING and state.cursor  # page 1 is committed
    after_page_one = activities(demo)
    assert after_page_one[0] >= 500

    # Later the lease lapses; the next fan-out frees the row and enqueues it again.
    SyncState.objects.filter(pk=state.pk).update(lease_expires_at=timezone.now() - dt.timedelta(seconds=1))
    enqueued: list[int] = []
    monkeypatch.setattr(mailsync_tasks, "enqueue_sync", lambda pk, **kw: enqueued.append(pk))
    fanout.fan_out()
    assert state.pk in enqueued
    rerun = run_mailbox_sync(sync_state_id=state.pk)

    assert rerun.stopped == Stop.DONE
    assert rerun.records < len(set(recorder.ids("email")))  # it resumed after page 1
    bulk = Activity.objects.filter(organization=demo.org, subject__startswith="Order bulk-")
    assert bulk.count() == 1100  # nothing lost (page 2 was rolled back, then ingested once)
    assert bulk.values("subject").distinct().count() == 1100  # nothing duplicated
    total = activities(demo)
    # A full resync of the same mailbox finds nothing new to store.
    google_control.add_messages(sandbox.control, customer_mail(1, prefix="late"))
    google_control.expire_history(sandbox.control, [SELLER1])
    assert run_mailbox_sync(sync_state_id=state.pk).full_sync
    assert activities(demo) == (total[0] + 1, total[1] + 1)


def test_a_row_stuck_running_for_hours_is_recovered_by_the_fan_out(
    sandbox, demo, connection, recorder, monkeypatch
):
    state = row(connection, demo.seller1)
    two_hours_ago = timezone.now() - dt.timedelta(hours=2)
    SyncState.objects.filter(pk=state.pk).update(
        status=SyncState.Status.RUNNING,
        lease_owner="mailsync:dead-worker",
        lease_expires_at=two_hours_ago + dt.timedelta(minutes=15),
        updated_at=two_hours_ago,
    )
    enqueued: list[int] = []
    monkeypatch.setattr(mailsync_tasks, "enqueue_sync", lambda pk, **kw: enqueued.append(pk))

    fanout.fan_out()

    assert state.pk in enqueued
    state.refresh_from_db()
    assert state.status == SyncState.Status.IDLE and state.lease_owner == ""
    assert run_mailbox_sync(sync_state_id=state.pk).stopped == Stop.DONE


def test_a_live_run_is_not_taken_over_by_the_fan_out(sandbox, demo, connection, monkeypatch):
    state = row(connection, demo.seller1)
    assert sync_states.sync_state_lease_acquire(sync_state=state, owner="mailsync:alive", ttl_seconds=900)
    enqueued: list[int] = []
    monkeypatch.setattr(mailsync_tasks, "enqueue_sync", lambda pk, **kw: enqueued.append(pk))

    fanout.fan_out()

    assert state.pk not in enqueued
    state.refresh_from_db()
    assert state.status == SyncState.Status.RUNNING and state.lease_owner == "mailsync:alive"


# --- Gmail's per-user quota ----------------------------------------------------------------------
def test_gmail_quota_enforced_by_the_sandbox_is_respected_without_a_storm_of_429s(
    sandbox, demo, connection, recorder, settings
):
    # An older Google project: 250 units per user per second; messages.get costs 5 units.
    settings.GMAIL_USER_QUOTA = "250/1"
    google_control.set_gmail_quota(sandbox.control, units=250, per_seconds=1)
    google_control.add_messages(sandbox.control, customer_mail(100, prefix="quota"))
    sandbox.control.clear_requests()
    state = row(connection, demo.seller1)

    runs = []
    for _ in range(10):  # throttled runs are rescheduled; each run carries on from its cursor
        runs.append(run_mailbox_sync(sync_state_id=state.pk, force=True))
        if runs[-1].stopped == Stop.DONE:
            break

    assert runs[-1].stopped == Stop.DONE, [r.reason for r in runs]
    throttled = [e for e in sandbox.control.requests("/google/") if e["status"] == 429]
    assert len(throttled) <= 2
    assert Activity.objects.filter(organization=demo.org, subject__startswith="Order quota-").count() == 100


# --- Provider scope, refreshed hourly --------------------------------------------------------------
def test_the_fan_out_refreshes_the_providers_scope_at_most_hourly(sandbox, demo, monkeypatch):
    scoped = sandbox_google_connection(
        sandbox,
        demo,
        scope={"kind": "group", "key": "sales@demo.example", "name": "Sales"},
        scope_members=[],  # stale: read before the sellers joined the group
        scope_checked_at=(timezone.now() - dt.timedelta(hours=2)).isoformat(),
    )
    enqueued: list[int] = []
    monkeypatch.setattr(mailsync_tasks, "enqueue_sync", lambda pk, **kw: enqueued.append(pk))

    fanout.fan_out()

    scoped.refresh_from_db()
    assert scoped.details["scope_members"] == ["seller1@demo.example", "seller2@demo.example"]
    users = set(SyncState.objects.filter(pk__in=enqueued).values_list("user__email", flat=True))
    assert users == {"seller1@demo.example", "seller2@demo.example"}  # the admin is outside the group

    google_control.clear_api_calls(sandbox.state)
    fanout.fan_out()
    assert not any(method.startswith("directory.") for method in google_control.api_calls(sandbox.state))


def test_the_workspaces_verified_domains_are_read_again_hourly_without_a_scope(sandbox, demo, connection):
    google_control.add_domain_alias(sandbox.state, "demo-co.example", verified=True)

    fanout.due_states(connection)  # read at connect, less than an hour ago: not read again
    assert connection.details["verified_domains"] == ["demo.example"]
    fanout.due_states(connection, now=timezone.now() + fanout.DIRECTORY_REFRESH)

    connection.refresh_from_db()
    assert "scope" not in connection.details
    assert connection.details["verified_domains"] == ["demo-co.example", "demo.example"]
