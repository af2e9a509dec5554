"""Connections made directly (no provider involved), for tests that only need the rows."""

from __future__ import annotations

import json

import factory

from integrations.models import Connection, SyncState
from tests.factories import OrganizationFactory


class ConnectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Connection

    organization = factory.SubFactory(OrganizationFactory)
    provider = "salesforce"
    scope = Connection.Scope.ORGANIZATION
    user = None
    status = Connection.Status.CONNECTED
    external_org_id = "00D000000000001AAA"
    external_user_id = factory.Sequence(lambda n: f"005{n:015d}")
    external_username = factory.Sequence(lambda n: f"admin{n}@crm.example")
    instance_url = "https://crm.invalid"
    credentials = json.dumps(
        {"access_token": "test-access", "refresh_token": "test-refresh", "issued_at": "0"}
    )


class SyncStateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SyncState

    connection = factory.SubFactory(ConnectionFactory)
    organization = factory.SelfAttribute("connection.organization")
    object_name = "Lead"
