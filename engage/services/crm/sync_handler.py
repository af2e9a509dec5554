"""Engage's side of the Salesforce sync (G5, G6): what a changed Lead or Contact does to the
organisation's contacts. ``integrations.salesforce.sync`` fetches the records (incremental sync
every 5 minutes, the historical poll) and hands them here a query page at a time; this module
decides what to store. It never calls Salesforce.

Who gets a local copy. G10 says Engage copies a Salesforce person only once a user emails,
calls or enrols them, and otherwise reads live; G6 says the historical poll creates a contact for
every matching record. The rule here: **the sync rules define who is copied.** A record that
matches the Lead or Contact sync rule — found by the historical poll or by the 5-minute sync while
sync is on — becomes (or updates) an Engage contact; everyone else stays in Salesforce and is
read live, and gets a local copy only when a seller works them (F2's lookup on add). With sync
off nothing is copied by this module at all.

What one page of records does to the contacts is ``engage.services.crm.sync_batch``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from copilot.models import Organization
from engage.crm.describe import Describe, find_field, relationship_field
from engage.crm.fields import CONTACT, LEAD
from engage.crm.mapping import mapped_crm_fields
from engage.crm.soql_rules import check_conditions, compile_where
from engage.models import Contact, CrmSettings
from engage.services.crm.configuration import crm_settings_for, mapping_rows, rule_for
from engage.services.crm.sync_batch import OWNER_EMAIL, SyncBatch
from integrations.records import BatchResult, CrmRecord

logger = logging.getLogger(__name__)

SYNCED_OBJECTS = (LEAD, CONTACT)
# Fields linking needs whatever the mapping says (the sync adds Id, SystemModstamp, IsDeleted).
LINK_FIELDS: dict[str, tuple[str, ...]] = {
    LEAD: ("Email", "FirstName", "LastName", "Phone", "Status", "HasOptedOutOfEmail", "OwnerId"),
    CONTACT: (
        "Email",
        "FirstName",
        "LastName",
        "Phone",
        "AccountId",
        "Account.Name",
        "HasOptedOutOfEmail",
        "OwnerId",
    ),
}
SYSTEM_FIELDS = frozenset({"id", "systemmodstamp", "isdeleted"})


class SyncRuleBroken(ValidationError):
    """The saved rule no longer fits the object (a field was deleted or changed in Salesforce):
    the sync must stop rather than read every record."""


# --- What the sync asks ---------------------------------------------------------------------------


class EngageCrmHandler:
    """The ``CrmSyncHandler`` Engage registers with ``integrations.salesforce.sync``."""

    def enabled(self, organization: Organization) -> bool:
        # A read, never the get_or_create of crm_settings_for: the Admin Portal home asks on GET.
        return CrmSettings.objects.filter(organization=organization, sync_enabled=True).exists()

    def objects(self, organization: Organization) -> list[str]:
        # Accounts come along with Contacts (Account.Name / AccountId), never on their own.
        return list(SYNCED_OBJECTS)

    def fields_for(self, organization: Organization, object_name: str, describe: Describe) -> list[str]:
        """The mapping's fields plus what linking needs, as the describe spells them; fields the
        describe does not have (deleted in Salesforce, or not visible to the connected user) are
        left out rather than break the query."""
        _check_object(object_name)
        rows = mapping_rows(organization=organization, sobject=object_name)
        wanted = [*mapped_crm_fields(rows), *LINK_FIELDS[object_name], OWNER_EMAIL]
        chosen: dict[str, str] = {}
        for name in wanted:
            if name.lower() in SYSTEM_FIELDS or name.lower() in chosen:
                continue
            spelled = _spelled(describe, name)
            if spelled:
                chosen[name.lower()] = spelled
        return list(chosen.values())

    def where_for(self, organization: Organization, object_name: str, describe: Describe) -> str:
        """The saved sync rule compiled against ``describe`` (``""``: every record). Uses the
        describe the sync already has, so checking the rule costs no API call.
        ``SyncRuleBroken`` when the rule no longer fits the object."""
        _check_object(object_name)
        rule = rule_for(organization=organization, sobject=object_name)
        conditions = list(rule.conditions or [])
        if not conditions:
            return ""
        problems = check_conditions(conditions, describe)
        if problems:
            raise SyncRuleBroken(
                f"The {object_name} sync rule no longer fits Salesforce: "
                + " ".join(f"Condition {i + 1}: {m}" for i, m in sorted(problems.items()))
                + " Fix it in Admin Portal › CRM › Sync rules."
            )
        return compile_where(conditions, rule.combinator, describe)

    def apply(self, organization: Organization, object_name: str, records: list[CrmRecord]) -> BatchResult:
        """Upsert one page of records into the organisation's contacts (see the module
        docstring). A unique-constraint clash means someone added one of these people in the
        meantime: the batch is rolled back and decided again once."""
        _check_object(object_name)
        if not records:
            return BatchResult()
        for attempt in (1, 2):
            try:
                with transaction.atomic():
                    return SyncBatch(organization, object_name, records).run()
            except IntegrityError:
                if attempt == 2:
                    raise
                logger.info(
                    "engage.crm.sync_batch_retried",
                    extra={"organization_id": organization.pk, "object_name": object_name},
                )
        raise AssertionError("unreachable")

    def lookback_seconds(self, organization: Organization) -> int:
        """How far each incremental pass looks back before its watermark (CRM settings)."""
        return crm_settings_for(organization).lookback_seconds

    def linked_ids(self, organization: Organization, object_name: str) -> Iterator[str]:
        """The Salesforce ids of the object the organisation's contacts are linked to (the sync's
        full reconcile unlinks those Salesforce no longer has)."""
        _check_object(object_name)
        linked = Contact.objects.for_org(organization).filter(crm_type=object_name).exclude(crm_id="")
        return linked.values_list("crm_id", flat=True).iterator(chunk_size=5_000)

    def unlink(self, organization: Organization, object_name: str, ids: list[str]) -> int:
        """Records deleted in Salesforce: their contacts stay, with their history, but are no
        longer linked (``crm_type``/``crm_id`` cleared). Returns how many were unlinked."""
        _check_object(object_name)
        unlinked = 0
        now = timezone.now()
        for start in range(0, len(ids), 2_000):
            chunk = [i for i in ids[start : start + 2_000] if i]
            unlinked += (
                Contact.objects.for_org(organization)
                .filter(crm_type=object_name, crm_id__in=chunk)
                .update(crm_type="", crm_id="", updated_at=now)
            )
        return unlinked


def _check_object(object_name: str) -> None:
    if object_name not in SYNCED_OBJECTS:
        raise ValueError(f"Cadence does not sync {object_name} records on their own.")


def _spelled(describe: Describe, name: str) -> str | None:
    """``name`` as the describe spells it, or None when the object has no such field (a dotted
    name needs the relationship; its target field is trusted, as the mapping was verified)."""
    if "." not in name:
        field = find_field(describe, name)
        return field["name"] if field else None
    relationship, target = name.split(".", 1)
    reference = relationship_field(describe, relationship)
    if reference is None or "." in target:
        return None
    if name == OWNER_EMAIL and "User" not in (reference.get("referenceTo") or []):
        return None
    return f"{reference['relationshipName']}.{target}"


handler = EngageCrmHandler()
