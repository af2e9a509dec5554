"""Calendar API v3 routes: calendarList, calendars.get and events (list with sync tokens, get,
insert, patch, update, delete), as ``build("calendar", "v3")`` calls them under
``/google/calendar/v3/``. Meetings organised by a sandbox user are copied into the calendars of
attendees who are sandbox users too (``events.copy_to_attendees``), as inside a Workspace domain.
"""


# Reference: https://developers.google.com/workspace/calendar/api/v3/reference/events/list
# Reference: https://developers.google.com/workspace/calendar/api/guides/sync

from __future__ import annotations

import datetime as dt
from typing import Any

from integrations.sandbox.google.api import ApiRoute, acting_user, json_body
from integrations.sandbox.google.calendars import (
    Calendar,
    CalendarBook,
    new_event_id,
    valid_event_id,
)
from integrations.sandbox.google.clock import rfc3339
from integrations.sandbox.google.errors import GoogleApiError, bad_request
from integrations.sandbox.google.events import (
    EDITABLE,
    apply_conference,
    build_event,
    check_times,
    copy_to_attendees,
    event_times,
    normalise_attendees,
)
from integrations.sandbox.google.paging import BadToken, bool_param, decode_token, encode_token, int_param
from integrations.sandbox.google.recurrence import expand
from integrations.sandbox.google.store import AccessGrant, GoogleStore
from integrations.sandbox.routing import Request, Response, empty_response, json_response

BASE = r"/google/calendar/v3"
CAL = rf"{BASE}/calendars/(?P<calendar>[^/]+)"
SYNC_PREFIX = "CPsbx"
NOT_WITH_SYNC_TOKEN = (
    "iCalUID",
    "orderBy",
    "privateExtendedProperty",
    "q",
    "sharedExtendedProperty",
    "timeMin",
    "timeMax",
    "updatedMin",
)


def routes() -> list[ApiRoute]:
    return [
        ApiRoute("GET", rf"{BASE}/users/me/calendarList", "calendar.calendarList.list", list_calendars),
        ApiRoute(
            "GET",
            rf"{BASE}/users/me/calendarList/(?P<calendar>[^/]+)",
            "calendar.calendarList.get",
            get_calendar_entry,
        ),
        ApiRoute("GET", CAL, "calendar.calendars.get", get_calendar),
        ApiRoute("GET", rf"{CAL}/events", "calendar.events.list", list_events),
        ApiRoute("POST", rf"{CAL}/events", "calendar.events.insert", insert_event),
        ApiRoute("GET", rf"{CAL}/events/(?P<event>[^/]+)", "calendar.events.get", get_event),
        ApiRoute("PATCH", rf"{CAL}/events/(?P<event>[^/]+)", "calendar.events.patch", patch_event),
        ApiRoute("PUT", rf"{CAL}/events/(?P<event>[^/]+)", "calendar.events.update", update_event),
        ApiRoute("DELETE", rf"{CAL}/events/(?P<event>[^/]+)", "calendar.events.delete", delete_event),
    ]


def calendar_not_found() -> GoogleApiError:
    return GoogleApiError(404, "notFound", "Not Found")


def full_sync_required() -> GoogleApiError:
    # A6: the body Calendar sends for an invalid or expired sync token.
    return GoogleApiError(
        410,
        "fullSyncRequired",
        "Sync token is no longer valid, a full sync is required.",
        domain="calendar",
        location="syncToken",
        status_name="",
    )


def _book(request: Request, store: GoogleStore, grant: AccessGrant) -> CalendarBook:
    return store.calendar_book(acting_user(store, grant, "me").email)


def _calendar(request: Request, store: GoogleStore, grant: AccessGrant) -> Calendar:
    calendar = _book(request, store, grant).calendar(request.params["calendar"])
    if calendar is None:
        raise calendar_not_found()
    return calendar


# ---- calendar list ---------------------------------------------------------------------------
def list_calendars(request: Request, store: GoogleStore, grant: AccessGrant) -> Response:
    book = _book(request, store, grant)
    token = request.query_param("syncToken")
    items = [c.entry() for c in book.calendars.values()]
    if token:
        try:
            data = decode_token(token, prefix=SYNC_PREFIX)
        except BadToken as exc:
            raise full_sync_required() from exc
        if data.get("l") != book.list_epoch:
            raise full_sync_required()
        items = []  # the sandbox's calendar list never changes after it is created
    return json_response(
        200,
        {
            "kind": "calendar#calendarList",
            "etag": f'"p3{book.list_epoch:012d}"',
            "nextSyncToken": encode_token({"l": book.list_epoch}, prefix=SYNC_PREFIX),
            "items": items,
        },
    )


def get_calendar_entry(request: Request, store: GoogleStore, grant: AccessGrant) -> Response:
    return json_response(200, _calendar(request, store, grant).entry())


