"""The seller's Actions queue (F4, issue 13 point 7): the Salesflow steps a person does by hand.

An *action* is an active enrolment whose current step is a manual email, a call or a task, for
the enrolment's sender (the queue is theirs: their mailbox, their hours). It is *due* once its
``due_at`` has come or falls today in the seller's time zone; *overdue* when it fell on an
earlier day; *upcoming* after today. An enrolment the send engine paused because its email could
not go (``needs_attention``: a merge field without a value, no email address, a template
mistake; ``send_failed``: the provider refused it) *needs attention*: it waits at the top of the
queue with the reason (the ``StepSend.error`` of its current step) until the seller tries again
(``action_retry``: resumed, the next beat renders and checks it afresh), skips the step or
removes the contact (``action_remove``).

Reads:

- ``action_counts(user)``: due (needing attention included), overdue, today, upcoming and needing
  attention, and the due ones per kind, in ONE query (the workspace navigation shows ``due``; the
  queue's filters the rest).
- ``action_page(user, filters, after=…, before=…)``: one page of the queue, overdue first, then
  today, then upcoming (by ``due_at``, then id), paginated by keyset like the contacts list: one
  query whatever the page and the queue's size (``when=attention``: the ones needing attention,
  paged the same way). ``attention_rows(user)``: the first of those, for the top of the queue's
  first page (one query, run only when the counts say there are some).
- ``todays_actions(user)``: the first few needing attention, then due, for the Today page (one
  query).

Services (each takes the enrolment's row lock, checks that ``step_id`` is still its current step
and that the enrolment is still active, and moves it through ``engage.salesflows.events``; a
second submit of the same form finds the step done and changes nothing, saying so):

- ``action_complete_call``: a ``CallLog`` (one per enrolment x step), the Salesforce Task queued
  as the dialer's calls are (``crm_log_call``, key ``call:<log id>``), and on to the next step.
- ``action_complete_task``: on to the next step.
- ``action_skip``: the step is skipped (``enrolment_skip_step``); one needing attention is resumed
  on the next step too.
- ``action_retry``: one needing attention is resumed (``enrolment_resume``): due again in the
  sender's window, the next beat renders the email afresh (the contact as it is now) and sends
  it, or pauses it again naming what is still missing.
- ``action_remove``: the contact leaves the flow (``enrolment_remove``).
- ``action_snooze``: the enrolment pauses until the chosen moment (``enrolment_pause`` with
  ``until``); the engine's beat resumes it then (``enrolments_resume_due``) and the action comes
  back, due in the seller's window.

- ``action_send_email``: the manual email the seller wrote in the composer (opened with
  ``email_draft``: the step filled for the contact, the signature's place kept as its tag), its
  merge fields filled again and its HTML cleaned, goes through the Salesflow send path
  (``engage.salesflows.sending.manual_email_send``: the same exactly-once sequence as automatic
  emails), which moves the enrolment on.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import (
    Case,
    Count,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.timesince import timesince

from engage.forms.salesflows import sanitize_email_html
from engage.models import CallLog, Enrolment, SalesflowStep, StepSend
from engage.models.salesflows import StepKind
from engage.salesflows import events, merge, sending
from engage.salesflows.text import html_to_text
from engage.scheduling import local_to_utc, zone_named
from engage.services.crm.activities import crm_log_call
from engage.signatures import signature_html

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from copilot.models import User
    from engage.models import Contact, Salesflow

ACTION_KINDS = (StepKind.MANUAL_EMAIL, StepKind.CALL, StepKind.TASK)
PAGE_SIZE = 25  # each row carries its controls: a page is a morning's work, not a report
TODAY_SHOWN = 5
SNOOZE_AT = time(9, 0)  # a snoozed action comes back at this hour of the chosen day, seller's zone

# The queue's "when" filter.
WHEN_ALL, WHEN_DUE, WHEN_UPCOMING, WHEN_ATTENTION = "", "due", "upcoming", "attention"
WHENS = {WHEN_ALL: "All", WHEN_DUE: "Due now", WHEN_UPCOMING: "Upcoming", WHEN_ATTENTION: "Needs attention"}
KIND_FILTERS = {
    "": "All",
    StepKind.CALL: "Calls",
    StepKind.MANUAL_EMAIL: "Emails to write",
    StepKind.TASK: "Tasks",
}

OVERDUE, TODAY, UPCOMING, ATTENTION = "overdue", "today", "upcoming", "attention"
# Why the send engine paused an enrolment for the seller to look at (``engage.salesflows.sending``).
ATTENTION_REASONS = (Enrolment.PauseReason.NEEDS_ATTENTION, Enrolment.PauseReason.SEND_FAILED)


# --- Reads --------------------------------------------------------------------------------------
def seller_zone(user: User) -> ZoneInfo:
    """The seller's time zone (the site's when theirs is not a zone we know)."""
    try:
        return zone_named(user.time_zone)
    except ValueError:
        return timezone.get_current_timezone()


def today_edges(user: User, now: datetime) -> tuple[datetime, datetime]:
    """The start of today and of tomorrow in ``user``'s time zone."""
    zone = seller_zone(user)
    day = now.astimezone(zone).date()
    return local_to_utc(day, time.min, zone), local_to_utc(day + timedelta(days=1), time.min, zone)


