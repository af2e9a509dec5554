"""Recurring Outlook meetings: a ``seriesMaster`` event holds a ``patternedRecurrence``; its
occurrences are not stored but expanded when a calendar view asks for them, as Exchange does.

- An occurrence's ``id`` names its master and its original start (opaque to clients, reversible
  here), so the same occurrence keeps its id from one request to the next.
- A cancelled occurrence (DELETE on its id) is remembered on the master (``_cancelled``); an
  occurrence changed on its own (PATCH on its id) becomes an ``exception`` stored under the same id,
  with ``seriesMasterId`` and ``originalStart``, and the expansion leaves that date to it.
- Times are expanded in UTC; ``range.recurrenceTimeZone`` is kept but not applied (the sandbox's
  mailboxes all work in UTC).

The pattern/range semantics map onto RFC 5545 rules, evaluated by python-dateutil (as the Google
sandbox's ``recurrence`` does for RRULE lines).
"""

# Reference: https://learn.microsoft.com/en-us/graph/api/resources/patternedrecurrence
# Reference: https://learn.microsoft.com/en-us/graph/api/resources/recurrencepattern
# Reference: https://learn.microsoft.com/en-us/graph/api/resources/recurrencerange
# Reference: https://learn.microsoft.com/en-us/graph/outlook-schedule-recurring-events

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Iterator
from typing import Any

from dateutil import rrule

from integrations.sandbox.microsoft.items import event_web_link
from integrations.sandbox.microsoft.times import date_time_zone, iso_z

MAX_OCCURRENCES = 730  # a "noEnd" series stops somewhere; so does Exchange's expansion
ID_PREFIX = "AAMkAGOcc"
GLOBAL_OBJECT_CLASS = "040000008200E00074C5B7101A82E008"  # Exchange's GlobalObjectId class id
PATTERN_TYPES = (
    "daily", "weekly", "absoluteMonthly", "relativeMonthly", "absoluteYearly", "relativeYearly",
)  # fmt: skip
RANGE_TYPES = ("endDate", "noEnd", "numbered")
DAYS = {"monday": rrule.MO, "tuesday": rrule.TU, "wednesday": rrule.WE, "thursday": rrule.TH,
        "friday": rrule.FR, "saturday": rrule.SA, "sunday": rrule.SU}  # fmt: skip
INDEXES = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}


def is_master(event: dict[str, Any]) -> bool:
    return event.get("type") == "seriesMaster" and bool(event.get("recurrence"))


def normalized(value: Any, start: dt.datetime) -> dict[str, Any] | str:
    """A ``patternedRecurrence`` as Graph stores it, or what is wrong with it (Graph's 400)."""
    if not isinstance(value, dict) or not isinstance(value.get("pattern"), dict):
        return "The recurrence needs a pattern and a range."
    pattern, span = dict(value["pattern"]), dict(value.get("range") or {})
    if pattern.get("type") not in PATTERN_TYPES:
        return f"The recurrence pattern type must be one of {', '.join(PATTERN_TYPES)}."
    days = [str(d).lower() for d in pattern.get("daysOfWeek") or []]
    if any(d not in DAYS for d in days):
        return "The recurrence pattern has an unknown day of the week."
    if pattern["type"] in ("weekly", "relativeMonthly", "relativeYearly") and not days:
        return f"A {pattern['type']} recurrence pattern needs daysOfWeek."
    if int(pattern.get("interval") or 0) < 1:
        return "The recurrence pattern's interval must be 1 or more."
    span.setdefault("type", "noEnd")
    span.setdefault("startDate", start.date().isoformat())
    if span["type"] not in RANGE_TYPES:
        return f"The recurrence range type must be one of {', '.join(RANGE_TYPES)}."
    if span["type"] == "endDate" and not span.get("endDate"):
        return "An endDate recurrence range needs an endDate."
    if span["type"] == "numbered" and int(span.get("numberOfOccurrences") or 0) < 1:
        return "A numbered recurrence range needs numberOfOccurrences of 1 or more."
    pattern.update(
        daysOfWeek=days,
        interval=int(pattern["interval"]),
        month=int(pattern.get("month") or 0),
        dayOfMonth=int(pattern.get("dayOfMonth") or 0),
        firstDayOfWeek=str(pattern.get("firstDayOfWeek") or "sunday").lower(),
        index=str(pattern.get("index") or "first"),
    )
    span.update(
        endDate=span.get("endDate") or "0001-01-01",
        numberOfOccurrences=int(span.get("numberOfOccurrences") or 0),
        recurrenceTimeZone=span.get("recurrenceTimeZone") or "UTC",
    )
    return {"pattern": pattern, "range": span}


