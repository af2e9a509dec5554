"""Engage's writes to Salesforce, as services (F2, G9, G13): look a contact up (and link it, or
create it in Salesforce) when it is added; push Lead Status when a seller changes a linked
Lead's status; push Email Opt Out on unsubscribe; link a CSV import's contacts by email.

Every Salesforce call happens outside database transactions (``engage.crm.writes`` owns the
client and logs each write); the Engage rows are written in short transactions of their own.
Status and opt-out pushes run as tasks enqueued on commit. The activity Tasks (G11, G12) are in
``engage.crm.activities``."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from copilot.models import Organization, User
from copilot.services.audit import audit_record
from engage.crm import salesforce
from engage.crm.lookup import (
    CONTACT,
    FILLABLE,
    LEAD,
    Found,
    engage_values,
    find_by_id,
    find_person,
    prospect_data,
    select_fields,
)
from engage.crm.mapping import BOTH, MappingRow
from engage.crm.rules import soql_string
from engage.crm.writes import (
    CrmWriter,
    RecordUpdate,
    check_create,
    provider_message,
    refusal_message,
    type_of,
)
from engage.imports.bulk import update_contacts
from engage.models import Contact, ContactImport, ContactStatus, CrmSettings, CrmWriteLog
from engage.services.contacts import account_for_company
from engage.services.crm import crm_settings_for, mapping_rows
from integrations.exceptions import ProviderError
from integrations.salesforce.errors import SalesforceError

logger = logging.getLogger(__name__)

Action = CrmWriteLog.Action
PUSH_CHUNK = 1_000  # contact ids per status-push task
IMPORT_LINK_CAP = 2_000  # emails looked up after a CSV import (2 queries per 200)
IN_CHUNK = 200  # values per ``IN (...)`` list: keeps the query URL well under Salesforce's 16 KB


@dataclass(frozen=True)
class CrmOutcome:
    """What adding a contact did in Salesforce, for the person who added it."""

    level: str  # "success" | "info" | "warning" | "error" (django.contrib.messages levels)
    message: str
    crm_type: str = ""
    crm_id: str = ""


# --- F2: a contact was added ------------------------------------------------------------------------


def crm_contact_added(*, contact: Contact, actor: User | None) -> CrmOutcome | None:
    """Look the new contact up in Salesforce and link it (taking the record's data per the
    mapping), or create it as the CRM settings say (Lead, Contact or nothing). None when the
    organisation has no Salesforce or the contact is already linked. Never raises provider
    errors: the contact exists in Engage whatever Salesforce says. Call after the contact's
    transaction has committed (the view does)."""
    organization = contact.organization
    if contact.crm_id:
        return None
    connection = salesforce.org_connection(organization)
    if connection is None:
        return None
    settings_row = crm_settings_for(organization)
    rows = {s: mapping_rows(organization=organization, sobject=s) for s in (LEAD, CONTACT)}
    with CrmWriter(organization, actor=actor, connection=connection) as writer:
        try:
            describes = {
                s: salesforce.describe_for(organization, s, connection=connection) for s in (LEAD, CONTACT)
            }
            fields = {s: select_fields(rows[s], describes[s]) for s in (LEAD, CONTACT)}
            found = find_person(writer.client, contact, fields)
        except salesforce.CrmUnavailable as exc:
            return CrmOutcome("warning", f"Not checked in Salesforce: {exc}")
        except SalesforceError as exc:
            return CrmOutcome("warning", f"Not checked in Salesforce. {refusal_message(exc)}")
        except ProviderError as exc:
            return CrmOutcome("warning", f"Not checked in Salesforce. {provider_message(exc)}")
        if found is not None:
            return _link_found(contact, found, rows[found.sobject], actor)
        choice = settings_row.new_prospects_as
        if choice == CrmSettings.NewProspects.NONE:
            return CrmOutcome(
                "info", "Not found in Salesforce. Your CRM settings create no Lead or Contact there."
            )
        if settings_row.engage_created_handling == CrmSettings.EngageCreated.KEEP_LOCAL:
            return CrmOutcome(
                "info",
                "Not found in Salesforce. Your sync settings keep contacts created in Engage here only.",
            )
        sobject = LEAD if choice == CrmSettings.NewProspects.LEAD else CONTACT
        data, problem = prospect_data(contact, sobject, rows[sobject], describes[sobject])
        if problem:
            writer.skip(check_create(sobject), sobject, problem, contact=contact, code="COMPANY_MISSING")
            return CrmOutcome("warning", problem)
        result = writer.create(sobject, data, contact=contact)
        if result.ok:
            linked = contact_link_crm(
                contact=contact, sobject=sobject, record_id=result.record_id, values={}, actor=actor
            )
            if not linked:
                return CrmOutcome("warning", _taken_message(sobject, result.record_id))
            return CrmOutcome(
                "success", f"Created Salesforce {sobject} {result.record_id}.", sobject, result.record_id
            )
        if result.duplicate_id:
            return _link_duplicate(writer, contact, result.duplicate_id, rows, fields, actor)
        return CrmOutcome("warning" if result.retryable else "error", result.message)


def _link_found(contact: Contact, found: Found, rows: list[MappingRow], actor: User | None) -> CrmOutcome:
    values = engage_values(found.record, rows)
    if not contact_link_crm(
        contact=contact, sobject=found.sobject, record_id=found.id, values=values, actor=actor
    ):
        return CrmOutcome("warning", _taken_message(found.sobject, found.id))
    return CrmOutcome(
        "success",
        f"Linked to Salesforce {found.sobject} {found.id} (found by {found.how}).",
        found.sobject,
        found.id,
    )


def _link_duplicate(
    writer: CrmWriter,
    contact: Contact,
    duplicate_id: str,
    rows: dict[str, list[MappingRow]],
    fields: dict[str, list[str]],
    actor: User | None,
) -> CrmOutcome:
    """Salesforce's duplicate rule named an existing record: link to it instead (never a second
    record), with its data when it can still be read."""
    sobject = type_of(duplicate_id) or LEAD
    found = None
    try:
        found = find_by_id(writer.client, sobject, duplicate_id, fields[sobject])
    except (SalesforceError, ProviderError):
        logger.info("engage.crm.duplicate_unreadable", extra={"record_id": duplicate_id})
    values = engage_values(found.record, rows[sobject]) if found is not None else {}
    if not contact_link_crm(
        contact=contact, sobject=sobject, record_id=duplicate_id, values=values, actor=actor
    ):
        return CrmOutcome("warning", _taken_message(sobject, duplicate_id))
    return CrmOutcome(
        "success",
        f"Linked to Salesforce {sobject} {duplicate_id}: Salesforce's duplicate rule says this person is already there.",
        sobject,
        duplicate_id,
    )


def _taken_message(sobject: str, record_id: str) -> str:
    return (
        f"Salesforce {sobject} {record_id} is already linked to another contact here, so this one "
        "was not linked. Merge the two contacts."
    )


def contact_link_crm(
    *, contact: Contact, sobject: str, record_id: str, values: dict[str, Any], actor: User | None
) -> bool:
    """Link ``contact`` to a Salesforce Lead or Contact and take the record's values (non-empty
    ones, ``status`` matched by picklist value). False when another contact holds that record."""
    try:
        with transaction.atomic():
            return _link_crm(contact, sobject, record_id, values, actor)
    except IntegrityError:  # linked to someone else a moment ago
        return False


def _link_crm(
    contact: Contact, sobject: str, record_id: str, values: dict[str, Any], actor: User | None
) -> bool:
    organization = contact.organization
    taken = (
        Contact.objects.for_org(organization)
        .filter(crm_type=sobject, crm_id=record_id)
        .exclude(pk=contact.pk)
        .exists()
    )
    if taken:
        return False
    locked = Contact.objects.select_for_update().get(pk=contact.pk)
    changed: dict[str, Any] = {"crm_type": sobject, "crm_id": record_id}
    for name in FILLABLE:
        if name in values and getattr(locked, name) != values[name]:
            changed[name] = values[name]
    if "company" in changed:
        changed["account"] = account_for_company(organization=organization, company=changed["company"])
    crm_status = values.get("status")
    if crm_status:
        status = ContactStatus.objects.for_org(organization).filter(crm_value=crm_status).first()
        if status is not None and status.pk != locked.status_id:
            changed["status"] = status
    changed["updated_at"] = timezone.now()
    for name, value in changed.items():
        setattr(locked, name, value)
    locked.save(update_fields=list(changed))
    for name, value in changed.items():  # the caller's instance shows the link too
        setattr(contact, name, value)
    audit_record(
        organization=organization,
        actor=actor,
        action="contact.crm_linked",
        target=locked.email or str(locked),
        data={
            "crm_type": sobject,
            "crm_id": record_id,
            "fields": sorted(set(changed) - {"crm_type", "crm_id", "updated_at"}),
        },
    )
    return True


# --- G9: Lead Status ------------------------------------------------------------------------------


def _mapped_both(organization: Organization, sobject: str, engage_name: str, crm_name: str) -> bool:
    """Whether the object's mapping writes ``engage_name`` back to ``crm_name`` (bi-directional)."""
    for row in mapping_rows(organization=organization, sobject=sobject):
        if row.engage_field == engage_name:
            return row.direction == BOTH and row.crm_field.lower() == crm_name.lower()
    return False


