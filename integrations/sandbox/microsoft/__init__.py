"""Microsoft emulator: the identity platform (Entra ID) today; Graph routes join it later."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from integrations.sandbox.microsoft import directory, identity
from integrations.sandbox.microsoft.errors import aadsts_error
from integrations.sandbox.provider import SandboxProvider
from integrations.sandbox.routing import Request, Response, Router
from integrations.sandbox.state import SandboxState


class MicrosoftSandbox(SandboxProvider):
    name = "microsoft"

    def register_routes(self, router: Router) -> None:
        identity.register_routes(router, provider=self.name)

    def seed_defaults(self, state: SandboxState) -> None:
        directory.seed_demo(state)

    def seed(self, state: SandboxState, data: Mapping[str, Any]) -> None:
        directory.merge_seed(state, data)

    def fault_body(self, request: Request, status: int) -> Response | None:
        # Entra's throttling/outage codes (AADSTS90055 TenantThrottlingError, AADSTS90033
        # MsodsServiceUnavailable) from the error-code reference; exact bodies not seen live.
        # Reference: https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes
        if status == 429:
            return aadsts_error(
                request,
                status=status,
                error="temporarily_unavailable",
                code=90055,
                message="There are too many incoming requests. Please try again later.",
            )
        if status >= 500:
            return aadsts_error(
                request,
                status=status,
                error="temporarily_unavailable",
                code=90033,
                message="A transient error has occurred. Please try again.",
            )
        return None
