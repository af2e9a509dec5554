"""What every Graph request goes through before its route: throttling and latency (outside the
state lock), the bearer token, tenant-wide admin consent for app-only tokens, whose mailbox or
directory object the path names, the permission the route needs, and application access policies.
"""

# Reference: https://learn.microsoft.com/en-us/graph/auth-limit-mailbox-access
# Reference: https://learn.microsoft.com/en-us/graph/auth/auth-concepts#microsoft-graph-permissions

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote

from integrations.sandbox.faults import Fault
from integrations.sandbox.microsoft.directory import (
    KNOWN_RESOURCES,
    Directory,
    IssuedToken,
    User,
    directory,
)
from integrations.sandbox.microsoft.graph import errors
from integrations.sandbox.microsoft.graph.policy import mailbox_access_denied
from integrations.sandbox.microsoft.graph.throttle import Key, released, throttle
from integrations.sandbox.microsoft.mailboxes import Mailbox, MailStore, mail_store
from integrations.sandbox.microsoft.permissions import NEEDS
from integrations.sandbox.routing import Handler, Request, Response, json_response
from integrations.sandbox.state import SandboxState

Kind = Literal["directory", "user", "mailbox"]
NOT_A_JWT = (
    "IDX14100: JWT is not well formed, there are no dots (.).\nThe token needs to be in JWS or JWE "
    "Compact Serialization Format. (JWS): 'EncodedHeader.EndcodedPayload.EncodedSignature'. (JWE): "
    "'EncodedProtectedHeader.EncodedEncryptedKey.EncodedInitializationVector.EncodedCiphertext."
    "EncodedAuthenticationTag'."
)


@dataclass
class Target:
    """The authenticated caller and, for per-user routes, the user the path names."""

    token: IssuedToken
    directory: Directory
    store: MailStore
    user: User | None

    @property
    def mailbox(self) -> Mailbox:
        assert self.user is not None
        return self.store.mailbox(self.user)


GraphHandler = Callable[[Request, SandboxState, Target], Response]


# Set while a $batch runs its sub-requests: the batch took their throttle slots and latency.
IN_BATCH: ContextVar[bool] = ContextVar("microsoft_graph_in_batch", default=False)


def graph_route(fn: GraphHandler, *, need: str, kind: Kind) -> Handler:
    def handler(request: Request, state: SandboxState) -> Response:
        request.params = {k: unquote(v) for k, v in request.params.items() if v is not None}
        store = mail_store(state)
        fault = store.faults.take(request.method, request.path)
        if fault is not None and fault.status is not None:
            return _faulted(request, state, fault)
        if IN_BATCH.get():
            return _run(fn, request, state, need=need, kind=kind)
        options = store.options
        key = throttle_key(request, state) if kind == "mailbox" else None
        book = throttle(state)
        entered = False
        with released(state.lock):
            if key is not None:
                refusal = book.enter(
                    key, concurrency=options.mailbox_concurrency, budget=options.mailbox_limit
                )
                if refusal is not None:
                    return _throttled(request, refusal.reason, refusal.retry_after)
                entered = True
            try:
                delay = options.latency_ms / 1000 + (fault.delay_seconds if fault is not None else 0)
                if delay:
                    time.sleep(delay)
            except BaseException:
                if entered:
                    book.leave(key)  # type: ignore[arg-type]
                raise
        try:
            return _run(fn, request, state, need=need, kind=kind)
        finally:
            if entered:
                book.leave(key)  # type: ignore[arg-type]

    return handler


def _run(fn: GraphHandler, request: Request, state: SandboxState, *, need: str, kind: Kind) -> Response:
    target = _authorize(request, state, need=need, kind=kind)
    return target if isinstance(target, Response) else fn(request, state, target)


def _faulted(request: Request, state: SandboxState, fault: Fault) -> Response:
    if fault.delay_seconds:
        with released(state.lock):
            time.sleep(fault.delay_seconds)
    assert fault.status is not None
    if fault.body is not None:
        response = json_response(fault.status, fault.body)
    else:
        response = errors.fault_body(request, fault.status) or Response(status=fault.status)
    response.headers.update(fault.headers)
    return response


