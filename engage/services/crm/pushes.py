"""Engage's field writes to linked Salesforce records (G9): push Lead Status when a seller
changes a linked Lead's status; push Email Opt Out on unsubscribe. Both run as tasks enqueued on
commit; each write goes through ``engage.services.crm.writes`` (which logs it)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from copilot.models import Organization, User
from copilot.services.audit import audit_record
from engage.crm.mapping import BOTH
from engage.enqueue import enqueue_on_commit
from engage.models import Contact, ContactStatus, CrmWriteLog
from engage.services.crm import gateway
from engage.services.crm.configuration import mapping_rows
from engage.services.crm.lookup import (
    CONTACT,
    LEAD,
)
from engage.services.crm.writes import (
    CrmWriter,
    RecordUpdate,
)

Action = CrmWriteLog.Action
PUSH_CHUNK = 1_000  # contact ids per status-push task


# --- G9: Lead Status ------------------------------------------------------------------------------


def _mapped_both(organization: Organization, sobject: str, engage_name: str, crm_name: str) -> bool:
    """Whether the object's mapping writes ``engage_name`` back to ``crm_name`` (bi-directional)."""
    for row in mapping_rows(organization=organization, sobject=sobject):
        if row.engage_field == engage_name:
            return row.direction == BOTH and row.crm_field.lower() == crm_name.lower()
    return False


def status_push_wanted(*, organization: Organization, status: ContactStatus) -> bool:
    """Whether a status change of linked Leads goes to the push task: whenever Salesforce is
    connected. The task writes Lead Status when the status mirrors a Lead Status value and the
    Lead mapping takes Status both ways, and logs every other change as skipped, with why."""
    return gateway.org_connection(organization) is not None


def not_written_reason(status: ContactStatus) -> str:
    return f"Status ‘{status.name}’ is not a Salesforce Lead Status value: not written."


NOT_MAPPED_BOTH_WAYS = (
    "Lead Status is not mapped both ways (Admin Portal › CRM › Leads), so the status was not written."
)


def crm_status_push_on_commit(*, contact_ids: Sequence[int], actor: User | None) -> None:
    """Enqueue ``crm_push_status`` for these Lead-linked contacts once the caller's transaction
    commits (the caller checked ``status_push_wanted``), 1,000 contacts a task."""
    actor_id = actor.pk if actor is not None else None
    ids = list(contact_ids)
    for start in range(0, len(ids), PUSH_CHUNK):
        chunk = ids[start : start + PUSH_CHUNK]
        enqueue_on_commit("crm_push_status", chunk, actor_id=actor_id)


def lead_linked_ids(contacts: QuerySet[Contact]) -> list[int]:
    return list(
        contacts.filter(crm_type=Contact.CrmType.LEAD).exclude(crm_id="").values_list("pk", flat=True)
    )


@dataclass
class PushReport:
    written: int = 0
    failed: int = 0
    skipped: int = 0  # logged with the reason (not a Lead Status value, not mapped both ways)
    retry_ids: list[int] = field(default_factory=list)  # Salesforce unreachable / out of requests


def crm_push_statuses(*, contact_ids: Iterable[int], actor_id: int | None = None) -> PushReport:
    """Write each contact's status to its Lead (``Status`` = the status's ``crm_value``), 200
    per request; one log row per Lead. A converted Lead is refused by Salesforce: logged as an
    error, not retried. A status that mirrors no Lead Status value, or a Lead mapping that does
    not write Status back, is logged as skipped with the reason. Contacts no longer Lead-linked
    are left out."""
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
        both_ways = _mapped_both(organization, LEAD, "status", "Status")
        with CrmWriter(
            organization, actor=actor if actor and actor.organization_id == organization.pk else None
        ) as writer:
            # F3: never silent — each change not written is logged with why.
            report.skipped += writer.skip_many(
                Action.UPDATE_STATUS,
                LEAD,
                [
                    (
                        c,
                        NOT_MAPPED_BOTH_WAYS if not both_ways else not_written_reason(c.status),
                        {"Status": c.status.name},
                    )
                    for c in group
                    if not (both_ways and c.status.crm_value)
                ],
            )
            if not both_ways:
                continue
            updates = [
                RecordUpdate(c.crm_id, {"Status": c.status.crm_value}, c) for c in group if c.status.crm_value
            ]
            results = writer.update(LEAD, updates, action=Action.UPDATE_STATUS) if updates else []
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
            enqueue_on_commit("crm_push_opt_out", locked.pk, actor_id=actor_id)
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


# --- Reads for pages ----------------------------------------------------------------------------------


def crm_write_log(*, organization: Organization, result: str = "", action: str = "") -> QuerySet[CrmWriteLog]:
    """The organisation's writes to Salesforce, newest first, optionally of one result/action."""
    rows = CrmWriteLog.objects.for_org(organization).select_related("actor", "contact")
    if result in CrmWriteLog.Result.values:
        rows = rows.filter(result=result)
    if action in CrmWriteLog.Action.values:
        rows = rows.filter(action=action)
    return rows
