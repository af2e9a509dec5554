"""Issuing the tokens the identity routes hand out: app-only and delegated access tokens, refresh
tokens, ID tokens and ``client_info``.

Access and ID tokens are JWT-shaped like Entra's (clients must treat access tokens as opaque; msal
only decodes ID token claims). Nothing checks their signature, an HMAC under a per-sandbox key
rather than Entra's RS256. Refresh tokens are opaque strings, as Entra's are.
"""

# Reference: https://learn.microsoft.com/en-us/entra/identity-platform/access-token-claims-reference
# Reference: https://learn.microsoft.com/en-us/entra/identity-platform/id-token-claims-reference

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from typing import Any

from integrations.sandbox.microsoft.directory import (
    ACCESS_TOKEN_LIFETIME,
    REFRESH_TOKEN_LIFETIME,
    AppRegistration,
    Directory,
    IssuedToken,
    RefreshGrant,
    User,
)

# OpenID Connect scopes: they shape the response (id_token, refresh_token), not the access token.
OIDC_SCOPES = frozenset({"openid", "profile", "email", "offline_access"})


def issue_app_token(directory: Directory, *, app: AppRegistration, tenant_id: str, resource: str) -> str:
    now = dt.datetime.now(dt.UTC)
    issued = IssuedToken(
        tenant_id=tenant_id,
        client_id=app.client_id,
        resource=resource,
        roles=app.roles,
        expires_at=now + ACCESS_TOKEN_LIFETIME,
    )
    token = jwt(
        directory,
        {
            "aud": resource,
            "iss": f"https://sts.windows.net/{tenant_id}/",
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int(issued.expires_at.timestamp()),
            "appid": app.client_id,
            "app_displayname": app.display_name,
            "idtyp": "app",
            "oid": app.service_principal_id,
            "sub": app.service_principal_id,
            "roles": list(app.roles),
            "tid": tenant_id,
            "uti": secrets.token_urlsafe(16),
            "ver": "1.0",
        },
    )
    directory.access_tokens[token] = issued
    return token


def issue_user_access_token(
    directory: Directory, *, app: AppRegistration, user: User, scopes: tuple[str, ...]
) -> str:
    """A delegated Graph token bound to (tenant, user, scopes); ``scopes`` are short names."""
    now = dt.datetime.now(dt.UTC)
    issued = IssuedToken(
        tenant_id=user.tenant_id,
        client_id=app.client_id,
        resource="https://graph.microsoft.com",
        roles=(),
        expires_at=now + ACCESS_TOKEN_LIFETIME,
        user_id=user.id,
        scopes=scopes,
    )
    token = jwt(
        directory,
        {
            "aud": "https://graph.microsoft.com",
            "iss": f"https://sts.windows.net/{user.tenant_id}/",
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int(issued.expires_at.timestamp()),
            "appid": app.client_id,
            "app_displayname": app.display_name,
            "idtyp": "user",
            "name": user.display_name,
            "oid": user.id,
            "scp": " ".join(scopes),
            "sub": _pairwise_subject(user, app.client_id),
            "tid": user.tenant_id,
            "unique_name": user.user_principal_name,
            "upn": user.user_principal_name,
            "uti": secrets.token_urlsafe(16),
            "ver": "1.0",
        },
    )
    directory.access_tokens[token] = issued
    return token


def issue_refresh_token(
    directory: Directory, *, app: AppRegistration, user: User, scopes: tuple[str, ...]
) -> str:
    now = dt.datetime.now(dt.UTC)
    token = "1.AQ" + secrets.token_urlsafe(96)
    directory.refresh_tokens[token] = RefreshGrant(
        client_id=app.client_id,
        tenant_id=user.tenant_id,
        user_id=user.id,
        scopes=scopes,
        issued_at=now,
        expires_at=now + REFRESH_TOKEN_LIFETIME,
    )
    return token


def id_token(
    directory: Directory, *, app: AppRegistration, user: User, issuer_base: str, nonce: str | None
) -> str:
    now = int(dt.datetime.now(dt.UTC).timestamp())
    claims: dict[str, Any] = {
        "aud": app.client_id,
        "iss": f"{issuer_base}/{user.tenant_id}/v2.0",
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "name": user.display_name,
        "oid": user.id,
        "preferred_username": user.user_principal_name,
        "email": user.mail,
        "sub": _pairwise_subject(user, app.client_id),
        "tid": user.tenant_id,
        "uti": secrets.token_urlsafe(16),
        "ver": "2.0",
    }
    if nonce:
        claims["nonce"] = nonce
    return jwt(directory, claims)


def client_info(user: User) -> str:
    """base64url JSON ``{"uid", "utid"}``: msal builds the account's ``home_account_id`` from it."""
    raw = json.dumps({"uid": user.id, "utid": user.tenant_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def jwt(directory: Directory, claims: Mapping[str, Any]) -> str:
    def part(data: Mapping[str, Any]) -> bytes:
        raw = json.dumps(data, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=")

    signing_input = part({"typ": "JWT", "alg": "HS256"}) + b"." + part(claims)
    signature = hmac.new(directory.signing_key, signing_input, hashlib.sha256).digest()
    return (signing_input + b"." + base64.urlsafe_b64encode(signature).rstrip(b"=")).decode()


def _pairwise_subject(user: User, client_id: str) -> str:
    # Entra's "sub" is unique per (user, app); "oid" is the stable user id across apps.
    digest = hashlib.sha256(f"{user.id}:{client_id}".encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()[:43]
