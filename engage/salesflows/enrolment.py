"""Enrolling contacts in a Salesflow: the Add to Salesflow dialog's check and its confirmation
(issue 13, points 2 and 3).

``enrolment_check(flow, contacts, sender=…, enrolled_by=…)`` says, before anything is written,
what would happen to each contact, in a constant number of queries whatever their number:

- refused, with the reason: no email address, opted out, bounced, already in this Salesflow;
  and for everyone when the sender's mailbox cannot send, when ``enrolled_by`` may not start
  Salesflows on the sender's behalf (A5), or when the sender's hours never open;
- warned (the seller may override): already active in another Salesflow; a status the admin
  marked as ending Salesflows; a merge field some step uses without a fallback that this contact
  has no value for (which step, which field: left as it is, that step would wait in the seller's
  queue as "needs attention").

``enrolment_start(plan, override_warnings=…)`` enrols the accepted contacts all or nothing in one
transaction (checked again inside it: a plan overtaken by events is refused, nothing written).
The first step is due its delay after the start (now, or the chosen start time), in the sender's
window (``engage.salesflows.schedule``). More than ``ENROL_INLINE_MAX`` contacts are enrolled by a
background job (``EnrolmentJob``, a job of engage/jobs.py) in chunks that each commit with the
job's counters, so the dialog shows progress and a job whose worker died carries on; a contact
refused when its chunk's turn comes (enrolled elsewhere meanwhile, …) is counted, with the reason.

The flow must be one ``enrolled_by`` may use, and contacts and sender are looked up in
``enrolled_by``'s organisation only: ids of another organisation's contacts are "not found".
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from copilot.services.audit import audit_record
from engage.enqueue import enqueue_on_commit
from engage.jobs import DATABASE_LOST, JobLost, job_claim, job_hand_back, job_save, jobs_fail_stale
from engage.models import Contact, Enrolment, EnrolmentEvent, EnrolmentJob, Salesflow, SalesflowStep
from engage.models.salesflows import EMAIL_KINDS, SalesflowVariant
from engage.salesflows import merge
from engage.salesflows.access import ON_BEHALF_REFUSED, check_flow_usable, on_behalf_allowed
from engage.salesflows.schedule import SenderCalendar, recipient_country
from engage.services.email import email_unavailable_reason
from engage.signatures import signature_html
from integrations.workers import worker_owner

if TYPE_CHECKING:
    from copilot.models import User

logger = logging.getLogger(__name__)

# Up to this many contacts are enrolled while the seller waits; more go to a background job.
ENROL_INLINE_MAX = 200
ENROL_CHUNK = 200
# The task's soft limit is half an hour (engage/tasks.py); one running longer has lost its worker.
ENROL_STALE_AFTER = timedelta(minutes=45)
_CHUNK_TRIES = 3

JobStatus = EnrolmentJob.Status
_RUNNING = (JobStatus.RUNNING,)
WORKER_LOST = "The background worker stopped while enrolling. The contacts enrolled so far stay enrolled."
WORKER_KEEPS_DYING = (
    "The background worker stopped again and again while enrolling. The contacts enrolled so far "
    "stay enrolled; enrol the others again, and contact support if it happens again."
)


# --- The plan -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    code: str
    message: str


NO_EMAIL = "no_email"
OPTED_OUT = "opted_out"
BOUNCED = "bounced"
IN_THIS_FLOW = "in_this_flow"
ACTIVE_ELSEWHERE = "active_elsewhere"
STATUS_ENDS = "status_ends_salesflows"
MERGE_FIELDS = "merge_fields"
MAILBOX = "mailbox"
ON_BEHALF = "on_behalf"
SENDER_INACTIVE = "sender_inactive"
NO_WINDOW = "no_window"
TEMPLATE_ERRORS = "template_errors"


@dataclass(frozen=True)
class MergeGap:
    """A merge field a step uses without a fallback that the contact has no value for."""

    step_id: int
    position: int
    kind_label: str
    variant: str  # "" for the step's own text, else the variant's label
    fields: tuple[str, ...]

    @property
    def message(self) -> str:
        where = f"Step {self.position} ({self.kind_label})"
        if self.variant:
            where += f", variant {self.variant}"
        tags = ", ".join("{{ " + f + " }}" for f in self.fields)
        return f"{where}: no value for {tags} and no fallback"


@dataclass
class PlanEntry:
    contact: Contact
    refusals: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    merge_gaps: list[MergeGap] = field(default_factory=list)

    def accepted(self, *, override_warnings: bool = False) -> bool:
        return not self.refusals and (override_warnings or not self.warnings)


@dataclass
class EnrolmentPlan:
    """What enrolling would do, per contact (in the order given), before anything is written.
    ``blocking`` are the reasons nobody can be enrolled (each entry lists them too)."""

    flow: Salesflow
    sender: User
    enrolled_by: User
    start_at: datetime | None
    steps: list[SalesflowStep]
    entries: list[PlanEntry]
    blocking: list[Problem]
    not_found: list[int]  # ids given that are not contacts of the organisation

    def accepted(self, *, override_warnings: bool = False) -> list[PlanEntry]:
        return [e for e in self.entries if e.accepted(override_warnings=override_warnings)]

    @property
    def refused(self) -> list[PlanEntry]:
        return [e for e in self.entries if e.refusals]

    @property
    def warned(self) -> list[PlanEntry]:
        return [e for e in self.entries if not e.refusals and e.warnings]


# --- The check ----------------------------------------------------------------------------------
def _contacts(
    organization_id: int, contacts: Iterable[Contact | int] | QuerySet[Contact]
) -> tuple[list[Contact], list[int]]:
    """The organisation's contacts among ``contacts`` (in the order given) and the ids not found."""
    scoped = Contact.objects.for_org(organization_id).select_related("account", "status").order_by()
    if isinstance(contacts, QuerySet):
        return list(scoped.filter(pk__in=contacts.filter(organization_id=organization_id).values("pk"))), []
    ids = list(dict.fromkeys(c.pk if isinstance(c, Contact) else int(c) for c in contacts))
    found = {c.pk: c for c in scoped.filter(pk__in=ids)}
    return [found[i] for i in ids if i in found], [i for i in ids if i not in found]


