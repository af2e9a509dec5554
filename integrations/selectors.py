"""Reads of connections and sync state for views, template tags and other apps."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from copilot.models import Organization, User
from integrations.models import Connection, ConnectionApp, SyncState


def org_connection(organization: Organization | None, provider: str) -> Connection | None:
    """The organisation's admin-managed connection to ``provider`` (in any status), or None."""
    if organization is None:
        return None
    return (
        Connection.objects.for_org(organization)
        .filter(provider=provider, scope=Connection.Scope.ORGANIZATION)
        .select_related("connected_by")
        .first()
    )


def user_connection(user: User, provider: str) -> Connection | None:
    """``user``'s own connection to ``provider`` (in any status), or None."""
    if not user.is_authenticated or user.organization_id is None:
        return None
    return (
        Connection.objects.for_org(user.organization)
        .filter(provider=provider, scope=Connection.Scope.USER, user=user)
        .first()
    )


def connections_of(user: User, provider: str) -> tuple[Connection | None, Connection | None]:
    """(the organisation's connection, ``user``'s own) to ``provider``, in one query."""
    if not user.is_authenticated or user.organization_id is None:
        return None, None
    rows = Connection.objects.for_org(user.organization).filter(
        Q(scope=Connection.Scope.ORGANIZATION) | Q(scope=Connection.Scope.USER, user=user), provider=provider
    )
    org_wide = own = None
    for row in rows:
        if row.scope == Connection.Scope.ORGANIZATION:
            org_wide = row
        else:
            own = row
    return org_wide, own


def user_connections(organization: Organization, provider: str) -> QuerySet[Connection]:
    """Members' own connections to ``provider`` that are not disconnected, for admins."""
    return (
        Connection.objects.for_org(organization)
        .filter(provider=provider, scope=Connection.Scope.USER)
        .exclude(status=Connection.Status.DISCONNECTED)
        .select_related("user")
        .order_by("user__email")
    )


def instance_warning(connection: Connection, org_wide: Connection | None = None) -> str | None:
    """Why a user's own connection is to another provider org than the organisation's, or None
    (G1 recommends the same Salesforce instance). Pass ``org_wide`` when already loaded."""
    if connection.is_org_wide:
        return None
    if org_wide is None:
        org_wide = org_connection(connection.organization, connection.provider)
    if org_wide is None or org_wide.status == Connection.Status.DISCONNECTED:
        return None
    if (org_wide.external_org_id, org_wide.instance_url) == (
        connection.external_org_id,
        connection.instance_url,
    ):
        return None
    return (
        f"Your {connection.get_provider_display()} connection goes to a different org than your "
        f"organisation's ({connection.instance_url} instead of {org_wide.instance_url}). Records you "
        "create or look up there will not match your team's."
    )


# --- Mail and calendar (Google, Microsoft) -------------------------------------------------------
MAIL_PROVIDERS = ("google", "microsoft")


def org_connections(organization: Organization | None) -> dict[str, Connection]:
    """provider → the organisation's admin-managed connection that is not disconnected, with its
    apps, in two queries."""
    if organization is None:
        return {}
    rows = (
        Connection.objects.for_org(organization)
        .filter(scope=Connection.Scope.ORGANIZATION)
        .exclude(status=Connection.Status.DISCONNECTED)
        .select_related("connected_by")
        .prefetch_related("apps")
        .defer("credentials")
    )
    return {row.provider: row for row in rows}


def mail_user_connections(organization: Organization) -> QuerySet[Connection]:
    """Members' own Google/Microsoft connections that are not disconnected, for admins."""
    return (
        Connection.objects.for_org(organization)
        .filter(provider__in=MAIL_PROVIDERS, scope=Connection.Scope.USER)
        .exclude(status=Connection.Status.DISCONNECTED)
        .select_related("user")
        .prefetch_related("apps")
        .defer("credentials")
        .order_by("provider", "user__email")
    )


def mailbox_states(connection: Connection, kinds: tuple[str, ...]) -> dict[int, list[SyncState]]:
    """user id → that user's mailbox rows of ``kinds`` under ``connection`` (one query)."""
    states: dict[int, list[SyncState]] = {}
    for state in SyncState.objects.filter(connection=connection, kind__in=kinds).order_by("kind"):
        states.setdefault(state.user_id, []).append(state)
    return states


def installed_apps(connection: Connection) -> list[ConnectionApp]:
    """The connection's installed apps (uses a prefetch of ``apps`` when there is one)."""
    order = {"email": 0, "calendar": 1}
    return sorted(
        (row for row in connection.apps.all() if row.installed), key=lambda row: order.get(row.app, 9)
    )
