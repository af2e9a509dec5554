"""Sending a Salesflow email step exactly once (issue 13, points 4, 5 and 6).

``mailbox_send`` is the body of one per-mailbox send task: the enrolments the minute beat
claimed (``engage.salesflows.engine``) for one sender, sent one after the other;
``manual_email_send`` is the Actions queue's send of a manual email step the seller wrote. Both
go through ``engage.services.email`` (compose's one send service) and the same sequence:

1. **Claim.** The enrolment is held by this run (``Enrolment.claimed_by`` and a lease,
   ``SEND_LEASE``). A task takes over the enrolments the beat gave it with one conditional
   UPDATE per holder, so of two deliveries of the same task one wins; a Celery redelivery after
   its worker died takes them over from the dead run (``integrations.workers.owner_is_dead``),
   and any run may take them once the lease has lapsed.
2. **Place.** ``engage.scheduling.place_send`` with the mailbox's sends of the day and the
   organisation's sends to the recipient's domain, inside the sender's window and the
   recipient's business day, under the admins' caps (``send_caps_for``). An instant later than
   now reschedules the enrolment (``due_at``) and lets it go: never dropped.
3. **Sending.** In its own transaction, holding the enrolment's row lock and checking the claim,
   the ``StepSend`` (one per enrolment x step) is created or taken with its deterministic
   Message-ID (``message_id_for``) and marked ``sending`` (``sending_at``, ``attempts``), the
   lease renewed. COMMIT.
4. **Render** the step (or its A/B variant, chosen from the Message-ID so a retry picks the same)
   for the contact: a merge field with no value and no fallback (``MissingMergeValue``) makes the
   send ``needs_attention`` naming the fields, and pauses the enrolment (``needs_attention``)
   for the seller to fix the contact and resume it; the rest of the queue goes on. A threaded
   step answers the thread of the enrolment's earlier sent emails: "Re: <first subject>",
   In-Reply-To the last one, References the ones before, Gmail's thread id of the first.
5. **Provider call** (``email_send``, with the Message-ID header).
6. **Sent.** In one transaction: the send is ``sent`` with the provider's ids, and the enrolment
   moves on (``events.enrolment_advance``) and is let go.

A crash anywhere leaves the enrolment claimed until its lease lapses (or its dead worker's task
is redelivered); the run that takes it next finds the send ``sending`` — the provider may or may
not have the message — and first looks its Message-ID up in the sender's Sent mail
(``email_find_sent``): found, it is recorded as sent (no second send); not found, it is sent
again with the same Message-ID. The look-up waits ``SENT_LOOKUP_MIN_AGE`` after the provider
call (a request in flight when its worker died may still land), and on Microsoft 365, whose Sent
Items copy is saved a moment after ``sendMail`` answers, "not found" within ``SENT_COPY_LAG`` of
the call means "not there yet": the enrolment waits and asks again (only "not found" after that
sends again). A send begun ``MAX_ATTEMPTS`` times without an answer fails.

What the provider says:

- it refused the message (an invalid recipient, a 5xx after the client's retries, any other
  refusal): the send is ``failed`` with the provider's reason (the ``EmailNotSent`` text) for the
  seller, the enrolment is paused with ``send_failed`` (the seller sees why, and resumes or skips
  the step); the rest of the queue goes on. A resumed failed send is looked up first, as a crash
  is (a 5xx may hide a message that went);
- throttled (429, quota): nothing was sent; the enrolment and the rest of the mailbox's batch
  are rescheduled (the provider's Retry-After, at least ``THROTTLE_BACKOFF``), never failed;
- the mailbox cannot send (disconnected, needs reconnecting, credentials refused): every active
  enrolment of the sender is paused with ``mailbox_disconnected``; the beat resumes them,
  rescheduled inside the windows, once sending works again (``engine.mailboxes_resume``).

A contact who opted out or bounced since enrolling leaves the flow (unsubscribed, bounced)
instead of being sent to; one without an email address waits as ``needs_attention``.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Prefetch, Q
from django.utils import timezone

from copilot.models import User
from engage.models import EngageSettings, Enrolment, SalesflowStep, SalesflowVariant, StepSend
from engage.models.salesflows import StepKind, message_id_for
from engage.salesflows import events
from engage.salesflows.merge import MergeTemplateError, MissingMergeValue, context_for, missing_for, render
from engage.salesflows.schedule import SenderCalendar
from engage.scheduling import SendCaps, place_send
from engage.services.email import EmailNotSent, email_find_sent, email_send, email_unavailable_reason
from engage.signatures import signature_html
from integrations.exceptions import ProviderThrottled
from integrations.records import Address
from integrations.selectors import mail_connection_for
from integrations.sending import SendingUnavailable
from integrations.sync.source import OutgoingMessage
from integrations.workers import owner_is_dead, worker_owner

if TYPE_CHECKING:
    from integrations.records import MailMessageRecord

logger = logging.getLogger(__name__)

SendState = StepSend.State
PauseReason = Enrolment.PauseReason

# A run holds an enrolment this long after claiming it or beginning its send; a send (the
# provider call with the client's retries) takes seconds, so a lapsed lease means a dead run.
SEND_LEASE = timedelta(minutes=5)
# A send found "sending" is looked up in the Sent mail no sooner than this after its provider
# call: a request in flight when its worker died may still be taken by the provider.
SENT_LOOKUP_MIN_AGE = timedelta(minutes=1)
# How late a provider may save the Sent copy of a message it took: "not found" within this of
# the call means "not there yet" (Microsoft 365 saves Sent Items a moment after sendMail answers).
SENT_COPY_LAG = {"microsoft": timedelta(minutes=15)}
# A throttled mailbox waits at least this (longer when the provider says so).
THROTTLE_BACKOFF = timedelta(minutes=15)
# A batch's remaining enrolments have their leases renewed every this many sends.
LEASE_RENEW_EVERY = 25
# A send begun this many times in a row without an answer (its worker dies every time) fails.
MAX_ATTEMPTS = 5
NO_EMAIL = "The contact has no email address."
NO_WINDOW = "No send window opens for this contact within a year: check the sender's business hours."
CHECKING = (
    "This email was sent a moment ago and Cadence is still checking that it went (your mail provider "
    "files the sent copy a little later). Try again in a few minutes: it will not be sent twice."
)
TOO_MANY_ATTEMPTS = "Cadence could not send this email after {n} attempts. Resume to try again."


def _checkpoint(point: str) -> None:
    """Where the send sequence may be interrupted (tests stand in for a killed worker here):
    ``claimed``, ``sending`` (the send committed as sending), ``provider_called`` (the provider
    took the message, nothing recorded yet), ``sent`` (recorded as sent, not yet moved on)."""


_ACTIVE_VARIANTS = SalesflowVariant.objects.filter(active=True).order_by("label")


# --- Caps -----------------------------------------------------------------------------------------
def send_caps_for(organization_id: int) -> SendCaps:
    """The organisation's caps and gap (``EngageSettings``), the defaults when it set none.
    Reads only."""
    row = (
        EngageSettings.objects.filter(organization_id=organization_id)
        .values_list(
            "send_cap_per_day", "send_cap_per_hour", "send_cap_per_domain_per_day", "send_gap_seconds"
        )
        .first()
    )
    if row is None:
        return SendCaps()
    per_day, per_hour, per_domain, gap = row
    return SendCaps(
        per_day=max(per_day, 1),
        per_hour=max(per_hour, 1),
        per_domain_per_day=max(per_domain, 1),
        gap=timedelta(seconds=gap),
    )


@transaction.atomic
def send_caps_set(
    *,
    organization_id: int,
    actor: User,
    per_day: int,
    per_hour: int,
    per_domain_per_day: int,
    gap_seconds: int,
) -> SendCaps:
    """An admin sets the organisation's Salesflow send caps. ``ValidationError`` per field."""
    if not actor.is_org_admin or actor.organization_id != organization_id:
        raise PermissionDenied("Only an administrator of the organisation sets the send caps.")
    errors = {}
    for name, value in (
        ("per_day", per_day),
        ("per_hour", per_hour),
        ("per_domain_per_day", per_domain_per_day),
    ):
        if value < 1:
            errors[name] = "At least 1: a send over a cap waits for the next hour or day."
    if gap_seconds < 0:
        errors["gap_seconds"] = "The gap cannot be negative."
    if per_hour > per_day:
        errors.setdefault("per_hour", "The hourly cap cannot be above the daily cap.")
    if errors:
        raise ValidationError(errors)
    row, _ = EngageSettings.objects.select_for_update().get_or_create(organization_id=organization_id)
    row.send_cap_per_day, row.send_cap_per_hour = per_day, per_hour
    row.send_cap_per_domain_per_day, row.send_gap_seconds = per_domain_per_day, gap_seconds
    row.save(
        update_fields=[
            "send_cap_per_day",
            "send_cap_per_hour",
            "send_cap_per_domain_per_day",
            "send_gap_seconds",
        ]
    )
    return send_caps_for(organization_id)


