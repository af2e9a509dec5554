"""Google's OAuth 2.0 web-server flow: the authorization URL, the code exchange, userinfo, the one
refresh helper, and revocation. Every call goes to the ``settings.GOOGLE_*_URL`` endpoints.

Reference: https://developers.google.com/identity/protocols/oauth2/web-server
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import google.auth.credentials
import google.auth.exceptions
import google.oauth2.credentials
import requests
from django.conf import settings
from django.utils import timezone

from integrations import services
from integrations.exceptions import ProviderAuthError, ProviderError, ProviderUnavailable
from integrations.google.errors import TIMEOUT_SECONDS, token_transport
from integrations.http import ProviderSession
from integrations.models import Connection
from integrations.oauth import oauth_error, token_post

logger = logging.getLogger(__name__)

# Token endpoint errors that mean these credentials will never work again (provider-facts A1, A2).
# Reference: https://developers.google.com/identity/protocols/oauth2/web-server#exchange-errors
REFUSED = frozenset(
    {
        "invalid_grant",
        "invalid_client",
        "unauthorized_client",
        "deleted_client",
        "disabled_client",
        "org_internal",
    }
)
DEFAULT_LIFETIME_SECONDS = 3599


@dataclass(frozen=True)
class TokenResult:
    access_token: str
    refresh_token: str
    expires_in: int
    scopes: tuple[str, ...]
    issued_at: dt.datetime

    @property
    def expires_at(self) -> dt.datetime:
        return self.issued_at + dt.timedelta(seconds=self.expires_in)

    def credentials(self) -> dict[str, Any]:
        """What a ``Connection`` stores (encrypted)."""
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "issued_at": self.issued_at.isoformat(),
            "expires_in": self.expires_in,
            "expires_at": self.expires_at.isoformat(),
            "scopes": list(self.scopes),
        }


def authorization_url(*, state: str, redirect_uri: str, scopes: tuple[str, ...], login_hint: str = "") -> str:
    # ``access_type=offline`` + ``prompt=consent``: Google sends a refresh token every time, even
    # when the person consented before (provider-facts A1).
    query = {
        "response_type": "code",
        "client_id": settings.GOOGLE_CLIENT_ID,
        "redirect_uri": redirect_uri,
        "scope": " ".join(scopes),
        "state": state,
        "access_type": "offline",
        "prompt": "consent",
    }
    if login_hint:
        query["login_hint"] = login_hint
    return f"{settings.GOOGLE_AUTH_URL}?{urlencode(query)}"


# Reference: https://developers.google.com/identity/protocols/oauth2/web-server#exchange-authorization-code
def exchange_code(*, code: str, redirect_uri: str) -> TokenResult:
    issued_at = timezone.now()
    body = _token_request(
        {
            "grant_type": "authorization_code",
            "code": code,
            "client_id": settings.GOOGLE_CLIENT_ID,
            "client_secret": settings.GOOGLE_CLIENT_SECRET,
            "redirect_uri": redirect_uri,
        }
    )
    access_token = str(body.get("access_token") or "")
    if not access_token:
        raise ProviderError("Google's token answer held no access token.")
    try:
        expires_in = int(body.get("expires_in") or DEFAULT_LIFETIME_SECONDS)
    except (TypeError, ValueError):
        expires_in = DEFAULT_LIFETIME_SECONDS
    return TokenResult(
        access_token=access_token,
        refresh_token=str(body.get("refresh_token") or ""),
        expires_in=expires_in,
        scopes=tuple(str(body.get("scope") or "").split()),
        issued_at=issued_at,
    )


# Reference: https://developers.google.com/identity/openid-connect/openid-connect#obtaininguserprofileinformation
def userinfo(access_token: str) -> dict[str, Any]:
    """Who signed in: ``sub``, ``email``, ``email_verified``, ``name`` and ``hd`` (the Workspace
    domain; absent for personal accounts)."""
    with ProviderSession(timeout=TIMEOUT_SECONDS) as http:
        try:
            response = http.get(
                settings.GOOGLE_USERINFO_URL, headers={"Authorization": f"Bearer {access_token}"}
            )
        except requests.RequestException as exc:
            raise ProviderUnavailable(f"Could not reach Google ({type(exc).__name__}).") from exc
    if response.status_code >= 500:
        raise ProviderUnavailable(f"Google's sign-in service failed (HTTP {response.status_code}).")
    if response.status_code in (401, 403):
        raise ProviderAuthError(
            "Google did not accept the fresh sign-in token.", code=f"http_{response.status_code}"
        )
    if response.status_code >= 400:
        raise ProviderError(f"Google did not say who signed in (HTTP {response.status_code}).")
    try:
        body = response.json()
    except ValueError as exc:
        raise ProviderError("Google's userinfo answer was not JSON.") from exc
    if not isinstance(body, dict) or not body.get("email"):
        raise ProviderError("Google did not say which account signed in.")
    return body


def token_expiry(credentials: dict[str, Any]) -> dt.datetime | None:
    """When the stored access token expires (aware), or None when unknown: ``expires_at`` as the
    code exchange and every refresh store it, else ``issued_at`` plus the token's lifetime."""
    try:
        return dt.datetime.fromisoformat(str(credentials["expires_at"]))
    except (KeyError, TypeError, ValueError):
        pass
    try:
        issued = dt.datetime.fromisoformat(str(credentials["issued_at"]))
        return issued + dt.timedelta(seconds=int(credentials.get("expires_in") or DEFAULT_LIFETIME_SECONDS))
    except (KeyError, TypeError, ValueError):
        return None


