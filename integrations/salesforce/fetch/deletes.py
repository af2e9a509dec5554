"""Deletions the sync's own query cannot show: the delete log (getDeleted) and the full reconcile.

A record deleted in Salesforce normally reaches the sync through its queryAll (``IsDeleted =
true``). It does not when the record left the recycle bin before the sync looked: the bin is
emptied after 15 days, by an admin, or early when the org's delete log is large. So now and then
the sync reads ``getDeleted`` from where it last did; when that log no longer reaches back (its
``earliestDateAvailable`` is after our start) deletions may have gone unseen, and only a full
reconcile — every live id against every local link — can tell which.

Reference: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_getdeleted.htm
Reference: https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_getdeleted_getdeletedresult.htm
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from integrations.salesforce import limits
from integrations.salesforce.client import SalesforceClient
from integrations.salesforce.errors import SalesforceError
from integrations.salesforce.fetch.queries import MIN_BATCH, parse_datetime

CHECK_EVERY = dt.timedelta(days=1)
SYNC_GAP = dt.timedelta(hours=1)  # a sync that did not succeed for this long may have missed some
REPLICATION_WINDOW = dt.timedelta(days=30)  # getDeleted refuses an older start
ID_PAGE = 2000


@dataclass(frozen=True)
class DeleteLog:
    deleted_ids: list[str]
    covered: dt.datetime | None  # where the next read starts (None: unknown, keep the old start)
    gap: bool  # the log no longer reaches back to the start: a full reconcile is needed


def log_check_due(
    *, checked_at: dt.datetime | None, last_success_at: dt.datetime | None, now: dt.datetime
) -> bool:
    """Once a day, and on the first run after the sync has not succeeded for a while."""
    if checked_at is None or now - checked_at >= CHECK_EVERY:
        return True
    return last_success_at is not None and now - last_success_at >= SYNC_GAP


def read_delete_log(
    client: SalesforceClient, object_name: str, start: dt.datetime, now: dt.datetime
) -> DeleteLog:
    """Deletions of ``object_name`` since ``start`` (one call)."""
    limits.spend(client)
    try:
        # Salesforce caps the end at its now; two minutes on keeps the window legal (it must
        # span over a minute) when our clock trails Salesforce's.
        answer = client.deleted(object_name, start, max(now, start + dt.timedelta(minutes=2)))
    except SalesforceError as exc:
        if exc.code != "INVALID_REPLICATION_DATE":
            raise
        # Over 30 days back only a reconcile can tell; under a minute there is nothing to read yet.
        return DeleteLog([], covered=None, gap=start < now - REPLICATION_WINDOW)
    ids = [str(r["id"]) for r in answer.get("deletedRecords") or [] if r.get("id")]
    earliest = parse_datetime(answer.get("earliestDateAvailable"))
    covered = parse_datetime(answer.get("latestDateCovered")) or start
    if earliest is not None and earliest > start:
        # A reconcile made now covers every deletion up to now, which is after both.
        return DeleteLog(ids, covered=max(covered, earliest), gap=True)
    return DeleteLog(ids, covered=covered, gap=False)


def live_ids(client: SalesforceClient, object_name: str) -> set[str]:
    """The keys (``id_key``) of every record of the object, 2,000 per call."""
    alive: set[str] = set()
    limits.spend(client)
    for page in client.query_pages(f"SELECT Id FROM {object_name}", batch_size=ID_PAGE):  # noqa: S608 - SOQL
        alive.update(id_key(r["Id"]) for r in page)
        if len(page) >= MIN_BATCH:
            limits.spend(client)
    return alive


def missing_links(linked: Iterable[str], alive: set[str]) -> list[str]:
    """The linked ids Salesforce no longer has. Read the links *before* paging the live ids: a
    record linked meanwhile exists, so it can never be reported missing."""
    return [str(i) for i in linked if i and id_key(i) not in alive]


def id_key(record_id: str) -> str:
    """15- and 18-character forms of an id name the same record (the 18th adds a case checksum)."""
    return str(record_id)[:15]
