"""What happens to enrolments after they start: the API the seller's buttons, the engine, and
later issues (reply and bounce detection, tracking, meetings) call. Every change is atomic, takes
the enrolment's row lock, and writes an ``EnrolmentEvent``.

- ``enrolment_exit(enrolment, reason, data=…)``: it leaves the flow (replied, bounced,
  unsubscribed, meeting booked, status changed, removed, …). Idempotent: an enrolment already
  finished or exited is left as it is. A reply also pauses or takes out the other people of the
  same company in the same flow when the flow says so (``Salesflow.exit_company_on_reply``;
  the company is the contact's account, else their email domain when it is not a free-mail one).
  Sends not yet made are marked skipped, so nothing more goes out.
- ``enrolment_pause`` / ``enrolment_resume``: by the seller, until a date, for the sender's
  mailbox or time off. Resuming reschedules a step whose time has passed into the next window.
- ``enrolment_skip_step`` and ``enrolment_advance`` (the engine's, after a step is done) move on
  to the next live step, or finish the enrolment after the last.
- ``enrolments_exit`` (many at once: a status that ends Salesflows, an archived flow),
  ``sender_enrolments_pause`` / ``sender_enrolments_resume`` (a mailbox disconnected and back),
  ``enrolments_resume_due`` (pauses until a date that has come).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from copilot.intelligence.rules import domain_of, is_free_mail
from engage.models import Enrolment, EnrolmentEvent, Salesflow, SalesflowStep, StepSend
from engage.salesflows.schedule import SenderCalendar

if TYPE_CHECKING:
    from copilot.models import User

logger = logging.getLogger(__name__)

State = Enrolment.State
ExitReason = Enrolment.ExitReason
PauseReason = Enrolment.PauseReason
Kind = EnrolmentEvent.Kind
LIVE = (State.ACTIVE, State.PAUSED)
# Sends that have not gone yet (a "sending" one is in the provider's hands: the engine settles it).
UNSENT = (StepSend.State.PENDING, StepSend.State.NEEDS_ATTENTION)


def _locked(enrolment: Enrolment) -> Enrolment:
    return (
        Enrolment.objects.for_org(enrolment.organization_id)
        .select_for_update(of=("self",))
        .select_related("flow", "contact", "sender", "current_step")
        .get(pk=enrolment.pk)
    )


def _event(
    enrolment: Enrolment, kind: str, *, actor: User | None, at: datetime, **data: Any
) -> EnrolmentEvent:
    return EnrolmentEvent(
        organization_id=enrolment.organization_id,
        enrolment=enrolment,
        kind=kind,
        actor=actor,
        data={k: v for k, v in data.items() if v is not None},
        at=at,
    )


def _skip_unsent(enrolment_ids: Iterable[int], *, step: SalesflowStep | None = None) -> int:
    sends = StepSend.objects.filter(enrolment_id__in=list(enrolment_ids), state__in=UNSENT)
    if step is not None:
        sends = sends.filter(step=step)
    return sends.update(state=StepSend.State.SKIPPED)


def next_step_after(flow_id: int, position: int | None) -> SalesflowStep | None:
    """The flow's first live step after ``position`` (None: the first step)."""
    steps = SalesflowStep.objects.filter(flow_id=flow_id, deleted_at__isnull=True)
    if position is not None:
        steps = steps.filter(position__gt=position)
    return steps.order_by("position").first()


# --- Exit ---------------------------------------------------------------------------------------
@transaction.atomic
def enrolment_exit(
    enrolment: Enrolment,
    reason: str,
    *,
    data: dict[str, Any] | None = None,
    actor: User | None = None,
    now: datetime | None = None,
) -> Enrolment:
    """Take ``enrolment`` out of its flow for ``reason`` (an ``Enrolment.ExitReason``); ``data``
    is kept on the event (the message that replied, the status, …)."""
    if reason not in ExitReason.values:
        raise ValueError(f"Not an exit reason: {reason!r}")
    now = now or timezone.now()
    enrolment = _locked(enrolment)
    if not enrolment.is_live:
        return enrolment
    _exit_rows([enrolment], reason, data=data or {}, actor=actor, now=now)
    if reason == ExitReason.REPLIED:
        _company_follows(enrolment, actor=actor, now=now)
    return enrolment


def enrolment_remove(enrolment: Enrolment, *, actor: User, now: datetime | None = None) -> Enrolment:
    """The seller takes the contact out of the flow."""
    return enrolment_exit(enrolment, ExitReason.REMOVED, actor=actor, now=now)


