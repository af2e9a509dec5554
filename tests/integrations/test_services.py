"""integrations.services: disconnecting (best-effort revocation), the health transitions with
their audit trail, and the sync-state lease."""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading

import pytest
from django.db import DatabaseError, close_old_connections
from django.utils import timezone

from copilot.models import AuditEvent, User
from copilot.services.users import user_delete
from integrations import services
from integrations.models import Connection, SyncState
from integrations.sync import states as sync_states
from tests.integrations.salesforce.factories import ConnectionFactory, SyncStateFactory

UNREACHABLE = "https://127.0.0.1:9"  # the discard port: nothing listens, the connect fails fast


@pytest.fixture
def unreachable_salesforce(settings):
    settings.SALESFORCE_LOGIN_URL = UNREACHABLE


def test_disconnect_wipes_credentials_and_sync_state_even_when_revoking_fails(
    acme, owner, unreachable_salesforce, caplog
):
    conn = ConnectionFactory(organization=acme)
    SyncStateFactory(connection=conn)
    caplog.set_level(logging.INFO)

    services.connection_disconnect(connection=conn, actor=owner)

    conn.refresh_from_db()
    assert conn.status == Connection.Status.DISCONNECTED
    assert conn.credentials in ("", None)
    assert not SyncState.objects.filter(connection=conn).exists()
    assert "integration.revoke_failed" in caplog.messages
    assert AuditEvent.objects.filter(organization=acme, action="integration.disconnected").count() == 1


def test_disconnecting_twice_audits_once(acme, owner, unreachable_salesforce):
    conn = ConnectionFactory(organization=acme)

    services.connection_disconnect(connection=conn, actor=owner)
    services.connection_disconnect(connection=conn, actor=owner)

    assert AuditEvent.objects.filter(action="integration.disconnected").count() == 1


def test_deleting_a_user_removes_their_own_connections_even_when_revoking_fails(
    acme, owner, teammate, unreachable_salesforce
):
    own = ConnectionFactory(organization=acme, scope=Connection.Scope.USER, user=teammate)
    org_wide = ConnectionFactory(organization=acme, connected_by=teammate)

    user_delete(user=teammate, actor=owner)

    assert not Connection.objects.filter(pk=own.pk).exists()
    org_wide.refresh_from_db()
    assert org_wide.status == Connection.Status.CONNECTED  # the organisation's, not the user's
    assert org_wide.connected_by is None


