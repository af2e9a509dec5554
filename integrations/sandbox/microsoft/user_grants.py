"""The token endpoint's delegated grants: ``authorization_code`` (with PKCE) and ``refresh_token``.

Codes are single-use and live 10 minutes; every refresh returns a new refresh token (rotation) while
the previous one stays valid until it expires, as with Entra. Delegated access tokens are bound to
(tenant, user, scopes).
"""

# Reference: https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow#redeem-a-code-for-an-access-token
# Reference: https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow#refresh-the-access-token
# Reference: https://learn.microsoft.com/en-us/entra/identity-platform/refresh-tokens

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import logging
from typing import TYPE_CHECKING

from integrations.sandbox.microsoft.clients import (
    app_not_found,
    check_secret,
    client_authentication,
    missing_parameter,
    token_response,
)
from integrations.sandbox.microsoft.directory import (
    AppRegistration,
    User,
    directory,
)
from integrations.sandbox.microsoft.errors import aadsts_error
from integrations.sandbox.microsoft.permissions import parse_scopes
from integrations.sandbox.microsoft.tokens import (
    client_info,
    id_token,
    issue_refresh_token,
    issue_user_access_token,
)
from integrations.sandbox.routing import Request, Response
from integrations.sandbox.state import SandboxState

if TYPE_CHECKING:
    from integrations.sandbox.microsoft.directory import Tenant

logger = logging.getLogger(__name__)


def authorization_code(
    request: Request, state: SandboxState, authority: Tenant | str, form: dict[str, str]
) -> Response:
    app = _authenticated_app(request, state, form, grant="authorization_code")
    if isinstance(app, Response):
        return app
    value = form.get("code", "")
    if not value:
        return missing_parameter(request, "code")
    store = directory(state)
    code = store.codes.get(value)
    if code is None or code.client_id != app.client_id or not _same_tenant(authority, code.tenant_id):
        return _invalid_grant(request, 70000, "Provided grant is invalid or malformed.")
    if code.used:
        return _invalid_grant(
            request,
            54005,
            "OAuth2 Authorization code was already redeemed, please retry with a new valid code or "
            "use an existing refresh token.",
        )
    if code.expires_at <= dt.datetime.now(dt.UTC):
        return _invalid_grant(
            request,
            70008,
            "The provided authorization code or refresh token has expired due to inactivity. Send a "
            "new interactive authorization request for this user and resource.",
        )
    if form.get("redirect_uri", "") != code.redirect_uri:
        return _invalid_grant(
            request,
            500112,
            f"The reply address '{form.get('redirect_uri', '')}' does not match the reply address "
            f"'{code.redirect_uri}' provided when requesting Authorization code.",
        )
    if code.code_challenge and not _pkce_matches(
        form.get("code_verifier", ""), code.code_challenge, code.code_challenge_method
    ):
        return _invalid_grant(
            request,
            501481,
            "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
        )
    code.used = True
    user = store.users.get(code.user_id)
    if user is None or not user.account_enabled:
        return _user_disabled(request)
    logger.info(
        "sandbox.microsoft.token_issued",
        extra={"tenant_id": user.tenant_id, "client_id": app.client_id, "grant_type": "authorization_code"},
    )
    return _user_tokens(request, state, app, user, granted=code.scopes, requested=code.scopes,
                        nonce=code.nonce)  # fmt: skip