def _exit_rows(
    enrolments: list[Enrolment], reason: str, *, data: dict[str, Any], actor: User | None, now: datetime
) -> None:
    ids = [e.pk for e in enrolments]
    Enrolment.objects.filter(pk__in=ids).update(
        state=State.EXITED,
        exit_reason=reason,
        exited_at=now,
        due_at=None,
        pause_reason="",
        paused_until=None,
        updated_at=now,
    )
    for e in enrolments:
        e.state, e.exit_reason, e.exited_at, e.due_at = State.EXITED, reason, now, None
        e.pause_reason, e.paused_until, e.updated_at = "", None, now
    _skip_unsent(ids)
    EnrolmentEvent.objects.bulk_create(
        [
            _event(
                e,
                Kind.EXITED,
                actor=actor,
                at=now,
                reason=reason,
                step=e.current_step_id,
                **data,
            )
            for e in enrolments
        ]
    )


def _company_follows(enrolment: Enrolment, *, actor: User | None, now: datetime) -> None:
    """One person of a company replied: the flow's option pauses or takes out the others."""
    option = enrolment.flow.exit_company_on_reply
    if option == Salesflow.OnReply.NONE:
        return
    contact = enrolment.contact
    if contact.account_id:
        same_company = Q(contact__account_id=contact.account_id)
    else:
        domain = domain_of(contact.email) if "@" in contact.email else ""
        if not domain or is_free_mail(domain):
            return
        same_company = Q(contact__email__iendswith=f"@{domain}")
    others = list(
        Enrolment.objects.for_org(enrolment.organization_id)
        .select_for_update()
        .filter(same_company, flow_id=enrolment.flow_id, state__in=LIVE)
        .exclude(pk=enrolment.pk)
        .order_by("pk")
    )
    if not others:
        return
    data = {"replied_contact": contact.pk, "replied_enrolment": enrolment.pk}
    if option == Salesflow.OnReply.EXIT:
        _exit_rows(others, ExitReason.COMPANY_REPLIED, data=data, actor=actor, now=now)
        return
    active = [e for e in others if e.state == State.ACTIVE]
    _pause_rows(active, PauseReason.COMPANY_REPLIED, until=None, actor=actor, now=now, data=data)


@transaction.atomic
def enrolments_exit(
    *,
    organization_id: int,
    enrolment_ids: Iterable[int],
    reason: str,
    data: dict[str, Any] | None = None,
    actor: User | None = None,
    now: datetime | None = None,
) -> int:
    """Exit every live enrolment of ``enrolment_ids`` (of the organisation) in a few queries
    whatever their number. Returns how many left their flow."""
    if reason not in ExitReason.values:
        raise ValueError(f"Not an exit reason: {reason!r}")
    now = now or timezone.now()
    rows = list(
        Enrolment.objects.for_org(organization_id)
        .select_for_update()
        .filter(pk__in=list(enrolment_ids), state__in=LIVE)
        .order_by("pk")
    )
    if rows:
        _exit_rows(rows, reason, data=data or {}, actor=actor, now=now)
    return len(rows)


def live_enrolment_ids(*, organization_id: int, contact_ids: Iterable[int] | Any) -> list[int]:
    """The live enrolments of these contacts (a list of ids or a queryset of contacts)."""
    return list(
        Enrolment.objects.for_org(organization_id)
        .filter(contact__in=contact_ids, state__in=LIVE)
        .values_list("pk", flat=True)
    )


# --- Pause and resume ---------------------------------------------------------------------------
def _pause_rows(
    enrolments: list[Enrolment],
    reason: str,
    *,
    until: datetime | None,
    actor: User | None,
    now: datetime,
    data: dict[str, Any] | None = None,
) -> None:
    if not enrolments:
        return
    Enrolment.objects.filter(pk__in=[e.pk for e in enrolments]).update(
        state=State.PAUSED, pause_reason=reason, paused_until=until, updated_at=now
    )
    for e in enrolments:
        e.state, e.pause_reason, e.paused_until, e.updated_at = State.PAUSED, reason, until, now
    EnrolmentEvent.objects.bulk_create(
        [
            _event(
                e,
                Kind.PAUSED,
                actor=actor,
                at=now,
                reason=reason,
                until=until.isoformat() if until else None,
                **(data or {}),
            )
            for e in enrolments
        ]
    )


