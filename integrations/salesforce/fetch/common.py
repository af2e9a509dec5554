"""What the Salesforce sync's two readers share: the interface agreed with the feature app that
stores the records (``CrmSyncHandler``, registered in the handler registry under kind "crm"),
the run counters, how a provider failure stops a run, the handler's select list and rule, and
the record a query row becomes.

The readers are ``source.py`` (the 5-minute incremental pass, run by the one sync engine) and
``poll.py`` (the historical poll, G6, run by engage's poll job).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from copilot.models import Organization
from integrations.exceptions import ProviderAuthError, ProviderThrottled, ProviderUnavailable
from integrations.models import Connection, SyncState
from integrations.records import BatchResult, CrmRecord
from integrations.salesforce.errors import SalesforceError
from integrations.salesforce.fetch import queries
from integrations.salesforce.fetch.queries import EPOCH, parse_datetime
from integrations.sync import registry
from integrations.sync.policy import Stop

logger = logging.getLogger(__name__)

LOOKBACK_SECONDS = 600
BATCH_SIZE = 2000  # records per query page (Sforce-Query-Options batchSize, 200-2,000)
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
    retry_at: dt.datetime | None = None  # when the engine scheduled the retry (throttled / unavailable)
    pause_until: dt.datetime | None = None  # the org's API budget is nearly spent: paused till then
    retry_in: float | None = None  # seconds from the run's end to retry_at (the follow-up's countdown)

    def as_dict(self) -> dict[str, Any]:
        data = super().as_dict()
        for name in ("retry_at", "pause_until"):
            data[name] = data[name].isoformat() if data[name] else None
        return data


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


# --- Shared pieces -------------------------------------------------------------------------------
class RunStopped(Exception):
    """Ends a run early: cancelled, or the handler refused to say what to fetch."""

    def __init__(self, stopped: Stop, reason: str) -> None:
        super().__init__(reason)
        self.stopped, self.reason = stopped, reason


def stopped_with(result: Any, stopped: Stop, reason: str) -> Any:
    result.stopped, result.reason = stopped, reason
    return result


def provider_stop(result: SyncRunResult | PollResult, exc: Exception, connection: Connection) -> bool:
    """Fill ``result`` from a provider failure; False when ``exc`` is not one."""
    if isinstance(exc, ProviderAuthError):
        stopped_with(result, Stop.AUTH, str(exc))
    elif isinstance(exc, ProviderThrottled):
        stopped_with(result, Stop.THROTTLED, str(exc))
        result.retry_after = exc.retry_after or THROTTLE_SECONDS
    elif isinstance(exc, ProviderUnavailable):
        stopped_with(result, Stop.UNAVAILABLE, str(exc))
        result.retry_after = exc.retry_after
    elif isinstance(exc, SalesforceError) and exc.status == 429:
        stopped_with(result, Stop.THROTTLED, f"Salesforce asked Cadence to slow down: {exc}")
        result.retry_after = THROTTLE_SECONDS
    elif isinstance(exc, SalesforceError):
        # Most likely the mapping or rule names a field Salesforce no longer has: describe afresh.
        queries.forget_describe(connection, result.object_name)
        stopped_with(result, Stop.ERROR, f"Salesforce refused the sync query: {exc}")
    else:
        return False
    return True


def query_parts(
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
        raise RunStopped(Stop.ERROR, " ".join(str(m) for m in messages)) from exc
    return select, rule


def lookback(handler: CrmSyncHandler, organization: Organization) -> int:
    lookback = getattr(handler, "lookback_seconds", None)
    value = lookback(organization) if callable(lookback) else None
    return int(value) if value is not None and int(value) >= 0 else LOOKBACK_SECONDS


def crm_record(object_name: str, row: dict[str, Any]) -> CrmRecord:
    return CrmRecord(
        object_name=object_name,
        id=str(row["Id"]),
        modstamp=parse_datetime(row.get("SystemModstamp")) or EPOCH,
        fields={k: v for k, v in row.items() if k != "attributes"},
    )


def log_extra(state: SyncState, **more: Any) -> dict[str, Any]:
    return {
        "sync_state_id": state.pk,
        "connection_id": state.connection_id,
        "organization_id": state.organization_id,
        "object_name": state.object_name,
        **more,
    }
