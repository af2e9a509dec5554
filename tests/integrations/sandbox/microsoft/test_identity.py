"""The Microsoft identity platform emulator answers like Entra ID, errors included."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from integrations.sandbox.microsoft.demo import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_TENANT_DOMAIN,
    DEMO_TENANT_ID,
)
from integrations.sandbox.microsoft.directory import lookup_access_token

GRAPH_DEFAULT = "https://graph.microsoft.com/.default"


def discover(sandbox: Any, tenant: str) -> requests.Response:
    return requests.get(
        f"{sandbox.url}/{tenant}/v2.0/.well-known/openid-configuration",
        verify=sandbox.ca_path,
        timeout=10,
    )


def request_token(sandbox: Any, tenant: str = DEMO_TENANT_ID, **overrides: str) -> requests.Response:
    form = {
        "grant_type": "client_credentials",
        "client_id": DEMO_CLIENT_ID,
        "client_secret": DEMO_CLIENT_SECRET,
        "scope": GRAPH_DEFAULT,
        **overrides,
    }
    return requests.post(
        f"{sandbox.url}/{tenant}/oauth2/v2.0/token",
        data={k: v for k, v in form.items() if v},
        headers={"client-request-id": "corr-1"},
        verify=sandbox.ca_path,
        timeout=10,
    )


@pytest.mark.parametrize("tenant", [DEMO_TENANT_ID, DEMO_TENANT_DOMAIN])
def test_discovery_names_https_endpoints_on_the_sandbox_for_the_tenant_guid(
    sandbox: Any, tenant: str
) -> None:
    config = discover(sandbox, tenant).json()

    base = f"{sandbox.url}/{DEMO_TENANT_ID}"
    assert config["issuer"] == f"{base}/v2.0"
    assert config["authorization_endpoint"] == f"{base}/oauth2/v2.0/authorize"
    assert config["token_endpoint"] == f"{base}/oauth2/v2.0/token"
    assert config["jwks_uri"] == f"{base}/discovery/v2.0/keys"
    assert "client_secret_post" in config["token_endpoint_auth_methods_supported"]


def test_discovery_of_an_unknown_tenant_fails_like_entra(sandbox: Any) -> None:
    response = discover(sandbox, "no-such-tenant")

    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_tenant"
    assert body["error_codes"] == [90002]
    assert body["error_description"].startswith("AADSTS90002: Tenant 'no-such-tenant' not found.")
    assert set(body) == {
        "error", "error_description", "error_codes", "timestamp", "trace_id", "correlation_id",
        "error_uri",
    }  # fmt: skip


def test_it_issues_an_app_token_and_remembers_it(sandbox: Any) -> None:
    response = request_token(sandbox)

    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == body["ext_expires_in"] == 3599
    assert set(body) == {"token_type", "expires_in", "ext_expires_in", "access_token"}
    issued = lookup_access_token(sandbox.state, body["access_token"])
    assert issued is not None
    assert (issued.tenant_id, issued.client_id) == (DEMO_TENANT_ID, DEMO_CLIENT_ID)
    assert issued.resource == "https://graph.microsoft.com"
    assert "Mail.ReadWrite" in issued.roles


def test_it_refuses_a_wrong_client_secret_with_aadsts7000215(sandbox: Any) -> None:
    response = request_token(sandbox, client_secret="wrong")

    assert response.status_code == 401
    body = response.json()
    assert body["error"] == "invalid_client"
    assert body["error_codes"] == [7000215]
    assert body["error_description"].startswith("AADSTS7000215: Invalid client secret provided.")
    assert "\r\nTrace ID: " in body["error_description"]
    assert body["correlation_id"] == "corr-1"


@pytest.mark.parametrize(
    ("overrides", "status", "error", "code"),
    [
        ({"scope": "https://graph.microsoft.com/Mail.Read"}, 400, "invalid_scope", 1002012),
        ({"scope": ""}, 400, "invalid_request", 90014),
        ({"scope": "https://unknown.example/.default"}, 400, "invalid_resource", 500011),
        ({"client_id": "00000000-0000-0000-0000-000000000000"}, 400, "unauthorized_client", 700016),
        ({"client_secret": ""}, 401, "invalid_client", 7000216),
        ({"grant_type": "password"}, 400, "unsupported_grant_type", 70003),
    ],
)
def test_it_refuses_malformed_client_credential_requests_like_entra(
    sandbox: Any, overrides: dict[str, str], status: int, error: str, code: int
) -> None:
    response = request_token(sandbox, **overrides)

    assert response.status_code == status
    body = response.json()
    assert (body["error"], body["error_codes"]) == (error, [code])
    assert body["error_description"].startswith(f"AADSTS{code}: ")


def test_token_requests_to_an_unknown_tenant_fail_with_aadsts90002(sandbox: Any) -> None:
    response = request_token(sandbox, tenant="no-such-tenant")

    assert response.status_code == 400
    assert response.json()["error_codes"] == [90002]


@pytest.mark.parametrize("authority", ["organizations", DEMO_TENANT_ID])
def test_the_jwks_uri_publishes_the_key_that_signs_id_tokens(sandbox, authority):
    import jwt

    from integrations.sandbox.microsoft import tokens
    from integrations.sandbox.microsoft.directory import directory

    config = discover(sandbox, authority).json()
    keys = requests.get(config["jwks_uri"], verify=sandbox.ca_path, timeout=10).json()["keys"]
    store = directory(sandbox.state)
    user = store.find_user("seller1@demo.example")
    id_token = tokens.id_token(
        store, app=store.apps[DEMO_CLIENT_ID], user=user, issuer_base=sandbox.url, nonce="n-1"
    )

    (key,) = keys
    assert {"kty", "use", "kid", "x5t", "n", "e", "x5c", "issuer"} <= set(key)
    assert (key["kty"], key["use"]) == ("RSA", "sig")
    assert key["issuer"] == config["issuer"]
    assert jwt.get_unverified_header(id_token) == {"typ": "JWT", "alg": "RS256", "kid": key["kid"]}
    claims = jwt.decode(
        id_token,
        key=jwt.PyJWK(key).key,
        algorithms=["RS256"],
        audience=DEMO_CLIENT_ID,
        issuer=f"{sandbox.url}/{DEMO_TENANT_ID}/v2.0",
    )
    assert (claims["tid"], claims["preferred_username"], claims["nonce"]) == (
        DEMO_TENANT_ID,
        "seller1@demo.example",
        "n-1",
    )
    assert {"oid", "sub", "name", "iat", "nbf", "exp"} <= set(claims)
