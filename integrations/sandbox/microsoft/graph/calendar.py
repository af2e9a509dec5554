"""Graph calendar (the primary calendar): events list/create/get/update/delete, calendarView, and
calendarView delta. Meetings reach attendees who have a sandbox mailbox (same ``iCalUId``); the
organizer's updates and cancellation follow them there.

Recurring meetings (``recurrence``): ``/events`` lists the ``seriesMaster`` (and exceptions), never
its occurrences; ``calendarView`` lists the occurrences and exceptions in the window, never the
master. calendarView *delta* sends an occurrence with only ``id``, ``type``, ``seriesMasterId``,
``start`` and ``end`` (the client reads the rest from the master); exceptions come whole. The docs
do not say whether the delta also lists the master: like ``calendarView``, the sandbox does not.
A cancelled occurrence (or a deleted series) comes back as ``@removed`` in the next delta round, as
the docs say for every event deleted within the window.

Page sizes: event lists and calendarView default to 10 (``$top`` up to 1000); calendarView delta
defaults to 10 per page (``Prefer: odata.maxpagesize`` up to 1000).
"""

# Reference: https://learn.microsoft.com/en-us/graph/api/user-list-events
# Reference: https://learn.microsoft.com/en-us/graph/api/user-post-events
# Reference: https://learn.microsoft.com/en-us/graph/api/event-delta
# Reference: https://learn.microsoft.com/en-us/graph/delta-query-events ("occurrences and exceptions")
# Reference: https://learn.microsoft.com/en-us/graph/api/resources/event (type, seriesMasterId)

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from integrations.sandbox.microsoft import mailboxes, recurrence
from integrations.sandbox.microsoft.directory import User
from integrations.sandbox.microsoft.graph import delta, errors, odata
from integrations.sandbox.microsoft.graph.mail import as_text
from integrations.sandbox.microsoft.graph.pipeline import Target
from integrations.sandbox.microsoft.items import attendee_json, event_json, location_json, preview, recipient
from integrations.sandbox.microsoft.times import date_time_zone, parse, parse_date_time_zone
from integrations.sandbox.routing import Request, Response, empty_response, json_response
from integrations.sandbox.state import SandboxState

USER = r"/graph/v1\.0/(?:me|users/(?P<user>[^/]+))"
EVENT_FIELDS = (
    "id", "createdDateTime", "lastModifiedDateTime", "changeKey", "categories", "transactionId",
    "originalStartTimeZone", "originalEndTimeZone", "iCalUId", "uid", "reminderMinutesBeforeStart",
    "isReminderOn", "hasAttachments", "subject", "bodyPreview", "importance", "sensitivity", "isAllDay",
    "isCancelled", "isOrganizer", "responseRequested", "seriesMasterId", "originalStart", "showAs", "type", "webLink",
    "onlineMeetingUrl", "isOnlineMeeting", "onlineMeetingProvider", "allowNewTimeProposals", "isDraft",
    "hideAttendees", "responseStatus", "body", "start", "end", "location", "locations", "recurrence",
    "attendees", "organizer", "onlineMeeting",
)  # fmt: skip
WRITABLE = frozenset({"subject", "body", "start", "end", "location", "attendees", "isOnlineMeeting",
                      "onlineMeetingProvider", "sensitivity", "isAllDay", "showAs", "categories",
                      "importance", "transactionId", "isReminderOn", "reminderMinutesBeforeStart",
                      "recurrence"})  # fmt: skip


def routes() -> list[tuple[str, str, Any, str]]:
    return [
        ("GET", rf"{USER}/calendarView/delta", calendar_view_delta, "calendar.read"),
        ("GET", rf"{USER}/calendarView", calendar_view, "calendar.read"),
        ("GET", rf"{USER}/(?:calendar/)?events/delta", unsupported_delta, "calendar.read"),
        ("GET", rf"{USER}/(?:calendar/)?events", list_events, "calendar.read"),
        ("POST", rf"{USER}/(?:calendar/)?events", create_event, "calendar.write"),
        ("GET", rf"{USER}/(?:calendar/)?events/(?P<event>[^/]+)", get_event, "calendar.read"),
        ("PATCH", rf"{USER}/(?:calendar/)?events/(?P<event>[^/]+)", patch_event, "calendar.write"),
        ("DELETE", rf"{USER}/(?:calendar/)?events/(?P<event>[^/]+)", delete_event, "calendar.write"),
    ]


def _decorate(request: Request) -> Any:
    return as_text if odata.prefer(request).get("outlook.body-content-type", "").lower() == "text" else None