# --- Claims -------------------------------------------------------------------------------------
def claim_release(enrolment_ids: Iterable[int], *, holder: str, due_at: datetime | None = None) -> int:
    """Let go of the enrolments ``holder`` holds (optionally due again at ``due_at``)."""
    values: dict[str, object] = {"claimed_by": "", "claim_expires_at": None}
    if due_at is not None:
        values["due_at"] = due_at
    return Enrolment.objects.filter(pk__in=list(enrolment_ids), claimed_by=holder).update(**values)


def claims_take_over(
    enrolment_ids: Sequence[int], *, claim: str, run: str, now: datetime, due: bool = True
) -> list[int]:
    """This run (``run``) takes the enrolments the beat claimed as ``claim`` — or, for a Celery
    redelivery, that a dead run took, or whose lease lapsed — with one conditional UPDATE per
    holder, so of two runs only one gets each; with ``due``, only those due by ``now`` (a late
    task never sends early what was rescheduled since). Returns the ids it holds now."""
    holders: dict[str, list[int]] = {}
    rows = Enrolment.objects.filter(pk__in=list(enrolment_ids), state=Enrolment.State.ACTIVE)
    if due:
        rows = rows.filter(due_at__lte=now)
    for pk, holder, expires in rows.values_list("pk", "claimed_by", "claim_expires_at"):
        free = not holder or expires is None or expires <= now
        if free or holder in (claim, run) or owner_is_dead(holder):
            holders.setdefault(holder, []).append(pk)
    expires_at = now + SEND_LEASE
    for holder, pks in holders.items():
        taken = rows.filter(pk__in=pks, claimed_by=holder)
        if holder not in (claim, run) and not owner_is_dead(holder):
            taken = taken.filter(Q(claim_expires_at__isnull=True) | Q(claim_expires_at__lte=now))
        taken.update(claimed_by=run, claim_expires_at=expires_at)
    return list(
        Enrolment.objects.filter(pk__in=list(enrolment_ids), claimed_by=run).values_list("pk", flat=True)
    )


