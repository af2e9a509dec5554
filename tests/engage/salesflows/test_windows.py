"""Salesflow send windows (issue 13, point 4): the recipient's business day and holidays, the
seller's time off, and the caps and spreading of one mailbox's sends.

Instants are written as local wall times in the zone that makes the case readable."""

from __future__ import annotations

import functools
import itertools
import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from engage.scheduling import (
    DOMAIN_DAILY_CAP,
    MAILBOX_DAILY_CAP,
    MAILBOX_HOURLY_CAP,
    SendCaps,
    country_time_zone,
    next_send_moment,
    place_send,
)
from engage.services.profile import next_send_moment_for, seller_profile_for
from tests.factories import UserFactory

NY = "America/New_York"
BERLIN = "Europe/Berlin"
TOKYO = "Asia/Tokyo"
KOLKATA = "Asia/Kolkata"
WEEKDAYS_9_TO_5 = {str(d): ["09:00", "17:00"] for d in range(5)}
WEEKDAYS_7_TO_8PM = {str(d): ["07:00", "20:00"] for d in range(5)}


def local(zone: str, *parts: int) -> datetime:
    return datetime(*parts, tzinfo=ZoneInfo(zone))


def utc(zone: str, *parts: int) -> datetime:
    return local(zone, *parts).astimezone(UTC)


def ny_window(at: datetime, **recipient) -> datetime:
    return next_send_moment(at, business_hours=WEEKDAYS_9_TO_5, time_zone=NY, **recipient)


# --- The recipient's business day ---------------------------------------------------------------
# In February 2026 Tokyo is 14 hours ahead of New York: Tokyo 08:00-18:00 is New York 18:00-04:00
# the evening before. A New York seller working 07:00-20:00 meets a Tokyo recipient 18:00-20:00.


def test_a_tokyo_recipient_is_written_to_in_the_new_york_evening():
    wednesday_morning = local(NY, 2026, 2, 11, 10, 0)
    result = next_send_moment(
        wednesday_morning, business_hours=WEEKDAYS_7_TO_8PM, time_zone=NY, recipient_time_zone=TOKYO
    )
    assert result == utc(NY, 2026, 2, 11, 18, 0)  # Thursday 08:00 in Tokyo
    assert result.astimezone(ZoneInfo(TOKYO)) == local(TOKYO, 2026, 2, 12, 8, 0)


def test_a_day_without_overlap_moves_to_the_next_day_that_overlaps():
    # Friday evening in New York is Saturday in Tokyo; Tokyo's Monday morning is a New York Sunday.
    friday_morning = local(NY, 2026, 2, 13, 10, 0)
    result = next_send_moment(
        friday_morning, business_hours=WEEKDAYS_7_TO_8PM, time_zone=NY, recipient_time_zone=TOKYO
    )
    assert result == utc(NY, 2026, 2, 16, 18, 0)  # Monday evening in New York, Tuesday 08:00 in Tokyo


def test_inside_both_windows_the_moment_itself_is_kept():
    at = local(NY, 2026, 2, 11, 19, 15)
    result = next_send_moment(at, business_hours=WEEKDAYS_7_TO_8PM, time_zone=NY, recipient_time_zone=TOKYO)
    assert result == at.astimezone(UTC)


def test_windows_that_never_overlap_are_an_error():
    # 09:00-17:00 in New York is 23:00-07:00 in Tokyo: never inside a Tokyo business day.
    with pytest.raises(ValueError, match="No send window within"):
        ny_window(local(NY, 2026, 2, 11, 10, 0), recipient_time_zone=TOKYO)


