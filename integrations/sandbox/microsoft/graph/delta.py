"""Delta queries (messages per folder, calendarView, contacts per folder) as Graph runs them.

A *round* starts without a token (everything currently in the collection) or with a
``$deltatoken`` (what changed since that token). Its items are fixed when it starts; pages follow
with ``@odata.nextLink`` (``$skiptoken``) and the last page carries ``@odata.deltaLink``
(``$deltatoken``). Query options (``$select``, ``$filter``, the calendarView window) travel inside
the tokens, so the links work unchanged. Changed items come back whole; items that left the
collection come back as ``{"id", "@removed": {"reason": "deleted"}}``.

Tokens are opaque to clients (base64url JSON here). They die when the sandbox is reset or a test
expires them; Graph then answers 410 Gone (or 400, configurable) with ``syncStateNotFound`` and a
``Location`` holding the request URL with an empty ``$deltatoken``: a full resync.
"""

# Reference: https://learn.microsoft.com/en-us/graph/delta-query-messages
# Reference: https://learn.microsoft.com/en-us/graph/delta-query-overview#synchronization-reset
# Reference: https://learn.microsoft.com/en-us/graph/api/event-delta

from __future__ import annotations

import base64
import binascii
import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from integrations.sandbox.microsoft.graph import odata
from integrations.sandbox.microsoft.graph.errors import graph_error
from integrations.sandbox.microsoft.mailboxes import DeltaRound, MailStore
from integrations.sandbox.routing import Request, Response

EXPIRED_MESSAGE = (
    "The sync state generation is not found. The delta token is expired and data must be synchronized again."
)
RESYNC_MESSAGE = "The delta token is no longer valid, and the app must reset the sync state."


@dataclass
class Collection:
    """One delta-capable collection and how to read it."""

    kind: str  # "message" | "event" | "contact": the @odata.type and what tokens are for
    scope: str  # user id + container id: a token only works where it was issued
    initial: Callable[[Mapping[str, Any]], list[str]]  # every item now in it, in page order
    changed: Callable[[int, int], list[str]]  # ids changed in (since, upto]
    present: Callable[[str, Mapping[str, Any]], dict[str, Any] | None]  # the item if still in it
    default_page: int = 10
    max_page: int = 1000


def run(
    request: Request,
    store: MailStore,
    collection: Collection,
    *,
    query: Mapping[str, Any] | None,
    url_params: Mapping[str, str],
    transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> Response:
    """Answer one delta request. ``query`` holds the options parsed from this URL (used when the
    round starts without a token); ``url_params`` are the raw options to put back in a reset link."""
    skip = request.query_param("$skiptoken")
    delta = request.query_param("$deltatoken")
    if skip:
        payload = _decode(store, skip, collection)
        delta_round = store.rounds.get(payload["r"]) if payload else None
        if payload is None or delta_round is None:
            return expired(request, store, payload, url_params)
        offset, params = int(payload["o"]), payload["q"]
        round_id = payload["r"]
    elif delta:
        payload = _decode(store, delta, collection)
        if payload is None:
            return expired(request, store, _peek(delta), url_params)
        params = payload["q"]
        delta_round = DeltaRound(
            collection.changed(int(payload["s"]), store.seq), store.seq, incremental=True
        )
        round_id, offset = secrets.token_hex(8), 0
        store.keep_round(round_id, delta_round)
    else:
        if query is None:
            return expired(request, store, None, url_params)
        params = {**query, "u": dict(url_params)}
        delta_round = DeltaRound(collection.initial(params), store.seq, incremental=False)
        round_id, offset = secrets.token_hex(8), 0
        store.keep_round(round_id, delta_round)

    size, headers = _page_size(request, params, collection)
    select = params.get("select")
    odata_type = f"#microsoft.graph.{collection.kind}"
    value: list[dict[str, Any]] = []
    for item_id in delta_round.ids[offset : offset + size]:
        item = collection.present(item_id, params)
        if item is not None:
            item = transform(item) if transform else item
            value.append({"@odata.type": odata_type, **odata.render(item, select)})
        elif delta_round.incremental:
            value.append({"@odata.type": odata_type, "id": item_id, "@removed": {"reason": "deleted"}})
    base = f"{request.base_url}{request.path}"
    if offset + size < len(delta_round.ids):
        token = _encode(store, collection, {"r": round_id, "o": offset + size, "q": params})
        return odata.collection(request, fragment=f"Collection({collection.kind})", value=value,
                                next_link=f"{base}?$skiptoken={token}", headers=headers)  # fmt: skip
    token = _encode(store, collection, {"s": delta_round.upto, "q": params})
    return odata.collection(request, fragment=f"Collection({collection.kind})", value=value,
                            delta_link=f"{base}?$deltatoken={token}", headers=headers)  # fmt: skip


def expired(
    request: Request, store: MailStore, payload: Mapping[str, Any] | None, url_params: Mapping[str, str]
) -> Response:
    original = dict((payload or {}).get("q", {}).get("u") or url_params)
    query = urlencode({**original, "$deltatoken": ""}, quote_via=quote, safe="$,'()=:")
    options = store.options
    message = RESYNC_MESSAGE if options.delta_expiry_code == "resyncRequired" else EXPIRED_MESSAGE
    headers = (
        {"Location": f"{request.base_url}{request.path}?{query}"}
        if options.delta_expiry_status == 410
        else {}
    )
    return graph_error(
        request, options.delta_expiry_status, options.delta_expiry_code, message, headers=headers
    )


def _page_size(
    request: Request, params: Mapping[str, Any], collection: Collection
) -> tuple[int, dict[str, str]]:
    wanted = odata.prefer(request).get("odata.maxpagesize")
    if wanted and wanted.isdigit() and int(wanted) > 0:
        size = min(int(wanted), collection.max_page)
        return size, {"Preference-Applied": f"odata.maxpagesize={size}"}
    top = params.get("top")
    if isinstance(top, int) and top > 0:
        return min(top, collection.max_page), {}
    return collection.default_page, {}


def _encode(store: MailStore, collection: Collection, data: dict[str, Any]) -> str:
    payload = {
        **data,
        "k": collection.kind,
        "c": collection.scope,
        "i": store.instance,
        "e": store.options.delta_epoch,
    }
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _peek(token: str) -> dict[str, Any] | None:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _decode(store: MailStore, token: str, collection: Collection) -> dict[str, Any] | None:
    data = _peek(token)
    if data is None:
        return None
    valid = (
        data.get("i") == store.instance
        and data.get("e") == store.options.delta_epoch
        and data.get("k") == collection.kind
        and data.get("c") == collection.scope
        and isinstance(data.get("q"), dict)
    )
    return data if valid else None