def refresh_token(
    request: Request, state: SandboxState, authority: Tenant | str, form: dict[str, str]
) -> Response:
    app = _authenticated_app(request, state, form, grant="refresh_token")
    if isinstance(app, Response):
        return app
    value = form.get("refresh_token", "")
    if not value:
        return missing_parameter(request, "refresh_token")
    store = directory(state)
    grant = store.refresh_tokens.get(value)
    if grant is None or grant.client_id != app.client_id or not _same_tenant(authority, grant.tenant_id):
        return _invalid_grant(request, 70000, "Provided grant is invalid or malformed.")
    if grant.revoked:
        return _invalid_grant(
            request,
            50173,
            "The provided grant has expired due to it being revoked, a fresh auth token is needed. "
            "The user might have changed or reset their password. The grant was issued on "
            f"'{grant.issued_at:%Y-%m-%dT%H:%M:%S.0000000Z}'.",
        )
    if grant.expires_at <= dt.datetime.now(dt.UTC):
        return _invalid_grant(
            request,
            700082,
            "The refresh token has expired due to inactivity. The token was issued on "
            f"{grant.issued_at:%Y-%m-%dT%H:%M:%S.0000000Z} and was inactive for 90.00:00:00.",
        )
    user = store.users.get(grant.user_id)
    if user is None or not user.account_enabled:
        return _user_disabled(request)
    requested = tuple(form.get("scope", "").split()) or grant.scopes
    wanted, held = parse_scopes(" ".join(requested)), parse_scopes(" ".join(grant.scopes))
    if not set(wanted.graph) <= set(held.graph) or (wanted.default and not held.default):
        return _invalid_grant(
            request,
            65001,
            f"The user or administrator has not consented to use the application with ID "
            f"'{app.client_id}' named '{app.display_name}'. Send an interactive authorization "
            "request for this user and resource.",
        )
    if not wanted.graph and not wanted.default:
        requested = (*grant.scopes, *requested)
    logger.info(
        "sandbox.microsoft.token_issued",
        extra={"tenant_id": user.tenant_id, "client_id": app.client_id, "grant_type": "refresh_token"},
    )
    return _user_tokens(request, state, app, user, granted=grant.scopes, requested=requested, nonce=None)


def _user_tokens(
    request: Request,
    state: SandboxState,
    app: AppRegistration,
    user: User,
    *,
    granted: tuple[str, ...],
    requested: tuple[str, ...],
    nonce: str | None,
) -> Response:
    store = directory(state)
    scopes = parse_scopes(" ".join(requested))
    graph = tuple(dict.fromkeys((*scopes.graph, *(app.roles if scopes.default else ()))))
    # Echo Graph permissions in the form they were asked for, so msal's cache finds the token again.
    echoed = [s for s in requested if s.lower() not in ("offline_access", "openid", "profile", "email")]
    echoed += sorted(s for s in scopes.oidc if s != "offline_access")
    access_token = issue_user_access_token(store, app=app, user=user, scopes=graph)
    body: dict[str, object] = {"scope": " ".join(dict.fromkeys(echoed))}
    granted_oidc = parse_scopes(" ".join(granted)).oidc
    if "offline_access" in granted_oidc:
        body["refresh_token"] = issue_refresh_token(store, app=app, user=user, scopes=granted)
    if "openid" in granted_oidc:
        body["id_token"] = id_token(store, app=app, user=user, issuer_base=request.base_url, nonce=nonce)
    body["client_info"] = client_info(user)
    return token_response(access_token, **body)


def _authenticated_app(
    request: Request, state: SandboxState, form: dict[str, str], *, grant: str
) -> AppRegistration | Response:
    client_id, client_secret = client_authentication(request, form)
    if not client_id:
        return missing_parameter(request, "client_id")
    app = directory(state).apps.get(client_id)
    if app is None:
        return app_not_found(request, client_id)
    refused = check_secret(request, app, client_secret, grant=grant, tenant=None)
    return refused if refused is not None else app


def _same_tenant(authority: Tenant | str, tenant_id: str) -> bool:
    return isinstance(authority, str) or authority.id == tenant_id


def _pkce_matches(verifier: str, challenge: str, method: str | None) -> bool:
    if not verifier:
        return False
    if (method or "plain").upper() == "S256":
        digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
        computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    else:
        computed = verifier
    return hmac.compare_digest(computed, challenge)


def _invalid_grant(request: Request, code: int, message: str) -> Response:
    return aadsts_error(request, status=400, error="invalid_grant", code=code, message=message)


def _user_disabled(request: Request) -> Response:
    return _invalid_grant(
        request, 50057, "The user account is disabled. The account has been disabled by an administrator."
    )
