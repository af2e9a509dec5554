"""Google's OAuth 2.0 endpoints for web-server apps, under ``/google``: the authorize (consent)
page, the token endpoint (authorization code with optional PKCE, refresh token, and — in ``dwd`` —
the service-account JWT-bearer grant), revoke, userinfo and the id_token signing keys.

Codes are single-use and live 10 minutes; access tokens 3599 seconds; a refresh token is issued
when ``access_type=offline`` (the sandbox asks for consent every time, so every time).
"""

# Reference: https://developers.google.com/identity/protocols/oauth2/web-server
# Reference: https://developers.google.com/identity/openid-connect/openid-connect

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import secrets
from urllib.parse import unquote_plus, urlencode, urlsplit

from integrations.sandbox.google import dwd, jwts
from integrations.sandbox.google.api import bearer_grant
from integrations.sandbox.google.consent import AUTHORIZE_PATH, consent_page, error_page
from integrations.sandbox.google.demo import DEMO_DOMAIN, google_store
from integrations.sandbox.google.errors import oauth_error
from integrations.sandbox.google.store import (
    ACCESS_TOKEN_LIFETIME,
    AUTH_CODE_LIFETIME,
    AuthCode,
    GoogleStore,
    OAuthClient,
    User,
)
from integrations.sandbox.routing import Request, Response, Router, empty_response, json_response
from integrations.sandbox.state import SandboxState

logger = logging.getLogger(__name__)

ISSUER = "https://accounts.google.com"
AUTHORIZE_PARAMS = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "access_type",
    "prompt",
    "include_granted_scopes",
    "login_hint",
    "hd",
    "nonce",
    "code_challenge",
    "code_challenge_method",
)
REDIRECT_HOSTS = ("localhost", "127.0.0.1", "testserver")
SCOPE_ALIASES = {
    "email": "https://www.googleapis.com/auth/userinfo.email",
    "profile": "https://www.googleapis.com/auth/userinfo.profile",
}
EMAIL_SCOPES = {"email", SCOPE_ALIASES["email"]}
PROFILE_SCOPES = {"profile", SCOPE_ALIASES["profile"]}
NO_STORE = {"Cache-Control": "no-cache, no-store, max-age=0, must-revalidate", "Pragma": "no-cache"}
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def register_routes(router: Router, *, provider: str) -> None:
    router.add("GET", AUTHORIZE_PATH, authorize, provider=provider)
    router.add("POST", AUTHORIZE_PATH, decide, provider=provider)
    router.add("POST", r"/google/token", token, provider=provider)
    router.add("POST", r"/google/revoke", revoke, provider=provider)
    router.add("GET", r"/google/oauth2/v3/userinfo", userinfo, provider=provider)
    router.add("GET", r"/google/oauth2/v3/certs", certs, provider=provider)


def normalise_scopes(text: str) -> list[str]:
    return list(dict.fromkeys(SCOPE_ALIASES.get(s, s) for s in text.split() if s))


# ---- authorize -------------------------------------------------------------------------------
def _params(values: dict[str, str]) -> dict[str, str]:
    return {k: values[k] for k in AUTHORIZE_PARAMS if values.get(k)}


def _check_request(store: GoogleStore, params: dict[str, str]) -> OAuthClient | Response:
    """Problems Google shows on its own error page (it never redirects to an unchecked URI)."""
    client = store.clients.get(params.get("client_id", ""))
    if client is None:
        return error_page("invalid_client", "The OAuth client was not found.", status=401)
    redirect = urlsplit(params.get("redirect_uri", ""))
    if redirect.scheme not in ("http", "https") or redirect.hostname not in REDIRECT_HOSTS:
        return error_page(
            "redirect_uri_mismatch",
            "You can't sign in to this app because it doesn't comply with Google's OAuth 2.0 policy. "
            "The sandbox client accepts redirect URIs on localhost, 127.0.0.1 and testserver.",
        )
    if params.get("response_type") != "code":
        return error_page("invalid_request", f"Invalid response_type: {params.get('response_type', '')}")
    if not params.get("scope"):
        return error_page("invalid_request", "Missing required parameter: scope")
    if params.get("code_challenge") and params.get("code_challenge_method", "plain") not in ("plain", "S256"):
        return error_page("invalid_request", "Invalid code_challenge_method")
    return client


def _account_choices(store: GoogleStore, params: dict[str, str]) -> tuple[str, list[User], str]:
    hint = store.user(params.get("login_hint"))
    domain = (params.get("hd") or (hint.domain if hint else "") or DEMO_DOMAIN).lower()
    customer = store.customer_for_domain(domain)
    users = (
        sorted(store.customer_users(customer.id), key=lambda u: (not u.is_admin, u.email)) if customer else []
    )
    selected = hint.email if hint and hint in users else (users[0].email if users else "")
    return domain, users, selected


