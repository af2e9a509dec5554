"""Tokens for Microsoft Graph, through msal: app-only tokens per tenant (admin consent) and a
user's delegated tokens (user-managed connection), with the one refresh helper (STYLE rule 3).

- App-only: one ``ConfidentialClientApplication`` per (tenant, app credentials) lives for the
  process; msal's in-memory cache hands out its token until 5 minutes before expiry, so a worker
  asks Entra once an hour per tenant, not once per mailbox or request.
- Sign-in: msal's auth-code flow (PKCE and nonce checked by msal); the ID token is then verified
  here (``id_tokens``: signature, issuer, audience, nonce, expiry), since msal no longer does.
- Delegated: the person signs in as above.
  msal's ``SerializableTokenCache`` (holding the refresh token) is kept encrypted in
  ``Connection.credentials`` with the current access token and its expiry beside it; a request
  uses that access token until 5 minutes before expiry, then ``acquire_token_silent`` refreshes
  it and the cache is written back. A refused refresh marks the connection "needs reconnect".

Nothing here logs a token or a secret.
"""

# Reference: https://learn.microsoft.com/en-us/entra/msal/python/
# Reference: https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import warnings
from dataclasses import dataclass
from typing import Any

import msal
import requests
from django.conf import settings

from integrations import services
from integrations.exceptions import ProviderAuthError, ProviderError, ProviderUnavailable
from integrations.http import ProviderSession
from integrations.microsoft import id_tokens
from integrations.microsoft.errors import error_from_response, error_from_result
from integrations.microsoft.id_tokens import VerifiedIdentity
from integrations.models import Connection

logger = logging.getLogger(__name__)

# App-only tokens for Graph always ask for the resource's ".default" scope: the token carries
# whatever application permissions an admin consented to.
GRAPH_APP_SCOPE = "https://graph.microsoft.com/.default"
TIMEOUT_SECONDS = 30.0

# What a user-managed connection asks for (B3: one consent for both apps). msal adds
# offline_access (the refresh token), openid and profile by itself.
DELEGATED_SCOPES = ("Mail.Read", "Mail.Send", "Calendars.Read", "Contacts.Read", "User.Read")
# Multi-tenant sign-in: any work or school account; the tenant is learnt from the answer.
SIGN_IN_TENANT = "organizations"
EXPIRY_MARGIN_SECONDS = 300  # msal's own margin: a token this close to expiry is renewed
# What msal raises: unreachable (requests), a 5xx (MsalServiceError), discovery refused or a
# malformed answer (ValueError, RuntimeError). ``_mapped`` turns each into a typed error.
MSAL_FAILURES = (requests.RequestException, msal.exceptions.MsalServiceError, ValueError, RuntimeError)


class _Session(ProviderSession):
    """ProviderSession whose ``last_response`` is per thread: one cached msal app serves every
    thread of a worker, and each maps its own failure."""

    def __init__(self, *, timeout: float | None = None) -> None:
        self._local = threading.local()
        super().__init__(timeout=timeout)

    @property  # type: ignore[override]
    def last_response(self) -> requests.Response | None:
        return getattr(self._local, "response", None)

    @last_response.setter
    def last_response(self, value: requests.Response | None) -> None:
        self._local.response = value


@dataclass
class _CachedApp:
    app: msal.ConfidentialClientApplication
    http: _Session


_apps: dict[tuple[str, ...], _CachedApp] = {}
_apps_lock = threading.Lock()


def reset_caches() -> None:
    """Forget every cached msal app and its tokens (tests; a rotated client secret)."""
    with _apps_lock:
        for cached in _apps.values():
            cached.http.close()
        _apps.clear()
    id_tokens.reset_caches()


def _credentials(client_id: str | None = None, client_secret: str | None = None) -> tuple[str, str]:
    """The credentials named, else Cadence's own app registration."""
    return (
        settings.MICROSOFT_CLIENT_ID if client_id is None else client_id,
        settings.MICROSOFT_CLIENT_SECRET if client_secret is None else client_secret,
    )


