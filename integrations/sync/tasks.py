"""Celery side of the mailbox sync: ``integrations.sync_mailbox`` runs one row (ids only).

A throttled or unavailable run schedules its own follow-up for ``next_run_at`` (so a 30-second
backoff does not wait for the next 5-minute beat); an early or duplicate follow-up stops at once
(``NOT_DUE`` / ``BUSY``). Messages expire before the next beat, so runs missed while the workers
were down do not pile up.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.utils import timezone

from integrations.sync import engine
from integrations.sync.policy import RUN_EXPIRES_SECONDS


@shared_task(name="integrations.sync_mailbox", ignore_result=True)
def sync_mailbox(sync_state_id: int, force: bool = False) -> dict[str, Any]:
    result = engine.run_mailbox_sync(sync_state_id=sync_state_id, force=force)
    if result.stopped in (engine.Stop.THROTTLED, engine.Stop.UNAVAILABLE) and result.retry_at:
        countdown = max((result.retry_at - timezone.now()).total_seconds(), 0.0)
        enqueue_mailbox_sync(sync_state_id, countdown=countdown)
    return result.as_dict()


def enqueue_mailbox_sync(sync_state_id: int, *, countdown: float = 0, force: bool = False) -> None:
    sync_mailbox.apply_async(
        kwargs={"sync_state_id": sync_state_id, "force": force},
        countdown=countdown or None,
        expires=countdown + RUN_EXPIRES_SECONDS,
    )
