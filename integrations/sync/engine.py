"""Run one mailbox sync-state row: a user's mail, calendar or address book under a connection (B13).

The provider's source (``integrations.sync.source``) only fetches; this module owns what is the
same for Gmail, Graph, Google Calendar, Outlook calendars and both address books:

- **Lease.** A run holds the row's lease (``services.sync_state_lease_acquire``, 15 minutes:
  ``policy.MAILBOX``),
  renewed with every page, so two workers never sync the same mailbox at once. A worker that dies
  leaves the lease to lapse; the next fan-out picks the row up again.
- **Pages.** Each page's records are delivered to the ingestion handlers and its cursor stored in
  one transaction, together with the lease renewal: a run killed between pages resumes after the
  last committed page, and a run whose lease was taken over commits nothing more. Handlers are
  idempotent upserts, so a page delivered twice duplicates nothing.
- **First sync window.** An empty cursor is a full sync of everything since now − N days
  (``details["initial_sync_days"]`` or ``settings.MAIL_INITIAL_SYNC_DAYS``).
- **Failures.** ``CursorExpired`` → the cursor is cleared and a full resync runs in the same run;
  ``ProviderThrottled`` / ``ProviderUnavailable`` → ``attempts`` + 1 and ``next_run_at`` = now +
  max(Retry-After, 30 s · 2^(attempts − 1)); the fifth failure in a row (the fourth retry) leaves
  the row FAILED with its reason, retried after an hour (or at once by an admin's "Retry now");
  ``ProviderAuthError`` → the connection needs a reconnect; ``MailboxAccessDenied`` → this
  mailbox only is FAILED until the next hour.
- **Stats** of the last run on ``SyncState.stats["last_run"]``: API calls, records, pages,
  duration, whether it was a full sync.

Provider calls run outside database transactions.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from integrations import selectors, services
from integrations.base import get_source
from integrations.exceptions import (
    CursorExpired,
    MailboxAccessDenied,
    ProviderAuthError,
    ProviderError,
    ProviderThrottled,
    ProviderUnavailable,
)
from integrations.models import Connection, SyncState
from integrations.records import APP_OF_KIND, KINDS, MailboxContext, SyncPage
from integrations.sync import policy, registry
from integrations.sync.policy import FAILED_RETRY_SECONDS, Stop
from integrations.sync.source import MailboxRef, MailboxSource

logger = logging.getLogger(__name__)

LEASE_SECONDS = policy.MAILBOX.lease_seconds
MAX_RETRIES = policy.MAILBOX.max_retries  # the fifth failure in a row leaves the row FAILED


@dataclass
class MailboxRunResult:
    sync_state_id: int
    object_name: str = ""
    stopped: str = Stop.DONE
    reason: str = ""
    records: int = 0
    pages: int = 0
    api_calls: int = 0
    full_sync: bool = False
    duration_seconds: float = 0.0
    retry_at: dt.datetime | None = None  # when a retry is scheduled (throttled / unavailable)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["retry_at"] = self.retry_at.isoformat() if self.retry_at else None
        return data


class _LeaseLost(Exception):
    """Another run took the row over (our lease lapsed): stop without touching the row."""


def backoff_seconds(attempts: int) -> float:
    """30 s, 60 s, 120 s, 240 s, … for the 1st, 2nd, 3rd, 4th failure in a row (capped)."""
    return policy.backoff(policy.MAILBOX, attempts - 1)


def initial_window_start(connection: Connection, now: dt.datetime | None = None) -> dt.datetime:
    days = (connection.details or {}).get("initial_sync_days") or settings.MAIL_INITIAL_SYNC_DAYS
    return (now or timezone.now()) - dt.timedelta(days=int(days))


def mailbox_of(state: SyncState) -> MailboxRef:
    address = state.object_name.split(":", 1)[1] if ":" in state.object_name else state.user.email
    return MailboxRef(user_id=state.user_id, address=address.lower())


def _log_extra(state: SyncState, **more: Any) -> dict[str, Any]:
    return {
        "sync_state_id": state.pk,
        "connection_id": state.connection_id,
        "organization_id": state.organization_id,
        "user_id": state.user_id,
        "sync_kind": state.kind,
        **more,
    }


def why_not_syncing(state: SyncState) -> str:
    """Why this row must not sync now (governance, connection health), or ""."""
    connection = state.connection
    if state.kind not in KINDS or state.user_id is None:
        return "This is not a mailbox sync."
    if not connection.is_active:
        return connection.inactive_reason
    if get_source(connection.provider) is None:
        return f"No mailbox source for {connection.get_provider_display()}."
    app = APP_OF_KIND[state.kind]
    for row in selectors.eligibility(connection=connection, app=app, user_ids=[state.user_id]):
        return "" if row.syncing else row.reason
    return "The user is not part of this organisation."


def run_mailbox_sync(*, sync_state_id: int, force: bool = False) -> MailboxRunResult:
    """One run of one mailbox row under its lease. Provider failures are recorded on the row and
    come back in the result; a bug is recorded and raised. ``force`` ignores ``next_run_at``."""
    result = MailboxRunResult(sync_state_id=sync_state_id)
    state = (
        SyncState.objects.select_related("connection__organization", "user").filter(pk=sync_state_id).first()
    )
    if state is None:
        result.stopped, result.reason = Stop.DISABLED, "This sync no longer exists."
        return result
    result.object_name = state.object_name
    why_not = why_not_syncing(state)
    if why_not:
        result.stopped, result.reason = Stop.DISABLED, why_not
        return result
    if not force and policy.waiting(state):
        result.stopped, result.reason = Stop.NOT_DUE, state.last_error
        return result
    owner = policy.MAILBOX.owner()
    if not services.sync_state_lease_acquire(sync_state=state, owner=owner, ttl_seconds=LEASE_SECONDS):
        result.stopped, result.reason = Stop.BUSY, "Another run is syncing this mailbox."
        return result
    adapter = get_source(state.connection.provider)
    assert adapter is not None  # checked by why_not_syncing
    started = time.monotonic()
    logger.info("mailsync.started", extra=_log_extra(state))
    try:
        _Run(state, owner, adapter, result).run()
    except _LeaseLost:
        result.stopped, result.reason = Stop.BUSY, "The lease expired and another run took over."
        logger.warning("mailsync.lease_lost", extra=_log_extra(state))
        return result
    except Exception as exc:
        result.duration_seconds = time.monotonic() - started
        if not _provider_stop(result, exc, state):
            logger.exception("mailsync.crashed", extra=_log_extra(state))
            result.stopped, result.reason = Stop.ERROR, f"The sync crashed: {type(exc).__name__}: {exc}"
            _finish(state, owner, result)
            raise
    result.duration_seconds = time.monotonic() - started
    _finish(state, owner, result)
    return result


class _Run:
    def __init__(
        self, state: SyncState, owner: str, adapter: MailboxSource, result: MailboxRunResult
    ) -> None:
        self.state, self.owner, self.adapter, self.result = state, owner, adapter, result
        self.connection = state.connection
        self.mailbox = mailbox_of(state)

    def run(self) -> None:
        since = initial_window_start(self.connection)
        try:
            self._pages(self.state.cursor, since)
        except CursorExpired:
            # Gmail history 404, Calendar/Graph 410, People EXPIRED_SYNC_TOKEN: start over. The
            # handlers upsert by provider ids, so what was ingested before is not duplicated.
            logger.info("mailsync.cursor_expired", extra=_log_extra(self.state))
            self._commit(SyncPage(cursor=""), full=True)
            self._pages("", since)

    def _pages(self, cursor: str, since: dt.datetime) -> None:
        full = not cursor
        self.result.full_sync = self.result.full_sync or full
        for page in self.adapter.fetch(
            connection=self.connection, mailbox=self.mailbox, kind=self.state.kind, cursor=cursor, since=since
        ):
            self._commit(page, full=full or page.full_resync)
            self.result.full_sync = self.result.full_sync or page.full_resync

    def _commit(self, page: SyncPage, *, full: bool) -> None:
        """Ingest the page, store its cursor and renew the lease, all or nothing."""
        context = MailboxContext(
            organization_id=self.connection.organization_id,
            connection_id=self.connection.pk,
            provider=self.connection.provider,
            user_id=self.mailbox.user_id,
            mailbox=self.mailbox.address,
            kind=self.state.kind,
            full_resync=full,
        )
        now = timezone.now()
        fields: dict[str, Any] = {
            "lease_expires_at": now + dt.timedelta(seconds=LEASE_SECONDS),
            "updated_at": now,
        }
        if page.cursor is not None:
            fields["cursor"] = page.cursor
        with transaction.atomic():
            registry.deliver(context, page.records)
            if not SyncState.objects.filter(pk=self.state.pk, lease_owner=self.owner).update(**fields):
                raise _LeaseLost  # rolls the page back: the run holding the lease now redoes it
        if page.cursor is not None:
            self.state.cursor = page.cursor
        self.state.lease_expires_at = fields["lease_expires_at"]
        self.result.pages += 1
        self.result.records += len(page.records)
        self.result.api_calls += page.api_calls


def _provider_stop(result: MailboxRunResult, exc: Exception, state: SyncState) -> bool:
    """Record a provider failure on the result; False when ``exc`` is not one (a bug)."""
    if isinstance(exc, ProviderAuthError):
        reason = f"{state.connection.get_provider_display()} refused Cadence's access: {exc}"
        services.connection_mark_needs_reconnect(connection=state.connection, reason=reason, error=str(exc))
        result.stopped, result.reason = Stop.AUTH, reason
    elif isinstance(exc, MailboxAccessDenied):
        result.stopped, result.reason = Stop.FAILED, f"Access to this mailbox was refused: {exc}"
    elif isinstance(exc, ProviderThrottled):
        result.stopped, result.reason = Stop.THROTTLED, f"The provider asked us to slow down: {exc}"
        result.retry_at = _retry_at(state, exc.retry_after)
    elif isinstance(exc, ProviderUnavailable):
        result.stopped, result.reason = Stop.UNAVAILABLE, f"The provider is unavailable: {exc}"
        result.retry_at = _retry_at(state, exc.retry_after)
    elif isinstance(exc, ProviderError):
        result.stopped, result.reason = Stop.FAILED, f"The provider refused the sync: {exc}"
    else:
        return False
    return True


def _retry_at(state: SyncState, retry_after: float | None) -> dt.datetime:
    wait = max(float(retry_after or 0), backoff_seconds(state.attempts + 1))
    return timezone.now() + dt.timedelta(seconds=wait)


def _finish(state: SyncState, owner: str, result: MailboxRunResult) -> None:
    """Record the run on the row (admins see it) and give the lease back."""
    now = timezone.now()
    stopped = result.stopped
    status = SyncState.Status.IDLE
    fields: dict[str, Any] = {"last_error": result.reason[:2000], "next_run_at": None}
    if stopped == Stop.DONE:
        fields.update(last_success_at=now, last_error="", attempts=0)
    elif stopped in (Stop.THROTTLED, Stop.UNAVAILABLE, Stop.ERROR):
        # A run that committed pages before it was slowed down made progress: only runs that got
        # nowhere count towards the retry limit (a big first sync may meet a quota many times).
        attempts = 1 if result.pages and stopped != Stop.ERROR else state.attempts + 1
        fields["attempts"] = attempts
        if attempts > MAX_RETRIES:
            status = SyncState.Status.FAILED
            fields["last_error"] = (
                f"Failed {attempts} times in a row; retried automatically in an hour. Last error: {result.reason}"
            )[:2000]
            fields["next_run_at"] = now + dt.timedelta(seconds=FAILED_RETRY_SECONDS)
            result.stopped, result.retry_at = Stop.FAILED, None
        else:
            fields["next_run_at"] = result.retry_at or now + dt.timedelta(seconds=backoff_seconds(attempts))
            result.retry_at = fields["next_run_at"]
    elif stopped == Stop.FAILED:  # access denied or a provider refusal: waiting an hour may help
        status = SyncState.Status.FAILED
        fields["attempts"] = state.attempts + 1
        fields["next_run_at"] = now + dt.timedelta(seconds=FAILED_RETRY_SECONDS)
    # Stop.AUTH: the connection shows "needs reconnect"; the row waits for the reconnect, idle.
    last_run = {
        "finished_at": now.isoformat(),
        "stopped": str(result.stopped),
        "api_calls": result.api_calls,
        "records": result.records,
        "pages": result.pages,
        "duration_seconds": round(result.duration_seconds, 3),
        "full_sync": result.full_sync,
    }
    fields["stats"] = {**(state.stats or {}), "last_run": last_run}
    SyncState.objects.filter(pk=state.pk, lease_owner=owner).update(updated_at=now, **fields)
    services.sync_state_lease_release(sync_state=state, owner=owner, status=status)
    for name, value in fields.items():
        setattr(state, name, value)
    log = logger.info if result.stopped == Stop.DONE else logger.warning
    log(
        "mailsync.finished",
        extra=_log_extra(
            state,
            stopped=str(result.stopped),
            records=result.records,
            api_calls=result.api_calls,
            full_sync=result.full_sync,
        ),
    )
