"""Query results in batches: the first page of a query and the ``nextRecordsUrl`` pages after it.

A result larger than one batch keeps its sorted ids under a query locator (``01g…``); each later
page only renders ``batch`` records from that list. Like Salesforce, a locator expires after 15
minutes without use and a user keeps at most 10 open (the oldest is dropped for an 11th).
"""

# Reference: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_query.htm
# Reference: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_queryoptions.htm

from __future__ import annotations

import re
from typing import Any

from integrations.sandbox.salesforce.errors import SalesforceError
from integrations.sandbox.salesforce.query import Plan, compile_query, evaluate
from integrations.sandbox.salesforce.store import (
    LOCATOR_IDLE_LIFETIME,
    MAX_OPEN_LOCATORS,
    Locator,
    SalesforceStore,
)

DEFAULT_BATCH = 2000
MIN_BATCH = 200
BATCH_OPTION = re.compile(r"batchSize\s*=\s*(\d+)", re.IGNORECASE)


def batch_size(query_options: str | None) -> int:
    """``Sforce-Query-Options: batchSize=N``: 200 to 2,000, a hint Salesforce may round."""
    match = BATCH_OPTION.search(query_options or "")
    if match is None:
        return DEFAULT_BATCH
    return min(max(int(match.group(1)), MIN_BATCH), DEFAULT_BATCH)


def run_query(
    store: SalesforceStore,
    text: str,
    *,
    version: str,
    user_id: str,
    include_deleted: bool,
    batch: int = DEFAULT_BATCH,
) -> dict[str, Any]:
    plan = compile_query(store, text, version=version, include_deleted=include_deleted)
    rows = evaluate(plan)
    if plan.count == "*":
        return {"totalSize": len(rows), "done": True, "records": []}
    if plan.count is not None:
        counter = plan.count
        assert callable(counter)
        total = sum(1 for r in rows if counter(r) is not None)
        aggregate = {"attributes": {"type": "AggregateResult"}, plan.count_alias: total}
        return {"totalSize": 1, "done": True, "records": [aggregate]}
    if len(rows) <= batch:
        return {"totalSize": len(rows), "done": True, "records": [plan.render(r) for r in rows]}
    locator = _open_locator(store, plan, [r["Id"] for r in rows], user_id, include_deleted, batch)
    return {
        "totalSize": len(rows),
        "done": False,
        "nextRecordsUrl": _next_url(locator, version, batch),
        "records": [plan.render(r) for r in rows[:batch]],
    }


def next_page(
    store: SalesforceStore, locator_id: str, offset: int, *, version: str, user_id: str
) -> dict[str, Any]:
    now = store.clock.now()
    locator = store.locators.get(locator_id)
    if locator is not None and locator.expires_at <= now:
        del store.locators[locator_id]
        locator = None
    if locator is None or locator.user_id != user_id or offset > len(locator.ids):
        raise SalesforceError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    locator.expires_at = now + LOCATOR_IDLE_LIFETIME
    plan = _plan(store, locator)
    table = store.records[plan.obj.name]
    page_ids = locator.ids[offset : offset + locator.batch_size]
    records = [plan.render(table[i]) for i in page_ids if i in table]
    body: dict[str, Any] = {
        "totalSize": len(locator.ids),
        "done": offset + locator.batch_size >= len(locator.ids),
    }
    if not body["done"]:
        body["nextRecordsUrl"] = _next_url(locator, version, offset + locator.batch_size)
    body["records"] = records
    return body


def _plan(store: SalesforceStore, locator: Locator) -> Plan:
    """The locator's compiled plan; one loaded from a state file is compiled again from its SOQL."""
    if not isinstance(locator.plan, Plan):
        text, version, include_deleted = locator.plan
        try:
            locator.plan = compile_query(store, text, version=version, include_deleted=include_deleted)
        except SalesforceError:  # no longer valid here (a changed schema): gone, as if it expired
            del store.locators[locator.id]
            raise SalesforceError(400, "INVALID_QUERY_LOCATOR", "invalid query locator") from None
    return locator.plan


def _open_locator(
    store: SalesforceStore, plan: Plan, record_ids: list[str], user_id: str, include_deleted: bool, batch: int
) -> Locator:
    now = store.clock.now()
    for stale in [key for key, loc in store.locators.items() if loc.expires_at <= now]:
        del store.locators[stale]
    mine = [key for key, loc in store.locators.items() if loc.user_id == user_id]
    for oldest in mine[: max(len(mine) - MAX_OPEN_LOCATORS + 1, 0)]:
        del store.locators[oldest]
    locator = Locator(
        id=store.new_id("01g"),
        user_id=user_id,
        endpoint="queryAll" if include_deleted else "query",
        ids=record_ids,
        plan=plan,
        batch_size=batch,
        expires_at=now + LOCATOR_IDLE_LIFETIME,
    )
    store.locators[locator.id] = locator
    return locator


def _next_url(locator: Locator, version: str, offset: int) -> str:
    return f"/services/data/v{version}/{locator.endpoint}/{locator.id}-{offset}"
