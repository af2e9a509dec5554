"""The 5-minute fan-out of Salesforce's object rows, and what Salesforce registers as its sync
source (``register_provider(SALESFORCE, source=SALESFORCE_SOURCE)``).

``fan_out`` is in ``integrations.dispatcher``'s table (``IntegrationsConfig.ready``), so the beat
entry ``integrations.dispatch_syncs`` calls it every 5 minutes. It enqueues the engine's one task
(``integrations.sync_row``, ids only) for each object the handler syncs of each usable
organisation-wide connection whose sync is on, skipping rows that are paused until later or whose
lease a live run holds. Each message expires before the next beat, so runs missed while the
workers were down do not pile up.
"""

from __future__ import annotations

import logging

from integrations.models import Connection
from integrations.salesforce.fetch.common import registered_handler
from integrations.salesforce.fetch.source import CRM_ROWS
from integrations.sync import policy
from integrations.sync import states as sync_states
from integrations.sync.tasks import enqueue_sync

logger = logging.getLogger(__name__)


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
            state = states.get(object_name) or sync_states.sync_state_get_or_create(
                connection=connection, object_name=object_name
            )
            if not policy.is_due(state):
                continue
            enqueue_sync(state.pk)
            enqueued += 1
    return enqueued


class SalesforceSource:
    """What Salesforce supplies to the sync engine (``register_provider(SALESFORCE, source=…)``):
    its rows (``fetch/source.py``) and their 5-minute fan-out."""

    provider = "salesforce"
    sync_name = "salesforce"
    rows = CRM_ROWS

    def fan_out(self) -> int:
        return fan_out()


SALESFORCE_SOURCE = SalesforceSource()
