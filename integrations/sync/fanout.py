"""The 5-minute fan-out of mailbox syncs (B13): kind "mail" of ``integrations.dispatcher``.

For every usable Google/Microsoft connection, every syncing app (installed and ON) and every
eligible mailbox (``selectors.eligible_mailboxes``: org users, provider scope, opt-outs), one
``integrations.sync_row`` task per kind (email; calendar and contacts) whose row is due:
not backing off until later and not held by a live run. Rows left RUNNING by a dead or hung
worker are freed first. The provider-side scope's members, and what the provider says the
connected organisation owns (verified domains; Microsoft: the tenant's users), are refreshed hourly.

Queries: a handful per connection, none per mailbox (rows are read and created in bulk).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.utils import timezone

from integrations import governance, selectors, services
from integrations.base import get_source
from integrations.exceptions import ProviderAuthError, ProviderError
from integrations.models import Connection, SyncState
from integrations.records import APPS, kinds_of_app
from integrations.sync import policy, tasks
from integrations.sync import states as sync_states
from integrations.sync.source import MailboxSource

logger = logging.getLogger(__name__)

SCOPE_REFRESH = dt.timedelta(hours=1)
DIRECTORY_REFRESH = dt.timedelta(hours=1)


class MailboxFanOut:
    """What a mailbox source (Google's, Microsoft's ``fetch/source.py``) brings the dispatcher: the
    one mail fan-out, which covers the due rows of every mail provider at once."""

    sync_name = "mail"

    def fan_out(self) -> int:
        return fan_out()

    def fan_out_connection(self, connection_id: int) -> int:
        return fan_out_connection(connection_id)


def fan_out() -> int:
    """Enqueue one run per due mailbox row; returns how many were enqueued."""
    sync_states.sync_states_recover_stuck()
    connections = (
        Connection.objects.filter(
            provider__in=selectors.MAIL_PROVIDERS,
            status__in=[Connection.Status.CONNECTED, Connection.Status.PAUSED],
            organization__is_active=True,
        )
        .select_related("organization")
        .prefetch_related("apps")
    )
    enqueued = 0
    for connection in connections:
        try:
            enqueued += _enqueue_due(connection)
        except Exception:  # one connection's trouble must not stop the others
            logger.exception("mailsync.fan_out_failed", extra={"connection_id": connection.pk})
    logger.info("mailsync.fanned_out", extra={"enqueued": enqueued})
    return enqueued


def fan_out_connection(connection_id: int) -> int:
    """``fan_out`` for one connection (its first sync, started when an admin finishes connecting)."""
    connection = (
        Connection.objects.filter(pk=connection_id, provider__in=selectors.MAIL_PROVIDERS)
        .select_related("organization")
        .prefetch_related("apps")
        .first()
    )
    if connection is None or not connection.is_active:
        return 0
    return _enqueue_due(connection)


def _enqueue_due(connection: Connection) -> int:
    states = due_states(connection)
    for state in states:
        tasks.enqueue_sync(state.pk)
    return len(states)


def due_states(connection: Connection, *, now: dt.datetime | None = None) -> list[SyncState]:
    """The rows of ``connection`` to run now (created for newly eligible mailboxes)."""
    adapter = get_source(connection.provider)
    if adapter is None:
        return []
    apps = {row.app: row for row in connection.apps.all()}
    syncing = [app for app in APPS if app in apps and apps[app].syncing]
    if not syncing:
        return []
    refresh_domains(connection, adapter, now=now)
    refresh_scope(connection, adapter, now=now)
    if not connection.is_active:  # the refresh found the credentials refused
        return []
    wanted: list[tuple[int, str, str]] = []
    for app in syncing:
        for mailbox in selectors.eligible_mailboxes(connection=connection, app=app, app_row=apps[app]):
            for kind in kinds_of_app(app):
                wanted.append((mailbox.user_id, kind, f"{kind}:{mailbox.address}"))
    states = sync_states.mailbox_sync_states_ensure(connection=connection, wanted=wanted)
    return [state for state in states if policy.is_due(state, now=now)]


def refresh_domains(
    connection: Connection, adapter: MailboxSource, *, now: dt.datetime | None = None
) -> None:
    """Re-read what the provider says an admin-managed connection's organisation owns — its
    verified domains (Google, Microsoft) and the tenant's own users (Microsoft) — when none are
    stored yet (until then nobody is eligible) or the last read is over an hour old: a new hire
    becomes eligible and a leaver stops being without an admin reconnecting, scoped or not."""
    refresher = getattr(adapter, "directory_refresh", None)  # reads and stores (Microsoft)
    reader = getattr(adapter, "verified_domains", None)  # reads; stored here (Google)
    if (refresher is None and reader is None) or not connection.is_org_wide:
        return
    details = connection.details or {}
    if "verified_domains" in details and not _stale(
        details.get("domains_checked_at"), DIRECTORY_REFRESH, now
    ):
        return
    domains = None
    try:
        if refresher is not None:
            refresher(connection=connection)
        else:
            domains = reader(connection=connection)
    except ProviderAuthError as exc:
        services.connection_mark_needs_reconnect(
            connection=connection,
            reason=(
                f"{connection.get_provider_display()} did not let Cadence read your domains: {exc} "
                "Reconnect so Cadence can check which mailboxes belong to you."
            ),
            error=str(exc),
        )
        return
    except ProviderError as exc:  # keep what was known (or nobody eligible); try again next cycle
        logger.warning(
            "mailsync.domains_refresh_failed",
            extra={"connection_id": connection.pk, "error": type(exc).__name__, "code": exc.code},
        )
        return
    if domains is not None:
        governance.connection_store_domains(connection=connection, domains=domains)


def _stale(checked: object, age: dt.timedelta, now: dt.datetime | None) -> bool:
    """Whether a stored ISO timestamp is missing, unreadable or older than ``age``."""
    try:
        checked_at = dt.datetime.fromisoformat(str(checked)) if checked else None
    except ValueError:
        checked_at = None
    return checked_at is None or (now or timezone.now()) - checked_at >= age


def refresh_scope(connection: Connection, adapter: MailboxSource, *, now: dt.datetime | None = None) -> None:
    """Re-read the provider-side scope's members when the last read is over an hour old."""
    details = connection.details or {}
    if not details.get("scope"):
        return
    if not _stale(details.get("scope_checked_at"), SCOPE_REFRESH, now):
        return
    try:
        members = adapter.scope_members(connection=connection)
    except ProviderAuthError as exc:
        services.connection_mark_needs_reconnect(
            connection=connection,
            reason=f"{connection.get_provider_display()} refused Cadence's access: {exc}",
            error=str(exc),
        )
        return
    except ProviderError as exc:  # keep the members we knew; try again next cycle
        logger.warning(
            "mailsync.scope_refresh_failed",
            extra={"connection_id": connection.pk, "error": type(exc).__name__, "code": exc.code},
        )
        return
    governance.scope_members_store(connection=connection, members=members)
    logger.info(
        "mailsync.scope_refreshed",
        extra={"connection_id": connection.pk, "members": len(members) if members is not None else None},
    )
