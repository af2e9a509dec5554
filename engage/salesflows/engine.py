"""The Salesflow beat (issue 13, points 4-6): every minute ``salesflows_dispatch`` (the task
``engage.salesflows_dispatch``)

1. resumes the enrolments paused until a moment that has come (``events.enrolments_resume_due``);
2. resumes the enrolments paused because their sender's mailbox could not send, for each sender
   whose mailbox can send again (``mailboxes_resume``: rescheduled inside the windows, nothing to
   re-enrol). Integrations knows nothing of engage, so instead of a hook where connections change
   status the beat asks ``email_unavailable_reason`` for those senders (a few queries each);
3. claims the due active enrolments whose current step is an automatic email (``enrolments_claim``),
   ``DISPATCH_BATCH`` at a time, and queues one send task per mailbox with their ids
   (``engage.salesflows_send_mailbox`` → ``sending.mailbox_send``, which sends them exactly once).

Claiming: PostgreSQL takes the rows with ``SELECT … FOR UPDATE SKIP LOCKED`` (a row another
claimer is taking is passed over, not waited for) and marks them with this beat's name and a
lease in the same transaction; SQLite, which writes one transaction at a time, marks them with a
conditional UPDATE that matches only rows still free (no holder, or a lapsed lease), as the sync
leases do (``integrations.sync.states``). Either way two claimers never hold the same enrolment.
A claim lapses after ``sending.SEND_LEASE``: an enrolment whose run died is claimed again by a
later beat, and its send is settled then (``sending``: looked up before any second send).

Meeting booked: ``meetings_booked`` is a calendar handler of the sync's registry (registered in
``engage.apps``). A synced event, not cancelled, with a contact among its attendees (or as its
organiser), booked after the contact's enrolment started (the event's last change is after the
start, and it ends after it) takes that enrolment out of its flow with ``meeting_booked``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from copilot.models import User
from engage.enqueue import enqueue_on_commit
from engage.models import Enrolment
from engage.models.salesflows import StepKind
from engage.salesflows import events
from engage.salesflows.sending import SEND_LEASE
from engage.services.email import email_unavailable_reason
from integrations.records import CalendarEventRecord, MailboxContext, Record
from integrations.workers import worker_owner

logger = logging.getLogger(__name__)

# Enrolments claimed per query, and at most per beat (the next beat takes the rest).
DISPATCH_BATCH = 500
DISPATCH_MAX = 20_000

State = Enrolment.State


# --- Claiming -----------------------------------------------------------------------------------
def claimable(now: datetime):
    """Due active enrolments on an automatic email that nobody holds (or whose hold lapsed)."""
    return Enrolment.objects.filter(
        state=State.ACTIVE,
        due_at__lte=now,
        current_step__kind=StepKind.AUTO_EMAIL,
    ).filter(Q(claim_expires_at__isnull=True) | Q(claim_expires_at__lte=now))


def claim_candidates(*, now: datetime, limit: int = DISPATCH_BATCH) -> list[int]:
    """The first ``limit`` claimable enrolments by due time (read only)."""
    return list(claimable(now).order_by("due_at", "pk").values_list("pk", flat=True)[:limit])


def claim_ids(ids: Sequence[int], *, worker: str, now: datetime) -> list[tuple[int, int | None]]:
    """Mark those of ``ids`` still claimable as ``worker``'s, with one conditional UPDATE (a row
    another claimer took meanwhile no longer matches). Returns (enrolment, sender) of those won."""
    if not ids:
        return []
    claimable(now).filter(pk__in=list(ids)).update(claimed_by=worker, claim_expires_at=now + SEND_LEASE)
    return list(
        Enrolment.objects.filter(pk__in=list(ids), claimed_by=worker)
        .order_by("due_at", "pk")
        .values_list("pk", "sender_id")
    )


def enrolments_claim(
    *, worker: str, now: datetime | None = None, limit: int = DISPATCH_BATCH
) -> list[tuple[int, int | None]]:
    """Claim up to ``limit`` due enrolments for ``worker`` (see the module): (enrolment, sender)."""
    now = now or timezone.now()
    if connection.vendor != "postgresql":
        return claim_ids(claim_candidates(now=now, limit=limit), worker=worker, now=now)
    with transaction.atomic():
        ids = list(
            claimable(now)
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("due_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )
        return claim_ids(ids, worker=worker, now=now)


# --- Mailboxes back -----------------------------------------------------------------------------
def mailboxes_resume(*, now: datetime | None = None) -> int:
    """Resume the enrolments paused because their sender's mailbox could not send, for every
    sender who can send again. Returns how many enrolments resumed."""
    now = now or timezone.now()
    reason = Enrolment.PauseReason.MAILBOX_DISCONNECTED
    sender_ids = (
        Enrolment.objects.filter(state=State.PAUSED, pause_reason=reason, sender__isnull=False)
        .order_by()
        .values_list("sender_id", flat=True)
        .distinct()
    )
    resumed = 0
    for sender in User.objects.filter(pk__in=list(sender_ids), is_active=True).select_related("organization"):
        if email_unavailable_reason(user=sender):
            continue
        count = events.sender_enrolments_resume(sender=sender, reason=reason, now=now)
        logger.info("salesflows.mailbox_resumed", extra={"user_id": sender.pk, "enrolments": count})
        resumed += count
    return resumed


# --- The beat -----------------------------------------------------------------------------------
@dataclass
class DispatchReport:
    resumed: int = 0  # paused until a moment that came
    mailboxes_resumed: int = 0  # enrolments whose mailbox can send again
    claimed: int = 0
    tasks: int = 0  # send tasks queued (one per mailbox)


def salesflows_dispatch(*, now: datetime | None = None) -> DispatchReport:
    """The minute beat (see the module). ``now`` fixes the clock for the whole beat and its send
    tasks (tests); the beat gives none."""
    at = now or timezone.now()
    report = DispatchReport()
    report.resumed = events.enrolments_resume_due(now=at)
    report.mailboxes_resumed = mailboxes_resume(now=at)
    worker = worker_owner("salesflow-dispatch")
    by_sender: dict[int | None, list[int]] = {}
    while report.claimed < DISPATCH_MAX:
        won = enrolments_claim(
            worker=worker, now=at, limit=min(DISPATCH_BATCH, DISPATCH_MAX - report.claimed)
        )
        for pk, sender_id in won:
            by_sender.setdefault(sender_id, []).append(pk)
        report.claimed += len(won)
        if not won:
            break
    kwargs = {"now": now.isoformat()} if now is not None else {}
    for sender_id, ids in by_sender.items():
        enqueue_on_commit("salesflow_send_mailbox", sender_id, ids, worker, **kwargs)
        report.tasks += 1
    if report.claimed or report.resumed or report.mailboxes_resumed:
        logger.info("salesflows.dispatched", extra=vars(report))
    return report


# --- Meeting booked -----------------------------------------------------------------------------
def meetings_booked(context: MailboxContext, records: Sequence[Record]) -> None:
    """Calendar handler (see the module): enrolments of the contacts a synced meeting is with exit
    ``meeting_booked``. Idempotent: an enrolment already out is left as it is."""
    booked: dict[str, tuple[datetime, datetime, str]] = {}  # email -> (changed, ends, event)
    delivered_at = timezone.now()
    for record in records:
        if not isinstance(record, CalendarEventRecord) or record.cancelled:
            continue
        changed = record.updated_at or delivered_at
        emails = [a.email for a in record.attendees if not a.is_resource] + [record.organizer.email]
        for email in emails:
            email = (email or "").strip().lower()
            if email and (email not in booked or booked[email][0] < changed):
                booked[email] = (changed, record.end, record.ical_uid or record.external_id)
    if not booked:
        return
    live = (
        Enrolment.objects.for_org(context.organization_id)
        .annotate(contact_email=Lower("contact__email"))
        .filter(state__in=Enrolment.LIVE_STATES, contact_email__in=list(booked))
        .order_by("pk")
    )
    for enrolment in live:
        changed, ends, event = booked[enrolment.contact_email]
        if changed >= enrolment.started_at and ends >= enrolment.started_at:
            events.enrolment_exit(enrolment, Enrolment.ExitReason.MEETING_BOOKED, data={"event": event})
            logger.info("salesflows.meeting_booked", extra={"enrolment_id": enrolment.pk})
