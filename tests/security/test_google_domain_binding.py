"""Issue 10, point 2 (Google): Cadence's service account is shared by every customer, so an
organisation's Google connection acts only for addresses in its own Workspace's verified domains.

The attack: Demo Co's admin connects Demo Co's Workspace (demo.example) through the real connect
flow; one of Demo Co's Cadence users is registered as alice@victim.example, and Victim Inc's own
Workspace has authorised Cadence's service account. Alice's mailbox must never be eligible, never
be impersonated (no token is ever minted for her), and never sync, even through a forced SyncState
row. Everything runs through google-auth / google-api-python-client and the sandbox over HTTPS.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from integrations import selectors
from integrations.google import dwd
from integrations.google.provider import APP_SCOPES
from integrations.models import Connection, SyncState
from integrations.records import Address
from integrations.sandbox.google import control as google
from integrations.sandbox.google.demo import google_store
from integrations.sending import SendingUnavailable, send_message
from integrations.sync import fanout
from integrations.sync.engine import run as run_mailbox_sync
from integrations.sync.source import OutgoingMessage
from tests.factories import AdminFactory, OrganizationFactory, UserFactory
from tests.integrations.google.conftest import ADMIN, consent, dwd_connection

VICTIM = "alice@victim.example"
CONNECT = reverse("integrations:google_connect")


@pytest.fixture
def victim_workspace(sandbox: Any) -> None:
    """Victim Inc's Workspace, which authorised Cadence's service account for its own reasons."""
    google.seed(
        sandbox.control,
        {
            "customers": [{"domain": "victim.example", "name": "Victim Inc"}],
            "users": [{"email": VICTIM, "name": "Alice Victim"}],
        },
    )
    google.authorize_dwd(sandbox.control, dwd.service_account_client_id(), domain="victim.example")


@pytest.fixture
def demo_org(db: Any) -> Any:
    org = OrganizationFactory(name="Demo Co")
    AdminFactory(organization=org, email=ADMIN, first_name="Ada", last_name="Admin")
    return org


@pytest.fixture
def alice(demo_org: Any) -> Any:
    # Worst case: even a *confirmed* Cadence address does not make another company's mailbox ours.
    return UserFactory(organization=demo_org, email=VICTIM, first_name="Alice", last_name="Victim")


def connect_demo_workspace(sandbox: Any, org: Any) -> Connection:
    """Demo Co's admin connects Google Workspace the way the product does it."""
    browser = Client()
    browser.force_login(org.users.get(email=ADMIN))
    start = browser.post(CONNECT, {"app": "email"})
    back = browser.get(consent(sandbox, start["Location"], email=ADMIN))
    assert back.status_code == 302, [str(m) for m in get_messages(back.wsgi_request)]
    return Connection.objects.get(organization=org, provider="google", scope=Connection.Scope.ORGANIZATION)


def grants_for(sandbox: Any, address: str) -> list[Any]:
    """Every access token the sandbox's Google ever issued acting as ``address``."""
    return [g for g in google_store(sandbox.state).access_tokens.values() if g.email == address]


def test_the_connection_stores_only_the_workspaces_verified_domains(sandbox: Any, demo_org: Any) -> None:
    google.add_domain_alias(sandbox.state, "demo-co.example", verified=True)
    google.add_domain_alias(sandbox.state, "not-yet-proven.example", verified=False)

    connection = connect_demo_workspace(sandbox, demo_org)

    assert connection.details["verified_domains"] == ["demo-co.example", "demo.example"]


