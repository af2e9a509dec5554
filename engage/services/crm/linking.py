"""Linking Engage contacts to Salesforce records (F2, G13): look a contact up once it is added
(in a task enqueued on commit) and link it (taking the record's data per the mapping) or create
it in Salesforce; link a CSV import's contacts by email.

Every Salesforce call happens outside database transactions (``engage.services.crm.writes`` owns
the client and logs each write); the Engage rows are written in short transactions of their own.
Status and opt-out pushes are in ``engage.services.crm.pushes``, activity Tasks (G11, G12) in
``engage.services.crm.activities``."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from copilot.models import AuditEvent, Organization, User
from copilot.services.audit import audit_record
from engage.crm.mapping import MappingRow
from engage.crm.soql_rules import soql_string
from engage.enqueue import enqueue_on_commit
from engage.imports.bulk import update_contacts
from engage.models import Contact, ContactImport, ContactStatus, CrmSettings, CrmWriteLog
from engage.services.contacts import account_for_company, contact_create
from engage.services.crm import gateway
from engage.services.crm.configuration import crm_settings_for, mapping_rows
from engage.services.crm.lookup import (
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
from engage.services.crm.writes import (
    CrmWriter,
    check_create,
    provider_message,
    refusal_message,
    type_of,
)
from integrations.exceptions import ProviderError
from integrations.salesforce.errors import SalesforceError

logger = logging.getLogger(__name__)

Action = CrmWriteLog.Action
IMPORT_LINK_CAP = 2_000  # emails looked up after a CSV import (2 queries per 200)
IN_CHUNK = 200  # values per ``IN (...)`` list: keeps the query URL well under Salesforce's 16 KB
LOOKUP_CHECKED = "contact.crm_checked"  # the audit action that keeps a new contact's lookup outcome
# How long a new contact's page says "Checking Salesforce…" before it stops waiting for the task
# (a stopped worker must not leave the page polling for ever).
LOOKUP_WAIT = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class CrmOutcome:
    """What adding a contact did in Salesforce, for the person who added it."""

    level: str  # "success" | "info" | "warning" | "error" (django.contrib.messages levels)
    message: str
    crm_type: str = ""
    crm_id: str = ""


# --- F2: a contact was added ------------------------------------------------------------------------


def contact_add(
    *,
    organization: Organization,
    actor: User,
    data: dict[str, Any],
    owner: User | None,
    status: ContactStatus | None = None,
) -> Contact:
    """The New Contact form's one service (F2): create the contact (its own transaction;
    ``DuplicateContact`` / ``ValidationError`` as ``contact_create``) and, when the organisation
    has Salesforce, enqueue its lookup once that has committed (``crm_contact_lookup``): no
    Salesforce round trip inside the request. The contact's page says what Salesforce did
    (``crm_lookup_state``), "Checking Salesforce…" until then."""
    contact = contact_create(organization=organization, actor=actor, data=data, owner=owner, status=status)
    if gateway.org_connection(organization) is not None:
        enqueue_on_commit("crm_contact_lookup", contact.pk, actor_id=actor.pk)
    return contact


def crm_contact_lookup(*, contact_id: int, actor_id: int | None) -> CrmOutcome | None:
    """The lookup task's service: find, link or create the new contact in Salesforce
    (``crm_contact_added``) and keep the outcome, as an audit event, for the contact's page."""
    contact = Contact.objects.select_related("organization").filter(pk=contact_id).first()
    if contact is None:  # deleted before the task ran
        return None
    actor = User.objects.filter(pk=actor_id).first() if actor_id is not None else None
    outcome = crm_contact_added(contact=contact, actor=actor)
    if outcome is not None:
        audit_record(
            organization=contact.organization,
            actor=actor,
            action=LOOKUP_CHECKED,
            target=contact.email or str(contact),
            data={"contact_id": contact.pk, "level": outcome.level, "message": outcome.message},
        )
    return outcome


