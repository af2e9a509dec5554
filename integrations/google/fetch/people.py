"""Google Contacts (People API) → provider-neutral address-book records, page by page (B11, D6).

Full sync: ``people/me/connections`` asking for a sync token (cursor while paging ``{"p": …}``),
the last page's ``nextSyncToken`` stored as ``{"s": …}``. Incremental: that sync token; contacts
deleted since come back with ``metadata.deleted`` and become ``Deletion``; an expired token
(``EXPIRED_SYNC_TOKEN``, tokens live 7 days) → ``CursorExpired``. Contact-group names are read once
per run, and only when a page has contacts to label, so an idle round stays one request.

Reference: https://developers.google.com/people/v1/contacts#sync_the_users_contacts
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from integrations.google.client import GoogleClient
from integrations.google.fetch.cursor import decode as cursor_fields
from integrations.google.fetch.cursor import sync_token_pages
from integrations.records import AddressBookContactRecord, Deletion, Record, SyncPage


def fetch(client: GoogleClient, *, cursor: str, since: dt.datetime) -> Iterator[SyncPage]:
    """``since`` is unused: an address book is synced whole, not by date."""
    state = cursor_fields(cursor)
    sync_token = str(state.get("s") or "")
    page_token = str(state.get("p") or "")
    groups = GroupNames(client)
    yield from sync_token_pages(
        client,
        list_page=lambda token: client.people_connections_list(sync_token=sync_token, page_token=token),
        records_of=lambda page: [contact_record(person, groups) for person in page.get("connections") or []],
        sync_token=sync_token,
        page_token=page_token,
    )


class GroupNames:
    """Contact-group resource name → its name, read on first need (once per run). System groups
    (My Contacts, Starred, …) are not folders the person made, so they are left out."""

    def __init__(self, client: GoogleClient) -> None:
        self.client = client
        self._names: dict[str, str] | None = None

    def __call__(self, resource_names: list[str]) -> tuple[str, ...]:
        if not resource_names:
            return ()
        if self._names is None:
            self._names = {}
            page_token = ""
            while True:
                page = self.client.people_contact_groups_list(page_token=page_token)
                for group in page.get("contactGroups") or []:
                    if group.get("groupType", "USER_CONTACT_GROUP") == "USER_CONTACT_GROUP":
                        name = group.get("formattedName") or group.get("name") or ""
                        self._names[str(group.get("resourceName"))] = str(name)
                page_token = str(page.get("nextPageToken") or "")
                if not page_token:
                    break
        return tuple(self._names[r] for r in resource_names if self._names.get(r))


# Reference: https://developers.google.com/people/api/rest/v1/people#Person
def contact_record(person: dict[str, Any], groups: GroupNames) -> Record:
    resource_name = str(person.get("resourceName") or "")
    if (person.get("metadata") or {}).get("deleted"):
        return Deletion(kind="contacts", external_id=resource_name)
    name = _first(person.get("names"))
    organization = _first(person.get("organizations"))
    memberships = [
        str((m.get("contactGroupMembership") or {}).get("contactGroupResourceName") or "")
        for m in person.get("memberships") or []
    ]
    return AddressBookContactRecord(
        external_id=resource_name,
        display_name=str(name.get("displayName") or ""),
        given_name=str(name.get("givenName") or ""),
        family_name=str(name.get("familyName") or ""),
        emails=tuple(
            dict.fromkeys(
                str(e["value"]).strip().lower() for e in person.get("emailAddresses") or [] if e.get("value")
            )
        ),
        phones=tuple(
            dict.fromkeys(str(p["value"]).strip() for p in person.get("phoneNumbers") or [] if p.get("value"))
        ),
        company=str(organization.get("name") or ""),
        title=str(organization.get("title") or ""),
        folders=groups([m for m in memberships if m]),
    )


def _first(values: list[dict[str, Any]] | None) -> dict[str, Any]:
    """The primary entry of a repeated Person field (else the first)."""
    for value in values or []:
        if (value.get("metadata") or {}).get("primary"):
            return value
    return (values or [{}])[0]