# --- What a mailbox has sent ----------------------------------------------------------------------
@dataclass
class Mailbox:
    """One sender's mailbox during a run: its calendar, caps, the instants of its sends (and of
    the organisation's sends per recipient domain) since yesterday, kept up to date as it sends."""

    sender: User
    calendar: SenderCalendar
    caps: SendCaps
    placed: list[datetime]
    domains: dict[str, list[datetime]]
    signature: str
    rng: random.Random = field(default_factory=random.Random)
    provider: str | None = None
    # The sends of the batch's enrolments, read once (enrolment id -> {step id: send}).
    sends: dict[int, dict[int, StepSend]] = field(default_factory=dict)

    def preload(self, enrolment_ids: Iterable[int]) -> None:
        for pk in enrolment_ids:
            self.sends.setdefault(pk, {})
        for send in StepSend.objects.filter(enrolment_id__in=list(self.sends)):
            self.sends[send.enrolment_id][send.step_id] = send

    def send_of(self, enrolment: Enrolment, step: SalesflowStep) -> StepSend | None:
        """The enrolment's send of ``step`` (from the batch's, when read with it)."""
        if enrolment.pk in self.sends:
            return self.sends[enrolment.pk].get(step.pk)
        return StepSend.objects.filter(enrolment=enrolment, step=step).first()

    @classmethod
    def of(cls, sender: User, *, now: datetime, domains: Iterable[str] = ()) -> Mailbox:
        since = now - timedelta(days=2)
        placed = []
        for sent_at, sending_at in StepSend.objects.filter(
            Q(sent_at__gte=since) | Q(state=SendState.SENDING, sending_at__gte=since), sender=sender
        ).values_list("sent_at", "sending_at"):
            placed.append(sent_at or sending_at)
        by_domain: dict[str, list[datetime]] = {d: [] for d in domains}
        if by_domain:
            for domain, sent_at, sending_at in StepSend.objects.filter(
                Q(sent_at__gte=since) | Q(state=SendState.SENDING, sending_at__gte=since),
                organization_id=sender.organization_id,
                recipient_domain__in=list(by_domain),
            ).values_list("recipient_domain", "sent_at", "sending_at"):
                by_domain[domain].append(sent_at or sending_at)
        return cls(
            sender=sender,
            calendar=SenderCalendar.of(sender),
            caps=send_caps_for(sender.organization_id),
            placed=placed,
            domains=by_domain,
            signature=signature_html(sender),
        )

    def place(self, enrolment: Enrolment, domain: str, now: datetime) -> datetime:
        """The instant this enrolment's email may go, given the mailbox's sends (>= ``now``)."""
        window = functools.partial(self.calendar.window, contact=enrolment.contact, email=True)
        return place_send(
            now,
            window=window,
            time_zone=self.sender.time_zone,
            placed=self.placed,
            domain_placed=self.domains.get(domain, ()),
            caps=self.caps,
            rng=self.rng,
        )

    def sent(self, domain: str, at: datetime) -> None:
        """A send made (or an instant kept for one) at ``at``: it counts for the next ones."""
        self.placed.append(at)
        self.domains.setdefault(domain, []).append(at)

    def copy_lag(self) -> timedelta:
        if self.provider is None:
            self.provider = _provider_of(self.sender)
        return copy_lag(self.provider)


def _provider_of(sender: User) -> str:
    connection = mail_connection_for(sender)
    return connection.provider if connection is not None else ""


def copy_lag(provider: str) -> timedelta:
    """How late ``provider`` may save the Sent copy of a message it took (at least the
    look-up's own wait): "not found" sooner than this after the call means "not there yet"."""
    return max(SENT_COPY_LAG.get(provider, SENT_LOOKUP_MIN_AGE), SENT_LOOKUP_MIN_AGE)


def recipient_domain(contact) -> str:
    email = (contact.email or "").strip().lower()
    return email.rpartition("@")[2] if "@" in email else ""


