"""Health of each mail/calendar app of a set of connections, for Admin Portal › Integrations ›
Connected: last sync, lag, last error, how many mailboxes sync, run and failed. Two queries for
any number of connections and mailboxes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Max, Min, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from integrations.models import Connection, SyncState
from integrations.records import APP_OF_KIND

ERROR_SAMPLE_LIMIT = 500


@dataclass
class AppHealth:
    connection_id: int
    app: str
    mailboxes: int = 0  # sync-state rows (a user's mail = 1; calendar + address book = 2)
    running: int = 0
    failed: int = 0
    last_sync: dt.datetime | None = None  # the newest successful run of any mailbox
    oldest_sync: dt.datetime | None = None  # the mailbox furthest behind (never synced: since created)
    last_error: str = ""
    last_error_at: dt.datetime | None = None
    last_error_mailbox: str = ""

    @property
    def lag(self) -> dt.timedelta | None:
        """How far behind the furthest-behind mailbox is."""
        if self.oldest_sync is None:
            return None
        return max(timezone.now() - self.oldest_sync, dt.timedelta(0))

    @property
    def lag_seconds(self) -> int | None:
        lag = self.lag
        return int(lag.total_seconds()) if lag is not None else None


def apps_health(connections: Iterable[Connection]) -> dict[tuple[int, str], AppHealth]:
    """``(connection id, app)`` → its health, for every app that has mailbox rows."""
    ids = [connection.pk for connection in connections]
    health: dict[tuple[int, str], AppHealth] = {}
    if not ids:
        return health
    rows = (
        SyncState.objects.filter(connection_id__in=ids, kind__in=list(APP_OF_KIND))
        .values("connection_id", "kind")
        .annotate(
            mailboxes=Count("pk"),
            running=Count("pk", filter=Q(status=SyncState.Status.RUNNING)),
            failed=Count("pk", filter=Q(status=SyncState.Status.FAILED)),
            last_sync=Max("last_success_at"),
            oldest_sync=Min(Coalesce("last_success_at", "created_at")),
        )
        .order_by()
    )
    for row in rows:
        key = (row["connection_id"], APP_OF_KIND[row["kind"]])
        entry = health.setdefault(key, AppHealth(connection_id=key[0], app=key[1]))
        entry.mailboxes += row["mailboxes"]
        entry.running += row["running"]
        entry.failed += row["failed"]
        entry.last_sync = _latest(entry.last_sync, row["last_sync"])
        entry.oldest_sync = _earliest(entry.oldest_sync, row["oldest_sync"])
    errors = (
        SyncState.objects.filter(connection_id__in=ids, kind__in=list(APP_OF_KIND))
        .exclude(last_error="")
        .order_by("-updated_at")
        .values("connection_id", "kind", "last_error", "updated_at", "object_name")[:ERROR_SAMPLE_LIMIT]
    )
    for row in errors:
        key = (row["connection_id"], APP_OF_KIND[row["kind"]])
        entry = health.setdefault(key, AppHealth(connection_id=key[0], app=key[1]))
        if not entry.last_error:
            entry.last_error = row["last_error"]
            entry.last_error_at = row["updated_at"]
            entry.last_error_mailbox = row["object_name"].split(":", 1)[-1]
    return health


def _latest(a: dt.datetime | None, b: dt.datetime | None) -> dt.datetime | None:
    return max(x for x in (a, b) if x is not None) if (a or b) else None


def _earliest(a: dt.datetime | None, b: dt.datetime | None) -> dt.datetime | None:
    return min(x for x in (a, b) if x is not None) if (a or b) else None
