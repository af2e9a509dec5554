"""Poll historical data (G6): read every Salesforce Lead or Contact matching the sync rule and
apply it through Engage's sync handler, as a background task the Admin Portal follows.

``poll_start`` checks and queues (one queued or running poll per organisation and object);
``poll_run`` is the task's body: it claims the poll, calls the sync engine's ``run_poll`` with a
progress callback (the counters are saved after every page, which the page polls) and a cancel
check (an admin's Cancel is seen before the next page), and records the summary. A poll that
finds itself claimed already is a redelivery after its worker died and is marked failed, so the
page never waits forever.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from copilot.models import Organization, User
from copilot.services.audit import audit_record
from engage.crm.pages import OBJECT_LABELS
from engage.enqueue import enqueue_on_commit
from engage.jobs import job_claim, job_is_stale
from engage.models import CrmPoll
from engage.services.crm import configuration as crm_services
from engage.services.crm import gateway
from engage.services.statuses import statuses_from_crm
from integrations.records import BatchResult
from integrations.salesforce.fetch.common import PollResult
from integrations.salesforce.fetch.poll import run_poll

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
]
WORKER_LOST = "The background worker stopped while this was running. Poll again."
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


def poll_statuses_follow(*, organization: Organization, actor: User | None) -> None:
    """F3, lazily: the integrations app cannot call Engage when Salesforce is first connected, so
    the CRM pages and the poll make the status list follow the Lead mapping once a connection
    exists and the list is not yet Salesforce's."""
    if statuses_from_crm(organization=organization) or gateway.org_connection(organization) is None:
        return
    try:
        crm_services.crm_statuses_follow_mapping(organization=organization, actor=actor)
    except ValidationError:
        logger.info("engage.crm.statuses_follow_skipped", extra={"organization_id": organization.pk})


# --- Start and cancel ---------------------------------------------------------------------------


def poll_start(*, organization: Organization, sobject: str, actor: User) -> CrmPoll:
    """Queue a historical poll of ``sobject``. ValidationError when Salesforce is not connected
    or a poll of the object is already queued or running."""
    _check_object(sobject)
    if gateway.org_connection(organization) is None:
        raise ValidationError("Connect Salesforce before polling historical data.")
    poll_statuses_follow(organization=organization, actor=actor)
    try:
        with transaction.atomic():
            active = poll_active(organization=organization, sobject=sobject)
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
    """Ask a running poll to stop after the page it is on; a queued one stops at once."""
    with transaction.atomic():
        poll = CrmPoll.objects.select_for_update().get(pk=poll.pk)
        if not poll.active:
            return poll
        poll.cancel_requested = True
        fields = ["cancel_requested"]
        if poll.status == Status.QUEUED:
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


def poll_fail_if_stale(*, poll: CrmPoll) -> CrmPoll:
    """A poll running far longer than its task may has lost its worker: say so."""
    if job_is_stale(poll, running=(Status.QUEUED, Status.RUNNING), after=STALE_AFTER):
        _finish(poll, Status.FAILED, WORKER_LOST)
    return poll


# --- The task's body ----------------------------------------------------------------------------


def poll_run(*, poll_id: int) -> None:
    """Run a queued poll to its end: done, cancelled or failed, never left running."""
    poll = _claim(poll_id)
    if poll is None:
        return
    connection = gateway.org_connection(poll.organization)
    if connection is None:
        _finish(poll, Status.FAILED, "Salesforce is not connected any more: connect it and poll again.")
        return
    progress = _Progress(poll)
    try:
        result = run_poll(
            connection=connection,
            object_name=poll.sobject,
            on_progress=progress.page,
            should_cancel=progress.cancelled,
        )
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
            "api_calls": poll.api_calls,
        },
    )


class _Progress:
    """The callbacks ``run_poll`` calls: counters saved after each page, cancel checked before
    the next one (one small query each)."""

    def __init__(self, poll: CrmPoll) -> None:
        self.poll = poll

    def page(self, processed: int, total: int, batch: BatchResult) -> None:
        poll = self.poll
        poll.processed, poll.total = processed, total
        poll.created_count += batch.created
        poll.updated_count += batch.updated
        poll.unchanged_count += batch.unchanged
        poll.error_count += len(batch.errors)
        room = CrmPoll.ERRORS_KEPT - len(poll.errors)
        if room > 0 and batch.errors:
            poll.errors = [*poll.errors, *({"id": i, "reason": r} for i, r in batch.errors[:room])]
        poll.save(update_fields=_COUNTERS)

    def cancelled(self) -> bool:
        return CrmPoll.objects.filter(pk=self.poll.pk, cancel_requested=True).exists()

    def absorb(self, result: PollResult) -> None:
        """The engine's final counts are authoritative (a page may have failed after the last
        progress call, or before the first)."""
        poll = self.poll
        poll.total = result.total if result.total or poll.total is None else poll.total
        poll.processed = max(poll.processed, result.received)
        poll.created_count = result.created
        poll.updated_count = result.updated
        poll.unchanged_count = result.unchanged
        poll.error_count = len(result.errors)
        poll.errors = [{"id": i, "reason": r} for i, r in result.errors[: CrmPoll.ERRORS_KEPT]]


def _claim(poll_id: int) -> CrmPoll | None:
    return job_claim(
        CrmPoll,
        poll_id,
        queued=Status.QUEUED,
        running=Status.RUNNING,
        fail=lambda job: _finish(job, Status.FAILED, WORKER_LOST),
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
