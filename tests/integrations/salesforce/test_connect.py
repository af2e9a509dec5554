"""Connecting Salesforce (G1) through the Admin Portal and Settings, against the sandbox's consent
page: the state check, cancelling, the API-access and permission checks, details (G8),
reconnect and disconnect."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from copilot.models import AuditEvent
from integrations import services
from integrations.models import Connection
from integrations.salesforce.checks import API_DISABLED_MESSAGE
from integrations.salesforce.views import CANCELLED, STALE_STATE
from tests.integrations.salesforce.conftest import (
    ADMIN,
    NOAPI,
    READONLY,
    REP,
    connect,
    consent,
    consent_page,
    refresh_grant,
    rest_get,
    sandbox_connection,
    start_connect,
)
from tests.integrations.salesforce.factories import ConnectionFactory

CATALOG = "/admin/integrations/"


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def token_requests(sandbox: Any) -> list[dict]:
    return sandbox.control.requests("/services/oauth2/token")


# --- Connecting ----------------------------------------------------------------------------------
def test_an_admin_connects_salesforce_for_the_organisation(sf, owner_client, acme, owner):
    response = connect(owner_client, sf)

    conn = Connection.objects.get(organization=acme, provider="salesforce")
    assert response.status_code == 302
    assert response["Location"] == reverse("integrations:salesforce_details", args=[conn.pk])
    assert (conn.scope, conn.user, conn.status, conn.connected_by) == (
        "organization",
        None,
        "connected",
        owner,
    )
    assert conn.external_username == ADMIN
    assert conn.instance_url == sf.url
    assert conn.external_org_id.startswith("00D") and conn.external_user_id.startswith("005")
    assert set(conn.get_credentials()) == {"access_token", "refresh_token", "issued_at"}
    assert conn.details["edition"] == "Enterprise Edition"
    assert all(all(flags.values()) for flags in conn.details["privileges"].values())
    assert conn.api_max == 100_000 and conn.api_used
    assert f"Salesforce is connected as {ADMIN}." in messages_of(response)
    assert AuditEvent.objects.filter(organization=acme, action="integration.connected", actor=owner).exists()


def test_the_authorize_redirect_asks_for_the_scopes_with_a_fresh_state(sf, owner_client):
    url = start_connect(owner_client)

    query = parse_qs(urlsplit(url).query)
    assert urlsplit(url).path == "/services/oauth2/authorize"
    assert query["response_type"] == ["code"]
    assert query["client_id"] == ["cadence-sandbox-client"]
    assert query["redirect_uri"] == ["http://testserver/integrations/salesforce/callback/"]
    assert query["scope"] == ["api refresh_token id"]
    assert len(query["state"][0]) >= 32
    assert query["state"] != parse_qs(urlsplit(start_connect(owner_client)).query)["state"]


def test_the_consent_page_says_it_is_the_sandbox(sf, owner_client):
    _, page, form = consent_page(sf, start_connect(owner_client))
    assert page.status_code == 200

    assert "sandbox" in form.text.lower()
    assert any(ADMIN in label for label in form.users)


def test_a_callback_without_a_state_is_refused_before_any_code_is_exchanged(sf, owner_client, acme):
    start_connect(owner_client)

    response = owner_client.get(reverse("integrations:salesforce_callback"), {"code": "anything"})

    assert response.status_code == 302
    assert STALE_STATE in messages_of(response)
    assert token_requests(sf) == []
    assert not Connection.objects.filter(organization=acme).exists()


def test_a_callback_with_a_state_we_did_not_issue_is_refused(sf, owner_client, acme):
    back = urlsplit(consent(sf, start_connect(owner_client)))
    query = parse_qs(back.query)

    response = owner_client.get(back.path, {"code": query["code"][0], "state": "forged-" + query["state"][0]})

    assert STALE_STATE in messages_of(response)
    assert token_requests(sf) == []
    assert not Connection.objects.filter(organization=acme).exists()


def test_a_state_is_good_for_one_return_only(sf, owner_client, acme):
    back = urlsplit(consent(sf, start_connect(owner_client)))
    owner_client.get(f"{back.path}?{back.query}")
    assert Connection.objects.filter(organization=acme).count() == 1

    replay = owner_client.get(f"{back.path}?{back.query}")

    assert STALE_STATE in messages_of(replay)
    assert len(token_requests(sf)) == 1


def test_another_persons_state_is_refused(sf, owner_client, client, outsider, acme):
    url = start_connect(owner_client)
    back = urlsplit(consent(sf, url))
    client.force_login(outsider)  # the link lands in someone else's browser session

    response = client.get(f"{back.path}?{back.query}")

    assert STALE_STATE in messages_of(response)
    assert not Connection.objects.exists()


def test_cancelling_on_the_consent_page_changes_nothing(sf, owner_client, acme):
    response = connect(owner_client, sf, allow=False)

    assert response["Location"] == CATALOG
    assert CANCELLED in messages_of(response)
    assert token_requests(sf) == []
    assert not Connection.objects.filter(organization=acme).exists()


def test_a_salesforce_user_without_api_access_is_refused(sf, owner_client, acme):
    response = connect(owner_client, sf, username=NOAPI)

    assert API_DISABLED_MESSAGE in messages_of(response)
    assert not Connection.objects.filter(organization=acme).exists()


def test_a_read_only_salesforce_user_is_refused_with_what_is_missing(sf, owner_client, acme):
    response = connect(owner_client, sf, username=READONLY)

    (problem,) = [m for m in messages_of(response) if "missing Salesforce permissions" in m]
    assert READONLY in problem
    assert "create and edit on Leads, Contacts, Accounts and Users" in problem
    assert not Connection.objects.filter(organization=acme).exists()


def test_the_organisations_connection_needs_a_user_who_may_manage_users(sf, owner_client, acme):
    response = connect(owner_client, sf, username=REP)

    (problem,) = [m for m in messages_of(response) if "missing Salesforce permissions" in m]
    assert "create and edit on Users" in problem
    assert not Connection.objects.filter(organization=acme).exists()


def test_tokens_of_a_refused_connection_are_revoked(sf, owner_client, acme):
    connect(owner_client, sf, username=READONLY)

    (revoke,) = sf.control.requests("/services/oauth2/revoke")
    assert revoke["method"] == "POST"


def test_only_administrators_connect_for_the_organisation(sf, client, teammate):
    client.force_login(teammate)

    response = client.post(reverse("integrations:salesforce_connect"), {"scope": "organization"})

    assert response.status_code == 403


def test_connect_explains_when_salesforce_is_not_set_up(sf, owner_client, settings):
    settings.SALESFORCE_CLIENT_SECRET = ""

    page = owner_client.get(CATALOG)
    response = owner_client.post(reverse("integrations:salesforce_connect"), {"scope": "organization"})

    assert b"SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET" in page.content
    assert response["Location"] == CATALOG
    assert any("not set up" in m for m in messages_of(response))


def test_the_tile_is_locked_without_the_engage_package(sf, owner_client, acme):
    acme.package_engage = False
    acme.save(update_fields=["package_engage"])

    page = owner_client.get(CATALOG).content.decode()
    response = owner_client.post(reverse("integrations:salesforce_connect"), {"scope": "organization"})

    assert "Needs the Sales engagement package" in page and "Locked" in page
    assert any("Needs the Sales engagement package" in m for m in messages_of(response))


# --- The catalog and details ---------------------------------------------------------------------
def test_the_catalog_lists_salesforce_beside_the_mail_and_calendar_apps(owner_client):
    page = owner_client.get(CATALOG).content.decode()

    for name in ("Salesforce", "Gmail", "Google Calendar", "Microsoft Outlook", "Microsoft Calendar"):
        assert f">{name}</h2>" in page
    assert "Coming soon" not in page
    assert ">Connect</button>" in page


def test_the_sidebar_links_to_integrations(owner_client):
    page = owner_client.get(CATALOG).content.decode()

    assert f'<a href="{CATALOG}" aria-current="page">Integrations</a>' in page


def test_contributors_cannot_open_the_catalog(client, teammate):
    client.force_login(teammate)

    assert client.get(CATALOG).status_code == 403


def test_the_details_page_shows_the_salesforce_user_and_privileges(sf, owner_client, connection):
    page = owner_client.get(reverse("integrations:salesforce_details", args=[connection.pk])).content.decode()

    assert connection.external_user_id in page
    assert ADMIN in page
    assert "Enterprise Edition" in page
    assert sf.url in page
    for row in ("Leads", "Contacts", "Accounts", "Users"):
        assert f'<th scope="row">{row}</th>' in page
    assert page.count('<span class="badge badge-ok">Yes</span>') == 12


def test_a_paused_sync_shows_why_on_the_details_page(sf, owner_client, connection):
    from django.utils import timezone

    from integrations.models import SyncState

    SyncState.objects.create(
        organization=connection.organization,
        connection=connection,
        object_name="Lead",
        status=SyncState.Status.PAUSED,
        last_error="Salesforce has used 81% of its daily API requests; sync waits until it is below 80%.",
        next_run_at=timezone.now() + timezone.timedelta(minutes=30),
    )
    page = owner_client.get(reverse("integrations:salesforce_details", args=[connection.pk])).content.decode()
    assert "used 81% of its daily API requests" in page
    assert '<span class="badge badge-warn">Paused</span>' in page


def test_refreshing_the_details_asks_salesforce_again(sf, owner_client, connection):
    connection.details = {}
    connection.save(update_fields=["details"])

    owner_client.post(reverse("integrations:salesforce_refresh_details", args=[connection.pk]))

    connection.refresh_from_db()
    assert connection.details["user"]["username"] == ADMIN


def test_a_connection_needing_reconnect_shows_the_reason_and_reconnects(sf, owner_client, connection, acme):
    services.connection_mark_needs_reconnect(
        connection=connection, reason="Salesforce refused the refresh token."
    )

    page = owner_client.get(CATALOG).content.decode()
    assert "Needs reconnect" in page and "Salesforce refused the refresh token." in page
    assert ">Reconnect</button>" in page

    connect(owner_client, sf)

    connection.refresh_from_db()
    assert (connection.status, connection.status_reason) == ("connected", "")
    assert Connection.objects.filter(organization=acme).count() == 1
    assert AuditEvent.objects.filter(action="integration.reconnected").exists()


# --- Disconnecting -------------------------------------------------------------------------------
def test_disconnecting_says_what_stops_then_revokes_the_tokens(sf, owner_client, connection):
    credentials = connection.get_credentials()
    url = reverse("integrations:disconnect", args=[connection.pk])

    page = owner_client.get(url).content.decode()
    assert "syncing Leads and Contacts with Salesforce stops" in page
    assert rest_get(sf, "limits/", credentials["access_token"]).status_code == 200

    response = owner_client.post(url)

    assert response["Location"] == CATALOG
    connection.refresh_from_db()
    assert connection.status == "disconnected" and not connection.credentials
    assert rest_get(sf, "limits/", credentials["access_token"]).status_code == 401
    assert refresh_grant(sf, credentials["refresh_token"]).json()["error"] == "invalid_grant"
    assert "Not connected" in owner_client.get(CATALOG).content.decode()


# --- A seller's own connection -------------------------------------------------------------------
SETTINGS = "/app/settings/"


@pytest.fixture
def teammate_client(client, teammate):
    client.force_login(teammate)
    return client


def test_a_seller_connects_their_own_salesforce_from_settings(sf, teammate_client, teammate, acme):
    page = teammate_client.get(SETTINGS).content.decode()
    assert "Connect my Salesforce account" in page

    response = connect(teammate_client, sf, scope="user", username=REP)

    assert response["Location"] == f"{SETTINGS}#connections"
    conn = Connection.objects.get(organization=acme, user=teammate)
    assert (conn.scope, conn.status, conn.external_username) == ("user", "connected", REP)
    page = teammate_client.get(SETTINGS).content.decode()
    assert f"as <strong>{REP}</strong>" in page


def test_a_seller_is_warned_when_their_salesforce_differs_from_the_organisations(
    sf, teammate_client, teammate, acme
):
    ConnectionFactory(organization=acme, instance_url="https://other-org.my.salesforce.com")

    response = connect(teammate_client, sf, scope="user")

    warning = [m for m in messages_of(response) if "different org" in m]
    assert warning and "https://other-org.my.salesforce.com" in warning[0]
    assert "different org" in teammate_client.get(SETTINGS).content.decode()


def test_a_seller_on_the_same_salesforce_is_not_warned(sf, teammate_client, teammate, acme, owner):
    sandbox_connection(sf, acme, owner)

    response = connect(teammate_client, sf, scope="user")

    assert not [m for m in messages_of(response) if "different org" in m]


def test_a_seller_disconnects_their_own_salesforce(sf, teammate_client, teammate, acme):
    connect(teammate_client, sf, scope="user")
    url = reverse("integrations:salesforce_user_disconnect")

    assert "Disconnect your Salesforce account?" in teammate_client.get(url).content.decode()
    teammate_client.post(url)

    assert Connection.objects.get(user=teammate).status == "disconnected"
    assert "Connect my Salesforce account" in teammate_client.get(SETTINGS).content.decode()


def test_admins_see_sellers_own_connections(sf, owner_client, teammate, acme, owner):
    sandbox_connection(sf, acme, teammate, scope=Connection.Scope.USER)

    page = owner_client.get(CATALOG).content.decode()

    assert "People&#x27;s own Salesforce connections" in page or "People's own Salesforce connections" in page
    assert str(teammate) in page
