"""When may a Salesflow send? The seller's send window (A8, F4).

``next_send_moment`` is a pure function: given an aware instant and a seller's settings it returns
the earliest aware UTC instant at or after it that lies inside the seller's business hours, on a
working weekday that is not an excluded public holiday, reckoned in the seller's time zone.
``engage.services.profile.next_send_moment_for`` reads those settings from a user's profile.

Business hours are ``{"0".."6": ["HH:MM", "HH:MM"]}`` (0 = Monday); absent days are off. A window
is half-open: its start is inside, its end is not.

Local wall times are turned into instants with ``zoneinfo`` as follows:

- a wall time that does not exist (it falls in a spring-forward gap, e.g. 02:30 in New York on
  2026-03-08) becomes the first instant after the gap, i.e. the moment of the transition (03:00);
- an ambiguous wall time (it occurs twice when clocks fall back) means its first occurrence
  (``fold=0``), the earlier of the two instants.
"""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta

import holidays

# How far ahead to look before giving up (a year of holidays plus some slack).
SEARCH_DAYS = 400

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def parse_hhmm(value: str) -> time:
    """``"HH:MM"`` (24-hour clock) -> ``time``; anything else is a ``ValueError``."""
    if not isinstance(value, str) or len(value) != 5 or value[2] != ":":
        raise ValueError(f"Not a HH:MM time: {value!r}")
    hours, minutes = value[:2], value[3:]
    if not (hours.isdigit() and minutes.isdigit()):
        raise ValueError(f"Not a HH:MM time: {value!r}")
    return time(int(hours), int(minutes))  # raises ValueError when out of range


def parse_business_hours(business_hours: Mapping[str, Sequence[str]]) -> dict[int, tuple[time, time]]:
    """The stored JSON -> ``{weekday: (start, end)}``. Raises ``ValueError`` for a malformed entry,
    an end not after its start, or when no day is enabled."""
    windows: dict[int, tuple[time, time]] = {}
    for key, hours in business_hours.items():
        day = int(key)
        if not 0 <= day <= 6:
            raise ValueError(f"Not a weekday: {key!r}")
        if len(hours) != 2:
            raise ValueError(f"{WEEKDAYS[day]}: expected [start, end], got {hours!r}")
        start, end = parse_hhmm(hours[0]), parse_hhmm(hours[1])
        if end <= start:
            raise ValueError(f"{WEEKDAYS[day]}: the end must be after the start")
        windows[day] = (start, end)
    if not windows:
        raise ValueError("No working day is enabled in the business hours.")
    return windows


@functools.lru_cache(maxsize=256)
def holiday_dates(country: str, year: int) -> frozenset[date]:
    """Public holidays (including "observed" days) of ``country`` in ``year``."""
    try:
        calendar = holidays.country_holidays(country, years=[year])
    except NotImplementedError as exc:
        raise ValueError(f"No holiday calendar for country {country!r}") from exc
    return frozenset(calendar)


def local_to_utc(day: date, wall: time, zone: zoneinfo.ZoneInfo) -> datetime:
    """The UTC instant of wall time ``wall`` on ``day`` in ``zone`` (gap: the transition;
    ambiguity: the first occurrence)."""
    naive = datetime.combine(day, wall)
    first = naive.replace(tzinfo=zone, fold=0)
    instant = first.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == naive:
        return instant  # exists (fold=0 is the first occurrence when ambiguous)
    # In a gap fold=0 applies the offset from before the transition (a later instant) and fold=1
    # the offset after it (an earlier one); the transition lies between. Find the first instant
    # whose wall time is not before ``naive`` by bisection in whole seconds.
    low = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = instant
    if low > high:
        low, high = high, low
    while (high - low) > timedelta(seconds=1):
        middle = low + (high - low) / 2
        middle = middle.replace(microsecond=0)
        if middle.astimezone(zone).replace(tzinfo=None) >= naive:
            high = middle
        else:
            low = middle
    return high


def next_send_moment(
    at: datetime,
    *,
    business_hours: Mapping[str, Sequence[str]],
    time_zone: str,
    holiday_country: str = "",
    holidays_kept: Iterable[date] = (),
) -> datetime:
    """The earliest aware UTC instant >= ``at`` inside the business hours, on an enabled weekday
    that is not an excluded holiday of ``holiday_country`` (blank: none), in ``time_zone``.

    ``holidays_kept`` are holiday dates worked anyway. ``at`` inside a window is returned as is
    (in UTC); ``at`` exactly at a window's end moves on to the next window.

    Raises ``ValueError`` for a naive ``at``, an unknown time zone or country, malformed business
    hours, no enabled day, or when no window opens within ``SEARCH_DAYS`` days.
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("`at` must be an aware datetime.")
    try:
        zone = zoneinfo.ZoneInfo(time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ValueError(f"Unknown time zone {time_zone!r}") from exc
    windows = parse_business_hours(business_hours)
    kept = frozenset(holidays_kept)
    at_utc = at.astimezone(UTC)
    first_day = at_utc.astimezone(zone).date()
    for offset in range(SEARCH_DAYS + 1):
        day = first_day + timedelta(days=offset)
        if day.weekday() not in windows:
            continue
        if holiday_country and day not in kept and day in holiday_dates(holiday_country, day.year):
            continue
        start_wall, end_wall = windows[day.weekday()]
        start, end = local_to_utc(day, start_wall, zone), local_to_utc(day, end_wall, zone)
        if start < end and at_utc < end:
            return max(at_utc, start)
    raise ValueError(f"No send window within {SEARCH_DAYS} days of {at.isoformat()}.")


def kept_dates(values: Iterable[str]) -> list[date]:
    """ISO strings as stored in ``SellerProfile.holidays_kept`` -> dates (bad entries skipped)."""
    out = []
    for value in values:
        try:
            out.append(date.fromisoformat(value))
        except (TypeError, ValueError):
            continue
    return out
