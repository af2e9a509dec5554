"""Google fixtures: Demo Co in Cadence (its admin and two sellers, as in the sandbox's demo
domain), connections made the way the product makes them, and a browser stand-in for Google's
consent screen."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from django.utils import timezone

from integrations import governance, services
from integrations.google.provider import ADMIN_SCOPES, USER_SCOPES
from integrations.models import Connection
from integrations.sandbox.google import control as google
from integrations.sandbox.google.oauth import normalise_scopes
from integrations.sync.source import MailboxRef
from tests.factories import AdminFactory, OrganizationFactory, UserFactory

ADMIN = "admin@demo.example"
SELLER1 = "seller1@demo.example"
SELLER2 = "seller2@demo.example"
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


@pytest.fixture
def demo_co(db: Any) -> Any:
    return OrganizationFactory(name="Demo Co")


@pytest.fixture
def demo_admin(demo_co: Any) -> Any:
    return AdminFactory(organization=demo_co, email=ADMIN, first_name="Ada", last_name="Admin")


@pytest.fixture
def seller1(demo_co: Any) -> Any:
    return UserFactory(organization=demo_co, email=SELLER1, first_name="Sam", last_name="Seller")


@pytest.fixture
def seller2(demo_co: Any) -> Any:
    return UserFactory(organization=demo_co, email=SELLER2, first_name="Sofia", last_name="Reyes")


@pytest.fixture
def admin_client(client: Any, demo_admin: Any) -> Any:
    client.force_login(demo_admin)
    return client


def consent(sandbox: Any, authorize_url: str, *, email: str, decision: str = "allow") -> str:
    """Do what a person does on the sandbox's Google consent page: open it, pick ``email``, press
    Allow or Deny. Returns the path + query of the callback Google redirects the browser to."""
    assert authorize_url.startswith(f"{sandbox.url}/google/o/oauth2/v2/auth?"), authorize_url
    with requests.Session() as browser:
        page = browser.get(authorize_url, verify=sandbox.ca_path, timeout=10)
        assert page.status_code == 200, page.text
        form = {name: unescape(value) for name, value in _HIDDEN.findall(page.text)}
        form.update(email=email, decision=decision)
        answer = browser.post(
            f"{sandbox.url}/google/o/oauth2/v2/auth",
            data=form,
            verify=sandbox.ca_path,
            timeout=10,
            allow_redirects=False,
        )
    assert answer.status_code == 302, answer.text
    location = urlsplit(answer.headers["Location"])
    assert location.netloc == "testserver", location
    return f"{location.path}?{location.query}"


def dwd_connection(
    sandbox: Any, organization: Any, actor: Any, *, scope: dict[str, Any] | None = None
) -> Connection:
    """An admin-managed connection as the connect flow leaves it, without the consent dance."""
    details: dict[str, Any] = {
        "mode": "dwd",
        "domain": "demo.example",
        "customer_id": "",
        "admin_email": ADMIN,
        "verified_domains": ["demo.example"],  # the Directory's domains list, read at connect
    }
    if scope is not None:
        details["scope"] = scope
    return _connection(
        sandbox, organization, actor, email=ADMIN, scopes=ADMIN_SCOPES, org_wide=True, details=details
    )


def own_connection(sandbox: Any, user: Any) -> Connection:
    """A user-managed connection as the connect flow leaves it."""
    details = {"mode": "oauth", "domain": "demo.example", "email": user.email}
    return _connection(
        sandbox,
        user.organization,
        user,
        email=user.email,
        scopes=USER_SCOPES,
        org_wide=False,
        details=details,
    )


def _connection(
    sandbox: Any,
    organization: Any,
    actor: Any,
    *,
    email: str,
    scopes: Any,
    org_wide: bool,
    details: dict[str, Any],
) -> Connection:
    tokens = google.issue_tokens(sandbox.state, email, scopes=normalise_scopes(" ".join(scopes)))
    now = timezone.now()
    connection = services.connection_save_from_oauth(
        organization=organization,
        actor=actor,
        provider="google",
        scope=Connection.Scope.ORGANIZATION if org_wide else Connection.Scope.USER,
        credentials={
            "access_token": tokens.access_token,
            "refresh_token": tokens.refresh_token,
            "issued_at": now.isoformat(),
            "expires_in": 3599,
            "expires_at": (now + dt.timedelta(seconds=3599)).isoformat(),
            "scopes": normalise_scopes(" ".join(scopes)),
        },
        external_org_id="",
        external_user_id="",
        external_username=email,
        instance_url="",
        details=details,
    )
    governance.apps_install(connection=connection, apps=("email", "calendar"), actor=actor)
    return connection


def mailbox(user: Any) -> MailboxRef:
    return MailboxRef(user_id=user.pk, address=user.email)