_IS_ACTION = Q(state=Enrolment.State.ACTIVE, current_step__kind__in=ACTION_KINDS, due_at__isnull=False)
_NEEDS_ATTENTION = Q(state=Enrolment.State.PAUSED, pause_reason__in=ATTENTION_REASONS, due_at__isnull=False)


def _senders(user: User) -> QuerySet[Enrolment]:
    return Enrolment.objects.for_org(user.organization_id).filter(sender_id=user.pk)


def _waiting(user: User, actions: Q) -> QuerySet[Enrolment]:
    """``user``'s enrolments matching ``actions`` or needing attention. The states are named
    apart from the OR so that the index (sender, state, due_at, id) bounds the scan."""
    return _senders(user).filter(
        actions | _NEEDS_ATTENTION, state__in=(Enrolment.State.ACTIVE, Enrolment.State.PAUSED)
    )


def actions_for(user: User) -> QuerySet[Enrolment]:
    """Every action of ``user`` (due or not), unordered."""
    return _senders(user).filter(_IS_ACTION)


def attention_for(user: User) -> QuerySet[Enrolment]:
    """Every enrolment of ``user`` the send engine paused for them to look at, unordered. (The
    engine pauses only an enrolment that was due: ``due_at`` is set, and orders them.)"""
    return _senders(user).filter(_NEEDS_ATTENTION)


@dataclass(frozen=True)
class ActionCounts:
    due: int = 0  # what waits for the seller now: overdue, today and needing attention
    overdue: int = 0
    upcoming: int = 0
    manual_email: int = 0  # the due ones, per kind
    call: int = 0
    task: int = 0
    attention: int = 0  # paused by the send engine for the seller to look at

    @property
    def today(self) -> int:
        return self.due - self.overdue - self.attention


def action_counts(*, user: User, now: datetime | None = None) -> ActionCounts:
    """How many actions ``user`` has, by when and by kind, and how many need attention: one
    query."""
    now = now or timezone.now()
    start, end = today_edges(user, now)
    active = Q(state=Enrolment.State.ACTIVE)
    due = active & Q(due_at__lt=end)
    attention = Q(state=Enrolment.State.PAUSED)
    row = _waiting(user, _IS_ACTION).aggregate(
        due=Count("pk", filter=due | attention),
        overdue=Count("pk", filter=active & Q(due_at__lt=start)),
        upcoming=Count("pk", filter=active & Q(due_at__gte=end)),
        attention=Count("pk", filter=attention),
        **{
            str(kind): Count("pk", filter=due & Q(current_step__kind=kind))
            for kind in (StepKind.MANUAL_EMAIL, StepKind.CALL, StepKind.TASK)
        },
    )
    return ActionCounts(**row)


