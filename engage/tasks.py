"""Engage's background tasks. Thin: each takes ids, loads, and calls one service (STYLE.md)."""

from __future__ import annotations

from datetime import datetime

from celery import shared_task

from engage.services import imports

# A pass over the largest allowed file takes minutes; an hour means something is wrong. The
# soft limit lets the service mark the import failed; the hard one stops a stuck worker.
IMPORT_SOFT_LIMIT = 60 * 60
IMPORT_HARD_LIMIT = IMPORT_SOFT_LIMIT + 120


@shared_task(
    name="engage.contact_import_validate",
    ignore_result=True,
    soft_time_limit=IMPORT_SOFT_LIMIT,
    time_limit=IMPORT_HARD_LIMIT,
)
def contact_import_validate(import_id: int) -> None:
    imports.import_validate(import_id=import_id)


@shared_task(
    name="engage.contact_import_run",
    ignore_result=True,
    soft_time_limit=IMPORT_SOFT_LIMIT,
    time_limit=IMPORT_HARD_LIMIT,
)
def contact_import_run(import_id: int) -> None:
    imports.import_run(import_id=import_id)


# --- Salesforce: poll historical data -----------------------------------------------------------
# 100,000 records take about a minute; a poll of a million, twenty. Two hours means it is stuck.
POLL_SOFT_LIMIT = 2 * 60 * 60
POLL_HARD_LIMIT = POLL_SOFT_LIMIT + 120


@shared_task(
    name="engage.crm_poll_run",
    ignore_result=True,
    soft_time_limit=POLL_SOFT_LIMIT,
    time_limit=POLL_HARD_LIMIT,
)
def crm_poll_run(poll_id: int) -> None:
    from engage.services.crm import poll

    poll.poll_run(poll_id=poll_id)


# --- Salesforce writes (G9, G11, G12) -------------------------------------------------------------
# Salesforce down or out of API requests: try again every five minutes for an hour; after that the
# next write for the organisation (or the next activity flush) picks the rest up.
CRM_WRITE_RETRY_SECONDS = 5 * 60
CRM_WRITE_MAX_RETRIES = 12


def _retry_later(task, **options) -> None:
    raise task.retry(countdown=CRM_WRITE_RETRY_SECONDS, **options)


@shared_task(name="engage.crm_push_status", bind=True, ignore_result=True, max_retries=CRM_WRITE_MAX_RETRIES)
def crm_push_status(self, contact_ids: list[int], actor_id: int | None = None) -> None:
    from engage.services.crm import pushes

    report = pushes.crm_push_statuses(contact_ids=contact_ids, actor_id=actor_id)
    if report.retry_ids:
        _retry_later(self, args=[report.retry_ids], kwargs={"actor_id": actor_id})


@shared_task(name="engage.crm_push_opt_out", bind=True, ignore_result=True, max_retries=CRM_WRITE_MAX_RETRIES)
def crm_push_opt_out(self, contact_id: int, actor_id: int | None = None) -> None:
    from engage.services.crm import pushes

    if pushes.crm_push_opt_out(contact_id=contact_id, actor_id=actor_id) is None:
        _retry_later(self)


@shared_task(
    name="engage.crm_flush_activities", bind=True, ignore_result=True, max_retries=CRM_WRITE_MAX_RETRIES
)
def crm_flush_activities(self, organization_id: int) -> None:
    from engage.services.crm import activities

    if activities.activities_flush(organization_id=organization_id).retry:
        _retry_later(self)


@shared_task(name="engage.crm_contact_lookup", ignore_result=True)
def crm_contact_lookup(contact_id: int, actor_id: int | None = None) -> None:
    from engage.services.crm import linking

    linking.crm_contact_lookup(contact_id=contact_id, actor_id=actor_id)


@shared_task(name="engage.crm_link_imported", ignore_result=True)
def crm_link_imported(import_id: int) -> None:
    from engage.services.crm import linking

    linking.crm_link_imported(import_id=import_id)


# A push of the largest import (100,000 contacts, 500 chunks of three API calls) takes minutes; an
# hour means something is wrong. Its PUSH_STALE_AFTER (engage.services.crm.linking) goes with this.
CRM_PUSH_SOFT_LIMIT = 60 * 60
CRM_PUSH_HARD_LIMIT = CRM_PUSH_SOFT_LIMIT + 120


@shared_task(
    name="engage.crm_push_imported",
    ignore_result=True,
    soft_time_limit=CRM_PUSH_SOFT_LIMIT,
    time_limit=CRM_PUSH_HARD_LIMIT,
)
def crm_push_imported(import_id: int) -> None:
    from engage.services.crm import linking

    linking.crm_push_imported(import_id=import_id)


