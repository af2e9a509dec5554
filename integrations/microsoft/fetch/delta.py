"""Delta rounds over one or more Graph collections (mail folders, the calendar view, contact
folders), page by page, so the caller can store each collection's link after every page.

A stored link is either an ``@odata.nextLink`` (a round in progress: a killed worker resumes from
it) or an ``@odata.deltaLink`` (the round is complete; following it starts the next incremental
round). An incremental round over several collections sends their first requests as ONE JSON
batch, so an idle mailbox costs one Graph request per cycle; further pages go one by one.
"""

# Reference: https://learn.microsoft.com/en-us/graph/delta-query-overview
# Reference: https://learn.microsoft.com/en-us/graph/json-batching

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from integrations.exceptions import CursorExpired, ProviderError
from integrations.microsoft.client import BatchNotSupported, GraphClient, GraphResponse

logger = logging.getLogger(__name__)

MAX_BATCH = 20  # Graph's limit of sub-requests per JSON batch
BATCH_RETRY_SECONDS = 600.0  # after a 404 from $batch, plain requests for this long

_batch_lock = threading.Lock()
_batch_off_until = 0.0


@dataclass(frozen=True)
class DeltaPage:
    key: str  # which collection
    items: list[dict[str, Any]] = field(default_factory=list)
    link: str = ""  # the link to store: nextLink while the round goes on, else the deltaLink
    done: bool = False  # the collection's round is complete (``link`` is a deltaLink)
    initial: bool = False  # the round began from a full query, not from a deltaLink


def is_delta_link(url: str) -> bool:
    return "deltatoken=" in url.lower()


def load_cursor(
    cursor: str, *, what: str, valid: Callable[[dict[str, Any]], bool] | None = None
) -> dict[str, Any]:
    """A fetcher's stored JSON cursor ({} for none: a full sync). ``CursorExpired`` when it is not
    a JSON object or not ``valid``, so the engine starts a full round."""
    if not cursor:
        return {}
    unreadable = CursorExpired(f"The stored {what} sync position is unreadable.", code="bad_cursor")
    try:
        state = json.loads(cursor)
    except ValueError as exc:
        raise unreadable from exc
    if not isinstance(state, dict) or (valid is not None and not valid(state)):
        raise unreadable
    return state


def rounds(
    client: GraphClient, links: Mapping[str, str], *, headers: Mapping[str, str] | None = None
) -> Iterator[DeltaPage]:
    """Run one round of every collection in ``links`` (key → initial URL, nextLink or deltaLink)."""
    headers = dict(headers or {})
    initial = {key: not is_delta_link(url) for key, url in links.items()}
    first = _batched_first_pages(client, links, headers) if not any(initial.values()) else {}
    for key, url in links.items():
        answer: GraphResponse | None = first.get(key)
        while True:
            body = client.raise_for(answer) if answer is not None else client.delta_page(url, headers=headers)
            answer = None
            body = body if isinstance(body, dict) else {}
            next_link = body.get("@odata.nextLink")
            delta_link = body.get("@odata.deltaLink")
            if not next_link and not delta_link:
                raise ProviderError(
                    "A Microsoft Graph delta page carried neither a nextLink nor a deltaLink."
                )
            yield DeltaPage(
                key=key,
                items=[item for item in body.get("value") or () if isinstance(item, dict)],
                link=str(next_link or delta_link),
                done=not next_link,
                initial=initial[key],
            )
            if not next_link:
                break
            url = str(next_link)


def _batched_first_pages(
    client: GraphClient, links: Mapping[str, str], headers: Mapping[str, str]
) -> dict[str, GraphResponse]:
    global _batch_off_until
    if len(links) < 2 or len(links) > MAX_BATCH:
        return {}
    with _batch_lock:
        if time.monotonic() < _batch_off_until:
            return {}
    sub_requests = [
        {"id": key, "method": "GET", "url": client.relative(url), "headers": dict(headers)}
        for key, url in links.items()
    ]
    try:
        return client.batch(sub_requests)
    except BatchNotSupported:
        logger.warning("microsoft.graph.batch_unsupported", extra={"connection_id": client.connection.pk})
        with _batch_lock:
            _batch_off_until = time.monotonic() + BATCH_RETRY_SECONDS
        return {}


def reset_batch_support() -> None:
    """Try ``$batch`` again at the next round (tests)."""
    global _batch_off_until
    with _batch_lock:
        _batch_off_until = 0.0
