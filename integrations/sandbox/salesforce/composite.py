"""sObject Collections: create, update or delete up to 200 records of mixed types in one call.

With ``allOrNone`` every record is rolled back when one fails: the failing records report their
own errors and the others ``ALL_OR_NONE_OPERATION_ROLLED_BACK``. Without it, each record
succeeds or fails on its own. Either way a well-formed request answers 200 with one SaveResult
per record, in order.
"""

# Reference: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_create.htm
# Reference: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_update.htm

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from integrations.sandbox.routing import Request, Response, json_response
from integrations.sandbox.salesforce import ids, records
from integrations.sandbox.salesforce.api import ApiHandler, Call
from integrations.sandbox.salesforce.errors import SalesforceError
from integrations.sandbox.salesforce.schema import BY_PREFIX, ObjectDef, find_object
from integrations.sandbox.salesforce.sobjects import allows_duplicates, body
from integrations.sandbox.salesforce.store import SalesforceStore

MAX_RECORDS = 200
ROLLED_BACK = SalesforceError(
    400,
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "Record rolled back because not all records were valid and the request was using AllOrNone header",
)


def register(add: Callable[[str, str, str, ApiHandler], None]) -> None:
    add("POST", r"/composite/sobjects/?", "composite_create", create_many)
    add("PATCH", r"/composite/sobjects/?", "composite_update", update_many)
    add("DELETE", r"/composite/sobjects/?", "composite_delete", delete_many)


def create_many(request: Request, store: SalesforceStore, call: Call) -> Response:
    all_or_none, items = _payload(request)
    duplicates_ok = allows_duplicates(request)

    def save(item: Any) -> str:
        obj = _type_of(item)
        if isinstance(item, dict) and any(k.lower() == "id" for k in item):
            raise SalesforceError(400, "INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
        return records.create(
            store, obj, item, user_id=call.user_id, allow_duplicates=duplicates_ok, version=call.version
        )

    return json_response(200, _apply(store, items, save, all_or_none))


def update_many(request: Request, store: SalesforceStore, call: Call) -> Response:
    all_or_none, items = _payload(request)
    duplicates_ok = allows_duplicates(request)

    def save(item: Any) -> str:
        obj = _type_of(item)
        record_id = next((str(v) for k, v in item.items() if k.lower() == "id"), None)
        if not record_id:
            raise SalesforceError(400, "MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
        fields = {k: v for k, v in item.items() if k.lower() != "id"}
        records.update(
            store, obj, record_id, fields, user_id=call.user_id, allow_duplicates=duplicates_ok,
            version=call.version,
        )  # fmt: skip
        return records.lookup(store, obj, record_id)["Id"]

    return json_response(200, _apply(store, items, save, all_or_none))


def delete_many(request: Request, store: SalesforceStore, call: Call) -> Response:
    raw = [value for value in (request.query_param("ids") or "").split(",") if value]
    if len(raw) > MAX_RECORDS:
        raise _too_many()
    all_or_none = (request.query_param("allOrNone") or "").lower() == "true"

    def remove(record_id: str) -> str:
        full = ids.normalize(record_id)
        obj = BY_PREFIX.get(full[:3]) if full else None
        if obj is None or full is None:
            raise SalesforceError(400, "MALFORMED_ID", f"malformed id {record_id}", [])
        records.delete(store, obj, full, user_id=call.user_id)
        return full

    return json_response(200, _apply(store, raw, remove, all_or_none))


def _payload(request: Request) -> tuple[bool, list[Any]]:
    payload = body(request)
    items = payload.get("records") if isinstance(payload, dict) else None
    if not isinstance(items, list):
        raise SalesforceError(400, "JSON_PARSER_ERROR", "The request body must contain a 'records' array")
    if len(items) > MAX_RECORDS:
        raise _too_many()
    return bool(payload.get("allOrNone")), items


def _too_many() -> SalesforceError:
    return SalesforceError(
        400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records into this call"
    )


def _type_of(item: Any) -> ObjectDef:
    attributes = item.get("attributes") if isinstance(item, dict) else None
    name = attributes.get("type") if isinstance(attributes, dict) else None
    obj = find_object(name) if isinstance(name, str) else None
    if obj is None:
        raise SalesforceError(400, "INVALID_TYPE", f"sObject type '{name}' is not supported.")
    return obj


def _apply(
    store: SalesforceStore, items: list[Any], save: Callable[[Any], str], all_or_none: bool
) -> list[dict[str, Any]]:
    """Save each item, collecting SaveResults; with all-or-none, undo everything on any failure."""
    log_length = len(store.delete_log)
    store.journal = [] if all_or_none else None
    results: list[dict[str, Any]] = []
    try:
        for item in items:
            try:
                results.append({"id": save(item), "success": True, "errors": []})
            except SalesforceError as exc:
                results.append({"id": None, "success": False, "errors": [exc.as_save_error()]})
        if all_or_none and any(not r["success"] for r in results):
            records.rollback(store)
            while len(store.delete_log) > log_length:
                store.delete_log.pop()
            results = [
                r
                if not r["success"]
                else {"id": None, "success": False, "errors": [ROLLED_BACK.as_save_error()]}
                for r in results
            ]
    finally:
        store.journal = None
    return results
