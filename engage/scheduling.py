"""When may a Salesflow send? The seller's send window (A8, F4), the recipient's business day
(issue 13), and the caps and spreading of a mailbox's sends. Everything here is pure: no ORM.

``next_send_moment`` is a pure function: given an aware instant and a seller's settings it returns
the earliest aware UTC instant at or after it that lies inside the seller's business hours, on a
working weekday that is not an excluded public holiday nor a day of the seller's time off, reckoned
in the seller's time zone. When the recipient's time zone or country is known the instant must also
lie inside the recipient's business day (``RECIPIENT_BUSINESS_HOURS`` in their zone) and not on a
public holiday of their country: the answer is the earliest instant in the intersection.
``engage.services.profile.next_send_moment_for`` reads the seller's settings from a user's profile.

``place_send`` then gives a send its instant among the mailbox's other sends: caps per mailbox per
day and per hour and per recipient domain per day, and a gap with jitter between a mailbox's sends.
A send over a cap rolls on to the next hour or day that is inside the windows; it is never dropped.

Business hours are ``{"0".."6": ["HH:MM", "HH:MM"]}`` (0 = Monday); absent days are off. A window
is half-open: its start is inside, its end is not.

Local wall times are turned into instants with ``zoneinfo`` as follows, in the seller's zone and in
the recipient's alike:

- a wall time that does not exist (it falls in a spring-forward gap, e.g. 02:30 in New York on
  2026-03-08) becomes the first instant after the gap, i.e. the moment of the transition (03:00);
- an ambiguous wall time (it occurs twice when clocks fall back) means its first occurrence
  (``fold=0``), the earlier of the two instants.

So a day's window may be an hour shorter or longer in UTC on a transition day; days and clock hours
for the caps are the seller's local ones, with the same two rules for where they start.
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import random
import zoneinfo
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from importlib import resources
from pathlib import Path
from types import MappingProxyType

import holidays

# How far ahead to look before giving up (a year of holidays plus some slack).
SEARCH_DAYS = 400

# The recipient's business day, in their time zone, when we know it: Monday to Friday, 08:00-18:00.
RECIPIENT_BUSINESS_HOURS: Mapping[str, Sequence[str]] = MappingProxyType(
    {str(day): ("08:00", "18:00") for day in range(5)}
)

# Caps and spreading of one mailbox's sends (defaults; admins may set others through ``SendCaps``).
MAILBOX_DAILY_CAP = 200
MAILBOX_HOURLY_CAP = 40
DOMAIN_DAILY_CAP = 20  # sends to one recipient domain per day, so one company is not flooded
SEND_GAP = timedelta(seconds=30)  # between two sends of one mailbox ...
SEND_GAP_JITTER = 0.5  # ... each gap drawn from SEND_GAP x [1 - jitter, 1 + jitter]

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


def zone_named(time_zone: str) -> zoneinfo.ZoneInfo:
    """``zoneinfo.ZoneInfo(time_zone)``, any failure a ``ValueError`` naming the zone."""
    try:
        return zoneinfo.ZoneInfo(time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ValueError(f"Unknown time zone {time_zone!r}") from exc


@functools.lru_cache(maxsize=1)
def _zone_tab() -> Mapping[str, tuple[str, ...]]:
    """IANA ``zone.tab``: ISO 3166 country code -> the zones it lists for that country, read from the
    same places ``zoneinfo`` reads zones from (the system's ``TZPATH``, then the ``tzdata`` package)."""
    text = ""
    for folder in zoneinfo.TZPATH:
        path = Path(folder) / "zone.tab"
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            break
    else:
        with contextlib.suppress(ModuleNotFoundError, FileNotFoundError):
            text = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text(encoding="utf-8")
    table: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) >= 3:
            table.setdefault(fields[0].upper(), []).append(fields[2])
    return MappingProxyType({country: tuple(zones) for country, zones in table.items()})


