"""Poll historical data (G6): read every Salesforce Lead or Contact matching the sync rule and
apply it through Engage's sync handler, as a background task the Admin Portal follows.

``poll_start`` checks and queues (one queued or running poll per organisation and object);
``poll_run`` is the task's body: it claims the poll, calls the sync engine's ``run_poll`` with a
progress callback (the counters are saved with every page, which the page polls) and a cancel
check (an admin's Cancel is seen before the next page), and records the summary.

A poll whose worker died (engage/jobs.py) is taken over by the task's redelivery, by the
every-minute sweep, or by an admin's "Poll now", and carries on after the last record it stored
(``resume_after_id``, saved with the counters of each page): the counters go on adding up and
the watermark still moves to the first run's start (``started_modstamp``). Cancel on such a poll
cancels it at once.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from copilot.models import Organization, User
from copilot.services.audit import audit_record
from engage.crm.pages import OBJECT_LABELS
from engage.enqueue import enqueue_on_commit
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
from engage.models import CrmPoll
from engage.services.crm import configuration as crm_services
from engage.services.crm import gateway
from engage.services.crm.sync_batch import owners_default_to
from integrations.records import BatchResult
from integrations.salesforce.fetch.common import PollResult
from integrations.salesforce.fetch.poll import run_poll
from integrations.workers import worker_owner

logger = logging.getLogger(__name__)

POLL_OBJECTS = ("Lead", "Contact")
# The task's hard limit is two hours (engage/tasks.py); one "running" longer has lost its worker.
STALE_AFTER = timedelta(hours=2, minutes=15)
Status = CrmPoll.Status
_COUNTERS = [
    "total",
    "processed",
    "created_count",
    "updated_count",
    "unchanged_count",
    "error_count",
    "errors",
    "owned_by_email",
    "owned_by_fallback",
]
_POSITION = ["resume_after_id", "started_modstamp"]
_RUNNING = (Status.RUNNING,)
_STALE_RUNNING = (Status.QUEUED, Status.RUNNING)  # a queued poll is never stale: it has not started
WORKER_LOST = "The background worker stopped while this was running. Poll again."
WORKER_KEEPS_DYING = (
    "The background worker stopped again and again on the same page of records. Poll again; "
    "if it happens again, contact support."
)
# Why the sync engine stopped -> what the admin reads.
STOP_MESSAGES = {
    "budget": "Cadence stopped to spare your Salesforce org's daily API allocation (over 80% used). "
    "Poll again tomorrow: records already polled are simply checked again.",
    "throttled": "Salesforce's daily API request limit is used up. Poll again once it has recovered.",
    "auth": "Salesforce refused Cadence's credentials: reconnect Salesforce in Admin Portal › Integrations, "
    "then poll again.",
    "unavailable": "Salesforce could not be reached. Poll again in a few minutes: records already polled "
    "are simply checked again.",
}


def _check_object(sobject: str) -> None:
    if sobject not in POLL_OBJECTS:
        raise ValidationError("Cadence polls Leads and Contacts only.")


# --- Reads --------------------------------------------------------------------------------------


def poll_latest(*, organization: Organization, sobject: str) -> CrmPoll | None:
    return CrmPoll.objects.for_org(organization).filter(sobject=sobject).select_related("started_by").first()


def poll_active(*, organization: Organization, sobject: str) -> CrmPoll | None:
    return (
        CrmPoll.objects.for_org(organization)
        .filter(sobject=sobject, status__in=[Status.QUEUED, Status.RUNNING])
        .select_related("started_by")
        .first()
    )


def poll_matching_count(*, organization: Organization, sobject: str) -> tuple[int | None, str]:
    """How many records the saved rule matches now (counted by Salesforce), or a sentence saying
    why it cannot be counted."""
    _check_object(sobject)
    try:
        where = crm_services.rule_where(organization=organization, sobject=sobject)
        return gateway.count_matching(organization, sobject, where), ""
    except ValidationError as exc:
        return None, " ".join(exc.messages)
    except (gateway.CrmNotConnected, gateway.CrmUnavailable) as exc:
        return None, str(exc)


# --- Start and cancel ---------------------------------------------------------------------------


def poll_start(*, organization: Organization, sobject: str, actor: User) -> CrmPoll:
    """Queue a historical poll of ``sobject``. ValidationError when Salesforce is not connected
    or a poll of the object is already queued or running. A running poll whose worker died is
    queued again instead, keeping its progress: the poll returned then has ``resume_message``."""
    _check_object(sobject)
    if gateway.org_connection(organization) is None:
        raise ValidationError("Connect Salesforce before polling historical data.")
    try:
        with transaction.atomic():
            active = poll_active(organization=organization, sobject=sobject)
            if active is not None and job_is_dead(active, running=_RUNNING):
                return _resume(active, actor=actor)
            if active is not None:
                raise ValidationError(_already_running(active))
            poll = CrmPoll.objects.create(organization=organization, sobject=sobject, started_by=actor)
            audit_record(
                organization=organization,
                actor=actor,
                action="crm.poll_started",
                target=f"{sobject} historical poll",
                data={"poll_id": poll.pk},
            )
            enqueue_on_commit("crm_poll_run", poll.pk)
    except IntegrityError as exc:  # another admin's click won the race
        active = poll_active(organization=organization, sobject=sobject)
        raise ValidationError(_already_running(active)) from exc
    return poll


def _resume(poll: CrmPoll, *, actor: User) -> CrmPoll:
    """Queue the dead poll's task again: its delivery takes the poll over (engage/jobs.py)."""
    audit_record(
        organization=poll.organization,
        actor=actor,
        action="crm.poll_resumed",
        target=f"{poll.sobject} historical poll",
        data={"poll_id": poll.pk, "processed": poll.processed},
    )
    enqueue_on_commit("crm_poll_run", poll.pk)
    poll.resume_message = poll_resume_message(poll)
    return poll


