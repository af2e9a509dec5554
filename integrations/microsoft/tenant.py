"""Who belongs to the connected tenant, as Graph says: its verified domains and its own users'
addresses, kept on the connection (``details["verified_domains"]``, ``details["tenant_members"]``)
so that only the tenant's own mailboxes are ever synced or sent from (DESIGN, "Tenancy and
security"). Read at connect, again when the security group is saved, and hourly by the mailbox
fan-out (``mailsync.fanout.refresh_domains``): a new hire becomes eligible, a leaver stops being.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from integrations.microsoft import directory
from integrations.microsoft.graph import GraphClient
from integrations.models import Connection

logger = logging.getLogger(__name__)

DOMAINS_KEY = "verified_domains"
MEMBERS_KEY = "tenant_members"
CHECKED_KEY = "domains_checked_at"  # when both were last read (the Google side's key too)


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
