"""Every write to connections and sync state. Views, the admin, tasks and provider clients call
these; nothing else saves a ``Connection`` or ``SyncState``.

Writes are atomic and the ones a person would want to know about leave an ``AuditEvent``.
Credentials are only ever passed in and stored encrypted; they never reach a log line or an
audit row. Revoking at the provider is best-effort: a provider that cannot be reached must not
stop a person from disconnecting, or an admin from deleting a user (A6).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.db import connection as db_connection
from django.db import transaction
from django.utils import timezone

from copilot.models import Organization, User
from copilot.services.audit import audit_record
from integrations.base import get_provider
from integrations.exceptions import ProviderError
from integrations.models import Connection, ConnectionApp, Provider, SyncState

logger = logging.getLogger(__name__)

Status = Connection.Status
# Providers whose organisation (a Microsoft tenant) may be connected org-wide to one Cadence
# organisation only: Cadence's app is shared by every customer, so a second organisation holding
# the same tenant would read its mailboxes too (DESIGN, "Tenancy and security").
ONE_CADENCE_ORGANISATION = frozenset({Provider.MICROSOFT})


class ExternalOrgTaken(Exception):
    """The provider organisation is already connected org-wide to another Cadence organisation."""


def _log_extra(connection: Connection, **more: Any) -> dict[str, Any]:
    return {
        "connection_id": connection.pk,
        "organization_id": connection.organization_id,
        "provider": connection.provider,
        **more,
    }


def _audit(connection: Connection, action: str, *, actor: User | None = None, **data: Any) -> None:
    audit_record(
        organization=connection.organization,
        actor=actor,
        action=action,
        target=f"{connection.get_provider_display()} ({connection.get_scope_display()})",
        data={"connection_id": connection.pk, **data},
    )


# --- Connect, reconnect, tokens ------------------------------------------------------------------
@transaction.atomic
def connection_save_from_oauth(
    *,
    organization: Organization,
    actor: User,
    provider: str,
    scope: str,
    credentials: dict[str, Any],
    external_org_id: str,
    external_user_id: str,
    external_username: str,
    instance_url: str,
    identity_url: str = "",
    details: dict[str, Any] | None = None,
) -> Connection:
    """Store the result of a completed (and checked) OAuth flow: a new connection, or the
    existing one of that scope reconnected. Old credentials that are replaced are revoked after
    commit (best-effort). ``ExternalOrgTaken`` when another Cadence organisation holds the
    provider organisation (``ONE_CADENCE_ORGANISATION``); nothing is stored then."""
    if scope == Connection.Scope.ORGANIZATION:
        _refuse_taken_external_org(
            organization=organization, provider=provider, external_org_id=external_org_id
        )
        owner = None
        existing = Connection.objects.for_org(organization).filter(provider=provider, scope=scope)
    else:
        if actor.organization_id != organization.pk:
            raise ValueError("A user connection belongs to a member of the organisation.")
        owner = actor
        existing = Connection.objects.for_org(organization).filter(provider=provider, scope=scope, user=actor)
    connection = existing.select_for_update().first()
    now = timezone.now()
    replaced: dict[str, Any] = {}
    if connection is None:
        connection = Connection(organization=organization, provider=provider, scope=scope, user=owner)
        action = "integration.connected"
    else:
        replaced = connection.get_credentials()
        action = (
            "integration.reconnected" if connection.status != Status.DISCONNECTED else "integration.connected"
        )
    previous_user = connection.external_username
    connection.connected_by = actor
    connection.status = Status.CONNECTED
    connection.status_reason = ""
    connection.external_org_id = external_org_id
    connection.external_user_id = external_user_id
    connection.external_username = external_username
    connection.instance_url = instance_url
    connection.identity_url = identity_url
    connection.credentials = json.dumps(credentials)
    connection.details = details or {}
    connection.last_error = ""
    connection.last_error_at = None
    connection.connected_at = now
    connection.save()
    _audit(
        connection,
        action,
        actor=actor,
        external_username=external_username,
        previous_external_username=previous_user,
        instance_url=instance_url,
    )
    old_token = replaced.get("refresh_token")
    if old_token and old_token != credentials.get("refresh_token"):
        transaction.on_commit(lambda: _revoke_quietly(connection, replaced))
    logger.info("integration.connected", extra=_log_extra(connection, scope=scope))
    return connection


def _refuse_taken_external_org(*, organization: Organization, provider: str, external_org_id: str) -> None:
    """Raise ``ExternalOrgTaken`` when another organisation's live org-wide connection holds
    ``external_org_id``; those rows stay locked until commit. Two first connects of one tenant by
    two organisations at the same instant have no row to lock yet, so on PostgreSQL a
    transaction-level advisory lock on the tenant serialises them (SQLite's writes are serial)."""
    if provider not in ONE_CADENCE_ORGANISATION or not external_org_id:
        return
    if db_connection.vendor == "postgresql":
        with db_connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s))",
                [f"cadence:{provider}:{external_org_id.lower()}"],
            )
    holders = list(
        Connection.objects.select_for_update()
        .filter(
            provider=provider, scope=Connection.Scope.ORGANIZATION, external_org_id__iexact=external_org_id
        )
        .exclude(organization=organization)
        .exclude(status=Status.DISCONNECTED)
        .values_list("pk", flat=True)
    )
    if holders:
        logger.warning(
            "integration.external_org_taken",
            extra={"organization_id": organization.pk, "provider": provider, "connection_id": holders[0]},
        )
        raise ExternalOrgTaken(f"{provider} organisation already connected to another Cadence organisation")