@functools.lru_cache(maxsize=512)
def country_time_zone(country: str, year: int) -> str:
    """The one civil time of ``country`` in ``year``, as a zone name, or ``""``.

    A country has one civil time when every zone ``zone.tab`` lists for it keeps the same UTC offset
    at every hour of ``year`` (Germany's Europe/Busingen keeps Berlin's time, so Germany is
    Europe/Berlin; Japan is Asia/Tokyo). The United States, Spain (the Canaries), China (Urumqi) or
    an unknown code have no one zone: ``""``."""
    zones = _zone_tab().get(country.strip().upper(), ())
    if not zones:
        return ""
    if len(zones) == 1:
        return zones[0]
    try:
        first, *others = (zoneinfo.ZoneInfo(name) for name in zones)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return ""
    instant = datetime(year, 1, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC)
    while instant < end:
        offset = instant.astimezone(first).utcoffset()
        if any(instant.astimezone(zone).utcoffset() != offset for zone in others):
            return ""
        instant += timedelta(hours=1)
    return zones[0]


@functools.lru_cache(maxsize=256)
def _recipient_holiday_dates(country: str, year: int) -> frozenset[date]:
    """A recipient country's public holidays; none when there is no calendar for it (a contact's
    country is data we were given, not a setting the seller chose)."""
    try:
        return holiday_dates(country, year)
    except ValueError:
        return frozenset()


def parse_time_off(time_off: Iterable[tuple[date, date]]) -> tuple[tuple[date, date], ...]:
    """``[(first_day, last_day), ...]``, both inclusive -> a tuple; ``ValueError`` for a range that ends
    before it starts or holds something other than dates."""
    ranges = []
    for first, last in time_off:
        if isinstance(first, datetime) or isinstance(last, datetime):
            raise ValueError(f"Time off is whole days, got {first!r} to {last!r}")
        if not isinstance(first, date) or not isinstance(last, date):
            raise ValueError(f"Time off needs dates, got {first!r} to {last!r}")
        if last < first:
            raise ValueError(f"Time off from {first} ends before it starts ({last}).")
        ranges.append((first, last))
    return tuple(ranges)


def _day_windows(
    first_day: date,
    zone: zoneinfo.ZoneInfo,
    windows: Mapping[int, tuple[time, time]],
    day_off: Callable[[date], bool],
) -> Iterator[tuple[datetime, datetime]]:
    """The UTC ``(start, end)`` of each day's window from ``first_day`` for ``SEARCH_DAYS`` days, in
    order, leaving out days with no window and days for which ``day_off`` is true."""
    for offset in range(SEARCH_DAYS + 1):
        day = first_day + timedelta(days=offset)
        if day.weekday() not in windows or day_off(day):
            continue
        start_wall, end_wall = windows[day.weekday()]
        start, end = local_to_utc(day, start_wall, zone), local_to_utc(day, end_wall, zone)
        if start < end:
            yield start, end