def _steps(flow: Salesflow) -> list[SalesflowStep]:
    return list(
        SalesflowStep.objects.for_org(flow.organization_id)
        .filter(flow=flow, deleted_at__isnull=True)
        .order_by("position")
        .prefetch_related(
            Prefetch("variants", queryset=SalesflowVariant.objects.filter(active=True).order_by("label"))
        )
    )


def _texts(step: SalesflowStep) -> list[tuple[str, list[str]]]:
    """(variant label or "", the texts sent) of an email step: its own, then each active variant's."""
    own = [step.body_html, step.text_body()]
    if not step.reply_in_thread:  # a reply's subject is "Re: " the earlier one's
        own.insert(0, step.subject)
    texts = [("", own)]
    for variant in step.variants.all():
        texts.append((variant.label, [variant.subject, variant.body_html, variant.text_body()]))
    return texts


def _sender_problems(sender: User, enrolled_by: User, steps: list[SalesflowStep]) -> list[Problem]:
    problems = []
    name = sender.get_full_name() or sender.email
    if not on_behalf_allowed(enrolled_by=enrolled_by, sender=sender):
        problems.append(Problem(ON_BEHALF, ON_BEHALF_REFUSED))
    if not sender.is_active:
        problems.append(Problem(SENDER_INACTIVE, f"{name}'s account is deactivated: choose another sender."))
        return problems
    reason = email_unavailable_reason(user=sender)
    if reason:
        if sender.pk != enrolled_by.pk:
            reason = f"{name}'s mailbox cannot send: {reason}"
        problems.append(Problem(MAILBOX, reason))
    try:
        SenderCalendar.of(sender).window(timezone.now())
    except ValueError:
        problems.append(
            Problem(
                NO_WINDOW,
                f"{name}'s business hours have no time to send in the coming year: check them in Profile › Schedule.",
            )
        )
    for step in steps:
        if step.kind not in EMAIL_KINDS:
            continue
        for label, texts in _texts(step):
            if any(merge.validate(text) for text in texts):
                where = f"Step {step.position}" + (f", variant {label}" if label else "")
                problems.append(
                    Problem(TEMPLATE_ERRORS, f"{where} has mistakes in its merge fields: fix it first.")
                )
    return problems


def _contact_problems(contact: Contact) -> list[Problem]:
    problems = []
    if not contact.email:
        problems.append(Problem(NO_EMAIL, "No email address."))
    if contact.email_opt_out:
        problems.append(Problem(OPTED_OUT, "Opted out of email."))
    if contact.email_bounced_at is not None:
        problems.append(
            Problem(BOUNCED, f"Email to {contact.email} bounced on {contact.email_bounced_at:%Y-%m-%d}.")
        )
    return problems


