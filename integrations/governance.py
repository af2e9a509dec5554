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
- ``connection_store_domains`` — the verified domains the provider lists for the connected
  organisation; nobody outside them is ever synced or impersonated.

Disconnecting a whole connection (``services.connection_disconnect``) disconnects its apps too.

The reads — ``eligibility`` (every org user with whether and why not synced),
``eligible_mailboxes`` (what the sync engine fans out over) and ``mail_connection_for`` (the
connection that serves one user's mailbox, for sending) — live in ``integrations.selectors``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from copilot.models import User
from integrations import services
from integrations.dispatcher import request_first_sync
from integrations.models import Connection, ConnectionApp, SyncOptOut, SyncState
from integrations.records import APPS, kinds_of_app

# Google's and Microsoft's connect views (and the mail benchmark) still read these two through here.

logger = logging.getLogger(__name__)


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
        request_first_sync(connection.pk)
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
    connection_app.enabled = enabled
    connection_app.changed_at, connection_app.changed_by = row.changed_at, actor
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
    request_first_sync(connection.pk)  # the first sync starts now, not at the next beat
    return connection


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
def connection_store_domains(*, connection: Connection, domains: Iterable[str]) -> Connection:
    """Store the verified domains the provider lists for the connected organisation (lower-cased):
    only addresses in them are ever eligible (``selectors.mailbox_reason``). Read at connect, again
    when the scope is saved, and by the fan-out when a connection has none yet."""
    locked = Connection.objects.select_for_update().only("pk", "details").get(pk=connection.pk)
    details = dict(locked.details or {})
    old = details.get("verified_domains")
    details["verified_domains"] = sorted({d.strip().lower() for d in domains if d and d.strip()})
    details["domains_checked_at"] = timezone.now().isoformat()
    Connection.objects.filter(pk=connection.pk).update(details=details)
    connection.details = details
    if old != details["verified_domains"]:
        _audit(connection, "integration.domains_set", actor=None, domains=details["verified_domains"])
        logger.info(
            "integration.domains_set", extra=_log_extra(connection, domains=len(details["verified_domains"]))
        )
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
