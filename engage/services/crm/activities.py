"""Activity history in Salesforce (G11, G12): each call from the dialer and each email event
becomes a completed Task on the Lead or Contact.

``crm_log_call`` / ``crm_log_email_event`` queue a ``CrmActivity`` (once per idempotency key) and
enqueue ``engage.tasks.crm_flush_activities`` on commit; the flush sends pending activities 200
per sObject Collections request. Sending is idempotent twice over: the row's unique key stops a
second queueing, and the key also travels in the Task's ``CallObject``, so before creating a batch
the flush asks Salesforce which of its keys already have a Task (``CallObject IN (...)``) and
adopts those — a worker that died after Salesforce created the Tasks but before the database
recorded them never makes a second set.

The Task, as the seed describes it: Subject ``Engage Call: {subject}`` or ``Engage: {event}
{email subject or link text}``, Status Completed, ActivityDate, WhoId, OwnerId (the seller's
Salesforce user when known), TaskSubtype Call/Email; for calls CallDisposition (the result),
CallDurationInSeconds and the comments block in Description; for a sent email its body.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from copilot.models import Organization, User
from engage.crm.soql_rules import soql_string
from engage.crm.task_text import (
    DESCRIPTION_MAX,
    activity_date,
    call_comments,
    call_subject,
    cut,
    email_event_subject,
)
from engage.enqueue import enqueue_on_commit
from engage.models import Contact, CrmActivity, CrmSettings
from engage.services.crm.configuration import crm_settings_for
from engage.services.crm.writes import CrmWriter, refusal_message
from integrations import selectors as connection_selectors
from integrations.exceptions import ProviderError
from integrations.models import Connection
from integrations.salesforce.errors import SalesforceError

logger = logging.getLogger(__name__)

State = CrmActivity.State
Kind = CrmActivity.Kind

KEY_MAX = 200
BATCH = 200  # Tasks per sObject Collections request
IN_LIST_CHARS = 6_000  # per ``CallObject IN (...)`` query: the GET URL stays far below 16 KB
FLUSH_LOCK_SECONDS = 15 * 60


def salesforce_user_id(actor: User | None, organization: Organization) -> str:
    """The seller's Salesforce user id, when Cadence knows it: their own Salesforce connection to
    the organisation's Salesforce org, or the org-wide one if they connected it."""
    if actor is None or not actor.pk:
        return ""
    connections = (
        Connection.objects.for_org(organization)
        .filter(provider="salesforce")
        .exclude(status=Connection.Status.DISCONNECTED)
    )
    org_wide = next((c for c in connections if c.is_org_wide), None)
    own = next((c for c in connections if not c.is_org_wide and c.user_id == actor.pk), None)
    if (
        own is not None
        and own.external_user_id
        and (org_wide is None or own.external_org_id == org_wide.external_org_id)
    ):
        return own.external_user_id
    if org_wide is not None and org_wide.connected_by_id == actor.pk:
        return org_wide.external_user_id
    return ""


# --- Queueing ---------------------------------------------------------------------------------------------


def crm_log_call(
    *,
    contact: Contact,
    subject: str,
    result: str,
    sentiment: str = "",
    comments: str = "",
    voicemail_title: str = "",
    recording_url: str = "",
    duration_seconds: int | None = None,
    occurred_at: dt.datetime,
    actor: User | None = None,
    key: str,
) -> CrmActivity:
    """Queue the call's Task (G11). ``key`` identifies the call (``call:<id>``): logging the same
    call twice queues one Task."""
    fields: dict[str, Any] = {
        "Subject": call_subject(subject),
        "TaskSubtype": "Call",
        "CallType": "Outbound",
        "CallDisposition": cut(result.strip(), 255),
        "Description": call_comments(
            result=result.strip(),
            sentiment=sentiment,
            comments=comments,
            voicemail_title=voicemail_title,
            recording_url=recording_url,
        ),
    }
    if duration_seconds is not None:
        fields["CallDurationInSeconds"] = max(0, int(duration_seconds))
    return _queue(
        contact=contact, kind=Kind.CALL, key=key, fields=fields, occurred_at=occurred_at, actor=actor
    )


def crm_log_email_event(
    *,
    contact: Contact,
    event: str,
    email_subject: str,
    link_text: str | None = None,
    body: str | None = None,
    occurred_at: dt.datetime,
    actor: User | None = None,
    key: str,
) -> CrmActivity:
    """Queue an email event's Task (G12). ``key`` identifies the event
    (``email:<message id>:<event>:<n>``); a sent email's Task carries its body."""
    fields: dict[str, Any] = {
        "Subject": email_event_subject(event, email_subject, link_text),
        "TaskSubtype": "Email",
    }
    if event == "sent" and body:
        fields["Description"] = cut(body, DESCRIPTION_MAX)
    return _queue(
        contact=contact, kind=Kind.EMAIL_EVENT, key=key, fields=fields, occurred_at=occurred_at, actor=actor
    )