@transaction.atomic
def enrolment_pause(
    enrolment: Enrolment,
    *,
    reason: str = PauseReason.SELLER,
    until: datetime | None = None,
    actor: User | None = None,
    now: datetime | None = None,
) -> Enrolment:
    """Pause an active enrolment (``until``: it resumes by itself then). A paused, finished or
    exited one is left as it is."""
    if reason not in PauseReason.values:
        raise ValueError(f"Not a pause reason: {reason!r}")
    now = now or timezone.now()
    if until is not None:
        if until <= now:
            raise ValidationError({"until": "Choose a moment in the future."})
        reason = PauseReason.UNTIL_DATE
    enrolment = _locked(enrolment)
    if enrolment.state == State.ACTIVE:
        _pause_rows([enrolment], reason, until=until, actor=actor, now=now)
    return enrolment


def _rescheduled(enrolment: Enrolment, calendar: SenderCalendar, now: datetime) -> datetime | None:
    """A step whose time has passed while paused goes at the next moment its window allows."""
    step = enrolment.current_step
    if step is None or (enrolment.due_at is not None and enrolment.due_at > now):
        return enrolment.due_at
    return calendar.window(now, contact=enrolment.contact, email=step.kind == SalesflowStep.Kind.AUTO_EMAIL)


def _resume_rows(enrolments: list[Enrolment], *, actor: User | None, now: datetime, **data: Any) -> None:
    calendars: dict[int, SenderCalendar] = {}
    events = []
    for e in enrolments:
        due = e.due_at
        if e.sender_id is not None:
            if e.sender_id not in calendars:
                calendars[e.sender_id] = SenderCalendar.of(e.sender)
            due = _rescheduled(e, calendars[e.sender_id], now)
        previous = e.pause_reason
        e.state, e.pause_reason, e.paused_until, e.due_at, e.updated_at = State.ACTIVE, "", None, due, now
        e.save(update_fields=["state", "pause_reason", "paused_until", "due_at", "updated_at"])
        events.append(
            _event(
                e,
                Kind.RESUMED,
                actor=actor,
                at=now,
                paused_for=previous,
                due_at=due and due.isoformat(),
                **data,
            )
        )
    EnrolmentEvent.objects.bulk_create(events)


@transaction.atomic
def enrolment_resume(
    enrolment: Enrolment, *, actor: User | None = None, now: datetime | None = None
) -> Enrolment:
    """Resume a paused enrolment where it stopped; a step due meanwhile is rescheduled into the
    next window."""
    now = now or timezone.now()
    enrolment = _locked(enrolment)
    if enrolment.state == State.PAUSED:
        _resume_rows([enrolment], actor=actor, now=now)
    return enrolment


@transaction.atomic
def enrolments_resume_due(*, now: datetime | None = None) -> int:
    """Resume the enrolments paused until a moment that has come (the engine's minute beat)."""
    now = now or timezone.now()
    rows = list(
        Enrolment.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("contact", "sender", "current_step")
        .filter(state=State.PAUSED, pause_reason=PauseReason.UNTIL_DATE, paused_until__lte=now)
        .order_by("pk")[:500]
    )
    _resume_rows(rows, actor=None, now=now)
    return len(rows)


@transaction.atomic
def sender_enrolments_pause(*, sender: User, reason: str, now: datetime | None = None) -> int:
    """Pause every active enrolment sent from ``sender``'s mailbox (it disconnected, or needs
    reconnecting; their time off). Enrolments paused already keep their own reason."""
    now = now or timezone.now()
    rows = list(
        Enrolment.objects.for_org(sender.organization_id)
        .select_for_update()
        .filter(sender=sender, state=State.ACTIVE)
        .order_by("pk")
    )
    _pause_rows(rows, reason, until=None, actor=None, now=now)
    return len(rows)


@transaction.atomic
def sender_enrolments_resume(*, sender: User, reason: str, now: datetime | None = None) -> int:
    """Resume the enrolments paused for ``reason`` on ``sender`` (the mailbox is back), each
    rescheduled inside the windows: nothing needs re-enrolling."""
    now = now or timezone.now()
    rows = list(
        Enrolment.objects.for_org(sender.organization_id)
        .select_for_update(of=("self",))
        .select_related("contact", "sender", "current_step")
        .filter(sender=sender, state=State.PAUSED, pause_reason=reason)
        .order_by("pk")
    )
    _resume_rows(rows, actor=None, now=now)
    return len(rows)


