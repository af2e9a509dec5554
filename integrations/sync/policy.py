"""What every sync source shares: why a run stopped, when a row is due, how long a lease lasts,
how long to back off, and how long a queued run stays worth running.

The numbers that differ between sources are one ``SourcePolicy`` each (``MAILBOX`` and ``CRM``),
kept as they were before the engines were merged because tests pin them: the mailbox lease is
15 minutes and its backoff 30 s · 2^(attempts − 1); the CRM lease is 10 minutes and its backoff
60 s · 2^attempt, retried by Celery.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from enum import StrEnum

from django.utils import timezone

from integrations.models import SyncState

DUE_TOLERANCE = dt.timedelta(seconds=5)  # a follow-up scheduled for next_run_at may land a hair early
RUN_EXPIRES_SECONDS = 5 * 60 - 10  # a queued run expires before the next beat: missed runs never pile up
FAILED_RETRY_SECONDS = 60 * 60


class Stop(StrEnum):
    """Why a run ended (every source)."""

    DONE = "done"
    CANCELLED = "cancelled"  # a long job's should_cancel said so
    BUDGET = "budget"  # the provider's API budget (CRM: 80 % of the org's allocation, 25 % per run)
    THROTTLED = "throttled"  # 429 / "slow down": back off (Retry-After honoured)
    UNAVAILABLE = "unavailable"  # 5xx, timeout: back off
    FAILED = "failed"  # retries used up, access denied or a provider error: retried in an hour
    AUTH = "auth"  # credentials refused: the connection needs a reconnect
    BUSY = "busy"  # another run holds the lease
    NOT_DUE = "not_due"  # backing off or paused until next_run_at
    DISABLED = "disabled"  # row gone, app or sync off, not eligible, no source or handler
    ERROR = "error"  # a bug, or the provider/handler refused the query: recorded


@dataclass(frozen=True)
class SourcePolicy:
    name: str  # lease owner prefix
    lease_seconds: int  # renewed with every committed page
    backoff_base_seconds: int
    backoff_max_seconds: int
    max_retries: int

    def owner(self) -> str:
        return f"{self.name}:{uuid.uuid4().hex}"


MAILBOX = SourcePolicy(
    name="mailsync",
    lease_seconds=15 * 60,
    backoff_base_seconds=30,
    backoff_max_seconds=30 * 60,
    max_retries=4,
)
CRM = SourcePolicy(
    name="salesforce-sync",
    lease_seconds=10 * 60,
    backoff_base_seconds=60,
    backoff_max_seconds=30 * 60,
    max_retries=5,
)


def backoff(policy: SourcePolicy, exponent: int) -> float:
    """``base · 2^exponent`` seconds, capped."""
    return float(min(policy.backoff_base_seconds * 2 ** max(exponent, 0), policy.backoff_max_seconds))


def is_due(state: SyncState, *, now: dt.datetime | None = None) -> bool:
    """Not backing off or paused until later, and not held by a live run."""
    now = now or timezone.now()
    if state.next_run_at is not None and state.next_run_at > now:
        return False
    return state.lease_expires_at is None or state.lease_expires_at < now


def waiting(state: SyncState, *, now: dt.datetime | None = None) -> bool:
    """Whether a run that was scheduled for ``next_run_at`` came too early to do anything."""
    return bool(state.next_run_at and state.next_run_at > (now or timezone.now()) + DUE_TOLERANCE)
