"""Salesforce emulator fixtures: the real simple-salesforce client, pointed at the sandbox.

``api`` is signed in as the seeded admin; ``api_as(username)`` as any seeded user. Raw ``requests``
helpers check what the client library hides (status codes, headers, exact bodies).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce

from integrations.sandbox.salesforce import control as sf
from integrations.sandbox.salesforce.demo import ADMIN_USERNAME

VERSION = "59.0"


class SandboxSession(requests.Session):
    """Passes the sandbox CA per request: REQUESTS_CA_BUNDLE would override ``Session.verify``."""

    def __init__(self, ca_path: str) -> None:
        super().__init__()
        self.ca_path = ca_path

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("verify", self.ca_path)
        kwargs.setdefault("timeout", 30)
        return super().request(method, url, *args, **kwargs)


def client(sandbox: Any, access_token: str) -> Salesforce:
    return Salesforce(
        instance_url=sandbox.url,
        session_id=access_token,
        version=VERSION,
        session=SandboxSession(sandbox.ca_path),
    )


@pytest.fixture
def api_as(sandbox: Any) -> Callable[[str], Salesforce]:
    def sign_in(username: str) -> Salesforce:
        return client(sandbox, sf.issue_tokens(sandbox.state, username).access_token)

    return sign_in


@pytest.fixture
def api(api_as: Callable[[str], Salesforce]) -> Salesforce:
    return api_as(ADMIN_USERNAME)


@pytest.fixture
def admin_token(sandbox: Any) -> str:
    return sf.issue_tokens(sandbox.state).access_token


def rest(sandbox: Any, method: str, path: str, token: str | None = None, **kwargs: Any) -> requests.Response:
    """A raw call to ``/services/data/v59.0/<path>`` (or an absolute path starting with "/")."""
    url = f"{sandbox.url}{path}" if path.startswith("/") else f"{sandbox.url}/services/data/v{VERSION}/{path}"
    headers = dict(kwargs.pop("headers", {}))
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.request(method, url, headers=headers, verify=sandbox.ca_path, timeout=30, **kwargs)