# --- Outcomes ---------------------------------------------------------------------------------------
class Outcome(Enum):
    SENT = "sent"  # sent now, or found sent (recorded, moved on)
    RESCHEDULED = "rescheduled"  # caps, window, a Sent copy not there yet: due again later
    NEEDS_ATTENTION = "needs_attention"
    FAILED = "failed"
    EXITED = "exited"  # opted out or bounced since enrolling
    SKIPPED = "skipped"  # not this run's any more, or nothing to send
    MAILBOX_UNAVAILABLE = "mailbox_unavailable"  # stop the mailbox's batch
    THROTTLED = "throttled"  # stop the mailbox's batch


@dataclass
class MailboxReport:
    outcomes: dict[str, int] = field(default_factory=dict)

    def add(self, outcome: Outcome) -> None:
        self.outcomes[outcome.value] = self.outcomes.get(outcome.value, 0) + 1

    def __getitem__(self, name: str) -> int:
        return self.outcomes.get(name, 0)


# --- A mailbox's batch --------------------------------------------------------------------------
def mailbox_send(
    *, sender_id: int, enrolment_ids: Sequence[int], claim: str, now: datetime | None = None
) -> MailboxReport:
    """Send the due automatic emails of ``enrolment_ids`` (claimed by the beat as ``claim``)
    from ``sender_id``'s mailbox, one after the other. ``now`` fixes the clock (tests)."""
    clock: Callable[[], datetime] = (lambda: now) if now is not None else timezone.now
    report = MailboxReport()
    run = worker_owner("salesflow-send")
    ids = claims_take_over(enrolment_ids, claim=claim, run=run, now=clock())
    if not ids:
        return report
    _checkpoint("claimed")
    sender = User.objects.select_related("organization").filter(pk=sender_id).first()
    enrolments = list(
        Enrolment.objects.filter(pk__in=ids, claimed_by=run)
        .select_related("contact__account", "current_step", "flow", "sender")
        .prefetch_related(Prefetch("current_step__variants", queryset=_ACTIVE_VARIANTS))
        .order_by("due_at", "pk")
    )
    if sender is None or not sender.is_active or email_unavailable_reason(user=sender):
        _mailbox_unavailable(sender, enrolments, run=run, now=clock())
        report.add(Outcome.MAILBOX_UNAVAILABLE)
        return report
    mailbox = Mailbox.of(sender, now=clock(), domains={recipient_domain(e.contact) for e in enrolments})
    mailbox.preload(e.pk for e in enrolments)
    for index, enrolment in enumerate(enrolments):
        if index and index % LEASE_RENEW_EVERY == 0:  # the rest stay this run's while it works
            rest = [e.pk for e in enrolments[index:]]
            Enrolment.objects.filter(pk__in=rest, claimed_by=run).update(
                claim_expires_at=clock() + SEND_LEASE
            )
        enrolment.sender = sender  # one user object: its profile and signature read once
        outcome = send_step(enrolment, mailbox=mailbox, run=run, now=clock())
        report.add(outcome)
        if outcome is Outcome.MAILBOX_UNAVAILABLE:
            _mailbox_unavailable(sender, enrolments[index:], run=run, now=clock())
            break
        if outcome is Outcome.THROTTLED:
            rest = enrolments[index + 1 :]
            later = _backoff_due(mailbox, enrolment, clock(), None)
            claim_release([e.pk for e in rest], holder=run)
            Enrolment.objects.filter(pk__in=[e.pk for e in rest], due_at__lt=later).update(due_at=later)
            break
    return report


def _mailbox_unavailable(
    sender: User | None, enrolments: list[Enrolment], *, run: str, now: datetime
) -> None:
    """The mailbox cannot send: every active enrolment of the sender pauses (the beat resumes
    them when it can again); these are let go."""
    if sender is not None:
        paused = events.sender_enrolments_pause(
            sender=sender, reason=PauseReason.MAILBOX_DISCONNECTED, now=now
        )
        logger.info("salesflows.mailbox_paused", extra={"user_id": sender.pk, "enrolments": paused})
    else:  # the sender was deleted: nothing can go from this enrolment until it is reassigned
        for enrolment in enrolments:
            events.enrolment_pause(enrolment, reason=PauseReason.MAILBOX_DISCONNECTED, now=now)
    claim_release([e.pk for e in enrolments], holder=run)


def _backoff_due(
    mailbox: Mailbox, enrolment: Enrolment, now: datetime, retry_after: float | None
) -> datetime:
    wait = max(THROTTLE_BACKOFF, timedelta(seconds=retry_after or 0))
    try:
        return mailbox.calendar.window(now + wait, contact=enrolment.contact, email=True)
    except ValueError:
        return now + wait


