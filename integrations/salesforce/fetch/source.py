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

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.utils import timezone

from copilot.models import Organization
from integrations import services
from integrations.exceptions import ProviderAuthError, ProviderThrottled, ProviderUnavailable
from integrations.models import Connection, SyncState
from integrations.records import BatchResult, CrmRecord
from integrations.salesforce import limits
from integrations.salesforce.client import SalesforceClient
from integrations.salesforce.errors import SalesforceError
from integrations.salesforce.fetch import deletes, queries
from integrations.salesforce.fetch.queries import EPOCH, MIN_BATCH, iso, parse_datetime
from integrations.sync import policy, registry
from integrations.sync.policy import Stop

logger = logging.getLogger(__name__)

LOOKBACK_SECONDS = 600
BATCH_SIZE = 2000  # records per query page (Sforce-Query-Options batchSize, 200-2,000)
LEASE_SECONDS = policy.CRM.lease_seconds  # renewed every page; a killed worker's lease lapses after this
THROTTLE_SECONDS = 15 * 60  # when Salesforce says "slow down" without saying for how long


# --- The interface agreed with the feature app ---------------------------------------------------
class CrmSyncHandler(Protocol):
    """What the feature app (engage) implements and registers with ``register_handler``.

    Optional extras the sync uses when present: ``lookback_seconds(organization) -> int`` and
    ``linked_ids(organization, object_name) -> Iterable[str]`` (for the full reconcile)."""

    def enabled(self, organization: Organization) -> bool: ...

    def objects(self, organization: Organization) -> list[str]: ...

    def fields_for(self, organization: Organization, object_name: str, describe: dict) -> list[str]: ...

    def where_for(self, organization: Organization, object_name: str, describe: dict) -> str: ...

    def apply(
        self, organization: Organization, object_name: str, records: list[CrmRecord]
    ) -> BatchResult: ...

    def unlink(self, organization: Organization, object_name: str, ids: list[str]) -> int: ...


@dataclass
class _Counts:
    stopped: str = Stop.DONE
    reason: str = ""
    received: int = 0  # records Salesforce returned (deleted ones included)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    unlinked: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)
    api_calls: int = 0
    pages: int = 0
    retry_after: float | None = None  # seconds, for throttled/unavailable when Salesforce said

    def add(self, batch: BatchResult) -> None:
        self.created += batch.created
        self.updated += batch.updated
        self.unchanged += batch.unchanged
        self.errors.extend(batch.errors)

    def as_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["errors"] = [list(e) for e in self.errors]
        return data


@dataclass
class SyncRunResult(_Counts):
    sync_state_id: int | None = None
    object_name: str = ""
    full_reconcile: bool = False


@dataclass
class PollResult(_Counts):
    object_name: str = ""
    total: int = 0  # records matching the rule when the poll started


# The CRM kind's entry in the one handler registry (``integrations.sync.registry``, kind "crm",
# one handler): shorthands the tests use to install their own handler; feature apps call
# ``registry.register_handler(registry.CRM, handler, only=True)`` themselves.
def register_handler(handler: CrmSyncHandler) -> None:
    registry.register_handler(registry.CRM, handler, only=True)


def unregister_handler() -> None:
    registry.unregister_handler(registry.CRM)


def registered_handler() -> CrmSyncHandler | None:
    handlers = registry.handlers_of(registry.CRM)
    return handlers[-1] if handlers else None