def _credentials_key(tenant: str, client_id: str, client_secret: str) -> tuple[str, ...]:
    return (
        settings.MICROSOFT_LOGIN_URL.rstrip("/"),
        str(settings.PROVIDER_CA_BUNDLE or ""),
        tenant.lower(),
        client_id,
        hashlib.sha256(client_secret.encode()).hexdigest(),
    )


def _new_app(
    tenant: str,
    http: _Session,
    token_cache: msal.TokenCache | None = None,
    *,
    client_id: str | None = None,
    client_secret: str | None = None,
) -> msal.ConfidentialClientApplication:
    """An msal app for ``tenant`` with Cadence's own credentials unless others are named.
    Discovery (GET <authority>/v2.0/.well-known/openid-configuration) happens here."""
    client_id, client_secret = _credentials(client_id, client_secret)
    return msal.ConfidentialClientApplication(
        client_id,
        client_credential=client_secret,
        authority=f"{settings.MICROSOFT_LOGIN_URL.rstrip('/')}/{tenant}",
        # Our authority may be a sandbox host: skip the lookup at login.microsoftonline.com.
        instance_discovery=False,
        http_client=http,
        token_cache=token_cache,
    )


def _mapped(exc: Exception, http: _Session, *, event: str, log_extra: dict[str, Any]) -> ProviderError:
    if isinstance(exc, requests.RequestException):
        logger.warning(event, extra={**log_extra, "error": type(exc).__name__})
        return ProviderUnavailable(f"Could not reach the Microsoft identity platform ({type(exc).__name__}).")
    error = error_from_response(http.last_response, fallback=str(exc))
    logger.warning(event, extra={**log_extra, "error": error.code})
    return error


# --- App-only tokens (admin consent) -------------------------------------------------------------
def _app_for_tenant(tenant_id: str, client_id: str | None, client_secret: str | None) -> _CachedApp:
    client_id, client_secret = _credentials(client_id, client_secret)
    key = _credentials_key(tenant_id, client_id, client_secret)
    with _apps_lock:
        cached = _apps.get(key)
    if cached is not None:
        return cached
    http = _Session(timeout=TIMEOUT_SECONDS)
    try:
        app = _new_app(tenant_id, http, client_id=client_id, client_secret=client_secret)
    except MSAL_FAILURES as exc:
        http.close()
        raise _mapped(
            exc, http, event="microsoft.app_token.failed", log_extra={"tenant_id": tenant_id}
        ) from exc
    with _apps_lock:
        return _apps.setdefault(key, _CachedApp(app=app, http=http))


# Reference: https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow
def app_token(*, tenant_id: str, client_id: str | None = None, client_secret: str | None = None) -> str:
    """An app-only Graph token for ``tenant_id`` (from msal's cache while it is fresh), with
    Cadence's own app registration unless ``client_id``/``client_secret`` name another.

    ``ProviderAuthError`` when Entra refuses the credentials or the tenant (consent removed,
    tenant gone), ``ProviderThrottled``/``ProviderUnavailable`` when it asks us to wait."""
    log_extra = {"tenant_id": tenant_id}
    cached = _app_for_tenant(tenant_id, client_id, client_secret)
    try:
        result = cached.app.acquire_token_for_client(scopes=[GRAPH_APP_SCOPE])
    except MSAL_FAILURES as exc:
        raise _mapped(exc, cached.http, event="microsoft.app_token.failed", log_extra=log_extra) from exc
    if "access_token" in result:
        if result.get("token_source") != "cache":
            logger.info("microsoft.app_token.acquired", extra=log_extra)
        return str(result["access_token"])
    error = error_from_result(result, cached.http.last_response)
    logger.warning("microsoft.app_token.refused", extra={**log_extra, "error": error.code})
    raise error


def app_token_forget(*, tenant_id: str) -> None:
    """Drop the cached app token of ``tenant_id`` (Graph said it is no longer valid)."""
    with _apps_lock:
        cached = _apps.get(_credentials_key(tenant_id, *_credentials()))
    if cached is not None:
        cached.app.remove_tokens_for_client()


