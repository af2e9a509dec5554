"""Salesforce → feature app: the 5-minute incremental sync (G5), the historical poll (G6), deletions,
and the org's API budget (G14).

This module only *fetches*: it turns changed Leads/Contacts/Accounts into provider-neutral
``CrmRecord`` batches and hands them to the one registered ``CrmSyncHandler`` (engage's, from
``EngageConfig.ready``), which decides what to store. One ``SyncState`` row per (connection,
object) holds the cursor, health and lease; ``integrations.salesforce.tasks`` fans out one task per
row every 5 minutes.

Incremental pass (``run_incremental``)
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
``unavailable`` and the task retries with backoff. Provider errors never escape a run: they come
back in the result and are recorded on the row. The client runs outside database transactions.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.utils import timezone

from integrations import services
from integrations.models import SyncState
from integrations.salesforce import limits
from integrations.salesforce.client import SalesforceClient
from integrations.salesforce.fetch import deletes, queries
from integrations.salesforce.fetch.common import (
    BATCH_SIZE,
    THROTTLE_SECONDS,
    CrmSyncHandler,
    RunStopped,
    SyncRunResult,
    crm_record,
    log_extra,
    lookback,
    provider_stop,
    query_parts,
    registered_handler,
    stopped_with,
)
from integrations.salesforce.fetch.queries import EPOCH, MIN_BATCH, iso, parse_datetime
from integrations.sync import policy
from integrations.sync.policy import Stop

logger = logging.getLogger(__name__)


class _LeaseLost(Exception):
    pass


LEASE_SECONDS = policy.CRM.lease_seconds  # renewed every page; a killed worker's lease lapses after this


# --- Incremental ---------------------------------------------------------------------------------
def run_incremental(*, sync_state_id: int) -> SyncRunResult:
    """One incremental pass over one object of one connection, under the row's lease."""
    state = SyncState.objects.select_related("connection__organization").filter(pk=sync_state_id).first()
    result = SyncRunResult(sync_state_id=sync_state_id, object_name=state.object_name if state else "")
    if state is None:
        return stopped_with(result, Stop.DISABLED, "This sync no longer exists.")
    handler = registered_handler()
    why_not = _why_not_running(state, handler)
    if why_not or handler is None:
        return stopped_with(result, Stop.DISABLED, why_not)
    was_paused = state.status == SyncState.Status.PAUSED
    if was_paused and policy.waiting(state):
        return stopped_with(result, Stop.NOT_DUE, state.last_error)
    owner = policy.CRM.owner()
    if not services.sync_state_lease_acquire(sync_state=state, owner=owner, ttl_seconds=LEASE_SECONDS):
        return stopped_with(result, Stop.BUSY, "Another run is syncing this object.")
    pause = False
    try:
        with SalesforceClient(state.connection) as client:
            try:
                _IncrementalRun(state, owner, client, handler, result).run(probe_budget=was_paused)
            finally:
                result.api_calls = client.api_calls
    except limits.BudgetExceeded as stop:
        stopped_with(result, Stop.BUDGET, stop.reason)
        pause = stop.pause
    except RunStopped as stop:
        stopped_with(result, stop.stopped, stop.reason)
    except _LeaseLost:
        # Our lease lapsed and another run took the row over: the row's bookkeeping is its now.
        return stopped_with(result, Stop.BUSY, "The lease expired and another run took over.")
    except Exception as exc:
        if not provider_stop(result, exc, state.connection):
            # A bug (ours or the handler's): recorded and the lease given back, then raised so
            # the task fails loudly. Only a dead process (kill -9) leaves the lease to expire.
            logger.exception("salesforce.sync.crashed", extra=log_extra(state))
            stopped_with(result, Stop.ERROR, f"The sync crashed: {type(exc).__name__}: {exc}")
            _finish(state, owner, result, pause=False)
            raise
    _finish(state, owner, result, pause=pause)
    return result


