"""Issuing the tokens the identity routes hand out: app-only and delegated access tokens, refresh
tokens, ID tokens and ``client_info``.

ID tokens are signed RS256 with a ``kid`` header, as Entra's are, by a key made once per sandbox
process and published (``jwks``) at the ``jwks_uri`` the OpenID configuration names, so a client
verifies them exactly as it would Entra's. Access tokens are JWT-shaped too but opaque to clients
(Graph looks them up), so they keep an HMAC under a per-sandbox key. Refresh tokens are opaque
strings, as Entra's are.
"""

# Reference: https://learn.microsoft.com/en-us/entra/identity-platform/access-token-claims-reference
# Reference: https://learn.microsoft.com/en-us/entra/identity-platform/id-token-claims-reference
# Reference: https://learn.microsoft.com/en-us/entra/identity-platform/signing-key-rollover

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

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
ID_TOKEN_LIFETIME_SECONDS = 3600


@dataclass(frozen=True)
class SigningKey:
    """The emulator's ID-token signing key and the self-signed certificate Entra publishes with
    it; ``kid`` is the certificate's SHA-1 thumbprint (``x5t``), as Entra's kids are."""

    private_key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @property
    def kid(self) -> str:
        return _b64(self.certificate.fingerprint(hashes.SHA1()))  # noqa: S303 - x5t is SHA-1 by spec


_key_lock = threading.Lock()
_signing_key: SigningKey | None = None


def signing_key() -> SigningKey:
    """Made once per process (a restart rolls the key over; clients refetch the JWKS when they
    meet an unknown ``kid``)."""
    global _signing_key
    with _key_lock:
        if _signing_key is None:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            name = x509.Name(
                [x509.NameAttribute(NameOID.COMMON_NAME, "accounts.sandbox.microsoftonline.example")]
            )
            now = dt.datetime.now(dt.UTC)
            certificate = (
                x509.CertificateBuilder()
                .subject_name(name)
                .issuer_name(name)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(days=1))
                .not_valid_after(now + dt.timedelta(days=365))
                .sign(key, hashes.SHA256())
            )
            _signing_key = SigningKey(private_key=key, certificate=certificate)
        return _signing_key


def jwks(issuer: str) -> dict[str, Any]:
    """The JSON Web Key Set of ``GET /{tenant}/discovery/v2.0/keys``, in Entra's shape."""
    key = signing_key()
    numbers = key.private_key.public_key().public_numbers()
    der = key.certificate.public_bytes(serialization.Encoding.DER)
    return {
        "keys": [
            {
                "kty": "RSA",
                "use": "sig",
                "kid": key.kid,
                "x5t": key.kid,
                "n": _b64(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
                "e": _b64(numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")),
                "x5c": [base64.b64encode(der).decode("ascii")],
                "cloud_instance_name": "microsoftonline.com",
                "issuer": issuer,
            }
        ]
    }


def sign_rs256(
    claims: Mapping[str, Any], key: rsa.RSAPrivateKey | None = None, kid: str | None = None
) -> str:
    """A compact JWS signed RS256 (by default with the emulator's key and its ``kid``)."""
    default = signing_key()
    header = {"typ": "JWT", "alg": "RS256", "kid": kid or default.kid}
    signing_input = _part(header) + b"." + _part(claims)
    signature = (key or default.private_key).sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return (signing_input + b"." + _b64(signature).encode()).decode()


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


def id_token_claims(
    *, app: AppRegistration, user: User, issuer_base: str, nonce: str | None
) -> dict[str, Any]:
    """The v2.0 ID token's claims as Entra issues them (``iss`` names the user's own tenant)."""
    now = int(dt.datetime.now(dt.UTC).timestamp())
    claims: dict[str, Any] = {
        "aud": app.client_id,
        "iss": f"{issuer_base}/{user.tenant_id}/v2.0",
        "iat": now,
        "nbf": now,
        "exp": now + ID_TOKEN_LIFETIME_SECONDS,
        "name": user.display_name,
        "oid": user.id,
        "preferred_username": user.user_principal_name,
        "email": user.mail if user.email_claim is None else user.email_claim,
        "sub": _pairwise_subject(user, app.client_id),
        "tid": user.tenant_id,
        "uti": secrets.token_urlsafe(16),
        "ver": "2.0",
    }
    if nonce:
        claims["nonce"] = nonce
    return claims


def id_token(
    directory: Directory, *, app: AppRegistration, user: User, issuer_base: str, nonce: str | None
) -> str:
    """An ID token signed RS256 by the emulator's published key, ``nonce`` echoed from the
    authorization request."""
    return sign_rs256(id_token_claims(app=app, user=user, issuer_base=issuer_base, nonce=nonce))


def client_info(user: User) -> str:
    """base64url JSON ``{"uid", "utid"}``: msal builds the account's ``home_account_id`` from it."""
    raw = json.dumps({"uid": user.id, "utid": user.tenant_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def jwt(directory: Directory, claims: Mapping[str, Any]) -> str:
    """An access token: JWT-shaped, HMAC-signed (Graph looks it up; nobody verifies it)."""
    signing_input = _part({"typ": "JWT", "alg": "HS256"}) + b"." + _part(claims)
    signature = hmac.new(directory.signing_key, signing_input, hashlib.sha256).digest()
    return (signing_input + b"." + _b64(signature).encode()).decode()


def _part(data: Mapping[str, Any]) -> bytes:
    return _b64(json.dumps(data, separators=(",", ":")).encode()).encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _pairwise_subject(user: User, client_id: str) -> str:
    # Entra's "sub" is unique per (user, app); "oid" is the stable user id across apps.
    digest = hashlib.sha256(f"{user.id}:{client_id}".encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()[:43]