# --- One enrolment's step ---------------------------------------------------------------------------
def send_step(enrolment: Enrolment, *, mailbox: Mailbox, run: str, now: datetime) -> Outcome:
    """Send ``enrolment``'s due automatic email (held by ``run``), exactly once: see the module."""
    step = enrolment.current_step
    if (
        enrolment.state != Enrolment.State.ACTIVE
        or step is None
        or step.kind != StepKind.AUTO_EMAIL
        or enrolment.due_at is None
        or enrolment.due_at > now
    ):
        claim_release([enrolment.pk], holder=run)
        return Outcome.SKIPPED
    contact = enrolment.contact
    if contact.email_opt_out or contact.email_bounced_at:
        reason = Enrolment.ExitReason.UNSUBSCRIBED if contact.email_opt_out else Enrolment.ExitReason.BOUNCED
        events.enrolment_exit(enrolment, reason, data={"noticed": "before sending"}, now=now)
        claim_release([enrolment.pk], holder=run)
        return Outcome.EXITED
    domain = recipient_domain(contact)
    existing = mailbox.send_of(enrolment, step)
    if existing is not None and existing.state == SendState.SENT:  # sent; moving on was lost
        return _record_sent(enrolment, existing, None, run=run, now=now)
    if (
        existing is not None
        and existing.state in (SendState.SENDING, SendState.FAILED)
        and existing.sending_at
    ):
        settled = _settle(enrolment, existing, mailbox=mailbox, run=run, now=now)
        if settled is not None:
            return settled
        if existing.state == SendState.SENDING and existing.attempts >= MAX_ATTEMPTS:
            return _failed(
                enrolment, existing, TOO_MANY_ATTEMPTS.format(n=existing.attempts), run=run, now=now
            )
    if not domain:
        send = _begin(enrolment, step, mailbox.sender, existing, run=run, now=now, domain="")
        if send is None:
            return Outcome.SKIPPED
        return _needs_attention(enrolment, send, NO_EMAIL, run=run, now=now)
    try:
        placed = mailbox.place(enrolment, domain, now)
    except ValueError:
        send = _begin(enrolment, step, mailbox.sender, existing, run=run, now=now, domain=domain)
        if send is None:
            return Outcome.SKIPPED
        return _failed(enrolment, send, NO_WINDOW, run=run, now=now, provider_called=False)
    if placed > now:
        # Its instant is kept for it: the batch's next sends are placed around it, so a capped or
        # spread mailbox's queue is laid out over the coming hours and days at once.
        mailbox.sent(domain, placed)
        claim_release([enrolment.pk], holder=run, due_at=placed)
        return Outcome.RESCHEDULED
    send = _begin(enrolment, step, mailbox.sender, existing, run=run, now=now, domain=domain)
    if send is None:
        return Outcome.SKIPPED
    _checkpoint("sending")
    try:
        message = compose(enrolment, step, send, signature=mailbox.signature)
    except MissingMergeValue as exc:
        return _needs_attention(enrolment, send, str(exc), run=run, now=now)
    except MergeTemplateError as exc:
        return _needs_attention(enrolment, send, f"The step's template has mistakes: {exc}", run=run, now=now)
    try:
        record = email_send(user=mailbox.sender, message=message)
    except EmailNotSent as exc:
        return _refused(enrolment, send, exc, mailbox=mailbox, run=run, now=now)
    _checkpoint("provider_called")
    mailbox.sent(domain, now)
    return _record_sent(enrolment, send, record, run=run, now=now)


def _settle(
    enrolment: Enrolment, send: StepSend, *, mailbox: Mailbox, run: str, now: datetime
) -> Outcome | None:
    """A send the provider may have (a crash after its call, a failure that may hide a send):
    found in the Sent mail it is recorded as sent; too soon to tell, the enrolment waits.
    None: not sent, send (again)."""
    age = now - send.sending_at
    if age < SENT_LOOKUP_MIN_AGE:
        claim_release([enrolment.pk], holder=run, due_at=send.sending_at + SENT_LOOKUP_MIN_AGE)
        return Outcome.RESCHEDULED
    try:
        found = email_find_sent(user=mailbox.sender, message_id_header=send.message_id)
    except EmailNotSent as exc:
        if isinstance(exc.__cause__, SendingUnavailable):
            return Outcome.MAILBOX_UNAVAILABLE
        # The mailbox could not be asked: never send blindly; ask again later.
        retry_after = getattr(exc.__cause__, "retry_after", None)
        claim_release([enrolment.pk], holder=run, due_at=_backoff_due(mailbox, enrolment, now, retry_after))
        return Outcome.RESCHEDULED
    if found is not None:
        logger.info("salesflows.send_found", extra={"enrolment_id": enrolment.pk, "step_send_id": send.pk})
        mailbox.sent(send.recipient_domain, send.sending_at)
        return _record_sent(enrolment, send, found, run=run, now=now, sent_at=send.sending_at)
    lag = mailbox.copy_lag()
    if age < lag:  # Microsoft 365 may not have saved the Sent copy yet
        claim_release([enrolment.pk], holder=run, due_at=send.sending_at + lag)
        return Outcome.RESCHEDULED
    logger.info("salesflows.send_not_found", extra={"enrolment_id": enrolment.pk, "step_send_id": send.pk})
    return None


