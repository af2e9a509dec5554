"""Domain-wide delegation: google-auth's service-account credentials ``with_subject`` against the
JWT-bearer grant, with the key file the sandbox wrote, and the error answers of A2."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import google_auth_httplib2
import httplib2
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth.exceptions import RefreshError
from google.oauth2 import service_account
from googleapiclient.errors import HttpError

from integrations.sandbox.google import control as google
from integrations.sandbox.google import jwts
from tests.integrations.sandbox.google.conftest import (
    ADMIN,
    DIRECTORY,
    GMAIL_READONLY,
    SELLER1,
    dwd_credentials,
    raw,
    service,
)


def refresh(sandbox: Any, credentials: Any) -> None:
    credentials.refresh(google_auth_httplib2.Request(httplib2.Http(ca_certs=sandbox.ca_path)))


def key_file(sandbox: Any) -> dict[str, Any]:
    return json.loads(Path(sandbox.google_service_account_path).read_text())


def test_the_key_file_points_google_auth_at_the_sandbox(sandbox: Any, settings: Any) -> None:
    info = key_file(sandbox)
    assert info["type"] == "service_account" and info["token_uri"] == f"{sandbox.url}/google/token"
    assert info["client_id"].isdigit() and info["client_email"].endswith(".iam.gserviceaccount.com")
    assert sandbox.google_service_account_path == settings.GOOGLE_SERVICE_ACCOUNT_FILE
    assert f"{sandbox.url}/google/" == settings.GOOGLE_GMAIL_URL
    assert Path(sandbox.google_service_account_path).stat().st_mode & 0o077 == 0


def test_delegated_token_acts_for_the_subject(sandbox: Any) -> None:
    credentials = dwd_credentials(sandbox, SELLER1, [GMAIL_READONLY])
    refresh(sandbox, credentials)
    assert credentials.valid and credentials.token.startswith("ya29.")
    gmail = service(sandbox, "gmail", credentials)
    assert gmail.users().getProfile(userId="me").execute()["emailAddress"] == SELLER1
    (assertion,) = [e for e in sandbox.control.requests("/google/token")]
    assert assertion["body"]["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert assertion["body"]["assertion"] == "[redacted]"


def test_withdrawn_delegation_is_unauthorized_client(sandbox: Any) -> None:
    google.revoke_dwd(sandbox.control)
    with pytest.raises(RefreshError) as exc:
        refresh(sandbox, dwd_credentials(sandbox, SELLER1, [GMAIL_READONLY]))
    assert str(exc.value).startswith(
        "('unauthorized_client: Client is unauthorized to retrieve access tokens"
    )


def test_a_scope_outside_the_authorisation_is_unauthorized_client(sandbox: Any) -> None:
    client_id = key_file(sandbox)["client_id"]
    google.authorize_dwd(sandbox.control, client_id, scopes=[GMAIL_READONLY])
    refresh(sandbox, dwd_credentials(sandbox, SELLER1, [GMAIL_READONLY]))
    with pytest.raises(RefreshError, match="unauthorized_client"):
        refresh(
            sandbox,
            dwd_credentials(sandbox, SELLER1, [GMAIL_READONLY, "https://www.googleapis.com/auth/calendar"]),
        )


def test_unknown_subject_is_invalid_grant(sandbox: Any) -> None:
    with pytest.raises(RefreshError, match="invalid_grant: Invalid email or User ID"):
        refresh(sandbox, dwd_credentials(sandbox, "nobody@demo.example", [GMAIL_READONLY]))


def test_another_domain_has_not_authorised_cadence(sandbox: Any) -> None:
    google.seed(
        sandbox.control, {"users": [{"email": "amy@other.example", "name": "Amy Other", "is_admin": True}]}
    )
    with pytest.raises(RefreshError, match="unauthorized_client"):
        refresh(sandbox, dwd_credentials(sandbox, "amy@other.example", [GMAIL_READONLY]))


def test_a_key_the_sandbox_does_not_know_is_an_invalid_signature(sandbox: Any) -> None:
    info = key_file(sandbox)
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    info["private_key"] = stranger.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    credentials = service_account.Credentials.from_service_account_info(info, scopes=[GMAIL_READONLY])
    with pytest.raises(RefreshError, match=r"invalid_grant: Invalid JWT Signature\."):
        refresh(sandbox, credentials.with_subject(SELLER1))


def test_seeded_service_accounts_and_assertion_checks(sandbox: Any) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    google.seed(
        sandbox.control,
        {
            "service_accounts": [
                {
                    "client_email": "other@p.iam.gserviceaccount.com",
                    "client_id": "42",
                    "public_key_pem": pem.decode(),
                    "private_key_id": "k1",
                }
            ]
        },
    )
    now = int(time.time())

    def grant(**claims: Any) -> Any:
        body = {
            "iss": "other@p.iam.gserviceaccount.com",
            "aud": "https://oauth2.googleapis.com/token",
            "scope": GMAIL_READONLY,
            "sub": SELLER1,
            "iat": now,
            "exp": now + 3600,
            **claims,
        }
        assertion = jwts.encode_rs256(body, key, kid="k1")
        return raw(
            sandbox,
            "POST",
            "/google/token",
            data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion},
        )

    refused = grant()
    assert refused.status_code == 401 and refused.json()["error"] == "unauthorized_client"
    google.authorize_dwd(sandbox.control, "42", scopes=[GMAIL_READONLY])
    assert grant().status_code == 200
    assert (
        grant(aud=f"{sandbox.url}/google/token")
        .json()["error_description"]
        .startswith("Invalid JWT: Failed audience")
    )
    assert "short-lived" in grant(exp=now + 7200).json()["error_description"]
    assert grant(scope="").json()["error"] == "invalid_scope"
    no_subject = grant(sub=None)
    token = no_subject.json()["access_token"]
    profile = raw(sandbox, "GET", "/google/gmail/v1/users/me/profile", token)
    assert (
        profile.status_code == 400 and profile.json()["error"]["errors"][0]["reason"] == "failedPrecondition"
    )


def test_directory_needs_an_admin_subject(sandbox: Any, api: Any) -> None:
    assert api("admin", ADMIN, DIRECTORY).users().list(customer="my_customer").execute()["users"]
    with pytest.raises(HttpError) as exc:
        api("admin", SELLER1, DIRECTORY).users().list(customer="my_customer").execute()
    assert exc.value.resp.status == 403 and exc.value.reason == "Not Authorized to access this resource/api"
