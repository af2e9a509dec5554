"""Background jobs a person watches (a CSV import's two passes and its push to Salesforce, a
historical CRM poll, a Salesflow enrolment of many contacts): claim the job when its task starts,
take it over when its worker died, and carry on where it stopped.

A job row has a ``status``, a ``started_at``, the ``worker`` running it
(``integrations.workers.worker_owner``) and a ``heartbeat_at`` the worker renews with every page
or chunk it commits. The task claims its queued job with one UPDATE that only one delivery can
win (``started_at`` still empty). A delivery that finds the job claimed already is either a
duplicate (the job's worker is alive: left alone) or a redelivery after its worker died — Celery
puts a killed worker's message back at once (``task_acks_late``, ``task_reject_on_worker_lost``)
— and then takes the job over with one UPDATE on the dead worker's name, so of two deliveries
only one wins, and carries on from the job's last committed page. ``engage.jobs_resume_dead``
(every minute) re-enqueues dead jobs no delivery came back for: a worker on another host, whose
death only its silent heartbeat tells (``JOB_HEARTBEAT_TIMEOUT``).

A worker that loses its database connection mid-job (a cut connection, a failover) is alive but
cannot go on: it hands the job back (``job_hand_back``: no worker, a fresh heartbeat), which
makes the job dead at once, and queues its task again.

A job whose worker keeps dying without committing anything (``JOB_MAX_TAKEOVERS`` take-overs in
a row) is failed instead, so one poisonous page cannot loop for ever. A running job that has
shown no sign of life for longer than its task may run (``job_is_stale``) is failed by the same
sweep (``jobs_fail_stale``), so the person watching stops waiting even with no worker at all;
pages only read: one showing such a job before the sweep reaches it shows it stopped, without
writing (state changes only on POST).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.db import InterfaceError, OperationalError, connection, models, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from integrations.workers import owner_is_dead

logger = logging.getLogger(__name__)

Job = TypeVar("Job", bound=models.Model)

# A running job renews its heartbeat with every committed page or chunk (seconds apart). Two
# minutes of silence means its worker is gone, wherever it ran.
JOB_HEARTBEAT_TIMEOUT = timedelta(seconds=120)
# Take-overs in a row without a committed page: the job itself kills its worker.
JOB_MAX_TAKEOVERS = 3
# What a cut database connection raises in the middle of a job.
DATABASE_LOST = (OperationalError, InterfaceError)


class JobLost(Exception):
    """The job is no longer this worker's (another delivery took it over, or it was cancelled
    or failed meanwhile): stop without touching it; what this page wrote is rolled back."""


def job_claim(
    model: type[Job],
    pk: int,
    *,
    queued: str,
    running: str,
    worker: str,
    fail: Callable[[Job], None],
    related: Sequence[str] = (),
    now: datetime | None = None,
) -> Job | None:
    """Mark the job ``pk`` (``queued``, not started) as ``running``, started and held by
    ``worker``, and load it (with ``related``); or take it over when it is ``running`` and its
    worker is dead (``job_is_dead``): then ``job.taken_over`` is True and the caller carries on
    from the job's last committed position. None when there is nothing (left) to do: no such
    job, one finished, one a live worker holds, or one another delivery took over first. A job
    taken over ``JOB_MAX_TAKEOVERS`` times in a row is failed (``fail(job)``) instead."""
    now = now or timezone.now()
    claimed = model.objects.filter(pk=pk, status=queued, started_at__isnull=True).update(
        status=running, started_at=now, worker=worker, heartbeat_at=now, takeovers=0
    )
    job = model.objects.select_related(*related).filter(pk=pk).first()
    if job is None:
        return None
    if claimed:
        job.taken_over = False
        return job
    if not job_is_dead(job, running=(running,), now=now):
        return None
    if job.takeovers >= JOB_MAX_TAKEOVERS:
        fail(job)
        return None
    # Only the delivery that still sees the dead worker's name wins.
    took = model.objects.filter(pk=pk, status=running, worker=job.worker).update(
        worker=worker, heartbeat_at=now, takeovers=F("takeovers") + 1
    )
    if not took:
        return None
    logger.info(
        "engage.job.taken_over",
        extra={"model": model.__name__, "job_id": pk, "dead_worker": job.worker, "worker": worker},
    )
    # Loaded again: the dead worker's last page may have committed between the read and the take-over.
    job = model.objects.select_related(*related).get(pk=pk)
    job.taken_over = True
    return job


def job_is_dead(job: models.Model, *, running: Collection[str], now: datetime | None = None) -> bool:
    """The job has started, is running, and its worker is gone: a process of this host that has
    ended (``owner_is_dead``), one that has not renewed the heartbeat for
    ``JOB_HEARTBEAT_TIMEOUT`` (any host), or one that handed the job back (no worker, and a
    heartbeat: rows from before workers were recorded have neither and go by their start)."""
    if job.status not in running or job.started_at is None:
        return False
    if not job.worker and job.heartbeat_at is not None:
        return True
    if job.worker and owner_is_dead(job.worker):
        return True
    return (now or timezone.now()) - _last_sign_of_life(job) > JOB_HEARTBEAT_TIMEOUT


def job_is_stale(
    job: models.Model, *, running: Collection[str], after: timedelta, now: datetime | None = None
) -> bool:
    """The job is running and has shown no sign of life (heartbeat, else its start) for more
    than ``after``: longer than its task may run, so no worker will take it over any more."""
    if job.status not in running or job.started_at is None:
        return False
    return (now or timezone.now()) - _last_sign_of_life(job) > after


def job_save(job: models.Model, fields: Sequence[str], *, running: Collection[str]) -> None:
    """Save ``fields`` of the running ``job`` and renew its heartbeat, in one UPDATE that only
    matches while the job is still running and still this worker's (``job.worker``). Raises
    ``JobLost`` when it is not: the caller's transaction then rolls back what it wrote."""
    job.heartbeat_at = timezone.now()
    job.takeovers = 0  # a committed page: the worker is not the job's victim
    values: dict[str, Any] = {name: getattr(job, name) for name in (*fields, "heartbeat_at", "takeovers")}
    manager = type(job)._default_manager
    if not manager.filter(pk=job.pk, worker=job.worker, status__in=running).update(**values):
        raise JobLost(f"{type(job).__name__} {job.pk} is no longer {job.worker}'s.")