def list_events(request: Request, state: SandboxState, target: Target) -> Response:
    select = odata.selection(request, EVENT_FIELDS, "Microsoft.OutlookServices.Event")
    if isinstance(select, Response):
        return select
    events = sorted(target.mailbox.events.values(), key=lambda e: (e["_start"], e["id"]))
    return odata.page(request, events, fragment=f"users('{target.user.id}')/events", select=select,  # type: ignore[union-attr]
                      default=10, maximum=1000, decorate=_decorate(request))  # fmt: skip


def _find(box: mailboxes.Mailbox, event_id: str) -> dict[str, Any] | None:
    """A stored event, or an occurrence of a stored series (expanded on demand)."""
    event = box.events.get(event_id)
    if event is not None:
        return event
    parsed = recurrence.parse_occurrence_id(event_id)
    master = box.events.get(parsed[0]) if parsed else None
    if parsed is None or master is None or not recurrence.is_master(master):
        return None
    return recurrence.full(master, event_id, parsed[1]) if recurrence.scheduled(master, parsed[1]) else None


def _in_view(box: mailboxes.Mailbox, start: float, end: float, *, stubs: bool) -> list[dict[str, Any]]:
    """What a calendar view over [start, end) lists: single events and exceptions, and each
    series' occurrences (whole, or as delta's stubs); never a series master itself."""
    found = [e for e in box.events.values() if not recurrence.is_master(e) and _overlaps(e, start, end)]
    shape = recurrence.stub if stubs else recurrence.full
    for master in [e for e in box.events.values() if recurrence.is_master(e)]:
        found += [
            shape(master, oid, when) for oid, when in recurrence.occurrences(master, start, end, box.events)
        ]
    found.sort(key=lambda e: (e["_start"], e["id"]))
    return found


def get_event(request: Request, state: SandboxState, target: Target) -> Response:
    event = _find(target.mailbox, request.params["event"])
    if event is None:
        return errors.item_not_found(request)
    select = odata.selection(request, EVENT_FIELDS, "Microsoft.OutlookServices.Event")
    if isinstance(select, Response):
        return select
    shown = _decorate(request)(event) if _decorate(request) else event
    return json_response(
        200, {"@odata.context": odata.context(request, "events/$entity"), **odata.render(shown, select)}
    )


def _window(request: Request) -> tuple[float, float] | Response:
    start, end = parse(request.query_param("startDateTime")), parse(request.query_param("endDateTime"))
    if start is None or end is None:
        return errors.bad_request(
            request,
            "This request requires a time window specified by the query string parameters StartDateTime "
            "and EndDateTime.",
            code="ErrorInvalidParameter",
        )
    return start.timestamp(), end.timestamp()


def _overlaps(event: dict[str, Any], start: float, end: float) -> bool:
    return event["_start"] < end and event["_end"] > start


def calendar_view(request: Request, state: SandboxState, target: Target) -> Response:
    window = _window(request)
    if isinstance(window, Response):
        return window
    select = odata.selection(request, EVENT_FIELDS, "Microsoft.OutlookServices.Event")
    if isinstance(select, Response):
        return select
    events = _in_view(target.mailbox, *window, stubs=False)
    return odata.page(request, events, fragment=f"users('{target.user.id}')/calendarView", select=select,  # type: ignore[union-attr]
                      default=10, maximum=1000, decorate=_decorate(request))  # fmt: skip


def unsupported_delta(request: Request, state: SandboxState, target: Target) -> Response:
    return errors.bad_request(
        request, "Unsupported request: Change tracking is not supported against 'microsoft.graph.event'."
    )


def calendar_view_delta(request: Request, state: SandboxState, target: Target) -> Response:
    box = target.mailbox
    query: dict[str, Any] | None = None
    if not request.query_param("$skiptoken") and not request.query_param("$deltatoken"):
        window = _window(request)
        if isinstance(window, Response):
            return window
        query = {"start": window[0], "end": window[1], "select": None}

    def initial(params: dict[str, Any]) -> list[str]:
        return [e["id"] for e in _in_view(box, params["start"], params["end"], stubs=True)]

    def present(event_id: str, params: dict[str, Any]) -> dict[str, Any] | None:
        event = box.events.get(event_id)
        if event is None:
            found = _find(box, event_id)  # an occurrence: sent as a stub
            parsed = recurrence.parse_occurrence_id(event_id)
            event = recurrence.stub(box.events[parsed[0]], event_id, parsed[1]) if found and parsed else None
        elif recurrence.is_master(event):
            return None
        # Changed events outside the window come back as @removed, as the docs warn.
        return event if event is not None and _overlaps(event, params["start"], params["end"]) else None

    collection = delta.Collection(kind="event", scope=f"{box.user_id}:calendar", initial=initial,  # type: ignore[arg-type]
                                  changed=box.event_log.changed, present=present)  # type: ignore[arg-type]  # fmt: skip
    url_params = {k: v[0] for k, v in request.query.items() if v and k not in ("$skiptoken", "$deltatoken")}
    return delta.run(request, target.store, collection, query=query, url_params=url_params)


