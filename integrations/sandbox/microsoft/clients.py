"""Client authentication at the token endpoint, its successful answer and the errors it shares
between grants."""

# Reference: https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes

from __future__ import annotations

import base64
import binascii
import hmac
import logging
from urllib.parse import unquote_plus

from integrations.sandbox.microsoft.directory import ACCESS_TOKEN_LIFETIME, AppRegistration, Tenant
from integrations.sandbox.microsoft.errors import aadsts_error
from integrations.sandbox.routing import Request, Response, json_response

logger = logging.getLogger(__name__)

# Token responses must not be cached (RFC 6749 §5.1); Entra sends the same.
NO_STORE = {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"}


def token_response(access_token: str, **fields: object) -> Response:
    """The token endpoint's 200: a Bearer ``access_token`` with Entra's lifetime, plus ``fields``."""
    lifetime = int(ACCESS_TOKEN_LIFETIME.total_seconds())
    body = {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime}
    return json_response(200, {**body, **fields, "access_token": access_token}, headers=NO_STORE)


def client_authentication(request: Request, form: dict[str, str]) -> tuple[str, str]:
    """client_secret_post or client_secret_basic (msal sends Basic as well as the form fields)."""
    client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
    scheme, _, encoded = (request.header("Authorization") or "").partition(" ")
    if scheme.lower() == "basic" and encoded:
        try:
            basic_id, _, basic_secret = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            basic_id = basic_secret = ""
        client_id = client_id or unquote_plus(basic_id)
        client_secret = client_secret or unquote_plus(basic_secret)
    return client_id, client_secret


def check_secret(
    request: Request, app: AppRegistration, candidate: str, *, grant: str, tenant: Tenant | None
) -> Response | None:
    """None when the secret is one of the app's; else Entra's 401 invalid_client."""
    if not candidate:
        return aadsts_error(
            request,
            status=401,
            error="invalid_client",
            code=7000216,
            message=(
                f"'client_assertion', 'client_secret' or 'request' is required for the '{grant}' grant type."
            ),
        )
    if any(hmac.compare_digest(secret.encode(), candidate.encode()) for secret in app.secrets):
        return None
    logger.info(
        "sandbox.microsoft.token_refused",
        extra={
            "tenant_id": tenant.id if tenant else None,
            "client_id": app.client_id,
            "reason": "invalid_secret",
        },
    )
    return aadsts_error(
        request,
        status=401,
        error="invalid_client",
        code=7000215,
        message=(
            "Invalid client secret provided. Ensure the secret being sent in the request is the "
            "client secret value, not the client secret ID, for a secret added to app "
            f"'{app.client_id}'."
        ),
    )


def app_not_found(request: Request, client_id: str, tenant: Tenant | None = None) -> Response:
    """No such app (``tenant``: none registered there, or consented to, under that client id)."""
    where = f"the directory '{tenant.display_name}'" if tenant is not None else "the directory"
    wrong_tenant = " You may have sent your authentication request to the wrong tenant." if tenant else ""
    return aadsts_error(
        request,
        status=400,
        error="unauthorized_client",
        code=700016,
        message=(
            f"Application with identifier '{client_id}' was not found in {where}. This can happen "
            "if the application has not been installed by the administrator of the tenant or "
            f"consented to by any user in the tenant.{wrong_tenant}"
        ),
    )


def missing_parameter(request: Request, name: str) -> Response:
    return aadsts_error(
        request,
        status=400,
        error="invalid_request",
        code=900144,
        message=f"The request body must contain the following parameter: '{name}'.",
    )
