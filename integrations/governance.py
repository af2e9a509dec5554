"""Who is synced and what each governed app does (B4–B6, seed "Managing Users", "Managing the
Connection", "Disconnecting").

A mail/calendar ``Connection`` carries two apps (``ConnectionApp``): email, and calendar (with the
address book). Every admin change to them goes through a function here, atomic and audited:

- ``apps_install`` — the apps come in installed and ON; a fresh install includes every user.
- ``app_toggle`` — OFF stops that app's sync (with email OFF people can still send); ON
  includes every user again: that app's opt-outs are deleted (B5).
- ``app_disconnect`` — the app's mailboxes are unsynced (its sync state dropped); a disconnected
  email app also stops sending (B6). With no installed app left the connection itself is
  disconnected: tokens revoked and wiped.
- ``opt_outs_set`` — "Manage users' sync data": opt users out of one app (B4).
- ``connection_set_scope`` — the provider-side scope chosen at connect (Google group or org unit,
  Microsoft security group), which wins over the opt-out list.

Reads: ``eligibility`` (every org user with whether and why not synced), ``eligible_mailboxes``
(what the sync engine fans out over) and ``mail_connection_for`` (the connection that serves one
user's mailbox, for sending).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from copilot.models import User
from integrations import services
from integrations.mailsync.adapter import MailboxRef
from integrations.models import Connection, ConnectionApp, Provider, SyncOptOut, SyncState
from integrations.records import APP_OF_KIND, APPS

logger = logging.getLogger(__name__)

MAIL_PROVIDERS = (Provider.GOOGLE, Provider.MICROSOFT)
App = ConnectionApp.App

# Sentences shown in "Manage users' sync data" (the reason column).
REASON_SYNCED = "Synced"
REASON_OPTED_OUT = "Opted out"
REASON_USERNAME = "User name differs from email"
REASON_INACTIVE = "Deactivated user"
REASON_APP_OFF = "Sync is turned off for this app"
REASON_APP_DISCONNECTED = "This app is disconnected"
REASON_CONNECTION_DISCONNECTED = "The connection is disconnected"
REASON_ADMIN_MANAGED = "Your organisation's admin-managed connection serves this mailbox"


@dataclass(frozen=True)
class Eligibility:
    user: User
    syncing: bool
    reason: str  # "Synced" when syncing, else why not


def kinds_of_app(app: str) -> tuple[str, ...]:
    """The sync kinds an app governs: email → ("email",), calendar → ("calendar", "contacts")."""
    return tuple(kind for kind, owner in APP_OF_KIND.items() if owner == app)


def _audit(connection: Connection, action: str, *, actor: User | None, **data: Any) -> None:
    services._audit(connection, action, actor=actor, **data)


def _check_app(app: str) -> None:
    if app not in APPS:
        raise ValueError(f"Unknown app {app!r}: expected one of {', '.join(APPS)}.")


def _log_extra(connection: Connection, **more: Any) -> dict[str, Any]:
    return {"connection_id": connection.pk, "organization_id": connection.organization_id, **more}


# --- Install, toggle, disconnect -----------------------------------------------------------------
@transaction.atomic
def apps_install(
    *, connection: Connection, apps: Iterable[str] = APPS, actor: User | None
) -> list[ConnectionApp]:
    """(Re)install ``apps`` on ``connection``: installed and ON (a reconnect calls it again).

    An app that was not installed before (new, or disconnected earlier) starts with every user
    included, so its old opt-outs go; an app already installed keeps its opt-outs."""
    now = timezone.now()
    rows: list[ConnectionApp] = []
    for app in dict.fromkeys(apps):
        _check_app(app)
        row = ConnectionApp.objects.select_for_update().filter(connection=connection, app=app).first()
        fresh = row is None or not row.installed
        if row is None:
            row = ConnectionApp(organization_id=connection.organization_id, connection=connection, app=app)
        changed = fresh or not row.enabled
        row.installed = True
        row.enabled = True
        if changed:
            row.changed_at, row.changed_by = now, actor
        row.save()
        removed = 0
        if fresh:
            removed, _ = SyncOptOut.objects.filter(connection=connection, app=app).delete()
        if changed:
            _audit(connection, "integration.app_installed", actor=actor, app=app, opt_outs_removed=removed)
            logger.info("integration.app_installed", extra=_log_extra(connection, app=app))
        rows.append(row)
    if connection.scope == Connection.Scope.USER:  # admin connections start once a scope is chosen
        _start_first_sync(connection)
    return rows


@transaction.atomic
def app_toggle(*, connection_app: ConnectionApp, enabled: bool, actor: User | None) -> ConnectionApp:
    """Turn an installed app's sync OFF or ON (B5).

    OFF: the engine stops syncing that app's mailboxes (cursors are kept); with email OFF people
    can still send from the app. ON: every user is included again — the app's opt-outs are
    deleted, as the confirmation warned."""
    row = ConnectionApp.objects.select_for_update().get(pk=connection_app.pk)
    if not row.installed:
        raise ValueError("A disconnected app cannot be turned on or off; connect it again.")
    if row.enabled == enabled:
        return row
    row.enabled = enabled
    row.changed_at, row.changed_by = timezone.now(), actor
    row.save(update_fields=["enabled", "changed_at", "changed_by"])
    removed = 0
    if enabled:
        removed, _ = SyncOptOut.objects.filter(connection_id=row.connection_id, app=row.app).delete()
    connection = row.connection
    action = "integration.app_enabled" if enabled else "integration.app_disabled"
    _audit(connection, action, actor=actor, app=row.app, opt_outs_removed=removed)
    logger.info(action, extra=_log_extra(connection, app=row.app, opt_outs_removed=removed))
    connection_app.enabled, connection_app.changed_at, connection_app.changed_by = (
        row.enabled,
        row.changed_at,
        actor,
    )
    return row


def app_disconnect(*, connection_app: ConnectionApp, actor: User | None) -> ConnectionApp:
    """Disconnect one app (B6): its mailboxes are unsynced (their sync state is dropped) and, for
    email, sending from the app stops. When no installed app is left on the connection, the
    connection is disconnected too: tokens revoked at the provider and wiped."""
    with transaction.atomic():
        row = ConnectionApp.objects.select_for_update().select_related("connection").get(pk=connection_app.pk)
        connection = row.connection
        was_installed = row.installed
        row.installed = False
        row.enabled = False
        row.changed_at, row.changed_by = timezone.now(), actor
        row.save(update_fields=["installed", "enabled", "changed_at", "changed_by"])
        dropped, _ = SyncState.objects.filter(connection=connection, kind__in=kinds_of_app(row.app)).delete()
        left = ConnectionApp.objects.filter(connection=connection, installed=True).exclude(pk=row.pk).exists()
        if was_installed:
            _audit(
                connection,
                "integration.app_disconnected",
                actor=actor,
                app=row.app,
                sync_states_removed=dropped,
            )
        logger.info("integration.app_disconnected", extra=_log_extra(connection, app=row.app))
    # Outside the transaction: revoking is a network call that must not hold database locks.
    if not left and connection.status != Connection.Status.DISCONNECTED:
        services.connection_disconnect(
            connection=connection, actor=actor, reason="Every app of this connection was disconnected."
        )
    connection_app.installed, connection_app.enabled = False, False
    return row


def connection_disconnect_all(*, connection: Connection, actor: User | None, reason: str = "") -> Connection:
    """Disconnect every app of ``connection`` and the connection itself (a user's own
    connection from Settings › Integrations, B3)."""
    with transaction.atomic():
        updated = ConnectionApp.objects.filter(connection=connection, installed=True).update(
            installed=False, enabled=False, changed_at=timezone.now(), changed_by=actor
        )
    if updated:
        logger.info("integration.apps_disconnected", extra=_log_extra(connection, apps=updated))
    return services.connection_disconnect(connection=connection, actor=actor, reason=reason)


# --- Scope and opt-outs --------------------------------------------------------------------------
def _clean_members(members: Iterable[str]) -> list[str]:
    return sorted({m.strip().lower() for m in members if m and m.strip()})


@transaction.atomic
def connection_set_scope(
    *, connection: Connection, kind: str, key: str, name: str, members: Iterable[str], actor: User | None
) -> Connection:
    """Store the provider-side scope the admin chose (``kind`` "group", "org_unit" or
    "security_group"; an empty ``kind`` = the whole organisation) and its members now.
    Users outside a scope are never synced, whatever the opt-out list says (B4)."""
    locked = Connection.objects.select_for_update().only("pk", "details").get(pk=connection.pk)
    details = dict(locked.details or {})
    old_scope = details.get("scope") or {}
    new_scope = {"kind": kind, "key": key, "name": name or key} if kind else {}
    details["scope"] = new_scope
    if new_scope:
        details["scope_members"] = _clean_members(members)
        details["scope_checked_at"] = timezone.now().isoformat()
    else:
        details.pop("scope_members", None)
        details.pop("scope_checked_at", None)
    Connection.objects.filter(pk=connection.pk).update(details=details, updated_at=timezone.now())
    connection.details = details
    if old_scope != new_scope:
        _audit(
            connection,
            "integration.scope_set",
            actor=actor,
            scope=new_scope,
            previous_scope=old_scope,
            members=len(details.get("scope_members", [])),
        )
        logger.info("integration.scope_set", extra=_log_extra(connection, scope_kind=kind))
    _start_first_sync(connection)
    return connection


def _start_first_sync(connection: Connection) -> None:
    """Begin syncing right after connecting rather than at the next 5-minute beat."""
    from integrations.mailsync.tasks import enqueue_connection_sync_on_commit

    enqueue_connection_sync_on_commit(connection.pk)


@transaction.atomic
def scope_members_store(*, connection: Connection, members: frozenset[str] | None) -> Connection:
    """The engine's hourly refresh of the scope's members (``None``: the provider says the
    connection is not scoped, so the members list is left as it is). Not audited."""
    locked = Connection.objects.select_for_update().only("pk", "details").get(pk=connection.pk)
    details = dict(locked.details or {})
    if members is not None:
        details["scope_members"] = _clean_members(members)
    details["scope_checked_at"] = timezone.now().isoformat()
    Connection.objects.filter(pk=connection.pk).update(details=details)
    connection.details = details
    return connection


@transaction.atomic
def opt_outs_set(
    *, connection: Connection, app: str, opted_out_user_ids: Iterable[int], actor: User | None
) -> None:
    """Make ``opted_out_user_ids`` exactly the users opted out of ``app`` ("Save changes").
    Newly opted-out users' sync rows for the app are dropped (a later re-inclusion starts with a
    full sync of the window). Ids of users outside the connection's organisation are ignored."""
    _check_app(app)
    wanted = set(
        User.objects.for_org(connection.organization)
        .filter(pk__in={int(pk) for pk in opted_out_user_ids})
        .values_list("pk", flat=True)
    )
    current = set(SyncOptOut.objects.filter(connection=connection, app=app).values_list("user_id", flat=True))
    added, removed = sorted(wanted - current), sorted(current - wanted)
    if removed:
        SyncOptOut.objects.filter(connection=connection, app=app, user_id__in=removed).delete()
    SyncOptOut.objects.bulk_create(
        [
            SyncOptOut(
                organization_id=connection.organization_id,
                connection=connection,
                app=app,
                user_id=user_id,
                created_by=actor,
            )
            for user_id in added
        ]
    )
    if added:  # their mailboxes of this app are unsynced: the rows (cursors, errors) go
        SyncState.objects.filter(
            connection=connection, user_id__in=added, kind__in=kinds_of_app(app)
        ).delete()
    if added or removed:
        _audit(
            connection,
            "integration.opt_outs_changed",
            actor=actor,
            app=app,
            opted_out=added,
            included=removed,
        )
        logger.info(
            "integration.opt_outs_changed",
            extra=_log_extra(connection, app=app, opted_out=len(added), included=len(removed)),
        )


