"""``sobjects/…`` routes: describe, record create/read/update/delete, getUpdated and getDeleted."""

# Reference: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_basic_info.htm
# Reference: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_retrieve.htm
# Reference: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_getupdated.htm
# Reference: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_getdeleted.htm
# Reference: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_duplicaterules.htm

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from integrations.sandbox.routing import Request, Response, empty_response, json_response
from integrations.sandbox.salesforce import records
from integrations.sandbox.salesforce.api import ApiHandler, Call
from integrations.sandbox.salesforce.describe import describe_object, global_describe, summary
from integrations.sandbox.salesforce.errors import SalesforceError, not_found
from integrations.sandbox.salesforce.schema import ObjectDef, find_object
from integrations.sandbox.salesforce.store import REPLICATION_WINDOW, SalesforceStore, iso
from integrations.sandbox.salesforce.values import parse_datetime, record_json

SOBJECT = r"/sobjects/(?P<sobject>[A-Za-z0-9_]+)"
MAX_REPLICATION_IDS = 600_000


def register(add: Callable[[str, str, str, ApiHandler], None]) -> None:
    add("GET", r"/sobjects/?", "describe_global", describe_global)
    add("GET", SOBJECT + r"/describe/?", "describe", describe)
    add("GET", SOBJECT + r"/updated/?", "updated", updated)
    add("GET", SOBJECT + r"/deleted/?", "deleted", deleted)
    add("GET", SOBJECT + r"/?", "sobject_info", info)
    add("POST", SOBJECT + r"/?", "create", create)
    add("GET", SOBJECT + r"/(?P<id>[A-Za-z0-9]+)/?", "retrieve", retrieve)
    add("PATCH", SOBJECT + r"/(?P<id>[A-Za-z0-9]+)/?", "update", update)
    add("DELETE", SOBJECT + r"/(?P<id>[A-Za-z0-9]+)/?", "delete", delete)


def sobject(request: Request) -> ObjectDef:
    obj = find_object(request.params["sobject"])
    if obj is None:
        raise not_found()
    return obj


def allows_duplicates(request: Request) -> bool:
    """``Sforce-Duplicate-Rule-Header: allowSave=true`` saves despite a duplicate rule."""
    header = (request.header("Sforce-Duplicate-Rule-Header") or "").replace(" ", "").lower()
    return "allowsave=true" in header.split(";")


def body(request: Request) -> Any:
    try:
        return request.json()
    except ValueError:
        raise SalesforceError(
            400, "JSON_PARSER_ERROR", "Unexpected character: was expecting a JSON value at [line:1, column:1]"
        ) from None


def describe_global(request: Request, store: SalesforceStore, call: Call) -> Response:
    return json_response(200, global_describe(store, call.user_id, call.version))


def describe(request: Request, store: SalesforceStore, call: Call) -> Response:
    return json_response(200, describe_object(store, call.user_id, sobject(request), call.version))


def info(request: Request, store: SalesforceStore, call: Call) -> Response:
    obj = sobject(request)
    return json_response(
        200, {"objectDescribe": summary(store, call.user_id, obj, call.version), "recentItems": []}
    )


def create(request: Request, store: SalesforceStore, call: Call) -> Response:
    obj = sobject(request)
    record_id = records.create(
        store, obj, body(request), user_id=call.user_id,
        allow_duplicates=allows_duplicates(request), version=call.version,
    )  # fmt: skip
    return json_response(201, {"id": record_id, "success": True, "errors": []})


def retrieve(request: Request, store: SalesforceStore, call: Call) -> Response:
    obj = sobject(request)
    record = records.lookup(store, obj, request.params["id"])
    full = record_json(store, obj, record, call.version)
    wanted = request.query_param("fields")
    if wanted:
        names = [name.strip() for name in wanted.split(",") if name.strip()]
        unknown = [name for name in names if obj.field(name) is None]
        if unknown:
            raise SalesforceError(
                400, "INVALID_FIELD", f"No such column '{unknown[0]}' on entity '{obj.name}'."
            )
        picked = {obj.field(name).name for name in names}  # type: ignore[union-attr]
        full = {k: v for k, v in full.items() if k == "attributes" or k in picked}
    return json_response(200, full)


def update(request: Request, store: SalesforceStore, call: Call) -> Response:
    obj = sobject(request)
    records.update(
        store, obj, request.params["id"], body(request), user_id=call.user_id,
        allow_duplicates=allows_duplicates(request), version=call.version,
    )  # fmt: skip
    return empty_response(204)


def delete(request: Request, store: SalesforceStore, call: Call) -> Response:
    records.delete(store, sobject(request), request.params["id"], user_id=call.user_id)
    return empty_response(204)


def _window(request: Request, store: SalesforceStore) -> tuple[int, int]:
    """start/end, truncated to the minute like Salesforce; the end is capped at now."""
    start = parse_datetime(request.query_param("start") or "")
    end = parse_datetime(request.query_param("end") or "")
    if start is None or end is None:
        raise SalesforceError(
            400,
            "INVALID_REPLICATION_DATE",
            "start and end must be ISO-8601 date-times, e.g. 2026-01-01T00:00:00+00:00",
        )
    now = store.clock.now()
    start, end = start // 60 * 60, min(end, now) // 60 * 60
    if start < now - REPLICATION_WINDOW:
        raise SalesforceError(400, "INVALID_REPLICATION_DATE", "startDate cannot be more than 30 days ago")
    if end - start < 60:
        raise SalesforceError(
            400,
            "INVALID_REPLICATION_DATE",
            "startDate must chronologically precede endDate by more than one minute",
        )
    return start, end


def updated(request: Request, store: SalesforceStore, call: Call) -> Response:
    obj = sobject(request)
    start, end = _window(request, store)
    found = [
        r["Id"] for r in store.records[obj.name].values()
        if not r.get("IsDeleted") and start <= r["SystemModstamp"] < end
    ]  # fmt: skip
    _check_size(found)
    return json_response(200, {"ids": found, "latestDateCovered": iso(end)})


def deleted(request: Request, store: SalesforceStore, call: Call) -> Response:
    obj = sobject(request)
    start, end = _window(request, store)
    store.purge_deleted()
    found = [
        {"id": e.id, "deletedDate": iso(e.deleted_at)}
        for e in store.delete_log
        if e.sobject == obj.name and start <= e.deleted_at < end
    ]
    _check_size(found)
    return json_response(
        200,
        {
            "deletedRecords": found,
            "earliestDateAvailable": iso(-(-store.delete_log_floor // 60) * 60),  # rounded up
            "latestDateCovered": iso(end),
        },
    )


def _check_size(found: list[Any]) -> None:
    if len(found) > MAX_REPLICATION_IDS:
        raise SalesforceError(400, "EXCEEDED_ID_LIMIT", "Too many ids: the result exceeds 600,000 ids")
