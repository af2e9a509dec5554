"""REST API plumbing under ``/services/data/``: versions, session check, API budget, error shape.

Every versioned route goes through ``api_route``: it answers 404 for an unknown version, 401
``INVALID_SESSION_ID`` for a missing/expired/revoked Bearer token, 403 ``API_DISABLED_FOR_ORG``
when the user's profile (or the org) has no API access, 403 ``REQUEST_LIMIT_EXCEEDED`` when the
daily budget is spent; otherwise it counts the call and runs the handler. Every answer carries
``Sforce-Limit-Info: api-usage=<used>/<max>``.
"""

# Reference: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_versions.htm
# Reference: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_api_usage.htm
# Reference: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_limits.htm

from __future__ import annotations

import re
from collections.abc import Callable

from integrations.sandbox.routing import Request, Response, Router, json_response
from integrations.sandbox.salesforce import composite, listviews, query_api, sobjects
from integrations.sandbox.salesforce.api import ApiHandler, Call
from integrations.sandbox.salesforce.demo import salesforce_store
from integrations.sandbox.salesforce.errors import (
    SalesforceError,
    api_disabled,
    invalid_session,
    not_found,
    request_limit_exceeded,
)
from integrations.sandbox.salesforce.store import SalesforceStore
from integrations.sandbox.state import SandboxState

LATEST_VERSION = 59
OLDEST_VERSION = 20
V = r"/services/data/v(?P<version>\d+\.\d)"
_SEASONS = ("Winter", "Spring", "Summer")


def release_label(version: int) -> str:
    """v53 was Winter '22 and three releases ship a year: v20 is Winter '11, v59 Winter '24."""
    offset = version - 53
    return f"{_SEASONS[offset % 3]} '{22 + offset // 3:02d}"


def versions() -> list[dict[str, str]]:
    return [
        {"label": release_label(v), "url": f"/services/data/v{v}.0", "version": f"{v}.0"}
        for v in range(OLDEST_VERSION, LATEST_VERSION + 1)
    ]


def limit_header(store: SalesforceStore) -> dict[str, str]:
    return {"Sforce-Limit-Info": f"api-usage={store.budget.used}/{store.budget.max}"}


def bearer_token(request: Request) -> str | None:
    # Salesforce takes "Bearer" and the older "OAuth" scheme alike.
    scheme, _, token = (request.header("Authorization") or "").partition(" ")
    return token.strip() or None if scheme.lower() in ("bearer", "oauth") else None


def api_route(name: str, handler: ApiHandler) -> Callable[[Request, SandboxState], Response]:
    """Wrap a REST handler with version, session, API-access and budget checks (see module doc)."""

    def run(request: Request, state: SandboxState) -> Response:
        store = salesforce_store(state)
        response = _checked(request, store, name, handler)
        response.headers.update(limit_header(store))
        return response

    return run


def _checked(request: Request, store: SalesforceStore, name: str, handler: ApiHandler) -> Response:
    version = request.params.get("version", "")
    major, _, minor = version.partition(".")
    if not (major.isdigit() and minor == "0" and OLDEST_VERSION <= int(major) <= LATEST_VERSION):
        return not_found().response()
    token = bearer_token(request)
    user_id = store.session_user(token) if token else None
    if user_id is None:
        return invalid_session()
    if not store.api_enabled(user_id):
        return api_disabled()
    store.budget.roll(store.clock.now())
    if store.budget.remaining <= 0:
        return request_limit_exceeded()
    store.budget.used += 1
    store.budget.calls[name] += 1
    try:
        return handler(request, store, Call(user_id=user_id, version=version))
    except SalesforceError as exc:
        return exc.response()


def register_routes(router: Router, *, provider: str) -> None:
    known: list[tuple[str, re.Pattern[str]]] = []

    def add(method: str, path: str, name: str, handler: ApiHandler) -> None:
        router.add(method, V + path, api_route(name, handler), provider=provider)
        known.append((method, re.compile(V + path)))

    router.add("GET", r"/services/data/?", list_versions, provider=provider)
    add("GET", r"/?", "resources", resources)
    add("GET", r"/limits/?", "limits", limits)
    query_api.register(add)
    listviews.register(add)  # before sobjects: "listviews" would otherwise match a record id
    sobjects.register(add)
    composite.register(add)
    unknown = api_route("unknown", lambda request, store, call: _unknown_resource(request, known))
    for method in ("GET", "POST", "PATCH", "PUT", "DELETE"):
        router.add(method, V + r"(?:/.*)?", unknown, provider=provider)
        router.add(method, r"/services/data/.*", _unversioned_not_found, provider=provider)


def _unknown_resource(request: Request, known: list[tuple[str, re.Pattern[str]]]) -> Response:
    """405 when another method serves this path, else Salesforce's NOT_FOUND."""
    allowed = sorted({m for m, pattern in known if pattern.fullmatch(request.path)})
    if allowed:
        return json_response(
            405,
            [{"errorCode": "METHOD_NOT_ALLOWED",
              "message": f"HTTP Method '{request.method}' not allowed. Allowed are {','.join(allowed)}"}],
            headers={"Allow": ", ".join(allowed)},
        )  # fmt: skip
    return not_found().response()


def _unversioned_not_found(request: Request, state: SandboxState) -> Response:
    response = not_found().response()
    response.headers.update(limit_header(salesforce_store(state)))
    return response


def list_versions(request: Request, state: SandboxState) -> Response:
    # Needs no session and costs no API call; the header still reports the budget.
    return json_response(200, versions(), headers=limit_header(salesforce_store(state)))


def resources(request: Request, store: SalesforceStore, call: Call) -> Response:
    base = f"/services/data/v{call.version}"
    names = ("sobjects", "query", "queryAll", "limits", "composite", "search", "recent", "tooling")
    return json_response(200, {name: f"{base}/{name}" for name in names})


def limits(request: Request, store: SalesforceStore, call: Call) -> Response:
    def pair(maximum: int, remaining: int | None = None) -> dict[str, int]:
        return {"Max": maximum, "Remaining": maximum if remaining is None else remaining}

    return json_response(
        200,
        {
            "ConcurrentAsyncGetReportInstances": pair(200),
            "ConcurrentSyncReportRuns": pair(20),
            "DailyApiRequests": pair(store.budget.max, store.budget.remaining),
            "DailyAsyncApexExecutions": pair(250000),
            "DailyBulkApiBatches": pair(15000),
            "DailyBulkV2QueryFileStorageMB": pair(976562),
            "DailyBulkV2QueryJobs": pair(10000),
            "DataStorageMB": pair(1024, 1012),
            "FileStorageMB": pair(10240, 10231),
            "HourlyODataCallout": pair(20000),
            "SingleEmail": pair(5000),
        },
    )
