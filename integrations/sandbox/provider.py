"""What a sandbox provider package implements to plug into the shared server.

A provider (``integrations/sandbox/<name>/``) registers its routes on the router, seeds its demo
data into the state (at start and on every ``/_sandbox/reset``), accepts extra data from
``/_sandbox/seed``, and may shape the body of injected faults like its real counterpart does.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

from integrations.sandbox.routing import Request, Response, Router
from integrations.sandbox.state import SandboxState


class SeedError(ValueError):
    """The data posted to ``/_sandbox/seed`` does not fit the provider; answered with a 400."""


class SandboxProvider(ABC):
    #: The name used in ``/_sandbox/seed`` bodies and as the owner of its routes.
    name: str

    @abstractmethod
    def register_routes(self, router: Router) -> None: ...

    @abstractmethod
    def seed_defaults(self, state: SandboxState) -> None:
        """Load the demo data; called on a fresh (or just reset) state."""

    @abstractmethod
    def seed(self, state: SandboxState, data: Mapping[str, Any]) -> None:
        """Merge test data into the state; raise ``SeedError`` when it does not fit."""

    def fault_body(self, request: Request, status: int) -> Response | None:
        """The answer an injected fault without an explicit body gives on this provider's routes,
        so the client sees the error shape the real provider uses. None sends an empty body.
        """
        return None
