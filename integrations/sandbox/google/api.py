"""What every Google API route does before its handler: the bearer token, the method's scopes (as
the bundled discovery documents list them), Gmail's per-user quota and the call counter.

Handlers are ``(request, store, grant) -> Response`` and raise ``GoogleApiError`` for the error
bodies; ``routes()`` collects them so the batch endpoint can dispatch its parts to the same code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from integrations.sandbox.google.demo import google_store
from integrations.sandbox.google.discovery import method_scopes
from integrations.sandbox.google.errors import (
    GoogleApiError,
    failed_precondition,
    insufficient_scopes,
    invalid_credentials,
)
from integrations.sandbox.google.store import AccessGrant, GoogleStore, User
from integrations.sandbox.routing import BadRequestBody, Handler, Request, Response
from integrations.sandbox.state import SandboxState

ApiHandler = Callable[[Request, GoogleStore, AccessGrant], Response]


@dataclass(frozen=True)
class ApiRoute:
    method: str
    path: str  # regex, matched in full
    method_id: str  # the discovery id, e.g. "gmail.users.messages.list"
    handler: ApiHandler


def bearer_grant(request: Request, store: GoogleStore) -> AccessGrant | None:
    scheme, _, token = (request.header("Authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        token = request.query_param("access_token") or ""
    return store.access_grant(token.strip()) if token else None


def wrap(route: ApiRoute) -> Handler:
    needed = method_scopes(route.method_id)

    def handle(request: Request, state: SandboxState) -> Response:
        store = google_store(state)
        grant = bearer_grant(request, store)
        if grant is None:
            return invalid_credentials()
        request.params = {key: unquote(value) for key, value in request.params.items()}
        try:
            if not grant.scopes & needed:
                raise insufficient_scopes()
            store.calls[(grant.email or "", route.method_id)] += 1
            if route.method_id.startswith("gmail.") and grant.email:
                store.quota.charge(grant.email, route.method_id, store.clock.now())
            return route.handler(request, store, grant)
        except GoogleApiError as exc:
            return exc.response()

    return handle


def acting_user(store: GoogleStore, grant: AccessGrant, user_id: str) -> User:
    """The user a Gmail/Calendar/People call acts for: ``me`` or the token's own address."""
    if grant.email is None:
        raise failed_precondition()
    user = store.user(grant.email)
    if user is None or user.suspended:
        raise failed_precondition()
    if user_id != "me" and user_id.lower() not in (user.email, user.id):
        raise GoogleApiError(403, "forbidden", f"Delegation denied for {user.email}")
    return user


def has_only(grant: AccessGrant, scope_suffix: str, among: frozenset[str]) -> bool:
    """True when, of the scopes that allow a method, the token holds only ``…/<scope_suffix>``."""
    held = grant.scopes & among
    return bool(held) and all(scope.endswith("/" + scope_suffix) for scope in held)


def json_body(request: Request) -> dict[str, Any]:
    try:
        body = request.json()
    except BadRequestBody as exc:
        raise GoogleApiError(400, "parseError", "Parse Error") from exc
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise GoogleApiError(400, "parseError", "Parse Error")
    return body
