"""Reads of connections and sync state for views, template tags and other apps; for Google and
Microsoft also who is synced and why not (``eligibility``, the read side of ``governance``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from allauth.account.models import EmailAddress
from django.db.models import Q, QuerySet

from copilot.models import Organization, User
from integrations.models import Connection, ConnectionApp, Provider, SyncOptOut, SyncState
from integrations.records import APPS
from integrations.sync.source import MailboxRef


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


def user_connections(organization: Organization, *providers: str) -> QuerySet[Connection]:
    """Members' own connections to ``providers`` that are not disconnected, for admins."""
    return (
        Connection.objects.for_org(organization)
        .filter(provider__in=providers, scope=Connection.Scope.USER)
        .exclude(status=Connection.Status.DISCONNECTED)
        .select_related("user")
        .defer("credentials")
        .order_by("provider", "user__email")
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
MAIL_PROVIDERS = (Provider.GOOGLE, Provider.MICROSOFT)
APP_NAMES = {
    (Provider.GOOGLE, "email"): "Gmail",
    (Provider.GOOGLE, "calendar"): "Google Calendar",
    (Provider.MICROSOFT, "email"): "Microsoft Outlook",
    (Provider.MICROSOFT, "calendar"): "Microsoft Calendar",
}


def app_name(provider: str, app: str) -> str:
    return APP_NAMES.get((provider, app), f"{provider} {app}")


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


def mailbox_states(connection: Connection, kinds: tuple[str, ...]) -> dict[int, list[SyncState]]:
    """user id → that user's mailbox rows of ``kinds`` under ``connection`` (one query)."""
    states: dict[int, list[SyncState]] = {}
    for state in SyncState.objects.filter(connection=connection, kind__in=kinds).order_by("kind"):
        states.setdefault(state.user_id, []).append(state)
    return states


def installed_apps(connection: Connection) -> list[ConnectionApp]:
    """The connection's installed apps, email first (uses a prefetch of ``apps`` when there is one)."""
    return sorted(
        (row for row in connection.apps.all() if row.installed),
        key=lambda row: APPS.index(row.app) if row.app in APPS else len(APPS),
    )


def installed_app_names(connection: Connection | None) -> list[str]:
    """ "Gmail", "Google Calendar", … for the connection's installed apps, email first."""
    if connection is None:
        return []
    return [app_name(connection.provider, row.app) for row in installed_apps(connection)]


def app_row(connection: Connection, app: str) -> ConnectionApp | None:
    return ConnectionApp.objects.filter(connection=connection, app=app).first()


def email_app_connected(connection: Connection) -> bool:
    """Whether sending may use ``connection``: its email app is installed (ON or OFF)."""
    return ConnectionApp.objects.filter(
        connection=connection, app=ConnectionApp.App.EMAIL, installed=True
    ).exists()


# --- Who is synced (B4) --------------------------------------------------------------------------
# Sentences shown in "Manage users' sync data" (the reason column).
REASON_SYNCED = "Synced"
REASON_OPTED_OUT = "Opted out"
REASON_USERNAME = "User name differs from email"
REASON_INACTIVE = "Deactivated user"
REASON_APP_OFF = "Sync is turned off for this app"
REASON_APP_DISCONNECTED = "This app is disconnected"
REASON_CONNECTION_DISCONNECTED = "The connection is disconnected"
REASON_ADMIN_MANAGED = "Your organisation's admin-managed connection serves this mailbox"
REASON_UNVERIFIED = "Email address not confirmed in Cadence yet"
REASON_DOMAINS_UNCHECKED = "Domains not checked yet: reconnect"
REASON_FOREIGN_DOMAIN = "Address is not in a domain of the connected organisation"
REASON_NOT_IN_TENANT = "Not a user of the connected Microsoft tenant"
REASON_OTHER_MAILBOX = "The connection signed in as another address"


@dataclass(frozen=True)
class Eligibility:
    user: User
    syncing: bool
    reason: str  # "Synced" when syncing, else why not
    opted_out: bool = False  # on the app's opt-out list (whether or not something else blocks first)


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


def verified_domains(connection: Connection) -> frozenset[str] | None:
    """The lower-cased domains the provider says the connected organisation owns (Google: the
    Directory's verified domains and aliases; Microsoft: the tenant's verified domains), or None
    when they were never read (then nobody is eligible: fail closed)."""
    domains = (connection.details or {}).get("verified_domains")
    if domains is None:
        return None
    return frozenset(str(d).strip().lower() for d in domains if d)


def tenant_members(connection: Connection) -> frozenset[str] | None:
    """Microsoft: lower-cased addresses of the connected tenant's users (Graph), or None."""
    members = (connection.details or {}).get("tenant_members")
    if members is None:
        return None
    return frozenset(str(m).strip().lower() for m in members if m)


def verified_addresses(user_ids: Iterable[int]) -> set[tuple[int, str]]:
    """(user id, lower-cased address) of every address those users confirmed, in one query."""
    rows = EmailAddress.objects.filter(user_id__in=list(user_ids), verified=True).values_list(
        "user_id", "email"
    )
    return {(user_id, email.lower()) for user_id, email in rows}


def address_verified(user: User) -> bool:
    """Whether ``user`` proved they own their address (allauth's confirmation or an invitation)."""
    return EmailAddress.objects.filter(user=user, email__iexact=user.email, verified=True).exists()


def mailbox_reason(connection: Connection, address: str, *, verified: bool) -> str:
    """Why ``connection`` may not act for ``address`` (read, impersonate, send), or "".

    Cadence's provider credentials are shared by every customer, so an address counts only when
    its owner proved it to Cadence and the provider says it belongs to what was connected: the
    Workspace's / tenant's verified domains (and, for Microsoft, the tenant's users) for an
    admin-managed connection, the signed-in address for a user-managed one."""
    address = address.strip().lower()
    if not verified:
        return REASON_UNVERIFIED
    if not connection.is_org_wide:
        return "" if address == (connection.external_username or "").strip().lower() else REASON_OTHER_MAILBOX
    domains = verified_domains(connection)
    if domains is None:
        return REASON_DOMAINS_UNCHECKED
    if address.rpartition("@")[2] not in domains:
        return REASON_FOREIGN_DOMAIN
    if connection.provider == Provider.MICROSOFT:
        members = tenant_members(connection)
        if members is None:
            return REASON_DOMAINS_UNCHECKED
        if address not in members:
            return REASON_NOT_IN_TENANT
    return ""


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
    ``user_ids`` narrows the answer to those users. Four queries whatever the number of users
    (users, their verified addresses, opt-outs, the app row when not given)."""
    if app not in APPS:
        raise ValueError(f"Unknown app {app!r}: expected one of {', '.join(APPS)}.")
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
    users = list(users)
    verified = verified_addresses(u.pk for u in users) if not blocker else set()
    members = scope_members(connection)
    outside = scope_reason(connection) if members is not None else ""
    result = []
    for user in users:
        reason = blocker or _user_reason(connection, user, verified, members, outside, opted_out)
        result.append(
            Eligibility(
                user=user,
                syncing=not reason,
                reason=reason or REASON_SYNCED,
                opted_out=user.pk in opted_out,
            )
        )
    return result


def _user_reason(
    connection: Connection,
    user: User,
    verified: set[tuple[int, str]],
    members: frozenset[str] | None,
    outside: str,
    opted_out: set[int],
) -> str:
    if not user.is_active:
        return REASON_INACTIVE
    email = user.email.lower()
    owned = mailbox_reason(connection, email, verified=(user.pk, email) in verified)
    if owned:
        return owned
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
    disconnected still does (sending then says why it cannot). A connection serves only an
    address it may act for (``mailbox_reason``): never an unconfirmed or foreign one."""
    if not getattr(user, "is_authenticated", False) or user.organization_id is None:
        return None
    if not address_verified(user):
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
        if (members is None or email in members) and not mailbox_reason(connection, email, verified=True):
            return connection
    for connection in rows:
        if (
            not connection.is_org_wide
            and connection.provider not in admin_providers
            and not mailbox_reason(connection, email, verified=True)
        ):
            return connection
    return None