def status_push_wanted(*, organization: Organization, status: ContactStatus) -> bool:
    """A status change is written to linked Leads when the status mirrors a Lead Status value and
    the Lead mapping takes Status both ways (and Salesforce is connected)."""
    return (
        bool(status.crm_value)
        and salesforce.org_connection(organization) is not None
        and _mapped_both(organization, LEAD, "status", "Status")
    )


def crm_status_push_on_commit(*, contact_ids: Sequence[int], actor: User | None) -> None:
    """Enqueue ``crm_push_status`` for these Lead-linked contacts once the caller's transaction
    commits (the caller checked ``status_push_wanted``), 1,000 contacts a task."""
    from engage.tasks import crm_push_status

    actor_id = actor.pk if actor is not None else None
    ids = list(contact_ids)
    for start in range(0, len(ids), PUSH_CHUNK):
        chunk = ids[start : start + PUSH_CHUNK]
        transaction.on_commit(lambda chunk=chunk: crm_push_status.delay(chunk, actor_id=actor_id))


def lead_linked_ids(contacts: QuerySet[Contact]) -> list[int]:
    return list(
        contacts.filter(crm_type=Contact.CrmType.LEAD).exclude(crm_id="").values_list("pk", flat=True)
    )


@dataclass
class PushReport:
    written: int = 0
    failed: int = 0
    retry_ids: list[int] = field(default_factory=list)  # Salesforce unreachable / out of requests


