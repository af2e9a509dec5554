"""Calls to the Microsoft identity platform, one function per endpoint we use.

Every failure leaves as a typed error from ``integrations.exceptions``; nothing here knows whether
``MICROSOFT_LOGIN_URL`` points at Entra ID or at a local emulator.
"""

from __future__ import annotations

import logging
from typing import Any

import msal
import requests
from django.conf import settings

from integrations.exceptions import (
    ProviderAuthError,
    ProviderError,
    ProviderThrottled,
    ProviderUnavailable,
)
from integrations.http import ProviderSession, retry_after_seconds

logger = logging.getLogger(__name__)

# App-only tokens for Graph always ask for the resource's ".default" scope: the token carries
# whatever application permissions an admin consented to.
GRAPH_APP_SCOPE = "https://graph.microsoft.com/.default"
TIMEOUT_SECONDS = 30.0

# OAuth errors that mean the app registration or its secret no longer works: waiting cannot help.
AUTH_ERRORS = frozenset({"invalid_client", "unauthorized_client", "invalid_tenant", "invalid_grant"})
TENANT_NOT_FOUND = 90002


# Reference: https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow
# Reference: https://learn.microsoft.com/en-us/entra/msal/python/advanced/msal-python-client-credentials
def acquire_app_token(*, tenant_id: str, client_id: str, client_secret: str) -> str:
    """An app-only (client credentials) access token for Microsoft Graph in ``tenant_id``.

    Raises ``ProviderAuthError`` when Entra refuses the app (wrong or expired secret, unknown app
    or tenant), ``ProviderThrottled``/``ProviderUnavailable`` when it asks us to come back later.
    """
    log_extra = {"tenant_id": tenant_id, "client_id": client_id}
    http = ProviderSession(timeout=TIMEOUT_SECONDS)
    try:
        app = msal.ConfidentialClientApplication(
            client_id,
            client_credential=client_secret,
            authority=f"{settings.MICROSOFT_LOGIN_URL}/{tenant_id}",
            instance_discovery=False,
            # Our own session instead of msal's ``verify=``: it verifies against
            # PROVIDER_CA_BUNDLE per request and keeps the last response, whose Retry-After msal
            # does not pass on.
            http_client=http,
        )
        result = app.acquire_token_for_client(scopes=[GRAPH_APP_SCOPE])
    except requests.RequestException as exc:
        logger.warning("microsoft.app_token.unreachable", extra={**log_extra, "error": type(exc).__name__})
        raise ProviderUnavailable(
            f"Could not reach the Microsoft identity platform ({type(exc).__name__})."
        ) from exc
    except (msal.exceptions.MsalServiceError, ValueError, RuntimeError) as exc:
        # Discovery refused (unknown tenant → ValueError) or a 5xx (MsalServiceError).
        error = _error_from_response(http.last_response, fallback=str(exc))
        logger.warning("microsoft.app_token.failed", extra={**log_extra, "error": error.code})
        raise error from exc
    finally:
        http.close()

    if "access_token" in result:
        logger.info("microsoft.app_token.acquired", extra=log_extra)
        return str(result["access_token"])
    error = _error_from_result(result, http.last_response)
    logger.warning("microsoft.app_token.refused", extra={**log_extra, "error": error.code})
    raise error


def _error_from_result(result: dict[str, Any], response: requests.Response | None) -> ProviderError:
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


def _error_from_response(response: requests.Response | None, *, fallback: str) -> ProviderError:
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
    return _error_from_result(body, response)


def _first_line(text: str) -> str:
    # AADSTS descriptions append "\r\nTrace ID: …\r\nCorrelation ID: …"; the first line is the reason.
    return text.splitlines()[0] if text else text
