"""What Cadence checks through Graph before it stores a Microsoft connection, and keeps
checking: binding a tenant to a Cadence organisation once its admin consented (the checks Graph
can answer and the connection stored, DESIGN "Tenancy and security"), and who belongs to the
tenant (its verified domains and users, re-read hourly by the fan-out).

Cadence's multi-tenant app is shared by every customer, and the consent leg's answer
(``admin_consent=True&tenant=…``) is unsigned. So beyond the verified ID token's ``tid`` (checked
by the view), the person who signed in must hold a role that can grant tenant-wide consent to
application permissions, and a tenant is connected to one Cadence organisation only
(``services.connection_save_from_oauth`` enforces that for every path).
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from copilot.models import Organization, User
from integrations import services
from integrations.exceptions import ProviderError
from integrations.microsoft import directory
from integrations.microsoft.client import GraphClient
from integrations.microsoft.provider import MICROSOFT
from integrations.models import Connection
from integrations.selectors import org_connection

logger = logging.getLogger(__name__)

PROVIDER = MICROSOFT.key

# Who belongs to the connected tenant, kept on the connection so that only the tenant's own
# mailboxes are ever synced or sent from (read at connect, when the security group is saved, and
# hourly by the mailbox fan-out: a new hire becomes eligible, a leaver stops being).
DOMAINS_KEY = "verified_domains"
MEMBERS_KEY = "tenant_members"
CHECKED_KEY = "domains_checked_at"  # when both were last read (the Google side's key too)

NOT_TENANT_ADMIN = (
    "{address} is not a Global Administrator or Privileged Role Administrator of {tenant}; ask one "
    "of them to connect Microsoft 365. Nothing was connected."
)
TENANT_TAKEN = (
    "{tenant} is already connected to another Cadence organisation, and a Microsoft 365 "
    "organisation can be connected to one Cadence organisation only, so nothing was connected. "
    "Please contact Cadence support if it should move to yours."
)


class TenantRefused(Exception):
    """The tenant may not be connected for this admin or organisation: ``reason`` for the log,
    the message for the admin."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def tenant_connect(
    *, organization: Organization, actor: User, tenant_id: str, user_oid: str, username: str
) -> Connection:
    """Connect ``tenant_id`` for ``organization`` once its consent came back: check Cadence can
    act in the tenant (an app token, then the directory) and that ``user_oid`` (from the verified
    ID token) holds a role that can grant tenant-wide consent, then store the connection with the
    tenant's verified domains and own users. ``TenantRefused`` for a user without such a role or
    a tenant another Cadence organisation holds; ``ProviderError`` when Microsoft refuses. A
    reconnect to the same tenant keeps the chosen security group."""
    probe = Connection(
        organization=organization,
        provider=PROVIDER,
        scope=Connection.Scope.ORGANIZATION,
        external_org_id=tenant_id,
        details={"mode": "app", "tenant_id": tenant_id},
    )
    with GraphClient(probe) as client:
        info = directory.tenant_info(client)
        if info.id.lower() != tenant_id:
            raise ProviderError("Microsoft Graph answered for another organisation than the one consented.")
        # A tenant that consented once gives Cadence an app token whoever comes back here, so the
        # consent answer proves nothing: the signed-in user must be one who could have given it.
        if not directory.can_grant_admin_consent(client, user_oid):
            raise TenantRefused(
                "not_tenant_admin",
                NOT_TENANT_ADMIN.format(
                    address=username or "You", tenant=info.name or info.domain or tenant_id
                ),
            )
        members = tenant_directory(client)
    existing = org_connection(organization, PROVIDER)
    kept: dict[str, Any] = {}
    if existing is not None and (existing.details or {}).get("tenant_id") == tenant_id:
        kept = {
            key: existing.details[key]
            for key in ("scope", "scope_members", "scope_checked_at", "initial_sync_days")
            if key in existing.details
        }
    try:
        return services.connection_save_from_oauth(
            organization=organization,
            actor=actor,
            provider=PROVIDER,
            scope=Connection.Scope.ORGANIZATION,
            # App-only access holds no token: msal mints one per hour from Cadence's credentials.
            credentials={"tenant_id": tenant_id},
            external_org_id=tenant_id,
            external_user_id="",
            external_username=info.domain or tenant_id,
            instance_url="",
            details={
                **kept,
                **members,
                CHECKED_KEY: timezone.now().isoformat(),
                "mode": "app",
                "tenant_id": tenant_id,
                "tenant_domain": info.domain,
                "tenant_name": info.name,
                "tenant_users": len(members[MEMBERS_KEY]),
            },
        )
    except services.ExternalOrgTaken as exc:
        raise TenantRefused(
            "tenant_taken", TENANT_TAKEN.format(tenant=info.name or info.domain or tenant_id)
        ) from exc


def tenant_directory(client: GraphClient) -> dict[str, list[str]]:
    """The details keys for the tenant ``client`` acts in (two Graph reads)."""
    tenant = directory.tenant_info(client)
    return {DOMAINS_KEY: list(tenant.domains), MEMBERS_KEY: directory.member_addresses(client)}


@transaction.atomic
def tenant_directory_store(*, connection: Connection, client: GraphClient) -> Connection:
    """Re-read the tenant's verified domains and members through Graph and store them."""
    found = tenant_directory(client)
    locked = Connection.objects.select_for_update().only("pk", "details").get(pk=connection.pk)
    details = {
        **(locked.details or {}),
        **found,
        CHECKED_KEY: timezone.now().isoformat(),
        "tenant_users": len(found[MEMBERS_KEY]),
    }
    Connection.objects.filter(pk=connection.pk).update(details=details, updated_at=timezone.now())
    connection.details = details
    logger.info(
        "microsoft.tenant_directory.stored",
        extra={"connection_id": connection.pk, "members": len(found[MEMBERS_KEY])},
    )
    return connection
