"""Recurring events expanded into instances, as ``events.list`` does with ``singleEvents=true``.

Each instance is the series' event with its own ``id`` (``<seriesId>_<YYYYMMDDTHHMMSSZ>``, or
``_<YYYYMMDD>`` for all-day series), ``recurringEventId`` (the series id), ``originalStartTime``
(when it was scheduled by the rule) and shifted ``start``/``end``; no ``recurrence``. An EXDATE is a
deleted instance: a cancelled exception, listed only where deleted events are (``showDeleted``,
incremental sync). RRULE / EXDATE / RDATE lines are RFC 5545, evaluated by python-dateutil.
"""

# Reference: https://developers.google.com/workspace/calendar/api/v3/reference/events/list (singleEvents)
# Reference: https://developers.google.com/workspace/calendar/api/guides/recurringevents
# Reference: https://www.rfc-editor.org/rfc/rfc5545#section-3.8.5

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil import rrule

from integrations.sandbox.google.errors import bad_request

MAX_INSTANCES = 730  # an open-ended series stops somewhere; Google's own expansion is bounded too


def _start(event: dict[str, Any]) -> tuple[dt.datetime, bool]:
    part = event.get("start") or {}
    if part.get("date"):
        return dt.datetime.fromisoformat(str(part["date"])), True
    when = dt.datetime.fromisoformat(str(part["dateTime"]).replace("Z", "+00:00"))
    try:
        zone = ZoneInfo(str(part["timeZone"])) if part.get("timeZone") else None
    except (ZoneInfoNotFoundError, ValueError):
        zone = None
    return (when.astimezone(zone) if zone else when), False


def _instance_id(series_id: str, start: dt.datetime, all_day: bool) -> str:
    if all_day:
        return f"{series_id}_{start:%Y%m%d}"
    return f"{series_id}_{start.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}"


def _part(when: dt.datetime, all_day: bool, zone: str | None) -> dict[str, Any]:
    if all_day:
        return {"date": when.date().isoformat()}
    part: dict[str, Any] = {"dateTime": when.isoformat()}
    if zone:
        part["timeZone"] = zone
    return part


def expand(event: dict[str, Any], *, until: dt.datetime) -> list[dict[str, Any]]:
    """The instances of a recurring ``event`` starting before ``until`` (the event itself when it
    does not recur)."""
    lines = [str(line) for line in event.get("recurrence") or ()]
    if not lines or event.get("status") == "cancelled":
        return [event]
    start, all_day = _start(event)
    end_part = event.get("end") or {}
    end = (
        dt.datetime.fromisoformat(str(end_part["date"]))
        if all_day
        else dt.datetime.fromisoformat(str(end_part["dateTime"]).replace("Z", "+00:00"))
    )
    duration = end - start
    scheduled = "\n".join(line for line in lines if not line.upper().startswith("EXDATE"))
    try:
        by_rule = rrule.rrulestr(scheduled, dtstart=start, forceset=True)
        kept = rrule.rrulestr("\n".join(lines), dtstart=start, forceset=True)
    except (ValueError, TypeError) as exc:
        raise bad_request(f"Invalid recurrence rule: {exc}", reason="invalid") from exc
    limit = until.replace(tzinfo=None) if all_day else until
    zone = (event.get("start") or {}).get("timeZone")
    series_id = str(event["id"])
    instances: list[dict[str, Any]] = []
    for when in by_rule:
        if when >= limit or len(instances) >= MAX_INSTANCES:
            break
        when = when if all_day else when.astimezone(start.tzinfo)
        original = _part(when, all_day, zone)
        if when not in kept:  # an EXDATE: the instance was deleted
            instances.append(
                {"kind": "calendar#event", "etag": event.get("etag", ""), "id": _instance_id(series_id, when, all_day),
                 "status": "cancelled", "recurringEventId": series_id, "originalStartTime": original}
            )  # fmt: skip
            continue
        instance = {k: v for k, v in event.items() if k != "recurrence"}
        instance.update(
            id=_instance_id(series_id, when, all_day),
            recurringEventId=series_id,
            originalStartTime=original,
            start=original,
            end=_part(when + duration, all_day, zone),
        )
        instances.append(instance)
    return instances