def authorize(request: Request, state: SandboxState) -> Response:
    store = google_store(state)
    params = _params({k: v[0] for k, v in request.query.items() if v})
    client = _check_request(store, params)
    if isinstance(client, Response):
        return client
    domain, users, selected = _account_choices(store, params)
    return consent_page(
        app_name=client.name,
        domain=domain,
        users=users,
        selected=selected,
        scopes=normalise_scopes(params["scope"]),
        params=params,
    )


def decide(request: Request, state: SandboxState) -> Response:
    store = google_store(state)
    form = request.form()
    params = _params(form)
    client = _check_request(store, params)
    if isinstance(client, Response):
        return client
    if form.get("decision") != "allow":
        return _redirect(params, error="access_denied")
    user = store.user(form.get("email"))
    if user is None or user.suspended:
        return error_page("invalid_request", "Pick one of the listed accounts to sign in with.")
    scopes = frozenset(normalise_scopes(params["scope"]))
    if params.get("include_granted_scopes") == "true":
        scopes |= store.granted.get((client.client_id, user.email), set())
    code = "4/0Asbx" + secrets.token_urlsafe(40)
    store.codes[code] = AuthCode(
        client_id=client.client_id,
        redirect_uri=params["redirect_uri"],
        email=user.email,
        scopes=scopes,
        expires_at=store.clock.now() + AUTH_CODE_LIFETIME,
        offline=params.get("access_type") == "offline",
        code_challenge=params.get("code_challenge"),
        code_challenge_method=params.get("code_challenge_method", "plain"),
        nonce=params.get("nonce"),
    )
    logger.info("sandbox.google.code_issued", extra={"client_id": client.client_id, "user_id": user.id})
    return _redirect(
        params,
        code=code,
        scope=" ".join(sorted(scopes)),
        authuser="0",
        prompt="consent",
        **({"hd": user.domain} if user.domain != "gmail.com" else {}),
    )


def _redirect(params: dict[str, str], **answer: str) -> Response:
    if params.get("state"):
        answer = {"state": params["state"], **answer}
    uri = params["redirect_uri"]
    separator = "&" if urlsplit(uri).query else "?"
    return empty_response(302, headers={"Location": f"{uri}{separator}{urlencode(answer)}"})


# ---- token -----------------------------------------------------------------------------------
def token(request: Request, state: SandboxState) -> Response:
    store = google_store(state)
    form = request.form()
    grant_type = form.get("grant_type", "")
    if grant_type == JWT_BEARER:
        return dwd.jwt_bearer(store, form)
    if grant_type not in ("authorization_code", "refresh_token"):
        if not grant_type:
            return oauth_error("invalid_request", "Missing required parameter: grant_type")
        return oauth_error("unsupported_grant_type", f"Invalid grant_type: {grant_type}")
    client_id, secret = _client_credentials(request, form)
    if not client_id:
        return oauth_error("invalid_request", "Could not determine client ID from request.")
    client = store.clients.get(client_id)
    if client is None:
        return oauth_error("invalid_client", "The OAuth client was not found.", status=401)
    if not hmac.compare_digest(client.secret.encode(), secret.encode()):
        return oauth_error("invalid_client", "Unauthorized", status=401)
    if grant_type == "authorization_code":
        return _exchange_code(store, client, form)
    return _refresh(store, client, form)


def _client_credentials(request: Request, form: dict[str, str]) -> tuple[str, str]:
    """client_secret_post, or HTTP Basic (client_secret_basic), which Google also accepts."""
    client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
    scheme, _, encoded = (request.header("Authorization") or "").partition(" ")
    if scheme.lower() == "basic" and encoded and not secret:
        try:
            basic_id, _, basic_secret = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            basic_id = basic_secret = ""
        client_id = client_id or unquote_plus(basic_id)
        secret = unquote_plus(basic_secret)
    return client_id, secret


def _pkce_ok(code: AuthCode, verifier: str | None) -> str | None:
    if not code.code_challenge:
        return None
    if not verifier:
        return "Missing code verifier."
    if code.code_challenge_method == "S256":
        computed = jwts.b64url(hashlib.sha256(verifier.encode()).digest())
    else:
        computed = verifier
    return None if hmac.compare_digest(computed, code.code_challenge) else "Invalid code verifier."


