"""Salesforce → feature app: the 5-minute incremental sync (G5), the historical poll (G6), deletions,
and the org's API budget (G14).

This module only *fetches*: it turns changed Leads/Contacts/Accounts into provider-neutral
``CrmRecord`` batches and hands them to the one registered ``CrmSyncHandler`` (engage's, from
``EngageConfig.ready``), which decides what to store. One ``SyncState`` row per (connection,
object) holds the cursor, health and lease. The one sync engine (``integrations.sync.engine``) runs
the rows through ``CRM_ROWS`` (registered as the provider's ``rows``): lease, one transaction per
page, backoff and retries are the engine's (``policy.CRM``); ``fetch/fanout.py`` enqueues the due
rows every 5 minutes.

Incremental pass (``CRM_ROWS``, run by the engine)
- ``SyncState.cursor`` is the watermark: the highest ``SystemModstamp`` applied. A pass asks, through
  **queryAll**, ``SELECT <handler fields>, Id, SystemModstamp, IsDeleted FROM <Obj> WHERE
  SystemModstamp >= <watermark - lookback> AND (IsDeleted = true OR (<rule>)) ORDER BY
  SystemModstamp, Id`` and applies it one page (≤ 2,000 records) at a time.
- Inclusive (>=) with a lookback (600 s, or the handler's ``lookback_seconds(organization)`` when it
  has one): SystemModstamp has whole-second precision, so many records share the watermark's
  second, and a transaction that commits after we read can carry an older stamp. Re-delivered
  records are harmless: ``apply`` is an idempotent upsert (the handler may skip an unchanged
  (id, modstamp)).
- Commit per page: after each page the watermark and the pass's position (the last
  ``(SystemModstamp, Id)`` applied) are written under the lease, and the lease is renewed. A pass cut
  short (budget, outage, a worker killed with kill -9) resumes from that position with the exact
  keyset ``(SystemModstamp > T OR (SystemModstamp = T AND Id > 'X'))``: it redoes at most the page
  that was not committed and never loops on the lookback window. The next *new* pass starts at the
  watermark minus the lookback again.
- First run (no watermark): the watermark is set to the object's newest SystemModstamp (one query)
  and nothing is delivered; bringing in history is the poll's job (G6).

Deletions: queryAll in the same call, getDeleted as the safety net
- A deleted record sits in the recycle bin with ``IsDeleted = true`` and a new SystemModstamp, so the
  pass's own queryAll returns it and it goes to ``handler.unlink`` (whatever the rule says: a
  deleted record may have been linked by an email lookup). Doing deletes in the same call keeps an
  idle cycle at exactly one API call per object (getUpdated + getDeleted would cost three).
- The recycle bin is emptied after 15 days, by an admin, or early when the delete log is large, so
  once a day — and on the first run after a gap in syncing of over an hour — ``getDeleted`` is read
  from ``SyncState.deleted_cursor`` (the next start is its ``latestDateCovered``;
  ``integrations.salesforce.deletes``). Its ids are unlinked; when its ``earliestDateAvailable`` is
  after ``deleted_cursor``, deletions may have gone unseen, and a **full reconcile** runs: every
  live id of the object is paged (Id only, 2,000 per call) and the handler's linked ids missing
  from Salesforce are unlinked. It pages every record, not only those matching the rule: a record
  that merely left the rule was not deleted. It needs the handler's optional
  ``linked_ids(organization, object_name)``; without it only getDeleted's ids are unlinked (logged
  as ``salesforce.sync.reconcile_unsupported``).

Budget (G14, ``integrations.salesforce.limits``)
- Every answer carries ``Sforce-Limit-Info``. Before each call a run checks it would neither take
  the org past 80 % of its daily allocation nor make this run spend more than 25 % of it. Past
  80 %: the row is paused with a reason and ``next_run_at`` 30 minutes on; when due, ``/limits`` is
  asked again (one call) and the sync resumes once usage is back under. The 25 % cap only ends the
  run; the next cycle resumes from the committed position. An idle cycle is one call; the describe
  the handler needs is cached for an hour (and dropped when Salesforce or the handler refuses the
  query it gives).

Failures: 401 → the client refreshes once and retries; a refused refresh leaves the connection
"needs reconnect" (admins see a Reconnect button) and the run stops with ``auth``;
REQUEST_LIMIT_EXCEEDED (or a 429) pauses the row until ``retry_after``; 5xx/timeouts stop with
``unavailable`` and the engine backs off. Provider errors never escape a run: they come back in
the result and are recorded on the row. The client runs outside database transactions.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from integrations.models import SyncState
from integrations.salesforce import limits
from integrations.salesforce.client import SalesforceClient
from integrations.salesforce.fetch import deletes, queries
from integrations.salesforce.fetch.common import (
    BATCH_SIZE,
    CrmSyncHandler,
    RunStopped,
    SyncRunResult,
    crm_record,
    log_extra,
    lookback,
    provider_stop,
    query_parts,
    registered_handler,
)
from integrations.salesforce.fetch.queries import EPOCH, MIN_BATCH, iso, parse_datetime
from integrations.sync import policy
from integrations.sync.policy import Stop

logger = logging.getLogger(__name__)


@dataclass
class Step:
    """One commit of a run: ``apply`` writes through the handler (inside the engine's transaction),
    then ``fields`` and the row's stats are stored with the lease renewal. ``rows``: the query page
    it came from (counted as a page), if any."""

    fields: dict[str, Any] = field(default_factory=dict)
    apply: Callable[[], None] | None = None
    rows: int | None = None


class CrmRows:
    """``engine.RowSource`` for Salesforce's object rows."""

    policy = policy.CRM

    def new_result(self, sync_state_id: int, state: SyncState | None) -> SyncRunResult:
        return SyncRunResult(sync_state_id=sync_state_id, object_name=state.object_name if state else "")

    def why_not(self, state: SyncState) -> str:
        return _why_not_running(state, registered_handler())

    def log_extra(self, state: SyncState, **more: Any) -> dict[str, Any]:
        return log_extra(state, **more)

    def pages(self, state: SyncState, result: SyncRunResult, *, was: str) -> Iterator[Step]:
        handler = registered_handler()
        assert handler is not None  # checked by why_not
        with SalesforceClient(state.connection) as client:
            try:
                yield from _IncrementalRun(state, client, handler, result).steps(
                    probe_budget=was == SyncState.Status.PAUSED
                )
            finally:
                result.api_calls = client.api_calls

    def deliver(self, state: SyncState, item: Step, result: SyncRunResult) -> dict[str, Any]:
        if item.apply is not None:
            item.apply()
        return {**item.fields, "stats": state.stats}

    def committed(self, state: SyncState, item: Step, result: SyncRunResult) -> None:
        if item.rows is not None:
            result.pages += 1
            result.received += item.rows

    def classify(
        self, exc: Exception, state: SyncState, result: SyncRunResult
    ) -> tuple[Stop, str, float | None] | None:
        if isinstance(exc, limits.BudgetExceeded):
            if exc.pause:
                result.pause_until = timezone.now() + dt.timedelta(seconds=limits.PAUSE_SECONDS)
            return Stop.BUDGET, exc.reason, None
        if isinstance(exc, RunStopped):
            return exc.stopped, exc.reason, None
        if not provider_stop(result, exc, state.connection):
            return None
        return Stop(result.stopped), result.reason, result.retry_after

    def last_run(self, result: SyncRunResult, *, now: dt.datetime, duration: float) -> dict[str, Any]:
        data = result.as_dict()
        last_run = {k: v for k, v in data.items() if k not in ("errors", "sync_state_id")}
        last_run.update(
            finished_at=iso(now),
            duration_seconds=round(duration, 3),
            errors=len(result.errors),
            error_samples=data["errors"][:20],
        )
        return last_run


CRM_ROWS = CrmRows()


class _IncrementalRun:
    """The steps of one incremental pass (fetched here, outside transactions; committed by the
    engine one at a time)."""

    def __init__(
        self, state: SyncState, client: SalesforceClient, handler: CrmSyncHandler, result: SyncRunResult
    ) -> None:
        self.state, self.client, self.handler, self.result = state, client, handler, result
        self.connection = state.connection
        self.organization = self.connection.organization
        self.object_name = state.object_name

    def steps(self, *, probe_budget: bool) -> Iterator[Step]:
        limits.check_first(self.client, self.connection, probe=probe_budget)
        watermark = parse_datetime(self.state.cursor)
        if watermark is None:  # first run: start at the newest change
            newest = iso(queries.newest_modstamp(self.client, self.object_name))
            self.state.stats["deleted_checked_at"] = iso(timezone.now())
            yield Step(fields={"cursor": newest, "deleted_cursor": newest})
            return
        describe = queries.describe(self.client, self.connection, self.object_name)
        select, rule = query_parts(self.handler, self.connection, self.object_name, describe)
        yield from self._pass(select, rule, watermark)
        yield from self._check_delete_log()
        if self.state.stats.get("reconcile_due"):
            yield from self._reconcile()

    def _pass(self, select: str, rule: str, watermark: dt.datetime) -> Iterator[Step]:
        resume = self.state.stats.get("resume")
        if resume:  # a pass cut short: carry on exactly after its last committed record
            after = (parse_datetime(resume["after"]) or EPOCH, str(resume["id"]))
            soql = queries.changes_soql(self.object_name, select, rule, after=after)
        else:
            since = watermark - dt.timedelta(seconds=lookback(self.handler, self.organization))
            soql = queries.changes_soql(self.object_name, select, rule, since=since)
        limits.spend(self.client)
        for page in self.client.query_pages(soql, include_deleted=True, batch_size=BATCH_SIZE):
            yield self._page(page)
            if len(page) >= MIN_BATCH:  # another page may follow: one more call
                limits.spend(self.client)
        self.state.stats.pop("resume", None)
        yield Step()

    def _page(self, page: list[dict[str, Any]]) -> Step:
        """Hand one page to the handler; its position is committed with it."""
        live = [crm_record(self.object_name, row) for row in page if not row.get("IsDeleted")]
        gone = [str(row["Id"]) for row in page if row.get("IsDeleted")]

        def apply() -> None:
            if live:
                self.result.add(self.handler.apply(self.organization, self.object_name, live))
            if gone:
                self._unlink(gone)

        if not page:
            return Step(apply=apply, rows=0)
        last = page[-1]  # ORDER BY SystemModstamp, Id: the page's newest
        newest = parse_datetime(last["SystemModstamp"]) or EPOCH
        watermark = max(parse_datetime(self.state.cursor) or EPOCH, newest)
        self.state.stats["resume"] = {"after": iso(newest), "id": str(last["Id"])}
        return Step(fields={"cursor": iso(watermark)}, apply=apply, rows=len(page))

    def _check_delete_log(self) -> Iterator[Step]:
        stats, now = self.state.stats, timezone.now()
        due = deletes.log_check_due(
            checked_at=parse_datetime(stats.get("deleted_checked_at")),
            last_success_at=self.state.last_success_at,
            now=now,
        )
        if not due:
            return
        start = parse_datetime(self.state.deleted_cursor) or parse_datetime(self.state.cursor) or now
        log = deletes.read_delete_log(self.client, self.object_name, start, now)
        fields: dict[str, Any] = {}
        if log.gap:
            logger.warning("salesforce.sync.delete_log_gap", extra=log_extra(self.state))
            stats["reconcile_due"] = iso(log.covered) if log.covered else self.state.cursor
        elif log.covered:
            fields["deleted_cursor"] = iso(log.covered)
        stats["deleted_checked_at"] = iso(now)
        ids = log.deleted_ids
        yield Step(fields=fields, apply=(lambda: self._unlink(ids)) if ids else None)

    def _reconcile(self) -> Iterator[Step]:
        """Unlink every local link whose record Salesforce no longer has."""
        as_of = self.state.stats["reconcile_due"]
        linked_ids = getattr(self.handler, "linked_ids", None)
        if linked_ids is None:
            logger.warning("salesforce.sync.reconcile_unsupported", extra=log_extra(self.state))
        else:
            linked = list(linked_ids(self.organization, self.object_name))  # before the live ids
            alive = deletes.live_ids(self.client, self.object_name)
            missing = deletes.missing_links(linked, alive)
            for start in range(0, len(missing), BATCH_SIZE):
                batch = missing[start : start + BATCH_SIZE]
                yield Step(apply=lambda batch=batch: self._unlink(batch))
            self.result.full_reconcile = True
            logger.info(
                "salesforce.sync.reconciled",
                extra=log_extra(self.state, alive=len(alive), missing=len(missing)),
            )
        self.state.stats.pop("reconcile_due", None)
        yield Step(fields={"deleted_cursor": as_of})

    def _unlink(self, ids: list[str]) -> None:
        self.result.unlinked += int(self.handler.unlink(self.organization, self.object_name, ids) or 0)


def _why_not_running(state: SyncState, handler: CrmSyncHandler | None) -> str:
    connection = state.connection
    if handler is None:
        return "No feature app handles Salesforce records."
    if connection.provider != "salesforce":
        return "This is not a Salesforce connection."
    if not connection.is_active:
        return connection.inactive_reason
    organization = connection.organization
    if not handler.enabled(organization):
        return "Sync is off."
    if state.object_name not in handler.objects(organization):
        return f"{state.object_name} records are not synced."
    return ""


def backoff_seconds(attempt: int) -> float:
    """Exponential backoff for outages: 60 s, 120 s, 240 s, … capped at 30 minutes."""
    return policy.backoff(policy.CRM, attempt)