# --- Moving on ----------------------------------------------------------------------------------
def _finish(
    enrolment: Enrolment, *, done_at: datetime, now: datetime, actor: User | None
) -> list[EnrolmentEvent]:
    enrolment.state, enrolment.finished_at = State.FINISHED, now
    enrolment.current_step, enrolment.due_at, enrolment.last_step_at = None, None, done_at
    enrolment.pause_reason, enrolment.paused_until, enrolment.updated_at = "", None, now
    enrolment.save(
        update_fields=[
            "state",
            "finished_at",
            "current_step",
            "due_at",
            "last_step_at",
            "pause_reason",
            "paused_until",
            "updated_at",
        ]
    )
    return [_event(enrolment, Kind.FINISHED, actor=actor, at=now)]


def _point_at(
    enrolment: Enrolment,
    step: SalesflowStep,
    *,
    after: datetime,
    now: datetime,
    calendars: dict[int, SenderCalendar],
    last_step_at: datetime | None = None,
) -> None:
    """``enrolment`` waits for ``step`` next, due its delay after ``after``. Without a sender (a
    user deleted) there is no window to reckon in: the due time stays, and the engine pauses it."""
    due = enrolment.due_at
    if enrolment.sender is not None:
        if enrolment.sender_id not in calendars:
            calendars[enrolment.sender_id] = SenderCalendar.of(enrolment.sender)
        due = calendars[enrolment.sender_id].due_at(step, after=after, contact=enrolment.contact)
    enrolment.current_step, enrolment.due_at, enrolment.updated_at = step, due, now
    fields = ["current_step", "due_at", "updated_at"]
    if last_step_at is not None:
        enrolment.last_step_at = last_step_at
        fields.append("last_step_at")
    enrolment.save(update_fields=fields)


def _move_on(
    enrolment: Enrolment, *, done_at: datetime, now: datetime, actor: User | None
) -> list[EnrolmentEvent]:
    """Point ``enrolment`` at the live step after its current one (due after ``done_at``), or
    finish it. Saves it; returns the events to write."""
    current = enrolment.current_step
    step = next_step_after(enrolment.flow_id, current.position if current else None)
    if step is None:
        return _finish(enrolment, done_at=done_at, now=now, actor=actor)
    _point_at(enrolment, step, after=done_at, now=now, calendars={}, last_step_at=done_at)
    return []


@transaction.atomic
def enrolment_advance(
    enrolment: Enrolment, *, done_at: datetime | None = None, now: datetime | None = None
) -> Enrolment:
    """The current step is done (sent, or the seller completed the action) at ``done_at``: on to
    the next step, due its delay after that, or finished after the last."""
    now = now or timezone.now()
    enrolment = _locked(enrolment)
    if enrolment.is_live:
        EnrolmentEvent.objects.bulk_create(_move_on(enrolment, done_at=done_at or now, now=now, actor=None))
    return enrolment


@transaction.atomic
def enrolment_skip_step(enrolment: Enrolment, *, actor: User, now: datetime | None = None) -> Enrolment:
    """Skip the current step (its send, if not made yet, is marked skipped) and move on."""
    now = now or timezone.now()
    enrolment = _locked(enrolment)
    if not enrolment.is_live or enrolment.current_step is None:
        return enrolment
    skipped = enrolment.current_step
    _skip_unsent([enrolment.pk], step=skipped)
    events = [
        _event(enrolment, Kind.STEP_SKIPPED, actor=actor, at=now, step=skipped.pk, position=skipped.position)
    ]
    events += _move_on(enrolment, done_at=now, now=now, actor=actor)
    EnrolmentEvent.objects.bulk_create(events)
    return enrolment


def enrolments_move_past(
    *, step: SalesflowStep, following: SalesflowStep | None, actor: User | None, now: datetime
) -> int:
    """The live enrolments due on ``step`` (being deleted) move on to ``following`` (the live step
    now in its place; None: it was the last), due that step's delay after their previous step,
    or finish. Runs inside the deleting transaction (``builder.step_delete``)."""
    rows = list(
        Enrolment.objects.for_org(step.organization_id)
        .select_for_update(of=("self",))
        .select_related("contact", "sender")
        .filter(current_step=step, state__in=LIVE)
        .order_by("pk")
    )
    _skip_unsent([e.pk for e in rows], step=step)
    calendars: dict[int, SenderCalendar] = {}
    events = []
    for e in rows:
        events.append(_event(e, Kind.STEP_DELETED, actor=actor, at=now, step=step.pk))
        done_at = e.last_step_at or e.started_at
        if following is None:
            events += _finish(e, done_at=done_at, now=now, actor=actor)
        else:
            _point_at(e, following, after=done_at, now=now, calendars=calendars)
    EnrolmentEvent.objects.bulk_create(events)
    return len(rows)