# --- Incremental ---------------------------------------------------------------------------------
def run_incremental(*, sync_state_id: int) -> SyncRunResult:
    """One incremental pass over one object of one connection, under the row's lease."""
    state = SyncState.objects.select_related("connection__organization").filter(pk=sync_state_id).first()
    result = SyncRunResult(sync_state_id=sync_state_id, object_name=state.object_name if state else "")
    if state is None:
        return _stopped(result, Stop.DISABLED, "This sync no longer exists.")
    handler = registered_handler()
    why_not = _why_not_running(state, handler)
    if why_not or handler is None:
        return _stopped(result, Stop.DISABLED, why_not)
    was_paused = state.status == SyncState.Status.PAUSED
    if was_paused and policy.waiting(state):
        return _stopped(result, Stop.NOT_DUE, state.last_error)
    owner = policy.CRM.owner()
    if not services.sync_state_lease_acquire(sync_state=state, owner=owner, ttl_seconds=LEASE_SECONDS):
        return _stopped(result, Stop.BUSY, "Another run is syncing this object.")
    pause = False
    try:
        with SalesforceClient(state.connection) as client:
            try:
                _IncrementalRun(state, owner, client, handler, result).run(probe_budget=was_paused)
            finally:
                result.api_calls = client.api_calls
    except limits.BudgetExceeded as stop:
        _stopped(result, Stop.BUDGET, stop.reason)
        pause = stop.pause
    except _Stopped as stop:
        _stopped(result, stop.stopped, stop.reason)
    except _LeaseLost:
        # Our lease lapsed and another run took the row over: the row's bookkeeping is its now.
        return _stopped(result, Stop.BUSY, "The lease expired and another run took over.")
    except Exception as exc:
        if not _provider_stop(result, exc, state.connection):
            # A bug (ours or the handler's): recorded and the lease given back, then raised so
            # the task fails loudly. Only a dead process (kill -9) leaves the lease to expire.
            logger.exception("salesforce.sync.crashed", extra=_log_extra(state))
            _stopped(result, Stop.ERROR, f"The sync crashed: {type(exc).__name__}: {exc}")
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
        select, rule = _query_parts(self.handler, self.connection, self.object_name, describe)
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
            since = watermark - dt.timedelta(seconds=_lookback(self.handler, self.organization))
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
        live = [_record(self.object_name, row) for row in page if not row.get("IsDeleted")]
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
            logger.warning("salesforce.sync.delete_log_gap", extra=_log_extra(self.state))
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
            logger.warning("salesforce.sync.reconcile_unsupported", extra=_log_extra(self.state))
        else:
            linked = list(linked_ids(self.organization, self.object_name))  # before the live ids
            alive = deletes.live_ids(self.client, self.object_name)
            missing = deletes.missing_links(linked, alive)
            for start in range(0, len(missing), BATCH_SIZE):
                self._unlink(missing[start : start + BATCH_SIZE])
            self.result.full_reconcile = True
            logger.info(
                "salesforce.sync.reconciled",
                extra=_log_extra(self.state, alive=len(alive), missing=len(missing)),
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
        extra=_log_extra(state, stopped=str(stopped), received=result.received, api_calls=result.api_calls),
    )


def backoff_seconds(attempt: int) -> float:
    """Exponential backoff for outages: 60 s, 120 s, 240 s, … capped at 30 minutes."""
    return policy.backoff(policy.CRM, attempt)