# --- Delegated tokens (user-managed connection) --------------------------------------------------
@dataclass(frozen=True)
class DelegatedGrant:
    """What a completed sign-in gives: the credentials to store and who signed in."""

    credentials: dict[str, Any]
    tenant_id: str
    user_id: str  # the user's object id in the tenant
    username: str  # preferred_username (the UPN, usually the email address)
    name: str
    # No ``email``: Entra's optional email claim may be an address nobody verified. Whose mailbox
    # this is comes from Graph's /me (``directory.me_addresses``).


def sign_in_begin(
    *, redirect_uri: str, state: str, scopes: tuple[str, ...] = (), login_hint: str = ""
) -> dict[str, Any]:
    """msal's auth-code flow dict (PKCE verifier, nonce, our ``state``) for an OpenID Connect
    sign-in through the multi-tenant authority, asking for ``scopes`` besides openid and profile:
    keep it with the state and send the person to ``flow["auth_uri"]``."""
    http = _Session(timeout=TIMEOUT_SECONDS)
    try:
        app = _new_app(SIGN_IN_TENANT, http)
        with warnings.catch_warnings():
            # msal recommends response_mode=form_post; Cadence keeps the query redirect because a
            # cross-site POST would arrive without the (SameSite=Lax) session cookie that holds
            # the state and the PKCE verifier, which already protect the code.
            warnings.filterwarnings("ignore", message="response_mode='form_post' is recommended")
            return app.initiate_auth_code_flow(
                list(scopes),
                redirect_uri=redirect_uri,
                state=state,
                login_hint=login_hint or None,
                # Let the person pick the work account even when signed in to another one.
                prompt="select_account",
            )
    except MSAL_FAILURES as exc:
        raise _mapped(exc, http, event="microsoft.sign_in.failed", log_extra={}) from exc
    finally:
        http.close()


def sign_in_complete(*, flow: dict[str, Any], response: dict[str, str]) -> VerifiedIdentity:
    """Who signed in (an admin before tenant-wide consent): the code redeemed through msal (state,
    PKCE, nonce), then the ID token verified by ``id_tokens.verify``. No token is kept."""
    result, _, _ = _redeem(flow, response, msal.SerializableTokenCache())
    return _verified(result, flow)


def user_flow_complete(*, flow: dict[str, Any], response: dict[str, str]) -> DelegatedGrant:
    """Redeem the code Microsoft sent back (msal checks state, PKCE and the ID token's nonce) and
    verify the ID token: the tenant, user and address come from its checked claims only.

    Raises ``ProviderError`` with Entra's reason when the exchange is refused."""
    cache = msal.SerializableTokenCache()
    result, app, _ = _redeem(flow, response, cache)
    verified = _verified(result, flow)
    accounts = app.get_accounts()
    if not accounts:
        raise ProviderError("Microsoft's answer named no account (no client_info); nothing was connected.")
    account = accounts[0]
    credentials = _delegated_credentials(cache, account, result)
    return DelegatedGrant(
        credentials=credentials,
        tenant_id=verified.tenant_id,
        user_id=verified.object_id,
        username=verified.username,
        name=verified.name,
    )


def _redeem(
    flow: dict[str, Any], response: dict[str, str], cache: msal.SerializableTokenCache
) -> tuple[dict[str, Any], msal.ConfidentialClientApplication, _Session]:
    http = _Session(timeout=TIMEOUT_SECONDS)
    try:
        app = _new_app(SIGN_IN_TENANT, http, token_cache=cache)
        result = app.acquire_token_by_auth_code_flow(dict(flow), response)
    except ValueError as exc:  # msal: state mismatch or a malformed answer
        raise ProviderError(f"Microsoft's answer did not match the sign-in Cadence started ({exc}).") from exc
    except MSAL_FAILURES as exc:
        raise _mapped(exc, http, event="microsoft.sign_in.failed", log_extra={}) from exc
    finally:
        http.close()
    if "access_token" not in result:
        error = error_from_result(result, http.last_response)
        logger.warning("microsoft.sign_in.refused", extra={"error": error.code})
        raise error
    return result, app, http