def get_calendar(request: Request, store: GoogleStore, grant: AccessGrant) -> Response:
    calendar = _calendar(request, store, grant)
    return json_response(
        200,
        {
            "kind": "calendar#calendar",
            "etag": f'"{calendar.seq}"',
            "id": calendar.id,
            "summary": calendar.summary,
            "timeZone": calendar.time_zone,
            "conferenceProperties": {"allowedConferenceSolutionTypes": ["hangoutsMeet"]},
        },
    )


# ---- events.list -----------------------------------------------------------------------------
def _parse_time(value: str, name: str) -> float:
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise bad_request(f"Bad Request: invalid {name}", reason="badRequest") from exc
    if parsed.tzinfo is None:
        raise bad_request(f"Bad Request: {name} must include a time zone offset")
    return parsed.timestamp()


EXPANSION_DAYS = 366  # singleEvents without timeMax: instances up to a year ahead


def list_events(request: Request, store: GoogleStore, grant: AccessGrant) -> Response:
    calendar = _calendar(request, store, grant)
    query = request.query
    sync_token = request.query_param("syncToken")
    page_token = request.query_param("pageToken")
    try:
        size = int_param(request.query_param("maxResults"), default=250, maximum=2500)
    except ValueError as exc:
        raise bad_request(str(exc), reason="invalid") from exc
    since: int | None = None
    if sync_token:
        clash = [name for name in NOT_WITH_SYNC_TOKEN if name in query]
        if query.get("showDeleted") == ["false"]:
            clash.append("showDeleted")
        if clash:
            raise bad_request(
                f"The syncToken parameter cannot be used together with {clash[0]}.", reason="invalid"
            )
        since = _sync_position(calendar, sync_token)
    snapshot = calendar.seq
    if page_token:
        try:
            position = decode_token(page_token)
            snapshot, after = int(position["s"]), tuple(position["k"])
            if since is None and "y" in position:  # the next page of an incremental sync
                since = int(position["y"])
        except (BadToken, KeyError, TypeError, ValueError) as exc:
            raise bad_request("Invalid page token", reason="invalid") from exc
    else:
        after = None
    order = request.query_param("orderBy")
    if order == "startTime" and not bool_param(request.query_param("singleEvents")):
        raise bad_request("The requested ordering is not available for the particular query.")
    if order not in (None, "startTime", "updated"):
        raise bad_request(f"Invalid value for orderBy: {order}", reason="invalid")

    show_deleted = (
        since is not None or bool_param(request.query_param("showDeleted")) or "updatedMin" in query
    )
    time_min = _parse_time(query["timeMin"][0], "timeMin") if "timeMin" in query else None
    time_max = _parse_time(query["timeMax"][0], "timeMax") if "timeMax" in query else None
    updated_min = _parse_time(query["updatedMin"][0], "updatedMin") if "updatedMin" in query else None
    text = (request.query_param("q") or "").lower()
    ical_uid = request.query_param("iCalUID")

    def meta_of(event: dict[str, Any]) -> Any:
        # An instance of a recurring event changes with its series.
        return calendar.meta.get(event["id"]) or calendar.meta[event["recurringEventId"]]

    def key(event: dict[str, Any]) -> tuple:
        meta = meta_of(event)
        if since is not None:
            return (meta.seq, meta.ordinal, event["id"])
        if order == "startTime":
            return (event_times(event)[0], meta.ordinal, event["id"])
        if order == "updated":
            return (meta.updated, meta.ordinal, event["id"])
        return (meta.ordinal, event["id"])

    def wanted(event: dict[str, Any]) -> bool:
        meta = meta_of(event)
        if meta.seq > snapshot or (since is not None and meta.seq <= since):
            return False
        if event.get("status") == "cancelled" and not show_deleted:
            return False
        start, end = event_times(event)
        if (time_min is not None and end <= time_min) or (time_max is not None and start >= time_max):
            return False
        if updated_min is not None and meta.updated < updated_min:
            return False
        if ical_uid and event.get("iCalUID") != ical_uid:
            return False
        return (
            not text
            or text in " ".join(str(event.get(f, "")) for f in ("summary", "description", "location")).lower()
        )

    stored: list[dict[str, Any]] = list(calendar.events.values())
    if bool_param(request.query_param("singleEvents")):
        horizon = dt.datetime.fromtimestamp(time_max or store.clock.now() + EXPANSION_DAYS * 86400, dt.UTC)
        stored = [instance for event in stored for instance in expand(event, until=horizon)]
    events = sorted((e for e in stored if wanted(e)), key=key)
    if after is not None:
        events = [e for e in events if key(e) > after]
    page = events[:size]
    body: dict[str, Any] = {
        "kind": "calendar#events",
        "etag": f'"p3{snapshot:012d}"',
        "summary": calendar.summary,
        "description": "",
        "updated": rfc3339(store.clock.now()),
        "timeZone": calendar.time_zone,
        "accessRole": "owner",
        "defaultReminders": [{"method": "popup", "minutes": 10}],
    }
    if len(events) > size:
        body["nextPageToken"] = encode_token(
            {"s": snapshot, "k": list(key(page[-1])), **({"y": since} if since is not None else {})}
        )
    else:
        body["nextSyncToken"] = encode_token(
            {"c": calendar.id, "s": snapshot, "e": calendar.epoch}, prefix=SYNC_PREFIX
        )
    body["items"] = [_listed(e) for e in page]
    return json_response(200, body)


