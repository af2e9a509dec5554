"""The service-account JWT-bearer grant: how Cadence gets a token for a Workspace user through
domain-wide delegation (provider-facts A2).

The assertion must be signed (RS256) by a key of a registered service account, addressed to
Google's token endpoint, short-lived, and — with a ``sub`` — name a user whose customer has
authorised the account's numeric client id for every requested scope in its Admin console.
"""

# Reference: https://developers.google.com/identity/protocols/oauth2/service-account#error-codes

from __future__ import annotations

import logging
import time

from integrations.sandbox.google import jwts
from integrations.sandbox.google.errors import oauth_error
from integrations.sandbox.google.store import ACCESS_TOKEN_LIFETIME, GoogleStore, User
from integrations.sandbox.routing import Response, json_response

logger = logging.getLogger(__name__)

# google-auth always addresses the assertion to this URL, whatever the key file's token_uri says.
AUDIENCE = "https://oauth2.googleapis.com/token"
MAX_LIFETIME = 3600
CLOCK_SKEW = 300
NOT_AUTHORISED = (
    "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any "
    "of the scopes requested."
)
SHORT_LIVED = (
    "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your "
    "iat and exp values in the JWT claim."
)


def jwt_bearer(store: GoogleStore, form: dict[str, str]) -> Response:
    assertion = form.get("assertion", "")
    if not assertion:
        return oauth_error("invalid_request", "Missing required parameter: assertion")
    try:
        header, claims, signing_input, signature = jwts.decode_unverified(assertion)
    except jwts.MalformedJwt:
        return oauth_error("invalid_grant", "Invalid JWT: malformed assertion.")
    account = store.service_accounts.get(str(claims.get("iss", "")))
    if account is None:
        return oauth_error("invalid_grant", "Invalid grant: account not found")
    keys = [account.keys[header["kid"]]] if header.get("kid") in account.keys else list(account.keys.values())
    if header.get("alg") != "RS256" or not any(jwts.verify_rs256(k, signing_input, signature) for k in keys):
        return oauth_error("invalid_grant", "Invalid JWT Signature.")
    if claims.get("aud") != AUDIENCE:
        return oauth_error("invalid_grant", "Invalid JWT: Failed audience check.")
    # The machine's clock, not the sandbox's: advancing the sandbox clock (to expire tokens) must
    # not make a client's freshly signed assertion look stale.
    now = time.time()
    try:
        issued, expires = float(claims["iat"]), float(claims["exp"])
    except (KeyError, TypeError, ValueError):
        return oauth_error("invalid_grant", SHORT_LIVED)
    if (
        expires - issued > MAX_LIFETIME + CLOCK_SKEW
        or issued > now + CLOCK_SKEW
        or expires < now - CLOCK_SKEW
    ):
        return oauth_error("invalid_grant", SHORT_LIVED)
    scopes = frozenset(str(claims.get("scope") or "").split())
    if not scopes:
        return oauth_error("invalid_scope", "Invalid OAuth scope or ID token audience provided.")
    user: User | None = None  # without a ``sub``: the service account's own token
    if claims.get("sub"):
        user = store.user(str(claims["sub"]))
        if user is None or user.suspended:
            return oauth_error("invalid_grant", "Invalid email or User ID")
        authorised = store.customers[user.customer_id].dwd.get(account.client_id)
        if authorised is None or not scopes <= authorised:
            logger.info(
                "sandbox.google.dwd_refused", extra={"client_id": account.client_id, "user_id": user.id}
            )
            return oauth_error("unauthorized_client", NOT_AUTHORISED, status=401)
    access = store.issue_access_token(
        client_id=account.client_id,
        email=user.email if user else None,
        scopes=scopes,
        service_account=account.client_email,
    )
    logger.info(
        "sandbox.google.dwd_token_issued",
        extra={"client_id": account.client_id, "user_id": user.id if user else None},
    )
    return json_response(
        200, {"access_token": access, "expires_in": ACCESS_TOKEN_LIFETIME, "token_type": "Bearer"}
    )
