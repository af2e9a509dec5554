"""OAuth 2.0 web-server flow as a Salesforce login host serves it: authorize (the consent page),
token (code exchange and refresh), revoke, and the identity URL.

Tokens are checked against the sandbox clock: access tokens live 2 hours, codes 10 minutes and
are single-use; revoking a refresh token revokes the access tokens issued from it.
"""

# Reference: https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_web_server_flow.htm
# Reference: https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_refresh_token_flow.htm
# Reference: https://help.salesforce.com/s/articleView?id=sf.remoteaccess_revoke_token.htm
# Reference: https://help.salesforce.com/s/articleView?id=sf.remoteaccess_using_openid.htm (identity URL)

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import logging
import secrets
from urllib.parse import unquote_plus, urlencode, urlsplit
from zoneinfo import ZoneInfo

from integrations.sandbox.routing import (
    Request,
    Response,
    Router,
    empty_response,
    json_response,
    text_response,
)
from integrations.sandbox.salesforce.consent import consent_page, error_page
from integrations.sandbox.salesforce.demo import ADMIN_USERNAME, salesforce_store
from integrations.sandbox.salesforce.errors import bad_oauth_token, oauth_error
from integrations.sandbox.salesforce.ids import normalize
from integrations.sandbox.salesforce.rest import bearer_token
from integrations.sandbox.salesforce.store import (
    AUTH_CODE_LIFETIME,
    AuthCode,
    ConnectedApp,
    SalesforceStore,
    iso,
)
from integrations.sandbox.state import SandboxState

logger = logging.getLogger(__name__)

SCOPE = "api refresh_token id"
AUTHORIZE_PARAMS = ("response_type", "client_id", "redirect_uri", "state", "scope", "prompt", "login_hint")
NO_STORE = {"Cache-Control": "no-cache,must-revalidate,max-age=0,no-store,private", "Pragma": "no-cache"}


def register_routes(router: Router, *, provider: str) -> None:
    router.add("GET", r"/services/oauth2/authorize", authorize, provider=provider)
    router.add("POST", r"/services/oauth2/authorize", decide, provider=provider)
    router.add("POST", r"/services/oauth2/token", token, provider=provider)
    router.add("POST", r"/services/oauth2/revoke", revoke, provider=provider)
    router.add("GET", r"/services/oauth2/revoke", revoke, provider=provider)
    router.add("GET", r"/id/(?P<org>[A-Za-z0-9]{15,18})/(?P<user>[A-Za-z0-9]{15,18})/?", identity,
               provider=provider)  # fmt: skip


def _authorize_params(values: dict[str, str]) -> dict[str, str]:
    return {k: values[k] for k in AUTHORIZE_PARAMS if values.get(k)}


def _app_or_error(store: SalesforceStore, params: dict[str, str]) -> ConnectedApp | Response:
    app = store.apps.get(params.get("client_id", ""))
    if app is None:
        return error_page("error=invalid_client_id: client identifier invalid")
    redirect_uri = params.get("redirect_uri", "")
    if urlsplit(redirect_uri).scheme not in ("http", "https"):
        return error_page("error=redirect_uri_mismatch: redirect_uri must match configuration")
    return app


def authorize(request: Request, state: SandboxState) -> Response:
    store = salesforce_store(state)
    params = _authorize_params({k: v[0] for k, v in request.query.items() if v})
    app = _app_or_error(store, params)
    if isinstance(app, Response):
        return app
    if params.get("response_type") != "code":
        return _redirect(
            params, error="unsupported_response_type", error_description="response type not supported"
        )
    hint = store.find_user(params.get("login_hint", "")) or store.find_user(ADMIN_USERNAME)
    users = [u for u in store.records["User"].values() if u.get("IsActive")]
    org = store.records["Organization"][store.org_id]
    return consent_page(
        app_name=app.name,
        org_name=org["Name"],
        users=users,
        selected=hint["Id"] if hint else "",
        params=params,
    )