def _begin(
    enrolment: Enrolment,
    step: SalesflowStep,
    sender: User,
    existing: StepSend | None,
    *,
    run: str,
    now: datetime,
    domain: str,
) -> StepSend | None:
    """Step 3: the send (``existing``, else a new one), ``sending`` with its Message-ID,
    committed — if ``run`` still holds the enrolment on this step (one conditional UPDATE checks
    that, renews the lease and takes the enrolment's row lock). None when it does not (another
    run took it; it moved on). Only the claim's holder makes or changes the enrolment's sends."""
    with transaction.atomic():
        held = Enrolment.objects.filter(
            pk=enrolment.pk, claimed_by=run, state=Enrolment.State.ACTIVE, current_step=step
        ).update(claim_expires_at=now + SEND_LEASE)
        if not held:
            return None
        if existing is None:
            return StepSend.objects.create(
                organization_id=enrolment.organization_id,
                enrolment=enrolment,
                step=step,
                sender=sender,
                message_id=message_id_for(
                    organization_id=enrolment.organization_id,
                    enrolment_id=enrolment.pk,
                    step_id=step.pk,
                    domain=sender.email.rpartition("@")[2],
                ),
                state=SendState.SENDING,
                recipient_domain=domain,
                due_at=enrolment.due_at,
                sending_at=now,
                attempts=1,
            )
        send = StepSend.objects.select_for_update().get(pk=existing.pk)
        if send.state == SendState.SENT:
            return None
        send.attempts = send.attempts + 1 if send.state == SendState.SENDING else 1
        send.state, send.sending_at, send.error = SendState.SENDING, now, ""
        send.sender, send.recipient_domain = sender, domain
        send.save(update_fields=["attempts", "state", "sending_at", "error", "sender", "recipient_domain"])
        return send


def _record_sent(
    enrolment: Enrolment,
    send: StepSend,
    record: MailMessageRecord | None,
    *,
    run: str,
    now: datetime,
    sent_at: datetime | None = None,
) -> Outcome:
    """Step 6: sent (with the provider's ids), the enrolment moved on and let go, together."""
    with transaction.atomic():
        if record is not None or send.state != SendState.SENT:
            send.state, send.error = SendState.SENT, ""
            send.sent_at = sent_at or now
            if record is not None:
                send.provider_message_id = record.external_id or send.provider_message_id
                send.thread_id = record.thread_id or send.thread_id
                send.subject = send.subject or record.subject  # found after a crash: as sent
            send.save(
                update_fields=[
                    "state",
                    "error",
                    "sent_at",
                    "provider_message_id",
                    "thread_id",
                    "subject",
                    "variant",
                ]
            )
        _checkpoint("sent")
        events.enrolment_advance(enrolment, done_at=send.sent_at or now, now=now)
        claim_release([enrolment.pk], holder=run)
    return Outcome.SENT


def _needs_attention(enrolment: Enrolment, send: StepSend, why: str, *, run: str, now: datetime) -> Outcome:
    with transaction.atomic():
        send.state, send.error, send.sending_at = SendState.NEEDS_ATTENTION, why, None
        send.save(update_fields=["state", "error", "sending_at"])
        events.enrolment_pause(enrolment, reason=PauseReason.NEEDS_ATTENTION, now=now)
        claim_release([enrolment.pk], holder=run)
    logger.info("salesflows.needs_attention", extra={"enrolment_id": enrolment.pk, "step_send_id": send.pk})
    return Outcome.NEEDS_ATTENTION


def _failed(
    enrolment: Enrolment, send: StepSend, why: str, *, run: str, now: datetime, provider_called: bool = True
) -> Outcome:
    """The provider refused: failed with its reason; the enrolment pauses (``send_failed``)."""
    with transaction.atomic():
        send.state, send.error = SendState.FAILED, why
        fields = ["state", "error"]
        if not provider_called:
            send.sending_at = None
            fields.append("sending_at")
        send.save(update_fields=fields)
        events.enrolment_pause(enrolment, reason=PauseReason.SEND_FAILED, now=now)
        claim_release([enrolment.pk], holder=run)
    logger.info("salesflows.send_failed", extra={"enrolment_id": enrolment.pk, "step_send_id": send.pk})
    return Outcome.FAILED


def _not_sent(send: StepSend) -> None:
    """The provider did not take the message (throttled, or sending was not possible): nothing
    to look up before the next try."""
    send.state, send.sending_at = SendState.PENDING, None
    send.save(update_fields=["state", "sending_at"])


def _refused(
    enrolment: Enrolment, send: StepSend, exc: EmailNotSent, *, mailbox: Mailbox, run: str, now: datetime
) -> Outcome:
    cause = exc.__cause__
    if isinstance(cause, SendingUnavailable):
        _not_sent(send)
        return Outcome.MAILBOX_UNAVAILABLE  # the caller pauses the mailbox's enrolments
    if isinstance(cause, ProviderThrottled):
        _not_sent(send)
        claim_release(
            [enrolment.pk], holder=run, due_at=_backoff_due(mailbox, enrolment, now, cause.retry_after)
        )
        logger.info(
            "salesflows.throttled", extra={"enrolment_id": enrolment.pk, "user_id": mailbox.sender.pk}
        )
        return Outcome.THROTTLED
    return _failed(enrolment, send, str(exc), run=run, now=now)