def _merge_gaps(
    contact: Contact, sender: User, signature: str, steps: list[SalesflowStep], broken: bool
) -> list[MergeGap]:
    if broken:  # a template with mistakes is refused for everyone; there is nothing to compare
        return []
    context = merge.context_for(contact, sender, signature=signature)
    gaps = []
    for step in steps:
        if step.kind not in EMAIL_KINDS:
            continue
        for label, texts in _texts(step):
            missing = dict.fromkeys(f for text in texts for f in merge.missing_for(text, context))
            if missing:
                gaps.append(MergeGap(step.pk, step.position, step.get_kind_display(), label, tuple(missing)))
    return gaps


def enrolment_check(
    flow: Salesflow,
    contacts: Iterable[Contact | int] | QuerySet[Contact],
    *,
    sender: User,
    enrolled_by: User,
    start_at: datetime | None = None,
) -> EnrolmentPlan:
    """What enrolling ``contacts`` (contacts, ids, or a queryset) in ``flow`` would do. Raises
    ``PermissionDenied`` for a flow ``enrolled_by`` may not use or a sender of another
    organisation, ``ValidationError`` for an archived flow, one without steps, or a naive
    ``start_at``."""
    check_flow_usable(flow, enrolled_by)
    if sender.organization_id != enrolled_by.organization_id:
        raise PermissionDenied("Choose a sender from your organisation.")
    if flow.archived_at is not None:
        raise ValidationError("This Salesflow is archived: nobody can be added to it.")
    if start_at is not None and timezone.is_naive(start_at):
        raise ValidationError({"start_at": "The start time needs a time zone."})
    steps = _steps(flow)
    if not steps:
        raise ValidationError("Add a step to this Salesflow before adding people to it.")
    organization_id = enrolled_by.organization_id
    found, not_found = _contacts(organization_id, contacts)
    blocking = _sender_problems(sender, enrolled_by, steps)
    broken = any(p.code == TEMPLATE_ERRORS for p in blocking)
    live = (
        Enrolment.objects.for_org(organization_id)
        .filter(contact__in=[c.pk for c in found], state__in=Enrolment.LIVE_STATES)
        .values_list("contact_id", "flow_id", "flow__name")
        .order_by("flow__name")
    )
    in_flows: dict[int, list[tuple[int, str]]] = {}
    for contact_id, flow_id, flow_name in live:
        in_flows.setdefault(contact_id, []).append((flow_id, flow_name))
    signature = signature_html(sender) if any(s.kind in EMAIL_KINDS for s in steps) else ""
    entries = []
    for contact in found:
        entry = PlanEntry(contact=contact, refusals=[*blocking, *_contact_problems(contact)])
        others = []
        for flow_id, flow_name in in_flows.get(contact.pk, []):
            if flow_id == flow.pk:
                entry.refusals.append(Problem(IN_THIS_FLOW, "Already in this Salesflow."))
            else:
                others.append(f"“{flow_name}”")
        if others:
            entry.warnings.append(
                Problem(ACTIVE_ELSEWHERE, f"Already active in Salesflow {', '.join(others)}.")
            )
        if contact.status.ends_salesflows:
            message = f"Their status “{contact.status.name}” takes people out of Salesflows."
            entry.warnings.append(Problem(STATUS_ENDS, message))
        entry.merge_gaps = _merge_gaps(contact, sender, signature, steps, broken)
        for gap in entry.merge_gaps:
            entry.warnings.append(Problem(MERGE_FIELDS, gap.message))
        entries.append(entry)
    return EnrolmentPlan(
        flow=flow,
        sender=sender,
        enrolled_by=enrolled_by,
        start_at=start_at,
        steps=steps,
        entries=entries,
        blocking=blocking,
        not_found=not_found,
    )


# --- Starting -----------------------------------------------------------------------------------
@dataclass
class EnrolmentStart:
    enrolments: list[Enrolment]  # enrolled now (none when a job does it)
    job: EnrolmentJob | None  # the background job enrolling them, for more than ENROL_INLINE_MAX


