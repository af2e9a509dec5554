"""Salesforce emulator: the OAuth web-server flow, the identity URL and the REST API subset
Cadence uses (describe, SOQL query with cursors, records, getUpdated/getDeleted, sObject
Collections, list views, limits), against a seeded org, "Sandbox Corp".

Layout: ``oauth``/``consent`` (login host), ``rest`` (session, budget, versions) mounting
``sobjects``/``query_api``/``composite``/``listviews`` (routes; their handler types in ``api``),
``soql``/``query``/``cursors`` (the query engine), ``schema``/``describe``/``values``/``records``
(objects and writes), ``store``/``demo``/``control`` (state, seed data, test helpers).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from integrations.sandbox.provider import SandboxProvider
from integrations.sandbox.routing import Request, Response, Router, text_response
from integrations.sandbox.salesforce import control, oauth, rest
from integrations.sandbox.salesforce.errors import (
    invalid_session,
    not_found,
    oauth_error,
    request_limit_exceeded,
    server_unavailable,
)
from integrations.sandbox.state import SandboxState


class SalesforceSandbox(SandboxProvider):
    name = "salesforce"

    def register_routes(self, router: Router) -> None:
        oauth.register_routes(router, provider=self.name)
        rest.register_routes(router, provider=self.name)

    def seed_defaults(self, state: SandboxState) -> None:
        # Nothing to do eagerly: demo.salesforce_store() builds Sandbox Corp on first use after a reset,
        # so tests that never call Salesforce do not pay for 5,500 records.
        return None

    def seed(self, state: SandboxState, data: Mapping[str, Any]) -> None:
        control.merge_seed(state, data)

    def fault_body(self, request: Request, status: int) -> Response | None:
        """Injected faults answer with Salesforce's own error shapes for that status."""
        if request.path.startswith("/services/oauth2/"):
            # The login host's answers to a refused refresh and to an outage.
            if status >= 500:
                return oauth_error("unknown_error", "retry your request", status=status)
            if status in (400, 401):
                return oauth_error("invalid_grant", "expired access/refresh token", status=status)
            return None
        if request.path.startswith("/id/"):
            return text_response(status, "Bad_OAuth_Token") if status in (401, 403) else None
        if status == 401:
            return invalid_session()
        if status == 403:
            return request_limit_exceeded()
        if status == 404:
            return not_found().response()
        if status >= 500:
            return server_unavailable(status)
        return None