def crm_contact_added(*, contact: Contact, actor: User | None) -> CrmOutcome | None:
    """Look the new contact up in Salesforce and link it (taking the record's data per the
    mapping), or create it as the CRM settings say (Lead, Contact or nothing). None when the
    organisation has no Salesforce or the contact is already linked. Never raises provider
    errors: the contact exists in Engage whatever Salesforce says. Call after the contact's
    transaction has committed (``contact_add`` enqueues it on commit)."""
    organization = contact.organization
    if contact.crm_id:
        return None
    connection = gateway.org_connection(organization)
    if connection is None:
        return None
    settings_row = crm_settings_for(organization)
    rows = {s: mapping_rows(organization=organization, sobject=s) for s in (LEAD, CONTACT)}
    with CrmWriter(organization, actor=actor, connection=connection) as writer:
        try:
            describes = {
                s: gateway.describe_for(organization, s, connection=connection) for s in (LEAD, CONTACT)
            }
            fields = {s: select_fields(rows[s], describes[s]) for s in (LEAD, CONTACT)}
            found = find_person(writer.client, contact, fields)
        except gateway.CrmUnavailable as exc:
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
                "Not found in Salesforce. Your sync settings keep contacts created in Cadence here only.",
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
    connection = gateway.org_connection(organization)
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
            _find_by_email(writer, emails, found)
        except (SalesforceError, ProviderError) as exc:
            logger.warning(
                "engage.crm.import_link_failed",
                extra={"import_id": import_id, "error_code": getattr(exc, "code", None)},
            )
    return _link_by_email(organization, found)


def _find_by_email(writer: CrmWriter, emails: list[str], found: dict[str, tuple[str, str]]) -> bool:
    """Fill ``found`` (email → (sobject, id)) for ``emails``: one ``Email IN (...)`` query per 200
    emails, Contacts first then unconverted Leads. False when it stopped at the API budget (80%)."""
    for sobject in (CONTACT, LEAD):
        wanted = [e for e in emails if e not in found]
        for start in range(0, len(wanted), IN_CHUNK):
            if not writer.client.budget_ok(0.8):
                return False
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
    return True


# --- CSV import: create in Salesforce too, when the CRM settings say so --------------------------------

BUDGET_MESSAGE = (
    "Stopped: Salesforce's daily API limit is 80% used. The contacts not handled yet are linked by "
    "the sync when Salesforce has them."
)


# A push that has shown no progress for this long (its worker died, or none picked it up) is no
# longer waited for: the page stops polling and says where it stopped.
CRM_PUSH_STALE = dt.timedelta(minutes=15)


def import_crm_pushing(contact_import: ContactImport, *, now: dt.datetime | None = None) -> bool:
    """Whether the import's Salesforce push is queued or running and still alive (its page polls)."""
    if contact_import.crm_push_status not in (ContactImport.CrmPush.QUEUED, ContactImport.CrmPush.RUNNING):
        return False
    last = contact_import.crm_push_at or contact_import.finished_at
    return last is None or (now or timezone.now()) - last < CRM_PUSH_STALE


def imported_crm_task(organization: Organization) -> str:
    """The task that follows an import into Salesforce: ``crm_push_imported`` when the CRM
    settings create people made in Cadence there (and name a Lead or Contact), else the
    link-only ``crm_link_imported`` (which does nothing without Salesforce)."""
    if gateway.org_connection(organization) is None:
        return "crm_link_imported"
    settings_row = crm_settings_for(organization)
    if (
        settings_row.engage_created_handling == CrmSettings.EngageCreated.PUSH
        and settings_row.new_prospects_as != CrmSettings.NewProspects.NONE
    ):
        return "crm_push_imported"
    return "crm_link_imported"


def crm_push_imported(*, import_id: int) -> ContactImport | None:
    """After a CSV import, put its unlinked contacts in Salesforce, 200 at a time: look them up by
    email (Contacts, then unconverted Leads: one query each), create the rest as the CRM settings
    say (one sObject Collections request; a duplicate rule's match is linked, never a second
    record) and link them all in one bulk update, about three API calls per 200 contacts. Keeps
    the progress on the import (``crm_push_*``) for its page; stops at 80% of the API budget."""
    contact_import = ContactImport.objects.select_related("organization").filter(pk=import_id).first()
    if contact_import is None or contact_import.started_at is None:
        return None
    organization = contact_import.organization
    connection = gateway.org_connection(organization)
    pending = (
        Contact.objects.for_org(organization)
        .filter(crm_id="", updated_at__gte=contact_import.started_at)
        .exclude(email="")
    )
    imp = ContactImport.objects.filter(pk=contact_import.pk)
    if connection is None:
        imp.update(
            crm_push_status=ContactImport.CrmPush.FAILED,
            crm_push_message=NOT_CONNECTED,
            crm_push_at=timezone.now(),
        )
        return contact_import
    settings_row = crm_settings_for(organization)
    sobject = LEAD if settings_row.new_prospects_as == CrmSettings.NewProspects.LEAD else CONTACT
    rows = mapping_rows(organization=organization, sobject=sobject)
    totals = {"crm_pushed": 0, "crm_linked": 0, "crm_created": 0, "crm_push_errors": 0}
    imp.update(
        crm_push_status=ContactImport.CrmPush.RUNNING,
        crm_push_total=pending.count(),
        crm_push_at=timezone.now(),
        **totals,
    )
    last_pk, message = 0, ""
    with CrmWriter(organization, actor=contact_import.created_by, connection=connection) as writer:
        try:
            describe = gateway.describe_for(organization, sobject, connection=connection)
            while True:
                chunk = list(pending.filter(pk__gt=last_pk).order_by("pk")[:IN_CHUNK])
                if not chunk:
                    break
                last_pk = chunk[-1].pk
                done = _push_chunk(writer, organization, chunk, sobject, rows, describe)
                if done is None:
                    message = BUDGET_MESSAGE
                    break
                for key, value in done.items():
                    totals[key] += value
                imp.update(crm_push_at=timezone.now(), **totals)
        except gateway.CrmUnavailable as exc:
            message = f"Stopped: {exc}"
        except SalesforceError as exc:
            message = f"Stopped. {refusal_message(exc)}"
        except ProviderError as exc:
            message = f"Stopped. {provider_message(exc)}"
    status = ContactImport.CrmPush.FAILED if message else ContactImport.CrmPush.DONE
    imp.update(crm_push_status=status, crm_push_message=message, crm_push_at=timezone.now(), **totals)
    contact_import.refresh_from_db()
    return contact_import


