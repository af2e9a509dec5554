"""Verifying the ID token of a Microsoft sign-in: signature, issuer, audience, nonce and expiry.

msal checks only the nonce (since 1.38 it no longer validates ID tokens: that is the app's job),
and Cadence binds a Microsoft tenant or a mailbox to an organisation only through claims Microsoft
signed (DESIGN, "Tenancy and security"). The signing keys come from the ``jwks_uri`` of the
multi-tenant authority's OpenID configuration, over the same TLS trust as every provider call.
"""

# Reference: https://learn.microsoft.com/en-us/entra/identity-platform/id-tokens#validate-tokens
# Reference: https://learn.microsoft.com/en-us/entra/identity-platform/access-tokens#validate-the-issuer
# Reference: https://openid.net/specs/openid-connect-core-1_0.html#IDTokenValidation

from __future__ import annotations

import hmac
import logging
import re
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any

import jwt
import requests
from django.conf import settings

from integrations.exceptions import ProviderAuthError, ProviderError, ProviderUnavailable
from integrations.http import ProviderSession

logger = logging.getLogger(__name__)

AUTHORITY = "organizations"  # the multi-tenant authority Cadence signs people in through
ALGORITHMS = ["RS256"]  # what Entra signs ID tokens with; never "none" or an HMAC
LEEWAY_SECONDS = 120  # clock skew allowed, as msal allows
CONFIG_TTL_SECONDS = 3600
TIMEOUT_SECONDS = 30.0
TENANT_ID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
UNVERIFIED = "Microsoft's sign-in answer could not be verified ({reason}), so Cadence did not trust it."


@dataclass(frozen=True)
class VerifiedIdentity:
    """Who signed in, from an ID token whose signature and claims were checked."""

    tenant_id: str  # ``tid``: the Microsoft 365 organisation the account belongs to
    object_id: str  # ``oid``: the user's id in that tenant
    username: str  # ``preferred_username``, lower-cased (usually the UPN)
    email: str  # ``email`` when present, lower-cased
    name: str


_lock = threading.Lock()
_configs: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}
_jwk_clients: dict[tuple[str, str], jwt.PyJWKClient] = {}


def reset_caches() -> None:
    """Forget the OpenID configuration and signing keys (tests; a changed login URL)."""
    with _lock:
        _configs.clear()
        _jwk_clients.clear()


def verify(id_token: str, *, nonce: str) -> VerifiedIdentity:
    """The identity in ``id_token`` once Microsoft's signature, the issuer of the token's own
    tenant, our client id as audience, ``nonce`` (what the authorization request carried) and
    the expiry all check out; ``ProviderAuthError`` otherwise."""
    config = _openid_configuration()
    try:
        unverified = jwt.decode(id_token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise _refused("not a JSON Web Token", exc) from exc
    tenant_id = str(unverified.get("tid") or "")
    if not TENANT_ID.fullmatch(tenant_id):
        raise _refused("no tenant id", None)
    # Multi-tenant metadata names the issuer "https://login.microsoftonline.com/{tenantid}/v2.0":
    # a token is good only when its issuer is that of the tenant it claims to come from.
    issuer = str(config.get("issuer") or "").replace("{tenantid}", tenant_id)
    try:
        key = _jwk_client(str(config["jwks_uri"])).get_signing_key_from_jwt(id_token)
        claims = jwt.decode(
            id_token,
            key=key,
            algorithms=ALGORITHMS,
            audience=settings.MICROSOFT_CLIENT_ID,
            issuer=issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["iss", "aud", "exp", "iat", "tid", "oid", "nonce"]},
        )
    except jwt.PyJWKClientConnectionError as exc:
        logger.warning("microsoft.id_token.keys_unreachable", extra={"tenant_id": tenant_id})
        raise ProviderUnavailable("Could not fetch Microsoft's signing keys; please try again.") from exc
    except (jwt.PyJWTError, KeyError) as exc:
        raise _refused(_reason(exc), exc, tenant_id=tenant_id) from exc
    if not hmac.compare_digest(str(claims["nonce"]), nonce):
        raise _refused("the nonce is not the one Cadence sent", None, tenant_id=tenant_id)
    return VerifiedIdentity(
        tenant_id=tenant_id.lower(),
        object_id=str(claims["oid"]),
        username=str(claims.get("preferred_username") or "").strip().lower(),
        email=str(claims.get("email") or "").strip().lower(),
        name=str(claims.get("name") or ""),
    )


def _openid_configuration() -> dict[str, Any]:
    url = f"{settings.MICROSOFT_LOGIN_URL.rstrip('/')}/{AUTHORITY}/v2.0/.well-known/openid-configuration"
    key = (url, str(settings.PROVIDER_CA_BUNDLE or ""))
    with _lock:
        cached = _configs.get(key)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    with ProviderSession(timeout=TIMEOUT_SECONDS) as http:
        try:
            response = http.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            config = response.json()
        except (requests.RequestException, ValueError) as exc:
            logger.warning("microsoft.id_token.config_failed", extra={"error": type(exc).__name__})
            raise ProviderUnavailable(
                "Could not read Microsoft's sign-in configuration; please try again."
            ) from exc
    if not isinstance(config, dict) or not str(config.get("jwks_uri", "")).startswith("https://"):
        raise ProviderError("Microsoft's sign-in configuration names no https signing-key address.")
    with _lock:
        _configs[key] = (time.monotonic() + CONFIG_TTL_SECONDS, config)
    return config


def _jwk_client(jwks_uri: str) -> jwt.PyJWKClient:
    """One PyJWKClient per key set: it caches the keys and refetches when it meets a new ``kid``
    (Entra rolls its keys over)."""
    ca_bundle = str(settings.PROVIDER_CA_BUNDLE or "")
    with _lock:
        client = _jwk_clients.get((jwks_uri, ca_bundle))
        if client is None:
            context = ssl.create_default_context(cafile=ca_bundle or None)
            client = jwt.PyJWKClient(jwks_uri, timeout=TIMEOUT_SECONDS, ssl_context=context)
            _jwk_clients[(jwks_uri, ca_bundle)] = client
        return client


def _reason(exc: Exception) -> str:
    reasons: list[tuple[type[Exception], str]] = [
        (jwt.ExpiredSignatureError, "it has expired"),
        (jwt.InvalidAudienceError, "it was issued to another application"),
        (jwt.InvalidIssuerError, "its issuer is not its own tenant's"),
        (jwt.InvalidSignatureError, "its signature does not match Microsoft's keys"),
        (jwt.InvalidAlgorithmError, "it is not signed the way Microsoft signs"),
        (jwt.MissingRequiredClaimError, "a required claim is missing"),
        (jwt.PyJWKClientError, "it is not signed by a key Microsoft publishes"),
    ]
    return next((text for kind, text in reasons if isinstance(exc, kind)), "it is malformed")


def _refused(reason: str, exc: Exception | None, *, tenant_id: str = "") -> ProviderAuthError:
    logger.warning(
        "microsoft.id_token.refused",
        extra={"tenant_id": tenant_id, "reason": reason, "error": type(exc).__name__ if exc else ""},
    )
    return ProviderAuthError(UNVERIFIED.format(reason=reason), code="invalid_id_token")
