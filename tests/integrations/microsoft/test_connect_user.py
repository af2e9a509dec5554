"""A person connects their own Microsoft 365 mailbox from Settings › Integrations (B3) through
msal's auth-code flow and the sandbox's sign-in page; delegated tokens are refreshed, and a
refused refresh asks for a reconnect."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from integrations.exceptions import ProviderAuthError
from integrations.microsoft import auth
from integrations.microsoft.client import GraphClient
from integrations.microsoft.flow import SIGN_IN_CANCELLED, STALE_STATE
from integrations.microsoft.user_views import ADMIN_MANAGED
from integrations.models import Connection, ConnectionApp
from integrations.sandbox.microsoft.demo import DEMO_CLIENT_ID, DEMO_TENANT_ID
from tests.factories import UserFactory
from tests.integrations.microsoft.conftest import SELLER1, SELLER2, answer_consent, follow_back

CONNECT = reverse("integrations:microsoft_connect_user")
SETTINGS_PAGE = reverse("engage:settings") + "#connections"


@pytest.fixture
def seller(acme: Any) -> Any:
    """An Acme contributor whose Cadence address is their address in the demo tenant."""
    return UserFactory(organization=acme, email=SELLER1)


@pytest.fixture
def seller_client(client: Any, seller: Any) -> Any:
    client.force_login(seller)
    return client


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def start(client: Any) -> str:
    response = client.post(CONNECT)
    assert response.status_code == 302, response
    return response["Location"]


def connect(ms: Any, client: Any, *, accept: bool = True, user: str = SELLER1) -> Any:
    return follow_back(client, answer_consent(ms, start(client), user=user, accept=accept))


def own_connection(user: Any) -> Connection:
    return Connection.objects.get(user=user, provider="microsoft", scope="user")


def test_connect_starts_msals_auth_code_flow_with_pkce(ms, seller_client, seller):
    url = start(seller_client)

    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert parts.path == "/organizations/oauth2/v2.0/authorize"
    assert query["client_id"] == [DEMO_CLIENT_ID]
    assert query["redirect_uri"] == ["http://testserver/integrations/microsoft/callback/"]
    assert set(query["scope"][0].split()) >= {
        "Mail.Read",
        "Mail.Send",
        "Calendars.Read",
        "Contacts.Read",
        "User.Read",
        "offline_access",
    }
    assert query["code_challenge_method"] == ["S256"]
    assert query["login_hint"] == [seller.email]


def test_a_person_connects_their_own_mailbox_for_both_apps(ms, seller_client, seller):
    response = connect(ms, seller_client)

    assert response["Location"] == SETTINGS_PAGE
    conn = own_connection(seller)
    assert conn.status == "connected"
    assert conn.external_username == SELLER1
    assert conn.external_org_id == DEMO_TENANT_ID
    assert conn.details["mode"] == "delegated"
    assert conn.details["tenant_id"] == DEMO_TENANT_ID
    credentials = conn.get_credentials()
    assert {"token_cache", "account", "access_token", "refresh_token", "expires_at"} <= set(credentials)
    assert credentials["expires_at"] > time.time() + 3000
    assert set(
        ConnectionApp.objects.filter(connection=conn, installed=True).values_list("app", flat=True)
    ) == {
        "email",
        "calendar",
    }
    assert any("Microsoft 365 is connected as seller1@demo.example" in m for m in messages_of(response))


def test_connect_refuses_get(ms, seller_client, seller):
    response = seller_client.get(CONNECT)

    assert response.status_code == 405
    assert ms.control.requests() == []


def test_signing_in_as_another_address_connects_nothing(ms, seller_client, seller):
    response = connect(ms, seller_client, user=SELLER2)

    assert response["Location"] == SETTINGS_PAGE
    assert any(f"You signed in to Microsoft as {SELLER2}" in m for m in messages_of(response))
    assert not Connection.objects.filter(user=seller).exists()


def test_cancelling_the_sign_in_connects_nothing(ms, seller_client, seller):
    response = connect(ms, seller_client, accept=False)

    assert response["Location"] == SETTINGS_PAGE
    assert SIGN_IN_CANCELLED in messages_of(response)
    assert not Connection.objects.filter(user=seller).exists()


def test_a_forged_state_is_refused_before_any_code_is_exchanged(ms, seller_client, seller):
    location = answer_consent(ms, start(seller_client))
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}

    response = seller_client.get(reverse("integrations:microsoft_callback"), {**query, "state": "forged"})

    assert STALE_STATE in messages_of(response)
    assert ms.control.requests("/oauth2/v2.0/token") == []
    assert not Connection.objects.filter(user=seller).exists()


def test_own_connections_are_not_offered_when_the_admin_connected_the_tenant(
    ms, seller_client, app_connection, seller
):
    response = seller_client.post(CONNECT)

    assert response["Location"] == SETTINGS_PAGE
    assert ADMIN_MANAGED in messages_of(response)
    assert ms.control.requests("/authorize") == []


def test_the_delegated_token_reads_the_own_mailbox_as_me(ms, seller_client, seller):
    connect(ms, seller_client)
    conn = own_connection(seller)
    ms.control.clear_requests()  # the connect itself asked /me who signed in

    with GraphClient(conn, mailbox=seller.email) as graph:
        me = graph.get("/me")

    assert me["userPrincipalName"] == SELLER1
    (call,) = ms.control.requests("/graph/v1.0/me")
    assert call["path"] == "/graph/v1.0/me"


def test_an_expired_access_token_is_refreshed_and_written_back(ms, seller_client, seller):
    connect(ms, seller_client)
    conn = own_connection(seller)
    old = conn.get_credentials()
    conn.credentials = json.dumps({**old, "expires_at": int(time.time()) - 10})
    conn.save(update_fields=["credentials"])
    ms.control.clear_requests()

    with GraphClient(conn) as graph:
        graph.get("/me")

    (refresh,) = ms.control.requests("/oauth2/v2.0/token")
    assert refresh["body"]["grant_type"] == "refresh_token"
    conn.refresh_from_db()
    fresh = conn.get_credentials()
    assert fresh["access_token"] != old["access_token"]
    assert fresh["expires_at"] > time.time() + 3000
    assert fresh["token_cache"] != old["token_cache"]


def test_a_401_from_graph_refreshes_once_then_retries(ms, seller_client, seller):
    connect(ms, seller_client)
    conn = own_connection(seller)
    ms.control.clear_requests()
    ms.control.inject_fault(
        r"/graph/v1\.0/me$",
        status=401,
        body={
            "error": {
                "code": "InvalidAuthenticationToken",
                "message": "Access token has expired or is not yet valid.",
            }
        },
    )

    with GraphClient(conn) as graph:
        me = graph.get("/me")

    assert me["userPrincipalName"] == SELLER1
    assert len(ms.control.requests("/graph/v1.0/me")) == 2
    assert [r["body"]["grant_type"] for r in ms.control.requests("/oauth2/v2.0/token")] == ["refresh_token"]


def test_a_refused_refresh_marks_the_connection_needs_reconnect(ms, seller_client, seller):
    connect(ms, seller_client)
    conn = own_connection(seller)
    conn.credentials = json.dumps({**conn.get_credentials(), "expires_at": 0})
    conn.save(update_fields=["credentials"])
    ms.control.clear_requests()  # the connect itself asked /me who signed in
    ms.control.inject_fault(
        r"/oauth2/v2\.0/token$",
        status=400,
        body={
            "error": "invalid_grant",
            "error_description": "AADSTS700082: The refresh token has expired due to inactivity.",
            "error_codes": [700082],
        },
    )

    with pytest.raises(ProviderAuthError, match="AADSTS700082"), GraphClient(conn) as graph:
        graph.get("/me")

    conn.refresh_from_db()
    assert conn.status == Connection.Status.NEEDS_RECONNECT
    assert "Reconnect your Microsoft account" in conn.status_reason
    assert ms.control.requests("/graph/v1.0/") == []


def test_a_connection_without_a_token_cache_needs_reconnect(ms, seller_client, seller):
    connect(ms, seller_client)
    conn = own_connection(seller)
    conn.credentials = json.dumps({"access_token": "stale", "expires_at": 0})
    conn.save(update_fields=["credentials"])

    with pytest.raises(ProviderAuthError):
        auth.delegated_token(conn)

    conn.refresh_from_db()
    assert conn.status == Connection.Status.NEEDS_RECONNECT
