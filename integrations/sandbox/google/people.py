"""People API v1 routes: ``people/me/connections`` (with sync tokens) and ``contactGroups``, as
``build("people", "v1")`` calls them under ``/google/``.
"""

# Reference: https://developers.google.com/people/api/rest/v1/people.connections/list
# Reference: https://developers.google.com/people/api/rest/v1/contactGroups/list

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from integrations.sandbox.google.api import ApiRoute, acting_user
from integrations.sandbox.google.clock import rfc3339
from integrations.sandbox.google.contacts import SYNC_TOKEN_LIFETIME, Contact, ContactBook
from integrations.sandbox.google.errors import GoogleApiError
from integrations.sandbox.google.paging import BadToken, bool_param, decode_token, encode_token, int_param
from integrations.sandbox.google.store import AccessGrant, GoogleStore
from integrations.sandbox.routing import Request, Response, json_response

PERSON_FIELDS = {
    "addresses",
    "ageRanges",
    "biographies",
    "birthdays",
    "calendarUrls",
    "clientData",
    "coverPhotos",
    "emailAddresses",
    "events",
    "externalIds",
    "genders",
    "imClients",
    "interests",
    "locales",
    "locations",
    "memberships",
    "metadata",
    "miscKeywords",
    "names",
    "nicknames",
    "occupations",
    "organizations",
    "phoneNumbers",
    "photos",
    "relations",
    "sipAddresses",
    "skills",
    "urls",
    "userDefined",
}
SORT_ORDERS = (
    "LAST_MODIFIED_ASCENDING",
    "LAST_MODIFIED_DESCENDING",
    "FIRST_NAME_ASCENDING",
    "LAST_NAME_ASCENDING",
)
SYNC_PREFIX = "EPsbx"


def routes() -> list[ApiRoute]:
    return [
        ApiRoute(
            "GET",
            r"/google/v1/people/(?P<person>[^/]+)/connections",
            "people.people.connections.list",
            list_connections,
        ),
        ApiRoute("GET", r"/google/v1/contactGroups", "people.contactGroups.list", list_groups),
    ]


def invalid_argument(message: str) -> GoogleApiError:
    return GoogleApiError(400, "badRequest", message, status_name="INVALID_ARGUMENT")


def expired_sync_token() -> GoogleApiError:
    # A7: FAILED_PRECONDITION with a google.rpc.ErrorInfo whose reason the client looks for.
    return GoogleApiError(
        400,
        "failedPrecondition",
        "Sync token is expired. Clear local cache and retry call without the sync token.",
        status_name="FAILED_PRECONDITION",
        details=[
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "EXPIRED_SYNC_TOKEN",
                "domain": "people.googleapis.com",
                "metadata": {
                    "service": "people.googleapis.com",
                    "method": "google.people.v1.PeopleService.ListConnections",
                },
            }
        ],
    )


def _book(store: GoogleStore, grant: AccessGrant) -> ContactBook:
    return store.contact_book(acting_user(store, grant, "me").email)


def _fields(request: Request) -> set[str]:
    mask = request.query_param("personFields") or request.query_param("requestMask.includeField") or ""
    fields = {f.strip().removeprefix("person.") for f in mask.split(",") if f.strip()}
    if not fields:
        raise invalid_argument(
            "personFields mask is required. Please specify one or more valid paths. "
            "Valid paths are documented at https://developers.google.com/people/api/rest/v1/people/get."
        )
    unknown = sorted(fields - PERSON_FIELDS)
    if unknown:
        raise invalid_argument(
            f'Invalid personFields mask path: "{unknown[0]}". Valid paths are documented '
            "at https://developers.google.com/people/api/rest/v1/people/get."
        )
    return fields


def person_json(contact: Contact, fields: set[str]) -> dict[str, Any]:
    source = {
        "type": "CONTACT",
        "id": contact.id[1:],
        "etag": f"#{contact.seq}",
        "updateTime": rfc3339(contact.updated),
    }
    body: dict[str, Any] = {"resourceName": contact.resource_name, "etag": contact.etag}
    if contact.deleted:
        body["metadata"] = {"sources": [source], "deleted": True, "objectType": "PERSON"}
        return body
    if "metadata" in fields:
        body["metadata"] = {"sources": [source], "objectType": "PERSON"}
    field_meta = {"primary": True, "source": {"type": "CONTACT", "id": contact.id[1:]}}
    for name in sorted(fields - {"metadata", "memberships"}):
        values = contact.fields.get(name)
        if values:
            body[name] = [{"metadata": dict(field_meta), **value} for value in values]
    if "memberships" in fields:
        body["memberships"] = [
            {
                "metadata": {"source": {"type": "CONTACT", "id": contact.id[1:]}},
                "contactGroupMembership": {
                    "contactGroupId": group,
                    "contactGroupResourceName": f"contactGroups/{group}",
                },
            }
            for group in contact.groups
        ]
    return body