def crm_push_statuses(*, contact_ids: Iterable[int], actor_id: int | None = None) -> PushReport:
    """Write each contact's status to its Lead (``Status`` = the status's ``crm_value``), 200
    per request; one log row per Lead. A converted Lead is refused by Salesforce: logged as an
    error, not retried. Contacts no longer Lead-linked, or whose status mirrors nothing, are
    left out."""
    report = PushReport()
    contacts = (
        Contact.objects.filter(pk__in=list(contact_ids), crm_type=Contact.CrmType.LEAD)
        .exclude(crm_id="")
        .select_related("status", "organization")
        .order_by("organization_id", "pk")
    )
    by_org: dict[int, list[Contact]] = {}
    for contact in contacts:
        by_org.setdefault(contact.organization_id, []).append(contact)
    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    for group in by_org.values():
        organization = group[0].organization
        if not _mapped_both(organization, LEAD, "status", "Status"):
            continue
        updates = [
            RecordUpdate(c.crm_id, {"Status": c.status.crm_value}, c) for c in group if c.status.crm_value
        ]
        with CrmWriter(
            organization, actor=actor if actor and actor.organization_id == organization.pk else None
        ) as writer:
            results = writer.update(LEAD, updates, action=Action.UPDATE_STATUS)
        for update, result in zip(updates, results, strict=True):
            if result.ok:
                report.written += 1
            elif result.retryable:
                report.retry_ids.append(update.contact.pk)  # type: ignore[union-attr]
            else:
                report.failed += 1
    return report


# --- G9: Email Opt Out ------------------------------------------------------------------------------


def crm_set_email_opt_out(contact: Contact, *, actor: User | None = None) -> Contact:
    """The contact unsubscribed: opt them out of email here and, when they are linked to a Lead or
    Contact and the mapping writes Email Opt Out back, in Salesforce too (a task, on commit)."""
    from engage.tasks import crm_push_opt_out

    with transaction.atomic():
        locked = Contact.objects.select_for_update().get(pk=contact.pk)
        if not locked.email_opt_out:
            locked.email_opt_out, locked.updated_at = True, timezone.now()
            locked.save(update_fields=["email_opt_out", "updated_at"])
            audit_record(
                organization=locked.organization,
                actor=actor,
                action="contact.email_opted_out",
                target=locked.email or str(locked),
            )
        if locked.crm_id and locked.crm_type in (LEAD, CONTACT):
            actor_id = actor.pk if actor is not None else None
            transaction.on_commit(lambda: crm_push_opt_out.delay(locked.pk, actor_id=actor_id))
    contact.email_opt_out, contact.updated_at = True, locked.updated_at
    return locked


