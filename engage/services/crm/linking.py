"""Linking Engage contacts to Salesforce records (F2, G13): look a contact up once it is added
(in a task enqueued on commit) and link it (taking the record's data per the mapping) or create
it in Salesforce; after a CSV import, link the contacts it created or updated by email, or push
them to Salesforce (``crm_push_imported``: a job of ``engage.jobs``, carried on after its last
stored chunk when its worker dies).

Every Salesforce call happens outside database transactions (``engage.services.crm.writes`` owns
the client and logs each write); the Engage rows are written in short transactions of their own.
Status and opt-out pushes are in ``engage.services.crm.pushes``, activity Tasks (G11, G12) in
``engage.services.crm.activities``."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from copilot.models import AuditEvent, Organization, User
from copilot.services.audit import audit_record
from engage.crm.mapping import MappingRow
from engage.crm.soql_rules import soql_string
from engage.enqueue import enqueue_on_commit
from engage.imports.bulk import update_contacts
from engage.jobs import (
    DATABASE_LOST,
    JobLost,
    job_claim,
    job_hand_back,
    job_is_dead,
    job_is_stale,
    job_save,
    jobs_fail_stale,
)
from engage.models import Contact, ContactImport, ContactImportPush, ContactStatus, CrmSettings, CrmWriteLog
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
from integrations.workers import worker_owner

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


# --- CSV import: the contacts it created or updated -------------------------------------------------


def _imported(contact_import_id: int, organization: Organization) -> QuerySet[Contact]:
    """The import's unlinked contacts with an email, in id order: those its pass created or
    updated (``ImportedContact``), never the people others add or edit while it runs."""
    return (
        Contact.objects.for_org(organization)
        .filter(import_links__contact_import_id=contact_import_id, crm_id="")
        .exclude(email="")
        .order_by("pk")
    )


# --- CSV import: link by email, cheaply ---------------------------------------------------------------


def crm_link_imported(*, import_id: int) -> int:
    """After a CSV import, link its unlinked contacts to Salesforce by email: one query per 200
    emails and object (``Email IN (...)``), Contacts first then unconverted Leads, for at most
    ``IMPORT_LINK_CAP`` emails, and only while the org's API budget is under 80%. Values are not
    copied (the sync and the contact's page read them); contacts beyond the cap are linked by the
    sync, which links by email too. Returns how many were linked."""
    contact_import = ContactImport.objects.select_related("organization").filter(pk=import_id).first()
    if contact_import is None:
        return 0
    organization = contact_import.organization
    connection = gateway.org_connection(organization)
    if connection is None:
        return 0
    emails = list(_imported(import_id, organization).values_list("email", flat=True)[:IMPORT_LINK_CAP])
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
# The push is a job of engage/jobs.py (``ContactImportPush``: the import's ``crm_push_*`` columns):
# claimed by its task with a worker owner; each chunk of 200 commits its links with the counters,
# the last contact done (``after_id``) and a heartbeat; a push whose worker died is taken over by
# the task's redelivery or the every-minute sweep and carries on after the last chunk it stored.
# A chunk whose worker died after Salesforce created its people but before the links committed is
# done again: the lookup by email finds them, so nobody is created twice.

Push = ContactImport.CrmPush
_PUSH_RUNNING = (Push.RUNNING,)
_PUSH_COUNTERS = ["total", "pushed", "linked", "created", "errors"]
# The task's hard limit is an hour (engage/tasks.py); one silent longer has lost its worker.
PUSH_STALE_AFTER = dt.timedelta(minutes=75)
NOT_HANDLED = "The contacts not handled yet are linked by the sync when Salesforce has them."
BUDGET_MESSAGE = f"Stopped: Salesforce's daily API limit is 80% used. {NOT_HANDLED}"
NOT_CONNECTED = "Salesforce is not connected, so nothing was written there."
PUSH_WORKER_LOST = f"Stopped: the background worker stopped while this ran. {NOT_HANDLED}"
PUSH_KEEPS_DYING = (
    "Stopped: the background worker stopped again and again on the same contacts. "
    f"{NOT_HANDLED} If it happens again, contact support."
)


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


def crm_push_queue(contact_import: ContactImport) -> None:
    """Mark the import's push queued, a job not started (its task is enqueued by the caller)."""
    contact_import.crm_push_status = Push.QUEUED
    contact_import.crm_push_message = ""
    contact_import.crm_push_started_at = contact_import.crm_push_at = None
    contact_import.crm_push_worker = ""
    contact_import.crm_push_takeovers = contact_import.crm_push_after_id = 0
    contact_import.crm_push_total = contact_import.crm_pushed = contact_import.crm_linked = 0
    contact_import.crm_created = contact_import.crm_push_errors = 0
    contact_import.save(
        update_fields=[
            "crm_push_status",
            "crm_push_message",
            "crm_push_started_at",
            "crm_push_at",
            "crm_push_worker",
            "crm_push_takeovers",
            "crm_push_after_id",
            "crm_push_total",
            "crm_pushed",
            "crm_linked",
            "crm_created",
            "crm_push_errors",
        ]
    )


def crm_push_imported(*, import_id: int, now: dt.datetime | None = None) -> ContactImportPush | None:
    """After a CSV import, put its unlinked contacts in Salesforce, 200 at a time: look them up by
    email (Contacts, then unconverted Leads: one query each), create the rest as the CRM settings
    say (one sObject Collections request; a duplicate rule's match is linked, never a second
    record) and link them all in one bulk update, about three API calls per 200 contacts. Keeps
    the progress on the import (``crm_push_*``) for its page; stops at 80% of the API budget.
    Claims the queued push, or takes over one whose worker died (judged at ``now``) and carries
    on after the last chunk it stored; None when there is nothing (left) to do."""
    push = job_claim(
        ContactImportPush,
        import_id,
        queued=Push.QUEUED,
        running=Push.RUNNING,
        worker=worker_owner("crm-push"),
        fail=lambda job: _push_finish(job, Push.FAILED, PUSH_KEEPS_DYING),
        related=("organization", "created_by"),
        now=now,
    )
    if push is None:
        return None
    connection = gateway.org_connection(push.organization)
    if connection is None:
        _push_finish(push, Push.FAILED, NOT_CONNECTED)
        return push
    pending = _imported(push.pk, push.organization)
    try:
        _push_begin(push, pending)
        message = _push_chunks(push, pending, connection)
    except JobLost:  # another delivery has it now
        logger.info("engage.crm.import_push_lost", extra={"import_id": import_id, "worker": push.worker})
        return None
    except DATABASE_LOST:  # the chunk was rolled back; the next delivery carries on from there
        logger.exception("engage.crm.import_push_database_lost", extra={"import_id": import_id})
        if job_hand_back(push, running=_PUSH_RUNNING):
            enqueue_on_commit("crm_push_imported", push.pk)
        return None
    except Exception as exc:
        logger.exception("engage.crm.import_push_failed", extra={"import_id": import_id})
        _push_finish(push, Push.FAILED, _push_crashed(exc))
        return push
    _push_finish(push, Push.FAILED if message else Push.DONE, message)
    return push


def _push_begin(push: ContactImportPush, pending: QuerySet[Contact]) -> None:
    """Count the contacts to push and start the counters at zero, unless a chunk is stored already
    (a take-over carries on from it, counters and all). Not ``job_save``: a take-over that dies
    before its first chunk again must still count towards ``JOB_MAX_TAKEOVERS``."""
    if push.after_id:
        return
    push.total = pending.count()
    push.pushed = push.linked = push.created = push.errors = 0
    mine = ContactImportPush.objects.filter(pk=push.pk, worker=push.worker, status__in=_PUSH_RUNNING)
    if not mine.update(**{name: getattr(push, name) for name in _PUSH_COUNTERS}):
        raise JobLost(f"ContactImportPush {push.pk} is no longer {push.worker}'s.")


def _push_chunks(push: ContactImportPush, pending: QuerySet[Contact], connection: Any) -> str:
    """Push the contacts after the last one stored, chunk by chunk. Why it stopped, or ''."""
    organization = push.organization
    settings_row = crm_settings_for(organization)
    sobject = LEAD if settings_row.new_prospects_as == CrmSettings.NewProspects.LEAD else CONTACT
    rows = mapping_rows(organization=organization, sobject=sobject)
    with CrmWriter(organization, actor=push.created_by, connection=connection) as writer:
        try:
            describe = gateway.describe_for(organization, sobject, connection=connection)
            while chunk := list(pending.filter(pk__gt=push.after_id)[:IN_CHUNK]):
                if not _push_chunk(writer, push, chunk, sobject, rows, describe):
                    return BUDGET_MESSAGE
        except gateway.CrmUnavailable as exc:
            return f"Stopped: {exc}"
        except SalesforceError as exc:
            return f"Stopped. {refusal_message(exc)}"
        except ProviderError as exc:
            return f"Stopped. {provider_message(exc)}"
    return ""


def _push_chunk(
    writer: CrmWriter,
    push: ContactImportPush,
    chunk: list[Contact],
    sobject: str,
    rows: list[MappingRow],
    describe: Any,
) -> bool:
    """One chunk of ``crm_push_imported``: look up, create, then link and store the counters and
    position in one transaction. False at the API budget (nothing stored)."""
    by_email = {c.email.lower(): c for c in chunk}
    found: dict[str, tuple[str, str]] = {}
    if not _find_by_email(writer, list(by_email), found):
        return False
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
        return False
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

    def store(linked: int) -> None:
        push.pushed += len(chunk)
        push.linked += max(0, linked - created)
        push.created += created
        push.errors += errors
        push.after_id = chunk[-1].pk
        job_save(push, [*_PUSH_COUNTERS, "after_id"], running=_PUSH_RUNNING)

    _link_by_email(push.organization, found, then=store)
    return True


def _push_finish(push: ContactImportPush, status: str, message: str = "") -> None:
    push.status, push.message, push.heartbeat_at = status, message, timezone.now()
    push.save(update_fields=[*_PUSH_COUNTERS, "status", "message", "heartbeat_at"])


def _push_crashed(exc: Exception) -> str:
    from celery.exceptions import SoftTimeLimitExceeded

    if isinstance(exc, SoftTimeLimitExceeded):
        return f"Stopped: it ran out of time. {NOT_HANDLED}"
    return f"Stopped on an unexpected error ({type(exc).__name__}). It has been logged. {NOT_HANDLED}"


def crm_pushes_fail_stale(*, now: dt.datetime | None = None) -> int:
    """The every-minute sweep's (``engage.jobs_resume_dead``): fail the pushes silent for longer
    than their task may run, saying the worker stopped. Returns how many."""
    failed = jobs_fail_stale(
        ContactImportPush,
        running=_PUSH_RUNNING,
        after=PUSH_STALE_AFTER,
        fail=lambda push: _push_finish(push, Push.FAILED, PUSH_WORKER_LOST),
        now=now,
    )
    return len(failed)


def _push_job(contact_import: ContactImport) -> ContactImportPush:
    """The import's push as a job, from the row the page loaded (no query)."""
    return ContactImportPush(
        pk=contact_import.pk,
        status=contact_import.crm_push_status,
        started_at=contact_import.crm_push_started_at,
        worker=contact_import.crm_push_worker,
        heartbeat_at=contact_import.crm_push_at,
        takeovers=contact_import.crm_push_takeovers,
    )


def import_crm_pushing(contact_import: ContactImport, *, now: dt.datetime | None = None) -> bool:
    """Whether the import's Salesforce push is queued or running and may still finish (its page
    polls): alive, or being taken over after its worker died. One silent for longer than its task
    may run has stopped: the page says so (``crm_pushes_fail_stale`` stores it within a minute)."""
    if contact_import.crm_push_status not in (Push.QUEUED, Push.RUNNING):
        return False
    return not job_is_stale(_push_job(contact_import), running=_PUSH_RUNNING, after=PUSH_STALE_AFTER, now=now)


def import_crm_push_resuming(contact_import: ContactImport, *, now: dt.datetime | None = None) -> bool:
    """Whether the push's worker died and the push is being taken over (the task's redelivery or
    the sweep): it carries on after the last chunk it stored. Reads only."""
    return job_is_dead(_push_job(contact_import), running=_PUSH_RUNNING, now=now)


@transaction.atomic
def _link_by_email(
    organization: Organization,
    found: dict[str, tuple[str, str]],
    *,
    then: Callable[[int], None] | None = None,
) -> int:
    """Link the unlinked contacts with these emails (two queries and one bulk update), skipping
    records another contact already holds; ``then(how many)`` runs in the same transaction."""
    linked = _link_emails(organization, found) if found else 0
    if then is not None:
        then(linked)
    return linked


def _link_emails(organization: Organization, found: dict[str, tuple[str, str]]) -> int:
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
