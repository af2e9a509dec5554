"""``GET query/?q=``, ``GET queryAll/?q=`` and their ``nextRecordsUrl`` pages."""

# Reference: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_query.htm
# Reference: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_queryall.htm

from __future__ import annotations

from collections.abc import Callable

from integrations.sandbox.routing import Request, Response, json_response
from integrations.sandbox.salesforce.api import ApiHandler, Call
from integrations.sandbox.salesforce.cursors import batch_size, next_page, run_query
from integrations.sandbox.salesforce.errors import SalesforceError
from integrations.sandbox.salesforce.store import SalesforceStore


def register(add: Callable[[str, str, str, ApiHandler], None]) -> None:
    add("GET", r"/query/?", "query", query)
    add("GET", r"/queryAll/?", "queryAll", query_all)
    add(
        "GET",
        r"/(?P<endpoint>query|queryAll)/(?P<locator>01g[A-Za-z0-9]+)-(?P<offset>\d+)/?",
        "query_more",
        more,
    )


def query(request: Request, store: SalesforceStore, call: Call) -> Response:
    return _run(request, store, call, include_deleted=False)


def query_all(request: Request, store: SalesforceStore, call: Call) -> Response:
    return _run(request, store, call, include_deleted=True)


def _run(request: Request, store: SalesforceStore, call: Call, *, include_deleted: bool) -> Response:
    text = request.query_param("q")
    if not text or not text.strip():
        raise SalesforceError(400, "MALFORMED_QUERY", "A query string has to be specified")
    body = run_query(
        store,
        text,
        version=call.version,
        user_id=call.user_id,
        include_deleted=include_deleted,
        batch=batch_size(request.header("Sforce-Query-Options")),
    )
    return json_response(200, body)


def more(request: Request, store: SalesforceStore, call: Call) -> Response:
    body = next_page(
        store,
        request.params["locator"],
        int(request.params["offset"]),
        version=call.version,
        user_id=call.user_id,
    )
    return json_response(200, body)
