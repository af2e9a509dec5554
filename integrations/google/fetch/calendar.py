"""Google Calendar → provider-neutral event records, one ``SyncPage`` at a time (B13, D2-D4).

The primary calendar, recurring events expanded (``singleEvents``). Full sync: everything from
``since`` (``timeMin``), page by page (cursor ``{"p": <page token>, "t": <timeMin>}``), the last
page giving ``nextSyncToken`` (cursor ``{"s": …}``). Incremental: ``syncToken`` (cursor while paging:
``{"s": …, "p": …}``); a token Google no longer accepts (410) → ``CursorExpired``.

Reference: https://developers.google.com/workspace/calendar/api/guides/sync
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from integrations.google.client import GoogleClient
from integrations.google.fetch.cursor import decode as cursor_fields
from integrations.google.fetch.cursor import sync_token_pages
from integrations.google.fetch.gmail import html_to_text
from integrations.records import Address, Attendee, CalendarEventRecord, Deletion, Record, SyncPage

PRIVATE_VISIBILITY = frozenset({"private", "confidential"})


def fetch(client: GoogleClient, *, cursor: str, since: dt.datetime) -> Iterator[SyncPage]:
    state = cursor_fields(cursor)
    sync_token = str(state.get("s") or "")
    page_token = str(state.get("p") or "")
    time_min = "" if sync_token else str(state.get("t") or _rfc3339(since))
    yield from sync_token_pages(
        client,
        list_page=lambda token: client.calendar_events_list(
            sync_token=sync_token, page_token=token, time_min=time_min
        ),
        records_of=lambda page: [
            r for r in (event_record(item) for item in page.get("items") or []) if r is not None
        ],
        sync_token=sync_token,
        page_token=page_token,
        t=time_min,
    )


def _instance_uid(event: dict[str, Any]) -> str:
    """The team-wide key of this meeting. Google gives every instance of a recurring event the
    series' iCalUID (unlike Graph, whose occurrences each have their own), so an instance adds its
    original start time: each weekly call is its own meeting on the timeline."""
    uid = str(event.get("iCalUID") or "")
    original = event.get("originalStartTime") or {}
    when = original.get("dateTime") or original.get("date")
    if uid and event.get("recurringEventId") and when:
        return f"{uid}#{when}"
    return uid


# Reference: https://developers.google.com/workspace/calendar/api/v3/reference/events#resource
def event_record(event: dict[str, Any]) -> Record | None:
    event_id = str(event.get("id") or "")
    if not event_id:
        return None
    cancelled = event.get("status") == "cancelled"
    start, all_day = _when(event.get("start"))
    end, _ = _when(event.get("end"))
    if start is None:
        # Incremental sync reports a deleted event with little more than its id.
        return Deletion(kind="calendar", external_id=event_id) if cancelled else None
    organizer = event.get("organizer") or {}
    return CalendarEventRecord(
        external_id=event_id,
        ical_uid=_instance_uid(event),
        subject=str(event.get("summary") or ""),
        start=start,
        end=end or start,
        organizer=Address(
            email=str(organizer.get("email") or "").lower(), name=str(organizer.get("displayName") or "")
        ),
        attendees=tuple(
            Attendee(
                email=str(a.get("email") or "").lower(),
                name=str(a.get("displayName") or ""),
                response=str(a.get("responseStatus") or ""),
                is_organizer=bool(a.get("organizer")),
                is_resource=bool(a.get("resource")),
            )
            for a in event.get("attendees") or []
            if a.get("email")
        ),
        all_day=all_day,
        location=str(event.get("location") or ""),
        description=html_to_text(str(event.get("description") or "")),
        conference_url=conference_url(event),
        is_private=event.get("visibility") in PRIVATE_VISIBILITY,
        cancelled=cancelled,
        web_link=str(event.get("htmlLink") or ""),
        updated_at=_parse(event.get("updated")),
    )


def conference_url(event: dict[str, Any]) -> str:
    """The event's own join link: Google Meet's ``hangoutLink``, else the conference's video entry."""
    if event.get("hangoutLink"):
        return str(event["hangoutLink"])
    for entry in (event.get("conferenceData") or {}).get("entryPoints") or []:
        if entry.get("entryPointType") == "video" and entry.get("uri"):
            return str(entry["uri"])
    return ""


def _when(value: dict[str, Any] | None) -> tuple[dt.datetime | None, bool]:
    if not value:
        return None, False
    if value.get("dateTime"):
        return _parse(value["dateTime"]), False
    if value.get("date"):
        try:
            day = dt.date.fromisoformat(str(value["date"]))
        except ValueError:
            return None, False
        return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC), True
    return None, False


def _parse(value: Any) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _rfc3339(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