def decide(request: Request, state: SandboxState) -> Response:
    store = salesforce_store(state)
    form = request.form()
    params = _authorize_params(form)
    app = _app_or_error(store, params)
    if isinstance(app, Response):
        return app
    if form.get("decision") != "allow":
        return _redirect(params, error="access_denied", error_description="end-user denied authorization")
    user = store.user(form.get("user_id", ""))
    if user is None or not user.get("IsActive"):
        return error_page("Pick one of the listed users to sign in as.")
    code = "aPrx" + secrets.token_urlsafe(48)
    store.codes[code] = AuthCode(
        client_id=app.client_id,
        redirect_uri=params["redirect_uri"],
        user_id=user["Id"],
        expires_at=store.clock.now() + AUTH_CODE_LIFETIME,
    )
    logger.info("sandbox.salesforce.code_issued", extra={"client_id": app.client_id, "user_id": user["Id"]})
    return _redirect(params, code=code)


def _redirect(params: dict[str, str], **answer: str) -> Response:
    if params.get("state"):
        answer["state"] = params["state"]
    uri = params["redirect_uri"]
    separator = "&" if urlsplit(uri).query else "?"
    return empty_response(302, headers={"Location": f"{uri}{separator}{urlencode(answer)}"})


def token(request: Request, state: SandboxState) -> Response:
    store = salesforce_store(state)
    form = request.form()
    client_id, client_secret = _client_credentials(request, form)
    grant_type = form.get("grant_type")
    if not grant_type:
        return oauth_error("invalid_request", "grant type is missing")
    if grant_type not in ("authorization_code", "refresh_token"):
        return oauth_error("unsupported_grant_type", "grant type not supported")
    app = store.apps.get(client_id)
    if app is None or not hmac.compare_digest(app.client_secret.encode(), client_secret.encode()):
        return oauth_error("invalid_client", "invalid client credentials")
    if grant_type == "authorization_code":
        return _exchange_code(request, store, app, form)
    return _refresh(request, store, app, form)


def _exchange_code(
    request: Request, store: SalesforceStore, app: ConnectedApp, form: dict[str, str]
) -> Response:
    code = store.codes.get(form.get("code", ""))
    if code is None or code.used or code.client_id != app.client_id:
        return oauth_error("invalid_grant", "authentication failure")
    if code.expires_at <= store.clock.now():
        return oauth_error("invalid_grant", "authorization code expired")
    if form.get("redirect_uri") != code.redirect_uri:
        return oauth_error("redirect_uri_mismatch", "redirect_uri must match configuration")
    code.used = True
    access, refresh = store.issue_tokens(client_id=app.client_id, user_id=code.user_id, with_refresh=True)
    return _token_response(request, store, app, code.user_id, access, refresh)


def _refresh(request: Request, store: SalesforceStore, app: ConnectedApp, form: dict[str, str]) -> Response:
    grant = store.refresh_tokens.get(form.get("refresh_token", ""))
    if grant is None or grant.revoked or grant.client_id != app.client_id:
        return oauth_error("invalid_grant", "expired access/refresh token")
    access = store.issue_access_token(
        client_id=app.client_id, user_id=grant.user_id, refresh_token=form["refresh_token"]
    )
    return _token_response(request, store, app, grant.user_id, access, None)


def _token_response(
    request: Request,
    store: SalesforceStore,
    app: ConnectedApp,
    user_id: str,
    access: str,
    refresh: str | None,
) -> Response:
    identity_url = f"{request.base_url}/id/{store.org_id}/{user_id}"
    issued_at = str(store.clock.now() * 1000)
    # Salesforce signs id + issued_at with the consumer secret (HMAC-SHA256, base64).
    signature = base64.b64encode(
        hmac.new(app.client_secret.encode(), (identity_url + issued_at).encode(), hashlib.sha256).digest()
    ).decode()
    body = {"access_token": access}
    if refresh:
        body["refresh_token"] = refresh
    body.update(
        signature=signature, scope=SCOPE, instance_url=request.base_url, id=identity_url,
        token_type="Bearer", issued_at=issued_at,
    )  # fmt: skip
    logger.info("sandbox.salesforce.token_issued", extra={"client_id": app.client_id, "user_id": user_id})
    return json_response(200, body, headers=NO_STORE)