def _sort_key(order: str) -> Callable[[Contact], tuple]:
    def name_part(contact: Contact, part: str) -> str:
        names = contact.fields.get("names") or [{}]
        return str(names[0].get(part, "")).lower()

    if order == "LAST_MODIFIED_DESCENDING":
        return lambda c: (-c.seq,)
    if order == "FIRST_NAME_ASCENDING":
        return lambda c: (name_part(c, "givenName"), c.ordinal)
    if order == "LAST_NAME_ASCENDING":
        return lambda c: (name_part(c, "familyName"), c.ordinal)
    return lambda c: (c.seq,)


def list_connections(request: Request, store: GoogleStore, grant: AccessGrant) -> Response:
    if request.params["person"] != "me":
        raise invalid_argument("Only people/me is a valid resourceName for connections.")
    book = _book(store, grant)
    fields = _fields(request)
    order = request.query_param("sortOrder") or "LAST_MODIFIED_ASCENDING"
    if order not in SORT_ORDERS:
        raise invalid_argument(f"Invalid value at 'sort_order' ({order})")
    try:
        size = int_param(request.query_param("pageSize"), default=100, maximum=1000)
    except ValueError as exc:
        raise invalid_argument(str(exc)) from exc
    want_token = bool_param(request.query_param("requestSyncToken"))
    since: int | None = None
    sync_token = request.query_param("syncToken")
    if sync_token:
        since = _sync_position(store, book, sync_token)
    snapshot, after = book.seq, None
    page_token = request.query_param("pageToken")
    if page_token:
        try:
            data = decode_token(page_token)
            snapshot, after = int(data["s"]), tuple(data["k"])
            if since is None and "y" in data:  # the next page of an incremental sync
                since = int(data["y"])
        except (BadToken, KeyError, TypeError, ValueError) as exc:
            raise invalid_argument("Invalid pageToken.") from exc
    key = _sort_key(order)
    contacts = sorted(
        (
            c
            for c in book.contacts.values()
            if c.seq <= snapshot and (c.seq > since if since is not None else not c.deleted)
        ),
        key=key,
    )
    total = len(contacts)
    if after is not None:
        contacts = [c for c in contacts if key(c) > after]
    page = contacts[:size]
    body: dict[str, Any] = {}
    if page:
        body["connections"] = [person_json(c, fields) for c in page]
    if len(contacts) > size:
        position = {"s": snapshot, "k": list(key(page[-1]))}
        if since is not None:
            position["y"] = since
        body["nextPageToken"] = encode_token(position)
    elif want_token:  # People returns a sync token only when asked for one
        body["nextSyncToken"] = encode_token(
            {"s": snapshot, "e": book.epoch, "t": int(store.clock.now())}, prefix=SYNC_PREFIX
        )
    body["totalPeople"] = total
    body["totalItems"] = total
    return json_response(200, body)


def _sync_position(store: GoogleStore, book: ContactBook, token: str) -> int:
    try:
        data = decode_token(token, prefix=SYNC_PREFIX)
        position, issued = int(data["s"]), float(data["t"])
    except (BadToken, KeyError, TypeError, ValueError) as exc:
        raise invalid_argument("Sync token is invalid.") from exc
    if data.get("e") != book.epoch or store.clock.now() - issued > SYNC_TOKEN_LIFETIME or position > book.seq:
        raise expired_sync_token()
    return position


def list_groups(request: Request, store: GoogleStore, grant: AccessGrant) -> Response:
    book = _book(store, grant)
    try:
        size = int_param(request.query_param("pageSize"), default=30, maximum=1000)
    except ValueError as exc:
        raise invalid_argument(str(exc)) from exc
    groups = list(book.groups.values())
    start = 0
    page_token = request.query_param("pageToken")
    if page_token:
        try:
            start = int(decode_token(page_token)["o"])
        except (BadToken, KeyError, TypeError, ValueError) as exc:
            raise invalid_argument("Invalid pageToken.") from exc
    page = groups[start : start + size]
    body: dict[str, Any] = {"contactGroups": [book.group_json(g) for g in page], "totalItems": len(groups)}
    if start + size < len(groups):
        body["nextPageToken"] = encode_token({"o": start + size})
    else:
        body["nextSyncToken"] = encode_token(
            {"s": book.seq, "e": book.epoch, "t": int(store.clock.now())}, prefix=SYNC_PREFIX
        )
    return json_response(200, body)
