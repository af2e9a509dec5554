"""Google Contacts sync through the adapter against the sandbox (B11, D6)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.utils import timezone

from integrations.exceptions import CursorExpired
from integrations.google.fetch.source import GOOGLE_ADAPTER
from integrations.records import AddressBookContactRecord, Deletion
from integrations.sandbox.google import control as google
from tests.integrations.google.conftest import SELLER1, dwd_connection, mailbox

NEW = "grace.hopper@kestrelrobotics.example"


def _fetch(connection: Any, user: Any, cursor: str = "") -> list[Any]:
    return list(GOOGLE_ADAPTER.fetch(
        connection=connection, mailbox=mailbox(user), kind="contacts", cursor=cursor, since=timezone.now() - dt.timedelta(days=90),
    ))  # fmt: skip


def _records(pages: list[Any]) -> list[Any]:
    return [record for page in pages for record in page.records]


def _seed_contact(sandbox: Any) -> None:
    google.seed(sandbox.control, {"contacts": [{
        "owner": SELLER1, "name": "Grace Hopper", "email": NEW.upper(), "phone": "+1 415 555 0199",
        "company": "Kestrel Robotics", "title": "CTO", "group": "Key accounts",
    }]})  # fmt: skip


def test_a_full_sync_brings_the_address_book_with_its_group_names(
    sandbox: Any, demo_admin: Any, seller1: Any
) -> None:
    _seed_contact(sandbox)
    connection = dwd_connection(sandbox, demo_admin.organization, demo_admin, scope={})

    pages = _fetch(connection, seller1)

    (grace,) = [r for r in _records(pages) if NEW in r.emails]
    assert grace == AddressBookContactRecord(
        external_id=grace.external_id,
        display_name="Grace Hopper",
        given_name="Grace",
        family_name="Hopper",
        emails=(NEW,),
        phones=("+1 415 555 0199",),
        company="Kestrel Robotics",
        title="CTO",
        folders=("Key accounts",),
    )
    assert "s" in json.loads(pages[-1].cursor)
    (listing,) = sandbox.control.requests("/v1/people/me/connections")
    assert listing["query"]["requestSyncToken"] == ["true"]
    assert listing["query"]["personFields"] == [
        "names,emailAddresses,phoneNumbers,organizations,memberships,metadata"
    ]


def test_an_incremental_round_reports_new_and_deleted_contacts_and_stays_one_request_when_idle(
    sandbox: Any, demo_admin: Any, seller1: Any
) -> None:
    connection = dwd_connection(sandbox, demo_admin.organization, demo_admin, scope={})
    synced = _fetch(connection, seller1)
    cursor = synced[-1].cursor
    first = _records(synced)[0]
    sandbox.control.clear_requests()
    (idle,) = _fetch(connection, seller1, cursor=cursor)
    assert idle.records == [] and len(sandbox.control.requests()) == 1

    _seed_contact(sandbox)
    google.seed(sandbox.control, {"delete_contacts": [{"owner": SELLER1, "email": first.emails[0]}]})
    pages = _fetch(connection, seller1, cursor=idle.cursor)

    records = _records(pages)
    assert Deletion(kind="contacts", external_id=first.external_id) in records
    assert [r.display_name for r in records if isinstance(r, AddressBookContactRecord)] == ["Grace Hopper"]


def test_an_expired_sync_token_means_a_full_resync(sandbox: Any, demo_admin: Any, seller1: Any) -> None:
    connection = dwd_connection(sandbox, demo_admin.organization, demo_admin, scope={})
    cursor = _fetch(connection, seller1)[-1].cursor
    google.expire_people_sync_tokens(sandbox.control, [SELLER1])

    with pytest.raises(CursorExpired):
        _fetch(connection, seller1, cursor=cursor)
