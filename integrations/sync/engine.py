"""The one sync engine: run one sync-state row of any source under its lease, one transaction per
page (B13 mail/calendar/address books, G5 Salesforce).

A *row source* (``RowSource``) says what is particular to its rows: who may sync, the pages, how
a page is delivered, how its provider's failures stop a run. Two exist: the mailbox rows of every
mail provider (``integrations.sync.mailbox.MAILBOX_ROWS``, over Google's and Microsoft's
fetchers) and Salesforce's object rows (``integrations.salesforce.fetch.source.CRM_ROWS``,
registered as the provider's ``rows``). This module owns what is the same for all of them:

- **Lease.** A run holds the row's lease (``policy.<source>.lease_seconds``, two minutes), renewed
  in the transaction of every page, so two workers never sync the same row at once. The owner
  names its host and process (``integrations.workers``): a run that finds the lease held by a
  process of this host that has died (kill -9, out of memory — Celery redelivers its task at once)
  takes the row over straight away; otherwise a dead run's lease lapses within two minutes and the
  next dispatch (every 5 minutes) picks the row up.
- **Pages.** Each page is delivered and the row's fields (cursor, position) stored in one
  transaction with the lease renewal: a run killed between pages resumes after the last committed
  page, and a run whose lease was taken over commits nothing more (``_LeaseLost`` rolls its page
  back). Deliveries are idempotent upserts, so a page delivered twice duplicates nothing.
- **Failures** (``finish``). Done → attempts reset. Throttled, unavailable (provider 5xx,
  timeouts, and a lost database connection alike) → back off: ``next_run_at`` = now +
  max(Retry-After, base · 2^(failures in a row − 1)); a run that committed pages made progress and
  never counts as a failure. More than ``max_retries`` failures in a row → FAILED with its reason,
  retried automatically in an hour (or at once by an admin's "Retry now"). Auth refused → the
  source's ``auth_failure_status``. A crash (a bug) is recorded and raised.
- **Stats** of the last run on ``SyncState.stats["last_run"]`` (the source's ``last_run``).

The one Celery task (``integrations.sync.tasks.sync_row``) runs ``run`` and enqueues the
follow-up for ``next_run_at``. Provider calls run outside database transactions.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
from collections.abc import Iterator
from typing import Any, Protocol

from django.db import DatabaseError, InterfaceError, OperationalError, connections, transaction
from django.utils import timezone

from integrations.base import get_source
from integrations.models import SyncState
from integrations.records import KINDS
from integrations.sync import policy
from integrations.sync import states as sync_states
from integrations.sync.mailbox import MAILBOX_ROWS
from integrations.sync.policy import FAILED_RETRY_SECONDS, SourcePolicy, Stop
from integrations.workers import owner_is_dead, worker_owner

logger = logging.getLogger(__name__)

TRANSIENT_DB_ERRORS = (OperationalError, InterfaceError)  # connection lost, server restarting


class RunResult(Protocol):
    sync_state_id: int | None
    stopped: str
    reason: str
    pages: int
    retry_at: dt.datetime | None

    def as_dict(self) -> dict[str, Any]: ...


class RowSource(Protocol):
    """What a source brings the engine for its rows (see the module docstring)."""

    policy: SourcePolicy

    def new_result(self, sync_state_id: int, state: SyncState | None) -> Any: ...

    def why_not(self, state: SyncState) -> str: ...

    def log_extra(self, state: SyncState, **more: Any) -> dict[str, Any]: ...

    def pages(self, state: SyncState, result: Any, *, was: str) -> Iterator[Any]:
        """The run's pages, fetched outside transactions; a provider failure is raised. ``was``:
        the row's status before this run took the lease."""

    def deliver(self, state: SyncState, item: Any, result: Any) -> dict[str, Any]:
        """Store one page (inside the engine's transaction); the row fields to store with it."""

    def committed(self, state: SyncState, item: Any, result: Any) -> None: ...

    def classify(
        self, exc: Exception, state: SyncState, result: Any
    ) -> tuple[Stop, str, float | None] | None:
        """(stop, reason, Retry-After) for a provider failure; None when ``exc`` is not one."""

    def last_run(self, result: Any, *, now: dt.datetime, duration: float) -> dict[str, Any]: ...


class _LeaseLost(Exception):
    """Another run took the row over (our lease lapsed): stop without touching the row."""


