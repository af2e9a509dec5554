"""Outlook calendar as ``SyncPage``s: a calendarView delta over the primary calendar, and the
mapping of Graph events to ``CalendarEventRecord``.

calendarView delta fixes its window (``startDateTime``/``endDateTime``) when a full round starts;
later rounds follow the deltaLink inside that window. Cadence's window runs from the first-sync
``since`` to 180 days ahead, and is renewed by a new full round every 30 days so meetings booked
further ahead come into view. The cursor is JSON ``{"link": <nextLink|deltaLink>, "renew_at": ISO}``.

Recurring meetings: calendarView delta lists each occurrence in the window with only ``id``,
``type``, ``seriesMasterId``, ``start`` and ``end``; subject, organiser, attendees, body and join
link are the series master's. The master is taken from the same round when it came in it (the docs
do not promise it does), else read once with ``GET /events/{seriesMasterId}`` and kept for the
round. Each occurrence is its own meeting on the timeline: its key is the master's ``iCalUId`` (the
same in every attendee's calendar) plus the occurrence's original start, like Google instances.
The master itself is no timeline row: its start and end are only the first occurrence's.
"""

# Reference: https://learn.microsoft.com/en-us/graph/api/event-delta
# Reference: https://learn.microsoft.com/en-us/graph/api/resources/event
# Reference: https://learn.microsoft.com/en-us/graph/delta-query-events ("occurrences and exceptions")
# Reference: https://github.com/microsoftgraph/microsoft-graph-docs-contrib/issues/34 (bare occurrences)

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from django.utils import timezone

from integrations.exceptions import ProviderError
from integrations.microsoft.client import GraphClient
from integrations.microsoft.fetch import delta
from integrations.microsoft.fetch.convert import (
    address,
    body_text,
    iso_z,
    parse_date_time_zone,
    parse_datetime,
)
from integrations.records import Address, Attendee, CalendarEventRecord, Deletion, Record, SyncPage

logger = logging.getLogger(__name__)

PAGE_SIZE = 100
WINDOW_AHEAD = dt.timedelta(days=180)
RENEW_AFTER = dt.timedelta(days=30)
HEADERS = {"Prefer": f'odata.maxpagesize={PAGE_SIZE}, outlook.timezone="UTC"'}
PRIVATE_SENSITIVITY = frozenset({"private", "confidential"})
RESPONSES = {
    "accepted": "accepted",
    "organizer": "accepted",
    "declined": "declined",
    "tentativelyaccepted": "tentative",
    "none": "needsAction",
    "notresponded": "needsAction",
}
# What an occurrence never takes from its series master.
OWN_KEYS = frozenset({"id", "type", "seriesMasterId", "recurrence", "start", "end", "iCalUId", "uid", "webLink",
                      "originalStart", "changeKey", "@odata.etag", "@odata.type"})  # fmt: skip


class SeriesMasters:
    """The series masters one sync round needs: those the round brought, else read once each."""

    def __init__(self, client: GraphClient) -> None:
        self.client = client
        self.known: dict[str, dict[str, Any] | None] = {}

    def remember(self, items: list[dict[str, Any]]) -> None:
        for item in items:
            if item.get("type") == "seriesMaster" and item.get("id") and "@removed" not in item:
                self.known[str(item["id"])] = item

    def get(self, master_id: str) -> dict[str, Any] | None:
        if master_id not in self.known:
            # Reference: https://learn.microsoft.com/en-us/graph/api/event-get
            try:
                body = self.client.event(master_id, headers={"Prefer": 'outlook.timezone="UTC"'})
            except ProviderError as exc:
                if getattr(exc, "status", None) != 404:
                    raise
                # The series went after this round listed it: its occurrences come back @removed.
                logger.info("microsoft.calendar.series_master_missing",
                            extra={"connection_id": self.client.connection.pk})  # fmt: skip
                body = None
            self.known[master_id] = body if isinstance(body, dict) else None
        return self.known[master_id]


def initial_url(client: GraphClient, *, start: dt.datetime, end: dt.datetime) -> str:
    query = f"startDateTime={quote(iso_z(start), safe=':')}&endDateTime={quote(iso_z(end), safe=':')}"
    return client.calendar_view_delta_url(query)