def poll_resume_message(poll: CrmPoll) -> str:
    return f"The earlier poll stopped when its worker did; it carries on from record {poll.processed + 1:,}."


def _already_running(active: CrmPoll | None) -> str:
    label = OBJECT_LABELS.get(active.sobject if active else "", "this object")
    who = (
        f" (started by {active.started_by.get_full_name() or active.started_by.email})"
        if (active and active.started_by)
        else ""
    )
    return (
        f"A poll of {label} is already running{who}. Wait for it to finish or cancel it before "
        "starting another."
    )


def poll_cancel(*, poll: CrmPoll, actor: User) -> CrmPoll:
    """Ask a running poll to stop after the page it is on; a queued one, or a running one whose
    worker died, stops at once."""
    with transaction.atomic():
        poll = CrmPoll.objects.select_for_update().get(pk=poll.pk)
        if not poll.active:
            return poll
        poll.cancel_requested = True
        fields = ["cancel_requested"]
        if poll.status == Status.QUEUED or job_is_dead(poll, running=_RUNNING):
            poll.status, poll.finished_at = Status.CANCELLED, timezone.now()
            fields += ["status", "finished_at"]
        poll.save(update_fields=fields)
        audit_record(
            organization=poll.organization,
            actor=actor,
            action="crm.poll_cancelled",
            target=f"{poll.sobject} historical poll",
            data={"poll_id": poll.pk, "processed": poll.processed},
        )
    return poll


def poll_for_page(*, poll: CrmPoll, now: dt.datetime | None = None) -> CrmPoll:
    """``poll`` as the page shows it; writes nothing (state changes only on POST). One whose
    worker died is being taken over (the task's redelivery or the sweep): ``poll.resuming`` is
    True. One silent far longer than its task may run has lost its worker for good: it is shown
    failed (``WORKER_LOST``) as ``polls_fail_stale`` will store it within a minute, so the page
    stops waiting before the sweep has come by."""
    if job_is_stale(poll, running=_STALE_RUNNING, after=STALE_AFTER, now=now):
        poll.status, poll.failure_message = Status.FAILED, WORKER_LOST
    poll.resuming = job_is_dead(poll, running=_RUNNING, now=now)
    return poll


