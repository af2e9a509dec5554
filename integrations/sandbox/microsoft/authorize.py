"""The two browser-facing endpoints: the authorization endpoint (a user signs in and consents for
themselves) and the v2 admin consent endpoint (an admin consents for the whole tenant).

``GET`` shows the consent page; its form ``POST``s back to the same path. Problems with the client
or its redirect URI are shown as an error page (the redirect target cannot be trusted); everything
else is answered on the redirect URI, as Entra does.
"""

# Reference: https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow#request-an-authorization-code
# Reference: https://learn.microsoft.com/en-us/entra/identity-platform/v2-admin-consent
# Reference: https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes

from __future__ import annotations

import datetime as dt
import logging
import secrets
import uuid
from collections.abc import Callable
from html import escape
from typing import Any
from urllib.parse import urlencode, urlsplit

from integrations.sandbox.microsoft import consent
from integrations.sandbox.microsoft.directory import (
    AUTH_CODE_LIFETIME,
    AppRegistration,
    AuthCode,
    Directory,
    Tenant,
    User,
    directory,
)
from integrations.sandbox.microsoft.identity import TENANT, resolve_authority
from integrations.sandbox.microsoft.permissions import (
    application_wording,
    delegated_wording,
    parse_scopes,
)
from integrations.sandbox.routing import Request, Response, Router, empty_response
from integrations.sandbox.state import SandboxState

logger = logging.getLogger(__name__)

AUTHORIZE_PARAMS = ("client_id", "response_type", "redirect_uri", "scope", "state", "nonce",
                    "code_challenge", "code_challenge_method", "prompt", "login_hint", "domain_hint",
                    "response_mode", "client_info")  # fmt: skip
ADMIN_CONSENT_PARAMS = ("client_id", "redirect_uri", "state", "scope", "login_hint")
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "testserver"})
DECLINED = "AADSTS65004: User declined to consent to access the app."


def register_routes(router: Router, *, provider: str) -> None:
    router.add("GET", rf"/{TENANT}/oauth2/v2\.0/authorize", authorize, provider=provider)
    router.add("POST", rf"/{TENANT}/oauth2/v2\.0/authorize", authorize_decision, provider=provider)
    router.add("GET", rf"/{TENANT}/v2\.0/adminconsent", admin_consent, provider=provider)
    router.add("POST", rf"/{TENANT}/v2\.0/adminconsent", admin_consent_decision, provider=provider)


# --- user sign-in and consent -----------------------------------------------------------------


def authorize(request: Request, state: SandboxState) -> Response:
    params = _params({k: v[0] for k, v in request.query.items() if v}, AUTHORIZE_PARAMS)
    checked = _check_client(state, request.params["tenant"], params)
    if isinstance(checked, Response):
        return checked
    authority, app = checked
    problem = _authorize_problem(params)
    if problem is not None:
        return _redirect(params, **problem)
    scopes = parse_scopes(params["scope"])
    wanted = [*scopes.graph, *(app.roles if scopes.default else ())]
    permissions = [(name, delegated_wording(name)) for name in dict.fromkeys(wanted)]
    permissions += [(name, delegated_wording(name)) for name in sorted(scopes.oidc)]
    store = directory(state)
    users = _signable_users(store, authority)
    return consent.consent_page(
        heading="Permissions requested",
        intro=(
            f"<strong>{escape(app.display_name)}</strong> wants to sign you in to "
            f"{escape(_authority_name(authority))} and access your data. Pick the sandbox user who signs in."
        ),
        action=request.path,
        users=users,
        tenants=store.tenants,
        selected=_preselected(users, params.get("login_hint", "")),
        permissions=permissions,
        params=params,
    )


def authorize_decision(request: Request, state: SandboxState) -> Response:
    decided = _decision(request, state, AUTHORIZE_PARAMS, _authorize_problem)
    if isinstance(decided, Response):
        return decided
    params, app, user = decided
    store = directory(state)
    if user.tenant_id != app.tenant_id and not app.multi_tenant:
        return _not_multi_tenant(app)
    code = "1.AQ" + secrets.token_urlsafe(64)
    store.codes[code] = AuthCode(
        client_id=app.client_id,
        tenant_id=user.tenant_id,
        user_id=user.id,
        redirect_uri=params["redirect_uri"],
        scopes=tuple(params["scope"].split()),
        nonce=params.get("nonce"),
        code_challenge=params.get("code_challenge"),
        code_challenge_method=params.get("code_challenge_method"),
        expires_at=dt.datetime.now(dt.UTC) + AUTH_CODE_LIFETIME,
    )
    logger.info("sandbox.microsoft.code_issued", extra={"client_id": app.client_id, "user_id": user.id})
    return _redirect(params, code=code, session_state=str(uuid.uuid4()))


