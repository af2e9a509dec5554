"""The mailbox rows' source for the engine: a user's mail, calendar or address book under a
Google or Microsoft connection (B13).

Google and Microsoft each supply a ``MailboxSource`` (``integrations.sync.source``) that only
fetches; ``MAILBOX_ROWS`` turns one into what the engine runs (``engine.RowSource``): who may
sync, the pages (with the first-sync window and the full resync after an expired cursor), how
a page is delivered (the handler registry, by kind), how provider failures stop a run, and the
stats kept on the row. Its numbers and rules are ``policy.MAILBOX``.

- **First sync window.** An empty cursor is a full sync of everything since now − N days
  (``details["initial_sync_days"]`` or ``settings.MAIL_INITIAL_SYNC_DAYS``).
- **Failures.** ``CursorExpired`` → the cursor is cleared and a full resync runs in the same run;
  ``ProviderThrottled`` / ``ProviderUnavailable`` → back off (``policy.MAILBOX``, the engine);
  ``ProviderAuthError`` → the connection needs a reconnect; ``MailboxAccessDenied`` → this
  mailbox only is FAILED until the next hour.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings
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
from integrations.sync.policy import Stop
from integrations.sync.source import MailboxRef

logger = logging.getLogger(__name__)


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
    retry_after: float | None = None  # what the provider said, in seconds
    retry_in: float | None = None  # seconds from the run's end to retry_at (the follow-up's countdown)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["retry_at"] = self.retry_at.isoformat() if self.retry_at else None
        return data


@dataclass(frozen=True)
class MailPage:
    page: SyncPage
    full: bool  # part of a full sync (first sync, or a resync after an expired cursor)


def initial_window_start(connection: Connection, now: dt.datetime | None = None) -> dt.datetime:
    days = (connection.details or {}).get("initial_sync_days") or settings.MAIL_INITIAL_SYNC_DAYS
    return (now or timezone.now()) - dt.timedelta(days=int(days))


def mailbox_of(state: SyncState) -> MailboxRef:
    address = state.object_name.split(":", 1)[1] if ":" in state.object_name else state.user.email
    return MailboxRef(user_id=state.user_id, address=address.lower())


def log_extra(state: SyncState, **more: Any) -> dict[str, Any]:
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


class MailboxRows:
    """``engine.RowSource`` for every mailbox provider (the provider's ``MailboxSource`` is looked
    up per row, from the provider registry)."""

    policy = policy.MAILBOX

    def new_result(self, sync_state_id: int, state: SyncState | None) -> MailboxRunResult:
        return MailboxRunResult(sync_state_id=sync_state_id, object_name=state.object_name if state else "")

    def why_not(self, state: SyncState) -> str:
        return why_not_syncing(state)

    def log_extra(self, state: SyncState, **more: Any) -> dict[str, Any]:
        return log_extra(state, **more)

    def pages(self, state: SyncState, result: MailboxRunResult, *, was: str = "") -> Iterator[MailPage]:
        since = initial_window_start(state.connection)
        try:
            yield from self._pages(state, result, state.cursor, since)
        except CursorExpired:
            # Gmail history 404, Calendar/Graph 410, People EXPIRED_SYNC_TOKEN: start over. The
            # handlers upsert by provider ids, so what was ingested before is not duplicated.
            logger.info("mailsync.cursor_expired", extra=log_extra(state))
            yield MailPage(SyncPage(cursor=""), full=True)
            yield from self._pages(state, result, "", since)

    def _pages(
        self, state: SyncState, result: MailboxRunResult, cursor: str, since: dt.datetime
    ) -> Iterator[MailPage]:
        adapter = get_source(state.connection.provider)
        assert adapter is not None  # checked by why_not_syncing
        full = not cursor
        result.full_sync = result.full_sync or full
        for page in adapter.fetch(
            connection=state.connection,
            mailbox=mailbox_of(state),
            kind=state.kind,
            cursor=cursor,
            since=since,
        ):
            yield MailPage(page, full=full or page.full_resync)
            result.full_sync = result.full_sync or page.full_resync

    def deliver(self, state: SyncState, item: MailPage, result: MailboxRunResult) -> dict[str, Any]:
        """Ingest the page (in the engine's transaction); the row fields to store with it."""
        connection, mailbox = state.connection, mailbox_of(state)
        context = MailboxContext(
            organization_id=connection.organization_id,
            connection_id=connection.pk,
            provider=connection.provider,
            user_id=mailbox.user_id,
            mailbox=mailbox.address,
            kind=state.kind,
            full_resync=item.full,
        )
        registry.deliver(context, item.page.records)
        return {} if item.page.cursor is None else {"cursor": item.page.cursor}

    def committed(self, state: SyncState, item: MailPage, result: MailboxRunResult) -> None:
        result.pages += 1
        result.records += len(item.page.records)
        result.api_calls += item.page.api_calls

    def classify(
        self, exc: Exception, state: SyncState, result: MailboxRunResult
    ) -> tuple[Stop, str, float | None] | None:
        """(stop, reason, Retry-After) for a provider failure; None when ``exc`` is not one (a bug)."""
        if isinstance(exc, ProviderAuthError):
            reason = f"{state.connection.get_provider_display()} refused Cadence's access: {exc}"
            services.connection_mark_needs_reconnect(
                connection=state.connection, reason=reason, error=str(exc)
            )
            return Stop.AUTH, reason, None
        if isinstance(exc, MailboxAccessDenied):
            return Stop.FAILED, f"Access to this mailbox was refused: {exc}", None
        if isinstance(exc, ProviderThrottled):
            return Stop.THROTTLED, f"The provider asked us to slow down: {exc}", exc.retry_after
        if isinstance(exc, ProviderUnavailable):
            return Stop.UNAVAILABLE, f"The provider is unavailable: {exc}", exc.retry_after
        if isinstance(exc, ProviderError):
            return Stop.FAILED, f"The provider refused the sync: {exc}", None
        return None

    def last_run(self, result: MailboxRunResult, *, now: dt.datetime, duration: float) -> dict[str, Any]:
        """The run's stats kept on the row (``SyncState.stats["last_run"]``)."""
        result.duration_seconds = duration
        return {
            "finished_at": now.isoformat(),
            "stopped": str(result.stopped),
            "api_calls": result.api_calls,
            "records": result.records,
            "pages": result.pages,
            "duration_seconds": round(duration, 3),
            "full_sync": result.full_sync,
        }


MAILBOX_ROWS = MailboxRows()
