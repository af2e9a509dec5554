"""The OAuth web-server flow: consent page (allow/deny) through plain HTTP, code exchange with
PKCE, refresh and revoke through google-auth, userinfo and the id_token."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import google_auth_httplib2
import httplib2
import pytest
import requests
from google.auth.exceptions import RefreshError
from google.oauth2.credentials import Credentials

from integrations.sandbox.google.store import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from tests.integrations.sandbox.google.conftest import GMAIL_READONLY, SELLER1, SELLER2, raw, service

REDIRECT = "http://localhost:8000/integrations/google/callback"
SCOPES = f"openid email profile {GMAIL_READONLY}"


def authorize_params(**overrides: str) -> dict[str, str]:
    params = {
        "client_id": DEMO_CLIENT_ID,
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": SCOPES,
        "state": "st-123",
        "access_type": "offline",
        "prompt": "consent",
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v}


def consent(
    sandbox: Any, decision: str = "allow", email: str = SELLER1, **overrides: str
) -> dict[str, list[str]]:
    """Submit the consent form as the browser would; the query of the redirect back."""
    form = {**authorize_params(**overrides), "email": email, "decision": decision}
    response = raw(sandbox, "POST", "/google/o/oauth2/v2/auth", data=form, allow_redirects=False)
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.startswith(overrides.get("redirect_uri", REDIRECT))
    return parse_qs(urlsplit(location).query)


def exchange(sandbox: Any, code: str, **extra: str) -> requests.Response:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": DEMO_CLIENT_ID,
        "client_secret": DEMO_CLIENT_SECRET,
        "redirect_uri": REDIRECT,
        **extra,
    }
    return raw(sandbox, "POST", "/google/token", data=form)


def claims(id_token: str) -> dict[str, Any]:
    payload = id_token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_consent_page_says_it_is_the_sandbox_and_shows_scopes_and_users(sandbox: Any) -> None:
    page = raw(sandbox, "GET", "/google/o/oauth2/v2/auth", params=authorize_params(login_hint=SELLER2))
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    html = page.text
    assert "Cadence provider sandbox" in html and "It is not Google" in html
    assert f"<code>{GMAIL_READONLY}</code>" in html
    assert "https://www.googleapis.com/auth/userinfo.email" in html
    assert f'name="email" value="{SELLER2}" checked' in html and "admin@demo.example" in html
    assert 'name="decision" value="allow">Allow</button>' in html and 'value="deny">Deny</button>' in html
    assert 'name="state" value="st-123"' in html


@pytest.mark.parametrize(
    ("override", "status", "error"),
    [
        ({"client_id": "nobody"}, 401, "invalid_client"),
        ({"redirect_uri": "https://evil.example/cb"}, 400, "redirect_uri_mismatch"),
        ({"response_type": "token"}, 400, "invalid_request"),
        ({"scope": ""}, 400, "invalid_request"),
    ],
)
def test_bad_authorize_requests_get_an_error_page_not_a_redirect(
    sandbox: Any, override: dict, status: int, error: str
) -> None:
    page = raw(
        sandbox, "GET", "/google/o/oauth2/v2/auth", params=authorize_params(**override), allow_redirects=False
    )
    assert page.status_code == status and error in page.text


def test_deny_redirects_with_access_denied_and_state(sandbox: Any) -> None:
    assert consent(sandbox, "deny") == {"error": ["access_denied"], "state": ["st-123"]}


def test_allow_then_exchange_refresh_and_revoke(sandbox: Any) -> None:
    answer = consent(sandbox)
    assert answer["state"] == ["st-123"] and answer["hd"] == ["demo.example"]
    assert GMAIL_READONLY in answer["scope"][0].split()
    token = exchange(sandbox, answer["code"][0])
    assert token.status_code == 200 and token.headers["Cache-Control"].startswith("no-cache")
    body = token.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3599 and body["refresh_token"]
    assert set(body["scope"].split()) == {
        "openid",
        GMAIL_READONLY,
        "https://www.googleapis.com/auth/userinfo.email",
        "https://www.googleapis.com/auth/userinfo.profile",
    }
    identity = claims(body["id_token"])
    assert identity["iss"] == "https://accounts.google.com" and identity["aud"] == DEMO_CLIENT_ID
    assert identity["email"] == SELLER1 and identity["hd"] == "demo.example" and identity["sub"].isdigit()

    again = exchange(sandbox, answer["code"][0])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"  # codes are single-use

    info = raw(sandbox, "GET", "/google/oauth2/v3/userinfo", body["access_token"]).json()
    assert info == {
        "sub": identity["sub"],
        "name": "Sam Seller",
        "given_name": "Sam",
        "family_name": "Seller",
        "email": SELLER1,
        "email_verified": True,
        "hd": "demo.example",
    }

    credentials = Credentials(
        None,
        refresh_token=body["refresh_token"],
        client_id=DEMO_CLIENT_ID,
        client_secret=DEMO_CLIENT_SECRET,
        token_uri=f"{sandbox.url}/google/token",
        scopes=[GMAIL_READONLY],
    )
    gmail = service(sandbox, "gmail", credentials)
    assert gmail.users().getProfile(userId="me").execute()["emailAddress"] == SELLER1
    assert credentials.valid and credentials.token != body["access_token"]
    assert credentials.granted_scopes == [GMAIL_READONLY]

    assert raw(sandbox, "POST", "/google/revoke", data={"token": body["refresh_token"]}).json() == {}
    again = raw(sandbox, "POST", "/google/revoke", params={"token": body["refresh_token"]})
    assert again.status_code == 400 and again.json()["error"] == "invalid_token"
    assert raw(sandbox, "GET", "/google/gmail/v1/users/me/profile", credentials.token).status_code == 401
    with pytest.raises(RefreshError) as exc:
        credentials.refresh(google_auth_httplib2.Request(httplib2.Http(ca_certs=sandbox.ca_path)))
    assert "invalid_grant: Token has been expired or revoked." in str(exc.value)


def test_online_access_gets_no_refresh_token_and_no_id_token_without_openid(sandbox: Any) -> None:
    answer = consent(sandbox, access_type="", scope=GMAIL_READONLY)
    body = exchange(sandbox, answer["code"][0]).json()
    assert "refresh_token" not in body and "id_token" not in body


def test_include_granted_scopes_merges_earlier_grants(sandbox: Any) -> None:
    exchange(sandbox, consent(sandbox, scope=GMAIL_READONLY)["code"][0])
    later = consent(sandbox, scope="https://www.googleapis.com/auth/calendar", include_granted_scopes="true")
    body = exchange(sandbox, later["code"][0]).json()
    assert set(body["scope"].split()) == {GMAIL_READONLY, "https://www.googleapis.com/auth/calendar"}


def test_pkce(sandbox: Any) -> None:
    verifier = "v" * 50
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    code = consent(sandbox, code_challenge=challenge, code_challenge_method="S256")["code"][0]
    missing = exchange(sandbox, code)
    assert missing.status_code == 400 and missing.json()["error_description"] == "Missing code verifier."
    code = consent(sandbox, code_challenge=challenge, code_challenge_method="S256")["code"][0]
    assert (
        exchange(sandbox, code, code_verifier="w" * 50).json()["error_description"]
        == "Invalid code verifier."
    )
    code = consent(sandbox, code_challenge=challenge, code_challenge_method="S256")["code"][0]
    assert exchange(sandbox, code, code_verifier=verifier).status_code == 200


def test_token_endpoint_errors(sandbox: Any) -> None:
    code = consent(sandbox)["code"][0]
    wrong_secret = exchange(sandbox, code, client_secret="nope")
    assert wrong_secret.status_code == 401 and wrong_secret.json()["error"] == "invalid_client"
    unknown = exchange(sandbox, code, client_id="nobody")
    assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_client"
    mismatch = exchange(sandbox, code, redirect_uri="http://localhost:9999/other")
    assert mismatch.status_code == 400 and mismatch.json()["error"] == "redirect_uri_mismatch"
    basic = raw(
        sandbox,
        "POST",
        "/google/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
        auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET),
    )
    assert basic.status_code == 200  # client_secret_basic works too
    refresh = raw(
        sandbox,
        "POST",
        "/google/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": "1//bad",
            "client_id": DEMO_CLIENT_ID,
            "client_secret": DEMO_CLIENT_SECRET,
        },
    )
    assert refresh.status_code == 400
    assert refresh.json() == {
        "error": "invalid_grant",
        "error_description": "Token has been expired or revoked.",
    }
    assert (
        raw(sandbox, "POST", "/google/token", data={"grant_type": "password"}).json()["error"]
        == "unsupported_grant_type"
    )
    narrower = raw(
        sandbox,
        "POST",
        "/google/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": basic.json()["refresh_token"],
            "client_id": DEMO_CLIENT_ID,
            "client_secret": DEMO_CLIENT_SECRET,
            "scope": "https://www.googleapis.com/auth/calendar",
        },
    )
    assert narrower.status_code == 400 and narrower.json()["error"] == "invalid_scope"


def test_userinfo_without_a_token_is_refused(sandbox: Any) -> None:
    response = raw(sandbox, "GET", "/google/oauth2/v3/userinfo")
    assert response.status_code == 401 and response.json()["error"] == "invalid_request"
    assert raw(sandbox, "GET", "/google/oauth2/v3/certs").json()["keys"][0]["alg"] == "RS256"
