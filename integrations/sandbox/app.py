"""The transport-free heart of the sandbox: faults, routing, handler call and request log.

Kept apart from the HTTPS server so the dispatch order is in one readable place:
control API first (never faulted or logged), then injected faults, then the provider route.
Every handled request but a control-API read marks the state changed, so a sandbox with a state
file saves it soon after (reads too: Gmail counts calls, Salesforce moves cursors and budgets).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from integrations.sandbox import control_api
from integrations.sandbox.faults import Fault, FaultBook
from integrations.sandbox.provider import SandboxProvider
from integrations.sandbox.request_log import RequestLog
from integrations.sandbox.routing import (
    BadRequestBody,
    Request,
    Response,
    Router,
    empty_response,
    json_response,
)
from integrations.sandbox.state import SandboxState

logger = logging.getLogger(__name__)


class SandboxApp:
    def __init__(self, providers: Sequence[SandboxProvider]) -> None:
        self.providers: dict[str, SandboxProvider] = {p.name: p for p in providers}
        self.state = SandboxState()
        self.faults = FaultBook()
        self.request_log = RequestLog()
        self.router = Router()
        control_api.register_routes(self.router, self)
        for provider in self.providers.values():
            provider.register_routes(self.router)
        self.seed_defaults()

    def seed_defaults(self) -> None:
        with self.state.lock:
            for provider in self.providers.values():
                provider.seed_defaults(self.state)

    def reset(self) -> None:
        """Forget everything tests did: provider data, faults and the request log."""
        with self.state.lock:
            self.state.clear()
            self.seed_defaults()
        self.faults.clear()
        self.request_log.clear()

    def handle(self, request: Request) -> Response:
        if control_api.is_control_path(request.path):
            return self._dispatch(request)
        fault = self.faults.take(request.method, request.path)
        response = self._dispatch(request) if fault is None else self._apply_fault(fault, request)
        self.request_log.record(request, response.status)
        return response

    def _apply_fault(self, fault: Fault, request: Request) -> Response:
        logger.info(
            "sandbox.fault.applied",
            extra={"fault_id": fault.id, "path": request.path, "status": fault.status},
        )
        if fault.delay_seconds:
            time.sleep(fault.delay_seconds)
        if fault.status is None:
            return self._dispatch(request)
        if fault.body is not None:
            response = json_response(fault.status, fault.body)
        else:
            response = self._provider_fault_body(request, fault.status)
        response.headers.update(fault.headers)
        return response

    def _provider_fault_body(self, request: Request, status: int) -> Response:
        owner = self.providers.get(self.router.owner(request.path) or "")
        shaped = owner.fault_body(request, status) if owner else None
        if shaped is None:
            return empty_response(status)
        return Response(status=status, body=shaped.body, headers=dict(shaped.headers))

    def _dispatch(self, request: Request) -> Response:
        match = self.router.resolve(request.method, request.path)
        if match is None:
            allowed = self.router.allowed_methods(request.path)
            if allowed:
                return json_response(
                    405,
                    {"error": "method_not_allowed", "allowed": allowed},
                    headers={"Allow": ", ".join(allowed)},
                )
            return json_response(
                404,
                {
                    "error": "not_found",
                    "message": f"The sandbox has no route for {request.path}",
                },
            )
        request.params = match.params
        try:
            with self.state.lock:
                if not (match.route.provider == control_api.OWNER and request.method == "GET"):
                    self.state.mark_changed()
                return match.route.handler(request, self.state)
        except BadRequestBody as exc:
            return json_response(400, {"error": "bad_request", "message": str(exc)})
        except Exception:
            logger.exception(
                "sandbox.handler.failed",
                extra={"path": request.path, "provider": match.route.provider},
            )
            return json_response(500, {"error": "sandbox_handler_failed"})
