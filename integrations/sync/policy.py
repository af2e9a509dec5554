"""What every sync source shares: why a run stopped, when a row is due, how long a lease lasts,
how long to back off, and how long a queued run stays worth running.

The numbers and rules that differ between sources are one ``SourcePolicy`` each, read by the one
engine (``integrations.sync.engine``):

=========================  ===============================  ===================================
field                      ``MAILBOX`` (Gmail, Graph, …)     ``CRM`` (Salesforce)
=========================  ===============================  ===================================
``lease_seconds``          120, renewed with every page      120, renewed with every page
backoff base · 2^(n − 1)   30 s (n failures in a row)        60 s
``max_retries``            4: the 5th failure in a row       5: the 6th
                           leaves the row FAILED an hour
``throttle_seconds``       none: the backoff                 900 when Salesforce does not say
``throttled_status``       IDLE (backing off)                PAUSED
``auth_failure_status``    IDLE (the connection shows        FAILED
                           "needs reconnect")
``error_status``           none: a crash backs off like an   FAILED
                           outage
``waits_only_when_paused`` no: a row backing off waits       yes: an outage's follow-up runs
                                                             when it arrives
=========================  ===============================  ===================================

Retry-After is always honoured, but never waits less than the backoff.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from enum import StrEnum

from django.utils import timezone

from integrations.models import SyncState
from integrations.workers import owner_is_dead

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
    log_prefix: str  # "<prefix>.started", "<prefix>.finished", …
    noun: str  # what one row syncs, for "Another run is syncing this <noun>."
    lease_seconds: int  # renewed with every committed page
    backoff_base_seconds: int
    backoff_max_seconds: int
    max_retries: int  # failures in a row before the row is FAILED for an hour
    throttled_status: str  # the row's status while a throttled run waits
    throttle_seconds: int | None  # the wait when "slow down" says no Retry-After (None: backoff)
    auth_failure_status: str  # the row's status when the credentials are refused
    error_status: str | None  # the row's status after a crash (None: back off like an outage)
    waits_only_when_paused: bool  # only a PAUSED row turns away a run that came before next_run_at

    def owner(self) -> str:
        return f"{self.name}:{uuid.uuid4().hex}"


# Short leases: a run killed on another host is picked up by the next dispatch (every 5 minutes)
# at most two minutes after its last page; one killed on this host, at once (engine._acquire).
LEASE_SECONDS = 120

MAILBOX = SourcePolicy(
    name="mailsync",
    log_prefix="mailsync",
    noun="mailbox",
    lease_seconds=LEASE_SECONDS,
    backoff_base_seconds=30,
    backoff_max_seconds=30 * 60,
    max_retries=4,
    throttled_status=SyncState.Status.IDLE,
    throttle_seconds=None,
    auth_failure_status=SyncState.Status.IDLE,
    error_status=None,
    waits_only_when_paused=False,
)
CRM = SourcePolicy(
    name="salesforce-sync",
    log_prefix="salesforce.sync",
    noun="object",
    lease_seconds=LEASE_SECONDS,
    backoff_base_seconds=60,
    backoff_max_seconds=30 * 60,
    max_retries=5,
    throttled_status=SyncState.Status.PAUSED,
    throttle_seconds=15 * 60,
    auth_failure_status=SyncState.Status.FAILED,
    error_status=SyncState.Status.FAILED,
    waits_only_when_paused=True,
)


def backoff(policy: SourcePolicy, exponent: int) -> float:
    """``base · 2^exponent`` seconds, capped."""
    return float(min(policy.backoff_base_seconds * 2 ** max(exponent, 0), policy.backoff_max_seconds))


def retry_wait(policy: SourcePolicy, *, stopped: str, retry_after: float | None, failures: int) -> float:
    """Seconds a throttled or unavailable run waits after ``failures`` failures in a row (0 when
    it made progress): Retry-After (or the source's "slow down" default), never less than the
    backoff."""
    said = retry_after or None
    if said is None and stopped == Stop.THROTTLED and policy.throttle_seconds:
        said = float(policy.throttle_seconds)
    return max(float(said or 0), backoff(policy, max(failures - 1, 0)))


def is_due(state: SyncState, *, now: dt.datetime | None = None) -> bool:
    """Not backing off or paused until later, and not held by a live run (a run of this host
    whose process has died holds nothing)."""
    now = now or timezone.now()
    if state.next_run_at is not None and state.next_run_at > now:
        return False
    if state.lease_expires_at is None or state.lease_expires_at < now:
        return True
    return bool(state.lease_owner) and owner_is_dead(state.lease_owner)


def waiting(state: SyncState, *, now: dt.datetime | None = None) -> bool:
    """Whether a run that was scheduled for ``next_run_at`` came too early to do anything."""
    return bool(state.next_run_at and state.next_run_at > (now or timezone.now()) + DUE_TOLERANCE)