def row_source(state: SyncState) -> RowSource | None:
    """Mailbox rows (a user and a kind) run as ``MAILBOX_ROWS``; any other row as its provider's
    registered ``rows`` (Salesforce: one row per synced object)."""
    if state.kind in KINDS:
        return MAILBOX_ROWS
    return getattr(get_source(state.connection.provider), "rows", None)


def run(*, sync_state_id: int, force: bool = False) -> Any:
    """One run of one row under its lease. Provider failures (and a lost database connection)
    are recorded on the row and come back in the result; a bug is recorded and raised.
    ``force`` ignores ``next_run_at``."""
    state = (
        SyncState.objects.select_related("connection__organization", "user").filter(pk=sync_state_id).first()
    )
    source = row_source(state) if state is not None else None
    if state is None or source is None:
        result = (source or MAILBOX_ROWS).new_result(sync_state_id, state)
        result.stopped = Stop.DISABLED
        result.reason = (
            "This sync no longer exists." if state is None else "Nothing syncs rows like this one."
        )
        return result
    result = source.new_result(sync_state_id, state)
    why_not = source.why_not(state)
    if why_not:
        result.stopped, result.reason = Stop.DISABLED, why_not
        return result
    rules = source.policy
    if not force and _waiting(state, rules):
        result.stopped, result.reason = Stop.NOT_DUE, state.last_error
        return result
    owner, was = worker_owner(rules.name), state.status
    if not _acquire(state, owner, rules):
        result.stopped, result.reason = Stop.BUSY, f"Another run is syncing this {rules.noun}."
        return result
    started = time.monotonic()
    logger.info(f"{rules.log_prefix}.started", extra=source.log_extra(state))
    try:
        _run_pages(source, state, owner, result, was=was)
    except _LeaseLost:
        result.stopped, result.reason = Stop.BUSY, "The lease expired and another run took over."
        logger.warning(f"{rules.log_prefix}.lease_lost", extra=source.log_extra(state))
        return result
    except TRANSIENT_DB_ERRORS as exc:
        # A terminated backend or a database restart: back off like a provider outage. Django
        # drops a broken connection only at the end of a request, so drop it now to record this.
        _drop_broken_connections()
        result.stopped = Stop.UNAVAILABLE
        result.reason = f"The database connection was lost: {type(exc).__name__}: {exc}"
        logger.warning(f"{rules.log_prefix}.database_unavailable", extra=source.log_extra(state))
        result.retry_at = None
    except Exception as exc:
        classified = source.classify(exc, state, result)
        if classified is None:
            logger.exception(f"{rules.log_prefix}.crashed", extra=source.log_extra(state))
            result.stopped, result.reason = Stop.ERROR, f"The sync crashed: {type(exc).__name__}: {exc}"
            finish(source, state, owner, result, duration=time.monotonic() - started)
            raise
        result.stopped, result.reason, retry_after = classified
        result.retry_after = retry_after
    finish(source, state, owner, result, duration=time.monotonic() - started)
    return result


def _drop_broken_connections() -> None:
    """Close the database connections that no longer answer (outside any transaction), so the
    next query opens a fresh one."""
    for conn in connections.all(initialized_only=True):
        if conn.connection is not None and not conn.in_atomic_block and not conn.is_usable():
            conn.close()


def _waiting(state: SyncState, rules: SourcePolicy) -> bool:
    if rules.waits_only_when_paused and state.status != SyncState.Status.PAUSED:
        return False
    return policy.waiting(state)


def _acquire(state: SyncState, owner: str, rules: SourcePolicy) -> bool:
    """Take the lease; or take it over from a run of this host whose process has died."""
    if sync_states.sync_state_lease_acquire(sync_state=state, owner=owner, ttl_seconds=rules.lease_seconds):
        return True
    holder = SyncState.objects.filter(pk=state.pk).values_list("lease_owner", "lease_expires_at").first()
    if holder is None:
        return False
    state.lease_owner, state.lease_expires_at = holder
    if not (holder[0] and owner_is_dead(holder[0])):
        return False
    logger.warning(
        f"{rules.log_prefix}.dead_run_taken_over", extra={"sync_state_id": state.pk, "dead": holder[0]}
    )
    return sync_states.sync_state_lease_acquire(
        sync_state=state, owner=owner, ttl_seconds=rules.lease_seconds, steal_from=holder[0]
    )


def _run_pages(source: RowSource, state: SyncState, owner: str, result: Any, *, was: str) -> None:
    with contextlib.closing(source.pages(state, result, was=was)) as pages:
        for item in pages:
            _commit(source, state, owner, item, result)


