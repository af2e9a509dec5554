"""List views: the list, each one's describe (its SOQL) and its results.

Results run the view's SOQL through the same query engine and show every value as a string, in
the order of the view's columns, as the list view results resource does.
"""

# Reference: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_listviews.htm
# Reference: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_listviewresults.htm
# Reference: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_listviewdescribe.htm

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from integrations.sandbox.routing import Request, Response, json_response
from integrations.sandbox.salesforce import ids
from integrations.sandbox.salesforce.api import ApiHandler, Call
from integrations.sandbox.salesforce.errors import SalesforceError, not_found
from integrations.sandbox.salesforce.query import compile_query, evaluate
from integrations.sandbox.salesforce.schema import OBJECTS, Field, ObjectDef
from integrations.sandbox.salesforce.sobjects import SOBJECT, sobject
from integrations.sandbox.salesforce.store import ListViewDef, SalesforceStore

HIDDEN_COLUMNS = ("Id", "CreatedDate", "LastModifiedDate", "SystemModstamp")
VIEW = SOBJECT + r"/listviews/(?P<view>[A-Za-z0-9]+)"
DEFAULT_LIMIT, MAX_LIMIT = 25, 2000


def register(add: Callable[[str, str, str, ApiHandler], None]) -> None:
    add("GET", SOBJECT + r"/listviews/?", "listviews", list_views)
    add("GET", VIEW + r"/?", "listview", basic_info)
    add("GET", VIEW + r"/describe/?", "listview_describe", describe)
    add("GET", VIEW + r"/results/?", "listview_results", results)


def soql(view: ListViewDef, user_id: str) -> str:
    fields = ", ".join(dict.fromkeys((*view.columns, *HIDDEN_COLUMNS)))
    conditions = [c for c in (view.where, f"OwnerId = '{user_id}'" if view.mine else None) if c]
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    order = f"ORDER BY {view.order_by} ASC NULLS FIRST, Id ASC NULLS FIRST"
    return f"SELECT {fields} FROM {view.sobject}{where} {order}"  # noqa: S608 - seeded views, a user id


def list_views(request: Request, store: SalesforceStore, call: Call) -> Response:
    obj = sobject(request)
    views = [v for v in store.list_views.values() if v.sobject == obj.name]
    return json_response(
        200,
        {
            "done": True,
            "listviews": [_summary(v, call.version) for v in views],
            "nextRecordsUrl": None,
            "size": len(views),
            "sobjectType": obj.name,
        },
    )


def basic_info(request: Request, store: SalesforceStore, call: Call) -> Response:
    return json_response(200, _summary(_view(request, store), call.version))


def describe(request: Request, store: SalesforceStore, call: Call) -> Response:
    view = _view(request, store)
    obj = OBJECTS[view.sobject]
    return json_response(
        200,
        {
            "columns": _columns(obj, view),
            "id": view.id,
            "orderBy": [
                {"fieldNameOrPath": view.order_by, "nullsPosition": "first", "sortDirection": "ascending"}
            ],
            "query": soql(view, call.user_id),
            "relatedEntityId": None,
            "scope": "mine" if view.mine else "everything",
            "scopeEntityId": None,
            "sobjectType": view.sobject,
            "whereCondition": {"conditions": [], "conjunction": "and"},
        },
    )


def results(request: Request, store: SalesforceStore, call: Call) -> Response:
    view = _view(request, store)
    obj = OBJECTS[view.sobject]
    limit = _int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    offset = _int_param(request, "offset", 0, 0, 2000)
    plan = compile_query(store, soql(view, call.user_id), version=call.version, include_deleted=False)
    rows = evaluate(plan)
    columns = _columns(obj, view)
    page = [plan.render(row) for row in rows[offset : offset + limit]]
    return json_response(
        200,
        {
            "columns": columns,
            "developerName": view.developer_name,
            "done": offset + limit >= len(rows),
            "id": view.id,
            "label": view.label,
            "records": [
                {
                    "columns": [
                        {"fieldNameOrPath": c["fieldNameOrPath"], "value": _cell(r, c["fieldNameOrPath"])}
                        for c in columns
                    ]
                }
                for r in page
            ],
            "size": len(rows),
        },
    )


def _view(request: Request, store: SalesforceStore) -> ListViewDef:
    obj = sobject(request)
    full = ids.normalize(request.params["view"])
    view = store.list_views.get(full or "")
    if view is None or view.sobject != obj.name:
        raise not_found()
    return view


def _summary(view: ListViewDef, version: str) -> dict[str, Any]:
    base = f"/services/data/v{version}/sobjects/{view.sobject}/listviews/{view.id}"
    return {
        "describeUrl": f"{base}/describe",
        "developerName": view.developer_name,
        "id": view.id,
        "label": view.label,
        "resultsUrl": f"{base}/results",
        "soqlCompatible": True,
        "url": base,
    }


def _columns(obj: ObjectDef, view: ListViewDef) -> list[dict[str, Any]]:
    columns = []
    for path in dict.fromkeys((*view.columns, *HIDDEN_COLUMNS)):
        field = _final_field(obj, path)
        hidden = path in HIDDEN_COLUMNS and path not in view.columns
        columns.append({
            "ascendingLabel": "Z-A" if field.type not in ("date", "datetime") else "New to Old",
            "descendingLabel": "A-Z" if field.type not in ("date", "datetime") else "Old to New",
            "fieldNameOrPath": path, "hidden": hidden, "label": field.label,
            "searchable": field.type in ("string", "email", "phone"), "selectListItem": path,
            "sortDirection": "ascending" if path == view.order_by else None,
            "sortIndex": 0 if path == view.order_by else None, "sortable": not hidden,
            "type": field.type,
        })  # fmt: skip
    return columns


def _final_field(obj: ObjectDef, path: str) -> Field:
    *relationships, name = path.split(".")
    for index, relationship in enumerate(relationships):
        fk = obj.relationships[relationship.lower()]
        targets = [OBJECTS[t] for t in fk.reference_to if t in OBJECTS]
        # A polymorphic reference (Owner: Group or User) goes to the object that has the next step.
        step = relationships[index + 1] if index + 1 < len(relationships) else name
        obj = next((t for t in targets if t.field(step) or step.lower() in t.relationships), targets[0])
    found = obj.field(name)
    if found is None:
        raise SalesforceError(500, "UNKNOWN_EXCEPTION", f"list view column {path} is not a field")
    return found


def _cell(row: dict[str, Any], path: str) -> str | None:
    value: Any = row
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_param(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise SalesforceError(
            400, "INVALID_QUERY_FILTER_OPERATOR", f"{name} must be between {low} and {high}"
        )
    return int(raw)