# --- writes -----------------------------------------------------------------------------------


def create_event(request: Request, state: SandboxState, target: Target) -> Response:
    payload = request.json()
    if not isinstance(payload, dict):
        return errors.bad_request(
            request, "Empty Payload. JSON content expected.", code="ErrorInvalidRequest"
        )
    unknown = set(payload) - WRITABLE - {"@odata.type"}
    if unknown:
        return _unknown_property(request, sorted(unknown)[0])
    start, end = parse_date_time_zone(payload.get("start")), parse_date_time_zone(payload.get("end"))
    if start is None or end is None or end < start:
        return errors.bad_request(request, "Your request can't be completed. The start and end times are "
                                  "required, and the end must not be before the start.",
                                  code="ErrorInvalidRequest")  # fmt: skip
    organizer: User = target.user  # type: ignore[assignment]
    body = payload.get("body") or {}
    online = bool(payload.get("isOnlineMeeting"))
    attendees = [_attendee(a) for a in payload.get("attendees") or []]
    event = event_json(
        subject=str(payload.get("subject") or ""),
        start=start,
        end=end,
        organizer=(organizer.mail, organizer.display_name),
        attendees=attendees,
        body=str(body.get("content") or ""),
        content_type=str(body.get("contentType") or "html"),
        location=str((payload.get("location") or {}).get("displayName") or ""),
        teams_join_url=_teams_url() if online else "",
        private=str(payload.get("sensitivity") or "").lower() == "private",
        all_day=bool(payload.get("isAllDay")),
        created=dt.datetime.now(dt.UTC),
    )
    if payload.get("recurrence") is not None:
        series = recurrence.normalized(payload["recurrence"], start)
        if isinstance(series, str):
            return errors.bad_request(request, series, code="ErrorInvalidRequest")
        event.update(type="seriesMaster", recurrence=series)
    for key in (
        "showAs",
        "categories",
        "importance",
        "transactionId",
        "isReminderOn",
        "reminderMinutesBeforeStart",
    ):
        if key in payload:
            event[key] = payload[key]
    box = target.mailbox
    event_id = mailboxes.add_event(target.store, box, event)
    _invite(target, event, attendees)
    return json_response(201, {"@odata.context": odata.context(request, "events/$entity"),
                               **odata.render(box.events[event_id], None)})  # fmt: skip


def patch_event(request: Request, state: SandboxState, target: Target) -> Response:
    box = target.mailbox
    event = _find(box, request.params["event"])
    if event is None:
        return errors.item_not_found(request)
    if event["id"] not in box.events:  # an occurrence changed on its own becomes an exception
        exception = {k: v for k, v in event.items() if k not in ("changeKey", "@odata.etag")}
        exception["type"] = "exception"
        mailboxes.add_event(target.store, box, exception)
        event = exception
    payload = request.json()
    if not isinstance(payload, dict):
        return errors.bad_request(
            request, "Empty Payload. JSON content expected.", code="ErrorInvalidRequest"
        )
    unknown = set(payload) - WRITABLE - {"@odata.type"}
    if unknown:
        return _unknown_property(request, sorted(unknown)[0])
    changes = _changes(payload, event)
    if isinstance(changes, str):
        return errors.bad_request(request, changes, code="ErrorInvalidRequest")
    updated = mailboxes.update_event(target.store, box, event["id"], changes)
    if updated["isOrganizer"]:
        shared = {k: v for k, v in changes.items() if k not in ("responseStatus", "isOrganizer")}
        for other_box, copy in _copies(target, updated):
            mailboxes.update_event(target.store, other_box, copy["id"], shared)
    return json_response(
        200, {"@odata.context": odata.context(request, "events/$entity"), **odata.render(updated, None)}
    )


