"""Sync-state rows (``SyncState``): one per synced thing — a Salesforce object of a connection, or
a user's mail, calendar or address book — with its cursor, health and lease. The engine
(``integrations.sync.engine``) takes and renews the lease; the fan-outs create and free rows;
admins "Retry now".
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db.models import Q
from django.utils import timezone

from copilot.models import User
from copilot.services.audit import audit_record
from integrations import dispatcher
from integrations.models import Connection, SyncState

logger = logging.getLogger(__name__)


# --- Sync state and its lease --------------------------------------------------------------------
def sync_state_get_or_create(*, connection: Connection, object_name: str) -> SyncState:
    state, _ = SyncState.objects.get_or_create(
        connection=connection,
        object_name=object_name,
        defaults={"organization_id": connection.organization_id},
    )
    return state


def sync_state_lease_acquire(
    *, sync_state: SyncState, owner: str, ttl_seconds: float = 600, steal_from: str = ""
) -> bool:
    """Take the row's lease for ``owner`` unless someone else holds an unexpired one (or only
    ``steal_from`` does: a run the caller knows is dead, ``integrations.workers.owner_is_dead``).

    One conditional UPDATE, so of two workers racing for the row exactly one wins, on SQLite and
    PostgreSQL alike. The holder may call it again to extend its lease.
    """
    now = timezone.now()
    expires = now + dt.timedelta(seconds=ttl_seconds)
    free = Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now) | Q(lease_owner=owner)
    if steal_from:
        free |= Q(lease_owner=steal_from)
    won = (
        SyncState.objects.filter(pk=sync_state.pk)
        .filter(free)
        .update(lease_owner=owner, lease_expires_at=expires, status=SyncState.Status.RUNNING, updated_at=now)
    )
    if won:
        sync_state.lease_owner, sync_state.lease_expires_at = owner, expires
        sync_state.status = SyncState.Status.RUNNING
    return bool(won)


def sync_state_lease_release(
    *, sync_state: SyncState, owner: str, status: str = SyncState.Status.IDLE
) -> bool:
    """Give the lease back (only its holder can) and leave the row in ``status``."""
    released = SyncState.objects.filter(pk=sync_state.pk, lease_owner=owner).update(
        lease_owner="", lease_expires_at=None, status=status, updated_at=timezone.now()
    )
    if released:
        sync_state.lease_owner, sync_state.lease_expires_at, sync_state.status = "", None, status
    return bool(released)


# --- Mailbox sync state (mail, calendar, address book) ---------------------------------------------
def mailbox_sync_states_ensure(
    *, connection: Connection, wanted: list[tuple[int, str, str]]
) -> list[SyncState]:
    """The rows for ``wanted`` ``(user_id, kind, object_name)`` of ``connection``, creating the
    missing ones in one statement; returns them in ``wanted``'s order."""
    existing = {
        state.object_name: state
        for state in SyncState.objects.filter(
            connection=connection, object_name__in=[name for _, _, name in wanted]
        )
    }
    missing = [
        SyncState(
            organization_id=connection.organization_id,
            connection=connection,
            object_name=name,
            user_id=user_id,
            kind=kind,
        )
        for user_id, kind, name in wanted
        if name not in existing
    ]
    if missing:
        SyncState.objects.bulk_create(missing, ignore_conflicts=True)
        existing.update(
            (state.object_name, state)
            for state in SyncState.objects.filter(
                connection=connection, object_name__in=[s.object_name for s in missing]
            )
        )
    return [existing[name] for _, _, name in wanted if name in existing]


def sync_states_recover_stuck(*, stuck_after: dt.timedelta = dt.timedelta(hours=1)) -> int:
    """Free rows left RUNNING by a worker that died or hung, of every source (mailbox and CRM
    rows alike): their lease lapsed, or nothing moved on them for ``stuck_after``. The next
    fan-out enqueues them again."""
    now = timezone.now()
    recovered = (
        SyncState.objects.filter(status=SyncState.Status.RUNNING)
        .filter(
            Q(lease_expires_at__isnull=True)
            | Q(lease_expires_at__lt=now)
            | Q(updated_at__lt=now - stuck_after)
        )
        .update(status=SyncState.Status.IDLE, lease_owner="", lease_expires_at=None, updated_at=now)
    )
    if recovered:
        logger.warning("mailsync.stuck_recovered", extra={"sync_states": recovered})
    return recovered


def sync_state_retry_now(*, sync_state: SyncState, actor: User | None) -> SyncState:
    """An admin's "Retry now" on a failed row: clear the backoff and start a run once the
    caller's transaction commits."""
    SyncState.objects.filter(pk=sync_state.pk).exclude(status=SyncState.Status.RUNNING).update(
        status=SyncState.Status.IDLE, attempts=0, next_run_at=None, updated_at=timezone.now()
    )
    sync_state.refresh_from_db()
    dispatcher.request_run(sync_state.pk, force=True)
    connection = sync_state.connection
    audit_record(
        organization=connection.organization,
        actor=actor,
        action="integration.mailbox_retry",
        target=f"{connection.get_provider_display()} ({connection.get_scope_display()})",
        data={
            "connection_id": connection.pk,
            "sync_state_id": sync_state.pk,
            "object_name": sync_state.object_name,
        },
    )
    return sync_state