# --- Historical poll -----------------------------------------------------------------------------
def run_poll(
    *,
    connection: Connection,
    object_name: str,
    on_progress: Callable[[int, int, BatchResult], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> PollResult:
    """Every record of ``object_name`` matching the handler's rule, page by page (G6).

    ``on_progress(records_so_far, total, batch)`` runs after each page; ``should_cancel()`` is
    asked before each further page. When the poll completes, the incremental sync's watermark is
    moved up to the poll's start (the object's newest SystemModstamp then), so the 5-minute sync
    carries on from there. The budget rules of incremental runs apply. Provider failures come
    back in the result (``stopped``, ``reason``); a handler's own exception propagates.
    """
    result = PollResult(object_name=object_name)
    handler = registered_handler()
    if handler is None:
        return _stopped(result, Stop.DISABLED, "No feature app handles Salesforce records.")
    if not connection.is_active:
        return _stopped(result, Stop.DISABLED, connection.inactive_reason)
    organization = connection.organization
    try:
        with SalesforceClient(connection) as client:
            try:
                limits.check_first(client, connection, probe=False)
                describe = queries.describe(client, connection, object_name)
                select, rule = _query_parts(handler, connection, object_name, describe)
                started = queries.newest_modstamp(client, object_name)
                limits.spend(client)
                result.total = client.count(object_name, f"({rule})" if rule else "")
                limits.spend(client)
                soql = queries.matching_soql(object_name, select, rule)
                for page in client.query_pages(soql, batch_size=BATCH_SIZE):
                    records = [_record(object_name, row) for row in page]
                    batch = handler.apply(organization, object_name, records) if records else BatchResult()
                    result.add(batch)
                    result.pages += 1
                    result.received += len(page)
                    if on_progress is not None:
                        on_progress(result.received, result.total, batch)
                    if len(page) >= MIN_BATCH:  # another page may follow
                        if should_cancel is not None and should_cancel():
                            raise _Stopped(Stop.CANCELLED, "The poll was cancelled.")
                        limits.spend(client)
            finally:
                result.api_calls = client.api_calls
        _advance_watermark(connection, object_name, started)
    except limits.BudgetExceeded as stop:
        _stopped(result, Stop.BUDGET, stop.reason)
    except _Stopped as stop:
        _stopped(result, stop.stopped, stop.reason)
    except Exception as exc:
        if not _provider_stop(result, exc, connection):
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


def _advance_watermark(connection: Connection, object_name: str, started: dt.datetime) -> None:
    state = services.sync_state_get_or_create(connection=connection, object_name=object_name)
    current = parse_datetime(state.cursor)
    if current is not None and current >= started:
        return
    fields: dict[str, Any] = {"cursor": iso(started)}
    if not state.deleted_cursor:
        fields["deleted_cursor"] = iso(started)
        fields["stats"] = {**state.stats, "deleted_checked_at": iso(timezone.now())}
    # Only if no incremental run moved the cursor meanwhile (it would be newer than ours).
    SyncState.objects.filter(pk=state.pk, cursor=state.cursor).update(updated_at=timezone.now(), **fields)


# --- Shared pieces -------------------------------------------------------------------------------
class _Stopped(Exception):
    """Ends a run early: cancelled, or the handler refused to say what to fetch."""

    def __init__(self, stopped: Stop, reason: str) -> None:
        super().__init__(reason)
        self.stopped, self.reason = stopped, reason


class _LeaseLost(Exception):
    pass


def _stopped(result: Any, stopped: Stop, reason: str) -> Any:
    result.stopped, result.reason = stopped, reason
    return result


def _provider_stop(result: SyncRunResult | PollResult, exc: Exception, connection: Connection) -> bool:
    """Fill ``result`` from a provider failure; False when ``exc`` is not one."""
    if isinstance(exc, ProviderAuthError):
        _stopped(result, Stop.AUTH, str(exc))
    elif isinstance(exc, ProviderThrottled):
        _stopped(result, Stop.THROTTLED, str(exc))
        result.retry_after = exc.retry_after or THROTTLE_SECONDS
    elif isinstance(exc, ProviderUnavailable):
        _stopped(result, Stop.UNAVAILABLE, str(exc))
        result.retry_after = exc.retry_after
    elif isinstance(exc, SalesforceError) and exc.status == 429:
        _stopped(result, Stop.THROTTLED, f"Salesforce asked Cadence to slow down: {exc}")
        result.retry_after = THROTTLE_SECONDS
    elif isinstance(exc, SalesforceError):
        # Most likely the mapping or rule names a field Salesforce no longer has: describe afresh.
        queries.forget_describe(connection, result.object_name)
        _stopped(result, Stop.ERROR, f"Salesforce refused the sync query: {exc}")
    else:
        return False
    return True


def _query_parts(
    handler: CrmSyncHandler, connection: Connection, object_name: str, describe: dict[str, Any]
) -> tuple[str, str]:
    """(select list, rule) from the handler. A handler that refuses (its saved rule no longer fits
    the object, say) stops the run with its message, and the describe is fetched afresh next time
    in case ours was older than the handler's."""
    organization = connection.organization
    try:
        select = queries.select_list(handler.fields_for(organization, object_name, describe))
        rule = (handler.where_for(organization, object_name, describe) or "").strip()
    except Exception as exc:
        logger.warning(
            "salesforce.sync.handler_refused",
            exc_info=True,
            extra={"connection_id": connection.pk, "object_name": object_name},
        )
        queries.forget_describe(connection, object_name)
        messages = getattr(exc, "messages", None) or [str(exc) or type(exc).__name__]
        raise _Stopped(Stop.ERROR, " ".join(str(m) for m in messages)) from exc
    return select, rule


def _lookback(handler: CrmSyncHandler, organization: Organization) -> int:
    lookback = getattr(handler, "lookback_seconds", None)
    value = lookback(organization) if callable(lookback) else None
    return int(value) if value is not None and int(value) >= 0 else LOOKBACK_SECONDS


def _record(object_name: str, row: dict[str, Any]) -> CrmRecord:
    return CrmRecord(
        object_name=object_name,
        id=str(row["Id"]),
        modstamp=parse_datetime(row.get("SystemModstamp")) or EPOCH,
        fields={k: v for k, v in row.items() if k != "attributes"},
    )


def _log_extra(state: SyncState, **more: Any) -> dict[str, Any]:
    return {
        "sync_state_id": state.pk,
        "connection_id": state.connection_id,
        "organization_id": state.organization_id,
        "object_name": state.object_name,
        **more,
    }
