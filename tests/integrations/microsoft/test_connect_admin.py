"""An admin connects Microsoft 365 for the organisation (B2) in two legs through the sandbox: an
OpenID Connect sign-in whose verified ID token names the tenant, then that tenant's admin consent
page: the state check, declining, wrong app credentials, the optional security group, the "all
set up" page, and installing the second app without a second consent."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from copilot.models import AuditEvent
from integrations.microsoft.flow import CONSENT_DECLINED, STALE_STATE
from integrations.models import Connection, ConnectionApp
from integrations.sandbox.microsoft.demo import DEMO_CLIENT_ID, DEMO_TENANT_ID
from tests.factories import UserFactory
from tests.integrations.microsoft.conftest import (
    ADMIN,
    SELLER1,
    SELLER2,
    admin_connect,
    admin_sign_in,
    answer_consent,
    consent_form,
    follow_back,
    start_admin_connect,
)

CONNECT = reverse("integrations:microsoft_connect")


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def consent_and_return(ms: Any, client: Any, *, app: str = "email", accept: bool = True) -> Any:
    return admin_connect(ms, client, app=app, accept=accept)


def org_connection(acme: Any) -> Connection:
    return Connection.objects.get(organization=acme, provider="microsoft", scope="organization")


def installed_apps(connection: Connection) -> set[str]:
    return set(
        ConnectionApp.objects.filter(connection=connection, installed=True).values_list("app", flat=True)
    )


# --- Consent -------------------------------------------------------------------------------------
def test_connect_first_signs_the_admin_in_through_openid_connect(ms, owner_client):
    url = start_admin_connect(owner_client)

    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert url.startswith(ms.url)
    assert parts.path == "/organizations/oauth2/v2.0/authorize"
    assert query["client_id"] == [DEMO_CLIENT_ID]
    assert query["redirect_uri"] == ["http://testserver/integrations/microsoft/callback/"]
    assert {"openid", "profile"} <= set(query["scope"][0].split())
    assert query["nonce"] and query["code_challenge_method"] == ["S256"]
    assert len(query["state"][0]) >= 32


def test_after_the_sign_in_the_admin_consents_for_the_signed_in_tenant(ms, owner_client):
    url = admin_sign_in(ms, owner_client)

    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert url.startswith(ms.url)
    assert parts.path == f"/{DEMO_TENANT_ID}/v2.0/adminconsent"
    assert query["client_id"] == [DEMO_CLIENT_ID]
    assert query["redirect_uri"] == ["http://testserver/integrations/microsoft/consent/callback/"]
    assert query["scope"] == ["https://graph.microsoft.com/.default"]
    assert len(query["state"][0]) >= 32


def test_the_consent_page_lists_the_application_permissions(ms, owner_client):
    _, page, form = consent_form(ms, admin_sign_in(ms, owner_client))

    assert page.status_code == 200
    assert "sandbox" in form.text.lower()
    assert ADMIN in form.users
    assert "Mail.Send" in form.text and "Calendars" in form.text


def test_an_admin_connects_the_tenant_and_lands_on_the_security_group_choice(ms, owner_client, acme, owner):
    response = consent_and_return(ms, owner_client, app="email")

    assert response.status_code == 302
    assert response["Location"] == reverse("integrations:microsoft_scope")
    conn = org_connection(acme)
    assert (conn.status, conn.connected_by, conn.user) == ("connected", owner, None)
    assert conn.external_org_id == DEMO_TENANT_ID
    assert conn.details["mode"] == "app"
    assert conn.details["tenant_id"] == DEMO_TENANT_ID
    assert conn.details["tenant_domain"] == "demo.example"
    assert conn.external_username == "demo.example"
    assert conn.get_credentials() == {"tenant_id": DEMO_TENANT_ID}  # app-only: no token is kept
    assert conn.details["verified_domains"] == ["demo.example", "democo.onmicrosoft.com"]
    assert {ADMIN, SELLER1, SELLER2} <= set(conn.details["tenant_members"])
    assert installed_apps(conn) == {"email"}
    assert AuditEvent.objects.filter(organization=acme, action="integration.connected", actor=owner).exists()
    assert AuditEvent.objects.filter(organization=acme, action="integration.app_installed").count() == 1


def test_the_scope_page_offers_the_tenants_security_groups_with_no_group_as_default(ms, owner_client):
    consent_and_return(ms, owner_client)

    page = owner_client.get(reverse("integrations:microsoft_scope"))

    body = page.content.decode()
    assert page.status_code == 200
    assert "Cadence sellers" in body
    assert "No security group — all users of the tenant" in body
    assert 'name="group" value="" checked' in body
    assert "application access policy" in body


def test_picking_a_security_group_scopes_the_connection_to_its_members(ms, owner_client, acme):
    consent_and_return(ms, owner_client)
    page = owner_client.get(reverse("integrations:microsoft_scope"))
    group_id = next(g.id for g in page.context["groups"] if g.name == "Cadence sellers")

    response = owner_client.post(reverse("integrations:microsoft_scope"), {"group": group_id})

    assert response["Location"] == reverse("integrations:microsoft_done")
    conn = org_connection(acme)
    assert conn.details["scope"] == {"kind": "security_group", "key": group_id, "name": "Cadence sellers"}
    assert conn.details["scope_members"] == [SELLER1, SELLER2]
    done = owner_client.get(response["Location"])
    assert "You're all set up" in done.content.decode()
    assert "Cadence sellers" in done.content.decode()


def test_no_security_group_keeps_the_whole_tenant(ms, owner_client, acme):
    consent_and_return(ms, owner_client)

    response = owner_client.post(reverse("integrations:microsoft_scope"), {"group": ""})

    assert response["Location"] == reverse("integrations:microsoft_done")
    assert org_connection(acme).details["scope"] == {}


def test_a_group_that_microsoft_did_not_list_is_refused(ms, owner_client, acme):
    consent_and_return(ms, owner_client)

    response = owner_client.post(reverse("integrations:microsoft_scope"), {"group": "not-a-group-id"})

    assert response["Location"] == reverse("integrations:microsoft_scope")
    assert not org_connection(acme).details.get("scope")


def test_the_done_page_counts_the_users_who_sync(ms, owner_client, acme, teammate):
    for address in (SELLER1, SELLER2):  # Acme users who are also users of the demo tenant
        UserFactory(organization=acme, email=address)
    consent_and_return(ms, owner_client, app="email")

    page = owner_client.get(reverse("integrations:microsoft_done"))

    body = page.content.decode()
    assert "You're all set up" in body
    ((name, syncing, users),) = [(a["name"], a["syncing"], a["users"]) for a in page.context["apps"]]
    # The tenant's own users sync; whether Acme's other addresses do is eligibility's to decide.
    assert (name, users) == ("Microsoft Outlook", 4)
    assert syncing >= 2
    assert "All users of the tenant" in body
    assert 'name="app" value="calendar"' in body


def test_the_second_app_installs_without_a_second_consent(ms, owner_client, acme):
    consent_and_return(ms, owner_client, app="email")
    ms.control.clear_requests()

    response = owner_client.post(CONNECT, {"app": "calendar"})

    assert response["Location"] == reverse("integrations:microsoft_done")
    assert installed_apps(org_connection(acme)) == {"email", "calendar"}
    assert ms.control.requests("/adminconsent") == []


def test_a_reconnect_to_the_same_tenant_keeps_the_security_group(ms, owner_client, acme):
    consent_and_return(ms, owner_client)
    page = owner_client.get(reverse("integrations:microsoft_scope"))
    group_id = next(g.id for g in page.context["groups"] if g.name == "Cadence sellers")
    owner_client.post(reverse("integrations:microsoft_scope"), {"group": group_id})
    conn = org_connection(acme)
    Connection.objects.filter(pk=conn.pk).update(status=Connection.Status.NEEDS_RECONNECT)

    consent_and_return(ms, owner_client, app="email")

    conn.refresh_from_db()
    assert conn.status == "connected"
    assert conn.details["scope"]["key"] == group_id


# --- Refusals ------------------------------------------------------------------------------------
def test_declining_consent_connects_nothing(ms, owner_client, acme):
    response = consent_and_return(ms, owner_client, accept=False)

    assert response["Location"] == reverse("integrations:catalog")
    assert CONSENT_DECLINED in messages_of(response)
    assert not Connection.objects.filter(organization=acme).exists()


def test_wrong_app_credentials_are_reported_plainly(ms, owner_client, acme, settings):
    location = answer_consent(ms, admin_sign_in(ms, owner_client))
    settings.MICROSOFT_CLIENT_SECRET = "not-the-secret"

    response = follow_back(owner_client, location)

    (message,) = messages_of(response)
    assert message.startswith("Cadence's Microsoft app credentials were refused (AADSTS7000215)")
    assert not Connection.objects.filter(organization=acme).exists()


def test_a_callback_with_a_state_we_did_not_issue_is_refused(ms, owner_client, acme):
    admin_sign_in(ms, owner_client)
    ms.control.clear_requests()

    response = owner_client.get(
        reverse("integrations:microsoft_consent_callback"),
        {"admin_consent": "True", "tenant": DEMO_TENANT_ID, "state": "forged"},
    )

    assert STALE_STATE in messages_of(response)
    assert ms.control.requests("/oauth2/v2.0/token") == []
    assert not Connection.objects.filter(organization=acme).exists()


def test_a_state_is_good_for_one_return_only(ms, owner_client, acme):
    location = answer_consent(ms, admin_sign_in(ms, owner_client))
    follow_back(owner_client, location)
    Connection.objects.filter(organization=acme).delete()

    replay = follow_back(owner_client, location)

    assert STALE_STATE in messages_of(replay)
    assert not Connection.objects.filter(organization=acme).exists()


def test_connect_refuses_get_and_changes_nothing(ms, owner_client, acme):
    response = owner_client.get(CONNECT, {"app": "calendar"})

    assert response.status_code == 405
    assert ms.control.requests() == []
    assert not Connection.objects.filter(organization=acme).exists()


def test_only_admins_connect_the_organisation(ms, client, teammate):
    client.force_login(teammate)

    assert client.post(CONNECT, {"app": "email"}).status_code == 403
    assert client.get(reverse("integrations:microsoft_scope")).status_code == 403


@pytest.mark.parametrize("problem", ["locked", "not_configured"])
def test_connect_explains_why_it_cannot_start(ms, owner_client, acme, settings, problem):
    if problem == "locked":
        acme.package_copilot = False
        acme.save(update_fields=["package_copilot"])
    else:
        settings.MICROSOFT_CLIENT_SECRET = ""

    response = owner_client.post(CONNECT, {"app": "email"})

    assert response["Location"] == reverse("integrations:catalog")
    assert messages_of(response)
    assert ms.control.requests() == []
