"""How Cadence talks to Google: httplib2 trusting ``settings.PROVIDER_CA_BUNDLE`` under
google-auth's ``AuthorizedHttp``, and the one place that turns Google's failures into the typed
errors of ``integrations.exceptions``.

Mapping (provider-facts A1-A3, A5-A7):
- 401 after the one refresh ``AuthorizedHttp`` makes → ``ProviderAuthError``;
- 403 ``insufficientPermissions`` → ``ProviderAuthError`` (a scope was not granted/authorised);
- 429, or 403 ``rateLimitExceeded``/``userRateLimitExceeded`` → ``ProviderThrottled`` with
  Retry-After when Google sent one;
- 5xx, timeouts, connection and TLS failures → ``ProviderUnavailable``;
- the cursor errors the caller names (Gmail history 404, Calendar 410, People
  ``EXPIRED_SYNC_TOKEN``) → ``CursorExpired``;
- 400 ``failedPrecondition`` (Gmail not enabled for the user) → ``MailboxAccessDenied``;
- anything else → ``ProviderError`` with Google's message.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any, TypeVar

import google.auth.credentials
import google.auth.exceptions
import google.auth.transport.requests
import google_auth_httplib2
import httplib2
from django.conf import settings
from googleapiclient.errors import HttpError

from integrations.exceptions import (
    CursorExpired,
    MailboxAccessDenied,
    ProviderAuthError,
    ProviderError,
    ProviderThrottled,
    ProviderUnavailable,
)
from integrations.http import ProviderSession, retry_after_seconds

logger = logging.getLogger(__name__)

T = TypeVar("T")

TIMEOUT_SECONDS = 30.0
RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
# Reference: https://developers.google.com/people/api/rest/v1/people.connections/list (syncToken)
EXPIRED_SYNC_TOKEN = "EXPIRED_SYNC_TOKEN"
# Transport failures httplib2 lets through (it wraps few of them in HttpLib2Error).
# (timeouts, refused connections and TLS failures are all OSErrors).
NETWORK_ERRORS: tuple[type[BaseException], ...] = (
    httplib2.HttpLib2Error,
    OSError,
    google.auth.exceptions.TransportError,
)


def authorized_http(credentials: google.auth.credentials.Credentials) -> google_auth_httplib2.AuthorizedHttp:
    """An httplib2 transport that adds ``credentials`` to every request and, on a 401, refreshes
    them once and replays the request (provider-facts A1)."""
    ca_bundle = settings.PROVIDER_CA_BUNDLE
    http = httplib2.Http(ca_certs=str(ca_bundle) if ca_bundle else None, timeout=TIMEOUT_SECONDS)
    return google_auth_httplib2.AuthorizedHttp(credentials, http=http, max_refresh_attempts=1)


@contextlib.contextmanager
def token_transport() -> Iterator[google.auth.transport.requests.Request]:
    """google-auth's transport for token endpoint calls (refresh, JWT bearer grant), over
    ``ProviderSession`` so it trusts ``PROVIDER_CA_BUNDLE`` and never hangs."""
    session = ProviderSession(timeout=TIMEOUT_SECONDS)
    try:
        yield google.auth.transport.requests.Request(session=session)
    finally:
        session.close()


def execute(
    call: Callable[[], T],
    *,
    what: str,
    cursor_statuses: tuple[int, ...] = (),
) -> T:
    """Run ``call`` (usually ``request.execute``) and map what Google answered.

    ``what`` names the call in messages and logs ("Gmail history"); ``cursor_statuses`` are the
    HTTP statuses that mean the sync cursor passed in is no longer valid.
    """
    try:
        return call()
    except HttpError as exc:
        raise error_from_http(exc, what=what, cursor_statuses=cursor_statuses) from exc
    except google.auth.exceptions.RefreshError as exc:
        raise ProviderAuthError(f"Google refused Cadence's credentials for {what}: {exc.args[0]}") from exc
    except NETWORK_ERRORS as exc:
        logger.warning("google.api.unreachable", extra={"what": what, "error": type(exc).__name__})
        raise ProviderUnavailable(f"Could not reach Google for {what} ({type(exc).__name__}).") from exc


def error_from_http(exc: HttpError, *, what: str, cursor_statuses: tuple[int, ...] = ()) -> ProviderError:
    status = int(exc.resp.status)
    reasons, details = error_reasons(exc.content)
    message = exc.reason or f"HTTP {status}"
    retry_after = retry_after_of(exc.resp)
    code = reasons[0] if reasons else f"http_{status}"
    logger.warning("google.api.failed", extra={"what": what, "status": status, "reason": code})
    if status in cursor_statuses or EXPIRED_SYNC_TOKEN in details:
        return CursorExpired(f"{what}: the sync cursor is no longer valid ({message}).", code=code)
    if is_throttled(status, reasons):
        return ProviderThrottled(
            f"Google asked Cadence to slow down ({what}: {message}).", retry_after=retry_after, code=code
        )
    if status >= 500:
        return ProviderUnavailable(
            f"Google failed to answer {what} (HTTP {status}: {message}).", retry_after=retry_after, code=code
        )
    if status == 401:
        return ProviderAuthError(f"Google refused Cadence's credentials for {what} ({message}).", code=code)
    if status == 403 and "insufficientPermissions" in reasons:
        return ProviderAuthError(
            f"Google did not grant Cadence the access {what} needs ({message}). An administrator "
            "must authorise the scopes Cadence asks for.",
            code=code,
        )
    if status == 400 and "failedPrecondition" in reasons:
        return MailboxAccessDenied(
            f"Google refused {what} for this mailbox ({message}): is the Google service enabled for "
            "this user?",
            code=code,
        )
    return ProviderError(f"Google refused {what} (HTTP {status}: {message}).", code=code)


def is_throttled(status: int, reasons: list[str]) -> bool:
    """Google asks Cadence to slow down: 429, or 403 with a rate-limit reason (A5)."""
    return status == 429 or (status == 403 and bool(RATE_LIMIT_REASONS.intersection(reasons)))


def error_reasons(content: bytes | str | None) -> tuple[list[str], set[str]]:
    """(``errors[].reason`` values, ``details[].reason`` values) of a Google error body."""
    try:
        body = json.loads(content or b"")
    except (TypeError, ValueError):
        return [], set()
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return [], set()
    reasons = [
        str(e.get("reason")) for e in error.get("errors") or [] if isinstance(e, dict) and e.get("reason")
    ]
    details = {
        str(d.get("reason")) for d in error.get("details") or [] if isinstance(d, dict) and d.get("reason")
    }
    return reasons, details


def retry_after_of(resp: Any) -> float | None:
    """Retry-After of an httplib2 response (its header names are lower-cased)."""
    value = resp.get("retry-after") if hasattr(resp, "get") else None
    if not value:
        return None
    return retry_after_seconds(SimpleNamespace(headers={"Retry-After": value}))  # type: ignore[arg-type]