# --- What is sent -------------------------------------------------------------------------------
def reply_subject(subject: str) -> str:
    """``Re: <subject>``, once (a subject that is a reply already stays as it is)."""
    subject = (subject or "").strip()
    return subject if subject[:3].lower() == "re:" else f"Re: {subject}"


def thread_before(enrolment: Enrolment) -> list[StepSend]:
    """The enrolment's sent emails a threaded step answers, oldest first: the last one sent, and
    before it every one it was itself a reply to, up to the one that started the thread."""
    sent = list(
        StepSend.objects.filter(enrolment=enrolment, state=SendState.SENT)
        .select_related("step")
        .order_by("-sent_at", "-pk")
    )
    thread: list[StepSend] = []
    for send in sent:
        thread.append(send)
        if not send.step.reply_in_thread:
            break
    thread.reverse()
    return thread


def variant_for(step: SalesflowStep, message_id: str) -> SalesflowVariant | None:
    """The A/B variant a send of ``step`` uses: the declared winner, else a share of the sends
    by each variant's weight (picked from the Message-ID: the same on every try); the step's own
    text for the share no variant takes. None: the step's own text."""
    variants = sorted((v for v in step.variants.all() if v.active), key=lambda v: v.label)
    if not variants:
        return None
    winner = next((v for v in variants if v.winner), None)
    if winner is not None:
        return winner
    bucket = int(hashlib.sha256(message_id.encode()).hexdigest(), 16) % 100
    reached = 0
    for variant in variants:
        reached += variant.weight
        if bucket < reached:
            return variant
    return None


def compose(
    enrolment: Enrolment, step: SalesflowStep, send: StepSend, *, signature: str | None = None
) -> OutgoingMessage:
    """Step 4: the email of ``step`` for the enrolment's contact, from its sender, threaded when
    the step is a reply. Sets the subject (and variant) on ``send``, saved with its outcome.
    ``MissingMergeValue`` when the contact lacks a value a field needs."""
    contact, sender = enrolment.contact, enrolment.sender
    variant = variant_for(step, send.message_id)
    source = variant or step
    context = context_for(contact, sender, signature=signature)
    threading = _threading(enrolment, step)
    subject_text = "" if threading.subject else (source.subject or step.subject)
    texts = (subject_text, source.body_html, source.text_body())
    missing = dict.fromkeys(field for text in texts for field in missing_for(text, context))
    if missing:  # every field the seller has to fill in, not only the first met
        raise MissingMergeValue(missing)
    html = render(source.body_html, context, html=True)
    text = render(source.text_body(), context, html=False)
    subject = threading.subject or render(subject_text, context, html=False)
    send.subject, send.variant = subject, variant  # saved with the send's outcome
    return OutgoingMessage(
        to=(Address(contact.email, f"{contact.first_name} {contact.last_name}".strip()),),
        subject=subject,
        text=text,
        html=html,
        sender_name=sender.get_full_name(),
        message_id_header=send.message_id,
        in_reply_to=threading.in_reply_to,
        references=threading.references,
        thread_id=threading.thread_id,
    )


@dataclass(frozen=True)
class _Threading:
    subject: str = ""  # "" : the step's own (rendered) subject
    in_reply_to: str = ""
    references: tuple[str, ...] = ()
    thread_id: str = ""


def _threading(enrolment: Enrolment, step: SalesflowStep) -> _Threading:
    if not step.reply_in_thread:
        return _Threading()
    thread = thread_before(enrolment)
    if not thread:  # the emails before it were skipped or failed: it starts the thread itself
        return _Threading()
    return _Threading(
        subject=reply_subject(thread[0].subject),
        in_reply_to=thread[-1].message_id,
        references=tuple(s.message_id for s in thread[:-1]),
        thread_id=thread[0].thread_id,
    )


# --- Manual emails (the Actions queue) ----------------------------------------------------------
@dataclass(frozen=True)
class ManualDraft:
    """What the composer opens with for a manual email step: the step's text filled for the
    contact (a field with no value stays as its tag, listed in ``missing``), threaded like an
    automatic one."""

    subject: str
    html: str
    text: str
    missing: tuple[str, ...] = ()
    in_reply_to: str = ""


def manual_email_draft(enrolment: Enrolment) -> ManualDraft:
    step = enrolment.current_step
    if step is None or step.kind != StepKind.MANUAL_EMAIL:
        raise ValidationError("This step is not a manual email.")
    context = context_for(enrolment.contact, enrolment.sender)
    missing: dict[str, None] = {}

    def fill(text: str, *, html: bool) -> str:
        try:
            return render(text, context, html=html)
        except MissingMergeValue as exc:
            missing.update(dict.fromkeys(exc.fields))
            padded = dict(context.values)
            padded.update({f: "{{ " + f + " }}" for f in exc.fields})
            return render(text, padded, html=html)

    threading = _threading(enrolment, step)
    subject = threading.subject or fill(step.subject, html=False)
    return ManualDraft(
        subject=subject,
        html=fill(step.body_html, html=True),
        text=fill(step.text_body(), html=False),
        missing=tuple(missing),
        in_reply_to=threading.in_reply_to,
    )