class _IncrementalRun:
    def __init__(
        self,
        state: SyncState,
        owner: str,
        client: SalesforceClient,
        handler: CrmSyncHandler,
        result: SyncRunResult,
    ) -> None:
        self.state, self.owner, self.client, self.handler, self.result = state, owner, client, handler, result
        self.connection = state.connection
        self.organization = self.connection.organization
        self.object_name = state.object_name

    def run(self, *, probe_budget: bool) -> None:
        limits.check_first(self.client, self.connection, probe=probe_budget)
        watermark = parse_datetime(self.state.cursor)
        if watermark is None:  # first run: start at the newest change
            newest = iso(queries.newest_modstamp(self.client, self.object_name))
            self.state.stats["deleted_checked_at"] = iso(timezone.now())
            self._save(cursor=newest, deleted_cursor=newest)
            return
        describe = queries.describe(self.client, self.connection, self.object_name)
        select, rule = query_parts(self.handler, self.connection, self.object_name, describe)
        self._pass(select, rule, watermark)
        self._check_delete_log()
        if self.state.stats.get("reconcile_due"):
            self._reconcile()

    def _pass(self, select: str, rule: str, watermark: dt.datetime) -> None:
        resume = self.state.stats.get("resume")
        if resume:  # a pass cut short: carry on exactly after its last committed record
            after = (parse_datetime(resume["after"]) or EPOCH, str(resume["id"]))
            soql = queries.changes_soql(self.object_name, select, rule, after=after)
        else:
            since = watermark - dt.timedelta(seconds=lookback(self.handler, self.organization))
            soql = queries.changes_soql(self.object_name, select, rule, since=since)
        limits.spend(self.client)
        for page in self.client.query_pages(soql, include_deleted=True, batch_size=BATCH_SIZE):
            self._apply(page)
            if len(page) >= MIN_BATCH:  # another page may follow: one more call
                limits.spend(self.client)
        self.state.stats.pop("resume", None)
        self._save()

    def _apply(self, page: list[dict[str, Any]]) -> None:
        """Hand one page to the handler, then commit its position and renew the lease."""
        live = [crm_record(self.object_name, row) for row in page if not row.get("IsDeleted")]
        gone = [str(row["Id"]) for row in page if row.get("IsDeleted")]
        if live:
            self.result.add(self.handler.apply(self.organization, self.object_name, live))
        if gone:
            self._unlink(gone)
        self.result.pages += 1
        self.result.received += len(page)
        if not page:
            return
        last = page[-1]  # ORDER BY SystemModstamp, Id: the page's newest
        newest = parse_datetime(last["SystemModstamp"]) or EPOCH
        watermark = max(parse_datetime(self.state.cursor) or EPOCH, newest)
        self.state.stats["resume"] = {"after": iso(newest), "id": str(last["Id"])}
        if not services.sync_state_lease_acquire(
            sync_state=self.state, owner=self.owner, ttl_seconds=LEASE_SECONDS
        ):
            raise _LeaseLost
        self._save(cursor=iso(watermark))

    def _check_delete_log(self) -> None:
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
        if log.deleted_ids:
            self._unlink(log.deleted_ids)
        fields: dict[str, Any] = {}
        if log.gap:
            logger.warning("salesforce.sync.delete_log_gap", extra=log_extra(self.state))
            stats["reconcile_due"] = iso(log.covered) if log.covered else self.state.cursor
        elif log.covered:
            fields["deleted_cursor"] = iso(log.covered)
        stats["deleted_checked_at"] = iso(now)
        self._save(**fields)

    def _reconcile(self) -> None:
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
                self._unlink(missing[start : start + BATCH_SIZE])
            self.result.full_reconcile = True
            logger.info(
                "salesforce.sync.reconciled",
                extra=log_extra(self.state, alive=len(alive), missing=len(missing)),
            )
        self.state.stats.pop("reconcile_due", None)
        self._save(deleted_cursor=as_of)

    def _unlink(self, ids: list[str]) -> None:
        self.result.unlinked += int(self.handler.unlink(self.organization, self.object_name, ids) or 0)

    def _save(self, **fields: Any) -> None:
        """Write ``fields`` and the stats, only while this run still holds the lease."""
        fields["stats"] = self.state.stats
        updated = SyncState.objects.filter(pk=self.state.pk, lease_owner=self.owner).update(
            updated_at=timezone.now(), **fields
        )
        if not updated:
            raise _LeaseLost
        for name, value in fields.items():
            setattr(self.state, name, value)


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


def _finish(state: SyncState, owner: str, result: SyncRunResult, *, pause: bool) -> None:
    """Record the run on the row (for admins and support) and give the lease back."""
    now = timezone.now()
    stopped = result.stopped
    status = SyncState.Status.IDLE
    fields: dict[str, Any] = {"next_run_at": None, "last_error": result.reason[:2000]}
    if stopped == Stop.DONE or (stopped == Stop.BUDGET and not pause):
        fields.update(last_success_at=now, last_error="", attempts=0)
    elif stopped == Stop.BUDGET:
        status = SyncState.Status.PAUSED
        fields["next_run_at"] = now + dt.timedelta(seconds=limits.PAUSE_SECONDS)
    else:
        fields["attempts"] = state.attempts + 1
        if stopped == Stop.THROTTLED:
            status = SyncState.Status.PAUSED
            fields["next_run_at"] = now + dt.timedelta(seconds=result.retry_after or THROTTLE_SECONDS)
        elif stopped == Stop.UNAVAILABLE:
            wait = result.retry_after or backoff_seconds(state.attempts)
            fields["next_run_at"] = now + dt.timedelta(seconds=wait)
        else:  # auth, error
            status = SyncState.Status.FAILED
    last_run = {k: v for k, v in result.as_dict().items() if k not in ("errors", "sync_state_id")}
    last_run.update(
        finished_at=iso(now), errors=len(result.errors), error_samples=result.as_dict()["errors"][:20]
    )
    fields["stats"] = {**state.stats, "last_run": last_run}
    SyncState.objects.filter(pk=state.pk, lease_owner=owner).update(updated_at=now, **fields)
    services.sync_state_lease_release(sync_state=state, owner=owner, status=status)
    for name, value in fields.items():
        setattr(state, name, value)
    log = logger.info if stopped in (Stop.DONE, Stop.BUDGET) else logger.warning
    log(
        "salesforce.sync.finished",
        extra=log_extra(state, stopped=str(stopped), received=result.received, api_calls=result.api_calls),
    )


def backoff_seconds(attempt: int) -> float:
    """Exponential backoff for outages: 60 s, 120 s, 240 s, … capped at 30 minutes."""
    return policy.backoff(policy.CRM, attempt)