def _switched_off(kind: str, settings_row: CrmSettings) -> str:
    """The CRM setting that keeps an activity of ``kind`` from Salesforce, if one does."""
    if not settings_row.create_activities:
        return "Creating activities in the CRM"
    if kind == Kind.CALL and not settings_row.log_calls:
        return "Writing call history to Salesforce"
    if kind == Kind.EMAIL_EVENT and not settings_row.log_emails:
        return "Writing email history to Salesforce"
    return ""


def _skip_reason(organization: Organization, kind: str, settings_row: CrmSettings) -> str:
    off = _switched_off(kind, settings_row)
    if off:
        return f"{off} is off (Admin Portal › CRM › Settings)."
    connection = connection_selectors.org_connection(organization, "salesforce")
    if connection is None or connection.status == Connection.Status.DISCONNECTED:
        return "Salesforce is not connected."
    return ""


def _queue(
    *,
    contact: Contact,
    kind: str,
    key: str,
    fields: dict[str, Any],
    occurred_at: dt.datetime,
    actor: User | None,
) -> CrmActivity:
    if not key or len(key) > KEY_MAX:
        raise ValueError(f"An activity needs an idempotency key of 1 to {KEY_MAX} characters.")
    organization = contact.organization
    existing = CrmActivity.objects.for_org(organization).filter(idempotency_key=key).first()
    if existing is not None:
        return existing
    reason = _skip_reason(organization, kind, crm_settings_for(organization))
    owner = salesforce_user_id(actor, organization) if not reason else ""
    payload = {
        **fields,
        "Status": "Completed",
        "Priority": "Normal",
        "ActivityDate": activity_date(occurred_at),
        "CallObject": key,
        **({"OwnerId": owner} if owner else {}),
    }
    try:
        with transaction.atomic():
            activity = CrmActivity.objects.create(
                organization=organization,
                contact=contact,
                actor=actor if actor is not None and actor.pk else None,
                kind=kind,
                idempotency_key=key,
                subject=payload["Subject"],
                payload=payload,
                state=State.SKIPPED if reason else State.PENDING,
                error=reason,
            )
    except IntegrityError:  # queued by someone else a moment ago
        return CrmActivity.objects.for_org(organization).get(idempotency_key=key)
    if activity.state == State.PENDING:
        enqueue_on_commit("crm_flush_activities", organization.pk)
    return activity


# --- Sending ----------------------------------------------------------------------------------------------


@dataclass
class FlushReport:
    sent: int = 0
    adopted: int = 0  # created by an earlier, interrupted flush and found by their key
    failed: int = 0
    skipped: int = 0
    retry: bool = False  # Salesforce unreachable, paused or near its limit: try again later
    busy: bool = False  # another worker is flushing this organisation


def activities_flush(*, organization_id: int, batch_size: int = BATCH) -> FlushReport:
    """Send the organisation's pending activities (the task's body). One flush per organisation
    at a time (a cache lock); Salesforce is called outside any transaction."""
    report = FlushReport()
    lock = f"engage:crm_flush:{organization_id}"
    token = uuid.uuid4().hex
    if not cache.add(lock, token, FLUSH_LOCK_SECONDS):
        report.busy = True
        return report
    try:
        organization = Organization.objects.filter(pk=organization_id).first()
        if organization is not None:
            _flush(organization, report, min(batch_size, BATCH))
    finally:
        if cache.get(lock) == token:
            cache.delete(lock)
    return report


def _pending(organization: Organization) -> Iterator[list[CrmActivity]]:
    """Pending activities in batches, oldest first (re-read each time: a batch changes states)."""
    last = 0
    while True:
        batch = list(
            CrmActivity.objects.for_org(organization)
            .filter(state=State.PENDING, pk__gt=last)
            .select_related("contact")
            .order_by("pk")[:BATCH]
        )
        if not batch:
            return
        last = batch[-1].pk
        yield batch


def _flush(organization: Organization, report: FlushReport, batch_size: int) -> None:
    settings_row = crm_settings_for(organization)
    connection = connection_selectors.org_connection(organization, "salesforce")
    if connection is None or connection.status != Connection.Status.CONNECTED:
        report.retry = connection is not None and connection.status == Connection.Status.PAUSED
        return
    with CrmWriter(organization, connection=connection) as writer:
        for batch in _pending(organization):
            for start in range(0, len(batch), batch_size):
                chunk = batch[start : start + batch_size]
                ready = _weed(chunk, settings_row, report)
                if not ready:
                    continue
                if not writer.client.budget_ok(0.9):
                    report.retry = True
                    return
                if not _send(writer, ready, report):
                    return


