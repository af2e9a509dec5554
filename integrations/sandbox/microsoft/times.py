"""Date/time formats Graph uses: ``2026-11-21T10:00:00Z`` on messages and directory objects,
``{"dateTime": "2026-11-21T10:00:00.0000000", "timeZone": "UTC"}`` on events and settings."""

from __future__ import annotations

import datetime as dt
from typing import Any

# Reference: https://learn.microsoft.com/en-us/graph/api/resources/datetimetimezone


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def iso_z(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def date_time_zone(when: dt.datetime) -> dict[str, str]:
    return {"dateTime": when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": "UTC"}


def parse(value: Any) -> dt.datetime | None:
    """An ISO-8601 string (``Z``, offset, or none = UTC; up to 7 fractional digits), or None."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().strip("'")
    if text.endswith("Z") or text.endswith("z"):
        text = text[:-1] + "+00:00"
    head, dot, rest = text.partition(".")
    if dot:  # Python accepts at most 6 fractional digits; Graph sends 7
        digits = "".join(ch for ch in rest if ch.isdigit())
        text = f"{head}.{digits[:6]}{rest[len(digits) :]}"
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def parse_date_time_zone(value: Any) -> dt.datetime | None:
    """A ``dateTimeTimeZone`` object (only UTC and IANA zone names are understood)."""
    if not isinstance(value, dict):
        return None
    when = parse(value.get("dateTime"))
    if when is None:
        return None
    zone = str(value.get("timeZone") or "UTC")
    if zone.upper() in ("UTC", "GMT", "COORDINATED UNIVERSAL TIME"):
        return when
    try:
        from zoneinfo import ZoneInfo

        return when.replace(tzinfo=ZoneInfo(zone)).astimezone(dt.UTC)
    except (KeyError, ValueError):
        return when
