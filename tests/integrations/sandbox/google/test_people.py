"""People through googleapiclient: connections with personFields, sync tokens and deletions,
contact groups."""

from __future__ import annotations

from typing import Any

import pytest
from googleapiclient.errors import HttpError

from integrations.sandbox.google import control as google
from tests.integrations.sandbox.google.conftest import SELLER1

FIELDS = "names,emailAddresses,phoneNumbers,organizations,memberships,metadata"


@pytest.fixture
def people(api: Any) -> Any:
    return api("people", SELLER1)


def full_sync(people: Any, **params: Any) -> tuple[list[dict[str, Any]], str]:
    items, token = [], None
    while True:
        page = (
            people.people()
            .connections()
            .list(
                resourceName="people/me",
                personFields=FIELDS,
                requestSyncToken=True,
                pageToken=token,
                **params,
            )
            .execute()
        )
        items += page.get("connections", [])
        token = page.get("nextPageToken")
        if not token:
            return items, page["nextSyncToken"]
        assert "nextSyncToken" not in page


def test_person_fields_are_required(people: Any) -> None:
    with pytest.raises(HttpError) as exc:
        people.people().connections().list(resourceName="people/me").execute()
    assert exc.value.resp.status == 400 and exc.value.reason.startswith("personFields mask is required.")


def test_connections_carry_the_address_book_and_groups(people: Any) -> None:
    contacts, _ = full_sync(people, pageSize=5)
    groups = people.contactGroups().list().execute()
    names = {g["resourceName"]: g["name"] for g in groups["contactGroups"]}
    assert {"Customers", "Prospects"} & set(names.values()) and "myContacts" in names.values()
    first = contacts[0]
    assert first["resourceName"].startswith("people/c") and first["emailAddresses"][0]["value"]
    memberships = [m["contactGroupMembership"]["contactGroupResourceName"] for m in first["memberships"]]
    assert any(names[m] in ("Customers", "Prospects") for m in memberships)
    assert first["organizations"][0]["name"]
    only_names = people.people().connections().list(resourceName="people/me", personFields="names").execute()
    assert set(only_names["connections"][0]) == {"resourceName", "etag", "names"}
    assert only_names["totalItems"] == len(contacts)


def test_incremental_sync_returns_changes_and_deletions(sandbox: Any, people: Any) -> None:
    contacts, token = full_sync(people)
    gone = contacts[0]["emailAddresses"][0]["value"]
    google.seed(
        sandbox.control,
        {
            "contacts": [
                {
                    "owner": SELLER1,
                    "name": "New Person",
                    "email": "new@kestrelrobotics.example",
                    "group": "Customers",
                }
            ],
            "delete_contacts": [{"owner": SELLER1, "email": gone}],
        },
    )
    page = (
        people.people()
        .connections()
        .list(resourceName="people/me", personFields=FIELDS, syncToken=token, requestSyncToken=True)
        .execute()
    )
    changes = {c["resourceName"]: c for c in page["connections"]}
    assert len(changes) == 2
    deleted = changes[contacts[0]["resourceName"]]
    assert deleted["metadata"]["deleted"] is True
    added = next(c for c in changes.values() if not c.get("metadata", {}).get("deleted"))
    assert added["names"][0]["displayName"] == "New Person"
    quiet = (
        people.people()
        .connections()
        .list(resourceName="people/me", personFields=FIELDS, syncToken=page["nextSyncToken"])
        .execute()
    )
    assert "connections" not in quiet and "nextSyncToken" not in quiet  # only with requestSyncToken

    paged = (
        people.people()
        .connections()
        .list(
            resourceName="people/me", personFields=FIELDS, syncToken=token, requestSyncToken=True, pageSize=1
        )
    )
    first = paged.execute()
    second = people.people().connections().list_next(paged, first).execute()
    assert {first["connections"][0]["resourceName"], second["connections"][0]["resourceName"]} == set(changes)
    assert "nextSyncToken" not in first and second["nextSyncToken"]


def test_expired_sync_tokens(sandbox: Any, people: Any) -> None:
    _, token = full_sync(people)
    google.expire_people_sync_tokens(sandbox.control)
    with pytest.raises(HttpError) as exc:
        people.people().connections().list(
            resourceName="people/me", personFields=FIELDS, syncToken=token
        ).execute()
    assert exc.value.resp.status == 400
    assert exc.value.error_details[0]["reason"] == "EXPIRED_SYNC_TOKEN"
    _, token = full_sync(people)
    google.advance_clock(sandbox.state, 8 * 86400)  # tokens live 7 days
    with pytest.raises(HttpError) as exc:
        people.people().connections().list(
            resourceName="people/me", personFields=FIELDS, syncToken=token
        ).execute()
    assert "EXPIRED_SYNC_TOKEN" in str(exc.value.content)