def test_a_german_public_holiday_is_skipped_for_a_german_recipient():
    # 2026-05-14 is Ascension Day, a holiday in Germany and not in the US. New York 09:00-12:00 is
    # Berlin 15:00-18:00: Wednesday afternoon in New York is too late for Berlin.
    wednesday_afternoon = local(NY, 2026, 5, 13, 13, 0)
    assert ny_window(wednesday_afternoon) == wednesday_afternoon.astimezone(UTC)
    assert ny_window(wednesday_afternoon, recipient_time_zone=BERLIN) == utc(NY, 2026, 5, 14, 9, 0)
    assert ny_window(wednesday_afternoon, recipient_time_zone=BERLIN, recipient_country="DE") == utc(
        NY, 2026, 5, 15, 9, 0
    )


def test_a_country_with_one_time_zone_gives_the_recipient_its_business_day():
    assert country_time_zone("de", 2026) == BERLIN  # Europe/Busingen keeps Berlin's time
    wednesday_afternoon = local(NY, 2026, 5, 13, 13, 0)
    assert ny_window(wednesday_afternoon, recipient_country="DE") == utc(NY, 2026, 5, 15, 9, 0)


def test_a_country_with_several_time_zones_keeps_only_its_holidays_by_the_sellers_date():
    assert country_time_zone("US", 2026) == ""
    # Thanksgiving, 2026-11-26: a Berlin seller's Thursday is skipped for a US recipient, and the
    # Friday 09:00 in Berlin (03:00 in New York) is sent since the recipient's zone is unknown.
    thursday = local(BERLIN, 2026, 11, 26, 10, 0)
    result = next_send_moment(
        thursday, business_hours=WEEKDAYS_9_TO_5, time_zone=BERLIN, recipient_country="US"
    )
    assert result == utc(BERLIN, 2026, 11, 27, 9, 0)


@pytest.mark.parametrize(
    "recipient",
    [
        {},
        {"recipient_time_zone": "", "recipient_country": ""},
        {"recipient_time_zone": "Not/A_Zone"},
        {"recipient_country": "ZZ"},
        {"recipient_time_zone": "nonsense", "recipient_country": "not a country"},
    ],
)
def test_unknown_recipient_data_leaves_the_sellers_window_alone(recipient):
    friday_evening = local(NY, 2026, 3, 6, 18, 0)
    assert ny_window(friday_evening, **recipient) == utc(NY, 2026, 3, 9, 9, 0)
    wednesday_noon = local(NY, 2026, 3, 4, 12, 0)
    assert ny_window(wednesday_noon, **recipient) == wednesday_noon.astimezone(UTC)


def test_the_recipients_daylight_saving_change_moves_the_overlap():
    # New York moves its clocks on 8 March 2026, Berlin on 29 March: for three weeks Berlin is five
    # hours ahead and closes at 13:00 New York time; from 30 March it is six again and closes at 12:00.
    friday = local(NY, 2026, 3, 27, 12, 30)  # 17:30 in Berlin
    assert ny_window(friday, recipient_time_zone=BERLIN) == friday.astimezone(UTC)
    monday = local(NY, 2026, 3, 30, 12, 30)  # 18:30 in Berlin
    assert ny_window(monday, recipient_time_zone=BERLIN) == utc(NY, 2026, 3, 31, 9, 0)
    # Before either change (Monday 2 March) Berlin is six hours ahead too: 12:30 is too late.
    monday_before = local(NY, 2026, 3, 2, 12, 30)
    assert ny_window(monday_before, recipient_time_zone=BERLIN) == utc(NY, 2026, 3, 3, 9, 0)


def test_a_berlin_recipient_opens_at_eight_their_time():
    # A Berlin seller working from 06:00 waits for a Berlin recipient's 08:00.
    at = local(BERLIN, 2026, 3, 4, 6, 0)
    result = next_send_moment(
        at, business_hours={"2": ["06:00", "12:00"]}, time_zone=BERLIN, recipient_time_zone=BERLIN
    )
    assert result == utc(BERLIN, 2026, 3, 4, 8, 0)


# --- The seller's time off ----------------------------------------------------------------------


