"""A user's Google calendars: the primary one (id = the user's email) with its events, and the
change counters Calendar's sync tokens are built from.

Every write stamps the event with the calendar's next sequence number; a sync token remembers the
number it was issued at, so an incremental ``events.list`` returns what changed after it,
cancelled events included. Bumping ``epoch`` invalidates every token (410 fullSyncRequired).
"""

# Reference: https://developers.google.com/workspace/calendar/api/guides/sync

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from integrations.sandbox.google.clock import Clock, rfc3339

BASE32HEX = "0123456789abcdefghijklmnopqrstuv"
DEFAULT_TIME_ZONE = "UTC"


def new_event_id() -> str:
    return "".join(secrets.choice(BASE32HEX) for _ in range(26))


def valid_event_id(value: str) -> bool:
    return 5 <= len(value) <= 1024 and all(ch in BASE32HEX for ch in value)


@dataclass
class EventMeta:
    seq: int
    ordinal: int
    updated: float


@dataclass
class Calendar:
    id: str
    summary: str
    time_zone: str = DEFAULT_TIME_ZONE
    primary: bool = False
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    meta: dict[str, EventMeta] = field(default_factory=dict)
    seq: int = 0
    epoch: int = 0
    _ordinals: int = 0

    def put(self, event: dict[str, Any], now: float) -> dict[str, Any]:
        """Store ``event`` (new or changed) as of ``now``: updated, etag and sync position move."""
        self.seq += 1
        existing = self.meta.get(event["id"])
        if existing is None:
            self._ordinals += 1
            event.setdefault("created", rfc3339(now))
            existing = self.meta[event["id"]] = EventMeta(self.seq, self._ordinals, now)
        existing.seq, existing.updated = self.seq, now
        event["updated"] = rfc3339(now)
        event["etag"] = f'"{int(now * 1000)}{self.seq:04d}"'
        self.events[event["id"]] = event
        return event

    def entry(self) -> dict[str, Any]:
        """The calendarList entry of this calendar for its owner."""
        entry: dict[str, Any] = {
            "kind": "calendar#calendarListEntry",
            "etag": f'"{self.epoch}{self.seq:06d}"',
            "id": self.id,
            "summary": self.summary,
            "timeZone": self.time_zone,
            "colorId": "14",
            "backgroundColor": "#9fe1e7",
            "foregroundColor": "#000000",
            "selected": True,
            "accessRole": "owner",
            "defaultReminders": [{"method": "popup", "minutes": 10}],
            "conferenceProperties": {"allowedConferenceSolutionTypes": ["hangoutsMeet"]},
        }
        if self.primary:
            entry["primary"] = True
            entry["notificationSettings"] = {"notifications": [{"type": "eventCreation", "method": "email"}]}
        return entry


class CalendarBook:
    """Everything Calendar holds for one user: their calendars and the calendarList."""

    def __init__(self, email: str, *, owner_name: str, clock: Clock) -> None:
        self.email = email
        self.clock = clock
        self.calendars: dict[str, Calendar] = {email: Calendar(email, email, primary=True)}
        self.owner_name = owner_name
        self.list_epoch = 0

    @property
    def primary(self) -> Calendar:
        return self.calendars[self.email]

    def calendar(self, calendar_id: str) -> Calendar | None:
        if calendar_id == "primary":
            return self.primary
        return self.calendars.get(calendar_id.lower()) or self.calendars.get(calendar_id)