def _verified(result: dict[str, Any], flow: dict[str, Any]) -> VerifiedIdentity:
    raw = result.get("id_token")
    if not raw:
        raise ProviderAuthError(
            "Microsoft's answer carried no ID token; nothing was connected.", code="no_id_token"
        )
    # msal sent sha256(flow["nonce"]) in the authorization request (and compared it already).
    nonce = hashlib.sha256(str(flow.get("nonce") or "").encode("ascii")).hexdigest()
    return id_tokens.verify(str(raw), nonce=nonce)


def delegated_token(connection: Connection, *, force_refresh: bool = False) -> str:
    """The access token of a user-managed connection, refreshed when (nearly) expired or when
    ``force_refresh`` (Graph answered 401). A refused refresh marks the connection "needs
    reconnect" and raises ``ProviderAuthError``."""
    credentials = connection.get_credentials()
    token = credentials.get("access_token")
    if (
        token
        and not force_refresh
        and float(credentials.get("expires_at") or 0) > time.time() + EXPIRY_MARGIN_SECONDS
    ):
        return str(token)
    return _refresh(connection, credentials)


def _refresh(connection: Connection, credentials: dict[str, Any]) -> str:
    log_extra = {"connection_id": connection.pk, "organization_id": connection.organization_id}
    cache = msal.SerializableTokenCache()
    if credentials.get("token_cache"):
        cache.deserialize(credentials["token_cache"])
    tenant = (connection.details or {}).get("tenant_id") or SIGN_IN_TENANT
    http = _Session(timeout=TIMEOUT_SECONDS)
    try:
        app = _new_app(tenant, http, token_cache=cache)
        account = next(
            (a for a in app.get_accounts() if a.get("home_account_id") == credentials.get("account")), None
        )
        result = (
            app.acquire_token_silent_with_error(list(DELEGATED_SCOPES), account, force_refresh=True)
            if account is not None
            else None
        )
    except MSAL_FAILURES as exc:
        raise _mapped(exc, http, event="microsoft.delegated.refresh_failed", log_extra=log_extra) from exc
    finally:
        http.close()

    if result is None:
        raise _refused(
            connection,
            "Cadence holds no Microsoft refresh token for this connection.",
            code="no_refresh_token",
        )
    if "access_token" not in result:
        error = error_from_result(result, http.last_response)
        if isinstance(error, ProviderAuthError):
            raise _refused(
                connection, f"Microsoft refused to renew Cadence's access ({error}).", code=error.code
            )
        logger.warning("microsoft.delegated.refresh_failed", extra={**log_extra, "error": error.code})
        raise error
    fresh = _delegated_credentials(cache, account, result)
    # connection_store_tokens keeps every other key of the credentials, so the token cache (with
    # the refresh token msal may have rotated) travels with the new access token.
    connection.credentials = json.dumps(fresh)
    services.connection_store_tokens(
        connection=connection,
        access_token=fresh["access_token"],
        issued_at=str(int(time.time())),
        refresh_token=fresh.get("refresh_token"),
    )
    logger.info("microsoft.delegated.refreshed", extra=log_extra)
    return str(fresh["access_token"])


def _refused(connection: Connection, why: str, *, code: str | None) -> ProviderAuthError:
    """Mark the connection "needs reconnect"; the error to raise."""
    reason = f"{why} Reconnect your Microsoft account in Settings › Integrations."
    services.connection_mark_needs_reconnect(connection=connection, reason=reason, error=f"{code}: {why}")
    return ProviderAuthError(reason, code=code)


def _delegated_credentials(
    cache: msal.SerializableTokenCache, account: dict[str, Any] | None, result: dict[str, Any]
) -> dict[str, Any]:
    refresh_tokens = list(cache.search(msal.TokenCache.CredentialType.REFRESH_TOKEN))
    expires_in = int(result.get("expires_in") or 3599)
    return {
        "token_cache": cache.serialize(),
        "account": (account or {}).get("home_account_id", ""),
        "username": (account or {}).get("username", ""),
        "access_token": str(result["access_token"]),
        "expires_at": int(time.time()) + expires_in,
        "refresh_token": refresh_tokens[0]["secret"] if refresh_tokens else "",
        "scopes": list(DELEGATED_SCOPES),
    }
