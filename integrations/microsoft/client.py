"""What every call to the Microsoft identity platform shares: Graph's app scope, the timeout, and
the mapping of msal's failures to the typed errors of ``integrations.exceptions``. The calls
themselves (cached msal apps, delegated tokens) live in ``identity``.

Nothing here knows whether ``MICROSOFT_LOGIN_URL`` points at Entra ID or at a local emulator.
"""

from __future__ import annotations

from typing import Any

import requests

from integrations.exceptions import (
    ProviderAuthError,
    ProviderError,
    ProviderThrottled,
    ProviderUnavailable,
)
from integrations.http import retry_after_seconds

# App-only tokens for Graph always ask for the resource's ".default" scope: the token carries
# whatever application permissions an admin consented to.
GRAPH_APP_SCOPE = "https://graph.microsoft.com/.default"
TIMEOUT_SECONDS = 30.0

# OAuth errors that mean the app registration or its secret no longer works: waiting cannot help.
AUTH_ERRORS = frozenset({"invalid_client", "unauthorized_client", "invalid_tenant", "invalid_grant"})
TENANT_NOT_FOUND = 90002


def acquire_app_token(*, tenant_id: str, client_id: str, client_secret: str) -> str:
    """An app-only (client credentials) access token for Microsoft Graph in ``tenant_id``.

    The older name of ``identity.app_token``, which it calls: one cached msal app per tenant and
    credentials, so a token fetched here is the one the Graph client uses next. Raises
    ``ProviderAuthError`` when Entra refuses the app (wrong or expired secret, unknown app or
    tenant), ``ProviderThrottled``/``ProviderUnavailable`` when it asks us to come back later.
    """
    from integrations.microsoft import identity  # identity builds on this module's error mapping

    return identity.app_token(tenant_id=tenant_id, client_id=client_id, client_secret=client_secret)


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


def _first_line(text: str) -> str:
    # AADSTS descriptions append "\r\nTrace ID: …\r\nCorrelation ID: …"; the first line is the reason.
    return text.splitlines()[0] if text else text