def _authorize_problem(params: dict[str, str]) -> dict[str, str] | None:
    """Errors Entra reports on the redirect URI (client and redirect URI already checked)."""
    if params.get("response_type") != "code":
        kind = params.get("response_type") or "(none)"
        return _error("unsupported_response_type", 700054,
                      f"response_type '{kind}' is not enabled for the application.")  # fmt: skip
    if not params.get("scope"):
        return _error(
            "invalid_request", 900144, "The request body must contain the following parameter: 'scope'."
        )
    scopes = parse_scopes(params["scope"])
    if scopes.unknown:
        return _error("invalid_scope", 70011,
                      f"The provided value for the input parameter 'scope' is not valid. The scope "
                      f"'{' '.join(scopes.unknown)}' does not exist.")  # fmt: skip
    method = params.get("code_challenge_method")
    if method and method not in ("S256", "plain"):
        # Code and wording not seen live; Entra documents only "plain" and "S256" as valid.
        return _error("invalid_request", 501491,
                      f"The code_challenge_method '{method}' is not supported. Use 'S256'.")  # fmt: skip
    if method and not params.get("code_challenge"):
        return _error("invalid_request", 900144,
                      "The request body must contain the following parameter: 'code_challenge'.")  # fmt: skip
    return None


# --- tenant-wide admin consent ----------------------------------------------------------------


def admin_consent(request: Request, state: SandboxState) -> Response:
    params = _params({k: v[0] for k, v in request.query.items() if v}, ADMIN_CONSENT_PARAMS)
    checked = _check_client(state, request.params["tenant"], params)
    if isinstance(checked, Response):
        return checked
    authority, app = checked
    problem = _admin_consent_problem(params)
    if problem is not None:
        return _redirect(params, **problem)
    store = directory(state)
    users = _signable_users(store, authority)
    hint = store.find_user(params.get("login_hint", ""))
    if hint is not None and not hint.can_grant_admin_consent:
        return consent.need_admin_approval_page(app_name=app.display_name, user=hint)
    admins = [u for u in users if u.can_grant_admin_consent]
    selected = hint or (admins[0] if admins else users[0] if users else None)
    scopes = parse_scopes(params["scope"])
    wanted = [*scopes.graph, *(app.roles if scopes.default else ())]
    return consent.consent_page(
        heading="Permissions requested — accept for your organization",
        intro=(
            f"<strong>{escape(app.display_name)}</strong> wants access to "
            f"{escape(_authority_name(authority))} for every user in the organization, without a "
            "signed-in user. Only a Global Administrator or Privileged Role Administrator can accept "
            "this for the organization."
        ),
        action=request.path,
        users=users,
        tenants=store.tenants,
        selected=selected.user_principal_name if selected else "",
        permissions=[(name, application_wording(name)) for name in dict.fromkeys(wanted)],
        params=params,
        note="If you accept, this app gets access to the specified resources for all users in your organization.",
    )


def admin_consent_decision(request: Request, state: SandboxState) -> Response:
    decided = _decision(request, state, ADMIN_CONSENT_PARAMS, _admin_consent_problem)
    if isinstance(decided, Response):
        return decided
    params, app, user = decided
    store = directory(state)
    if not user.can_grant_admin_consent:
        return consent.need_admin_approval_page(app_name=app.display_name, user=user)
    if user.tenant_id != app.tenant_id and not app.multi_tenant:
        return _not_multi_tenant(app)
    store.consents.add((user.tenant_id, app.client_id))
    logger.info(
        "sandbox.microsoft.admin_consent_granted",
        extra={"tenant_id": user.tenant_id, "client_id": app.client_id, "user_id": user.id},
    )
    return _redirect(params, admin_consent="True", tenant=user.tenant_id, scope=params["scope"])


def _admin_consent_problem(params: dict[str, str]) -> dict[str, str] | None:
    if not params.get("scope"):
        return _error(
            "invalid_request", 900144, "The request body must contain the following parameter: 'scope'."
        )
    unknown = parse_scopes(params["scope"]).unknown
    if unknown:
        return _error("invalid_scope", 70011,
                      f"The provided value for the input parameter 'scope' is not valid. The scope "
                      f"'{' '.join(unknown)}' does not exist.")  # fmt: skip
    return None


# --- shared -----------------------------------------------------------------------------------


