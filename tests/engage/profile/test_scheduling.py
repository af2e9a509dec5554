"""``next_send_moment``: the earliest instant a Salesflow may send, as table tests.

Each case gives ``at`` as a local wall time in the case's zone and the expected answer as a local
wall time too (with ``fold`` where it matters), so the table reads like a calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from engage.scheduling import SEARCH_DAYS, local_to_utc, next_send_moment
from engage.services.profile import next_send_moment_for
from tests.factories import UserFactory

NY = "America/New_York"
BERLIN = "Europe/Berlin"
LORD_HOWE = "Australia/Lord_Howe"
WEEKDAYS_9_TO_5 = {str(d): ["09:00", "17:00"] for d in range(5)}
EVERY_DAY_9_TO_5 = {str(d): ["09:00", "17:00"] for d in range(7)}


def local(zone: str, *parts: int, fold: int = 0) -> datetime:
    return datetime(*parts, tzinfo=ZoneInfo(zone), fold=fold)


# (id, zone, business hours, holiday country, kept, at (local), expected (local))
CASES = [
    # --- plain weekdays (2026-03-04 is a Wednesday) ---
    ("inside a window: at itself", NY, WEEKDAYS_9_TO_5, "", (), (2026, 3, 4, 10, 15), (2026, 3, 4, 10, 15)),
    ("exactly at the start", NY, WEEKDAYS_9_TO_5, "", (), (2026, 3, 4, 9, 0), (2026, 3, 4, 9, 0)),
    ("before the start", NY, WEEKDAYS_9_TO_5, "", (), (2026, 3, 4, 6, 30), (2026, 3, 4, 9, 0)),
    ("just before the end", NY, WEEKDAYS_9_TO_5, "", (), (2026, 3, 4, 16, 59), (2026, 3, 4, 16, 59)),
    ("exactly at the end is outside", NY, WEEKDAYS_9_TO_5, "", (), (2026, 3, 4, 17, 0), (2026, 3, 5, 9, 0)),
    ("after the end", NY, WEEKDAYS_9_TO_5, "", (), (2026, 3, 4, 22, 0), (2026, 3, 5, 9, 0)),
    ("friday evening -> monday", NY, WEEKDAYS_9_TO_5, "", (), (2026, 3, 6, 18, 0), (2026, 3, 9, 9, 0)),
    ("saturday -> monday", NY, WEEKDAYS_9_TO_5, "", (), (2026, 3, 7, 12, 0), (2026, 3, 9, 9, 0)),
    ("sunday late -> monday", NY, WEEKDAYS_9_TO_5, "", (), (2026, 3, 8, 23, 59), (2026, 3, 9, 9, 0)),
    ("weekend worker", NY, EVERY_DAY_9_TO_5, "", (), (2026, 3, 7, 12, 0), (2026, 3, 7, 12, 0)),
    (
        "only wednesday afternoons",
        NY,
        {"2": ["13:00", "14:00"]},
        "",
        (),
        (2026, 3, 4, 14, 0),
        (2026, 3, 11, 13, 0),
    ),
    (
        "different hours per day",
        BERLIN,
        {"0": ["08:00", "12:00"], "1": ["14:00", "18:00"]},
        "",
        (),
        (2026, 3, 2, 12, 30),
        (2026, 3, 3, 14, 0),
    ),
    ("midnight start", BERLIN, {"3": ["00:00", "01:00"]}, "", (), (2026, 3, 4, 23, 0), (2026, 3, 5, 0, 0)),
    # --- holidays ---
    ("US holiday skipped", NY, WEEKDAYS_9_TO_5, "US", (), (2026, 1, 19, 8, 0), (2026, 1, 20, 9, 0)),
    (
        "observed Independence Day (Fri) + weekend",
        NY,
        WEEKDAYS_9_TO_5,
        "US",
        (),
        (2026, 7, 2, 17, 0),
        (2026, 7, 6, 9, 0),
    ),
    (
        "Christmas (Fri) and the weekend",
        NY,
        WEEKDAYS_9_TO_5,
        "US",
        (),
        (2026, 12, 24, 17, 30),
        (2026, 12, 28, 9, 0),
    ),
    (
        "German Christmas run: 25th, 26th, weekend",
        BERLIN,
        WEEKDAYS_9_TO_5,
        "DE",
        (),
        (2025, 12, 24, 18, 0),
        (2025, 12, 29, 9, 0),
    ),
    (
        "New Year run into the next year",
        BERLIN,
        WEEKDAYS_9_TO_5,
        "DE",
        (),
        (2026, 12, 31, 17, 0),
        (2027, 1, 4, 9, 0),
    ),
    (
        "a kept holiday is a working day",
        NY,
        WEEKDAYS_9_TO_5,
        "US",
        (date(2026, 12, 25),),
        (2026, 12, 24, 17, 30),
        (2026, 12, 25, 9, 0),
    ),
    (
        "a kept holiday of another year changes nothing",
        NY,
        WEEKDAYS_9_TO_5,
        "US",
        (date(2025, 12, 25),),
        (2026, 12, 24, 17, 30),
        (2026, 12, 28, 9, 0),
    ),
    (
        "no country: holidays are working days",
        NY,
        WEEKDAYS_9_TO_5,
        "",
        (),
        (2026, 12, 25, 8, 0),
        (2026, 12, 25, 9, 0),
    ),
    (
        "holiday on a day off changes nothing",
        NY,
        WEEKDAYS_9_TO_5,
        "US",
        (),
        (2026, 7, 4, 8, 0),
        (2026, 7, 6, 9, 0),
    ),
    # --- New York DST: spring forward 2026-03-08 02:00 -> 03:00 (a Sunday) ---
    (
        "window opening in the gap starts at the transition",
        NY,
        {"6": ["02:30", "05:00"]},
        "",
        (),
        (2026, 3, 8, 0, 0),
        (2026, 3, 8, 3, 0),
    ),
    (
        "window starting at the gap's first minute",
        NY,
        {"6": ["02:00", "05:00"]},
        "",
        (),
        (2026, 3, 8, 1, 0),
        (2026, 3, 8, 3, 0),
    ),
    (
        "window wholly inside the gap is empty",
        NY,
        {"6": ["02:10", "02:50"]},
        "",
        (),
        (2026, 3, 8, 0, 0),
        (2026, 3, 15, 2, 10),
    ),
    ("9-to-5 on the DST Sunday", NY, EVERY_DAY_9_TO_5, "", (), (2026, 3, 8, 7, 0), (2026, 3, 8, 9, 0)),
    ("monday after spring forward", NY, WEEKDAYS_9_TO_5, "", (), (2026, 3, 6, 17, 0), (2026, 3, 9, 9, 0)),
    # --- New York DST: fall back 2026-11-01 02:00 -> 01:00 (a Sunday) ---
    (
        "ambiguous start: the first occurrence",
        NY,
        {"6": ["01:30", "04:00"]},
        "",
        (),
        (2026, 11, 1, 0, 0),
        (2026, 11, 1, 1, 30),
    ),
    ("monday after fall back", NY, WEEKDAYS_9_TO_5, "", (), (2026, 10, 30, 17, 0), (2026, 11, 2, 9, 0)),
    # --- Berlin DST: 2026-03-29 02:00 -> 03:00, 2026-10-25 03:00 -> 02:00 ---
    (
        "Berlin gap start",
        BERLIN,
        {"6": ["02:15", "06:00"]},
        "",
        (),
        (2026, 3, 28, 23, 0),
        (2026, 3, 29, 3, 0),
    ),
    (
        "Berlin ambiguous start",
        BERLIN,
        {"6": ["02:30", "06:00"]},
        "",
        (),
        (2026, 10, 25, 0, 0),
        (2026, 10, 25, 2, 30),
    ),
    (
        "Berlin weekday after DST",
        BERLIN,
        WEEKDAYS_9_TO_5,
        "DE",
        (),
        (2026, 3, 27, 17, 0),
        (2026, 3, 30, 9, 0),
    ),
    # --- Lord Howe: 30-minute DST, 2026-10-04 02:00 -> 02:30 ---
    (
        "Lord Howe half-hour gap",
        LORD_HOWE,
        {"6": ["02:10", "05:00"]},
        "",
        (),
        (2026, 10, 4, 0, 0),
        (2026, 10, 4, 2, 30),
    ),
    ("Lord Howe normal day", LORD_HOWE, WEEKDAYS_9_TO_5, "", (), (2026, 10, 5, 8, 0), (2026, 10, 5, 9, 0)),
]


@pytest.mark.parametrize(
    ("zone", "hours", "country", "kept", "at", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_next_send_moment(zone, hours, country, kept, at, expected):
    result = next_send_moment(
        local(zone, *at), business_hours=hours, time_zone=zone, holiday_country=country, holidays_kept=kept
    )
    assert result.tzinfo is UTC
    assert result == local(zone, *expected).astimezone(UTC)


def test_the_gap_resolves_to_the_transition_instant():
    # 02:30 does not exist in New York on 2026-03-08; 03:00 EDT is 07:00 UTC.
    assert local_to_utc(date(2026, 3, 8), datetime(2026, 1, 1, 2, 30).time(), ZoneInfo(NY)) == datetime(
        2026, 3, 8, 7, 0, tzinfo=UTC
    )


def test_an_ambiguous_time_is_its_first_occurrence():
    # 01:30 happens twice in New York on 2026-11-01: first at EDT (05:30 UTC), then EST (06:30 UTC).
    result = next_send_moment(
        datetime(2026, 11, 1, 4, 0, tzinfo=UTC), business_hours={"6": ["01:30", "04:00"]}, time_zone=NY
    )
    assert result == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)


def test_inside_the_second_occurrence_of_an_ambiguous_hour():
    # 06:15 UTC is 01:15 EST (the repeated hour); a 01:00-01:30 window resolved to its first
    # occurrence ended at 05:30 UTC, so the next window is the following Sunday.
    result = next_send_moment(
        datetime(2026, 11, 1, 6, 15, tzinfo=UTC), business_hours={"6": ["01:00", "01:30"]}, time_zone=NY
    )
    assert result == local(NY, 2026, 11, 8, 1, 0).astimezone(UTC)


def test_a_window_spans_the_repeated_hour():
    # 00:00-03:00 on fall-back day lasts four real hours; 06:30 UTC (01:30 EST) is inside it.
    at = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    assert next_send_moment(at, business_hours={"6": ["00:00", "03:00"]}, time_zone=NY) == at


def test_the_answer_is_utc_whatever_zone_at_is_given_in():
    at = datetime(2026, 3, 4, 16, 0, tzinfo=ZoneInfo("Asia/Tokyo"))  # 07:00 UTC, 02:00 in New York
    result = next_send_moment(at, business_hours=WEEKDAYS_9_TO_5, time_zone=NY)
    assert result == datetime(2026, 3, 4, 14, 0, tzinfo=UTC)  # 09:00 EST


def test_the_seller_zone_decides_the_day():
    # Wednesday 23:30 UTC is already Thursday in Tokyo.
    at = datetime(2026, 3, 4, 23, 30, tzinfo=UTC)
    result = next_send_moment(at, business_hours={"3": ["08:00", "10:00"]}, time_zone="Asia/Tokyo")
    assert result == at


def test_a_naive_datetime_is_refused():
    with pytest.raises(ValueError, match="aware"):
        next_send_moment(datetime(2026, 3, 4, 10, 0), business_hours=WEEKDAYS_9_TO_5, time_zone=NY)


def test_no_day_enabled_is_refused():
    with pytest.raises(ValueError, match="No working day"):
        next_send_moment(datetime(2026, 3, 4, tzinfo=UTC), business_hours={}, time_zone=NY)


@pytest.mark.parametrize(
    "hours",
    [
        {"0": ["17:00", "09:00"]},
        {"0": ["09:00", "09:00"]},
        {"0": ["9am", "5pm"]},
        {"0": ["24:00", "25:00"]},
        {"7": ["09:00", "17:00"]},
        {"0": ["09:00"]},
    ],
)
def test_malformed_hours_are_refused(hours):
    with pytest.raises(ValueError):
        next_send_moment(datetime(2026, 3, 4, tzinfo=UTC), business_hours=hours, time_zone=NY)


def test_unknown_zone_and_country_are_refused():
    at = datetime(2026, 3, 4, tzinfo=UTC)
    with pytest.raises(ValueError, match="time zone"):
        next_send_moment(at, business_hours=WEEKDAYS_9_TO_5, time_zone="Mars/Olympus")
    with pytest.raises(ValueError, match="country"):
        next_send_moment(at, business_hours=WEEKDAYS_9_TO_5, time_zone=NY, holiday_country="XX")


def test_the_search_is_bounded(monkeypatch):
    monkeypatch.setattr("engage.scheduling.SEARCH_DAYS", 3)
    thursday = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="within 3 days"):
        next_send_moment(thursday, business_hours={"2": ["09:00", "17:00"]}, time_zone=NY)


def test_the_default_bound_covers_a_year():
    # A Wednesday-only window is found from any day of the year.
    assert SEARCH_DAYS >= 366
    result = next_send_moment(
        datetime(2026, 12, 31, 12, 0, tzinfo=UTC), business_hours={"2": ["09:00", "10:00"]}, time_zone=NY
    )
    assert result == local(NY, 2027, 1, 6, 9, 0).astimezone(UTC)


@pytest.mark.django_db
def test_next_send_moment_for_reads_the_saved_profile():
    from engage.services.profile import seller_profile_for

    user = UserFactory(time_zone=BERLIN)
    profile = seller_profile_for(user)
    profile.business_hours = {"4": ["13:00", "14:00"]}  # Fridays only
    profile.holiday_country = "DE"
    profile.save()
    monday = datetime(2026, 12, 21, 12, 0, tzinfo=UTC)
    # Christmas Day (Fri) and New Year's Day (Fri) are excluded: the first Friday is 8 January.
    assert next_send_moment_for(user, monday) == local(BERLIN, 2027, 1, 8, 13, 0).astimezone(UTC)
    profile.holidays_kept = ["2026-12-25", "not a date"]
    profile.save()
    assert next_send_moment_for(user, monday) == local(BERLIN, 2026, 12, 25, 13, 0).astimezone(UTC)
