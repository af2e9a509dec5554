"""Celery side of the Salesforce sync: the 5-minute fan-out and the one task per sync-state row.

``fan_out`` is registered with ``integrations.dispatcher`` (``IntegrationsConfig.ready``), so the
beat entry ``integrations.dispatch_syncs`` calls it every 5 minutes. It enqueues
``run_incremental_task`` (ids only) for each object the handler syncs of each usable
organisation-wide connection whose sync is on, skipping rows that are paused until later or whose
lease another worker holds. Each message expires before the next beat, so runs missed while the
workers were down do not pile up.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from integrations import services
from integrations.models import Connection
from integrations.salesforce.fetch import source as sync
from integrations.salesforce.fetch.common import registered_handler
from integrations.sync import policy
from integrations.sync.policy import RUN_EXPIRES_SECONDS

logger = logging.getLogger(__name__)

MAX_RETRIES = policy.CRM.max_retries


@shared_task(
    bind=True, name="integrations.salesforce.run_incremental", ignore_result=True, max_retries=MAX_RETRIES
)
def run_incremental_task(self: Any, sync_state_id: int) -> dict[str, Any]:
    """One incremental run. Outages retry with exponential backoff (honouring Retry-After);
    Salesforce's "slow down" reschedules at its ``retry_after``; a refused login does not retry
    (the connection needs reconnecting); everything else waits for the next beat."""
    result = sync.run_incremental(sync_state_id=sync_state_id)
    if result.stopped in (sync.Stop.UNAVAILABLE, sync.Stop.THROTTLED) and self.request.retries < MAX_RETRIES:
        countdown = result.retry_after
        if countdown is None:
            countdown = sync.backoff_seconds(self.request.retries)
        raise self.retry(countdown=countdown)
    return result.as_dict()


def fan_out() -> int:
    """Enqueue one run per due (connection, object); returns how many were enqueued."""
    handler = registered_handler()
    if handler is None:
        return 0
    connections = (
        Connection.objects.filter(
            provider="salesforce",
            scope=Connection.Scope.ORGANIZATION,
            status__in=[Connection.Status.CONNECTED, Connection.Status.PAUSED],
            organization__is_active=True,
        )
        .select_related("organization")
        .prefetch_related("sync_states")
    )
    enqueued = 0
    for connection in connections:
        organization = connection.organization
        try:
            if not handler.enabled(organization):
                continue
            objects = list(handler.objects(organization))
        except Exception:  # one organisation's broken settings must not stop the others
            logger.exception("salesforce.sync.fan_out_failed", extra={"connection_id": connection.pk})
            continue
        states = {state.object_name: state for state in connection.sync_states.all()}
        for object_name in objects:
            state = states.get(object_name) or services.sync_state_get_or_create(
                connection=connection, object_name=object_name
            )
            if not policy.is_due(state):
                continue
            run_incremental_task.apply_async(kwargs={"sync_state_id": state.pk}, expires=RUN_EXPIRES_SECONDS)
            enqueued += 1
    return enqueued


class SalesforceSource:
    """What Salesforce supplies to the sync engine (``register_provider(SALESFORCE, source=…)``):
    the CRM source of ``fetch/source.py`` and its 5-minute fan-out."""

    provider = "salesforce"
    sync_name = "salesforce"

    def fan_out(self) -> int:
        return fan_out()


SALESFORCE_SOURCE = SalesforceSource()
