"""Reads of the Admin Portal home: the organisation's state at a glance — its users and pending
invitations, each connection's health and last sync, the sync rows that failed and need an
admin, and the Salesforce API budget.

Here rather than in copilot's selectors because copilot's org core may not import integrations
(tests/test_architecture.py), while integrations may read the org core. A fixed number of
queries (seven, eight with Salesforce) whatever the number of users, connections and mailboxes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Max, Q
from django.urls import reverse
from django.utils import timezone

from copilot.models import Invitation, Organization, User
from integrations.models import Connection, Provider, SyncState
from integrations.records import APPS
from integrations.salesforce.fetch.common import registered_handler
from integrations.selectors import MAIL_PROVIDERS, app_name
from integrations.sync.health import AppHealth, apps_health

# The share of the daily API allocation above which the budget is shown as a warning.
API_WARN_SHARE = 0.8
# How many failed rows are read for their latest error message, across all connections.
FAILED_SAMPLE = 200


@dataclass
class ConnectionHealth:
    connection: Connection
    name: str
    url: str  # the connection's page in the portal
    rows: int = 0  # sync-state rows (mailboxes, calendars, CRM objects)
    failed: int = 0
    last_sync: dt.datetime | None = None
    last_error: str = ""
    apps: list[tuple[str, AppHealth]] = field(default_factory=list)  # mail connections: per app
    # A CRM connection whose record sync the admin has not turned on (the CRM handler says so).
    sync_off: bool = False

    @property
    def needs_attention(self) -> bool:
        return self.failed > 0 or self.connection.status != Connection.Status.CONNECTED


@dataclass(frozen=True)
class ApiBudget:
    used: int
    maximum: int
    checked_at: dt.datetime | None

    @property
    def percent(self) -> int:
        return round(100 * self.used / self.maximum) if self.maximum else 0

    @property
    def warning(self) -> bool:
        return self.maximum > 0 and self.used >= API_WARN_SHARE * self.maximum


@dataclass(frozen=True)
class PortalOverview:
    active_users: int
    inactive_users: int
    pending_invitations: int
    expired_invitations: int
    connections: list[ConnectionHealth]  # the organisation's own, then people's own
    own_connections: int  # people's own mail connections (not disconnected)
    failed_rows: int
    api_budget: ApiBudget | None

    @property
    def org_wide(self) -> list[ConnectionHealth]:
        return [c for c in self.connections if c.connection.is_org_wide]

    @property
    def attention(self) -> list[ConnectionHealth]:
        return [c for c in self.connections if c.needs_attention]


def _name_and_url(connection: Connection) -> tuple[str, str]:
    if connection.provider == Provider.SALESFORCE:
        url = reverse("integrations:salesforce_details", args=[connection.pk])
    else:
        url = reverse("integrations:catalog") + "?tab=connected"
    name = connection.get_provider_display()
    if not connection.is_org_wide and connection.user is not None:
        name = f"{name} ({connection.user.get_full_name() or connection.user.email})"
    return name, url


def portal_overview(*, organization: Organization, now: dt.datetime | None = None) -> PortalOverview:
    now = now or timezone.now()
    users = User.objects.for_org(organization).aggregate(
        active=Count("pk", filter=Q(is_active=True)), inactive=Count("pk", filter=Q(is_active=False))
    )
    invitations = (
        Invitation.objects.for_org(organization)
        .pending()
        .aggregate(
            pending=Count("pk", filter=Q(expires_at__gt=now)),
            expired=Count("pk", filter=Q(expires_at__lte=now)),
        )
    )
    connections = list(
        Connection.objects.for_org(organization)
        .exclude(status=Connection.Status.DISCONNECTED)
        .select_related("user")
        .defer("credentials")
        .order_by("scope", "provider", "user__email", "pk")  # organisation-wide first
    )
    ids = [c.pk for c in connections]
    totals = {
        row["connection_id"]: row
        for row in SyncState.objects.for_org(organization)
        .filter(connection_id__in=ids)
        .values("connection_id")
        .annotate(
            rows=Count("pk"),
            failed=Count("pk", filter=Q(status=SyncState.Status.FAILED)),
            last_sync=Max("last_success_at"),
        )
        .order_by()
    }
    errors: dict[int, str] = {}
    failed_rows = (
        SyncState.objects.for_org(organization)
        .filter(connection_id__in=ids, status=SyncState.Status.FAILED)
        .exclude(last_error="")
        .order_by("-updated_at")
        .values_list("connection_id", "last_error")[:FAILED_SAMPLE]
    )
    for connection_id, message in failed_rows:
        errors.setdefault(connection_id, message)
    mail_health = apps_health([c for c in connections if c.provider in MAIL_PROVIDERS])
    crm_sync_off = (
        _crm_sync_off(organization) if any(c.provider == Provider.SALESFORCE for c in connections) else False
    )

    rows = []
    for connection in connections:
        name, url = _name_and_url(connection)
        total = totals.get(connection.pk, {})
        rows.append(
            ConnectionHealth(
                connection=connection,
                name=name,
                url=url,
                rows=total.get("rows", 0),
                failed=total.get("failed", 0),
                last_sync=total.get("last_sync"),
                last_error=errors.get(connection.pk, "") or connection.last_error,
                sync_off=crm_sync_off
                and connection.provider == Provider.SALESFORCE
                and connection.is_org_wide,
                apps=[
                    (app_name(connection.provider, app), mail_health[(connection.pk, app)])
                    for app in APPS
                    if (connection.pk, app) in mail_health
                ],
            )
        )
    salesforce = next(
        (c for c in connections if c.provider == Provider.SALESFORCE and c.is_org_wide and c.api_max), None
    )
    return PortalOverview(
        active_users=users["active"],
        inactive_users=users["inactive"],
        pending_invitations=invitations["pending"],
        expired_invitations=invitations["expired"],
        connections=rows,
        own_connections=sum(1 for c in connections if not c.is_org_wide),
        failed_rows=sum(r.failed for r in rows),
        api_budget=ApiBudget(salesforce.api_used or 0, salesforce.api_max, salesforce.api_checked_at)
        if salesforce
        else None,
    )


def _crm_sync_off(organization: Organization) -> bool:
    """Whether the CRM handler (Engage's, registered at start) keeps this organisation's record
    sync off: the home then says so instead of "Last sync: not yet" forever."""
    handler = registered_handler()
    return handler is not None and not handler.enabled(organization)