# --- Reads ---------------------------------------------------------------------------------------
def scope_reason(connection: Connection) -> str:
    """The reason shown for a user outside the provider-side scope."""
    scope = (connection.details or {}).get("scope") or {}
    name = scope.get("name") or scope.get("key") or ""
    noun = "organisational unit" if scope.get("kind") == "org_unit" else "group"
    return f"Not in the {name} {noun} — the provider's scope wins"


def scope_members(connection: Connection) -> frozenset[str] | None:
    """Lower-cased addresses inside the provider-side scope, or None when not scoped."""
    details = connection.details or {}
    if not details.get("scope"):
        return None
    return frozenset(details.get("scope_members") or ())


def _admin_managed_exists(connection: Connection) -> bool:
    return (
        Connection.objects.filter(
            organization_id=connection.organization_id,
            provider=connection.provider,
            scope=Connection.Scope.ORGANIZATION,
        )
        .exclude(status=Connection.Status.DISCONNECTED)
        .exists()
    )


def _app_blocker(connection: Connection, app_row: ConnectionApp | None) -> str:
    """Why nobody is synced for this app of this connection, or ""."""
    if connection.status == Connection.Status.DISCONNECTED:
        return REASON_CONNECTION_DISCONNECTED
    if app_row is None or not app_row.installed:
        return REASON_APP_DISCONNECTED
    if not app_row.enabled:
        return REASON_APP_OFF
    return ""


