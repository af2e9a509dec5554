"""The SOQL the Salesforce sync sends, the values it reads back, and its describe cache."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.core.cache import cache
from django.utils import timezone

from integrations.models import Connection
from integrations.salesforce import limits
from integrations.salesforce.client import SalesforceClient

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
SYSTEM_FIELDS = ("Id", "SystemModstamp", "IsDeleted")
MIN_BATCH = 200  # Salesforce never cuts a query page shorter than this unless it is the last one
DESCRIBE_CACHE_SECONDS = 3600


# --- Query text ----------------------------------------------------------------------------------
# Reference: https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select.htm
def select_list(fields: Iterable[str]) -> str:
    """The handler's fields plus Id, SystemModstamp and IsDeleted, each once (SOQL refuses a
    field named twice)."""
    chosen: dict[str, str] = {}
    for name in [*fields, *SYSTEM_FIELDS]:
        name = name.strip()
        if name and name.lower() not in chosen:
            chosen[name.lower()] = name
    return ", ".join(chosen.values())


def changes_soql(
    object_name: str,
    select: str,
    rule: str,
    *,
    since: dt.datetime | None = None,
    after: tuple[dt.datetime, str] | None = None,
) -> str:
    """Records changed from ``since`` (inclusive), or strictly after the ``(SystemModstamp, Id)``
    position ``after``, oldest first. Deleted records pass whatever the rule says (for queryAll)."""
    if after is not None:
        stamp, record_id = soql_datetime(after[0]), quote(after[1])
        window = f"(SystemModstamp > {stamp} OR (SystemModstamp = {stamp} AND Id > {record_id}))"
    else:
        window = f"SystemModstamp >= {soql_datetime(since or EPOCH)}"
    where = f"{window} AND (IsDeleted = true OR ({rule}))" if rule else window
    return f"SELECT {select} FROM {object_name} WHERE {where} ORDER BY SystemModstamp, Id"  # noqa: S608 - SOQL


def matching_soql(object_name: str, select: str, rule: str, *, after_id: str | None = None) -> str:
    """Every record matching ``rule`` ('' = every record), oldest change first.

    With ``after_id`` (``""`` for the start) in ``Id`` order instead, from the record after that
    Id: a poll that stopped carries on after the last record it stored. A record's Id never
    changes, so edits made meanwhile neither skip nor repeat records, as a position in
    SystemModstamp order would. Salesforce compares and sorts Ids the same way (keyset paging).
    """
    if after_id is None:
        where = f" WHERE ({rule})" if rule else ""
        return f"SELECT {select} FROM {object_name}{where} ORDER BY SystemModstamp, Id"  # noqa: S608 - SOQL
    conditions = [f"({rule})"] if rule else []
    if after_id:
        conditions.append(f"Id > {quote(after_id)}")
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    return f"SELECT {select} FROM {object_name}{where} ORDER BY Id"  # noqa: S608 - SOQL


def soql_datetime(moment: dt.datetime) -> str:
    # SOQL datetime literals are unquoted ISO 8601 (provider-facts C2).
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


# --- Values --------------------------------------------------------------------------------------
def parse_datetime(value: Any) -> dt.datetime | None:
    """Salesforce's ``2026-11-21T10:00:00.000+0000`` or our own ISO text → aware UTC."""
    if not value:
        return None
    if isinstance(value, dt.datetime):
        moment = value
    else:
        try:
            moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def iso(moment: dt.datetime) -> str:
    """How cursors are stored on ``SyncState``."""
    return moment.astimezone(dt.UTC).isoformat()


# --- Calls ---------------------------------------------------------------------------------------
def newest_modstamp(client: SalesforceClient, object_name: str) -> dt.datetime:
    """The object's newest SystemModstamp, deletions included: Salesforce's "now" as far as this
    object goes, whatever our clock says (``EPOCH`` for an empty object)."""
    limits.spend(client)
    soql = f"SELECT Id, SystemModstamp FROM {object_name} ORDER BY SystemModstamp DESC LIMIT 1"  # noqa: S608
    rows = next(iter(client.query_all_pages(soql)), [])
    return (parse_datetime(rows[0].get("SystemModstamp")) if rows else None) or EPOCH


def describe(client: SalesforceClient, connection: Connection, object_name: str) -> dict[str, Any]:
    """The object's describe, cached for an hour per connection so an idle cycle costs only its
    query (``forget_describe`` when a query built from it is refused)."""
    key = _describe_key(connection, object_name)
    found = cache.get(key)
    if found is None:
        limits.spend(client)
        found = client.describe(object_name)
        cache.set(key, found, DESCRIBE_CACHE_SECONDS)
    return found


def forget_describe(connection: Connection, object_name: str) -> None:
    cache.delete(_describe_key(connection, object_name))


def _describe_key(connection: Connection, object_name: str) -> str:
    return f"integrations:salesforce:sync-describe:{connection.pk}:{object_name}"