def _weed(chunk: list[CrmActivity], settings_row: CrmSettings, report: FlushReport) -> list[CrmActivity]:
    """The chunk's activities that can go; the others are marked skipped with the reason."""
    ready = []
    for activity in chunk:
        reason = ""
        off = _switched_off(activity.kind, settings_row)
        if off:
            reason = f"{off} was turned off before this was sent."
        elif activity.contact is None:
            reason = "The contact was deleted from Cadence."
        elif not activity.contact.crm_id or activity.contact.crm_type not in ("Lead", "Contact"):
            reason = "The contact is not linked to a Salesforce Lead or Contact."
        if reason:
            _mark(activity, State.SKIPPED, error=reason)
            report.skipped += 1
        else:
            ready.append(activity)
    return ready


def _in_lists(values: list[str]) -> Iterator[list[str]]:
    chunk: list[str] = []
    size = 0
    for value in values:
        if chunk and size + len(value) + 4 > IN_LIST_CHARS:
            yield chunk
            chunk, size = [], 0
        chunk.append(value)
        size += len(value) + 4
    if chunk:
        yield chunk


def existing_tasks(writer: CrmWriter, keys: list[str]) -> dict[str, str]:
    """CallObject → Task id for the keys Salesforce already has a Task for."""
    found: dict[str, str] = {}
    for chunk in _in_lists(keys):
        listed = ", ".join(soql_string(k) for k in chunk)
        soql = f"SELECT Id, CallObject FROM Task WHERE CallObject IN ({listed})"  # noqa: S608 - quoted values
        for page in writer.client.query_pages(soql):
            for record in page:
                key = str(record.get("CallObject") or "")
                if key in chunk:
                    found.setdefault(key, str(record["Id"]))
    return found


def _send(writer: CrmWriter, ready: list[CrmActivity], report: FlushReport) -> bool:
    """Adopt what Salesforce already has, create the rest in one request, record the outcome.
    False when Salesforce could not be reached (stop; the task retries)."""
    keys = [a.payload.get("CallObject") or a.idempotency_key for a in ready]
    try:
        adopted = existing_tasks(writer, keys)
    except (SalesforceError, ProviderError) as exc:
        logger.warning(
            "engage.crm.activities_lookup_failed",
            extra={"organization_id": writer.organization.pk, "error_code": getattr(exc, "code", None)},
        )
        report.retry = True
        return False
    to_create = [a for a, k in zip(ready, keys, strict=True) if k not in adopted]
    sent = [(a, adopted[k]) for a, k in zip(ready, keys, strict=True) if k in adopted]
    report.adopted += len(sent)
    failed: list[tuple[CrmActivity, str]] = []
    if to_create:
        batch = writer.create_tasks([_task(a) for a in to_create])
        if batch.failure is not None:
            if batch.failure.retryable:
                _record_sent(sent)
                report.retry = True
                return False
            failed = [(a, batch.failure.message) for a in to_create]
        else:
            for activity, result in zip(to_create, batch.results, strict=False):
                if result.get("success"):
                    sent.append((activity, str(result["id"])))
                    report.sent += 1
                else:
                    error = SalesforceError.from_content(result.get("errors") or [], status=400)
                    failed.append((activity, refusal_message(error)))
    _record_sent(sent)
    for activity, message in failed:
        _mark(activity, State.FAILED, error=message)
    report.failed += len(failed)
    return True


def _task(activity: CrmActivity) -> dict[str, Any]:
    contact = activity.contact
    assert contact is not None  # weeded out before
    return {**activity.payload, "WhoId": contact.crm_id}


def _record_sent(sent: list[tuple[CrmActivity, str]]) -> None:
    """Mark the activities sent with their Task ids (one transaction)."""
    if not sent:
        return
    now = timezone.now()
    with transaction.atomic():
        for activity, task_id in sent:
            activity.state, activity.salesforce_task_id = State.SENT, task_id
            activity.sent_at, activity.error = now, ""
        fields = ["state", "salesforce_task_id", "sent_at", "error"]
        CrmActivity.objects.bulk_update([a for a, _ in sent], fields)


def _mark(activity: CrmActivity, state: str, *, error: str = "") -> None:
    activity.state, activity.error = state, error
    activity.save(update_fields=["state", "error"])