def _rule(master: dict[str, Any]) -> rrule.rrule:
    pattern, span = master["recurrence"]["pattern"], master["recurrence"]["range"]
    first = dt.datetime.fromtimestamp(master["_start"], dt.UTC)
    start_date = dt.date.fromisoformat(span["startDate"])
    dtstart = first.replace(year=start_date.year, month=start_date.month, day=start_date.day)
    days = [DAYS[d] for d in pattern["daysOfWeek"]]
    kind = pattern["type"]
    options: dict[str, Any] = {"interval": pattern["interval"], "dtstart": dtstart,
                               "wkst": DAYS[pattern["firstDayOfWeek"]]}  # fmt: skip
    if kind == "daily":
        freq = rrule.DAILY
    elif kind == "weekly":
        freq, options["byweekday"] = rrule.WEEKLY, days
    elif kind == "absoluteMonthly":
        freq, options["bymonthday"] = rrule.MONTHLY, pattern["dayOfMonth"] or dtstart.day
    elif kind == "relativeMonthly":
        freq, options["byweekday"], options["bysetpos"] = rrule.MONTHLY, days, INDEXES[pattern["index"]]
    elif kind == "absoluteYearly":
        freq = rrule.YEARLY
        options.update(
            bymonth=pattern["month"] or dtstart.month, bymonthday=pattern["dayOfMonth"] or dtstart.day
        )
    else:  # relativeYearly
        freq = rrule.YEARLY
        options.update(
            bymonth=pattern["month"] or dtstart.month, byweekday=days, bysetpos=INDEXES[pattern["index"]]
        )
    if span["type"] == "numbered":
        options["count"] = min(span["numberOfOccurrences"], MAX_OCCURRENCES)
    elif span["type"] == "endDate":  # the end date is inclusive
        options["until"] = dt.datetime.combine(dt.date.fromisoformat(span["endDate"]), dt.time.max, dt.UTC)
    return rrule.rrule(freq, **options)


def original_starts(master: dict[str, Any]) -> Iterator[dt.datetime]:
    """Every scheduled start of the series (cancelled ones included), at most MAX_OCCURRENCES."""
    for n, when in enumerate(_rule(master)):
        if n >= MAX_OCCURRENCES:
            return
        yield when


def occurrence_id(master_id: str, original_start: dt.datetime) -> str:
    raw = f"{master_id}|{iso_z(original_start)}".encode()
    return ID_PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def parse_occurrence_id(occurrence: str) -> tuple[str, dt.datetime] | None:
    """(master id, original start) of an occurrence id, or None for any other id."""
    if not occurrence.startswith(ID_PREFIX):
        return None
    encoded = occurrence[len(ID_PREFIX) :]
    try:
        master_id, _, when = (
            base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode().partition("|")
        )
        return master_id, dt.datetime.fromisoformat(when.replace("Z", "+00:00"))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def occurrence_ids(master: dict[str, Any]) -> list[str]:
    """Every occurrence id of the series (what a change to the master touches)."""
    return [occurrence_id(master["id"], when) for when in original_starts(master)]


def occurrences(
    master: dict[str, Any], start: float, end: float, stored: dict[str, dict[str, Any]]
) -> list[tuple[str, dt.datetime]]:
    """(id, original start) of the occurrences overlapping [start, end): not cancelled, and not
    changed into an exception (``stored`` holds those under the occurrence's id)."""
    duration = master["_end"] - master["_start"]
    found = []
    for when in original_starts(master):
        begins = when.timestamp()
        if begins >= end:
            break
        if begins + duration <= start or iso_z(when) in master.get("_cancelled", ()):
            continue
        occurrence = occurrence_id(master["id"], when)
        if occurrence not in stored:
            found.append((occurrence, when))
    return found


def scheduled(master: dict[str, Any], when: dt.datetime) -> bool:
    """Whether the series schedules an occurrence at ``when`` (and it was not cancelled)."""
    return iso_z(when) not in master.get("_cancelled", ()) and any(w == when for w in original_starts(master))


def occurrence_uid(master_uid: str, when: dt.datetime) -> str:
    """An occurrence's iCalUId: unlike the master's, it differs per occurrence (Graph's event
    resource says so). Exchange's GlobalObjectId carries the instance date in bytes 16-19."""
    if master_uid.upper().startswith(GLOBAL_OBJECT_CLASS) and len(master_uid) >= 40:
        return f"{master_uid[:32]}{when.year:04X}{when.month:02X}{when.day:02X}{master_uid[40:]}"
    return master_uid


def stub(master: dict[str, Any], occurrence: str, when: dt.datetime) -> dict[str, Any]:
    """An occurrence as calendarView delta sends it: only id, type, seriesMasterId, start and end.

    Reference: https://github.com/microsoftgraph/microsoft-graph-docs-contrib/issues/34 (and
    microsoft-graph-docs issues 1716, 7632): the docs do not describe this; it is what Graph sends.
    """
    ends = when + dt.timedelta(seconds=master["_end"] - master["_start"])
    return {
        "@odata.etag": master.get("@odata.etag"),
        "id": occurrence,
        "seriesMasterId": master["id"],
        "type": "occurrence",
        "start": date_time_zone(when),
        "end": date_time_zone(ends),
        "_start": when.timestamp(),
        "_end": ends.timestamp(),
    }


def full(master: dict[str, Any], occurrence: str, when: dt.datetime) -> dict[str, Any]:
    """An occurrence with every property, as calendarView and GET /events/{id} return it."""
    item = {k: v for k, v in master.items() if k not in ("recurrence", "_cancelled")}
    item.update(stub(master, occurrence, when))
    item.update(
        iCalUId=occurrence_uid(str(master.get("iCalUId") or ""), when),
        originalStart=iso_z(when),
        webLink=event_web_link(occurrence),
    )
    return item
