"""The login host: consent page, code exchange, refresh, revoke and the identity URL, called
with plain ``requests`` as Cadence's OAuth views will call them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from simple_salesforce.exceptions import SalesforceExpiredSession

from integrations.sandbox.salesforce import control as sf
from integrations.sandbox.salesforce.demo import (
    ADMIN_USERNAME,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    ORG_ID,
    REP1_USERNAME,
)
from tests.integrations.sandbox.salesforce.conftest import client, rest

REDIRECT_URI = "https://app.cadence.test/integrations/salesforce/callback"
AUTHORIZE_PARAMS = {
    "response_type": "code",
    "client_id": DEMO_CLIENT_ID,
    "redirect_uri": REDIRECT_URI,
    "state": "st4te-xyz",
    "scope": "api refresh_token id",
    "prompt": "login consent",
}


def authorize_page(sandbox: Any, **overrides: str) -> requests.Response:
    params = {k: v for k, v in {**AUTHORIZE_PARAMS, **overrides}.items() if v}
    return requests.get(
        f"{sandbox.url}/services/oauth2/authorize", params=params, verify=sandbox.ca_path, timeout=10
    )


def submit_consent(
    sandbox: Any, decision: str = "allow", username: str = ADMIN_USERNAME
) -> requests.Response:
    form = {**AUTHORIZE_PARAMS, "decision": decision, "user_id": sf.user_id(sandbox.state, username)}
    return requests.post(
        f"{sandbox.url}/services/oauth2/authorize",
        data=form,
        allow_redirects=False,
        verify=sandbox.ca_path,
        timeout=10,
    )


def token_request(sandbox: Any, **form: str) -> requests.Response:
    body = {"client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET, **form}
    return requests.post(
        f"{sandbox.url}/services/oauth2/token",
        data={k: v for k, v in body.items() if v is not None},
        verify=sandbox.ca_path,
        timeout=10,
    )


def get_code(sandbox: Any, username: str = ADMIN_USERNAME) -> str:
    location = submit_consent(sandbox, username=username).headers["Location"]
    return parse_qs(urlsplit(location).query)["code"][0]


def exchange(sandbox: Any, code: str, redirect_uri: str = REDIRECT_URI) -> requests.Response:
    return token_request(sandbox, grant_type="authorization_code", code=code, redirect_uri=redirect_uri)


def test_the_consent_page_says_it_is_the_sandbox_and_lists_the_seeded_users(sandbox: Any) -> None:
    response = authorize_page(sandbox)

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    page = response.text
    assert "Cadence provider sandbox" in page
    assert "It is not Salesforce" in page
    admin_id = sf.user_id(sandbox.state, ADMIN_USERNAME)
    assert f'name="user_id" value="{admin_id}" checked' in page
    assert REP1_USERNAME in page and "readonly@sandbox-corp.example" in page
    assert '<form method="post" action="/services/oauth2/authorize">' in page
    for name, value in AUTHORIZE_PARAMS.items():
        assert f'<input type="hidden" name="{name}" value="{value}">' in page
    assert 'name="decision" value="allow"' in page and 'name="decision" value="deny"' in page


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [({"client_id": "unknown-app"}, "invalid_client_id"), ({"redirect_uri": ""}, "redirect_uri_mismatch")],
)
def test_it_shows_an_error_page_without_redirecting_for_a_bad_client_or_redirect(
    sandbox: Any, overrides: dict[str, str], reason: str
) -> None:
    response = authorize_page(sandbox, **overrides)

    assert response.status_code == 400
    assert "Location" not in response.headers
    assert reason in response.text


def test_allowing_redirects_with_a_code_and_the_state(sandbox: Any) -> None:
    response = submit_consent(sandbox)

    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    query = parse_qs(location.query)
    assert query["state"] == ["st4te-xyz"]
    assert query["code"][0]


def test_denying_redirects_with_access_denied(sandbox: Any) -> None:
    response = submit_consent(sandbox, decision="deny")

    assert response.status_code == 302
    assert response.headers["Location"] == (
        f"{REDIRECT_URI}?error=access_denied&error_description=end-user+denied+authorization&state=st4te-xyz"
    )


def test_the_code_exchange_answers_like_salesforce(sandbox: Any) -> None:
    response = exchange(sandbox, get_code(sandbox, REP1_USERNAME))

    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]
    body = response.json()
    assert set(body) == {
        "access_token", "refresh_token", "signature", "scope", "instance_url", "id", "token_type",
        "issued_at",
    }  # fmt: skip
    user_id = sf.user_id(sandbox.state, REP1_USERNAME)
    assert body["instance_url"] == sandbox.url
    assert body["id"] == f"{sandbox.url}/id/{ORG_ID}/{user_id}"
    assert (body["token_type"], body["scope"]) == ("Bearer", "api refresh_token id")
    assert re.fullmatch(r"\d{13}", body["issued_at"])
    expected = hmac.new(
        DEMO_CLIENT_SECRET.encode(), (body["id"] + body["issued_at"]).encode(), hashlib.sha256
    ).digest()
    assert base64.b64decode(body["signature"]) == expected
    assert body["access_token"].startswith(ORG_ID[:15] + "!")


def test_the_issued_token_works_with_simple_salesforce(sandbox: Any) -> None:
    token = exchange(sandbox, get_code(sandbox)).json()["access_token"]

    assert client(sandbox, token).query("SELECT Id FROM Organization")["totalSize"] == 1


def test_a_code_works_once(sandbox: Any) -> None:
    code = get_code(sandbox)
    assert exchange(sandbox, code).status_code == 200

    again = exchange(sandbox, code)

    assert again.status_code == 400
    assert again.json() == {"error": "invalid_grant", "error_description": "authentication failure"}


def test_a_code_expires_after_ten_minutes(sandbox: Any) -> None:
    code = get_code(sandbox)
    sf.advance_clock(sandbox.state, 601)

    response = exchange(sandbox, code)

    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant", "error_description": "authorization code expired"}


def test_the_redirect_uri_must_match_the_authorize_one(sandbox: Any) -> None:
    response = exchange(sandbox, get_code(sandbox), redirect_uri="https://elsewhere.test/cb")

    assert response.status_code == 400
    assert response.json()["error"] == "redirect_uri_mismatch"


@pytest.mark.parametrize(
    ("form", "error", "description"),
    [
        ({"client_secret": "wrong"}, "invalid_client", "invalid client credentials"),
        ({"client_id": "someone-else"}, "invalid_client", "invalid client credentials"),
        ({"grant_type": "password"}, "unsupported_grant_type", "grant type not supported"),
        ({"grant_type": None}, "invalid_request", "grant type is missing"),
    ],
)
def test_it_refuses_bad_token_requests(
    sandbox: Any, form: dict[str, str | None], error: str, description: str
) -> None:
    response = token_request(sandbox, **{"grant_type": "authorization_code", "code": "x", **form})

    assert response.status_code == 400
    assert response.json() == {"error": error, "error_description": description}


def test_a_refresh_gives_a_new_access_token_without_a_new_refresh_token(sandbox: Any) -> None:
    tokens = exchange(sandbox, get_code(sandbox)).json()
    sf.advance_clock(sandbox.state, hours=3)
    with pytest.raises(SalesforceExpiredSession):
        client(sandbox, tokens["access_token"]).limits()

    response = token_request(sandbox, grant_type="refresh_token", refresh_token=tokens["refresh_token"])

    assert response.status_code == 200
    body = response.json()
    assert "refresh_token" not in body
    assert body["access_token"] != tokens["access_token"]
    assert client(sandbox, body["access_token"]).limits()["DailyApiRequests"]["Max"] == 100_000


def test_an_expired_access_token_answers_invalid_session_id(sandbox: Any, admin_token: str) -> None:
    sf.advance_clock(sandbox.state, 2 * 3600 + 1)

    response = rest(sandbox, "GET", "limits/", admin_token)

    assert response.status_code == 401
    assert response.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    with pytest.raises(SalesforceExpiredSession) as raised:
        client(sandbox, admin_token).query("SELECT Id FROM Lead LIMIT 1")
    assert raised.value.content[0]["errorCode"] == "INVALID_SESSION_ID"


def test_expire_access_tokens_helper_ends_every_session(sandbox: Any, admin_token: str) -> None:
    sf.expire_access_tokens(sandbox.state)

    assert rest(sandbox, "GET", "limits/", admin_token).status_code == 401


def test_revoking_the_refresh_token_revokes_its_access_tokens(sandbox: Any) -> None:
    tokens = exchange(sandbox, get_code(sandbox)).json()

    response = requests.post(
        f"{sandbox.url}/services/oauth2/revoke",
        data={"token": tokens["refresh_token"]},
        verify=sandbox.ca_path,
        timeout=10,
    )

    assert (response.status_code, response.content) == (200, b"")
    refresh = token_request(sandbox, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert refresh.json() == {"error": "invalid_grant", "error_description": "expired access/refresh token"}
    assert rest(sandbox, "GET", "limits/", tokens["access_token"]).status_code == 401


def test_revoking_an_access_token_keeps_the_refresh_token(sandbox: Any) -> None:
    tokens = exchange(sandbox, get_code(sandbox)).json()

    requests.post(
        f"{sandbox.url}/services/oauth2/revoke",
        data={"token": tokens["access_token"]},
        verify=sandbox.ca_path,
        timeout=10,
    )

    assert rest(sandbox, "GET", "limits/", tokens["access_token"]).status_code == 401
    refresh = token_request(sandbox, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert refresh.status_code == 200


def test_revoking_an_unknown_token_fails(sandbox: Any) -> None:
    response = requests.post(
        f"{sandbox.url}/services/oauth2/revoke", data={"token": "nope"}, verify=sandbox.ca_path, timeout=10
    )

    assert response.status_code == 400
    assert response.json() == {
        "error": "unsupported_token_type",
        "error_description": "this token type is not supported",
    }


def test_the_identity_url_describes_the_user(sandbox: Any) -> None:
    tokens = exchange(sandbox, get_code(sandbox, REP1_USERNAME)).json()

    response = requests.get(
        tokens["id"],
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        verify=sandbox.ca_path,
        timeout=10,
    )

    assert response.status_code == 200
    body = response.json()
    user_id = sf.user_id(sandbox.state, REP1_USERNAME)
    assert body["id"] == tokens["id"]
    assert (body["user_id"], body["organization_id"], body["username"]) == (user_id, ORG_ID, REP1_USERNAME)
    assert body["display_name"] == "Sam Rivera"
    assert (body["asserted_user"], body["active"], body["user_type"]) == (True, True, "STANDARD")
    assert body["email"] == REP1_USERNAME
    assert body["urls"]["rest"] == f"{sandbox.url}/services/data/v{{version}}/"
    assert body["urls"]["query"] == f"{sandbox.url}/services/data/v{{version}}/query/"
    assert body["urls"]["limits"] == f"{sandbox.url}/services/data/v{{version}}/limits/"
    assert {"language", "locale", "utcOffset", "nick_name"} <= set(body)


def test_the_identity_url_refuses_a_bad_token(sandbox: Any) -> None:
    user_id = sf.user_id(sandbox.state, ADMIN_USERNAME)

    response = requests.get(
        f"{sandbox.url}/id/{ORG_ID}/{user_id}",
        headers={"Authorization": "Bearer nope"},
        verify=sandbox.ca_path,
        timeout=10,
    )

    assert (response.status_code, response.text) == (403, "Bad_OAuth_Token")
