"""Outlook mail as ``SyncPage``s: a messages delta per folder (Inbox and Sent Items), and the
mapping of Graph messages to ``MailMessageRecord``.

The cursor is JSON ``{"inbox": <link>, "sentitems": <link>}``, each link a nextLink (that folder's
round is in progress) or a deltaLink (complete). A full sync asks for messages received since the
first-sync window with ``$filter=receivedDateTime ge …`` and only the fields Cadence uses.

Graph returns at most 5,000 messages for a delta with ``$filter``. A folder whose filtered round
reaches that many (a busy mailbox: the window holds more) is read again without the filter,
keeping only messages received inside the window; its later rounds keep that window check too.
While that is so the cursor also holds ``"counted"`` (messages seen so far in a filtered initial
round, per folder) and ``"window"`` (folder → the window start, for unfiltered folders).
"""

# Reference: https://learn.microsoft.com/en-us/graph/api/message-delta
# Reference: https://learn.microsoft.com/en-us/graph/delta-query-messages

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from django.utils import timezone

from integrations.microsoft.client import GraphClient
from integrations.microsoft.fetch import delta
from integrations.microsoft.fetch.convert import address, addresses, body_text, iso_z, parse_datetime
from integrations.records import Deletion, MailMessageRecord, Record, SyncPage

# Well-known folder name → the label records carry.
FOLDERS: dict[str, str] = {"inbox": "Inbox", "sentitems": "Sent Items"}
PAGE_SIZE = 100
FILTER_CAP = 5000  # Graph's most messages for a message delta with $filter
SNIPPET_CHARS = 255
SELECT = (
    "id,internetMessageId,conversationId,subject,bodyPreview,body,from,sender,"
    "toRecipients,ccRecipients,bccRecipients,receivedDateTime,sentDateTime,isDraft"
)
HEADERS = {"Prefer": f"odata.maxpagesize={PAGE_SIZE}"}


def initial_url(client: GraphClient, folder: str, since: dt.datetime | None) -> str:
    """The first request of a full round; ``since=None`` reads the whole folder."""
    query = {"$select": SELECT}
    if since is not None:
        query["$filter"] = f"receivedDateTime ge {iso_z(since)}"
    encoded = "&".join(f"{key}={quote(value, safe=',:')}" for key, value in query.items())
    return client.messages_delta_url(folder, encoded)


class _Cursor:
    def __init__(self, cursor: str) -> None:
        state = delta.load_cursor(cursor, what="Outlook")
        self.links: dict[str, str] = {key: str(state[key]) for key in FOLDERS if state.get(key)}
        self.counted: dict[str, int] = {
            k: int(v) for k, v in (state.get("counted") or {}).items() if k in FOLDERS
        }
        self.window: dict[str, str] = {
            k: str(v) for k, v in (state.get("window") or {}).items() if k in FOLDERS
        }

    def dump(self) -> str:
        data: dict[str, Any] = dict(self.links)
        if self.counted:
            data["counted"] = self.counted
        if self.window:
            data["window"] = self.window
        return json.dumps(data, sort_keys=True)


def fetch(client: GraphClient, *, cursor: str, since: dt.datetime) -> Iterator[SyncPage]:
    """One sync round of the mailbox's Inbox and Sent Items."""
    state = _Cursor(cursor)
    for folder in FOLDERS:
        if folder not in state.links:
            state.links[folder] = initial_url(client, folder, since)
            state.counted[folder] = 0
    pending = dict(state.links)
    spent = client.requests_made
    while pending:
        again: dict[str, str] = {}
        for page in delta.rounds(client, pending, headers=HEADERS):
            folder = page.key
            state.links[folder] = page.link
            window = parse_datetime(state.window.get(folder))
            items = [item for item in page.items if window is None or _received_since(item, window)]
            if folder in state.counted:
                state.counted[folder] += len(page.items)
                if page.done and state.counted.pop(folder) >= FILTER_CAP:
                    # The filter may have cut the window short: read the whole folder instead.
                    state.window[folder] = since.isoformat()
                    state.links[folder] = again[folder] = initial_url(client, folder, None)
            yield SyncPage(
                records=[message_record(item, folder=FOLDERS[folder]) for item in items],
                cursor=state.dump(),
                full_resync=page.initial,
                api_calls=client.requests_made - spent,
            )
            spent = client.requests_made
        pending = again


def _received_since(item: dict[str, Any], window: dt.datetime) -> bool:
    if "@removed" in item:
        return True
    received = parse_datetime(item.get("receivedDateTime")) or parse_datetime(item.get("sentDateTime"))
    return received is None or received >= window


def message_record(item: dict[str, Any], *, folder: str) -> Record:
    """A Graph message (or its ``@removed`` marker) as a record."""
    if "@removed" in item:
        return Deletion(kind="email", external_id=str(item.get("id") or ""))
    text = body_text(item.get("body"))
    sent_at = (
        parse_datetime(item.get("sentDateTime"))
        or parse_datetime(item.get("receivedDateTime"))
        or timezone.now()
    )
    snippet = str(item.get("bodyPreview") or "").strip() or " ".join(text.split())
    return MailMessageRecord(
        external_id=str(item.get("id") or ""),
        thread_id=str(item.get("conversationId") or ""),
        message_id_header=str(item.get("internetMessageId") or "").strip().strip("<>"),
        subject=str(item.get("subject") or ""),
        snippet=snippet[:SNIPPET_CHARS],
        sender=address(item.get("from") or item.get("sender")),
        sent_at=sent_at,
        to=addresses(item.get("toRecipients")),
        cc=addresses(item.get("ccRecipients")),
        bcc=addresses(item.get("bccRecipients")),
        body_text=text if item.get("body") is not None else None,
        labels=(folder,),
        is_draft=bool(item.get("isDraft")),
    )