def test_time_off_spanning_a_weekend_resumes_after_its_last_day():
    thursday_evening = local(NY, 2026, 3, 12, 18, 0)
    friday_to_monday = [(date(2026, 3, 13), date(2026, 3, 16))]
    assert ny_window(thursday_evening) == utc(NY, 2026, 3, 13, 9, 0)
    assert ny_window(thursday_evening, time_off=friday_to_monday) == utc(NY, 2026, 3, 17, 9, 0)


def test_time_off_is_whole_days_in_the_sellers_zone():
    # Wednesday 20:00 in New York is already Thursday in UTC; a Thursday off is the seller's Thursday.
    wednesday_evening = local(NY, 2026, 3, 4, 20, 0)
    thursday_off = [(date(2026, 3, 5), date(2026, 3, 5))]
    assert ny_window(wednesday_evening, time_off=thursday_off) == utc(NY, 2026, 3, 6, 9, 0)
    # Several ranges, in any order; a moment inside a day off waits for the next working day.
    wednesday_noon = local(NY, 2026, 3, 4, 12, 0)
    ranges = [(date(2026, 3, 5), date(2026, 3, 9)), (date(2026, 3, 4), date(2026, 3, 4))]
    assert ny_window(wednesday_noon, time_off=ranges) == utc(NY, 2026, 3, 10, 9, 0)


def test_time_off_that_ends_before_it_starts_is_refused():
    with pytest.raises(ValueError, match="ends before it starts"):
        ny_window(local(NY, 2026, 3, 4, 10, 0), time_off=[(date(2026, 3, 6), date(2026, 3, 5))])


@pytest.mark.django_db
def test_next_send_moment_for_passes_time_off_and_the_recipient_through():
    user = UserFactory(time_zone=NY)
    profile = seller_profile_for(user)
    profile.business_hours = WEEKDAYS_9_TO_5
    profile.holiday_country = "US"
    profile.save()
    wednesday = local(NY, 2026, 5, 13, 13, 0)
    assert next_send_moment_for(user, wednesday) == wednesday.astimezone(UTC)
    assert next_send_moment_for(user, wednesday, recipient_country="DE") == utc(NY, 2026, 5, 15, 9, 0)
    off = [(date(2026, 5, 13), date(2026, 5, 18))]
    assert next_send_moment_for(user, wednesday, time_off=off) == utc(NY, 2026, 5, 19, 9, 0)


# --- Caps and spreading -------------------------------------------------------------------------
def every(start: datetime, count: int, step: timedelta) -> list[datetime]:
    return [start + step * i for i in range(count)]


def test_the_default_caps_are_200_a_day_40_an_hour_and_20_per_domain():
    caps = SendCaps()
    assert (caps.per_day, caps.per_hour, caps.per_domain_per_day) == (200, 40, 20)
    assert (MAILBOX_DAILY_CAP, MAILBOX_HOURLY_CAP, DOMAIN_DAILY_CAP) == (200, 40, 20)


def test_a_send_with_room_goes_when_it_wants():
    want = local(NY, 2026, 3, 4, 10, 45)
    placed = every(local(NY, 2026, 3, 4, 10, 0), 39, timedelta(seconds=30))
    result = place_send(want, window=ny_window, time_zone=NY, placed=placed, rng=random.Random(1))
    assert result == want.astimezone(UTC)


def test_over_the_hourly_cap_the_send_rolls_to_the_next_hour():
    want = local(NY, 2026, 3, 4, 10, 45)
    placed = every(local(NY, 2026, 3, 4, 10, 0), 40, timedelta(seconds=30))  # 10:00 to 10:19:30
    result = place_send(want, window=ny_window, time_zone=NY, placed=placed, rng=random.Random(1))
    assert result == utc(NY, 2026, 3, 4, 11, 0)


