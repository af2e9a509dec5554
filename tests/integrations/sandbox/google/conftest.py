"""Google emulator fixtures: the real google-auth / google-api-python-client stack, pointed at the
sandbox by ``api_endpoint`` alone, with every JSON answer checked against the discovery schemas.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import google_auth_httplib2
import httplib2
import pytest
import requests
from google.oauth2 import service_account
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build

from integrations.sandbox.google import control as google
from integrations.sandbox.google.store import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from tests.integrations.sandbox.google.schema_helpers import ValidatingHttp

ADMIN = "admin@demo.example"
SELLER1 = "seller1@demo.example"
SELLER2 = "seller2@demo.example"

AUTH = "https://www.googleapis.com/auth/"
GMAIL_READONLY = AUTH + "gmail.readonly"
GMAIL_METADATA = AUTH + "gmail.metadata"
GMAIL_MODIFY = AUTH + "gmail.modify"
GMAIL_SEND = AUTH + "gmail.send"
GMAIL_LABELS = AUTH + "gmail.labels"
CALENDAR = AUTH + "calendar"
CONTACTS_READONLY = AUTH + "contacts.readonly"
DIRECTORY = [
    AUTH + "admin.directory.user.readonly",
    AUTH + "admin.directory.group.readonly",
    AUTH + "admin.directory.group.member.readonly",
    AUTH + "admin.directory.orgunit.readonly",
    AUTH + "admin.directory.domain.readonly",
]
ALL = [GMAIL_MODIFY, GMAIL_SEND, CALENDAR, CONTACTS_READONLY, *DIRECTORY]
ENDPOINTS = {
    "gmail": "/google/",
    "calendar": "/google/calendar/v3/",
    "people": "/google/",
    "admin": "/google/",
}
VERSIONS = {"gmail": "v1", "calendar": "v3", "people": "v1", "admin": "directory_v1"}


def authorized_http(sandbox: Any, credentials: Any) -> ValidatingHttp:
    return ValidatingHttp(
        google_auth_httplib2.AuthorizedHttp(
            credentials, http=httplib2.Http(ca_certs=sandbox.ca_path, timeout=30)
        )
    )


def service(sandbox: Any, api: str, credentials: Any) -> Any:
    return build(
        api,
        VERSIONS[api],
        http=authorized_http(sandbox, credentials),
        client_options={"api_endpoint": sandbox.url + ENDPOINTS[api]},
        static_discovery=True,
    )


def user_credentials(sandbox: Any, email: str, scopes: Sequence[str]) -> Credentials:
    """A user's OAuth credentials (consent already given), refreshed through the token endpoint."""
    tokens = google.issue_tokens(sandbox.state, email, scopes=scopes)
    return Credentials(
        token=None,
        refresh_token=tokens.refresh_token,
        client_id=DEMO_CLIENT_ID,
        client_secret=DEMO_CLIENT_SECRET,
        token_uri=f"{sandbox.url}/google/token",
        scopes=list(scopes),
    )


def dwd_credentials(sandbox: Any, subject: str, scopes: Sequence[str]) -> service_account.Credentials:
    """Cadence's service account acting for ``subject`` through domain-wide delegation."""
    return service_account.Credentials.from_service_account_file(
        sandbox.google_service_account_path, scopes=list(scopes)
    ).with_subject(subject)


@pytest.fixture
def api(sandbox: Any) -> Callable[..., Any]:
    """``api("gmail", SELLER1, [scopes])``: a discovery client acting for the user (DWD)."""

    def make(name: str, user: str = SELLER1, scopes: Sequence[str] = ALL) -> Any:
        return service(sandbox, name, dwd_credentials(sandbox, user, scopes))

    return make


@pytest.fixture
def gmail(api: Callable[..., Any]) -> Any:
    return api("gmail", SELLER1)


def raw(sandbox: Any, method: str, path: str, token: str | None = None, **kwargs: Any) -> requests.Response:
    headers = dict(kwargs.pop("headers", {}))
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.request(
        method, f"{sandbox.url}{path}", headers=headers, verify=sandbox.ca_path, timeout=30, **kwargs
    )


def access_token(sandbox: Any, email: str, scopes: Sequence[str]) -> str:
    return google.issue_tokens(sandbox.state, email, scopes=scopes).access_token
