"""Background jobs a person watches (a CSV import's two passes, a historical CRM poll): claim the
job when its task starts, fail it when its worker died.

A job row has a ``status`` and a ``started_at``. The task claims its queued job with one UPDATE
that only one delivery can win (``started_at`` still empty); a delivery that finds the job claimed
already is a redelivery after its worker died, and fails the job rather than leave it running for
ever. A page showing a running job fails it once it has run longer than its task may
(``job_is_stale``), so the page stops waiting and the person can try again.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import timedelta
from typing import TypeVar

from django.db import models
from django.utils import timezone

Job = TypeVar("Job", bound=models.Model)


def job_claim(
    model: type[Job],
    pk: int,
    *,
    queued: str,
    running: str,
    fail: Callable[[Job], None],
    related: Sequence[str] = (),
) -> Job | None:
    """Mark the job ``pk`` (``queued``, not started) as ``running`` and started, and load it
    (with ``related``). None when there is nothing (left) to do: no such job, or one claimed
    before — when that one is still ``running`` its worker died, and ``fail(job)`` says so."""
    claimed = model.objects.filter(pk=pk, status=queued, started_at__isnull=True).update(
        status=running, started_at=timezone.now()
    )
    job = model.objects.select_related(*related).filter(pk=pk).first()
    if job is None:
        return None
    if not claimed:
        if job.status == running:  # started before and never finished: its worker died
            fail(job)
        return None
    return job


def job_is_stale(job: models.Model, *, running: Collection[str], after: timedelta) -> bool:
    """The job is running and started more than ``after`` ago: longer than its task may run."""
    started = job.started_at
    return job.status in running and started is not None and timezone.now() - started > after