@dataclass(frozen=True)
class ActionFilters:
    kind: str = ""  # one of ACTION_KINDS, or "" for every kind
    when: str = WHEN_ALL

    @classmethod
    def from_params(cls, params: Any) -> ActionFilters:
        kind = params.get("kind", "")
        when = params.get("when", "")
        return cls(kind=kind if kind in KIND_FILTERS else "", when=when if when in WHENS else WHEN_ALL)

    @property
    def active(self) -> bool:
        return bool(self.kind or self.when)

    @property
    def shows_attention(self) -> bool:
        """Whether the first page shows the ones needing attention on top (they are automatic
        emails: not under a kind of action, nor coming up)."""
        return not self.kind and self.when in (WHEN_ALL, WHEN_DUE)

    def query(self) -> str:
        """The filters as a query string (for pager links), "" when none."""
        return "&".join(f"{k}={v}" for k, v in (("kind", self.kind), ("when", self.when)) if v)


@dataclass(frozen=True)
class Action:
    """One row of the queue: the enrolment with its contact (and account), flow and step loaded."""

    enrolment: Enrolment
    steps_total: int
    group: str  # OVERDUE, TODAY, UPCOMING or ATTENTION
    late_by: timedelta | None  # how late an overdue one is
    error: str = ""  # why one needing attention was not sent (its StepSend's error)

    @property
    def pk(self) -> int:
        return self.enrolment.pk

    @property
    def late(self) -> str:
        """How late an overdue action is, to the largest unit ("2 days"); "" when it is not."""
        if self.late_by is None:
            return ""
        return timesince(self.due_at, self.due_at + self.late_by, depth=1)

    @property
    def step(self) -> SalesflowStep:
        step = self.enrolment.current_step
        assert step is not None  # an action has a step
        return step

    @property
    def contact(self) -> Contact:
        return self.enrolment.contact

    @property
    def flow(self) -> Salesflow:
        return self.enrolment.flow

    @property
    def due_at(self) -> datetime:
        assert self.enrolment.due_at is not None
        return self.enrolment.due_at

    @property
    def kind(self) -> str:
        return self.step.kind

    @property
    def is_call(self) -> bool:
        return self.kind == StepKind.CALL

    @property
    def is_task(self) -> bool:
        return self.kind == StepKind.TASK

    @property
    def is_manual_email(self) -> bool:
        return self.kind == StepKind.MANUAL_EMAIL

    @property
    def phones(self) -> list[tuple[str, str]]:
        """The contact's numbers as (label, number), those that are set."""
        c = self.contact
        pairs = (("Direct", c.direct_phone), ("Mobile", c.mobile_phone), ("Business", c.business_phone))
        return [(label, number) for label, number in pairs if number.strip()]

    @property
    def call_subject(self) -> str:
        return call_subject_for(self.flow.name, self.step.position)

    @property
    def needs_attention(self) -> bool:
        return self.group == ATTENTION

    @property
    def refused(self) -> bool:
        """The provider refused the email (else Cadence could not make it: missing values, …)."""
        return self.enrolment.pause_reason == Enrolment.PauseReason.SEND_FAILED

    @property
    def reason(self) -> str:
        """Why the email was not sent, in words: the send's own reason, a missing value said of
        the contact ("Ann Lee has no value for {{ title }}")."""
        error = self.error.strip()
        if error.startswith(MISSING_PREFIX):
            return f"{self.contact} has no value for {error.removeprefix(MISSING_PREFIX)}."
        if error:
            return error
        if self.refused:
            return "Your mail provider refused the email."
        return "Cadence could not make this email for the contact."


MISSING_PREFIX = "No value for "  # merge.MissingMergeValue's message


def call_subject_for(flow_name: str, position: int) -> str:
    return f"Call: {flow_name} step {position}"


@dataclass(frozen=True)
class ActionPage:
    rows: list[Action]
    next_cursor: str | None
    prev_cursor: str | None
    is_first: bool