def job_hand_back(job: models.Model, *, running: Collection[str]) -> bool:
    """This worker lost its database connection but not its life: give the running ``job`` up, so
    the next delivery of its task takes it over at once and carries on from its last committed
    page. False when the job is no longer this worker's, or the database is still out of reach
    (the silent heartbeat then tells the sweep, two minutes on)."""
    if not connection.in_atomic_block:  # drop the broken connection; the UPDATE opens a new one
        connection.close_if_unusable_or_obsolete()
    manager = type(job)._default_manager
    try:
        handed = manager.filter(pk=job.pk, worker=job.worker, status__in=running).update(
            worker="", heartbeat_at=timezone.now()
        )
    except DATABASE_LOST:
        return False
    logger.warning(
        "engage.job.handed_back", extra={"model": type(job).__name__, "job_id": job.pk, "worker": job.worker}
    )
    return bool(handed)


def _last_sign_of_life(job: models.Model) -> datetime:
    return job.heartbeat_at or job.started_at


# --- The sweep ----------------------------------------------------------------------------------
def jobs_dead(*, now: datetime | None = None) -> list[tuple[str, int]]:
    """Every running poll, import pass, import push to Salesforce and Salesflow enrolment job whose
    worker died, as (task name in engage.tasks, job id) to enqueue again: the task's delivery takes
    the job over. One query."""
    from engage.models import ContactImport, ContactImportPush, CrmPoll, EnrolmentJob

    columns = ("pk", "status", "started_at", "worker", "heartbeat_at")
    polls = (
        CrmPoll.objects.filter(status=CrmPoll.Status.RUNNING)
        .annotate(task=Value("crm_poll_run"))
        .order_by()
        .values_list("task", *columns)
    )
    passes = (
        ContactImport.objects.filter(
            status__in=[ContactImport.Status.VALIDATING, ContactImport.Status.IMPORTING],
            started_at__isnull=False,
        )
        .annotate(
            task=Case(
                When(status=ContactImport.Status.VALIDATING, then=Value("contact_import_validate")),
                default=Value("contact_import_run"),
            )
        )
        .order_by()
        .values_list("task", *columns)
    )
    pushes = (
        ContactImportPush.objects.filter(status=ContactImportPush.Status.RUNNING, started_at__isnull=False)
        .annotate(task=Value("crm_push_imported"))
        .order_by()
        .values_list("task", *columns)
    )
    enrolments = (
        EnrolmentJob.objects.filter(status=EnrolmentJob.Status.RUNNING, started_at__isnull=False)
        .annotate(task=Value("salesflow_enrol_run"))
        .order_by()
        .values_list("task", *columns)
    )
    dead = []
    for task, pk, status, started_at, worker, heartbeat_at in polls.union(
        passes, pushes, enrolments, all=True
    ):
        job = _JobState(status, started_at, worker, heartbeat_at)
        if job_is_dead(job, running=(status,), now=now):
            dead.append((task, pk))
    return dead


def jobs_fail_stale(
    model: type[Job],
    *,
    running: Collection[str],
    after: timedelta,
    fail: Callable[[Job], None],
    now: datetime | None = None,
) -> list[int]:
    """The sweep's: fail (``fail(job)``) every job of ``model`` that ``job_is_stale`` judges past
    ``after``. Each is locked and judged again first; one whose row a worker holds (it is
    committing a page: alive after all) is skipped. Returns the ids of the jobs failed."""
    now = now or timezone.now()
    cutoff = now - after
    silent = model.objects.filter(status__in=running, started_at__isnull=False).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
    )
    failed = []
    for pk in silent.values_list("pk", flat=True):
        with transaction.atomic():
            job = model.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
            if job is None or not job_is_stale(job, running=running, after=after, now=now):
                continue
            fail(job)
        failed.append(pk)
        logger.warning(
            "engage.job.failed_stale", extra={"model": model.__name__, "job_id": pk, "worker": job.worker}
        )
    return failed


@dataclass(frozen=True)
class _JobState:
    status: str
    started_at: datetime | None
    worker: str
    heartbeat_at: datetime | None