def _commit(source: RowSource, state: SyncState, owner: str, item: Any, result: Any) -> None:
    """Deliver the page, store the row's fields and renew the lease, all or nothing."""
    now = timezone.now()
    expires = now + dt.timedelta(seconds=source.policy.lease_seconds)
    with transaction.atomic():
        fields = source.deliver(state, item, result)
        if not SyncState.objects.filter(pk=state.pk, lease_owner=owner).update(
            lease_expires_at=expires, updated_at=now, **fields
        ):
            raise _LeaseLost  # rolls the page back: the run holding the lease now redoes it
    for name, value in fields.items():
        setattr(state, name, value)
    state.lease_expires_at = expires
    source.committed(state, item, result)


def finish(source: RowSource, state: SyncState, owner: str, result: Any, *, duration: float) -> None:
    """Record the run on the row (admins see it) and give the lease back."""
    rules, now = source.policy, timezone.now()
    status, fields = _outcome(rules, state, result, now)
    fields["stats"] = {**(state.stats or {}), "last_run": source.last_run(result, now=now, duration=duration)}
    try:
        SyncState.objects.filter(pk=state.pk, lease_owner=owner).update(updated_at=now, **fields)
        sync_states.sync_state_lease_release(sync_state=state, owner=owner, status=status)
    except DatabaseError:
        # The database is still away: the lease lapses and the next dispatch retries the row.
        logger.warning(f"{rules.log_prefix}.finish_unrecorded", extra=source.log_extra(state), exc_info=True)
        _drop_broken_connections()
        return
    for name, value in fields.items():
        setattr(state, name, value)
    log = logger.info if result.stopped in (Stop.DONE, Stop.BUDGET) else logger.warning
    log(
        f"{rules.log_prefix}.finished",
        extra=source.log_extra(
            state, stopped=str(result.stopped), pages=result.pages, api_calls=result.api_calls
        ),
    )


def _outcome(
    rules: SourcePolicy, state: SyncState, result: Any, now: dt.datetime
) -> tuple[str, dict[str, Any]]:
    """The row's status and fields after a run that stopped as ``result.stopped``."""
    stopped = result.stopped
    fields: dict[str, Any] = {"last_error": result.reason[:2000], "next_run_at": None}
    pause_until = getattr(result, "pause_until", None)
    if stopped == Stop.DONE or (stopped == Stop.BUDGET and pause_until is None):
        fields.update(last_success_at=now, last_error="", attempts=0)
        return SyncState.Status.IDLE, fields
    if stopped == Stop.BUDGET:  # the provider's API budget is nearly spent: wait, not a failure
        fields["next_run_at"] = pause_until
        return SyncState.Status.PAUSED, fields
    if stopped == Stop.AUTH:  # the connection shows "needs reconnect" (or the row is FAILED)
        fields["attempts"] = state.attempts + 1
        return rules.auth_failure_status, fields
    if stopped == Stop.ERROR and rules.error_status is not None:
        fields["attempts"] = state.attempts + 1
        return rules.error_status, fields
    if stopped in (Stop.THROTTLED, Stop.UNAVAILABLE, Stop.ERROR):
        # A run that committed pages before it was stopped made progress: it counts as a first
        # failure, never one more (a big first sync may meet a quota or a database blip many times).
        attempts = 1 if (result.pages and stopped != Stop.ERROR) else state.attempts + 1
        fields["attempts"] = attempts
        if attempts > rules.max_retries:
            fields["last_error"] = (
                f"Failed {attempts} times in a row; retried automatically in an hour. Last error: {result.reason}"
            )[:2000]
            fields["next_run_at"] = now + dt.timedelta(seconds=FAILED_RETRY_SECONDS)
            result.stopped, result.retry_at, result.retry_in = Stop.FAILED, None, None
            return SyncState.Status.FAILED, fields
        wait = policy.retry_wait(
            rules, stopped=stopped, retry_after=getattr(result, "retry_after", None), failures=attempts
        )
        fields["next_run_at"] = result.retry_at = now + dt.timedelta(seconds=wait)
        result.retry_in = wait
        status = rules.throttled_status if stopped == Stop.THROTTLED else SyncState.Status.IDLE
        return status, fields
    if stopped == Stop.FAILED:  # access denied or a provider refusal: waiting an hour may help
        fields["attempts"] = state.attempts + 1
        fields["next_run_at"] = now + dt.timedelta(seconds=FAILED_RETRY_SECONDS)
        return SyncState.Status.FAILED, fields
    return SyncState.Status.IDLE, fields