def _decision(
    request: Request,
    state: SandboxState,
    names: tuple[str, ...],
    problem_of: Callable[[dict[str, str]], dict[str, str] | None],
) -> Response | tuple[dict[str, str], Any, Any]:
    """The submitted consent form checked like Entra does: (params, app, signed-in user) when
    accepted, otherwise the answer to send (an error page, or a redirect with the error)."""
    form = request.form()
    params = _params(form, names)
    checked = _check_client(state, request.params["tenant"], params)
    if isinstance(checked, Response):
        return checked
    authority, app = checked
    problem = problem_of(params)
    if problem is not None:
        return _redirect(params, **problem)
    if form.get("decision") != "accept":
        return _redirect(params, error="access_denied", error_subcode="cancel",
                         error_description=_described(DECLINED))  # fmt: skip
    user = _chosen_user(directory(state), authority, form.get("user", ""))
    if isinstance(user, Response):
        return user
    return params, app, user


def _params(values: dict[str, str], names: tuple[str, ...]) -> dict[str, str]:
    return {k: values[k] for k in names if values.get(k)}


def _check_client(
    state: SandboxState, tenant: str, params: dict[str, str]
) -> tuple[Tenant | str, AppRegistration] | Response:
    store = directory(state)
    authority = resolve_authority(state, tenant)
    if authority is None:
        return consent.error_page(90002, f"Tenant '{tenant}' not found. Check to make sure you have "
                                  "the correct tenant ID and are signing into the correct cloud.")  # fmt: skip
    client_id = params.get("client_id", "")
    if not client_id:
        return consent.error_page(
            900144, "The request body must contain the following parameter: 'client_id'."
        )
    app = store.apps.get(client_id)
    if app is None:
        where = authority if isinstance(authority, str) else authority.display_name
        return consent.error_page(
            700016,
            f"Application with identifier '{client_id}' was not found in the directory '{where}'. "
            "This can happen if the application has not been installed by the administrator of the "
            "tenant or consented to by any user in the tenant.",
        )
    redirect_uri = params.get("redirect_uri", "")
    if not redirect_allowed(app, redirect_uri):
        return consent.error_page(
            50011,
            f"The redirect URI '{redirect_uri}' specified in the request does not match the redirect "
            f"URIs configured for the application '{app.client_id}'. Make sure the redirect URI sent "
            "in the request matches one added to your application in the Azure portal.",
        )
    if isinstance(authority, Tenant) and authority.id != app.tenant_id and not app.multi_tenant:
        return _not_multi_tenant(app)
    return authority, app


def redirect_allowed(app: AppRegistration, uri: str) -> bool:
    if uri in app.redirect_uris:
        return True
    parts = urlsplit(uri)
    return app.local_redirects and parts.scheme in ("http", "https") and parts.hostname in LOCAL_HOSTS


def _signable_users(store: Directory, authority: Tenant | str) -> list[User]:
    users = store.users.values() if isinstance(authority, str) else store.users_of(authority.id)
    return sorted(
        (u for u in users if u.account_enabled), key=lambda u: (not u.is_admin, u.user_principal_name)
    )


def _preselected(users: list[User], hint: str) -> str:
    """The login_hint when it names a listed user, else the first one listed."""
    names = [u.user_principal_name for u in users]
    return hint if hint.lower() in (n.lower() for n in names) else (names[0] if names else "")


def _chosen_user(store: Directory, authority: Tenant | str, key: str) -> User | Response:
    tenant_id = None if isinstance(authority, str) else authority.id
    user = store.find_user(key, tenant_id) if key else None
    if user is None:
        return consent.error_page(
            50034, "Pick one of the listed accounts: the user account does not exist in this directory."
        )
    if not user.account_enabled:
        return consent.error_page(50057, "The user account is disabled.")
    return user


def _not_multi_tenant(app: AppRegistration) -> Response:
    return consent.error_page(
        50194,
        f"Application '{app.client_id}'({app.display_name}) is not configured as a multi-tenant "
        "application. Usage of the /common endpoint is not supported for such applications.",
    )


def _redirect(params: dict[str, str], **answer: str) -> Response:
    if params.get("state"):
        answer["state"] = params["state"]
    uri = params["redirect_uri"]
    mode = params.get("response_mode", "query")
    if mode == "form_post":
        return consent.form_post_page(uri, answer)
    separator = "#" if mode == "fragment" else "&" if urlsplit(uri).query else "?"
    return empty_response(302, headers={"Location": f"{uri}{separator}{urlencode(answer)}"})


def _error(error: str, code: int, message: str) -> dict[str, str]:
    return {"error": error, "error_description": _described(f"AADSTS{code}: {message}")}


def _described(first_line: str) -> str:
    # Entra appends trace details to every error description; clients show the first line.
    timestamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    return f"{first_line}\r\nTrace ID: {uuid.uuid4()}\r\nCorrelation ID: {uuid.uuid4()}\r\nTimestamp: {timestamp}"


def _authority_name(authority: Tenant | str) -> str:
    return "your organization" if isinstance(authority, str) else f"the {authority.display_name} organization"
