"""Salesforce tests run against the provider sandbox's Salesforce emulator over loopback.

Seeded Salesforce users (sandbox contract): the System Administrator ``admin@``, a sales rep
(Standard User), ``readonly@`` (Read Only profile) and ``noapi@`` (no API access).
"""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from django.test import Client
from django.urls import reverse

from copilot.models import Organization, User
from integrations import services
from integrations.models import Connection
from integrations.salesforce import auth
from integrations.salesforce.checks import check_tokens

ADMIN = "admin@sandbox-corp.example"
REP = "sam.rivera@sandbox-corp.example"  # Standard User: may read Users, not create or edit them
READONLY = "readonly@sandbox-corp.example"
NOAPI = "noapi@sandbox-corp.example"
CALLBACK = "http://testserver/integrations/salesforce/callback/"


@pytest.fixture
def sf(sandbox: Any, settings: Any) -> Any:
    """The sandbox, with Cadence's Salesforce settings pointing at it."""
    settings.SALESFORCE_LOGIN_URL = sandbox.url
    settings.SALESFORCE_CLIENT_ID = "cadence-sandbox-client"
    settings.SALESFORCE_CLIENT_SECRET = "cadence-sandbox-secret"
    return sandbox


@dataclass
class ConsentForm:
    action: str
    fields: dict[str, str]
    users: dict[str, tuple[str, str]]  # label text -> (input name, value)
    buttons: dict[str, tuple[str, str]]  # button text -> (name, value)
    text: str


class _ConsentParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}
        self.radios: list[tuple[str, str, str]] = []  # (id, name, value)
        self.labels: dict[str, str] = {}
        self.buttons: dict[str, tuple[str, str]] = {}
        self.text: list[str] = []
        self._label_for: str | None = None
        self._label_text: list[str] = []
        self._radio_in_label: tuple[str, str] | None = None
        self._button: tuple[str, str] | None = None
        self._button_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method", "").lower() == "post":
            self.action = a.get("action", "")
        elif tag == "input":
            kind = a.get("type", "text").lower()
            if kind == "hidden":
                self.fields[a["name"]] = a.get("value", "")
            elif kind == "radio":
                self.radios.append((a.get("id", ""), a["name"], a.get("value", "")))
                if self._label_for is not None:
                    self._radio_in_label = (a["name"], a.get("value", ""))
            elif kind == "submit" and a.get("name"):
                self.buttons[a.get("value", "")] = (a["name"], a.get("value", ""))
        elif tag == "label":
            self._label_for = a.get("for", "")
            self._label_text = []
            self._radio_in_label = None
        elif tag == "button":
            self._button = (a.get("name", ""), a.get("value", ""))
            self._button_text = []

    def handle_endtag(self, tag: str) -> None:
        text = " ".join("".join(self._label_text).split())
        if tag == "label" and self._label_for is not None:
            if self._radio_in_label:
                self.labels[f"radio:{self._radio_in_label[0]}={self._radio_in_label[1]}"] = text
            elif self._label_for:
                self.labels[self._label_for] = text
            self._label_for = None
        elif tag == "button" and self._button is not None:
            self.buttons[" ".join("".join(self._button_text).split())] = self._button
            self._button = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._label_for is not None:
            self._label_text.append(data)
        if self._button is not None:
            self._button_text.append(data)

    def form(self) -> ConsentForm:
        users = {}
        for radio_id, name, value in self.radios:
            label = self.labels.get(radio_id) or self.labels.get(f"radio:{name}={value}") or value
            users[label] = (name, value)
        return ConsentForm(
            self.action, self.fields, users, self.buttons, " ".join(" ".join(self.text).split())
        )


def consent_page(sandbox: Any, authorize_url: str) -> tuple[requests.Session, requests.Response, ConsentForm]:
    http = requests.Session()
    page = http.get(authorize_url, verify=sandbox.ca_path, timeout=10)
    parser = _ConsentParser()
    parser.feed(page.text)
    return http, page, parser.form()


def consent(sandbox: Any, authorize_url: str, *, username: str = ADMIN, allow: bool = True) -> str:
    """Answer the sandbox's consent page as a person would; returns where it redirects to."""
    http, page, form = consent_page(sandbox, authorize_url)
    assert page.status_code == 200, page.text
    data = dict(form.fields)
    matches = [choice for label, choice in form.users.items() if username in label or username == choice[1]]
    if not matches:  # the radio value may be the user id: pick by the label text
        raise AssertionError(f"{username} is not offered on the consent page: {list(form.users)}")
    name, value = matches[0]
    data[name] = value
    wanted = "allow" if allow else "deny"
    button = next(b for text, b in form.buttons.items() if wanted in (text + b[1]).lower())
    if button[0]:
        data[button[0]] = button[1]
    answer = http.post(
        urljoin(authorize_url, form.action or urlsplit(authorize_url).path),
        data=data,
        verify=sandbox.ca_path,
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def start_connect(client: Client, scope: str = "organization") -> str:
    response = client.post(reverse("integrations:salesforce_connect"), {"scope": scope})
    assert response.status_code == 302, response.content
    return response["Location"]


def connect(
    client: Client, sandbox: Any, *, username: str = ADMIN, scope: str = "organization", allow: bool = True
) -> Any:
    """The whole connect flow through the Django test client and the sandbox's consent page;
    returns the callback's response (not followed)."""
    authorize_url = start_connect(client, scope)
    assert authorize_url.startswith(sandbox.url)
    back = urlsplit(consent(sandbox, authorize_url, username=username, allow=allow))
    assert back.path == reverse("integrations:salesforce_callback")
    return client.get(f"{back.path}?{back.query}")


def sandbox_connection(
    sandbox: Any,
    organization: Organization,
    actor: User,
    *,
    username: str = ADMIN,
    scope: str = Connection.Scope.ORGANIZATION,
) -> Connection:
    """A stored connection signed in as ``username``, made without the views."""
    location = consent(
        sandbox, auth.authorization_url(state="test", redirect_uri=CALLBACK), username=username
    )
    code = parse_qs(urlsplit(location).query)["code"][0]
    tokens = auth.exchange_code(code=code, redirect_uri=CALLBACK)
    result, _usage = check_tokens(tokens, organization=organization, scope=scope)
    return services.connection_save_from_oauth(
        organization=organization,
        actor=actor,
        provider="salesforce",
        scope=scope,
        credentials=tokens.credentials(),
        external_org_id=tokens.org_id,
        external_user_id=tokens.user_id,
        external_username=username,
        instance_url=tokens.instance_url,
        identity_url=tokens.identity_url,
        details=result.details,
    )


def rest_get(sandbox: Any, path: str, token: str) -> requests.Response:
    """A raw REST call with ``token``, to see what Salesforce thinks of it."""
    return requests.get(
        f"{sandbox.url}/services/data/v59.0/{path}",
        headers={"Authorization": f"Bearer {token}"},
        verify=sandbox.ca_path,
        timeout=10,
    )


def refresh_grant(sandbox: Any, refresh_token: str) -> requests.Response:
    return requests.post(
        f"{sandbox.url}/services/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": "cadence-sandbox-client",
            "client_secret": "cadence-sandbox-secret",
        },
        verify=sandbox.ca_path,
        timeout=10,
    )


@pytest.fixture
def connection(sf: Any, acme: Organization, owner: User) -> Connection:
    """Acme's organisation-wide connection, as the sandbox's System Administrator."""
    return sandbox_connection(sf, acme, owner)
