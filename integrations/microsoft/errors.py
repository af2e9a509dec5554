"""How the Microsoft identity platform's failures map to the typed errors of
``integrations.exceptions`` (msal returns OAuth errors as dicts and raises for the rest). The calls
themselves (cached msal apps, delegated tokens) live in ``auth``; Graph's answers are mapped by
``error_from_graph``.

Nothing here knows whether ``MICROSOFT_LOGIN_URL`` points at Entra ID or at a local emulator.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

import requests
from requests.structures import CaseInsensitiveDict

from integrations.exceptions import (
    CursorExpired,
    MailboxAccessDenied,
    ProviderAuthError,
    ProviderError,
    ProviderThrottled,
    ProviderUnavailable,
)
from integrations.http import retry_after_seconds

OUTSIDE_POLICY = "This mailbox is outside the application access policy's security group"
# Error codes that mean a delta token can no longer be used: start a full round again.
# Reference: https://learn.microsoft.com/en-us/graph/delta-query-overview#synchronization-reset
CURSOR_CODES = frozenset(
    {"syncstatenotfound", "resyncrequired", "syncstateinvalid", "errorinvalidsyncstatedata"}
)
NO_MAILBOX_CODES = frozenset({"errorinvaliduser", "mailboxnotenabledforrestapi", "mailboxnotfound"})

# OAuth errors that mean the app registration or its secret no longer works: waiting cannot help.
AUTH_ERRORS = frozenset({"invalid_client", "unauthorized_client", "invalid_tenant", "invalid_grant"})
TENANT_NOT_FOUND = 90002


def error_from_result(result: dict[str, Any], response: requests.Response | None) -> ProviderError:
    """Map msal's error dict (it returns, not raises, OAuth errors) to a typed error."""
    code = str(result.get("error") or "unknown_error")
    message = _first_line(str(result.get("error_description") or code))
    status = response.status_code if response is not None else None
    retry_after = retry_after_seconds(response)
    if status == 429:
        return ProviderThrottled(message, retry_after=retry_after, code=code)
    if (status is not None and status >= 500) or code == "temporarily_unavailable":
        return ProviderUnavailable(message, retry_after=retry_after, code=code)
    if code in AUTH_ERRORS or TENANT_NOT_FOUND in (result.get("error_codes") or []):
        return ProviderAuthError(message, code=code)
    return ProviderError(message, code=code)


def error_from_response(response: requests.Response | None, *, fallback: str) -> ProviderError:
    """Map a failure msal raised for, using the HTTP response behind it when there was one."""
    if response is None or response.status_code < 400:
        # Refused before any request, or an answer msal could not use: a misconfiguration.
        return ProviderError(_first_line(fallback))
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {"error": f"http_{response.status_code}", "error_description": fallback}
    return error_from_result(body, response)


# Reference: https://learn.microsoft.com/en-us/graph/errors
def error_from_graph(status: int, headers: Mapping[str, str], body: Any, *, delegated: bool) -> ProviderError:
    """Map a failed Graph (sub-)response to a typed error; ``delegated`` when a user's own token
    was refused (app-only access is the one an application access policy can fence)."""
    error = (body or {}).get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    code = str(error.get("code") or f"http_{status}")
    message = str(error.get("message") or f"HTTP {status}")
    retry_after = retry_after_seconds(SimpleNamespace(headers=CaseInsensitiveDict(headers)))  # type: ignore[arg-type]
    failure: ProviderError
    if status == 429:
        failure = ProviderThrottled(
            f"Microsoft Graph asked Cadence to slow down ({message}).", retry_after=retry_after, code=code
        )
    elif status >= 500:
        failure = ProviderUnavailable(
            f"Microsoft Graph failed (HTTP {status}: {message}).", retry_after=retry_after, code=code
        )
    elif status == 410 or code.lower() in CURSOR_CODES:
        failure = CursorExpired(f"Microsoft Graph no longer knows this sync position ({code}).", code=code)
    elif status == 401:
        failure = ProviderAuthError(
            f"Microsoft Graph refused Cadence's access token ({code}: {message}). Reconnect Microsoft 365.",
            code=code,
        )
    elif status == 403 and code == "Authorization_RequestDenied":
        failure = ProviderAuthError(
            "Microsoft Graph refused the request: admin consent missing for the permission it "
            f"needs ({message}). A Microsoft admin needs to connect Cadence again.",
            code=code,
        )
    elif status == 403 and code == "ErrorAccessDenied" and not delegated:
        failure = MailboxAccessDenied(
            f"{OUTSIDE_POLICY}, so Microsoft does not let Cadence read or send from it.", code=code
        )
    elif status == 403:
        failure = ProviderAuthError(f"Microsoft Graph refused access ({code}: {message}).", code=code)
    elif code.lower() in NO_MAILBOX_CODES:
        failure = MailboxAccessDenied(
            f"Microsoft 365 has no mailbox Cadence can use for this user ({message}).", code=code
        )
    else:
        failure = ProviderError(f"Microsoft Graph answered HTTP {status}: {message}", code=code)
    failure.status = status  # type: ignore[attr-defined]
    return failure


def _first_line(text: str) -> str:
    # AADSTS descriptions append "\r\nTrace ID: …\r\nCorrelation ID: …"; the first line is the reason.
    return text.splitlines()[0] if text else text