def next_send_moment(
    at: datetime,
    *,
    business_hours: Mapping[str, Sequence[str]],
    time_zone: str,
    holiday_country: str = "",
    holidays_kept: Iterable[date] = (),
    time_off: Iterable[tuple[date, date]] = (),
    recipient_time_zone: str = "",
    recipient_country: str = "",
) -> datetime:
    """The earliest aware UTC instant >= ``at`` inside the business hours, on an enabled weekday
    that is not an excluded holiday of ``holiday_country`` (blank: none) nor inside ``time_off``, in
    ``time_zone``; and, when the recipient is known, inside their business day too.

    ``holidays_kept`` are holiday dates worked anyway. ``time_off`` is the seller's time off as
    ``(first_day, last_day)`` ranges, both inclusive, in the seller's zone: nothing is sent on them
    and the next moment is in the first window after the last one. ``at`` inside a window is
    returned as is (in UTC); ``at`` exactly at a window's end moves on to the next window.

    The recipient (either may be blank or unknown; a contact's data is taken as it comes, so an
    unrecognised zone or country never raises):

    - ``recipient_time_zone`` known: the instant must also fall inside ``RECIPIENT_BUSINESS_HOURS``
      in that zone, and not on a public holiday of ``recipient_country`` by the recipient's date.
    - zone blank or unrecognised, ``recipient_country`` known: the country's zone is used when the
      country has one civil time (``country_time_zone``: DE, JP, FR, ...), as above. When it has
      several (US, CA, AU, ...) the business-day part is skipped and only the holidays are kept,
      reckoned by the seller's date.
    - a country with no holiday calendar: no recipient holidays. Neither known: the seller's window
      alone.

    Raises ``ValueError`` for a naive ``at``, an unknown time zone or country of the seller,
    malformed business hours or time off, no enabled day, or when no instant of the seller's
    windows (and the recipient's) opens within ``SEARCH_DAYS`` days.
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("`at` must be an aware datetime.")
    zone = zone_named(time_zone)
    windows = parse_business_hours(business_hours)
    kept = frozenset(holidays_kept)
    ranges = parse_time_off(time_off)
    at_utc = at.astimezone(UTC)

    recipient_country = (recipient_country or "").strip().upper()
    recipient_zone = None
    if recipient_time_zone:
        try:
            recipient_zone = zone_named(recipient_time_zone)
        except ValueError:
            recipient_zone = None
    if recipient_zone is None and recipient_country:
        name = country_time_zone(recipient_country, at_utc.year)
        recipient_zone = zoneinfo.ZoneInfo(name) if name else None

    def recipient_holiday(day: date) -> bool:
        return bool(recipient_country) and day in _recipient_holiday_dates(recipient_country, day.year)

    def seller_day_off(day: date) -> bool:
        if holiday_country and day not in kept and day in holiday_dates(holiday_country, day.year):
            return True
        if any(first <= day <= last for first, last in ranges):
            return True
        # With no zone for the recipient their holidays are reckoned by the seller's date.
        return recipient_zone is None and recipient_holiday(day)

    seller = _day_windows(at_utc.astimezone(zone).date(), zone, windows, seller_day_off)
    if recipient_zone is None:
        for start, end in seller:
            if at_utc < end:
                return max(at_utc, start)
    else:
        recipient = _day_windows(
            at_utc.astimezone(recipient_zone).date(),
            recipient_zone,
            parse_business_hours(RECIPIENT_BUSINESS_HOURS),
            recipient_holiday,
        )
        moment = _first_common_instant(at_utc, seller, recipient)
        if moment is not None:
            return moment
    raise ValueError(f"No send window within {SEARCH_DAYS} days of {at.isoformat()}.")


def _first_common_instant(
    at: datetime,
    first: Iterator[tuple[datetime, datetime]],
    second: Iterator[tuple[datetime, datetime]],
) -> datetime | None:
    """The earliest instant >= ``at`` inside a window of both sorted, disjoint streams of half-open
    ``(start, end)`` windows, or ``None`` when either runs out first."""
    a = next(first, None)
    b = next(second, None)
    while a is not None and b is not None:
        if a[1] <= at:
            a = next(first, None)
            continue
        if b[1] <= at:
            b = next(second, None)
            continue
        start, end = max(at, a[0], b[0]), min(a[1], b[1])
        if start < end:
            return start
        # No overlap: the window that ends first cannot meet any later window of the other.
        if a[1] <= b[1]:
            a = next(first, None)
        else:
            b = next(second, None)
    return None


def kept_dates(values: Iterable[str]) -> list[date]:
    """ISO strings as stored in ``SellerProfile.holidays_kept`` -> dates (bad entries skipped)."""
    out = []
    for value in values:
        try:
            out.append(date.fromisoformat(value))
        except (TypeError, ValueError):
            continue
    return out


# --- Caps and spreading -------------------------------------------------------------------------
@dataclass(frozen=True)
class SendCaps:
    """How many sends one mailbox may make, and how far apart. Every cap is at least 1: a send over
    a cap waits for the next hour or day, so a zero cap would wait for ever."""

    per_day: int = MAILBOX_DAILY_CAP
    per_hour: int = MAILBOX_HOURLY_CAP
    per_domain_per_day: int = DOMAIN_DAILY_CAP
    gap: timedelta = SEND_GAP
    jitter: float = SEND_GAP_JITTER

    def __post_init__(self) -> None:
        for name in ("per_day", "per_hour", "per_domain_per_day"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1.")
        if self.gap < timedelta(0):
            raise ValueError("The gap between sends cannot be negative.")
        if not 0 <= self.jitter < 1:
            raise ValueError("The jitter is a fraction of the gap, from 0 up to (not including) 1.")


def _sorted_utc(instants: Iterable[datetime]) -> list[datetime]:
    out = []
    for instant in instants:
        if instant.tzinfo is None or instant.utcoffset() is None:
            raise ValueError("Placed sends must be aware datetimes.")
        out.append(instant.astimezone(UTC))
    out.sort()
    return out


def _count_between(instants: Sequence[datetime], start: datetime, end: datetime) -> int:
    return bisect.bisect_left(instants, end) - bisect.bisect_left(instants, start)


def _local_day_bounds(instant: datetime, zone: zoneinfo.ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC start and end of ``instant``'s local day in ``zone`` (23 or 25 hours on a DST day)."""
    day = instant.astimezone(zone).date()
    return local_to_utc(day, time(0), zone), local_to_utc(day + timedelta(days=1), time(0), zone)


