"""Salesflow personas: Acme's ``owner`` and ``teammate`` send from mailboxes Acme's Google
connection serves (connected and installed, as the connect flow leaves it: no provider call is
needed to check that sending is possible); ``outsider`` is Globex's admin."""

from __future__ import annotations

import pytest

from integrations.models import Connection, ConnectionApp
from tests.integrations.salesforce.factories import ConnectionFactory


def connect_mailboxes(organization, domain: str) -> Connection:
    connection = ConnectionFactory(
        organization=organization,
        provider="google",
        scope=Connection.Scope.ORGANIZATION,
        external_org_id="C0" + domain.split(".")[0],
        details={"mode": "dwd", "domain": domain, "verified_domains": [domain]},
    )
    ConnectionApp.objects.create(
        organization=organization, connection=connection, app="email", installed=True
    )
    return connection


@pytest.fixture
def acme_mail(acme):
    return connect_mailboxes(acme, "acme.example")