def polls_fail_stale(*, now: dt.datetime | None = None) -> int:
    """The every-minute sweep's (``engage.jobs_resume_dead``): fail the polls silent for longer
    than their task may run, saying the worker stopped. Returns how many."""
    failed = jobs_fail_stale(
        CrmPoll,
        running=_STALE_RUNNING,
        after=STALE_AFTER,
        fail=lambda poll: _finish(poll, Status.FAILED, WORKER_LOST),
        now=now,
    )
    return len(failed)


# --- The task's body ----------------------------------------------------------------------------


def poll_run(*, poll_id: int) -> None:
    """Run a queued poll to its end — done, cancelled or failed, never left running — or carry
    on one whose worker died from the last page it stored."""
    poll = _claim(poll_id)
    if poll is None:
        return
    if poll.cancel_requested:  # cancelled while its worker was dying
        _finish(poll, Status.CANCELLED)
        return
    connection = gateway.org_connection(poll.organization)
    if connection is None:
        _finish(poll, Status.FAILED, "Salesforce is not connected any more: connect it and poll again.")
        return
    progress = _Progress(poll)
    try:
        with owners_default_to(poll.started_by_id):
            result = run_poll(
                connection=connection,
                object_name=poll.sobject,
                on_start=progress.start,
                on_progress=progress.page,
                should_cancel=progress.cancelled,
                after_id=poll.resume_after_id,
                started=poll.started_modstamp,
            )
    except JobLost:  # another delivery has it now, or an admin cancelled it as dead
        logger.info("engage.crm.poll_lost", extra={"poll_id": poll.pk, "worker": poll.worker})
        return
    except DATABASE_LOST:  # the page was rolled back; the next delivery carries on from there
        logger.exception("engage.crm.poll_database_lost", extra={"poll_id": poll.pk})
        if job_hand_back(poll, running=_RUNNING):
            enqueue_on_commit("crm_poll_run", poll.pk)
        return
    except Exception as exc:
        logger.exception("engage.crm.poll_failed", extra={"poll_id": poll.pk})
        _finish(poll, Status.FAILED, _describe(exc, poll))
        return
    progress.absorb(result)
    stopped = str(result.stopped)
    poll.stop_reason = stopped[:20]
    poll.api_calls = result.api_calls
    if stopped == "done":
        _finish(poll, Status.DONE)
    elif stopped == "cancelled":
        _finish(poll, Status.CANCELLED)
    else:
        message = STOP_MESSAGES.get(stopped) or result.reason or f"The poll stopped early ({stopped})."
        _finish(poll, Status.FAILED, message)
    audit_record(
        organization=poll.organization,
        actor=poll.started_by,
        action="crm.poll_finished",
        target=f"{poll.sobject} historical poll",
        data={
            "poll_id": poll.pk,
            "status": poll.status,
            "created": poll.created_count,
            "updated": poll.updated_count,
            "unchanged": poll.unchanged_count,
            "errors": poll.error_count,
            "owned_by_email": poll.owned_by_email,
            "owned_by_fallback": poll.owned_by_fallback,
            "api_calls": poll.api_calls,
        },
    )