def _local_hour_bounds(instant: datetime, zone: zoneinfo.ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC start and end of ``instant``'s local clock hour in ``zone`` (on :30 UTC in India). When
    clocks fall back the repeated hour counts twice, once per occurrence."""
    local = instant.astimezone(zone)
    start = instant - timedelta(minutes=local.minute, seconds=local.second, microseconds=local.microsecond)
    return start, start + timedelta(hours=1)


def place_send(
    want: datetime,
    *,
    window: Callable[[datetime], datetime],
    time_zone: str,
    placed: Sequence[datetime],
    domain_placed: Sequence[datetime] = (),
    caps: SendCaps = SendCaps(),
    rng: random.Random,
) -> datetime:
    """The instant a send that wants ``want`` gets, given the mailbox's sends already placed.

    - ``window(t)`` is the earliest instant >= ``t`` the send may go (``next_send_moment`` with the
      seller's and recipient's settings bound, e.g. by ``functools.partial``); the answer always
      comes from it, so it stays inside the sender's and recipient's windows.
    - ``placed``: the instants of the mailbox's sends already placed (any order) from ``want``'s
      local day on; ``domain_placed``: those of them (or of the team, as the caller decides) to the
      same recipient domain. Past or future, they all count towards their hour and day.
    - Days and clock hours are those of ``time_zone``, the mailbox owner's zone.

    Over ``caps.per_day`` or ``caps.per_domain_per_day`` in that day the send rolls on to the first
    window moment of the next day; over ``caps.per_hour`` in that hour, to the next hour. It is then
    kept at least one gap away from every placed send: a gap of ``caps.gap`` times a factor drawn
    once from ``rng`` in ``[1 - jitter, 1 + jitter]``; closer than that it moves to one gap after the
    latest send it is too close to. Every move is checked again from the top, so the answer
    satisfies all the rules together.

    Raises ``ValueError`` for a naive instant, an unknown zone, or when ``window`` does or when no
    instant within ``SEARCH_DAYS`` days of ``want`` fits.
    """
    if want.tzinfo is None or want.utcoffset() is None:
        raise ValueError("`want` must be an aware datetime.")
    zone = zone_named(time_zone)
    mailbox = _sorted_utc(placed)
    domain = _sorted_utc(domain_placed)
    gap = caps.gap * rng.uniform(1 - caps.jitter, 1 + caps.jitter)
    deadline = want.astimezone(UTC) + timedelta(days=SEARCH_DAYS)
    moment = want.astimezone(UTC)
    while True:
        moment = window(moment).astimezone(UTC)
        if moment > deadline:
            raise ValueError(f"No room for a send within {SEARCH_DAYS} days of {want.isoformat()}.")
        day_start, day_end = _local_day_bounds(moment, zone)
        if (
            _count_between(mailbox, day_start, day_end) >= caps.per_day
            or _count_between(domain, day_start, day_end) >= caps.per_domain_per_day
        ):
            moment = day_end
            continue
        hour_start, hour_end = _local_hour_bounds(moment, zone)
        if _count_between(mailbox, hour_start, hour_end) >= caps.per_hour:
            moment = hour_end
            continue
        # Placed sends strictly closer than one gap, on either side.
        low = bisect.bisect_right(mailbox, moment - gap)
        high = bisect.bisect_left(mailbox, moment + gap)
        if gap and low < high:
            moment = mailbox[high - 1] + gap
            continue
        return moment