def _enrol(plan: EnrolmentPlan, entries: list[PlanEntry], *, now: datetime) -> list[Enrolment]:
    """Write the enrolments of ``entries`` and their events (three queries, whatever their number)."""
    if not entries:
        return []
    flow, sender, first = plan.flow, plan.sender, plan.steps[0]
    start = max(plan.start_at or now, now)
    calendar = SenderCalendar.of(sender)
    due_by_country: dict[str, datetime] = {}
    rows = []
    for entry in entries:
        country = recipient_country(entry.contact) if first.kind == SalesflowStep.Kind.AUTO_EMAIL else ""
        if country not in due_by_country:
            try:
                due_by_country[country] = calendar.due_at(first, after=start, contact=entry.contact)
            except ValueError as exc:
                raise ValidationError(str(exc)) from exc
        rows.append(
            Enrolment(
                organization_id=flow.organization_id,
                flow=flow,
                contact=entry.contact,
                sender=sender,
                enrolled_by=plan.enrolled_by,
                state=Enrolment.State.ACTIVE,
                current_step=first,
                due_at=due_by_country[country],
                last_step_at=start,
                started_at=now,
                updated_at=now,
            )
        )
    Enrolment.objects.bulk_create(rows)
    on_behalf = sender.pk != plan.enrolled_by.pk
    EnrolmentEvent.objects.bulk_create(
        [
            EnrolmentEvent(
                organization_id=flow.organization_id,
                enrolment=row,
                kind=EnrolmentEvent.Kind.ENROLLED,
                actor=plan.enrolled_by,
                at=now,
                data={
                    "step": first.pk,
                    "due_at": row.due_at.isoformat(),
                    "sender": sender.pk,
                    **({"on_behalf": True} if on_behalf else {}),
                    **(
                        {"warnings_overridden": sorted({w.code for w in entry.warnings})}
                        if entry.warnings
                        else {}
                    ),
                },
            )
            for row, entry in zip(rows, entries, strict=True)
        ]
    )
    return rows


def _nobody(plan: EnrolmentPlan) -> str:
    if not plan.entries:
        return "None of these contacts can be added to the Salesflow: none of them was found."
    if not plan.refused:
        return "Every one of these contacts has a warning: confirm that they should be added anyway."
    reasons = dict.fromkeys(p.message for e in plan.refused for p in e.refusals)
    return "None of these contacts can be added to the Salesflow. " + " ".join(reasons)


def enrolment_start(
    plan: EnrolmentPlan, *, override_warnings: bool = False, now: datetime | None = None
) -> EnrolmentStart:
    """Enrol the contacts ``plan`` accepts (with ``override_warnings``, those with warnings too):
    all or nothing, or a background job for more than ``ENROL_INLINE_MAX``. ``ValidationError``
    when nobody can be enrolled, or when the plan no longer holds (checked again inside the
    transaction: someone enrolled one of them meanwhile, the flow was archived, …)."""
    now = now or timezone.now()
    if plan.blocking:
        raise ValidationError([p.message for p in plan.blocking])
    accepted = plan.accepted(override_warnings=override_warnings)
    if not accepted:
        raise ValidationError(_nobody(plan))
    ids = [e.contact.pk for e in accepted]
    if len(ids) > ENROL_INLINE_MAX:
        return EnrolmentStart(enrolments=[], job=_job_create(plan, ids, override_warnings=override_warnings))
    try:
        with transaction.atomic():
            flow = (
                Salesflow.objects.for_org(plan.flow.organization_id).select_for_update().get(pk=plan.flow.pk)
            )
            fresh = enrolment_check(
                flow, ids, sender=plan.sender, enrolled_by=plan.enrolled_by, start_at=plan.start_at
            )
            if fresh.blocking:
                raise ValidationError([p.message for p in fresh.blocking])
            still = fresh.accepted(override_warnings=override_warnings)
            if len(still) != len(ids):
                raise ValidationError(
                    f"{len(ids) - len(still)} of these contacts changed since you checked: review the list again."
                )
            enrolments = _enrol(fresh, still, now=now)
            _audit(fresh, count=len(enrolments))
    except IntegrityError as exc:  # one of them was enrolled in this flow a moment ago
        raise ValidationError(
            "Someone added some of these contacts meanwhile: review the list again."
        ) from exc
    return EnrolmentStart(enrolments=enrolments, job=None)


def _audit(plan: EnrolmentPlan, *, count: int, job: EnrolmentJob | None = None) -> None:
    audit_record(
        organization=plan.enrolled_by.organization,
        actor=plan.enrolled_by,
        action="salesflow.enrolled" if job is None else "salesflow.enrolment_queued",
        target=plan.flow.name,
        data={
            "flow": plan.flow.pk,
            "contacts": count,
            "sender": plan.sender.email,
            **({"job": job.pk} if job else {}),
        },
    )


# --- The background job -------------------------------------------------------------------------
def _job_create(plan: EnrolmentPlan, ids: list[int], *, override_warnings: bool) -> EnrolmentJob:
    with transaction.atomic():
        job = EnrolmentJob.objects.create(
            organization_id=plan.flow.organization_id,
            flow=plan.flow,
            sender=plan.sender,
            enrolled_by=plan.enrolled_by,
            contact_ids=ids,
            start_at=plan.start_at,
            override_warnings=override_warnings,
            total=len(ids),
        )
        _audit(plan, count=len(ids), job=job)
        enqueue_on_commit("salesflow_enrol_run", job.pk)
    return job