def _exchange_code(store: GoogleStore, client: OAuthClient, form: dict[str, str]) -> Response:
    code = store.codes.get(form.get("code", ""))
    if (
        code is None
        or code.used
        or code.client_id != client.client_id
        or code.expires_at <= store.clock.now()
    ):
        return oauth_error("invalid_grant", "Bad Request")
    if form.get("redirect_uri") != code.redirect_uri:
        return oauth_error("redirect_uri_mismatch", "Bad Request")
    problem = _pkce_ok(code, form.get("code_verifier"))
    if problem:
        return oauth_error("invalid_grant", problem)
    code.used = True
    store.granted.setdefault((client.client_id, code.email), set()).update(code.scopes)
    refresh = (
        store.issue_refresh_token(client_id=client.client_id, email=code.email, scopes=code.scopes)
        if code.offline
        else None
    )
    access = store.issue_access_token(
        client_id=client.client_id, email=code.email, scopes=code.scopes, refresh_token=refresh
    )
    logger.info(
        "sandbox.google.token_issued", extra={"client_id": client.client_id, "grant": "authorization_code"}
    )
    return _token_response(store, client, code.email, access, code.scopes, refresh, code.nonce)


def _refresh(store: GoogleStore, client: OAuthClient, form: dict[str, str]) -> Response:
    refresh_token = form.get("refresh_token", "")
    grant = store.refresh_tokens.get(refresh_token)
    user = store.user(grant.email) if grant else None
    if (
        grant is None
        or grant.revoked
        or grant.client_id != client.client_id
        or user is None
        or user.suspended
    ):
        return oauth_error("invalid_grant", "Token has been expired or revoked.")
    scopes = grant.scopes
    if form.get("scope"):
        requested = frozenset(normalise_scopes(form["scope"]))
        invalid = sorted(requested - grant.scopes)
        if invalid:
            return oauth_error("invalid_scope", f"Some requested scopes were invalid. {{invalid={invalid}}}")
        scopes = requested
    access = store.issue_access_token(
        client_id=client.client_id, email=grant.email, scopes=scopes, refresh_token=refresh_token
    )
    return _token_response(store, client, grant.email, access, scopes, None, None)


def _token_response(
    store: GoogleStore,
    client: OAuthClient,
    email: str,
    access: str,
    scopes: frozenset[str],
    refresh: str | None,
    nonce: str | None,
) -> Response:
    body: dict[str, object] = {"access_token": access, "expires_in": ACCESS_TOKEN_LIFETIME}
    if refresh:
        body["refresh_token"] = refresh
    body["scope"] = " ".join(sorted(scopes))
    body["token_type"] = "Bearer"
    if "openid" in scopes:
        body["id_token"] = id_token(store, client, email, scopes, nonce)
    return json_response(200, body, headers=NO_STORE)


def id_token(
    store: GoogleStore, client: OAuthClient, email: str, scopes: frozenset[str], nonce: str | None
) -> str:
    user = store.user(email)
    assert user is not None
    now = int(store.clock.now())
    claims: dict[str, object] = {
        "iss": ISSUER,
        "azp": client.client_id,
        "aud": client.client_id,
        "sub": user.id,
    }
    if user.domain != "gmail.com":
        claims["hd"] = user.domain
    if scopes & EMAIL_SCOPES:
        claims.update(email=user.email, email_verified=True)
    if scopes & PROFILE_SCOPES:
        claims.update(name=user.full_name, given_name=user.given_name, family_name=user.family_name)
    if nonce:
        claims["nonce"] = nonce
    claims.update(iat=now, exp=now + 3600)
    return jwts.encode_rs256(claims)


# ---- revoke, userinfo, certs -----------------------------------------------------------------
def revoke(request: Request, state: SandboxState) -> Response:
    store = google_store(state)
    value = (
        request.form().get("token") if request.content_type == "application/x-www-form-urlencoded" else None
    )
    value = value or request.query_param("token") or ""
    if not store.revoke(value):
        return oauth_error("invalid_token", "Token expired or revoked")
    return json_response(200, {})


def userinfo(request: Request, state: SandboxState) -> Response:
    store = google_store(state)
    grant = bearer_grant(request, store)
    user = store.user(grant.email) if grant and grant.email else None
    if grant is None or user is None:
        return json_response(
            401,
            {"error": "invalid_request", "error_description": "Invalid Credentials"},
            headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'},
        )
    body: dict[str, object] = {"sub": user.id}
    if grant.scopes & PROFILE_SCOPES:
        body.update(name=user.full_name, given_name=user.given_name, family_name=user.family_name)
    if grant.scopes & EMAIL_SCOPES:
        body.update(email=user.email, email_verified=True)
    if user.domain != "gmail.com":
        body["hd"] = user.domain
    return json_response(200, body)


def certs(request: Request, state: SandboxState) -> Response:
    return json_response(200, jwts.jwks())