def eligibility(
    *,
    connection: Connection,
    app: str,
    app_row: ConnectionApp | None = None,
    user_ids: Iterable[int] | None = None,
) -> list[Eligibility]:
    """Every user the connection could sync for ``app``, with whether it does and why not (B4).

    Admin-managed: the organisation's users; user-managed: only the connection's owner.
    ``user_ids`` narrows the answer to those users. Three queries whatever the number of users
    (users, opt-outs, the app row when not given)."""
    _check_app(app)
    if app_row is None:
        app_row = ConnectionApp.objects.filter(connection=connection, app=app).first()
    blocker = _app_blocker(connection, app_row)
    users = User.objects.for_org(connection.organization).order_by("first_name", "last_name", "email")
    if user_ids is not None:
        users = users.filter(pk__in=list(user_ids))
    if not connection.is_org_wide:
        users = users.filter(pk=connection.user_id)
        if not blocker and _admin_managed_exists(connection):
            blocker = REASON_ADMIN_MANAGED
    opted_out = set(
        SyncOptOut.objects.filter(connection=connection, app=app).values_list("user_id", flat=True)
    )
    members = scope_members(connection)
    outside = scope_reason(connection) if members is not None else ""
    result = []
    for user in users:
        reason = blocker
        if not reason:
            reason = _user_reason(user, members, outside, opted_out)
        result.append(Eligibility(user=user, syncing=not reason, reason=reason or REASON_SYNCED))
    return result


