"""Engage's one door to the Salesforce client of ``integrations``: the only module of Engage that
builds one (``open_client``; the write gateway, lookups and list views use it), the organisation's
connection, describes (cached briefly per process), counts and a sample record. Everything else in Engage's
CRM configuration works on the plain dicts these return, and sees provider failures as
``CrmUnavailable`` with a message fit for an admin."""

from __future__ import annotations

import logging
import re
import threading
import time
from typing import TYPE_CHECKING, Any

from integrations import selectors
from integrations.exceptions import ProviderAuthError, ProviderError, ProviderThrottled, ProviderUnavailable
from integrations.models import Connection
from integrations.salesforce.client import SalesforceClient

if TYPE_CHECKING:
    from copilot.models import Organization

logger = logging.getLogger(__name__)

DESCRIBE_TTL_SECONDS = 300.0
# A field API name, or one relationship step (``Account.Name``).
IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)?")
SAMPLE_TTL_SECONDS = 300.0


class CrmNotConnected(Exception):
    """The organisation has no working org-wide Salesforce connection."""

    def __init__(self) -> None:
        super().__init__(
            "Salesforce is not connected: an administrator connects it in Admin Portal › Integrations."
        )


class CrmUnavailable(Exception):
    """Salesforce failed or refused; ``str()`` is a plain sentence for the admin."""


_cache: dict[tuple[Any, ...], tuple[float, Any]] = {}
_cache_lock = threading.Lock()


def _cached(key: tuple[Any, ...], ttl: float, load: Any) -> Any:
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(key)
        if hit and hit[0] > now:
            return hit[1]
    value = load()
    with _cache_lock:
        _cache[key] = (now + ttl, value)
    return value


def cache_clear() -> None:
    """Forget every cached describe and sample (tests; after a reconnect)."""
    with _cache_lock:
        _cache.clear()


def org_connection(organization: Organization) -> Connection | None:
    """The organisation's connected org-wide Salesforce connection, if any."""
    connection = selectors.org_connection(organization, "salesforce")
    return connection if connection is not None and connection.status == Connection.Status.CONNECTED else None


def _plain(exc: ProviderError) -> str:
    if isinstance(exc, ProviderAuthError):
        return (
            "Salesforce refused Cadence's credentials: reconnect Salesforce in Admin Portal › Integrations."
        )
    if isinstance(exc, ProviderThrottled):
        return "Salesforce asked Cadence to slow down; try again in a minute."
    if isinstance(exc, ProviderUnavailable):
        return "Salesforce could not be reached just now; try again in a minute."
    return f"Salesforce refused the request: {exc}"


def open_client(connection: Connection) -> SalesforceClient:
    """A Salesforce client of ``connection``; the caller closes it (``with``), which records API
    usage and saves the connection's state."""
    return SalesforceClient(connection)


def _call(connection: Connection, what: str, fn: Any) -> Any:
    """``fn(client)`` with a client of ``connection`` (closed after, which records API usage)."""
    try:
        with open_client(connection) as client:
            return fn(client)
    except ProviderError as exc:
        logger.warning(
            "engage.crm.salesforce_failed",
            extra={"connection_id": connection.pk, "call": what, "error_code": getattr(exc, "code", None)},
        )
        raise CrmUnavailable(_plain(exc)) from exc


def require_connection(organization: Organization, connection: Connection | None = None) -> Connection:
    """``connection`` when the caller already looked it up, else the organisation's;
    ``CrmNotConnected`` when it has none."""
    if connection is not None and connection.organization_id == organization.pk:
        return connection
    connection = org_connection(organization)
    if connection is None:
        raise CrmNotConnected()
    return connection


def describe_for(
    organization: Organization, sobject: str, *, connection: Connection | None = None
) -> dict[str, Any]:
    """The object's DescribeSObjectResult as Salesforce sent it; cached five minutes per
    connection (a reconnect starts afresh) and object. CrmNotConnected / CrmUnavailable
    otherwise."""
    connection = require_connection(organization, connection)
    return _cached(
        ("describe", connection.pk, connection.connected_at, sobject),
        DESCRIBE_TTL_SECONDS,
        lambda: _call(connection, f"describe {sobject}", lambda client: client.describe(sobject)),
    )


def count_matching(organization: Organization, sobject: str, where: str) -> int:
    """How many records of ``sobject`` match ``where`` (a compiled SOQL expression, ``""`` for
    all). Never cached: the preview should be live."""
    connection = require_connection(organization)
    return int(_call(connection, f"count {sobject}", lambda client: client.count(sobject, where)))


def sample_record(
    organization: Organization, sobject: str, fields: list[str], *, connection: Connection | None = None
) -> dict[str, Any] | None:
    """The most recently modified record with ``fields`` (names from the describe or the
    mapping's relationship paths), for the mapping page's examples; cached five minutes."""
    names = sorted(set(fields) | {"Id"})
    bad = [n for n in [sobject, *names] if not IDENTIFIER.fullmatch(n)]
    if bad:  # callers pass describe names; anything else never reaches a query
        raise ValueError(f"Not Salesforce field names: {bad}")
    connection = require_connection(organization, connection)
    soql = f"SELECT {', '.join(names)} FROM {sobject} ORDER BY LastModifiedDate DESC LIMIT 1"  # noqa: S608 (identifiers checked above)

    def load() -> dict[str, Any] | None:
        result = _call(connection, f"sample {sobject}", lambda client: client.query(soql))
        records = result.get("records") if isinstance(result, dict) else result
        return dict(records[0]) if records else None

    return _cached(
        ("sample", connection.pk, connection.connected_at, sobject, tuple(names)), SAMPLE_TTL_SECONDS, load
    )
