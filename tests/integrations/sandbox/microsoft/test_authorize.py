"""A user signs in through the sandbox's consent page and msal redeems the code, unmodified:
``initiate_auth_code_flow`` → consent → ``acquire_token_by_auth_code_flow`` → refresh."""

from __future__ import annotations

import base64
import json
from typing import Any

import msal
import pytest
import requests

from integrations.http import ProviderSession
from integrations.sandbox.microsoft import control as ms
from integrations.sandbox.microsoft.demo import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TENANT_ID
from integrations.sandbox.microsoft.directory import lookup_access_token
from tests.integrations.sandbox.microsoft.conftest import (
    ADMIN,
    REDIRECT_URI,
    SELLER1,
    Graph,
    answer,
    consent_page,
    redirect_query,
)

SCOPES = ["https://graph.microsoft.com/Mail.ReadWrite", "https://graph.microsoft.com/User.Read"]


def msal_app(sandbox: Any, authority: str = DEMO_TENANT_ID) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        DEMO_CLIENT_ID,
        client_credential=DEMO_CLIENT_SECRET,
        authority=f"{sandbox.url}/{authority}",
        instance_discovery=False,
        http_client=ProviderSession(),
    )


def claims(jwt: str) -> dict[str, Any]:
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def sign_in(sandbox: Any, app: msal.ConfidentialClientApplication, user: str = SELLER1) -> tuple[dict, dict]:
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT_URI)
    return flow, redirect_query(answer(sandbox, flow["auth_uri"], user=user))


@pytest.mark.parametrize("authority", [DEMO_TENANT_ID, "organizations"])
def test_msal_signs_a_user_in_and_refreshes_unmodified(graph: Any, authority: str) -> None:
    app = msal_app(graph, authority)
    flow, auth_response = sign_in(graph, app)

    result = app.acquire_token_by_auth_code_flow(flow, auth_response)

    assert "access_token" in result, result
    assert result["id_token_claims"]["preferred_username"] == SELLER1
    assert result["id_token_claims"]["tid"] == DEMO_TENANT_ID
    assert result["id_token_claims"]["nonce"] == claims(result["id_token"])["nonce"]
    assert set(result["scope"].split()) >= set(SCOPES)
    issued = lookup_access_token(graph.state, result["access_token"])
    assert issued is not None
    assert (issued.user_id, issued.tenant_id) == (ms.user_id(graph.state, SELLER1), DEMO_TENANT_ID)
    assert set(issued.scopes) == {"Mail.ReadWrite", "User.Read"}
    (account,) = app.get_accounts()
    assert account["username"] == SELLER1

    refreshed = app.acquire_token_silent(SCOPES, account=account, force_refresh=True)

    assert refreshed is not None and refreshed["token_source"] == "identity_provider"
    assert refreshed["access_token"] != result["access_token"]
    me = Graph(graph, refreshed["access_token"]).ok("/me")
    assert me["userPrincipalName"] == SELLER1


def test_the_consent_page_says_it_is_the_sandbox_and_lists_users_and_permissions(graph: Any) -> None:
    flow = msal_app(graph).initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT_URI, login_hint=SELLER1)

    page = consent_page(graph, flow["auth_uri"])

    assert page.status == 200
    assert "Cadence provider sandbox" in page.text and "not Microsoft" in page.text
    assert set(page.users) == {ADMIN, SELLER1, "seller2@demo.example"}
    assert page.checked == SELLER1
    assert "Read and write access to your mail" in page.text and "Mail.ReadWrite" in page.text
    assert [(b[1], b[2]) for b in page.buttons] == [("accept", "Accept"), ("cancel", "Cancel")]
    assert {"client_id", "redirect_uri", "state", "nonce", "code_challenge", "scope"} <= set(page.fields)


def test_cancelling_redirects_with_access_denied_and_the_state(graph: Any) -> None:
    flow = msal_app(graph).initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT_URI)

    query = redirect_query(answer(graph, flow["auth_uri"], user=SELLER1, decision="cancel"))

    assert query["error"] == "access_denied"
    assert query["error_subcode"] == "cancel"
    assert query["error_description"].startswith("AADSTS65004: User declined to consent")
    assert query["state"] == flow["state"]