def test_the_next_hour_outside_the_window_rolls_to_the_next_business_morning():
    want = local(NY, 2026, 3, 4, 16, 30)
    placed = every(local(NY, 2026, 3, 4, 16, 0), 40, timedelta(seconds=20))
    result = place_send(want, window=ny_window, time_zone=NY, placed=placed, rng=random.Random(1))
    assert result == utc(NY, 2026, 3, 5, 9, 0)


def test_hours_are_the_sellers_clock_hours():
    # India is UTC+05:30: its 10:00-11:00 runs from 04:30 to 05:30 UTC.
    window = functools.partial(next_send_moment, business_hours=WEEKDAYS_9_TO_5, time_zone=KOLKATA)
    caps = SendCaps(per_hour=2, gap=timedelta(0), jitter=0)
    placed = [local(KOLKATA, 2026, 3, 4, 10, 5), local(KOLKATA, 2026, 3, 4, 10, 10)]
    want = local(KOLKATA, 2026, 3, 4, 10, 50)
    result = place_send(
        want, window=window, time_zone=KOLKATA, placed=placed, caps=caps, rng=random.Random(1)
    )
    assert result == utc(KOLKATA, 2026, 3, 4, 11, 0)
    assert result == datetime(2026, 3, 4, 5, 30, tzinfo=UTC)


def test_over_the_daily_cap_the_send_rolls_to_the_next_business_day():
    friday = local(NY, 2026, 3, 6, 9, 0)
    placed = every(friday, MAILBOX_DAILY_CAP, timedelta(minutes=2))  # 30 an hour, 09:00 to 15:38
    want = local(NY, 2026, 3, 6, 16, 0)
    result = place_send(want, window=ny_window, time_zone=NY, placed=placed, rng=random.Random(1))
    assert result == utc(NY, 2026, 3, 9, 9, 0)
    # One fewer and it goes that Friday.
    result = place_send(want, window=ny_window, time_zone=NY, placed=placed[:-1], rng=random.Random(1))
    assert result == want.astimezone(UTC)


def test_sends_placed_on_the_next_day_count_towards_it_too():
    caps = SendCaps(per_day=3, gap=timedelta(0), jitter=0)
    placed = every(local(NY, 2026, 3, 4, 9, 0), 3, timedelta(hours=1)) + every(
        local(NY, 2026, 3, 5, 9, 0), 3, timedelta(hours=1)
    )
    want = local(NY, 2026, 3, 4, 15, 0)
    result = place_send(want, window=ny_window, time_zone=NY, placed=placed, caps=caps, rng=random.Random(1))
    assert result == utc(NY, 2026, 3, 6, 9, 0)


def test_over_the_domain_cap_the_send_rolls_to_the_next_day_though_the_mailbox_has_room():
    want = local(NY, 2026, 3, 4, 14, 0)
    to_acme = every(local(NY, 2026, 3, 4, 9, 0), DOMAIN_DAILY_CAP, timedelta(minutes=10))
    result = place_send(
        want, window=ny_window, time_zone=NY, placed=to_acme, domain_placed=to_acme, rng=random.Random(1)
    )
    assert result == utc(NY, 2026, 3, 5, 9, 0)
    result = place_send(
        want, window=ny_window, time_zone=NY, placed=to_acme, domain_placed=to_acme[:-1], rng=random.Random(1)
    )
    assert result == want.astimezone(UTC)


def test_sends_wanting_the_same_moment_are_spread_with_jittered_gaps():
    def spread(seed: int) -> list[datetime]:
        rng = random.Random(seed)
        placed: list[datetime] = []
        for _ in range(12):
            placed.append(
                place_send(
                    local(NY, 2026, 3, 4, 9, 0), window=ny_window, time_zone=NY, placed=placed, rng=rng
                )
            )
        return placed

    sends = spread(7)
    assert sends[0] == utc(NY, 2026, 3, 4, 9, 0)
    # A later send may take a hole wide enough for it, so look at the sends in time order.
    in_order = sorted(sends)
    gaps = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(in_order)]
    assert all(15 <= gap <= 45 for gap in gaps)  # 30 s ± 50%
    assert len(set(gaps)) > 1  # jittered, not a metronome
    assert in_order[-1] - in_order[0] < timedelta(minutes=12 * 45 / 60)
    assert spread(7) == sends  # a seeded rng gives the same placement
    assert spread(8) != sends


