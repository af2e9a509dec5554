"""The Salesforce sync (G5, G6, G14) against the sandbox: incremental passes on SystemModstamp,
deletions, the API budget, failures and leases, the 5-minute fan-out and the historical poll.

Records land in ``MemoryHandler`` (sync_helpers), the tests' own consumer; every provider call goes
through the real client to the sandbox over loopback."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from integrations import dispatcher
from integrations.dispatcher import dispatch_syncs
from integrations.http import ProviderSession
from integrations.models import Connection, SyncState
from integrations.salesforce.auth import revoke_token
from integrations.salesforce.client import SalesforceClient
from integrations.salesforce.fetch import common, fanout, poll
from integrations.salesforce.fetch import source as sync
from integrations.sandbox.salesforce import control
from integrations.sync import states as sync_states
from integrations.sync import tasks as sync_tasks
from integrations.sync.policy import RUN_EXPIRES_SECONDS
from tests.integrations.salesforce.conftest import sandbox_connection
from tests.integrations.salesforce.sync_helpers import (
    REST,
    Killed,
    LinkingHandler,
    MemoryHandler,
    add_leads,
    calls,
    expire_lease,
    make_due,
    new_leads,
    run,
    sync_gap,
)


@contextmanager
def installed(handler: MemoryHandler) -> Iterator[MemoryHandler]:
    """``handler`` as the sync's handler (in place of Engage's) while the block runs."""
    previous = common.registered_handler()
    common.register_handler(handler)
    try:
        yield handler
    finally:
        if previous is None:
            common.unregister_handler()
        else:
            common.register_handler(previous)


@pytest.fixture
def handler() -> Iterator[MemoryHandler]:
    with installed(LinkingHandler()) as linking:
        yield linking


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """200-record pages (Salesforce's smallest batch), so a few thousand records make many pages."""
    monkeypatch.setattr(sync, "BATCH_SIZE", 200)
    monkeypatch.setattr(poll, "BATCH_SIZE", 200)


@pytest.fixture
def leads(connection: Connection, handler: MemoryHandler) -> SyncState:
    """Acme's Lead sync after its first run (watermark set) and one pass; handler counts reset."""
    state = sync_states.sync_state_get_or_create(connection=connection, object_name="Lead")
    assert run(state).stopped == "done"
    assert run(state).stopped == "done"
    handler.reset_counts()
    state.refresh_from_db()
    return state


def newest_modstamp(connection: Connection, sobject: str = "Lead") -> dt.datetime:
    with SalesforceClient(connection) as client:
        row = client.query(f"SELECT SystemModstamp FROM {sobject} ORDER BY SystemModstamp DESC LIMIT 1")
    return dt.datetime.fromisoformat(row["records"][0]["SystemModstamp"])


# --- Incremental passes --------------------------------------------------------------------------
def test_the_first_run_starts_at_the_newest_change_without_delivering_history(sf, connection, handler):
    state = sync_states.sync_state_get_or_create(connection=connection, object_name="Lead")

    result = run(state)

    state.refresh_from_db()
    assert (result.stopped, result.received, result.api_calls) == ("done", 0, 1)
    assert dt.datetime.fromisoformat(state.cursor) == newest_modstamp(connection)
    assert state.deleted_cursor == state.cursor
    assert (state.status, state.last_error) == ("idle", "")
    assert state.last_success_at is not None and state.lease_owner == ""


def test_it_picks_up_created_and_updated_records(sf, leads, handler):
    created = new_leads(sf, 3)
    existing = next(i for (_, i) in handler.rows)
    control.update_record(sf.state, "Lead", existing, {"Title": "Chief Sync Officer"})

    result = run(leads)

    assert set(created) <= set(handler.created)
    assert handler.rows[("Lead", existing)][1]["Title"] == "Chief Sync Officer"
    assert result.updated >= 1 and result.created >= 3
    control.advance_clock(sf.state, 1)
    control.update_record(sf.state, "Lead", created[0], {"Title": "VP of Sales"})
    again = run(leads)
    assert again.updated >= 1
    assert handler.rows[("Lead", created[0])][1]["Title"] == "VP of Sales"
    leads.refresh_from_db()
    assert leads.stats["last_run"]["updated"] == again.updated
    assert leads.stats["last_run"]["api_calls"] == again.api_calls == 1


def test_records_sharing_the_watermark_second_are_not_missed(sf, leads, handler, small_pages):
    ids = new_leads(sf, 1000, per_second=300)  # page breaks fall inside a second

    run(leads)

    assert set(ids) <= set(handler.created)
    assert len(handler.created) == len(set(handler.created))
    leads.refresh_from_db()
    # More records stamped with the watermark's very second, committed after we read it.
    same_second = add_leads(sf, 3, SystemModstamp=leads.cursor)
    run(leads)
    assert set(same_second) <= set(handler.created)


def test_a_late_committed_record_inside_the_lookback_is_picked_up(sf, leads, handler):
    watermark = dt.datetime.fromisoformat(leads.cursor)
    late = add_leads(sf, 1, SystemModstamp=(watermark - dt.timedelta(minutes=5)).isoformat())
    too_late = add_leads(sf, 1, SystemModstamp=(watermark - dt.timedelta(minutes=15)).isoformat())

    run(leads)

    assert late[0] in handler.created
    assert too_late[0] not in handler.created  # older than the 600 s lookback: the poll's job


def test_redelivery_is_a_no_op(sf, leads, handler):
    ids = new_leads(sf, 5)
    first = run(leads)
    rows = dict(handler.rows)

    second = run(leads)  # the lookback hands the same records over again

    assert first.created >= 5
    assert (second.created, second.updated) == (0, 0) and second.unchanged >= 5
    assert handler.deliveries[ids[0]] == 2
    assert handler.rows == rows


def test_records_deleted_in_salesforce_are_unlinked_by_the_same_query(sf, leads, handler):
    handler.rules["Lead"] = "Title LIKE '%Sales%'"
    ids = new_leads(sf, 6)
    run(leads)
    control.delete_record(sf.state, "Lead", ids[0])
    control.delete_record(sf.state, "Lead", ids[1])
    before = calls(sf)

    result = run(leads)

    # Unlinked whether or not they matched the rule: a lookup may have linked them.
    assert set(ids[:2]) <= set(handler.unlinked)
    assert ("Lead", ids[0]) not in handler.rows and ("Lead", ids[1]) not in handler.rows
    assert calls(sf) - before == Counter({"queryAll": 1})
    assert result.api_calls == 1


def test_an_idle_cycle_costs_one_api_call_per_object(sf, connection, handler):
    states = [
        sync_states.sync_state_get_or_create(connection=connection, object_name=o)
        for o in ("Lead", "Contact")
    ]
    for state in states:
        run(state)  # watermark
        run(state)  # first pass: the describe is fetched and cached
    before = calls(sf)

    results = [run(state) for state in states]

    assert [r.stopped for r in results] == ["done", "done"]
    assert calls(sf) - before == Counter({"queryAll": 2})
    assert [r.api_calls for r in results] == [1, 1]


def test_the_daily_delete_log_check_carries_on_from_its_latest_date_covered(sf, leads, handler):
    ids = new_leads(sf, 2)
    run(leads)
    control.delete_record(sf.state, "Lead", ids[0])
    control.advance_clock(sf.state, 120)
    a_day_ago = (timezone.now() - dt.timedelta(days=1, minutes=1)).isoformat()
    SyncState.objects.filter(pk=leads.pk).update(stats={**leads.stats, "deleted_checked_at": a_day_ago})
    old_start = dt.datetime.fromisoformat(leads.deleted_cursor)
    before = calls(sf)

    result = run(leads)

    assert calls(sf) - before == Counter({"queryAll": 1, "deleted": 1})
    assert set(handler.unlinked) == {ids[0]}  # the log may list it again: unlinking is idempotent
    assert result.full_reconcile is False
    leads.refresh_from_db()
    covered = dt.datetime.fromisoformat(leads.deleted_cursor)
    assert covered > old_start and covered.second == 0  # getDeleted covers whole minutes
    assert run(leads).api_calls == 1  # checked: not again before tomorrow


def test_a_purged_delete_log_schedules_a_full_reconcile(sf, leads, handler):
    ids = new_leads(sf, 5)
    run(leads)
    control.delete_record(sf.state, "Lead", ids[0])
    control.purge_delete_log(sf.state)  # the recycle bin was emptied: the deletion left no trace
    control.advance_clock(sf.state, 300)
    sync_gap(leads)  # and the sync was down meanwhile
    before = calls(sf)

    result = run(leads)

    assert result.full_reconcile is True
    assert handler.unlinked == [ids[0]]
    assert ("Lead", ids[1]) in handler.rows
    spent = calls(sf) - before
    assert (spent["queryAll"], spent["deleted"], spent["query"], spent["query_more"]) == (
        1,
        1,
        1,
        1,
    )  # 3,005 ids
    leads.refresh_from_db()
    assert "reconcile_due" not in leads.stats
    assert dt.datetime.fromisoformat(leads.deleted_cursor) > dt.datetime.fromisoformat(
        leads.cursor
    ) - dt.timedelta(minutes=10)
    sync_gap(leads)
    assert run(leads).full_reconcile is False  # the log reaches back again


def test_without_linked_ids_the_reconcile_is_skipped_and_logged(sf, connection, caplog):
    with installed(MemoryHandler()):
        state = sync_states.sync_state_get_or_create(connection=connection, object_name="Lead")
        run(state)
        control.purge_delete_log(sf.state)
        control.advance_clock(sf.state, 300)
        sync_gap(state)

        result = run(state)

    assert result.stopped == "done" and result.full_reconcile is False
    assert "salesforce.sync.reconcile_unsupported" in caplog.text
    state.refresh_from_db()
    assert "reconcile_due" not in state.stats


# --- The API budget (G14) ------------------------------------------------------------------------
def test_the_sync_pauses_before_the_org_passes_80_percent_and_resumes_later(sf, leads, handler, small_pages):
    ids = new_leads(sf, 3000, per_second=100)
    control.set_api_limit(sf.state, max=1000, remaining=210)  # 79 % used

    first = run(leads)

    assert first.stopped == "budget" and "80%" in first.reason
    assert control.api_usage(sf.state) == (800, 1000)  # never past 80 %
    leads.refresh_from_db()
    assert leads.status == "paused" and "80%" in leads.last_error
    assert leads.next_run_at > timezone.now() + dt.timedelta(minutes=25)
    assert 0 < len(handler.created) < 3000
    before = calls(sf)
    assert run(leads).stopped == "not_due"
    assert calls(sf) == before

    make_due(leads)
    still = run(leads)  # due again, but the org is still at 80 %: one /limits to find out
    assert still.stopped == "budget"
    assert calls(sf) - before == Counter({"limits": 1})

    control.set_api_limit(sf.state, max=100_000)  # the allocation went up
    make_due(leads)
    resumed = run(leads)
    assert resumed.stopped == "done"
    assert set(ids) <= set(handler.created) and len(handler.created) == len(set(handler.created))
    leads.refresh_from_db()
    assert (leads.status, leads.last_error, leads.next_run_at) == ("idle", "", None)


def test_a_run_spends_at_most_a_quarter_of_the_daily_allocation(sf, leads, handler, small_pages):
    ids = new_leads(sf, 3000, per_second=100)
    control.set_api_limit(sf.state, max=40, remaining=40)

    first = run(leads)

    assert first.stopped == "budget" and "25%" in first.reason
    assert first.api_calls == 10
    leads.refresh_from_db()
    assert (leads.status, leads.next_run_at) == ("idle", None)  # not paused: the next cycle continues
    second = run(leads)
    assert second.stopped == "done" and second.api_calls <= 10
    assert set(ids) <= set(handler.created) and len(handler.created) == len(set(handler.created))


# --- Failures ------------------------------------------------------------------------------------
def test_an_expired_session_is_refreshed_once_and_the_run_carries_on(sf, leads, handler):
    ids = new_leads(sf, 3)
    control.expire_access_tokens(sf.state)
    sf.control.clear_requests()

    result = run(leads)

    assert result.stopped == "done" and set(ids) <= set(handler.created)
    assert len(sf.control.requests("/services/oauth2/token")) == 1


def test_a_refused_refresh_stops_the_sync_until_an_admin_reconnects(
    sf, leads, handler, connection, owner_client, monkeypatch
):
    revoke_token(connection.get_credentials()["refresh_token"])  # e.g. an admin revoked Cadence

    result = run(leads)

    assert result.stopped == "auth"
    connection.refresh_from_db()
    leads.refresh_from_db()
    assert connection.status == "needs_reconnect"
    assert leads.status == "failed" and "refresh token" in leads.last_error
    page = owner_client.get(reverse("integrations:catalog")).content.decode()
    assert "Needs reconnect" in page and ">Reconnect</button>" in page
    enqueued: list[dict] = []
    monkeypatch.setattr(sync_tasks.sync_row, "apply_async", lambda **kw: enqueued.append(kw))
    assert fanout.fan_out() == 0 and enqueued == []


@pytest.mark.parametrize(
    ("status", "headers", "countdown"),
    [(503, None, 60.0), (503, {"Retry-After": "120"}, 120.0), (500, None, 60.0)],
)
def test_an_outage_makes_the_task_retry_with_backoff(
    sf, leads, handler, monkeypatch, status, headers, countdown
):
    ids = new_leads(sf, 3)
    countdowns: list[float] = []
    enqueue = sync_tasks.enqueue_sync

    def spy(*args: Any, **kwargs: Any) -> Any:
        countdowns.append(kwargs["countdown"])
        return enqueue(*args, **kwargs)

    monkeypatch.setattr(sync_tasks, "enqueue_sync", spy)
    sf.control.inject_fault(REST + "queryAll", status=status, headers=headers)

    # Eager, not propagating: the retry is applied at once instead of raised.
    sync_tasks.sync_row.apply(kwargs={"sync_state_id": leads.pk}, throw=False)

    assert countdowns == [countdown]
    assert set(ids) <= set(handler.created)
    leads.refresh_from_db()
    assert (leads.status, leads.attempts, leads.last_error) == ("idle", 0, "")


def test_an_outage_is_recorded_on_the_row(sf, leads, handler):
    sf.control.inject_fault(REST + "queryAll", status=503)

    result = run(leads)

    assert result.stopped == "unavailable"
    leads.refresh_from_db()
    assert leads.attempts == 1 and leads.last_error and leads.lease_owner == ""
    assert leads.next_run_at > timezone.now() + dt.timedelta(seconds=50)
    assert (
        sync.backoff_seconds(0) == 60 and sync.backoff_seconds(3) == 480 and sync.backoff_seconds(20) == 1800
    )


def test_a_salesforce_that_does_not_answer_is_an_outage(sf, leads, handler, monkeypatch):
    init = ProviderSession.__init__
    monkeypatch.setattr(ProviderSession, "__init__", lambda self, *, timeout=None: init(self, timeout=0.3))
    sf.control.inject_fault(REST + "queryAll", delay_seconds=1.5)

    result = run(leads)

    assert result.stopped == "unavailable" and "Timeout" in result.reason
    leads.refresh_from_db()
    assert (leads.status, leads.attempts) == ("idle", 1)


def test_the_task_does_not_retry_a_refused_login(sf, leads, handler, connection, monkeypatch):
    revoke_token(connection.get_credentials()["refresh_token"])
    retried: list[Any] = []
    monkeypatch.setattr(sync_tasks, "enqueue_sync", lambda *a, **kw: retried.append(kw))

    answer = sync_tasks.sync_row.apply(kwargs={"sync_state_id": leads.pk}).get()

    assert answer["stopped"] == "auth" and retried == []


LIMIT_BODY = [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]


@pytest.mark.parametrize(("status", "body"), [(403, None), (429, LIMIT_BODY), (429, None)])
def test_salesforce_saying_slow_down_pauses_the_sync_until_later(sf, leads, handler, status, body):
    ids = new_leads(sf, 3)
    sf.control.inject_fault(REST + "queryAll", status=status, body=body)

    result = run(leads)

    assert result.stopped == "throttled"
    leads.refresh_from_db()
    assert leads.status == "paused" and leads.last_error
    assert leads.next_run_at > timezone.now() + dt.timedelta(minutes=4)
    before = calls(sf)
    assert run(leads).stopped == "not_due" and calls(sf) == before
    make_due(leads)
    assert run(leads).stopped == "done"
    assert set(ids) <= set(handler.created)
    assert Connection.objects.get(pk=leads.connection_id).status == "connected"


def test_the_task_reschedules_a_throttled_run_at_its_retry_after(sf, leads, handler, monkeypatch):
    countdowns: list[float] = []
    enqueue = sync_tasks.enqueue_sync
    monkeypatch.setattr(
        sync_tasks,
        "enqueue_sync",
        lambda *a, **kw: countdowns.append(kw["countdown"]) or enqueue(*a, **kw),
    )
    sf.control.inject_fault(REST + "queryAll", status=403)

    sync_tasks.sync_row.apply(kwargs={"sync_state_id": leads.pk}, throw=False)

    assert countdowns == [900]  # the eager retry then finds the row not due and leaves it paused
    leads.refresh_from_db()
    assert leads.status == "paused"


def test_a_rule_the_handler_refuses_stops_the_sync_with_its_reason(sf, leads, handler):
    handler.broken_rule = "The Lead sync rule no longer fits Salesforce."

    result = run(leads)

    assert (result.stopped, result.reason) == ("error", "The Lead sync rule no longer fits Salesforce.")
    leads.refresh_from_db()
    assert leads.status == "failed" and leads.last_error == result.reason and leads.lease_owner == ""
    handler.broken_rule = ""
    before = calls(sf)
    assert run(leads).stopped == "done"
    assert calls(sf) - before == Counter({"describe": 1, "queryAll": 1})  # described afresh


def test_a_query_salesforce_refuses_is_an_error_on_the_row(sf, leads, handler):
    handler.rules["Lead"] = "Nonsense__c = 'x'"

    result = run(leads)

    assert result.stopped == "error" and "Nonsense__c" in result.reason
    leads.refresh_from_db()
    assert (leads.status, leads.attempts) == ("failed", 1)


# --- Leases --------------------------------------------------------------------------------------
def test_two_runs_never_sync_the_same_object_at_once(sf, leads, handler):
    new_leads(sf, 3)
    inner: list[common.SyncRunResult] = []

    def second_dispatch(records: Any) -> None:
        if not inner:
            inner.append(run(leads))

    handler.on_apply = second_dispatch

    outer = run(leads)

    assert outer.stopped == "done"
    assert inner[0].stopped == "busy" and inner[0].api_calls == 0


def test_a_run_killed_mid_way_loses_and_duplicates_nothing(sf, leads, handler, small_pages):
    ids = new_leads(sf, 1000, per_second=30)
    pages: list[int] = []

    def die_on_the_third_page(records: Any) -> None:
        pages.append(len(records))
        if len(pages) == 3:
            raise Killed

    handler.on_apply = die_on_the_third_page
    with pytest.raises(Killed):
        run(leads)
    leads.refresh_from_db()
    assert leads.lease_owner and leads.lease_expires_at > timezone.now()  # left held, as kill -9 would
    assert run(leads).stopped == "busy"

    handler.on_apply = None
    expire_lease(leads)
    result = run(leads)

    assert result.stopped == "done"
    assert set(ids) <= set(handler.created)
    assert len(handler.created) == len(set(handler.created))
    assert max(handler.deliveries[i] for i in ids) == 1  # committed pages are not redone
    leads.refresh_from_db()
    assert leads.lease_owner == "" and "resume" not in leads.stats


# --- The 5-minute fan-out ------------------------------------------------------------------------
@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    sent: list[dict] = []
    monkeypatch.setattr(sync_tasks.sync_row, "apply_async", lambda **kw: sent.append(kw))
    return sent


def test_the_dispatcher_enqueues_one_run_per_connection_and_object(
    sf, connection, handler, enqueued, globex, outsider
):
    other = sandbox_connection(sf, globex, outsider)

    counts = dispatch_syncs.delay().get()

    assert counts["salesforce"] == 4
    states = SyncState.objects.filter(connection__in=[connection, other])
    assert sorted((s.connection_id, s.object_name) for s in states) == sorted(
        (c.pk, o) for c in (connection, other) for o in ("Contact", "Lead")
    )
    assert sorted(kw["kwargs"]["sync_state_id"] for kw in enqueued) == sorted(s.pk for s in states)
    assert {kw["expires"] for kw in enqueued} == {RUN_EXPIRES_SECONDS}


def test_nothing_is_enqueued_while_sync_is_off(sf, connection, handler, enqueued, acme):
    handler.disabled_orgs.add(acme.pk)

    assert dispatcher.dispatch_all()["salesforce"] == 0
    assert enqueued == []
    state = sync_states.sync_state_get_or_create(connection=connection, object_name="Lead")
    assert run(state).stopped == "disabled"


def test_rows_paused_until_later_or_being_synced_are_skipped(sf, connection, handler, enqueued):
    lead = sync_states.sync_state_get_or_create(connection=connection, object_name="Lead")
    contact = sync_states.sync_state_get_or_create(connection=connection, object_name="Contact")
    SyncState.objects.filter(pk=lead.pk).update(
        status="paused", next_run_at=timezone.now() + dt.timedelta(minutes=9)
    )
    sync_states.sync_state_lease_acquire(sync_state=contact, owner="another-worker")

    assert fanout.fan_out() == 0

    make_due(lead)
    assert fanout.fan_out() == 1
    assert enqueued[0]["kwargs"] == {"sync_state_id": lead.pk}


# --- The historical poll (G6) --------------------------------------------------------------------
def test_the_poll_pages_every_record_matching_the_rule(sf, connection, handler, small_pages):
    handler.rules["Lead"] = "Title LIKE '%Sales%'"
    progress: list[tuple[int, int, int]] = []

    result = poll.run_poll(
        connection=connection,
        object_name="Lead",
        on_progress=lambda done, total, batch, last_id: progress.append((done, total, batch.created)),
    )

    with SalesforceClient(connection) as client:
        pages = client.query_pages("SELECT Id FROM Lead WHERE Title LIKE '%Sales%'")
        expected = {r["Id"] for page in pages for r in page}
    assert result.stopped == "done"
    assert set(handler.created) == expected and len(handler.created) == len(expected)
    assert result.total == result.created == len(expected)
    assert len(progress) == result.pages > 1
    assert progress[-1][:2] == (len(expected), len(expected))
    state = SyncState.objects.get(connection=connection, object_name="Lead")
    assert dt.datetime.fromisoformat(state.cursor) == newest_modstamp(connection)


def test_a_poll_stops_between_pages_when_cancelled(sf, connection, handler, small_pages):
    result = poll.run_poll(connection=connection, object_name="Lead", should_cancel=lambda: True)

    assert result.stopped == "cancelled" and result.pages == 1
    assert len(handler.created) == 200
    assert not SyncState.objects.filter(connection=connection, object_name="Lead").exists()


def test_the_incremental_sync_carries_on_from_the_poll(sf, connection, handler):
    poll.run_poll(connection=connection, object_name="Lead")
    ids = new_leads(sf, 3)
    state = SyncState.objects.get(connection=connection, object_name="Lead")

    result = run(state)

    assert result.stopped == "done" and result.api_calls == 1  # the poll cached the describe
    assert set(ids) <= set(handler.created)
