"""Connection and SyncState: one org-wide connection per provider, one own connection per user
and provider, credentials encrypted at rest."""

from __future__ import annotations

import json

import pytest
from django.db import IntegrityError, transaction
from django.db import connection as db

from integrations.models import Connection, SyncState
from tests.integrations.salesforce.factories import ConnectionFactory, SyncStateFactory


def test_an_organisation_has_one_org_wide_connection_per_provider(acme):
    ConnectionFactory(organization=acme)
    ConnectionFactory(organization=acme, provider="google")

    with pytest.raises(IntegrityError), transaction.atomic():
        ConnectionFactory(organization=acme)


def test_a_user_has_one_own_connection_per_provider(acme, owner, teammate):
    ConnectionFactory(organization=acme)  # the org-wide one does not count
    ConnectionFactory(organization=acme, scope=Connection.Scope.USER, user=owner)
    ConnectionFactory(organization=acme, scope=Connection.Scope.USER, user=teammate)

    with pytest.raises(IntegrityError), transaction.atomic():
        ConnectionFactory(organization=acme, scope=Connection.Scope.USER, user=owner)


def test_a_user_connection_names_its_user_and_an_org_wide_one_does_not(acme, owner):
    with pytest.raises(IntegrityError), transaction.atomic():
        ConnectionFactory(organization=acme, scope=Connection.Scope.USER, user=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        ConnectionFactory(organization=acme, scope=Connection.Scope.ORGANIZATION, user=owner)


def test_credentials_are_encrypted_in_the_database(acme):
    conn = ConnectionFactory(
        organization=acme,
        credentials=json.dumps({"access_token": "00Dsecret!AQ4AQ", "refresh_token": "5Aep86"}),
    )

    with db.cursor() as cursor:
        cursor.execute("SELECT credentials FROM integrations_connection WHERE id = %s", [conn.pk])
        (raw,) = cursor.fetchone()
    assert "00Dsecret" not in raw and "5Aep86" not in raw
    assert Connection.objects.get(pk=conn.pk).get_credentials()["access_token"] == "00Dsecret!AQ4AQ"


def test_the_repr_and_str_never_show_credentials(acme):
    conn = ConnectionFactory(organization=acme, credentials=json.dumps({"access_token": "tok-123"}))

    assert "tok-123" not in repr(conn) and "tok-123" not in str(conn)


def test_a_sync_state_is_unique_per_connection_and_object(acme):
    state = SyncStateFactory(connection=ConnectionFactory(organization=acme))
    SyncStateFactory(connection=state.connection, object_name="Contact")

    with pytest.raises(IntegrityError), transaction.atomic():
        SyncState.objects.create(organization=acme, connection=state.connection, object_name="Lead")
