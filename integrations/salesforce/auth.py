"""Salesforce's OAuth 2.0 web-server flow: the authorize URL, the code exchange, the one refresh
helper, and revocation. Every call goes to ``settings.SALESFORCE_LOGIN_URL``.

Reference: https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_web_server_flow.htm
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlparse

import requests
from django.conf import settings

from integrations import services
from integrations.exceptions import ProviderAuthError, ProviderError, ProviderUnavailable
from integrations.http import ProviderSession
from integrations.models import Connection
from integrations.oauth import oauth_error, token_post

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 20.0
# Token endpoint errors that mean these credentials will never work again.
# Reference: https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_flow_errors.htm
REFUSED = frozenset(
    {"invalid_grant", "invalid_client", "unauthorized_client", "inactive_user", "inactive_org"}
)


@dataclass(frozen=True)
class TokenResult:
    access_token: str
    refresh_token: str
    instance_url: str
    identity_url: str
    issued_at: str
    org_id: str
    user_id: str

    def credentials(self) -> dict[str, str]:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "issued_at": self.issued_at,
        }


# ``api`` for REST, ``refresh_token`` for offline access, ``id`` for the identity URL.
# Reference: https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_tokens_scopes.htm
SCOPES = "api refresh_token id"


def _login_url() -> str:
    return settings.SALESFORCE_LOGIN_URL.rstrip("/")


# Reference: https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_web_server_flow.htm
def authorize_url() -> str:
    return f"{_login_url()}/services/oauth2/authorize"


def token_url() -> str:
    return f"{_login_url()}/services/oauth2/token"


# Reference: https://help.salesforce.com/s/articleView?id=sf.remoteaccess_revoke_token.htm
def revoke_url() -> str:
    return f"{_login_url()}/services/oauth2/revoke"


def authorization_url(*, state: str, redirect_uri: str) -> str:
    # ``prompt=login consent`` lets an admin pick which Salesforce user to connect as, even when a
    # browser session with Salesforce exists.
    query = {
        "response_type": "code",
        "client_id": settings.SALESFORCE_CLIENT_ID,
        "redirect_uri": redirect_uri,
        "state": state,
        "scope": SCOPES,
        "prompt": "login consent",
    }
    return f"{authorize_url()}?{urlencode(query)}"


# Reference: https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_web_server_flow.htm
def exchange_code(*, code: str, redirect_uri: str) -> TokenResult:
    body = _token_request(
        {
            "grant_type": "authorization_code",
            "code": code,
            "client_id": settings.SALESFORCE_CLIENT_ID,
            "client_secret": settings.SALESFORCE_CLIENT_SECRET,
            "redirect_uri": redirect_uri,
        },
        operation="code_exchange",
    )
    try:
        identity_url = str(body["id"])
        # The identity URL ends in /id/<orgId>/<userId>.
        org_id, user_id = urlparse(identity_url).path.rstrip("/").split("/")[-2:]
        return TokenResult(
            access_token=str(body["access_token"]),
            refresh_token=str(body.get("refresh_token") or ""),
            instance_url=str(body["instance_url"]).rstrip("/"),
            identity_url=identity_url,
            issued_at=str(body.get("issued_at") or ""),
            org_id=org_id,
            user_id=user_id,
        )
    except (KeyError, ValueError) as exc:
        raise ProviderError("Salesforce's token answer was missing fields Cadence needs.") from exc


# Reference: https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_refresh_token_flow.htm
def refresh_access_token(connection: Connection) -> str:
    """The one refresh helper: a new access token for ``connection``, written back to it.

    Refused (``invalid_grant``: revoked, expired, or the user lost access) → the connection is
    marked "needs reconnect" with the reason and ``ProviderAuthError`` is raised.
    """
    refresh_token = connection.get_credentials().get("refresh_token")
    if not refresh_token:
        reason = "Cadence holds no Salesforce refresh token for this connection. Reconnect Salesforce."
        services.connection_mark_needs_reconnect(connection=connection, reason=reason)
        raise ProviderAuthError(reason, code="no_refresh_token")
    try:
        body = _token_request(
            {
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
                "client_id": settings.SALESFORCE_CLIENT_ID,
                "client_secret": settings.SALESFORCE_CLIENT_SECRET,
                "format": "json",
            },
            operation="refresh",
        )
    except ProviderAuthError as exc:
        reason = f"Salesforce refused the refresh token ({exc}). An admin needs to reconnect Salesforce."
        if not connection.is_org_wide:
            reason = f"Salesforce refused the refresh token ({exc}). Reconnect your Salesforce account."
        services.connection_mark_needs_reconnect(
            connection=connection, reason=reason, error=f"{exc.code}: {exc}"
        )
        raise ProviderAuthError(reason, code=exc.code) from exc
    access_token = str(body.get("access_token") or "")
    if not access_token:
        raise ProviderError("Salesforce's refresh answer held no access token.")
    services.connection_store_tokens(
        connection=connection,
        access_token=access_token,
        issued_at=str(body.get("issued_at") or ""),
        # Salesforce only sends one when the connected app rotates refresh tokens.
        refresh_token=body.get("refresh_token"),
    )
    return access_token


# Reference: https://help.salesforce.com/s/articleView?id=sf.remoteaccess_revoke_token.htm
def revoke_token(token: str) -> None:
    """Revoke an access or refresh token (a refresh token takes its access tokens with it)."""
    with ProviderSession(timeout=TIMEOUT_SECONDS) as http:
        try:
            response = http.post(revoke_url(), data={"token": token})
        except requests.RequestException as exc:
            raise ProviderUnavailable(
                f"Could not reach Salesforce to revoke ({type(exc).__name__})."
            ) from exc
    if response.status_code >= 500:
        raise ProviderUnavailable(f"Salesforce failed to revoke (HTTP {response.status_code}).")
    if response.status_code >= 400:
        error, description = oauth_error(response)
        raise ProviderError(f"Salesforce did not revoke the token: {description}", code=error)


def _token_request(form: dict[str, str], *, operation: str) -> dict[str, Any]:
    return token_post(
        token_url(),
        form,
        service="Salesforce's login service",
        refused=REFUSED,
        timeout=TIMEOUT_SECONDS,
        log_extra={"provider": "salesforce", "operation": operation},
    )