def _client_credentials(request: Request, form: dict[str, str]) -> tuple[str, str]:
    """client_secret_post, or HTTP Basic which Salesforce also accepts."""
    client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
    scheme, _, encoded = (request.header("Authorization") or "").partition(" ")
    if scheme.lower() == "basic" and encoded and not client_secret:
        try:
            basic_id, _, basic_secret = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            basic_id = basic_secret = ""
        client_id = client_id or unquote_plus(basic_id)
        client_secret = unquote_plus(basic_secret)
    return client_id, client_secret


def revoke(request: Request, state: SandboxState) -> Response:
    store = salesforce_store(state)
    value = (
        (request.form() if request.method == "POST" else {}).get("token")
        or request.query_param("token")
        or ""
    )
    refresh = store.refresh_tokens.get(value)
    access = store.access_tokens.get(value)
    if refresh is None and access is None:
        return oauth_error("unsupported_token_type", "this token type is not supported")
    if refresh is not None:
        refresh.revoked = True
        for grant in store.access_tokens.values():
            if grant.refresh_token == value:
                grant.revoked = True
    if access is not None:
        access.revoked = True
    return empty_response(200)


def identity(request: Request, state: SandboxState) -> Response:
    store = salesforce_store(state)
    token = bearer_token(request) or request.query_param("oauth_token") or ""
    if store.session_user(token) is None:
        return bad_oauth_token()
    user = store.user(normalize(request.params["user"]) or "")
    if user is None or normalize(request.params["org"]) != store.org_id:
        return text_response(404, "Bad_Id")
    base = request.base_url
    data = f"{base}/services/data/v{{version}}"
    return json_response(
        200,
        {
            "id": f"{base}/id/{store.org_id}/{user['Id']}",
            "asserted_user": True,
            "user_id": user["Id"],
            "organization_id": store.org_id,
            "username": user["Username"],
            "nick_name": user["Alias"],
            "display_name": " ".join(p for p in (user.get("FirstName"), user.get("LastName")) if p),
            "email": user["Email"],
            "email_verified": True,
            "first_name": user.get("FirstName"),
            "last_name": user["LastName"],
            "timezone": user["TimeZoneSidKey"],
            "photos": {"picture": f"{base}/profilephoto/005/F", "thumbnail": f"{base}/profilephoto/005/T"},
            "addr_street": None,
            "addr_city": None,
            "addr_state": None,
            "addr_country": None,
            "addr_zip": None,
            "mobile_phone": None,
            "mobile_phone_verified": False,
            "is_lightning_login_user": False,
            "status": {"created_date": None, "body": None},
            "urls": {
                "enterprise": f"{base}/services/Soap/c/{{version}}/{store.org_id[:15]}",
                "metadata": f"{base}/services/Soap/m/{{version}}/{store.org_id[:15]}",
                "partner": f"{base}/services/Soap/u/{{version}}/{store.org_id[:15]}",
                "rest": f"{data}/",
                "sobjects": f"{data}/sobjects/",
                "search": f"{data}/search/",
                "query": f"{data}/query/",
                "recent": f"{data}/recent/",
                "tooling_soap": f"{base}/services/Soap/T/{{version}}/{store.org_id[:15]}",
                "tooling_rest": f"{data}/tooling/",
                "profile": f"{base}/{user['Id']}",
                "feeds": f"{data}/chatter/feeds",
                "groups": f"{data}/chatter/groups",
                "users": f"{data}/chatter/users",
                "feed_items": f"{data}/chatter/feed-items",
                "feed_elements": f"{data}/chatter/feed-elements",
                "limits": f"{data}/limits/",
                "custom_domain": base,
            },
            "active": True,
            "user_type": "STANDARD",
            "language": user["LanguageLocaleKey"],
            "locale": user["LocaleSidKey"],
            "utcOffset": _utc_offset_ms(user["TimeZoneSidKey"]),
            "last_modified_date": iso(user["LastModifiedDate"]),
            "is_app_installed": True,
        },
    )


def _utc_offset_ms(zone: str) -> int:
    offset = dt.datetime.now(ZoneInfo(zone)).utcoffset() or dt.timedelta()
    return int(offset.total_seconds() * 1000)