def throttle_key(request: Request, state: SandboxState) -> Key | None:
    """(app, mailbox) of a mailbox request, from its bearer token and path; None if unauthenticated."""
    token = _bearer(request)
    issued = directory(state).access_tokens.get(token or "")
    if issued is None:
        return None
    named = request.params.get("user")
    if named is None:
        return (issued.client_id, issued.user_id or "")
    named = unquote(named)
    user = directory(state).find_user(named, issued.tenant_id)
    return (issued.client_id, user.id if user else named.lower())


def _throttled(request: Request, reason: str, retry_after: int) -> Response:
    if reason == "concurrency":
        return errors.throttled(request, message="Application is over its MailboxConcurrency limit.",
                                retry_after=retry_after)  # fmt: skip
    # The per-mailbox request budget; the body follows Graph's generic throttling example.
    return errors.throttled(request, message="Please retry again later.", retry_after=retry_after,
                            code="TooManyRequests")  # fmt: skip


def _authorize(request: Request, state: SandboxState, *, need: str, kind: Kind) -> Target | Response:
    store = directory(state)
    token = _bearer(request)
    if not token:
        return errors.invalid_token(request, "Access token is empty.")
    issued = store.access_tokens.get(token)
    if issued is None:
        return errors.invalid_token(
            request, NOT_A_JWT if token.count(".") != 2 else "Access token validation failure."
        )
    if issued.expires_at <= dt.datetime.now(dt.UTC):
        return errors.invalid_token(request, "Lifetime validation failed, the token is expired.")
    if issued.resource not in KNOWN_RESOURCES:
        return errors.invalid_token(request, "Access token validation failure. Invalid audience.")
    if issued.app_only and not store.has_consent(issued.tenant_id, issued.client_id):
        # No admin has consented in this tenant: the service principal holds no app roles.
        return errors.insufficient_privileges(request)
    target = Target(token=issued, directory=store, store=mail_store(state), user=None)
    if kind == "directory":
        return target if _granted(issued, need) else errors.insufficient_privileges(request)
    user = _named_user(request, store, issued, kind)
    if isinstance(user, Response):
        return user
    target.user = user
    own = issued.user_id == user.id
    if kind == "user":
        wanted = "me" if own else need
        return target if _granted(issued, wanted) else errors.insufficient_privileges(request)
    if not issued.app_only and not own:
        return errors.mailbox_access_denied(request)  # delegated tokens reach only their own mailbox
    if not _granted(issued, need):
        return errors.mailbox_access_denied(request)
    if not user.has_mailbox:
        return errors.graph_error(request, 404, "MailboxNotEnabledForRESTAPI",
                                  "The mailbox is either inactive, soft-deleted, or is hosted on-premise.")  # fmt: skip
    if issued.app_only and mailbox_access_denied(
        store, tenant_id=issued.tenant_id, client_id=issued.client_id, user_id=user.id
    ):
        return errors.access_policy_denied(request)
    return target


def _named_user(request: Request, store: Directory, issued: IssuedToken, kind: Kind) -> User | Response:
    named = request.params.get("user")
    if named is None:  # /me
        if issued.app_only:
            return errors.bad_request(
                request, "/me request is only valid with delegated authentication flow."
            )
        user = store.users.get(issued.user_id or "")
        return user if user is not None else errors.invalid_token(request, "Access token validation failure.")
    user = store.find_user(named, issued.tenant_id)
    if user is None:
        return (
            errors.invalid_user(request, named)
            if kind == "mailbox"
            else errors.resource_not_found(request, named)
        )
    return user


def _granted(issued: IssuedToken, need: str) -> bool:
    held = issued.roles if issued.app_only else issued.scopes
    return bool(NEEDS[need] & set(held))


def _bearer(request: Request) -> str | None:
    scheme, _, value = (request.header("Authorization") or "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None