def _user_reason(user: User, members: frozenset[str] | None, outside: str, opted_out: set[int]) -> str:
    if not user.is_active:
        return REASON_INACTIVE
    if (user.mailbox_username or "").strip().lower() != user.email.lower():
        return REASON_USERNAME
    if members is not None and user.email.lower() not in members:
        return outside  # the provider's scope wins over the opt-out list
    if user.pk in opted_out:
        return REASON_OPTED_OUT
    return ""


def eligible_mailboxes(
    *, connection: Connection, app: str, app_row: ConnectionApp | None = None
) -> list[MailboxRef]:
    """The mailboxes the engine syncs for ``app`` of ``connection``."""
    return [
        MailboxRef(user_id=row.user.pk, address=row.user.email.lower())
        for row in eligibility(connection=connection, app=app, app_row=app_row)
        if row.syncing
    ]


def mail_connection_for(user: User) -> Connection | None:
    """The Google/Microsoft connection that serves ``user``'s mailbox: the organisation's
    admin-managed one when the user is inside its provider scope, else the user's own (only of a
    provider without an admin-managed connection); None when there is none.

    Disconnected connections never serve; one needing a reconnect or with its email app
    disconnected still does (sending then says why it cannot)."""
    if not getattr(user, "is_authenticated", False) or user.organization_id is None:
        return None
    rows = list(
        Connection.objects.for_org(user.organization)
        .filter(Q(scope=Connection.Scope.ORGANIZATION) | Q(scope=Connection.Scope.USER, user=user))
        .filter(provider__in=MAIL_PROVIDERS)
        .exclude(status=Connection.Status.DISCONNECTED)
    )
    org_wide = sorted((c for c in rows if c.is_org_wide), key=lambda c: (c.connected_at, c.pk))
    admin_providers = {c.provider for c in org_wide}
    email = user.email.lower()
    for connection in org_wide:
        members = scope_members(connection)
        if members is None or email in members:
            return connection
    for connection in rows:
        if not connection.is_org_wide and connection.provider not in admin_providers:
            return connection
    return None


def app_row(connection: Connection, app: str) -> ConnectionApp | None:
    return ConnectionApp.objects.filter(connection=connection, app=app).first()


def email_app_connected(connection: Connection) -> bool:
    """Whether sending may use ``connection``: its email app is installed (ON or OFF)."""
    return ConnectionApp.objects.filter(connection=connection, app=App.EMAIL, installed=True).exists()
