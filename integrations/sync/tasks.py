"""The one Celery task of the sync engine: ``integrations.sync_row`` runs one sync-state row of
any source (ids only).

One retry policy for every source: a throttled or unavailable run (provider 429/5xx, a timeout,
a lost database connection) has its wait recorded on the row (``next_run_at``, the engine) and
this task enqueues the follow-up for that moment, so a 30-second backoff does not wait for the
next 5-minute beat; an early or duplicate follow-up stops at once (``NOT_DUE`` / ``BUSY``). If
the broker cannot take the follow-up, the next dispatch finds the row due anyway. Messages
expire before the next beat, so runs missed while the workers were down do not pile up.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from kombu.exceptions import OperationalError as BrokerError

from integrations.sync import engine
from integrations.sync.policy import RUN_EXPIRES_SECONDS, Stop

logger = logging.getLogger(__name__)


@shared_task(name="integrations.sync_row", ignore_result=True)
def sync_row(sync_state_id: int, force: bool = False) -> dict[str, Any]:
    result = engine.run(sync_state_id=sync_state_id, force=force)
    if result.stopped in (Stop.THROTTLED, Stop.UNAVAILABLE) and result.retry_in is not None:
        try:
            enqueue_sync(sync_state_id, countdown=result.retry_in)
        except BrokerError:
            logger.warning("sync.follow_up_not_queued", extra={"sync_state_id": sync_state_id}, exc_info=True)
    return result.as_dict()


def enqueue_sync(sync_state_id: int, *, countdown: float = 0, force: bool = False) -> None:
    """Queue one run of a row (``force``: even before its ``next_run_at``, e.g. "Retry now")."""
    sync_row.apply_async(
        kwargs={"sync_state_id": sync_state_id, **({"force": True} if force else {})},
        countdown=countdown or None,
        expires=countdown + RUN_EXPIRES_SECONDS,
    )
