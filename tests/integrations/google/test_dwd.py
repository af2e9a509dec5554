"""Domain-wide delegation tokens: minted per mailbox and app, cached encrypted (B2)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache

from integrations.exceptions import MailboxAccessDenied, ProviderAuthError
from integrations.google import dwd
from integrations.google.provider import APP_SCOPES, CALENDAR_READONLY, MAILBOX_SCOPES
from integrations.sandbox.google import control as google
from integrations.sandbox.google.demo import google_store
from tests.factories import AdminFactory, OrganizationFactory
from tests.integrations.google.conftest import SELLER1, dwd_connection

DOMAINS = ("demo.example",)


@pytest.fixture
def demo_connection(sandbox: Any, demo_admin: Any) -> Any:
    return dwd_connection(sandbox, demo_admin.organization, demo_admin)


@pytest.fixture
def other_connection(sandbox: Any, db: Any) -> Any:
    """A second organisation's connection to the same Workspace (another cache entry)."""
    admin = AdminFactory(organization=OrganizationFactory(), email="second-admin@elsewhere.example")
    return dwd_connection(sandbox, admin.organization, admin)


def test_a_minted_token_acts_for_the_user_with_just_the_apps_scopes(
    sandbox: Any, demo_connection: Any
) -> None:
    token = dwd.access_token(connection=demo_connection, address=SELLER1, scopes=APP_SCOPES["email"])

    grant = google_store(sandbox.state).access_grant(token)
    assert grant is not None and grant.email == SELLER1
    assert grant.scopes == frozenset(APP_SCOPES["email"])
    (request,) = sandbox.control.requests("/google/token")
    assert request["body"]["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"


def test_the_token_is_cached_encrypted_until_shortly_before_it_expires(
    sandbox: Any, demo_connection: Any, other_connection: Any
) -> None:
    first = dwd.access_token(connection=demo_connection, address=SELLER1, scopes=APP_SCOPES["email"])

    again = dwd.access_token(
        connection=demo_connection, address=SELLER1.upper(), scopes=reversed(APP_SCOPES["email"])
    )

    assert again == first
    assert len(sandbox.control.requests("/google/token")) == 1
    stored = cache.get(
        dwd.cache_key(connection_id=demo_connection.pk, address=SELLER1, scopes=APP_SCOPES["email"])
    )
    assert stored and first not in stored
    # Another app's scopes, or another connection, is another token.
    dwd.access_token(connection=demo_connection, address=SELLER1, scopes=APP_SCOPES["calendar"])
    dwd.access_token(connection=other_connection, address=SELLER1, scopes=APP_SCOPES["email"])
    assert len(sandbox.control.requests("/google/token")) == 3


def test_scopes_the_domain_did_not_authorise_name_the_client_id_and_every_scope(sandbox: Any) -> None:
    client_id = dwd.service_account_client_id()
    google.revoke_dwd(sandbox.control)
    google.authorize_dwd(sandbox.control, client_id, scopes=[CALENDAR_READONLY])

    with pytest.raises(ProviderAuthError) as refused:
        dwd.mint(address=SELLER1, scopes=MAILBOX_SCOPES, domains=DOMAINS)

    assert refused.value.code == "unauthorized_client"
    message = str(refused.value)
    assert f"client ID {client_id}" in message and "Manage domain-wide delegation" in message
    assert all(scope in message for scope in MAILBOX_SCOPES)


def test_an_address_that_is_not_a_user_of_the_domain_is_a_mailbox_problem(sandbox: Any) -> None:
    with pytest.raises(MailboxAccessDenied) as refused:
        dwd.mint(address="left-last-year@demo.example", scopes=APP_SCOPES["email"], domains=DOMAINS)

    assert refused.value.code == "invalid_grant"