def test_a_database_failure_while_disconnecting_aborts_the_user_deletion(
    acme, owner, teammate, unreachable_salesforce, monkeypatch
):
    ConnectionFactory(organization=acme, scope=Connection.Scope.USER, user=teammate)

    def broken(**kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(services, "connection_disconnect", broken)
    with pytest.raises(DatabaseError):
        user_delete(user=teammate, actor=owner)

    assert User.objects.filter(pk=teammate.pk).exists()


def test_needs_reconnect_is_audited_once_and_keeps_the_latest_error(acme):
    conn = ConnectionFactory(organization=acme)

    services.connection_mark_needs_reconnect(connection=conn, reason="Refused.", error="invalid_grant: one")
    services.connection_mark_needs_reconnect(connection=conn, reason="Refused.", error="invalid_grant: two")

    conn.refresh_from_db()
    assert (conn.status, conn.status_reason, conn.last_error) == (
        "needs_reconnect",
        "Refused.",
        "invalid_grant: two",
    )
    assert AuditEvent.objects.filter(action="integration.needs_reconnect").count() == 1


def test_a_paused_connection_resumes(acme):
    conn = ConnectionFactory(organization=acme)

    services.connection_mark_paused(connection=conn, reason="Limit.")
    services.connection_resume(connection=conn)

    conn.refresh_from_db()
    assert (conn.status, conn.status_reason) == ("connected", "")
    assert [e.action for e in AuditEvent.objects.order_by("pk")] == [
        "integration.paused",
        "integration.resumed",
    ]


def test_pausing_never_hides_a_needed_reconnect(acme):
    conn = ConnectionFactory(organization=acme, status=Connection.Status.NEEDS_RECONNECT)

    services.connection_mark_paused(connection=conn, reason="Limit.")

    assert Connection.objects.get(pk=conn.pk).status == "needs_reconnect"


def test_reconnecting_keeps_the_row_and_clears_the_reason(acme, owner, unreachable_salesforce):
    conn = ConnectionFactory(
        organization=acme, status=Connection.Status.NEEDS_RECONNECT, status_reason="Refused."
    )

    again = services.connection_save_from_oauth(
        organization=acme,
        actor=owner,
        provider="salesforce",
        scope=Connection.Scope.ORGANIZATION,
        credentials={"access_token": "new-access", "refresh_token": "new-refresh", "issued_at": "1"},
        external_org_id="00D1",
        external_user_id="0051",
        external_username="admin@crm.example",
        instance_url="https://crm.invalid",
    )

    assert again.pk == conn.pk
    again.refresh_from_db()
    assert (again.status, again.status_reason) == ("connected", "")
    assert again.get_credentials()["refresh_token"] == "new-refresh"
    assert AuditEvent.objects.filter(action="integration.reconnected").exists()


def test_usage_is_recorded_without_touching_the_status(acme):
    conn = ConnectionFactory(organization=acme)
    stale = Connection.objects.get(pk=conn.pk)
    services.connection_mark_needs_reconnect(connection=conn, reason="Refused.")

    services.connection_record_api_usage(connection=stale, used=10, maximum=100)

    conn.refresh_from_db()
    assert (conn.status, conn.api_used, conn.api_max) == ("needs_reconnect", 10, 100)


# --- The lease ---------------------------------------------------------------------------------
def test_only_one_of_two_acquirers_gets_the_lease(acme):
    state = SyncStateFactory(connection=ConnectionFactory(organization=acme))
    other = SyncState.objects.get(pk=state.pk)  # a second worker's copy

    assert sync_states.sync_state_lease_acquire(sync_state=state, owner="task-a") is True
    assert sync_states.sync_state_lease_acquire(sync_state=other, owner="task-b") is False

    state.refresh_from_db()
    assert (state.lease_owner, state.status) == ("task-a", "running")


def test_an_expired_lease_can_be_taken(acme):
    state = SyncStateFactory(
        connection=ConnectionFactory(organization=acme),
        lease_owner="crashed-task",
        lease_expires_at=timezone.now() - dt.timedelta(seconds=1),
    )

    assert sync_states.sync_state_lease_acquire(sync_state=state, owner="task-b") is True
    assert SyncState.objects.get(pk=state.pk).lease_owner == "task-b"


def test_the_holder_extends_and_releases_its_lease_and_no_one_else_can(acme):
    state = SyncStateFactory(connection=ConnectionFactory(organization=acme))
    sync_states.sync_state_lease_acquire(sync_state=state, owner="task-a", ttl_seconds=10)

    assert sync_states.sync_state_lease_acquire(sync_state=state, owner="task-a", ttl_seconds=600) is True
    assert sync_states.sync_state_lease_release(sync_state=state, owner="task-b") is False
    assert sync_states.sync_state_lease_release(sync_state=state, owner="task-a", status="failed") is True

    state.refresh_from_db()
    assert (state.lease_owner, state.lease_expires_at, state.status) == ("", None, "failed")


@pytest.mark.django_db(transaction=True)
def test_racing_workers_never_both_win(acme):
    state = SyncStateFactory(connection=ConnectionFactory(organization=acme))
    winners: list[str] = []
    barrier = threading.Barrier(4)

    def worker(name: str) -> None:
        try:
            barrier.wait()
            mine = SyncState.objects.get(pk=state.pk)
            if sync_states.sync_state_lease_acquire(sync_state=mine, owner=name):
                winners.append(name)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=worker, args=(f"task-{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(winners) == 1


def test_get_or_create_sync_state_is_idempotent(acme):
    conn = ConnectionFactory(organization=acme)

    first = sync_states.sync_state_get_or_create(connection=conn, object_name="Lead")
    again = sync_states.sync_state_get_or_create(connection=conn, object_name="Lead")

    assert first.pk == again.pk and first.organization_id == acme.pk


def test_credentials_written_back_stay_encrypted_json(acme):
    conn = ConnectionFactory(organization=acme)

    services.connection_store_tokens(connection=conn, access_token="fresh", issued_at="2")

    stored = Connection.objects.get(pk=conn.pk).get_credentials()
    assert stored == {"access_token": "fresh", "refresh_token": "test-refresh", "issued_at": "2"}
    assert json.loads(conn.credentials)["access_token"] == "fresh"


def test_a_refresh_can_store_the_new_expiry_and_keeps_every_other_key(acme):
    conn = ConnectionFactory(organization=acme)
    services.connection_store_tokens(
        connection=conn, access_token="first", issued_at="1", expires_at="2026-01-01T01:00:00+00:00"
    )

    services.connection_store_tokens(
        connection=conn, access_token="second", issued_at="2", expires_at="2026-01-01T02:00:00+00:00"
    )
    services.connection_store_tokens(connection=conn, access_token="third", issued_at="3")

    stored = Connection.objects.get(pk=conn.pk).get_credentials()
    assert stored == {
        "access_token": "third",
        "refresh_token": "test-refresh",
        "issued_at": "3",
        "expires_at": "2026-01-01T02:00:00+00:00",  # a refresh that says nothing keeps the last one
    }