@dataclass(frozen=True)
class _Written:
    subject: str
    html: str
    text: str


def manual_email_send(
    *,
    enrolment: Enrolment,
    actor: User,
    subject: str,
    html: str,
    text: str,
    step_id: int | None = None,
    now: datetime | None = None,
) -> StepSend:
    """Send the manual email step the seller wrote (``subject``, ``html``, ``text`` as they are:
    no merge fields are filled) from the enrolment's sender's mailbox, exactly once — the same
    sequence as automatic emails (the deterministic Message-ID, ``sending`` committed before the
    provider call, a send left ``sending`` looked up before another) — and move the enrolment on.
    Threaded like an automatic email when the step is a reply (In-Reply-To, References, thread).

    ``step_id`` (the step the form was for): a second submit after the step was sent returns that
    send and changes nothing. ``EmailNotSent`` (a sentence for the seller) when the mailbox cannot
    send or the provider refused: the send is ``failed`` with that reason and the action stays in
    the queue to try again; ``ValidationError`` when the enrolment has no manual email due or
    another submit is sending it right now; ``PermissionDenied`` for someone of another
    organisation."""
    now = now or timezone.now()
    if actor.organization_id != enrolment.organization_id:
        raise PermissionDenied("This enrolment belongs to another organisation.")
    enrolment = (
        Enrolment.objects.for_org(enrolment.organization_id)
        .select_related("contact", "current_step", "sender", "flow")
        .get(pk=enrolment.pk)
    )
    if step_id is not None and enrolment.current_step_id != step_id:
        done = StepSend.objects.filter(enrolment=enrolment, step_id=step_id, state=SendState.SENT).first()
        if done is not None:
            return done
        raise ValidationError("This step is no longer due: the Salesflow has moved on.")
    step = enrolment.current_step
    if enrolment.state != Enrolment.State.ACTIVE or step is None or step.kind != StepKind.MANUAL_EMAIL:
        raise ValidationError("This enrolment has no manual email due.")
    if enrolment.sender is None:
        raise ValidationError("The enrolment has no sender any more.")
    if not subject.strip() or not (html.strip() or text.strip()):
        raise ValidationError("Write a subject and a message.")
    contact = enrolment.contact
    if not contact.email:
        raise ValidationError(NO_EMAIL)
    run = worker_owner("salesflow-manual")
    if not claims_take_over([enrolment.pk], claim=run, run=run, now=now, due=False):
        raise ValidationError("This email is being sent already.")
    try:
        return _manual_send(enrolment, step, _Written(subject, html, text), run=run, now=now)
    finally:
        claim_release([enrolment.pk], holder=run)


def _manual_send(
    enrolment: Enrolment, step: SalesflowStep, written: _Written, *, run: str, now: datetime
) -> StepSend:
    sender, contact = enrolment.sender, enrolment.contact
    existing = StepSend.objects.filter(enrolment=enrolment, step=step).first()
    if existing is not None and existing.state == SendState.SENT:
        _record_sent(enrolment, existing, None, run=run, now=now)
        return existing
    if (
        existing is not None
        and existing.state in (SendState.SENDING, SendState.FAILED)
        and existing.sending_at
    ):
        # A submit that died after the provider call, or a failure that may hide a send.
        age = now - existing.sending_at
        if existing.state == SendState.SENDING and age < SENT_LOOKUP_MIN_AGE:
            raise ValidationError(CHECKING)
        found = email_find_sent(user=sender, message_id_header=existing.message_id)
        if found is not None:
            _record_sent(enrolment, existing, found, run=run, now=now, sent_at=existing.sending_at)
            existing.refresh_from_db()
            return existing
        if existing.state == SendState.SENDING and age < copy_lag(_provider_of(sender)):
            raise ValidationError(CHECKING)
    send = _begin(enrolment, step, sender, existing, run=run, now=now, domain=recipient_domain(contact))
    if send is None:
        raise ValidationError("This step is no longer due: the Salesflow has moved on.")
    threading = _threading(enrolment, step)
    subject = written.subject.strip()
    if send.subject != subject:
        send.subject = subject
        send.save(update_fields=["subject"])
    _checkpoint("sending")
    message = OutgoingMessage(
        to=(Address(contact.email, f"{contact.first_name} {contact.last_name}".strip()),),
        subject=subject,
        text=written.text,
        html=written.html,
        sender_name=sender.get_full_name(),
        message_id_header=send.message_id,
        in_reply_to=threading.in_reply_to,
        references=threading.references,
        thread_id=threading.thread_id,
    )
    try:
        record = email_send(user=sender, message=message)
    except EmailNotSent as exc:
        cause = exc.__cause__
        with transaction.atomic():
            if isinstance(cause, (SendingUnavailable, ProviderThrottled)):
                _not_sent(send)
            else:
                send.state, send.error = SendState.FAILED, str(exc)
                send.save(update_fields=["state", "error"])
        raise
    _checkpoint("provider_called")
    _record_sent(enrolment, send, record, run=run, now=now)
    return send