def _encode_cursor(enrolment: Enrolment) -> str:
    assert enrolment.due_at is not None
    raw = json.dumps([enrolment.due_at.isoformat(), enrolment.pk], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, int] | None:
    """The cursor's (due_at, id), or None when it is not one of ours (a stale or edited link)."""
    try:
        due, pk = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        moment = datetime.fromisoformat(due)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        return None
    if not isinstance(pk, int) or isinstance(pk, bool) or timezone.is_naive(moment):
        return None
    return moment, pk


def _steps_total() -> Subquery:
    live = (
        SalesflowStep.objects.filter(flow_id=OuterRef("flow_id"), deleted_at__isnull=True)
        .order_by()
        .values("flow_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(live, output_field=IntegerField()), 0)


def _filtered(user: User, filters: ActionFilters, *, now: datetime) -> QuerySet[Enrolment]:
    if filters.when == WHEN_ATTENTION:
        qs = attention_for(user)
        return qs.filter(current_step__kind=filters.kind) if filters.kind else qs
    qs = actions_for(user)
    if filters.kind:
        qs = qs.filter(current_step__kind=filters.kind)
    if filters.when:
        _, end = today_edges(user, now)
        qs = qs.filter(due_at__lt=end) if filters.when == WHEN_DUE else qs.filter(due_at__gte=end)
    return qs


def _send_error() -> Subquery:
    """The reason the current step's send gave (shown for one needing attention)."""
    sends = StepSend.objects.filter(
        enrolment_id=OuterRef("pk"), step_id=OuterRef("current_step_id")
    ).order_by()  # one row at most (one send per enrolment x step): no ordering joins
    return Coalesce(Subquery(sends.values("error")[:1]), Value(""), output_field=TextField())


def _rows(qs: QuerySet[Enrolment]) -> QuerySet[Enrolment]:
    return (
        qs.select_related("contact", "contact__account", "flow", "current_step")
        .defer("current_step__body_html", "current_step__body_text")
        .annotate(steps_total=_steps_total(), send_error=_send_error())
    )


def _action(enrolment: Enrolment, *, start: datetime, end: datetime, now: datetime) -> Action:
    due = enrolment.due_at
    assert due is not None
    if enrolment.state == Enrolment.State.PAUSED:
        group = ATTENTION
    else:
        group = OVERDUE if due < start else TODAY if due < end else UPCOMING
    return Action(
        enrolment=enrolment,
        steps_total=enrolment.steps_total,  # type: ignore[attr-defined]  (annotated)
        group=group,
        late_by=(now - due) if group == OVERDUE else None,
        error=enrolment.send_error,  # type: ignore[attr-defined]  (annotated)
    )


def action_page(
    *,
    user: User,
    filters: ActionFilters | None = None,
    after: str = "",
    before: str = "",
    size: int = PAGE_SIZE,
    now: datetime | None = None,
) -> ActionPage:
    """One page of ``user``'s queue, earliest due first: one query whatever the page."""
    now = now or timezone.now()
    qs = _rows(_filtered(user, filters or ActionFilters(), now=now))
    cursor = None
    backwards = False
    if before:
        cursor = _decode_cursor(before)
        backwards = cursor is not None
    elif after:
        cursor = _decode_cursor(after)
    if cursor is not None:
        due, pk = cursor
        if backwards:
            qs = qs.filter(due_at__lte=due).filter(Q(due_at__lt=due) | Q(due_at=due, pk__lt=pk))
        else:
            qs = qs.filter(due_at__gte=due).filter(Q(due_at__gt=due) | Q(due_at=due, pk__gt=pk))
    order = ("-due_at", "-pk") if backwards else ("due_at", "pk")
    rows = list(qs.order_by(*order)[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
    started = cursor is not None
    has_prev, has_next = (more, True) if backwards else (started, more)
    start, end = today_edges(user, now)
    return ActionPage(
        rows=[_action(e, start=start, end=end, now=now) for e in rows],
        next_cursor=_encode_cursor(rows[-1]) if rows and has_next else None,
        prev_cursor=_encode_cursor(rows[0]) if rows and has_prev else None,
        is_first=not has_prev,
    )


def attention_rows(*, user: User, limit: int = PAGE_SIZE, now: datetime | None = None) -> list[Action]:
    """The first ``limit`` of ``user``'s enrolments needing attention (the longest waiting
    first): one query."""
    return action_page(user=user, filters=ActionFilters(when=WHEN_ATTENTION), size=limit, now=now).rows


def todays_actions(*, user: User, limit: int = TODAY_SHOWN, now: datetime | None = None) -> list[Action]:
    """The first ``limit`` of what waits for ``user`` now: those needing attention, then the due
    actions (overdue first): one query."""
    now = now or timezone.now()
    start, end = today_edges(user, now)
    waiting = _waiting(user, _IS_ACTION & Q(due_at__lt=end))
    attention_first = Case(
        When(state=Enrolment.State.PAUSED, then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    rows = _rows(waiting).order_by(attention_first, "due_at", "pk")[:limit]
    return [_action(e, start=start, end=end, now=now) for e in rows]


def action_of(*, user: User, enrolment_id: Any) -> Enrolment | None:
    """``user``'s live enrolment ``enrolment_id`` as an action may act on it (None: not theirs, or
    not in their organisation)."""
    try:
        pk = int(enrolment_id)
    except (TypeError, ValueError):
        return None
    return (
        Enrolment.objects.for_org(user.organization_id)
        .filter(pk=pk, sender_id=user.pk)
        .select_related("contact", "flow", "current_step")
        .first()
    )


# --- Snooze moments -----------------------------------------------------------------------------
def snooze_moment(user: User, day: date) -> datetime:
    """``SNOOZE_AT`` on ``day`` in ``user``'s time zone."""
    return local_to_utc(day, SNOOZE_AT, seller_zone(user))


def snooze_tomorrow(user: User, *, now: datetime | None = None) -> datetime:
    """Tomorrow at ``SNOOZE_AT``, the seller's tomorrow."""
    now = now or timezone.now()
    return snooze_moment(user, now.astimezone(seller_zone(user)).date() + timedelta(days=1))


# --- Services -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ActionResult:
    """What a submit did: ``done`` False when the step had been done (or moved on) already and
    nothing changed. ``enrolment`` is as it is afterwards."""

    done: bool
    enrolment: Enrolment

    @property
    def finished(self) -> bool:
        return self.enrolment.state == Enrolment.State.FINISHED


def _claim(
    enrolment: Enrolment,
    *,
    actor: User,
    step_id: int,
    kinds: tuple[str, ...],
    attention: bool = False,
) -> Enrolment | None:
    """``enrolment`` locked, when ``step_id`` is still its current step, of one of ``kinds``, and it
    is active (with ``attention``: or paused by the send engine for the seller to look at); else
    None (done already, skipped, snoozed, paused or exited meanwhile)."""
    locked = (
        Enrolment.objects.for_org(enrolment.organization_id)
        .select_for_update(of=("self",))  # PostgreSQL locks no outer-joined rows
        .select_related("flow", "contact", "sender", "current_step")
        .get(pk=enrolment.pk)
    )
    if locked.sender_id != actor.pk:
        raise PermissionDenied("Only the seller this Salesflow sends for does its actions.")
    step = locked.current_step
    if step is None or step.pk != step_id:
        return None
    if attention and _waits_for_attention(locked):
        return locked
    if locked.state != Enrolment.State.ACTIVE or step.kind not in kinds:
        return None
    return locked


def _waits_for_attention(enrolment: Enrolment) -> bool:
    return enrolment.state == Enrolment.State.PAUSED and enrolment.pause_reason in ATTENTION_REASONS


def _unchanged(enrolment: Enrolment) -> ActionResult:
    enrolment.refresh_from_db()
    return ActionResult(done=False, enrolment=enrolment)


def _advanced(enrolment: Enrolment, *, now: datetime) -> ActionResult:
    return ActionResult(done=True, enrolment=events.enrolment_advance(enrolment, done_at=now, now=now))


@transaction.atomic
def action_complete_call(
    enrolment: Enrolment,
    *,
    actor: User,
    step_id: int,
    subject: str,
    result: str,
    comments: str = "",
    now: datetime | None = None,
) -> ActionResult:
    """Log the call of the enrolment's current call step and move on to the next step."""
    now = now or timezone.now()
    if result not in CallLog.Result.values:
        raise ValidationError({"result": "Choose what came of the call."})
    locked = _claim(enrolment, actor=actor, step_id=step_id, kinds=(StepKind.CALL,))
    if locked is None:
        return _unchanged(enrolment)
    step = locked.current_step
    assert step is not None
    subject = subject.strip()[:255] or call_subject_for(locked.flow.name, step.position)
    try:
        with transaction.atomic():
            log = CallLog.objects.create(
                organization_id=locked.organization_id,
                contact=locked.contact,
                user=actor,
                enrolment=locked,
                step=step,
                subject=subject,
                result=result,
                comments=comments.strip(),
                logged_at=now,
            )
    except IntegrityError:  # logged a moment ago (the row lock makes this rare)
        return _unchanged(enrolment)
    crm_log_call(
        contact=locked.contact,
        subject=subject,
        result=log.get_result_display(),
        comments=log.comments,
        occurred_at=now,
        actor=actor,
        key=f"call:{log.pk}",
    )
    return _advanced(locked, now=now)


@transaction.atomic
def action_complete_task(
    enrolment: Enrolment, *, actor: User, step_id: int, now: datetime | None = None
) -> ActionResult:
    """The seller did the task: on to the next step."""
    now = now or timezone.now()
    locked = _claim(enrolment, actor=actor, step_id=step_id, kinds=(StepKind.TASK,))
    if locked is None:
        return _unchanged(enrolment)
    return _advanced(locked, now=now)


@transaction.atomic
def action_skip(
    enrolment: Enrolment, *, actor: User, step_id: int, now: datetime | None = None
) -> ActionResult:
    """Skip the action's step: on to the next step without doing it. One needing attention (its
    email not sent) goes on to the next step too, active again."""
    now = now or timezone.now()
    locked = _claim(enrolment, actor=actor, step_id=step_id, kinds=ACTION_KINDS, attention=True)
    if locked is None:
        return _unchanged(enrolment)
    paused = locked.state == Enrolment.State.PAUSED
    moved = events.enrolment_skip_step(locked, actor=actor, now=now)
    if paused and moved.state == Enrolment.State.PAUSED:  # not finished: the next step is due
        moved = events.enrolment_resume(moved, actor=actor, now=now)
    return ActionResult(done=True, enrolment=moved)


@transaction.atomic
def action_retry(
    enrolment: Enrolment, *, actor: User, step_id: int, now: datetime | None = None
) -> ActionResult:
    """Try the email needing attention again: the enrolment resumes, due at once (or when the
    sender's window next opens), and the next beat makes the email afresh for the contact as it
    is now — sent, or back here naming what is still missing."""
    now = now or timezone.now()
    locked = _claim(enrolment, actor=actor, step_id=step_id, kinds=(), attention=True)
    if locked is None:
        return _unchanged(enrolment)
    return ActionResult(done=True, enrolment=events.enrolment_resume(locked, actor=actor, now=now))


@transaction.atomic
def action_remove(
    enrolment: Enrolment, *, actor: User, step_id: int, now: datetime | None = None
) -> ActionResult:
    """Take the contact out of the Salesflow (an action, or one needing attention)."""
    now = now or timezone.now()
    locked = _claim(enrolment, actor=actor, step_id=step_id, kinds=ACTION_KINDS, attention=True)
    if locked is None:
        return _unchanged(enrolment)
    return ActionResult(done=True, enrolment=events.enrolment_remove(locked, actor=actor, now=now))


@transaction.atomic
def action_snooze(
    enrolment: Enrolment, *, actor: User, step_id: int, until: datetime, now: datetime | None = None
) -> ActionResult:
    """Put the action off until ``until``: the enrolment pauses until then and comes back due."""
    now = now or timezone.now()
    if until <= now:
        raise ValidationError({"until": "Choose a day after today."})
    locked = _claim(enrolment, actor=actor, step_id=step_id, kinds=ACTION_KINDS)
    if locked is None:
        return _unchanged(enrolment)
    return ActionResult(
        done=True, enrolment=events.enrolment_pause(locked, until=until, actor=actor, now=now)
    )


# --- Manual emails ------------------------------------------------------------------------------
SIGNATURE_TAG = "{{ sender.signature }}"


@dataclass(frozen=True)
class EmailDraft:
    """What the composer opens with: the step's subject and email filled for the contact (a
    threaded reply's "Re: …"), a field the contact has no value for left as its tag (``missing``),
    and the signature's place kept as ``SIGNATURE_TAG`` (``signature`` shows what goes there)."""

    subject: str
    html: str
    missing: tuple[str, ...]
    signature: str


def email_draft(enrolment: Enrolment) -> EmailDraft:
    """The draft of the enrolment's current manual email step (``ValidationError`` for another
    kind of step)."""
    draft = sending.manual_email_draft(enrolment)
    signature = str(signature_html(enrolment.sender)) if enrolment.sender else ""
    html = draft.html.replace(signature, SIGNATURE_TAG) if signature else draft.html
    return EmailDraft(subject=draft.subject, html=html, missing=draft.missing, signature=signature)


def _filled(text: str, context: merge.MergeContext, *, html: bool, who: str) -> str:
    try:
        return merge.render(text, context, html=html)
    except merge.MissingMergeValue as exc:
        tags = ", ".join("{{ " + f + " }}" for f in exc.fields)
        raise ValidationError(f"{who} has no value for {tags}: write it in, or take it out.") from exc
    except merge.MergeTemplateError as exc:
        raise ValidationError(f"{exc.problems[0]}. Fix it, or take it out.") from exc


def written_email(enrolment: Enrolment, *, subject: str, html: str) -> tuple[str, str, str]:
    """The email as it goes out: ``(subject, html, text)``. The HTML is cleaned as step bodies are;
    merge fields still in it (the signature, a field the seller kept) are filled, the text part is
    made from the HTML. ``ValidationError`` by field ("subject", "body_html") for a field the
    contact has no value for or a tag that is no field."""
    context = merge.context_for(enrolment.contact, enrolment.sender)
    who = str(enrolment.contact)
    cleaned = sanitize_email_html(html)
    errors: dict[str, ValidationError] = {}
    out: dict[str, str] = {}
    for field, text, as_html in (("subject", subject.strip(), False), ("body_html", cleaned, True)):
        try:
            out[field] = _filled(text, context, html=as_html, who=who)
        except ValidationError as exc:
            errors[field] = exc
    if errors:
        raise ValidationError(errors)
    return out["subject"], out["body_html"], _filled(html_to_text(cleaned), context, html=False, who=who)


def action_send_email(
    enrolment: Enrolment,
    *,
    actor: User,
    step_id: int,
    subject: str,
    html: str,
    now: datetime | None = None,
) -> ActionResult:
    """Send the manual email the seller wrote for the enrolment's current step ``step_id`` and
    move on. Not done (nothing sent) when that step is no longer the one due. ``EmailNotSent``
    when the mailbox cannot send or the provider refused (the action stays due);
    ``ValidationError`` for what the seller must fix first."""
    fresh = (
        Enrolment.objects.for_org(enrolment.organization_id)
        .select_related("contact", "contact__account", "sender", "current_step", "flow")
        .get(pk=enrolment.pk)
    )
    if fresh.sender_id != actor.pk:
        raise PermissionDenied("Only the seller this Salesflow sends for does its actions.")
    step = fresh.current_step
    if (
        fresh.state != Enrolment.State.ACTIVE
        or step is None
        or step.pk != step_id
        or step.kind != StepKind.MANUAL_EMAIL
    ):
        return ActionResult(done=False, enrolment=fresh)
    subject, body, text = written_email(fresh, subject=subject, html=html)
    sending.manual_email_send(
        enrolment=fresh, actor=actor, subject=subject, html=body, text=text, step_id=step_id, now=now
    )
    fresh.refresh_from_db()
    return ActionResult(done=True, enrolment=fresh)