def connection_store_tokens(
    *,
    connection: Connection,
    access_token: str,
    issued_at: str = "",
    refresh_token: str | None = None,
    expires_at: str | float | None = None,
) -> Connection:
    """Write refreshed tokens back (the one refresh helper of each provider calls this).

    ``expires_at``, when given, replaces the stored expiry of the access token (in the form the
    provider package reads back). An unsaved connection (the connect checks run on one) is only
    updated in memory.
    """
    credentials = connection.get_credentials()
    credentials["access_token"] = access_token
    credentials["issued_at"] = issued_at
    if refresh_token:
        credentials["refresh_token"] = refresh_token
    if expires_at is not None:
        credentials["expires_at"] = expires_at
    connection.credentials = json.dumps(credentials)
    if connection.pk is not None:
        connection.save(update_fields=["credentials", "updated_at"])
        logger.info("integration.tokens_refreshed", extra=_log_extra(connection))
    return connection


def connection_update_details(*, connection: Connection, details: dict[str, Any]) -> Connection:
    """Store what the connect checks found again (the Details page's Refresh)."""
    connection.details = details
    connection.save(update_fields=["details", "updated_at"])
    return connection


# --- Health --------------------------------------------------------------------------------------
def connection_mark_needs_reconnect(*, connection: Connection, reason: str, error: str = "") -> Connection:
    """The provider refused our credentials for good: stop using them and tell the admins (the
    status and reason show on the Integrations page; an audit event records when)."""
    return _mark_unhealthy(connection, Status.NEEDS_RECONNECT, "integration.needs_reconnect", reason, error)


def connection_mark_paused(*, connection: Connection, reason: str, error: str = "") -> Connection:
    """The provider asked us to stop for a while (e.g. Salesforce's daily API limit is used up)."""
    if connection.status in (Status.NEEDS_RECONNECT, Status.DISCONNECTED):
        return connection
    return _mark_unhealthy(connection, Status.PAUSED, "integration.paused", reason, error)