# --- Salesflows: enrolling many contacts in the background -------------------------------------
# 5,000 contacts take well under a minute; half an hour means something is wrong. Its
# ENROL_STALE_AFTER (engage.salesflows.enrolment) goes with this.
ENROL_SOFT_LIMIT = 30 * 60
ENROL_HARD_LIMIT = ENROL_SOFT_LIMIT + 120


@shared_task(
    name="engage.salesflow_enrol_run",
    ignore_result=True,
    soft_time_limit=ENROL_SOFT_LIMIT,
    time_limit=ENROL_HARD_LIMIT,
)
def salesflow_enrol_run(job_id: int) -> None:
    from engage.salesflows import enrolment

    enrolment.enrolment_job_run(job_id=job_id)


# --- Salesflows: the send engine (engage.salesflows.engine, .sending) ------------------------------
# Every minute: resume what is due to resume, claim the due automatic emails, one send task per
# mailbox. A send task that runs long is fine (each send renews its claim); one stuck for half an
# hour is stopped, and its enrolments are claimed again once their leases lapse.
SALESFLOWS_BEAT_NAME = "salesflows dispatch"
SALESFLOWS_BEAT = {
    "task": "engage.salesflows_dispatch",
    "every_seconds": 60,
    "expires_seconds": 50,
    "description": "Every minute: resume the Salesflow enrolments whose pause is over or whose "
    "mailbox is back, claim the automatic emails that are due and queue one send task per mailbox.",
}
SEND_SOFT_LIMIT = 30 * 60
SEND_HARD_LIMIT = SEND_SOFT_LIMIT + 60


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@shared_task(name="engage.salesflows_dispatch", ignore_result=True)
def salesflows_dispatch(now: str | None = None) -> int:
    """The minute beat; ``now`` (ISO 8601) fixes its clock (tests). Returns how many it claimed."""
    from engage.salesflows.engine import salesflows_dispatch as dispatch

    return dispatch(now=_moment(now)).claimed


@shared_task(
    name="engage.salesflow_send_mailbox",
    ignore_result=True,
    soft_time_limit=SEND_SOFT_LIMIT,
    time_limit=SEND_HARD_LIMIT,
)
def salesflow_send_mailbox(
    sender_id: int | None, enrolment_ids: list[int], claim: str, now: str | None = None
) -> None:
    from engage.salesflows.sending import mailbox_send

    mailbox_send(sender_id=sender_id, enrolment_ids=enrolment_ids, claim=claim, now=_moment(now))


# --- Jobs whose worker died (engage/jobs.py) ------------------------------------------------------
# A killed worker's poll, import pass or import push is redelivered at once on its own host; this
# sweep catches the rest (a worker on another host, a message lost) within a minute of the job's
# heartbeat going silent, so a dead job is carried on within about three minutes with no one
# watching. A job silent for longer than its task may run (its STALE_AFTER) is failed here instead:
# the pages only read.
JOBS_SWEEP_NAME = "engage dead job sweep"
JOBS_SWEEP = {
    "task": "engage.jobs_resume_dead",
    "every_seconds": 60,
    "expires_seconds": 50,
    "description": "Every minute: queue again the CSV imports, their Salesforce pushes, the CRM "
    "polls and the Salesflow enrolments whose worker died, so they carry on where they stopped; fail those silent for longer "
    "than they may run.",
}
# A resume not started within a few sweeps is dropped; a later sweep sends a fresh one.
JOBS_RESUME_EXPIRES = 4 * 60
_RESUMABLE = {
    "crm_poll_run": crm_poll_run,
    "contact_import_validate": contact_import_validate,
    "contact_import_run": contact_import_run,
    "crm_push_imported": crm_push_imported,
    "salesflow_enrol_run": salesflow_enrol_run,
}


@shared_task(name="engage.jobs_resume_dead", ignore_result=True)
def jobs_resume_dead(now: datetime | None = None) -> int:
    """Fail the jobs silent for longer than their task may run (no worker will take them over
    any more), then queue again those whose worker died, both judged at ``now`` (the beat gives
    none: the time it runs). Returns how many were queued."""
    from engage.jobs import jobs_dead
    from engage.salesflows.enrolment import enrolment_jobs_fail_stale
    from engage.services.crm.linking import crm_pushes_fail_stale
    from engage.services.crm.poll import polls_fail_stale

    imports.imports_fail_stale(now=now)
    polls_fail_stale(now=now)
    crm_pushes_fail_stale(now=now)
    enrolment_jobs_fail_stale(now=now)
    dead = jobs_dead(now=now)
    for task, job_id in dead:
        _RESUMABLE[task].apply_async(args=[job_id], expires=JOBS_RESUME_EXPIRES)
    return len(dead)