def test_another_companys_address_is_never_eligible_impersonated_or_synced(
    sandbox: Any, victim_workspace: None, demo_org: Any, alice: Any
) -> None:
    connection = connect_demo_workspace(sandbox, demo_org)
    client = Client()
    client.force_login(demo_org.users.get(email=ADMIN))
    client.post(reverse("integrations:google_scope"), {"scope": "domain"})
    connection.refresh_from_db()

    # Eligibility (Manage users' sync data, the done page, the engine) says no, and why.
    rows = {r.user.email: r for r in selectors.eligibility(connection=connection, app="email")}
    assert not rows[VICTIM].syncing
    assert rows[VICTIM].reason == selectors.REASON_FOREIGN_DOMAIN
    assert rows[ADMIN].syncing
    assert VICTIM not in {m.address for m in selectors.eligible_mailboxes(connection=connection, app="email")}
    email_app = connection.apps.get(app="email")
    page = client.get(reverse("integrations:manage_users", args=[email_app.pk]))
    assert selectors.REASON_FOREIGN_DOMAIN in page.content.decode()

    # The fan-out never creates her mailbox rows.
    fanout.due_states(connection)
    assert not SyncState.objects.filter(connection=connection, user=alice).exists()

    # A row forced into the database still does not sync her mailbox.
    forced = SyncState.objects.create(
        organization=demo_org,
        connection=connection,
        user=alice,
        kind="email",
        object_name=f"email:{VICTIM}",
    )
    run_mailbox_sync(sync_state_id=forced.pk, force=True)
    assert grants_for(sandbox, VICTIM) == []
    assert google.api_calls(sandbox.state, VICTIM) == {}

    # Nor can she send through the connection, and she is told why.
    with pytest.raises(SendingUnavailable, match="is not in a domain of the connected organisation"):
        send_message(
            user=alice,
            message=OutgoingMessage(to=(Address(email="x@example.com"),), subject="Hi", text="Hi"),
        )
    assert grants_for(sandbox, VICTIM) == []


def test_domain_wide_delegation_refuses_a_foreign_address_before_asking_google(
    sandbox: Any, victim_workspace: None, demo_org: Any
) -> None:
    connection = dwd_connection(sandbox, demo_org, demo_org.users.get(email=ADMIN))
    sandbox.control.clear_requests()

    with pytest.raises(dwd.ForeignAddressRefused, match="not in a verified domain"):
        dwd.access_token(connection=connection, address=VICTIM, scopes=APP_SCOPES["email"])
    with pytest.raises(dwd.ForeignAddressRefused):
        dwd.mint(address=VICTIM, scopes=APP_SCOPES["email"], domains=["demo.example"])
    with pytest.raises(dwd.ForeignAddressRefused):  # a look-alike subdomain is another domain
        dwd.mint(address="alice@mail.demo.example", scopes=APP_SCOPES["email"], domains=["demo.example"])

    assert sandbox.control.requests("/google/token") == []
    assert grants_for(sandbox, VICTIM) == []
    # The same service account still works for the connection's own domain.
    assert dwd.access_token(connection=connection, address="seller1@demo.example", scopes=APP_SCOPES["email"])


def test_a_connection_whose_domains_were_never_read_serves_nobody_until_the_fan_out_reads_them(
    sandbox: Any, demo_org: Any
) -> None:
    UserFactory(organization=demo_org, email="seller1@demo.example")
    connection = dwd_connection(sandbox, demo_org, demo_org.users.get(email=ADMIN), scope={})
    details = dict(connection.details)
    details.pop("verified_domains")
    Connection.objects.filter(pk=connection.pk).update(details=details)
    connection.refresh_from_db()

    reasons = {r.user.email: r.reason for r in selectors.eligibility(connection=connection, app="email")}
    assert set(reasons.values()) == {selectors.REASON_DOMAINS_UNCHECKED}
    with pytest.raises(dwd.ForeignAddressRefused):
        dwd.access_token(connection=connection, address="seller1@demo.example", scopes=APP_SCOPES["email"])

    fanout.due_states(connection)

    connection.refresh_from_db()
    assert connection.details["verified_domains"] == ["demo.example"]
    assert {s.object_name for s in SyncState.objects.filter(connection=connection, kind="email")} == {
        f"email:{ADMIN}",
        "email:seller1@demo.example",
    }
