"""Calendar events as Google stores them: building an event from a request body (attendees,
organizer, Meet conferences with ``conferenceDataVersion=1``), and keeping the copies in sandbox
attendees' calendars in step with the organiser's.
"""

# Reference: https://developers.google.com/workspace/calendar/api/v3/reference/events
# Reference: https://developers.google.com/workspace/calendar/api/guides/create-events#conferencing

from __future__ import annotations

import datetime as dt
import secrets
import string
from typing import Any

from integrations.sandbox.google.calendars import Calendar
from integrations.sandbox.google.errors import bad_request
from integrations.sandbox.google.store import GoogleStore

EDITABLE = (
    "summary",
    "description",
    "location",
    "start",
    "end",
    "attendees",
    "visibility",
    "transparency",
    "recurrence",
    "reminders",
    "extendedProperties",
    "colorId",
    "status",
    "guestsCanModify",
    "guestsCanInviteOthers",
    "guestsCanSeeOtherGuests",
    "source",
    "attachments",
    "eventType",
)


def event_times(event: dict[str, Any]) -> tuple[float, float]:
    def when(part: dict[str, Any] | None) -> float:
        part = part or {}
        if part.get("dateTime"):
            return dt.datetime.fromisoformat(str(part["dateTime"]).replace("Z", "+00:00")).timestamp()
        if part.get("date"):
            return dt.datetime.fromisoformat(str(part["date"])).replace(tzinfo=dt.UTC).timestamp()
        return 0.0

    return when(event.get("start")), when(event.get("end"))


def meet_conference(request_id: str) -> dict[str, Any]:
    letters = string.ascii_lowercase
    code = "-".join("".join(secrets.choice(letters) for _ in range(n)) for n in (3, 4, 3))
    pin = "".join(secrets.choice(string.digits) for _ in range(9))
    return {
        "createRequest": {
            "requestId": request_id,
            "conferenceSolutionKey": {"type": "hangoutsMeet"},
            "status": {"statusCode": "success"},
        },
        "entryPoints": [
            {
                "entryPointType": "video",
                "uri": f"https://meet.google.com/{code}",
                "label": f"meet.google.com/{code}",
            },
            {"entryPointType": "more", "uri": f"https://tel.meet/{code}?pin={pin}", "pin": pin},
        ],
        "conferenceSolution": {
            "key": {"type": "hangoutsMeet"},
            "name": "Google Meet",
            "iconUri": "https://fonts.gstatic.com/s/i/productlogos/meet_2020q4/v6/web-512dp/logo_meet_2020q4_color_2x_web_512dp.png",
        },
        "conferenceId": code,
    }


def apply_conference(event: dict[str, Any], requested: Any, version: int) -> None:
    """conferenceData is only read with conferenceDataVersion=1; a hangoutsMeet createRequest
    makes a Meet conference and sets ``hangoutLink``."""
    if version != 1 or not isinstance(requested, dict):
        return
    create = requested.get("createRequest")
    if isinstance(create, dict):
        kind = (create.get("conferenceSolutionKey") or {}).get("type")
        if kind != "hangoutsMeet":
            raise bad_request("Invalid conference type value.", reason="invalid")
        event["conferenceData"] = meet_conference(str(create.get("requestId") or secrets.token_hex(8)))
    else:
        event["conferenceData"] = requested
    video = next(
        (p for p in event["conferenceData"].get("entryPoints", []) if p.get("entryPointType") == "video"),
        None,
    )
    if video and "meet.google.com" in video.get("uri", ""):
        event["hangoutLink"] = video["uri"]


def check_times(event: dict[str, Any]) -> None:
    for part in ("start", "end"):
        value = event.get(part)
        if not isinstance(value, dict) or not (value.get("dateTime") or value.get("date")):
            raise bad_request(f"Missing {part} time.", reason="required")
    try:
        start, end = event_times(event)
    except ValueError as exc:
        raise bad_request("Invalid time value.", reason="invalid") from exc
    if end < start:
        raise bad_request("The specified time range is empty.", reason="timeRangeEmpty")


def normalise_attendees(event: dict[str, Any], owner: str, organizer: str) -> None:
    attendees = event.get("attendees")
    if not isinstance(attendees, list):
        event.pop("attendees", None)
        return
    for attendee in attendees:
        address = str(attendee.get("email", "")).lower()
        attendee["email"] = address
        attendee.setdefault("responseStatus", "accepted" if address == organizer else "needsAction")
        if address == organizer:
            attendee["organizer"] = True
        else:
            attendee.pop("organizer", None)
        if address == owner:
            attendee["self"] = True
        else:
            attendee.pop("self", None)


def build_event(
    calendar: Calendar,
    body: dict[str, Any],
    *,
    event_id: str,
    version: int,
    organizer: tuple[str, str],
) -> dict[str, Any]:
    owner = calendar.id
    event: dict[str, Any] = {
        "kind": "calendar#event",
        "id": event_id,
        "status": body.get("status") if body.get("status") in ("confirmed", "tentative") else "confirmed",
        "htmlLink": f"https://www.google.com/calendar/event?eid={event_id}",
    }
    for field in EDITABLE:
        if field in body and field != "status":
            event[field] = body[field]
    if event.get("visibility") == "default":
        del event["visibility"]
    event["creator"] = {"email": organizer[0], **({"self": True} if organizer[0] == owner else {})}
    event["organizer"] = {
        "email": organizer[0],
        "displayName": organizer[1],
        **({"self": True} if organizer[0] == owner else {}),
    }
    event["iCalUID"] = str(body.get("iCalUID") or f"{event_id}@google.com")
    event["sequence"] = int(body.get("sequence") or 0)
    event.setdefault("reminders", {"useDefault": True})
    event.setdefault("eventType", "default")
    normalise_attendees(event, owner, organizer[0])
    apply_conference(event, body.get("conferenceData"), version)
    return event


def copy_to_attendees(store: GoogleStore, event: dict[str, Any]) -> None:
    """Keep the copies in sandbox attendees' primary calendars in step with the organiser's."""
    organizer = event.get("organizer", {}).get("email", "")
    for attendee in event.get("attendees", []):
        address = attendee.get("email", "")
        if address == organizer or store.user(address) is None:
            continue
        calendar = store.calendar_book(address).primary
        existing = calendar.events.get(event["id"])
        if existing is None and event.get("status") == "cancelled":
            continue
        copy = {
            key: value for key, value in event.items() if key not in ("creator", "organizer", "attendees")
        }
        copy["creator"] = {k: v for k, v in event.get("creator", {}).items() if k != "self"}
        copy["organizer"] = {k: v for k, v in event.get("organizer", {}).items() if k != "self"}
        copy["attendees"] = [dict(a) for a in event.get("attendees", [])]
        normalise_attendees(copy, address, organizer)
        if existing is not None:
            mine = next((a for a in existing.get("attendees", []) if a.get("email") == address), None)
            for attendee_copy in copy["attendees"]:
                if mine and attendee_copy["email"] == address:
                    attendee_copy["responseStatus"] = mine.get("responseStatus", "needsAction")
        calendar.put(copy, store.clock.now())