def parse_cursor(cursor: str) -> dict[str, str]:
    state = delta.load_cursor(cursor, what="calendar", valid=lambda state: bool(state.get("link")))
    return {"link": str(state["link"]), "renew_at": str(state.get("renew_at") or "")} if state else {}


def fetch(client: GraphClient, *, cursor: str, since: dt.datetime) -> Iterator[SyncPage]:
    state = parse_cursor(cursor)
    now = timezone.now()
    renew_at = parse_datetime(state.get("renew_at"))
    if not state or (renew_at is not None and renew_at <= now and delta.is_delta_link(state["link"])):
        state = {
            "link": initial_url(client, start=since, end=now + WINDOW_AHEAD),
            "renew_at": (now + RENEW_AFTER).isoformat(),
        }
    spent = client.requests_made
    masters = SeriesMasters(client)
    for page in delta.rounds(client, {"calendar": state["link"]}, headers=HEADERS):
        state["link"] = page.link
        masters.remember(page.items)
        records = [
            event_record(item, master=masters.get(str(item["seriesMasterId"])) if _in_series(item) else None)
            for item in page.items
        ]
        yield SyncPage(
            records=[r for r in records if r is not None],
            cursor=json.dumps(state, sort_keys=True),
            full_resync=page.initial,
            api_calls=client.requests_made - spent,
        )
        spent = client.requests_made


def _in_series(item: dict[str, Any]) -> bool:
    return "@removed" not in item and bool(item.get("seriesMasterId")) and item.get("type") != "seriesMaster"


def event_record(item: dict[str, Any], *, master: dict[str, Any] | None = None) -> Record | None:
    """A Graph event (or its ``@removed`` marker) as a record; None when it cannot be placed in time,
    for a series master, and for an occurrence whose master is gone. An occurrence or exception
    takes what it lacks from its series ``master``."""
    if "@removed" in item:
        return Deletion(kind="calendar", external_id=str(item.get("id") or ""))
    if item.get("type") == "seriesMaster":
        return None
    ical_uid = str(item.get("iCalUId") or "")
    if _in_series(item):
        if master is None:
            return None
        item = {**{k: v for k, v in master.items() if k not in OWN_KEYS}, **item}
        original = parse_datetime(item.get("originalStart")) or parse_date_time_zone(item.get("start"))
        series_uid = str(master.get("iCalUId") or "")
        ical_uid = f"{series_uid}#{iso_z(original)}" if series_uid and original else ""
    start = parse_date_time_zone(item.get("start"))
    end = parse_date_time_zone(item.get("end")) or start
    if start is None or end is None:
        return None
    organizer = address(item.get("organizer"))
    attendees = tuple(_attendee(a, organizer) for a in item.get("attendees") or () if isinstance(a, dict))
    online = item.get("onlineMeeting") if isinstance(item.get("onlineMeeting"), dict) else {}
    location = item.get("location") if isinstance(item.get("location"), dict) else {}
    return CalendarEventRecord(
        external_id=str(item.get("id") or ""),
        ical_uid=ical_uid,
        subject=str(item.get("subject") or ""),
        start=start,
        end=end,
        organizer=organizer,
        attendees=tuple(a for a in attendees if a.email),
        all_day=bool(item.get("isAllDay")),
        location=str(location.get("displayName") or ""),
        description=body_text(item.get("body")) or str(item.get("bodyPreview") or ""),
        conference_url=str(online.get("joinUrl") or item.get("onlineMeetingUrl") or ""),
        is_private=str(item.get("sensitivity") or "").lower() in PRIVATE_SENSITIVITY,
        cancelled=bool(item.get("isCancelled")),
        web_link=str(item.get("webLink") or ""),
        updated_at=parse_datetime(item.get("lastModifiedDateTime")),
    )


def _attendee(item: dict[str, Any], organizer: Address) -> Attendee:
    who = address(item)
    status = item.get("status") if isinstance(item.get("status"), dict) else {}
    response = str(status.get("response") or "").lower()
    return Attendee(
        email=who.email,
        name=who.name,
        response=RESPONSES.get(response, ""),
        is_organizer=bool(who.email) and (who.email == organizer.email or response == "organizer"),
        is_resource=str(item.get("type") or "").lower() == "resource",
    )