def delete_event(request: Request, state: SandboxState, target: Target) -> Response:
    box = target.mailbox
    event = _find(box, request.params["event"])
    if event is None:
        return errors.item_not_found(request)
    if event.get("seriesMasterId") and event["seriesMasterId"] in box.events:
        # One occurrence (or exception) cancelled: the series skips that date. (Attendees' copies
        # are not told in the sandbox.)
        mailboxes.cancel_occurrence(target.store, box, event["seriesMasterId"], event["id"],
                                    str(event["originalStart"]))  # fmt: skip
        return empty_response(204)
    if event["isOrganizer"]:
        for other_box, copy in _copies(target, event):
            subject = (
                copy["subject"]
                if copy["subject"].startswith("Canceled: ")
                else f"Canceled: {copy['subject']}"
            )
            mailboxes.update_event(
                target.store, other_box, copy["id"], {"isCancelled": True, "subject": subject}
            )
    mailboxes.remove_event(target.store, box, event["id"])
    return empty_response(204)


def _changes(payload: dict[str, Any], event: dict[str, Any]) -> dict[str, Any] | str:
    changes: dict[str, Any] = {}
    for key, value in payload.items():
        if key in ("start", "end"):
            when = parse_date_time_zone(value)
            if when is None:
                return f"Invalid value for '{key}'."
            changes[key] = date_time_zone(when)
            changes[f"_{key}"] = when.timestamp()
        elif key == "body":
            content_type = str((value or {}).get("contentType") or "html").lower()
            content = str((value or {}).get("content") or "")
            changes["body"] = {"contentType": content_type, "content": content}
            changes["bodyPreview"] = preview(content, content_type)
        elif key == "location":
            changes["location"] = location_json(str((value or {}).get("displayName") or ""))
        elif key == "attendees":
            changes["attendees"] = [attendee_json(_attendee(a)) for a in value or []]
        elif key == "isOnlineMeeting":
            changes["isOnlineMeeting"] = bool(value)
            changes["onlineMeetingProvider"] = "teamsForBusiness" if value else "unknown"
            changes["onlineMeeting"] = (
                (event.get("onlineMeeting") or {"joinUrl": _teams_url()}) if value else None
            )
        elif key == "sensitivity":
            changes["sensitivity"] = str(value).lower()
        elif key == "recurrence":
            if event.get("type") in ("occurrence", "exception"):
                return "An occurrence of a series cannot have a recurrence of its own."
            when = dt.datetime.fromtimestamp(changes.get("_start", event["_start"]), dt.UTC)
            series = recurrence.normalized(value, when) if value is not None else None
            if isinstance(series, str):
                return series
            changes.update(recurrence=series, type="seriesMaster" if series else "singleInstance")
        else:
            changes[key] = value
    if changes.get("_end", event["_end"]) < changes.get("_start", event["_start"]):
        return "The end of the event must not be before its start."
    return changes


def _attendee(entry: Any) -> tuple[str, str, str]:
    address = ((entry or {}).get("emailAddress") or {}) if isinstance(entry, dict) else {}
    return (str(address.get("address") or "").lower(), str(address.get("name") or ""), "none")


def _teams_url() -> str:
    thread = secrets.token_urlsafe(24).replace("-", "a").replace("_", "b")
    return f"https://teams.microsoft.com/l/meetup-join/19%3ameeting_{thread}%40thread.v2/0"


def _invite(target: Target, event: dict[str, Any], attendees: list[tuple[str, str, str]]) -> None:
    organizer = target.user
    for address, _name, _response in attendees:
        user = target.directory.find_user(address)
        if user is None or organizer is None or user.id == organizer.id or not user.has_mailbox:
            continue
        copy = {k: v for k, v in event.items() if k not in ("id", "webLink", "changeKey", "@odata.etag")}
        copy.update(isOrganizer=False, responseStatus={"response": "notResponded", "time": "0001-01-01T00:00:00Z"},
                    organizer=recipient((organizer.mail, organizer.display_name)))  # fmt: skip
        mailboxes.add_event(target.store, target.store.mailbox(user), copy)


def _copies(target: Target, event: dict[str, Any]) -> list[tuple[mailboxes.Mailbox, dict[str, Any]]]:
    found = []
    for attendee in event.get("attendees") or []:
        user = target.directory.find_user(attendee["emailAddress"]["address"])
        if (
            user is None
            or user.id not in target.store.mailboxes
            or (target.user and user.id == target.user.id)
        ):
            continue
        box = target.store.mailboxes[user.id]
        found += [
            (box, e) for e in box.events.values() if e["iCalUId"] == event["iCalUId"] and not e["isOrganizer"]
        ]
    return found


def _unknown_property(request: Request, name: str) -> Response:
    return errors.bad_request(
        request,
        f"The property '{name}' does not exist on type 'Microsoft.OutlookServices.Event'. Make sure to only "
        "use property names that are defined by the type or mark the type as open type.",
        code="RequestBodyRead",
    )
