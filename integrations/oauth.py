"""The one OAuth ``state`` recipe every provider's connect flow uses (STYLE rule 3).

Starting a flow stores a random ``state`` in the person's session together with what it is for
(provider, organisation-wide or own connection, connect or reconnect, what the flow needs back)
and when it expires. The callback pops it — a state is good for one return only — and compares in
constant time, so a forged, replayed, expired or other-provider callback is refused before any
code is exchanged. ``callback_state`` and ``callback_declined`` are the callback's first steps,
worded per provider by a ``CallbackWording``.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import requests
from django.contrib import messages
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

from integrations.exceptions import ProviderAuthError, ProviderError, ProviderUnavailable
from integrations.http import ProviderSession

logger = logging.getLogger(__name__)

SESSION_KEY = "integrations.oauth_states"
STATE_TTL_SECONDS = 15 * 60
MAX_PENDING = 5  # a few tabs at once; older pending flows are dropped first


@dataclass(frozen=True)
class PendingAuthorization:
    provider: str
    scope: str  # Connection.Scope value
    purpose: str  # "connect" or "reconnect"
    return_to: str  # a path inside Cadence to go back to afterwards
    expires_at: float
    data: dict[str, Any] = field(default_factory=dict)  # what the provider's callback needs back


def state_begin(
    request: HttpRequest,
    *,
    provider: str,
    scope: str,
    purpose: str,
    return_to: str,
    data: dict[str, Any] | None = None,
) -> str:
    """A fresh state for an authorization redirect, remembered in the session with ``data``
    (JSON-serialisable) for the callback."""
    state = secrets.token_urlsafe(32)
    pending = _pending(request)
    now = time.time()
    pending = {k: v for k, v in pending.items() if v.get("expires_at", 0) > now}
    while len(pending) >= MAX_PENDING:
        pending.pop(min(pending, key=lambda k: pending[k]["expires_at"]))
    pending[state] = asdict(
        PendingAuthorization(
            provider=provider,
            scope=scope,
            purpose=purpose,
            return_to=return_to,
            expires_at=now + STATE_TTL_SECONDS,
            data=dict(data or {}),
        )
    )
    request.session[SESSION_KEY] = pending
    return state


def state_attach(request: HttpRequest, *, state: str, data: dict[str, Any]) -> None:
    """Add ``data`` to a pending state: what can only be built once the state exists (msal's
    flow, whose authorization URL carries it)."""
    pending = _pending(request)
    if state in pending:
        pending[state] = {**pending[state], "data": {**pending[state].get("data", {}), **data}}
        request.session[SESSION_KEY] = pending


def state_pop(request: HttpRequest, *, provider: str, state: str | None) -> PendingAuthorization | None:
    """The flow ``state`` belongs to, removed from the session; None when it is not one of ours
    (missing, unknown, expired, or started for another provider)."""
    pending = _pending(request)
    if not state or not pending:
        return None
    match = None
    for candidate in list(pending):
        # Compare against every pending state so timing does not reveal how many matched.
        if hmac.compare_digest(candidate.encode(), state.encode()):
            match = candidate
    if match is None:
        return None
    data = pending.pop(match)
    request.session[SESSION_KEY] = pending
    found = PendingAuthorization(**data)
    if found.provider != provider or found.expires_at < time.time():
        return None
    return found


def _pending(request: HttpRequest) -> dict[str, dict]:
    value = request.session.get(SESSION_KEY)
    return dict(value) if isinstance(value, dict) else {}


# --- The callback ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class CallbackWording:
    """What a provider's OAuth callback tells the person when it connects nothing."""

    log_event: str  # a refused state is logged as "<log_event>.state_refused"
    stale: str  # the state is not one this session started (forged, replayed, expired)
    cancelled: str  # ``error=access_denied``: the person said no
    failed: str  # any other ``error``; "{reason}" is the first line of its description
    no_code: str = ""  # neither an error nor a code came back ("" where the callback carries no code)
    cancelled_level: int = messages.INFO
    # Whether an ``access_denied`` with this ``error_description`` is the person saying no.
    is_cancel: Callable[[str], bool] = lambda description: True


def safe_return_url(request: HttpRequest, url: str, *, fallback: str) -> str:
    """``url`` when it stays on this site (a flow's ``return_to``), else ``fallback``."""
    local = url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return url if local else fallback


def callback_state(
    request: HttpRequest,
    wording: CallbackWording,
    *,
    provider: str,
    state: str | None,
    scope: str | None = None,
) -> PendingAuthorization | None:
    """The flow the callback's ``state`` belongs to, popped; None when it is refused (not one of
    ours, or not started for ``scope``) — the person is told and the refusal logged."""
    pending = state_pop(request, provider=provider, state=state)
    if pending is None or (scope is not None and pending.scope != scope):
        logger.warning(f"{wording.log_event}.state_refused", extra={"user_id": request.user.pk})
        messages.error(request, wording.stale)
        return None
    return pending


def callback_declined(request: HttpRequest, wording: CallbackWording) -> bool:
    """Whether the provider sent an ``error`` (RFC 6749 §4.1.2.1) or, where one is expected, no
    ``code``; the person is told which."""
    error = request.GET.get("error")
    if error:
        description = request.GET.get("error_description") or ""
        if error == "access_denied" and wording.is_cancel(description):
            messages.add_message(request, wording.cancelled_level, wording.cancelled)
        else:
            reason = description.splitlines()[0] if description else error
            messages.error(request, wording.failed.format(reason=reason))
        return True
    if wording.no_code and not request.GET.get("code"):
        messages.error(request, wording.no_code)
        return True
    return False


# --- The token endpoint ---------------------------------------------------------------------------
def token_post(
    url: str,
    form: dict[str, str],
    *,
    service: str,
    refused: frozenset[str],
    timeout: float,
    log_extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """POST an OAuth 2.0 token request (RFC 6749 §4.1.3, §6) and return its JSON.

    ``service`` names the provider's sign-in service in messages ("Google's sign-in service").
    OAuth errors in ``refused`` (the grant or client is no good) raise ``ProviderAuthError``;
    other 4xx raise ``ProviderError``; network failures and 5xx ``ProviderUnavailable``.
    """
    extra = {"token_url": url, **(log_extra or {})}
    with ProviderSession(timeout=timeout) as http:
        try:
            response = http.post(url, data=form, headers={"Accept": "application/json"})
        except requests.RequestException as exc:
            logger.warning("oauth.token.unreachable", extra={**extra, "error": type(exc).__name__})
            raise ProviderUnavailable(f"Could not reach {service} ({type(exc).__name__}).") from exc
    if response.status_code >= 500:
        logger.warning("oauth.token.failed", extra={**extra, "status": response.status_code})
        raise ProviderUnavailable(f"{service} failed (HTTP {response.status_code}).")
    if response.status_code >= 400:
        error, description = oauth_error(response)
        logger.warning("oauth.token.refused", extra={**extra, "error": error})
        if error in refused:
            raise ProviderAuthError(description, code=error)
        raise ProviderError(description, code=error)
    try:
        body = response.json()
    except ValueError as exc:
        raise ProviderError(f"{service} answered with something other than JSON.") from exc
    if not isinstance(body, dict):
        raise ProviderError(f"{service} answered with an unexpected shape.")
    return body


def oauth_error(response: requests.Response) -> tuple[str, str]:
    """(error, error_description) of an OAuth error response (RFC 6749 §5.2), whatever its body."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return f"http_{response.status_code}", f"HTTP {response.status_code}"
    error = str(body.get("error") or f"http_{response.status_code}")
    return error, str(body.get("error_description") or error)
