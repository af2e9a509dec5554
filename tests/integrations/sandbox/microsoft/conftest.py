"""Microsoft emulator fixtures: Graph called with plain ``requests`` (as the product does) and the
sandbox CA; tokens from the sandbox's own token endpoint or the in-process helpers.

Demo Co (integrations/sandbox/demo_world.py): admin@demo.example (Global Administrator),
seller1@ and seller2@demo.example in the security group "Cadence sellers". The tenant starts
without admin consent; ``app_graph`` grants it first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests

from integrations.sandbox.microsoft import control as ms
from integrations.sandbox.microsoft.demo import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TENANT_ID

ADMIN = "admin@demo.example"
SELLER1 = "seller1@demo.example"
SELLER2 = "seller2@demo.example"
REDIRECT_URI = "http://localhost:8000/integrations/microsoft/callback/"


@dataclass
class Graph:
    """Graph over HTTPS with one bearer token: ``get("/me")`` → ``/graph/v1.0/me``."""

    sandbox: Any
    token: str

    @property
    def root(self) -> str:
        return f"{self.sandbox.url}/graph/v1.0"

    def request(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> requests.Response:
        url = path if path.startswith("https://") else f"{self.root}{path}"
        return requests.request(
            method,
            url,
            headers={"Authorization": f"Bearer {self.token}", **(headers or {})},
            verify=self.sandbox.ca_path,
            timeout=30,
            **kwargs,
        )

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def ok(self, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self.get(path, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def graph(sandbox: Any, settings: Any) -> Any:
    """The sandbox, with ``MICROSOFT_GRAPH_URL`` pointing at its Graph root."""
    settings.MICROSOFT_GRAPH_URL = f"{sandbox.url}/graph"
    return sandbox


def app_token(sandbox: Any, tenant: str = DEMO_TENANT_ID) -> str:
    """A client-credentials token from the sandbox's token endpoint."""
    response = requests.post(
        f"{sandbox.url}/{tenant}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": DEMO_CLIENT_ID,
            "client_secret": DEMO_CLIENT_SECRET,
            "scope": "https://graph.microsoft.com/.default",
        },
        verify=sandbox.ca_path,
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


@pytest.fixture
def app_graph(graph: Any) -> Graph:
    """Cadence's app, admin-consented in Demo Co, with an app-only token."""
    ms.grant_admin_consent(graph.control)
    return Graph(graph, app_token(graph))


@pytest.fixture
def seller_graph(graph: Any) -> Graph:
    """seller1's delegated token (the demo app's delegated scopes)."""
    return Graph(graph, ms.user_tokens(graph.state, SELLER1).access_token)


@dataclass
class ConsentPage:
    status: int
    action: str = ""
    fields: dict[str, str] = field(default_factory=dict)
    users: list[str] = field(default_factory=list)
    checked: str | None = None
    buttons: list[tuple[str, str, str]] = field(default_factory=list)  # (name, value, label)
    text: str = ""


class _FormReader(HTMLParser):
    """The first form's action, hidden fields, ``user`` radios and submit buttons (stdlib only)."""

    def __init__(self, page: ConsentPage) -> None:
        super().__init__()
        self.page = page
        self._button: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and not self.page.action:
            self.page.action = a.get("action", "")
        elif tag == "input" and a.get("type") == "hidden":
            self.page.fields[a["name"]] = a.get("value", "")
        elif tag == "input" and a.get("type") == "radio" and a.get("name") == "user":
            self.page.users.append(a["value"])
            if "checked" in a:
                self.page.checked = a["value"]
        elif tag == "button":
            self._button = a

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self.page.buttons.append(
                (self._button.get("name", ""), self._button.get("value", ""), data.strip())
            )
            self._button = None


def consent_page(sandbox: Any, url: str) -> ConsentPage:
    response = requests.get(url, verify=sandbox.ca_path, timeout=10, allow_redirects=False)
    page = ConsentPage(response.status_code, text=re.sub(r"<[^>]+>", " ", response.text))
    if response.status_code == 200 and "<form" in response.text:
        _FormReader(page).feed(response.text)
        page.action = urljoin(url, page.action)
    return page


def answer(sandbox: Any, url: str, *, user: str, decision: str = "accept") -> requests.Response:
    """Submit the consent page as a browser would: its hidden fields, a user, and a button."""
    page = consent_page(sandbox, url)
    assert page.status == 200, page.text
    return requests.post(
        page.action,
        data={**page.fields, "user": user, "decision": decision},
        verify=sandbox.ca_path,
        timeout=10,
        allow_redirects=False,
    )


def redirect_query(response: requests.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}
