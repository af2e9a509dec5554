"""A deactivated organisation (Organization.is_active = False) is locked, not deleted: its members
are signed out with a page saying why, its connections stop syncing, sending and writing to the
CRM, and reactivating resumes everything (issue 10, point 5)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from copilot.models import Organization, User
from copilot.services.organizations import organization_set_active
from integrations.exceptions import OrganizationDeactivated
from integrations.models import Connection, SyncState
from integrations.records import Address
from integrations.salesforce.client import SalesforceClient
from integrations.sending import SendingUnavailable, send_message
from integrations.sync import fanout
from integrations.sync.engine import Stop
from integrations.sync.engine import run as run_mailbox_sync
from integrations.sync.source import OutgoingMessage
from tests.factories import PASSWORD
from tests.integrations.salesforce.factories import ConnectionFactory
from tests.integrations.sync.mailbox_helpers import SELLER1, sandbox_google_connection

MESSAGE = OutgoingMessage(to=(Address("buyer@bigcustomer.example", "Bea Buyer"),), subject="Hi", text="Hello")


def deactivate(organization: Organization, staff) -> None:
    organization_set_active(organization=organization, actor=staff, active=False)
    organization.refresh_from_db()


@pytest.fixture
def staff(db):
    return User.objects.create_user(email="support@cadence.example", password=PASSWORD, is_staff=True)


def test_a_member_of_a_deactivated_organisation_is_signed_out_with_a_page_saying_why(
    client, owner, acme, staff
):
    client.force_login(owner)
    assert client.get(reverse("engage:contacts")).status_code == 200

    deactivate(acme, staff)
    response = client.get(reverse("engage:contacts"))

    assert response.status_code == 403
    assert b"Acme is deactivated" in response.content
    assert b"Nothing has" in response.content and b"been deleted" in response.content
    # Signed out: the next request goes to the sign-in page, and signing in lands on the same page.
    follow_up = client.get(reverse("engage:contacts"))
    assert follow_up.status_code == 302 and reverse("account_login") in follow_up["Location"]
    login = client.post(reverse("account_login"), {"login": owner.email, "password": PASSWORD}, follow=True)
    assert login.status_code == 403 and b"Acme is deactivated" in login.content


def test_other_organisations_are_unaffected(client, owner, acme, outsider, staff):
    deactivate(acme, staff)
    client.force_login(outsider)

    assert client.get(reverse("engage:contacts")).status_code == 200


def test_reactivating_lets_members_back_in_with_nothing_lost(client, owner, teammate, acme, staff):
    deactivate(acme, staff)
    organization_set_active(organization=acme, actor=staff, active=True)
    client.force_login(owner)

    assert client.get(reverse("engage:contacts")).status_code == 200
    assert set(acme.users.values_list("email", flat=True)) == {owner.email, teammate.email}


def test_a_deactivated_organisation_stops_mailbox_sync_and_sending_and_resumes_on_reactivation(
    sandbox, demo, recorder, staff
):
    connection = sandbox_google_connection(sandbox, demo)
    assert fanout.fan_out() > 0  # the active organisation's mailboxes are enqueued (and run eagerly)
    recorder.batches.clear()
    state = SyncState.objects.get(connection=connection, user=demo.seller1, kind="email")

    deactivate(demo.org, staff)

    assert fanout.fan_out() == 0
    stopped = run_mailbox_sync(sync_state_id=state.pk, force=True)
    assert stopped.stopped == Stop.DISABLED and stopped.reason == "The organisation is deactivated."
    with pytest.raises(SendingUnavailable, match="deactivated"):
        send_message(user=demo.seller1, message=MESSAGE)
    assert recorder.batches == []
    # Nothing was deleted: the connection keeps its credentials and status, the rows their cursors.
    connection.refresh_from_db()
    assert connection.status == Connection.Status.CONNECTED
    assert SyncState.objects.filter(connection=connection).count() > 0

    organization_set_active(organization=demo.org, actor=staff, active=True)

    assert run_mailbox_sync(sync_state_id=state.pk, force=True).stopped == Stop.DONE
    record = send_message(user=demo.seller1, message=MESSAGE)
    assert record.sender.email == SELLER1


def test_no_provider_client_acts_for_a_deactivated_organisation(acme, staff):
    connection = ConnectionFactory(organization=acme)
    deactivate(acme, staff)
    connection.refresh_from_db()

    with pytest.raises(OrganizationDeactivated, match="Acme is deactivated"):
        SalesforceClient(connection)
