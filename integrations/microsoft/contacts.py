"""Outlook address books as ``SyncPage``s: a contacts delta per contact folder (the default
"Contacts" folder and the folders in it), keeping each folder's name on its contacts (D6).

The cursor is JSON ``{"folders": {<key>: {"name", "link"}}, "listed_at": ISO}``; the key is the
folder id, or ``default`` for the default folder. The folder list is read at a full sync and again
once a day (new folders start their own full round, removed ones are dropped); in between an idle
round of every folder is one JSON batch.
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

from integrations.microsoft import delta
from integrations.microsoft.convert import parse_datetime
from integrations.microsoft.graph import GraphClient
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


def initial_url(client: GraphClient, folder_key: str) -> str:
    collection = "/contacts" if folder_key == DEFAULT else f"/contactFolders/{quote(folder_key)}/contacts"
    return client.absolute(f"{client.user_path()}{collection}/delta?$select={quote(SELECT, safe=',')}")


def list_folders(client: GraphClient) -> dict[str, str]:
    """Folder key → display name: the default folder and every folder the user made in it."""
    folders = {DEFAULT: DEFAULT_NAME}
    for folder in client.values(f"{client.user_path()}/contactFolders", params={"$select": "id,displayName"}):
        if folder.get("id"):
            folders[str(folder["id"])] = str(folder.get("displayName") or "")
    return folders


def fetch(client: GraphClient, *, cursor: str, since: dt.datetime) -> Iterator[SyncPage]:
    """One sync round of every contact folder (``since`` does not apply to address books)."""
    state = delta.load_cursor(
        cursor, what="address-book", valid=lambda state: isinstance(state.get("folders"), dict)
    )
    folders: dict[str, dict[str, str]] = dict(state.get("folders") or {})
    listed_at = parse_datetime(state.get("listed_at"))
    now = timezone.now()
    if not folders or listed_at is None or now - listed_at >= RELIST_AFTER:
        current = list_folders(client)
        folders = {
            key: {"name": name, "link": (folders.get(key) or {}).get("link") or initial_url(client, key)}
            for key, name in current.items()
        }
        listed_at = now
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