class ConnectionCredentials(google.auth.credentials.Credentials):
    """google-auth credentials backed by a ``Connection``'s stored OAuth tokens: the stored access
    token until it expires, then ``refresh_access_token`` (which writes the new one back)."""

    def __init__(self, connection: Connection) -> None:
        super().__init__()
        self.connection = connection
        stored = connection.get_credentials()
        self.token = stored.get("access_token") or None
        self.expiry = naive_utc(token_expiry(stored))

    def refresh(self, request: Any) -> None:
        self.token, expiry = refresh_access_token(self.connection)
        self.expiry = naive_utc(expiry)


# Reference: https://developers.google.com/identity/protocols/oauth2/web-server#offline
def refresh_access_token(connection: Connection) -> tuple[str, dt.datetime]:
    """The one refresh helper: a new access token for ``connection`` (and when it expires),
    written back to it.

    Refused (``invalid_grant``: revoked, expired, password changed; ``invalid_client``) → the
    connection is marked "needs reconnect" with a plain reason and ``ProviderAuthError`` is raised.
    """
    stored = connection.get_credentials()
    refresh_token = stored.get("refresh_token")
    if not refresh_token:
        reason = _reconnect_reason(connection, "Cadence holds no Google refresh token for this connection.")
        services.connection_mark_needs_reconnect(connection=connection, reason=reason)
        raise ProviderAuthError(reason, code="no_refresh_token")
    credentials = google.oauth2.credentials.Credentials(
        token=None,
        refresh_token=refresh_token,
        token_uri=settings.GOOGLE_TOKEN_URL,
        client_id=settings.GOOGLE_CLIENT_ID,
        client_secret=settings.GOOGLE_CLIENT_SECRET,
        scopes=stored.get("scopes") or None,
    )
    issued_at = timezone.now()
    try:
        with token_transport() as transport:
            credentials.refresh(transport)
    except google.auth.exceptions.RefreshError as exc:
        code, description = refresh_error(exc)
        logger.warning("google.oauth.refresh_refused", extra={"connection_id": connection.pk, "error": code})
        if code in REFUSED:
            reason = _reconnect_reason(connection, f"Google refused the refresh token ({description}).")
            services.connection_mark_needs_reconnect(
                connection=connection, reason=reason, error=f"{code}: {description}"
            )
            raise ProviderAuthError(reason, code=code) from exc
        if getattr(exc, "retryable", False):
            raise ProviderUnavailable(f"Google's sign-in service failed ({description}).", code=code) from exc
        raise ProviderError(f"Google did not refresh the access token: {description}", code=code) from exc
    except google.auth.exceptions.TransportError as exc:
        raise ProviderUnavailable(
            f"Could not reach Google to refresh a token ({type(exc).__name__})."
        ) from exc
    expiry = (
        credentials.expiry.replace(tzinfo=dt.UTC)
        if credentials.expiry
        else issued_at + dt.timedelta(seconds=DEFAULT_LIFETIME_SECONDS)
    )
    services.connection_store_tokens(
        connection=connection,
        access_token=str(credentials.token),
        issued_at=issued_at.isoformat(),
        expires_at=expiry.isoformat(),
        # Google rarely rotates refresh tokens; google-auth keeps the old one when none came back.
        refresh_token=credentials.refresh_token if credentials.refresh_token != refresh_token else None,
    )
    return str(credentials.token), expiry


# Reference: https://developers.google.com/identity/protocols/oauth2/web-server#tokenrevoke
def revoke_token(token: str) -> None:
    """Revoke an access or refresh token (revoking either revokes the whole grant)."""
    with ProviderSession(timeout=TIMEOUT_SECONDS) as http:
        try:
            response = http.post(settings.GOOGLE_REVOKE_URL, data={"token": token})
        except requests.RequestException as exc:
            raise ProviderUnavailable(f"Could not reach Google to revoke ({type(exc).__name__}).") from exc
    if response.status_code >= 500:
        raise ProviderUnavailable(f"Google failed to revoke (HTTP {response.status_code}).")
    if response.status_code >= 400:
        error, description = oauth_error(response)
        if error == "invalid_token":  # already revoked or expired: nothing left to revoke
            return
        raise ProviderError(f"Google did not revoke the token: {description}", code=error)


def refresh_error(exc: google.auth.exceptions.RefreshError) -> tuple[str, str]:
    """(OAuth error code, description) of a google-auth ``RefreshError``."""
    data = exc.args[1] if len(exc.args) > 1 else None
    if isinstance(data, dict) and data.get("error"):
        return str(data["error"]), str(data.get("error_description") or data["error"])
    message = str(exc.args[0]) if exc.args else "refused"
    return message.split(":", 1)[0].strip() or "refused", message


def _token_request(form: dict[str, str]) -> dict[str, Any]:
    return token_post(
        settings.GOOGLE_TOKEN_URL,
        form,
        service="Google's sign-in service",
        refused=REFUSED,
        timeout=TIMEOUT_SECONDS,
        log_extra={"provider": "google"},
    )


def _reconnect_reason(connection: Connection, what: str) -> str:
    if connection.is_org_wide:
        return f"{what} An administrator needs to connect Google Workspace again."
    return f"{what} Connect your Google account again from Settings."


def naive_utc(value: dt.datetime | None) -> dt.datetime | None:
    # google-auth compares expiry with a naive UTC ``utcnow()``.
    if value is None:
        return None
    return value.astimezone(dt.UTC).replace(tzinfo=None)