@transaction.atomic
def _mark_unhealthy(connection: Connection, status: str, action: str, reason: str, error: str) -> Connection:
    """Set ``status`` with its reason and error; audit only the change into it. An unsaved
    connection (the connect checks run on one) is left alone."""
    if connection.pk is None:
        return connection
    was = connection.status
    connection.status = status
    connection.status_reason = reason[:500]
    connection.last_error = error or reason
    connection.last_error_at = timezone.now()
    connection.save(update_fields=["status", "status_reason", "last_error", "last_error_at", "updated_at"])
    if was != status:
        _audit(connection, action, reason=reason)
    logger.warning(action, extra=_log_extra(connection, reason=reason))
    return connection


@transaction.atomic
def connection_resume(*, connection: Connection) -> Connection:
    """A paused connection worked again: back to connected."""
    if connection.pk is None or connection.status != Status.PAUSED:
        return connection
    connection.status = Status.CONNECTED
    connection.status_reason = ""
    connection.save(update_fields=["status", "status_reason", "updated_at"])
    _audit(connection, "integration.resumed")
    return connection


def connection_record_api_usage(*, connection: Connection, used: int, maximum: int) -> None:
    """The provider's API allocation as last seen (Salesforce: Sforce-Limit-Info / limits).

    A plain UPDATE of three columns: it runs often and must not overwrite a status another
    process changed meanwhile."""
    connection.api_used, connection.api_max = used, maximum
    connection.api_checked_at = timezone.now()
    if connection.pk is not None:
        Connection.objects.filter(pk=connection.pk).update(
            api_used=used, api_max=maximum, api_checked_at=connection.api_checked_at
        )


# --- Disconnect ----------------------------------------------------------------------------------
def connection_disconnect(*, connection: Connection, actor: User | None, reason: str = "") -> Connection:
    """Revoke the credentials at the provider (best-effort), wipe them, mark the connection
    disconnected, drop its sync state and disconnect its mail/calendar apps (so connecting again
    includes every user, B6). Safe to call on an already disconnected connection.

    The revocation is a network call and runs before the database transaction so a slow provider
    never holds database locks (except when the caller already holds a transaction, as a user's
    deletion does).
    """
    credentials = connection.get_credentials()
    if credentials:
        _revoke_quietly(connection, credentials)
    with transaction.atomic():
        was = connection.status
        connection.credentials = ""
        connection.status = Status.DISCONNECTED
        connection.status_reason = reason[:500]
        connection.save(update_fields=["credentials", "status", "status_reason", "updated_at"])
        deleted, _ = SyncState.objects.filter(connection=connection).delete()
        ConnectionApp.objects.filter(connection=connection, installed=True).update(
            installed=False, enabled=False, changed_at=timezone.now(), changed_by=actor
        )
        if was != Status.DISCONNECTED:
            _audit(
                connection,
                "integration.disconnected",
                actor=actor,
                external_username=connection.external_username,
                sync_states_removed=deleted,
            )
    logger.info("integration.disconnected", extra=_log_extra(connection))
    return connection


def connections_disconnect_for_user(*, user: User, actor: User | None) -> int:
    """Disconnect (revoking tokens) every connection that is the user's own (A6). Organisation-
    wide connections the user set up stay: they belong to the organisation."""
    count = 0
    for connection in Connection.objects.filter(user=user).select_related("organization"):
        connection_disconnect(connection=connection, actor=actor, reason="The user was deleted.")
        count += 1
    return count


def _revoke_quietly(connection: Connection, credentials: dict[str, Any]) -> bool:
    provider = get_provider(connection.provider)
    if provider is None:
        return False
    try:
        provider.revoke(credentials)
    except ProviderError as exc:
        logger.warning(
            "integration.revoke_failed", extra=_log_extra(connection, error=type(exc).__name__, code=exc.code)
        )
        return False
    except Exception:  # revocation is best-effort: never let it abort a disconnect or a deletion
        logger.exception("integration.revoke_crashed", extra=_log_extra(connection))
        return False
    logger.info("integration.revoked", extra=_log_extra(connection))
    return True