class _Progress:
    """The callbacks ``run_poll`` calls: counters, position and heartbeat saved with each page
    in its transaction (one UPDATE, which also checks the poll is still this worker's), cancel
    checked before the next page (one small query each). A poll taken over starts from the
    counters stored with its last page; a fresh one (or one that never stored a page) from zero."""

    def __init__(self, poll: CrmPoll) -> None:
        self.poll = poll
        if poll.started_modstamp is None:  # nothing stored yet: (re)start from the first record
            poll.resume_after_id = ""
            for counter in _COUNTERS:
                setattr(poll, counter, [] if counter == "errors" else 0)
            poll.total = None
        self.before = _Counts.of(poll)
        self.started: dt.datetime | None = poll.started_modstamp
        self.total: int | None = poll.total

    def start(self, started: dt.datetime, total: int) -> None:
        """Kept until the first page's save: a poll that dies before it starts afresh."""
        self.started, self.total = started, total

    def page(self, processed: int, total: int, batch: BatchResult, last_id: str) -> None:
        poll = self.poll
        poll.processed = self.before.processed + processed
        if poll.started_modstamp is None:
            poll.started_modstamp, poll.total = self.started, self.total
        poll.created_count += batch.created
        poll.updated_count += batch.updated
        poll.unchanged_count += batch.unchanged
        poll.error_count += len(batch.errors)
        poll.owned_by_email += batch.owned_by_email
        poll.owned_by_fallback += batch.owned_by_fallback
        room = CrmPoll.ERRORS_KEPT - len(poll.errors)
        if room > 0 and batch.errors:
            poll.errors = [*poll.errors, *({"id": i, "reason": r} for i, r in batch.errors[:room])]
        poll.resume_after_id = last_id
        job_save(poll, [*_COUNTERS, *_POSITION], running=_RUNNING)

    def cancelled(self) -> bool:
        return CrmPoll.objects.filter(pk=self.poll.pk, cancel_requested=True).exists()

    def absorb(self, result: PollResult) -> None:
        """The engine's final counts are authoritative (a page may have failed after the last
        progress call, or before the first), added to what the poll had stored before this run.
        The owner counters are the handler's, summed page by page (the engine does not keep them)."""
        poll, before = self.poll, self.before
        if poll.total is None and result.total:
            poll.total = result.total
        poll.processed = max(poll.processed, before.processed + result.received)
        poll.created_count = before.created + result.created
        poll.updated_count = before.updated + result.updated
        poll.unchanged_count = before.unchanged + result.unchanged
        poll.error_count = before.errors + len(result.errors)
        room = max(0, CrmPoll.ERRORS_KEPT - len(before.error_list))
        poll.errors = [*before.error_list, *({"id": i, "reason": r} for i, r in result.errors[:room])]


@dataclass(frozen=True)
class _Counts:
    """A poll's counters when this run took it: what the run's own counts add to."""

    processed: int
    created: int
    updated: int
    unchanged: int
    errors: int
    error_list: list[dict[str, str]]

    @classmethod
    def of(cls, poll: CrmPoll) -> _Counts:
        return cls(
            poll.processed,
            poll.created_count,
            poll.updated_count,
            poll.unchanged_count,
            poll.error_count,
            list(poll.errors),
        )


def _claim(poll_id: int) -> CrmPoll | None:
    return job_claim(
        CrmPoll,
        poll_id,
        queued=Status.QUEUED,
        running=Status.RUNNING,
        worker=worker_owner("crm-poll"),
        fail=lambda job: _finish(job, Status.FAILED, WORKER_KEEPS_DYING),
        related=("organization", "started_by"),
    )


def _finish(poll: CrmPoll, status: str, message: str = "") -> None:
    poll.status = status
    poll.failure_message = message
    poll.finished_at = timezone.now()
    poll.save(
        update_fields=[*_COUNTERS, "status", "failure_message", "finished_at", "stop_reason", "api_calls"]
    )


def _describe(exc: Exception, poll: CrmPoll) -> str:
    from celery.exceptions import SoftTimeLimitExceeded

    done = f" {poll.processed:,} records were polled before that."
    if isinstance(exc, SoftTimeLimitExceeded):
        return "The poll ran out of time." + done
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages) + done
    return f"The poll stopped on an unexpected error ({type(exc).__name__}). It has been logged." + done