def crm_push_opt_out(*, contact_id: int, actor_id: int | None = None) -> bool | None:
    """Write ``HasOptedOutOfEmail = true`` to the contact's Lead or Contact. True when written,
    False when refused or skipped (logged), None when Salesforce could not be reached (retry)."""
    contact = Contact.objects.select_related("organization").filter(pk=contact_id).first()
    if contact is None or not contact.crm_id or contact.crm_type not in (LEAD, CONTACT):
        return False
    organization = contact.organization
    actor = User.objects.filter(pk=actor_id, organization=organization).first() if actor_id else None
    with CrmWriter(organization, actor=actor) as writer:
        if not _mapped_both(organization, contact.crm_type, "email_opt_out", "HasOptedOutOfEmail"):
            writer.skip(
                Action.UPDATE_OPT_OUT,
                contact.crm_type,
                f"Email Opt Out is not mapped both ways for {contact.crm_type}s, so it was not written to Salesforce.",
                contact=contact,
                record_id=contact.crm_id,
                request={"HasOptedOutOfEmail": True},
            )
            return False
        update = RecordUpdate(contact.crm_id, {"HasOptedOutOfEmail": True}, contact)
        (result,) = writer.update(contact.crm_type, [update], action=Action.UPDATE_OPT_OUT)
    if result.retryable:
        return None
    return result.ok


# --- CSV import: link by email, cheaply ---------------------------------------------------------------


def crm_link_imported(*, import_id: int) -> int:
    """After a CSV import, link its unlinked contacts to Salesforce by email: one query per 200
    emails and object (``Email IN (...)``), Contacts first then unconverted Leads, for at most
    ``IMPORT_LINK_CAP`` emails, and only while the org's API budget is under 80%. Values are not
    copied (the sync and the contact's page read them); contacts beyond the cap are linked by the
    sync, which links by email too. Returns how many were linked."""
    contact_import = ContactImport.objects.select_related("organization").filter(pk=import_id).first()
    if contact_import is None or contact_import.started_at is None:
        return 0
    organization = contact_import.organization
    connection = salesforce.org_connection(organization)
    if connection is None:
        return 0
    emails = list(
        Contact.objects.for_org(organization)
        .filter(crm_id="", updated_at__gte=contact_import.started_at)
        .exclude(email="")
        .order_by("pk")
        .values_list("email", flat=True)[:IMPORT_LINK_CAP]
    )
    if not emails:
        return 0
    found: dict[str, tuple[str, str]] = {}
    with CrmWriter(organization, connection=connection) as writer:
        try:
            for sobject in (CONTACT, LEAD):
                wanted = [e for e in emails if e not in found]
                for start in range(0, len(wanted), IN_CHUNK):
                    if not writer.client.budget_ok(0.8):
                        break
                    chunk = wanted[start : start + IN_CHUNK]
                    where = f"Email IN ({', '.join(soql_string(e) for e in chunk)})"
                    if sobject == LEAD:
                        where += " AND IsConverted = false"
                    soql = f"SELECT Id, Email FROM {sobject} WHERE {where}"  # noqa: S608 - quoted values
                    for page in writer.client.query_pages(soql):
                        for record in page:
                            email = str(record.get("Email") or "").lower()
                            if email in chunk and email not in found:
                                found[email] = (sobject, str(record["Id"]))
        except (SalesforceError, ProviderError) as exc:
            logger.warning(
                "engage.crm.import_link_failed",
                extra={"import_id": import_id, "error_code": getattr(exc, "code", None)},
            )
    return _link_by_email(organization, found)


@transaction.atomic
def _link_by_email(organization: Organization, found: dict[str, tuple[str, str]]) -> int:
    """Link the unlinked contacts with these emails (two queries and one bulk update), skipping
    records another contact already holds."""
    if not found:
        return 0
    contacts = Contact.objects.for_org(organization)
    taken = set(contacts.filter(crm_id__in=[i for _, i in found.values()]).values_list("crm_type", "crm_id"))
    now = timezone.now()
    changes: list[tuple[int, dict[str, Any]]] = []
    for email, pk in contacts.filter(email__in=list(found), crm_id="").values_list("email", "pk"):
        sobject, record_id = found[email]
        if (sobject, record_id) in taken:
            continue
        taken.add((sobject, record_id))
        changes.append((pk, {"crm_type": sobject, "crm_id": record_id, "updated_at": now}))
    update_contacts(organization.pk, changes)
    return len(changes)


# --- Reads for pages ----------------------------------------------------------------------------------


def crm_latest_error(*, contact: Contact) -> CrmWriteLog | None:
    """The contact's latest Salesforce write when it failed (a later success clears it)."""
    latest = CrmWriteLog.objects.filter(organization_id=contact.organization_id, contact=contact).first()
    return latest if latest is not None and latest.result == CrmWriteLog.Result.ERROR else None


def crm_write_log(*, organization: Organization, result: str = "", action: str = "") -> QuerySet[CrmWriteLog]:
    """The organisation's writes to Salesforce, newest first, optionally of one result/action."""
    rows = CrmWriteLog.objects.for_org(organization).select_related("actor", "contact")
    if result in CrmWriteLog.Result.values:
        rows = rows.filter(result=result)
    if action in CrmWriteLog.Action.values:
        rows = rows.filter(action=action)
    return rows
