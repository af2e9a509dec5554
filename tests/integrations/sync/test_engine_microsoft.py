"""The same engine over Microsoft Graph (the real Microsoft adapter, the sandbox's Graph): one
engine for both providers — delta cursors, 429 with Retry-After, a mailbox outside the
application access policy failing alone."""

from __future__ import annotations

import pytest
from django.utils import timezone

from copilot.models import Activity
from integrations import selectors
from integrations.microsoft import auth
from integrations.microsoft.fetch import delta
from integrations.models import Connection, SyncState
from integrations.sandbox.microsoft import control as ms_control
from integrations.sync import fanout
from integrations.sync import states as sync_states
from integrations.sync import tasks as mailsync_tasks
from integrations.sync.engine import Stop
from integrations.sync.engine import run as run_mailbox_sync
from tests.factories import UserFactory
from tests.integrations.sync.mailbox_helpers import ADMIN, SELLER2, microsoft_connection


@pytest.fixture(autouse=True)
def _fresh_microsoft_caches():
    auth.reset_caches()
    delta.reset_batch_support()
    yield
    auth.reset_caches()
    delta.reset_batch_support()


@pytest.fixture
def microsoft(sandbox, settings, demo) -> Connection:
    """Demo Co's admin-managed connection to its tenant, as after the admin consent."""
    return microsoft_connection(sandbox, settings, demo)


def row(connection: Connection, user, kind: str = "email") -> SyncState:
    [state] = sync_states.mailbox_sync_states_ensure(
        connection=connection, wanted=[(user.pk, kind, f"{kind}:{user.email}")]
    )
    return state


def test_outlook_mail_syncs_through_the_same_engine_and_an_idle_round_is_one_call(
    sandbox, demo, microsoft, recorder
):
    state = row(microsoft, demo.seller1)

    first = run_mailbox_sync(sync_state_id=state.pk)
    assert first.stopped == Stop.DONE, first.reason
    assert first.full_sync and first.records > 0
    assert Activity.objects.filter(organization=demo.org).exists()

    idle = run_mailbox_sync(sync_state_id=state.pk)

    assert idle.stopped == Stop.DONE and idle.records == 0 and idle.api_calls == 1


def test_a_graph_429_reschedules_the_mailbox_after_its_retry_after(sandbox, demo, microsoft, recorder):
    state = row(microsoft, demo.seller1)
    ms_control.inject_graph_fault(
        sandbox.control, r"/users/[^/]+/", status=429, headers={"Retry-After": "90"}, times=None
    )

    result = run_mailbox_sync(sync_state_id=state.pk)

    assert result.stopped == Stop.THROTTLED, result.reason
    state.refresh_from_db()
    assert 80 < (state.next_run_at - timezone.now()).total_seconds() <= 90
    assert state.attempts == 1


def test_a_mailbox_outside_the_access_policy_fails_alone(sandbox, demo, microsoft, recorder, monkeypatch):
    ms_control.restrict_to_group(sandbox.control, "Cadence sellers")
    enqueued: list[int] = []
    monkeypatch.setattr(mailsync_tasks, "enqueue_sync", lambda pk, **kw: enqueued.append(pk))
    fanout.fan_out()
    states = {s.object_name: s for s in SyncState.objects.filter(pk__in=enqueued)}

    outside = run_mailbox_sync(sync_state_id=states[f"email:{ADMIN}"].pk)
    inside = run_mailbox_sync(sync_state_id=states[f"email:{SELLER2}"].pk)

    assert outside.stopped == Stop.FAILED and "refused" in outside.reason
    failed = SyncState.objects.get(pk=states[f"email:{ADMIN}"].pk)
    assert (
        failed.status == SyncState.Status.FAILED
        and (failed.next_run_at - timezone.now()).total_seconds() > 3500
    )
    assert inside.stopped == Stop.DONE
    microsoft.refresh_from_db()
    assert microsoft.status == Connection.Status.CONNECTED


# --- The hourly refresh of the tenant's directory (unscoped tenants too) ---------------------------
def mailboxes(connection: Connection) -> set[str]:
    return {m.address for m in selectors.eligible_mailboxes(connection=connection, app="email")}


def test_a_new_hire_becomes_eligible_after_the_hourly_refresh_without_a_scope(sandbox, demo, microsoft):
    newcomer = "new.hire@demo.example"
    UserFactory(organization=demo.org, email=newcomer)
    sandbox.control.seed("microsoft", {"users": [{"user_principal_name": newcomer}]})
    assert "scope" not in microsoft.details and newcomer not in mailboxes(microsoft)

    fanout.due_states(microsoft)  # checked at connect, less than an hour ago: not read again
    assert newcomer not in mailboxes(microsoft)
    fanout.due_states(microsoft, now=timezone.now() + fanout.DIRECTORY_REFRESH)

    microsoft.refresh_from_db()
    assert newcomer in microsoft.details["tenant_members"]
    assert newcomer in mailboxes(microsoft)


def test_a_leaver_stops_being_eligible_after_the_hourly_refresh(sandbox, demo, microsoft):
    assert SELLER2 in mailboxes(microsoft)
    sandbox.control.seed("microsoft", {"remove_users": [SELLER2]})

    states = fanout.due_states(microsoft, now=timezone.now() + fanout.DIRECTORY_REFRESH)

    microsoft.refresh_from_db()
    assert SELLER2 not in microsoft.details["tenant_members"]
    assert SELLER2 not in mailboxes(microsoft)
    assert not any(state.object_name.endswith(SELLER2) for state in states)


def test_a_failed_directory_refresh_keeps_what_was_known(sandbox, demo, microsoft):
    ms_control.inject_graph_fault(sandbox.control, r"/users$", status=503)

    fanout.due_states(microsoft, now=timezone.now() + fanout.DIRECTORY_REFRESH)

    microsoft.refresh_from_db()
    assert microsoft.status == Connection.Status.CONNECTED
    assert SELLER2 in mailboxes(microsoft)