def test_a_code_works_once_and_only_with_its_pkce_verifier(graph: Any) -> None:
    app = msal_app(graph)
    flow, auth_response = sign_in(graph, app)
    tampered = {**flow, "code_verifier": "x" * 43}

    refused = app.acquire_token_by_auth_code_flow(tampered, auth_response)
    assert refused["error"] == "invalid_grant" and "AADSTS501481" in refused["error_description"]

    flow2, auth_response2 = sign_in(graph, app)
    assert "access_token" in app.acquire_token_by_auth_code_flow(flow2, auth_response2)
    again = requests.post(
        f"{graph.url}/{DEMO_TENANT_ID}/oauth2/v2.0/token",
        data={"grant_type": "authorization_code", "client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET,
              "code": auth_response2["code"], "redirect_uri": REDIRECT_URI,
              "code_verifier": flow2["code_verifier"]},
        verify=graph.ca_path, timeout=10,
    )  # fmt: skip
    assert again.status_code == 400
    assert again.json()["error_codes"] == [54005]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"client_id": "00000000-0000-0000-0000-000000000000"}, "AADSTS700016"),
        ({"redirect_uri": "https://evil.example/cb"}, "AADSTS50011"),
    ],
)
def test_an_unknown_client_or_foreign_redirect_gets_an_error_page_not_a_redirect(
    graph: Any, params: dict[str, str], code: str
) -> None:
    query = {"client_id": DEMO_CLIENT_ID, "response_type": "code", "redirect_uri": REDIRECT_URI,
             "scope": "User.Read", "state": "s1", **params}  # fmt: skip
    response = requests.get(f"{graph.url}/organizations/oauth2/v2.0/authorize", params=query,
                            verify=graph.ca_path, timeout=10, allow_redirects=False)  # fmt: skip

    assert response.status_code == 400
    assert code in response.text and "Location" not in response.headers


def test_unknown_scopes_are_answered_on_the_redirect_uri(graph: Any) -> None:
    query = {"client_id": DEMO_CLIENT_ID, "response_type": "code", "redirect_uri": REDIRECT_URI,
             "scope": "Mail.ReadEverything", "state": "s2"}  # fmt: skip
    response = requests.get(f"{graph.url}/{DEMO_TENANT_ID}/oauth2/v2.0/authorize", params=query,
                            verify=graph.ca_path, timeout=10, allow_redirects=False)  # fmt: skip

    found = redirect_query(response)
    assert found["error"] == "invalid_scope" and found["state"] == "s2"


def refresh(sandbox: Any, refresh_token: str) -> requests.Response:
    return requests.post(
        f"{sandbox.url}/{DEMO_TENANT_ID}/oauth2/v2.0/token",
        data={"grant_type": "refresh_token", "client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET,
              "refresh_token": refresh_token, "scope": "Mail.ReadWrite offline_access openid profile"},
        verify=sandbox.ca_path, timeout=10,
    )  # fmt: skip


def test_refresh_rotates_the_refresh_token(graph: Any) -> None:
    tokens = ms.user_tokens(graph.state, SELLER1)

    body = refresh(graph, tokens.refresh_token).json()

    assert body["refresh_token"] != tokens.refresh_token
    assert body["scope"].split()[0] == "Mail.ReadWrite"
    assert set(body) >= {
        "access_token",
        "refresh_token",
        "id_token",
        "client_info",
        "expires_in",
        "ext_expires_in",
    }
    assert json.loads(base64.urlsafe_b64decode(body["client_info"] + "==")) == {
        "uid": tokens.user_id, "utid": DEMO_TENANT_ID,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("seed", "code"),
    [
        ({"revoke_refresh_tokens": [SELLER1]}, 50173),
        ({"expire_refresh_tokens": "all"}, 700082),
        (None, 70000),
    ],
)
def test_refused_refresh_tokens_answer_invalid_grant(
    graph: Any, seed: dict[str, Any] | None, code: int
) -> None:
    tokens = ms.user_tokens(graph.state, SELLER1)
    if seed:
        graph.control.seed("microsoft", seed)

    response = refresh(graph, tokens.refresh_token if seed else "1.AQ-not-a-token")

    assert response.status_code == 400
    body = response.json()
    assert (body["error"], body["error_codes"]) == ("invalid_grant", [code])
    assert body["error_description"].startswith(f"AADSTS{code}: ")


def test_a_refresh_cannot_widen_the_granted_scopes(graph: Any) -> None:
    tokens = ms.user_tokens(graph.state, SELLER1, scopes=["User.Read"])

    response = refresh(graph, tokens.refresh_token)

    assert response.status_code == 400
    assert response.json()["error_codes"] == [65001]
