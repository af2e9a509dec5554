"""The JSON control API under ``/_sandbox/`` that tests (through ``SandboxControl``) drive.

- ``GET    /_sandbox/health``   — liveness and the providers served.
- ``POST   /_sandbox/reset``    — clear all state, faults and the request log; re-seed demo data.
- ``POST   /_sandbox/seed``     — ``{"provider": name, "data": {...}}`` merged into that provider's state.
- ``POST   /_sandbox/faults``   — inject a fault (see ``faults.parse_fault``); ``GET`` lists them.
- ``DELETE /_sandbox/faults``   — drop every pending fault.
- ``GET    /_sandbox/requests`` — the request log (credentials redacted); ``DELETE`` empties it.

Control requests are never faulted and never logged, so they cannot disturb what a test asserts.
"""

from __future__ import annotations

from typing import Protocol

from integrations.sandbox.faults import FaultBook, InvalidFault
from integrations.sandbox.provider import SandboxProvider, SeedError
from integrations.sandbox.request_log import RequestLog
from integrations.sandbox.routing import Request, Response, Router, json_response
from integrations.sandbox.state import SandboxState

PREFIX = "/_sandbox/"
OWNER = "_sandbox"


class ControlledApp(Protocol):
    """What the control API drives: ``app.SandboxApp`` (which imports this module, not the reverse)."""

    providers: dict[str, SandboxProvider]
    faults: FaultBook
    request_log: RequestLog

    def reset(self) -> None: ...


def is_control_path(path: str) -> bool:
    return path.startswith(PREFIX)


def register_routes(router: Router, app: ControlledApp) -> None:
    def health(request: Request, state: SandboxState) -> Response:
        return json_response(200, {"ok": True, "providers": sorted(app.providers)})

    def reset(request: Request, state: SandboxState) -> Response:
        app.reset()
        return json_response(200, {"ok": True})

    def seed(request: Request, state: SandboxState) -> Response:
        payload = request.json()
        if not isinstance(payload, dict):
            return _invalid("body must be {'provider': name, 'data': {...}}")
        provider = app.providers.get(payload.get("provider", ""))
        if provider is None:
            return _invalid(f"unknown provider; known: {sorted(app.providers)}")
        data = payload.get("data") or {}
        if not isinstance(data, dict):
            return _invalid("'data' must be a JSON object")
        try:
            provider.seed(state, data)
        except SeedError as exc:
            return _invalid(str(exc))
        return json_response(200, {"ok": True, "provider": provider.name})

    def add_fault(request: Request, state: SandboxState) -> Response:
        try:
            fault = app.faults.add(request.json())
        except InvalidFault as exc:
            return _invalid(str(exc))
        return json_response(201, fault.as_json())

    def list_faults(request: Request, state: SandboxState) -> Response:
        return json_response(200, {"faults": [fault.as_json() for fault in app.faults.list()]})

    def clear_faults(request: Request, state: SandboxState) -> Response:
        return json_response(200, {"cleared": app.faults.clear()})

    def list_requests(request: Request, state: SandboxState) -> Response:
        return json_response(200, {"requests": app.request_log.entries()})

    def clear_requests(request: Request, state: SandboxState) -> Response:
        app.request_log.clear()
        return json_response(200, {"ok": True})

    router.add("GET", r"/_sandbox/health", health, provider=OWNER)
    router.add("POST", r"/_sandbox/reset", reset, provider=OWNER)
    router.add("POST", r"/_sandbox/seed", seed, provider=OWNER)
    router.add("POST", r"/_sandbox/faults", add_fault, provider=OWNER)
    router.add("GET", r"/_sandbox/faults", list_faults, provider=OWNER)
    router.add("DELETE", r"/_sandbox/faults", clear_faults, provider=OWNER)
    router.add("GET", r"/_sandbox/requests", list_requests, provider=OWNER)
    router.add("DELETE", r"/_sandbox/requests", clear_requests, provider=OWNER)


def _invalid(message: str) -> Response:
    return json_response(400, {"error": "invalid_control_request", "message": message})
