"""Tokens stay secret (encrypted at rest, never logged, never in the support admin), a user's
deletion revokes their own connection (A6), and another organisation's connection is a 404."""

from __future__ import annotations

import logging

import pytest
from django.db import connection as db
from django.urls import reverse

from copilot.services.users import user_delete
from integrations.models import Connection
from integrations.salesforce.client import SalesforceClient
from tests.integrations.salesforce.conftest import connect, refresh_grant, rest_get, sandbox_connection
from tests.support_login_helpers import sign_in_to_support, support_user

REST = r"/services/data/v59\.0/"


def test_tokens_are_encrypted_in_the_database(sf, owner_client, acme):
    connect(owner_client, sf)
    conn = Connection.objects.get(organization=acme)
    tokens = conn.get_credentials()

    with db.cursor() as cursor:
        cursor.execute("SELECT credentials FROM integrations_connection WHERE id = %s", [conn.pk])
        (raw,) = cursor.fetchone()

    assert tokens["access_token"] not in raw and tokens["refresh_token"] not in raw
    assert tokens["access_token"].split("!")[1][:20] not in raw


def test_tokens_never_reach_the_logs(sf, owner_client, acme, caplog):
    caplog.set_level(logging.DEBUG)

    connect(owner_client, sf)
    conn = Connection.objects.get(organization=acme)
    first = conn.get_credentials()
    sf.control.inject_fault(REST + "limits", status=401)  # a refresh, too
    with SalesforceClient(conn) as client:
        client.limits()
    refreshed = Connection.objects.get(pk=conn.pk).get_credentials()
    owner_client.post(reverse("integrations:disconnect", args=[conn.pk]))

    logged = caplog.text + " ".join(str(r.__dict__) for r in caplog.records)
    assert "integration.connected" in caplog.messages and "integration.tokens_refreshed" in caplog.messages
    for secret in (first["access_token"], first["refresh_token"], refreshed["access_token"]):
        assert secret not in logged
        assert secret.split("!")[-1][:24] not in logged


def test_the_support_admin_never_shows_tokens(sf, client, acme, owner):
    conn = sandbox_connection(sf, acme, owner)
    tokens = conn.get_credentials()
    staff = support_user()
    sign_in_to_support(client, staff)

    pages = [
        client.get("/support/integrations/connection/"),
        client.get(f"/support/integrations/connection/{conn.pk}/change/"),
        client.get("/support/integrations/syncstate/"),
    ]

    for page in pages:
        assert page.status_code == 200
        html = page.content.decode()
        assert tokens["access_token"] not in html and tokens["refresh_token"] not in html
        assert "field-credentials" not in html and 'name="credentials"' not in html
    assert conn.external_username in pages[1].content.decode()


def test_the_support_admin_is_read_only(client, acme):
    staff = support_user()
    sign_in_to_support(client, staff)

    assert client.get("/support/integrations/connection/add/").status_code == 403


def test_deleting_a_user_revokes_and_removes_their_own_connection(sf, acme, owner, teammate):
    own = sandbox_connection(sf, acme, teammate, scope=Connection.Scope.USER)
    tokens = own.get_credentials()

    user_delete(user=teammate, actor=owner)

    assert not Connection.objects.filter(pk=own.pk).exists()
    assert rest_get(sf, "limits/", tokens["access_token"]).status_code == 401
    assert refresh_grant(sf, tokens["refresh_token"]).json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("name", "get_status"),
    [
        ("integrations:salesforce_details", 404),
        ("integrations:disconnect", 404),
        ("integrations:salesforce_refresh_details", 405),  # POST-only: refused before any lookup
    ],
)
def test_another_organisations_connection_is_not_found(
    sf, client, acme, globex, owner, outsider, name, get_status
):
    theirs = sandbox_connection(sf, globex, outsider)
    client.force_login(owner)

    url = reverse(name, args=[theirs.pk])

    assert client.get(url).status_code == get_status
    assert client.post(url).status_code == 404
    assert Connection.objects.get(pk=theirs.pk).status == "connected"
