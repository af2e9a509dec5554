"""Outlook address books as ``SyncPage``s: a contacts delta per contact folder (the default
"Contacts" folder and the folders in it), keeping each folder's name on its contacts (D6).

Graph documents contact delta per folder only (``/contactFolders/{id}/contacts/delta``); the
default folder is tracked by its id, the ``parentFolderId`` of the folders listed in it (or of a
contact in it when it has no sub-folders). The cursor is JSON ``{"folders": {<key>: {"name",
"link"}}, "listed_at": ISO}``; the key is the folder id, or ``default`` for the default folder. The
folder list is read at a full sync and again once a day (new folders start their own full round,
removed ones are dropped); in between an idle round of every folder is one JSON batch.
"""

# Reference: https://learn.microsoft.com/en-us/graph/api/contact-delta
# Reference: https://learn.microsoft.com/en-us/graph/api/user-list-contactfolders

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from django.utils import timezone

from integrations.microsoft.client import GraphClient
from integrations.microsoft.fetch import delta
from integrations.microsoft.fetch.convert import parse_datetime
from integrations.records import AddressBookContactRecord, Deletion, Record, SyncPage

DEFAULT = "default"
DEFAULT_NAME = "Contacts"
PAGE_SIZE = 100
RELIST_AFTER = dt.timedelta(hours=24)
SELECT = (
    "id,displayName,givenName,surname,emailAddresses,businessPhones,homePhones,mobilePhone,"
    "companyName,jobTitle"
)
HEADERS = {"Prefer": f"odata.maxpagesize={PAGE_SIZE}"}


def initial_url(client: GraphClient, folder_id: str) -> str:
    return client.contacts_delta_url(folder_id, f"$select={quote(SELECT, safe=',')}")


def list_folders(client: GraphClient) -> dict[str, tuple[str, str]]:
    """Folder key → (folder id, display name): the default folder (when its id can be known) and
    every folder the user made in it."""
    folders: dict[str, tuple[str, str]] = {}
    default_id = ""
    for folder in client.contact_folders(select="id,displayName,parentFolderId"):
        if folder.get("id"):
            folders[str(folder["id"])] = (str(folder["id"]), str(folder.get("displayName") or ""))
            default_id = default_id or str(folder.get("parentFolderId") or "")
    if not default_id:
        # Reference: https://learn.microsoft.com/en-us/graph/api/user-list-contacts (default folder)
        page = client.contacts(select="parentFolderId", top=1)
        default_id = next((str(c.get("parentFolderId") or "") for c in page.get("value") or ()), "")
    if default_id:
        folders = {DEFAULT: (default_id, DEFAULT_NAME), **folders}
    return folders


def _legacy(link: str) -> bool:
    """A link to ``/users/{id}/contacts/delta``, which earlier versions stored (Graph refuses it)."""
    return "/contactFolders/" not in link


def fetch(client: GraphClient, *, cursor: str, since: dt.datetime) -> Iterator[SyncPage]:
    """One sync round of every contact folder (``since`` does not apply to address books)."""
    state = delta.load_cursor(
        cursor, what="address-book", valid=lambda state: isinstance(state.get("folders"), dict)
    )
    folders: dict[str, dict[str, str]] = dict(state.get("folders") or {})
    listed_at = parse_datetime(state.get("listed_at"))
    now = timezone.now()
    legacy = any(_legacy(str(folder.get("link") or "")) for folder in folders.values())
    if not folders or legacy or listed_at is None or now - listed_at >= RELIST_AFTER:
        current = list_folders(client)
        kept = {key: str(folder.get("link") or "") for key, folder in folders.items()}
        folders = {
            key: {
                "name": name,
                "link": kept[key]
                if kept.get(key) and not _legacy(kept[key])
                else initial_url(client, folder_id),
            }
            for key, (folder_id, name) in current.items()
        }
        # Without a default folder id (no folders, no contacts yet) list again next round.
        listed_at = now if DEFAULT in current else now - RELIST_AFTER
    spent = client.requests_made
    links = {key: folder["link"] for key, folder in folders.items()}
    for page in delta.rounds(client, links, headers=HEADERS):
        folders[page.key]["link"] = page.link
        name = folders[page.key]["name"]
        yield SyncPage(
            records=[contact_record(item, folder=name) for item in page.items],
            cursor=json.dumps({"folders": folders, "listed_at": listed_at.isoformat()}, sort_keys=True),
            full_resync=page.initial,
            api_calls=client.requests_made - spent,
        )
        spent = client.requests_made


def contact_record(item: dict[str, Any], *, folder: str) -> Record:
    if "@removed" in item:
        return Deletion(kind="contacts", external_id=str(item.get("id") or ""))
    emails = tuple(
        dict.fromkeys(
            str(entry.get("address") or "").strip().lower()
            for entry in item.get("emailAddresses") or ()
            if isinstance(entry, dict) and entry.get("address")
        )
    )
    phones = [*(item.get("businessPhones") or ()), *(item.get("homePhones") or ()), item.get("mobilePhone")]
    return AddressBookContactRecord(
        external_id=str(item.get("id") or ""),
        display_name=str(item.get("displayName") or ""),
        given_name=str(item.get("givenName") or ""),
        family_name=str(item.get("surname") or ""),
        emails=emails,
        phones=tuple(dict.fromkeys(str(p).strip() for p in phones if p and str(p).strip())),
        company=str(item.get("companyName") or ""),
        title=str(item.get("jobTitle") or ""),
        folders=(folder,) if folder else (),
    )