NOT_CONNECTED = "Salesforce is not connected, so nothing was written there."


def _push_chunk(
    writer: CrmWriter,
    organization: Organization,
    chunk: list[Contact],
    sobject: str,
    rows: list[MappingRow],
    describe: Any,
) -> dict[str, int] | None:
    """One chunk of ``crm_push_imported``: its counters, or None at the API budget."""
    by_email = {c.email.lower(): c for c in chunk}
    found: dict[str, tuple[str, str]] = {}
    if not _find_by_email(writer, list(by_email), found):
        return None
    errors = 0
    creates: list[tuple[dict[str, Any], Contact | None]] = []
    action = check_create(sobject)
    for email, contact in by_email.items():
        if email in found:
            continue
        data, problem = prospect_data(contact, sobject, rows, describe)
        if problem:
            writer.skip(action, sobject, problem, contact=contact, code="COMPANY_MISSING")
            errors += 1
        else:
            creates.append((data, contact))
    if creates and not writer.client.budget_ok(0.8):
        return None
    created = 0
    for (_data, contact), result in zip(creates, writer.create_many(sobject, creates), strict=True):
        email = contact.email.lower()
        if result.ok:
            found[email] = (sobject, result.record_id)
            created += 1
        elif result.duplicate_id:
            found[email] = (type_of(result.duplicate_id) or sobject, result.duplicate_id)
        else:
            errors += 1
    linked = _link_by_email(organization, found)
    return {
        "crm_pushed": len(chunk),
        "crm_linked": max(0, linked - created),
        "crm_created": created,
        "crm_push_errors": errors,
    }


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


@dataclass(frozen=True)
class CrmLookupState:
    """A new contact's Salesforce lookup as its page shows it: still checking, or what it did."""

    checking: bool = False
    outcome: CrmOutcome | None = None


def crm_lookup_state(*, contact: Contact) -> CrmLookupState:
    """Whether the lookup ``contact_add`` enqueued has run and what it said. Checking while the
    contact, added by hand in the last ``LOOKUP_WAIT``, is unlinked, has no recorded outcome and
    its organisation has Salesforce."""
    if contact.source != Contact.Source.MANUAL:
        return CrmLookupState()
    event = (
        AuditEvent.objects.filter(
            organization_id=contact.organization_id,
            action=LOOKUP_CHECKED,
            created_at__gte=contact.created_at,
            data__contact_id=contact.pk,
        )
        .order_by("-created_at")
        .first()
    )
    if event is not None:
        return CrmLookupState(outcome=CrmOutcome(event.data["level"], event.data["message"]))
    waiting = not contact.crm_id and timezone.now() - contact.created_at < LOOKUP_WAIT
    return CrmLookupState(checking=waiting and gateway.org_connection(contact.organization) is not None)


def crm_latest_error(*, contact: Contact) -> CrmWriteLog | None:
    """The contact's latest Salesforce write when it failed (a later success clears it)."""
    latest = CrmWriteLog.objects.filter(organization_id=contact.organization_id, contact=contact).first()
    return latest if latest is not None and latest.result == CrmWriteLog.Result.ERROR else None
