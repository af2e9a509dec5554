"""Sync cursors of the Google fetchers: small JSON objects stored in ``SyncState.cursor``."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from integrations.records import Record, SyncPage

if TYPE_CHECKING:
    from integrations.google.client import GoogleClient


def decode(cursor: str) -> dict[str, Any]:
    """The cursor's fields; {} for "" (a full sync) or anything unreadable."""
    if not cursor:
        return {}
    try:
        state = json.loads(cursor)
    except ValueError:
        return {}
    return state if isinstance(state, dict) else {}


def encode(**fields: Any) -> str:
    return json.dumps({key: value for key, value in fields.items() if value}, separators=(",", ":"))


def sync_token_pages(
    client: GoogleClient,
    *,
    list_page: Callable[[str], dict[str, Any]],
    records_of: Callable[[dict[str, Any]], list[Record]],
    sync_token: str,
    page_token: str,
    **full_sync_fields: Any,
) -> Iterator[SyncPage]:
    """Pages of a Google list that ends in ``nextSyncToken`` (Calendar events, People connections).

    ``list_page(page_token)`` fetches one page; while paging the cursor is ``{"s", "p", …}`` (plus
    ``full_sync_fields`` the follow-up requests must repeat), the last page stores ``{"s": next}``.
    """
    calls = client.api_calls
    while True:
        page = list_page(page_token)
        page_token = str(page.get("nextPageToken") or "")
        if page_token:
            next_cursor: str | None = encode(s=sync_token, p=page_token, **full_sync_fields)
        elif page.get("nextSyncToken"):
            next_cursor = encode(s=str(page["nextSyncToken"]))
        else:
            next_cursor = None
        yield SyncPage(
            records=records_of(page),
            cursor=next_cursor,
            full_resync=not sync_token,
            api_calls=client.api_calls - calls,
        )
        calls = client.api_calls
        if not page_token:
            return