def test_a_send_keeps_its_gap_from_later_sends_too():
    caps = SendCaps(gap=timedelta(seconds=30), jitter=0)
    placed = [local(NY, 2026, 3, 4, 9, 0, 20), local(NY, 2026, 3, 4, 9, 1, 0)]
    at_9 = place_send(
        local(NY, 2026, 3, 4, 9, 0),
        window=ny_window,
        time_zone=NY,
        placed=placed,
        caps=caps,
        rng=random.Random(1),
    )
    assert at_9 == utc(NY, 2026, 3, 4, 9, 1, 30)  # 09:00:50 would be 10 s from 09:01:00
    between = place_send(
        local(NY, 2026, 3, 4, 9, 0, 40),
        window=ny_window,
        time_zone=NY,
        placed=placed[:1],
        caps=caps,
        rng=random.Random(1),
    )
    assert between == utc(NY, 2026, 3, 4, 9, 0, 50)


def test_a_spread_send_pushed_past_the_window_waits_for_the_next_one():
    placed = [local(NY, 2026, 3, 4, 16, 59, 50)]
    caps = SendCaps(gap=timedelta(seconds=30), jitter=0)
    want = local(NY, 2026, 3, 4, 16, 59, 45)
    result = place_send(want, window=ny_window, time_zone=NY, placed=placed, caps=caps, rng=random.Random(1))
    assert result == utc(NY, 2026, 3, 5, 9, 0)


def test_caps_are_applied_inside_the_recipients_window():
    # A Berlin recipient: New York 09:00-12:00 in May. The 11:00 hour is full, so the send waits
    # until the next New York morning, not 12:00 (Berlin has closed).
    window = functools.partial(ny_window, recipient_time_zone=BERLIN)
    placed = every(local(NY, 2026, 5, 13, 11, 0), 40, timedelta(seconds=30))
    want = local(NY, 2026, 5, 13, 11, 30)
    result = place_send(want, window=window, time_zone=NY, placed=placed, rng=random.Random(1))
    assert result == utc(NY, 2026, 5, 14, 9, 0)


def test_a_send_that_never_fits_is_an_error_not_a_hang(monkeypatch):
    monkeypatch.setattr("engage.scheduling.SEARCH_DAYS", 3)
    caps = SendCaps(per_day=1, gap=timedelta(0), jitter=0)
    placed = every(local(NY, 2026, 3, 4, 12, 0), 10, timedelta(days=1))
    with pytest.raises(ValueError, match="within 3 days"):
        place_send(
            local(NY, 2026, 3, 4, 12, 0),
            window=lambda moment: moment,
            time_zone=NY,
            placed=placed,
            caps=caps,
            rng=random.Random(1),
        )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"per_day": 0},
        {"per_hour": 0},
        {"per_domain_per_day": -1},
        {"gap": timedelta(seconds=-1)},
        {"jitter": 1.0},
    ],
)
def test_caps_that_could_never_be_met_are_refused(kwargs):
    with pytest.raises(ValueError):
        SendCaps(**kwargs)


def test_naive_instants_are_refused():
    with pytest.raises(ValueError, match="aware"):
        place_send(
            datetime(2026, 3, 4, 10, 0), window=ny_window, time_zone=NY, placed=[], rng=random.Random(1)
        )
    with pytest.raises(ValueError, match="aware"):
        place_send(
            local(NY, 2026, 3, 4, 10, 0),
            window=ny_window,
            time_zone=NY,
            placed=[datetime(2026, 3, 4, 10, 0)],
            rng=random.Random(1),
        )
