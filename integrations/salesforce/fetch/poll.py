"""The historical poll (G6): every record of an object matching the feature app's rule, page by
page, handed to the registered ``CrmSyncHandler``; engage's poll job (``engage.services.crm.poll``)
runs it and shows its progress.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone

from integrations.models import Connection, SyncState
from integrations.records import BatchResult
from integrations.salesforce import limits
from integrations.salesforce.client import SalesforceClient
from integrations.salesforce.fetch import queries
from integrations.salesforce.fetch.common import (
    BATCH_SIZE,
    CrmSyncHandler,
    PollResult,
    RunStopped,
    crm_record,
    provider_stop,
    query_parts,
    registered_handler,
    stopped_with,
)
from integrations.salesforce.fetch.queries import MIN_BATCH, iso, parse_datetime
from integrations.sync import states as sync_states
from integrations.sync.policy import Stop

logger = logging.getLogger(__name__)


# --- Historical poll -----------------------------------------------------------------------------
def run_poll(
    *,
    connection: Connection,
    object_name: str,
    on_progress: Callable[[int, int, BatchResult, str], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    after_id: str = "",
    started: dt.datetime | None = None,
    on_start: Callable[[dt.datetime, int], None] | None = None,
) -> PollResult:
    """Every record of ``object_name`` matching the handler's rule, page by page in Id order (G6).

    ``on_start(started, total)`` runs once the poll knows the object's newest SystemModstamp and
    how many records match. ``on_progress(records_so_far, total, batch, last_id)`` runs after each
    page, in the page's transaction: what it saves commits with the page, or neither does (a
    poll's position and counters never disagree with what was stored). ``should_cancel()`` is
    asked before each further page. When the poll completes, the incremental sync's watermark is
    moved up to the poll's start (the object's newest SystemModstamp then), so the 5-minute sync
    carries on from there. The budget rules of incremental runs apply. Provider failures come
    back in the result (``stopped``, ``reason``); a handler's or callback's exception propagates.

    A poll that stopped half-way (its worker died) carries on with ``after_id``, the last Id it
    stored, and ``started``, the SystemModstamp its first run read: only the records after that
    Id are read, nothing is counted again (``total`` 0, ``on_start`` not called) and the
    watermark still moves to the first run's start. The result counts this run's records only.
    """
    result = PollResult(object_name=object_name)
    handler = registered_handler()
    if handler is None:
        return stopped_with(result, Stop.DISABLED, "No feature app handles Salesforce records.")
    if not connection.is_active:
        return stopped_with(result, Stop.DISABLED, connection.inactive_reason)
    poll = _Poll(connection, object_name, handler, result, on_progress, should_cancel)
    try:
        with SalesforceClient(connection) as client:
            try:
                started = poll.start(client, started=started, on_start=on_start)
                poll.read(client, after_id=after_id)
            finally:
                result.api_calls = client.api_calls
        _advance_watermark(connection, object_name, started)
    except limits.BudgetExceeded as stop:
        stopped_with(result, Stop.BUDGET, stop.reason)
    except RunStopped as stop:
        stopped_with(result, stop.stopped, stop.reason)
    except Exception as exc:
        if not provider_stop(result, exc, connection):
            raise
    logger.info(
        "salesforce.poll.finished",
        extra={
            "connection_id": connection.pk,
            "organization_id": connection.organization_id,
            "object_name": object_name,
            "stopped": str(result.stopped),
            "received": result.received,
            "api_calls": result.api_calls,
        },
    )
    return result


class _Poll:
    """The steps of one poll run: what to read and where it started, then the pages."""

    def __init__(
        self,
        connection: Connection,
        object_name: str,
        handler: CrmSyncHandler,
        result: PollResult,
        on_progress: Callable[[int, int, BatchResult, str], None] | None,
        should_cancel: Callable[[], bool] | None,
    ) -> None:
        self.connection, self.object_name, self.handler, self.result = (
            connection,
            object_name,
            handler,
            result,
        )
        self.organization = connection.organization
        self.on_progress, self.should_cancel = on_progress, should_cancel
        self.select = self.rule = ""

    def start(
        self,
        client: SalesforceClient,
        *,
        started: dt.datetime | None,
        on_start: Callable[[dt.datetime, int], None] | None,
    ) -> dt.datetime:
        """Check the budget, ask the handler what to read; on a first run, read the object's newest
        SystemModstamp and count the matching records. Returns the poll's start."""
        limits.check_first(client, self.connection, probe=False)
        describe = queries.describe(client, self.connection, self.object_name)
        self.select, self.rule = query_parts(self.handler, self.connection, self.object_name, describe)
        if started is None:
            started = queries.newest_modstamp(client, self.object_name)
            limits.spend(client)
            self.result.total = client.count(self.object_name, f"({self.rule})" if self.rule else "")
            if on_start is not None:
                on_start(started, self.result.total)
        return started

    def read(self, client: SalesforceClient, *, after_id: str) -> None:
        """Every matching record after ``after_id``, a page at a time, each in its transaction."""
        limits.spend(client)
        soql = queries.matching_soql(self.object_name, self.select, self.rule, after_id=after_id)
        for page in client.query_pages(soql, batch_size=BATCH_SIZE):
            after_id = self._page(page, after_id)
            if len(page) >= MIN_BATCH:  # another page may follow
                if self.should_cancel is not None and self.should_cancel():
                    raise RunStopped(Stop.CANCELLED, "The poll was cancelled.")
                limits.spend(client)

    def _page(self, page: list[dict[str, Any]], after_id: str) -> str:
        """Apply one page and report it (its position commits with it); returns its last Id."""
        result = self.result
        records = [crm_record(self.object_name, row) for row in page]
        last_id = str(page[-1].get("Id") or after_id) if page else after_id
        with transaction.atomic():
            batch = (
                self.handler.apply(self.organization, self.object_name, records) if records else BatchResult()
            )
            if self.on_progress is not None:
                self.on_progress(result.received + len(page), result.total, batch, last_id)
        result.add(batch)
        result.pages += 1
        result.received += len(page)
        return last_id


def _advance_watermark(connection: Connection, object_name: str, started: dt.datetime) -> None:
    state = sync_states.sync_state_get_or_create(connection=connection, object_name=object_name)
    current = parse_datetime(state.cursor)
    if current is not None and current >= started:
        return
    fields: dict[str, Any] = {"cursor": iso(started)}
    if not state.deleted_cursor:
        fields["deleted_cursor"] = iso(started)
        fields["stats"] = {**state.stats, "deleted_checked_at": iso(timezone.now())}
    # Only if no incremental run moved the cursor meanwhile (it would be newer than ours).
    SyncState.objects.filter(pk=state.pk, cursor=state.cursor).update(updated_at=timezone.now(), **fields)