def _sync_position(calendar: Calendar, token: str) -> int:
    try:
        data = decode_token(token, prefix=SYNC_PREFIX)
        position = int(data["s"])
    except (BadToken, KeyError, TypeError, ValueError) as exc:
        raise full_sync_required() from exc
    if data.get("c") != calendar.id or data.get("e") != calendar.epoch or position > calendar.seq:
        raise full_sync_required()
    return position


def _listed(event: dict[str, Any]) -> dict[str, Any]:
    if event.get("status") == "cancelled":
        # Deleted events are only guaranteed their id (Event.status description); a deleted
        # instance of a recurring event is a cancelled exception naming its series and slot.
        kept = ("recurringEventId", "originalStartTime")
        return {"kind": "calendar#event", "etag": event.get("etag", ""), "id": event["id"],
                "status": "cancelled", **{k: event[k] for k in kept if k in event}}  # fmt: skip
    return event


# ---- single events ---------------------------------------------------------------------------
def _event(calendar: Calendar, event_id: str) -> dict[str, Any]:
    event = calendar.events.get(event_id)
    if event is None:
        raise calendar_not_found()
    return event


def get_event(request: Request, store: GoogleStore, grant: AccessGrant) -> Response:
    return json_response(200, _event(_calendar(request, store, grant), request.params["event"]))


def _conference_version(request: Request) -> int:
    value = request.query_param("conferenceDataVersion") or "0"
    if value not in ("0", "1"):
        raise bad_request("Invalid conference data version.", reason="invalid")
    return int(value)


def insert_event(request: Request, store: GoogleStore, grant: AccessGrant) -> Response:
    calendar = _calendar(request, store, grant)
    body = json_body(request)
    event_id = str(body.get("id") or new_event_id())
    if not valid_event_id(event_id):
        raise bad_request("Invalid resource id value.", reason="invalid")
    if event_id in calendar.events:
        raise GoogleApiError(409, "duplicate", "The requested identifier already exists.")
    check_times(body)
    user = store.user(calendar.id)
    organizer = (calendar.id, user.full_name if user else calendar.id)
    event = build_event(
        calendar, body, event_id=event_id, version=_conference_version(request), organizer=organizer
    )
    calendar.put(event, store.clock.now())
    copy_to_attendees(store, event)
    return json_response(200, event)


def _change(request: Request, store: GoogleStore, grant: AccessGrant, *, replace: bool) -> Response:
    calendar = _calendar(request, store, grant)
    current = _event(calendar, request.params["event"])
    body = json_body(request)
    version = _conference_version(request)
    merged = dict(current) if not replace else {k: v for k, v in current.items() if k not in EDITABLE}
    for field in EDITABLE:
        if field in body:
            merged[field] = body[field]
    if merged.get("visibility") == "default":
        merged.pop("visibility")
    check_times(merged)
    merged["sequence"] = int(current.get("sequence", 0)) + 1
    normalise_attendees(merged, calendar.id, current.get("organizer", {}).get("email", calendar.id))
    if "conferenceData" in body:
        if version == 1:
            apply_conference(merged, body["conferenceData"], version)
    elif replace and version == 1:
        merged.pop("conferenceData", None)
        merged.pop("hangoutLink", None)
    calendar.put(merged, store.clock.now())
    if merged.get("organizer", {}).get("self"):
        copy_to_attendees(store, merged)
    return json_response(200, merged)


def patch_event(request: Request, store: GoogleStore, grant: AccessGrant) -> Response:
    return _change(request, store, grant, replace=False)


def update_event(request: Request, store: GoogleStore, grant: AccessGrant) -> Response:
    return _change(request, store, grant, replace=True)


def delete_event(request: Request, store: GoogleStore, grant: AccessGrant) -> Response:
    calendar = _calendar(request, store, grant)
    event = _event(calendar, request.params["event"])
    if event.get("status") == "cancelled":
        raise GoogleApiError(410, "deleted", "Resource has been deleted")
    cancelled = {**event, "status": "cancelled"}
    calendar.put(cancelled, store.clock.now())
    if event.get("organizer", {}).get("self"):
        copy_to_attendees(store, cancelled)
    return empty_response(204)