def enrolment_job_run(*, job_id: int, now: datetime | None = None) -> EnrolmentJob | None:
    """The task's body: enrol the job's contacts chunk by chunk, each chunk committed with the
    counters and position; take over a job whose worker died (judged at ``now``) and carry on
    after its last chunk. None when there is nothing (left) to do."""
    job = job_claim(
        EnrolmentJob,
        job_id,
        queued=JobStatus.QUEUED,
        running=JobStatus.RUNNING,
        worker=worker_owner("salesflow-enrol"),
        fail=lambda j: _job_finish(j, JobStatus.FAILED, WORKER_KEEPS_DYING),
        related=("organization", "flow", "sender", "enrolled_by"),
        now=now,
    )
    if job is None:
        return None
    try:
        if job.enrolled_by is None:
            raise ValidationError("The person who started this enrolment no longer has an account.")
        while job.processed < len(job.contact_ids):
            _job_chunk(job, job.contact_ids[job.processed : job.processed + ENROL_CHUNK])
    except JobLost:
        logger.info("engage.salesflows.enrol_job_lost", extra={"job_id": job_id, "worker": job.worker})
        return None
    except DATABASE_LOST:  # the chunk was rolled back; the next delivery carries on from there
        logger.exception("engage.salesflows.enrol_job_database_lost", extra={"job_id": job_id})
        if job_hand_back(job, running=_RUNNING):
            enqueue_on_commit("salesflow_enrol_run", job.pk)
        return None
    except (ValidationError, PermissionDenied) as exc:
        message = " ".join(getattr(exc, "messages", None) or [str(exc)])
        _job_finish(job, JobStatus.FAILED, f"Stopped: {message} The contacts enrolled so far stay enrolled.")
        return job
    except Exception as exc:
        logger.exception("engage.salesflows.enrol_job_failed", extra={"job_id": job_id})
        _job_finish(
            job,
            JobStatus.FAILED,
            f"Stopped on an unexpected error ({type(exc).__name__}). It has been logged. "
            "The contacts enrolled so far stay enrolled.",
        )
        return job
    _job_finish(job, JobStatus.DONE)
    return job


def _job_chunk(job: EnrolmentJob, ids: list[int]) -> None:
    for attempt in range(_CHUNK_TRIES):
        try:
            with transaction.atomic():
                _job_chunk_once(job, ids)
            return
        except IntegrityError:  # a contact enrolled in this flow meanwhile: checked again, refused
            if attempt == _CHUNK_TRIES - 1:
                raise


def _job_chunk_once(job: EnrolmentJob, ids: list[int]) -> None:
    now = timezone.now()
    flow = Salesflow.objects.for_org(job.organization_id).select_for_update().get(pk=job.flow_id)
    plan = enrolment_check(flow, ids, sender=job.sender, enrolled_by=job.enrolled_by, start_at=job.start_at)
    if plan.blocking:
        raise ValidationError([p.message for p in plan.blocking])
    accepted = plan.accepted(override_warnings=job.override_warnings)
    enrolled = _enrol(plan, accepted, now=now)
    refused: list[dict[str, Any]] = [
        {"id": e.contact.pk, "reason": " ".join(p.message for p in (e.refusals or e.warnings))}
        for e in plan.entries
        if not e.accepted(override_warnings=job.override_warnings)
    ]
    refused += [{"id": i, "reason": "This contact no longer exists."} for i in plan.not_found]
    job.processed += len(ids)
    job.enrolled_count += len(enrolled)
    job.refused_count += len(refused)
    room = EnrolmentJob.ERRORS_KEPT - len(job.errors)
    if room > 0 and refused:
        job.errors = [*job.errors, *refused[:room]]
    job_save(job, ["processed", "enrolled_count", "refused_count", "errors"], running=_RUNNING)


def _job_finish(job: EnrolmentJob, status: str, message: str = "") -> None:
    job.status, job.failure_message, job.finished_at = status, message, timezone.now()
    job.save(update_fields=["status", "failure_message", "finished_at"])


def enrolment_jobs_fail_stale(*, now: datetime | None = None) -> int:
    """The every-minute sweep's (``engage.jobs_resume_dead``): fail the jobs silent for longer than
    their task may run, saying the worker stopped. Returns how many."""
    failed = jobs_fail_stale(
        EnrolmentJob,
        running=_RUNNING,
        after=ENROL_STALE_AFTER,
        fail=lambda job: _job_finish(job, JobStatus.FAILED, WORKER_LOST),
        now=now,
    )
    return len(failed)
