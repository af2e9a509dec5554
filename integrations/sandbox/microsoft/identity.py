"""Microsoft identity platform v2 subset: tenant discovery and the token endpoint's three grants
(client credentials, authorization code with PKCE, refresh token).

msal, given ``authority="https://localhost:PORT/<tenant>"`` and ``instance_discovery=False``,
first GETs ``<authority>/v2.0/.well-known/openid-configuration`` (every endpoint in it must be
https) and then POSTs the token endpoint it names (provider-facts B1, B2). ID tokens are signed
RS256 by the key ``jwks_uri`` publishes (``tokens.signing_key``). The authorize and admin
consent pages are in ``authorize``.
"""

# Reference: https://learn.microsoft.com/en-us/entra/identity-platform/v2-protocols-oidc#find-your-apps-openid-configuration-document-uri
# Reference: https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow
# Reference: https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow

from __future__ import annotations

import logging
from collections.abc import Callable

from integrations.sandbox.microsoft import user_grants
from integrations.sandbox.microsoft.clients import (
    app_not_found,
    check_secret,
    client_authentication,
    missing_parameter,
    token_response,
)
from integrations.sandbox.microsoft.directory import (
    KNOWN_RESOURCES,
    MULTI_TENANT_AUTHORITIES,
    Tenant,
    directory,
)
from integrations.sandbox.microsoft.errors import aadsts_error, tenant_not_found
from integrations.sandbox.microsoft.tokens import issue_app_token, jwks
from integrations.sandbox.routing import Request, Response, Router, json_response
from integrations.sandbox.state import SandboxState

logger = logging.getLogger(__name__)

TENANT = r"(?P<tenant>[^/]+)"


def register_routes(router: Router, *, provider: str) -> None:
    router.add(
        "GET",
        rf"/{TENANT}/v2\.0/\.well-known/openid-configuration",
        openid_configuration,
        provider=provider,
    )
    router.add("GET", rf"/{TENANT}/discovery/v2\.0/keys", signing_keys, provider=provider)
    router.add("POST", rf"/{TENANT}/oauth2/v2\.0/token", token, provider=provider)


def resolve_authority(state: SandboxState, value: str) -> Tenant | str | None:
    """A tenant, one of the multi-tenant authority names ("common", "organizations"), or None."""
    if value.lower() in MULTI_TENANT_AUTHORITIES:
        return value.lower()
    return directory(state).find_tenant(value)


def openid_configuration(request: Request, state: SandboxState) -> Response:
    authority = resolve_authority(state, request.params["tenant"])
    if authority is None:
        return tenant_not_found(request, request.params["tenant"])
    # Same keys as the real document; like Entra, endpoints name the tenant GUID even when the
    # authority used a domain, and multi-tenant authorities keep their name with a "{tenantid}"
    # placeholder issuer.
    segment = authority if isinstance(authority, str) else authority.id
    base = f"{request.base_url}/{segment}"
    issuer = f"{request.base_url}/{{tenantid}}/v2.0" if isinstance(authority, str) else f"{base}/v2.0"
    return json_response(
        200,
        {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": [
                "code",
                "id_token",
                "code id_token",
                "id_token token",
            ],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": issuer,
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{request.base_url}/oidc/userinfo",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "claims_supported": [
                "sub",
                "iss",
                "cloud_instance_name",
                "cloud_instance_host_name",
                "cloud_graph_host_name",
                "msgraph_host",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "acr",
                "nonce",
                "preferred_username",
                "name",
                "tid",
                "ver",
                "at_hash",
                "c_hash",
                "email",
            ],
            "kerberos_endpoint": f"{base}/kerberos",
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
            "rbac_url": "https://pas.windows.net",
        },
    )


def signing_keys(request: Request, state: SandboxState) -> Response:
    """The ID-token signing keys (JWKS); each names the issuer whose tokens it signs, with the
    ``{tenantid}`` placeholder on the multi-tenant authorities, as Entra's do."""
    # Reference: https://learn.microsoft.com/en-us/entra/identity-platform/access-tokens#validate-the-issuer
    authority = resolve_authority(state, request.params["tenant"])
    if authority is None:
        return tenant_not_found(request, request.params["tenant"])
    tenant = "{tenantid}" if isinstance(authority, str) else authority.id
    return json_response(200, jwks(f"{request.base_url}/{tenant}/v2.0"))


def token(request: Request, state: SandboxState) -> Response:
    authority = resolve_authority(state, request.params["tenant"])
    if authority is None:
        return tenant_not_found(request, request.params["tenant"])
    form = request.form()
    grant_type = form.get("grant_type")
    if not grant_type:
        return missing_parameter(request, "grant_type")
    grant = GRANTS.get(grant_type)
    if grant is None:
        return aadsts_error(
            request,
            status=400,
            error="unsupported_grant_type",
            code=70003,
            message=f"The app requested an unsupported grant type '{grant_type}'.",
        )
    return grant(request, state, authority, form)


def _client_credentials(
    request: Request, state: SandboxState, authority: Tenant | str, form: dict[str, str]
) -> Response:
    if isinstance(authority, str):
        # App-only tokens are always for one tenant: "common"/"organizations" name none.
        return tenant_not_found(request, authority)
    tenant = authority
    client_id, client_secret = client_authentication(request, form)
    if not client_id:
        return missing_parameter(request, "client_id")
    app = directory(state).find_app(tenant, client_id)
    if app is None:
        return app_not_found(request, client_id, tenant)
    scope = form.get("scope", "").strip()
    if not scope:
        return aadsts_error(
            request,
            status=400,
            error="invalid_request",
            code=90014,
            message=(
                "The required field 'scope' is missing from the credential. Ensure that you have "
                "all the necessary parameters for the login request."
            ),
        )
    scopes = scope.split()
    for value in scopes:
        if not value.endswith("/.default"):
            return aadsts_error(
                request,
                status=400,
                error="invalid_scope",
                code=1002012,
                message=(
                    f"The provided value for scope {value} is not valid. Client credential flows "
                    "must have a scope value with /.default suffixed to the resource identifier "
                    "(application ID URI)."
                ),
            )
    refused = check_secret(request, app, client_secret, grant="client_credentials", tenant=tenant)
    if refused is not None:
        return refused
    resource = scopes[0].removesuffix("/.default")
    if resource.rstrip("/") not in KNOWN_RESOURCES:
        return aadsts_error(
            request,
            status=400,
            error="invalid_resource",
            code=500011,
            message=(
                f"The resource principal named {resource} was not found in the tenant named "
                f"{tenant.display_name}. This can happen if the application has not been "
                "installed by the administrator of the tenant or consented to by any user in the "
                "tenant. You might have sent your authentication request to the wrong tenant."
            ),
        )
    access_token = issue_app_token(
        directory(state), app=app, tenant_id=tenant.id, resource=resource.rstrip("/")
    )
    logger.info(
        "sandbox.microsoft.token_issued",
        extra={
            "tenant_id": tenant.id,
            "client_id": client_id,
            "grant_type": "client_credentials",
        },
    )
    return token_response(access_token)


TokenGrant = Callable[[Request, SandboxState, "Tenant | str", dict[str, str]], Response]

GRANTS: dict[str, TokenGrant] = {
    "client_credentials": _client_credentials,
    "authorization_code": user_grants.authorization_code,
    "refresh_token": user_grants.refresh_token,
}
