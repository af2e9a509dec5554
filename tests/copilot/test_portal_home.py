"""The Admin Portal home: users and pending invitations, each connection's health and last sync,
sync errors needing attention with a link to fix them, the Salesforce API budget; empty states;
admins only; another organisation's rows never counted; a constant number of queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from engage.models import CrmSettings
from integrations.models import Connection, ConnectionApp, SyncState
from tests.factories import InvitationFactory, UserFactory
from tests.integrations.salesforce.factories import ConnectionFactory, SyncStateFactory

URL = "/admin/"


@pytest.fixture
def salesforce(acme, owner):
    return ConnectionFactory(
        organization=acme, connected_by=owner, api_used=12_000, api_max=15_000, api_checked_at=timezone.now()
    )


@pytest.fixture
def google(acme, owner, teammate):
    connection = ConnectionFactory(
        organization=acme, provider="google", external_username="acme.example", connected_by=owner
    )
    for app in ("email", "calendar"):
        ConnectionApp.objects.create(organization=acme, connection=connection, app=app)
    return connection


def _mailbox(connection, user, kind, **fields):
    return SyncStateFactory(
        connection=connection, user=user, kind=kind, object_name=f"{kind}:{user.email}", **fields
    )


def test_the_portal_root_is_the_home_not_a_redirect(owner_client):
    assert reverse("copilot:portal_home") == URL
    response = owner_client.get(URL)
    assert response.status_code == 200
    assert "Acme at a glance" in response.text


def test_members_may_not_see_it(client, teammate):
    client.force_login(teammate)
    assert client.get(URL).status_code in (302, 403)


def test_users_and_pending_invitations_are_counted(owner_client, acme, globex, owner, teammate):
    UserFactory(organization=acme, is_active=False)
    UserFactory(organization=globex)
    InvitationFactory(organization=acme)
    InvitationFactory(organization=acme, expires_at=timezone.now() - dt.timedelta(days=1))
    InvitationFactory(organization=acme, accepted_at=timezone.now())
    InvitationFactory(organization=globex)

    text = owner_client.get(URL).text

    assert "<dt>Active users</dt><dd>2</dd>" in text
    assert "<dt>Pending invitations</dt><dd>1</dd>" in text
    assert "1 invitation expired before being accepted" in text
    assert "1 deactivated user." in text
    assert reverse("copilot:users") in text and reverse("copilot:user_invite") in text


def test_each_connection_shows_its_health_and_last_sync(
    owner_client, acme, owner, teammate, google, salesforce
):
    synced = timezone.now() - dt.timedelta(minutes=5)
    _mailbox(google, owner, "email", last_success_at=synced)
    _mailbox(google, teammate, "email", last_success_at=synced - dt.timedelta(hours=1))
    _mailbox(google, owner, "calendar")
    SyncStateFactory(connection=salesforce, object_name="Lead", last_success_at=synced)
    CrmSettings.objects.create(organization=acme, sync_enabled=True)

    text = owner_client.get(URL).text

    assert "Gmail: last sync" in text and "5\xa0minutes ago" in text and "2 synced" in text
    assert "Google Calendar: last sync not yet" in text
    assert reverse("integrations:salesforce_details", args=[salesforce.pk]) in text
    assert "1 object synced" in text
    assert "Nothing needs you." in text


def test_a_salesforce_whose_record_sync_is_off_says_so_and_where_to_turn_it_on(
    owner_client, acme, salesforce
):
    text = owner_client.get(URL).text

    assert "Record sync is off" in text and reverse("engage:crm_settings") in text
    assert "Last sync: not yet" not in text
    assert not CrmSettings.objects.filter(organization=acme).exists()  # asked, not created, on a GET

    CrmSettings.objects.create(organization=acme, sync_enabled=True)
    text = owner_client.get(URL).text

    assert "Record sync is off" not in text and "Last sync: not yet" in text


def test_sync_errors_needing_attention_link_to_the_connection(owner_client, acme, owner, google, salesforce):
    _mailbox(google, owner, "email", status=SyncState.Status.FAILED, last_error="Mailbox not found")
    SyncStateFactory(
        connection=salesforce, object_name="Lead", status=SyncState.Status.FAILED, last_error="INVALID_FIELD"
    )
    SyncStateFactory(connection=salesforce, object_name="Contact", status=SyncState.Status.FAILED)
    ConnectionFactory(
        organization=acme,
        provider="microsoft",
        status=Connection.Status.NEEDS_RECONNECT,
        status_reason="The token was revoked.",
    )

    text = owner_client.get(URL).text
    attention = text.split('data-overview="attention"')[1].split("</section>")[0]

    assert "3 sync rows failed and stopped retrying." in attention
    assert reverse("integrations:salesforce_details", args=[salesforce.pk]) in attention
    assert reverse("integrations:catalog") + "?tab=connected" in attention
    assert "2 failed" in attention and "Last error: INVALID_FIELD" in attention
    assert "Last error: Mailbox not found" in attention
    assert "Needs reconnect" in attention and "The token was revoked." in attention


def test_the_salesforce_api_budget_warns_when_close_to_the_limit(owner_client, salesforce):
    text = owner_client.get(URL).text
    assert "<strong>12,000</strong> of 15,000 API requests used in the last 24 hours (80%)." in text
    assert "Close to Salesforce's daily limit" in text


def test_empty_states_say_what_will_appear(owner_client):
    text = owner_client.get(URL).text
    assert "Nothing is connected yet." in text
    assert "appear here once Salesforce is connected and has synced" in text
    assert "Nothing needs you." in text


def test_another_organisations_connections_never_show(owner_client, globex, outsider):
    other = ConnectionFactory(
        organization=globex, external_username="globex-admin@crm.example", api_max=100, api_used=99
    )
    SyncStateFactory(connection=other, status=SyncState.Status.FAILED, last_error="Globex broke")
    text = owner_client.get(URL).text
    assert "Globex broke" not in text and "Nothing is connected yet." in text
    assert reverse("integrations:salesforce_details", args=[other.pk]) not in text


@pytest.mark.parametrize("size", [1, 12])
def test_the_home_costs_the_same_number_of_queries_at_any_size(
    size, owner_client, acme, owner, google, salesforce, django_assert_num_queries
):
    for i in range(size):
        user = UserFactory(organization=acme)
        InvitationFactory(organization=acme)
        _mailbox(google, user, "email", status=SyncState.Status.FAILED, last_error=f"error {i}")
        own = ConnectionFactory(
            organization=acme, provider="microsoft", scope=Connection.Scope.USER, user=user
        )
        _mailbox(own, user, "email", last_success_at=timezone.now())
        SyncStateFactory(connection=salesforce, object_name=f"Object{i}")
    # session, user, organisation; users, invitations, connections, totals, failed rows, mail health (2)
    with django_assert_num_queries(11):
        response = owner_client.get(URL)
    assert f"{size} sync row{'s' if size > 1 else ''} failed" in response.text
