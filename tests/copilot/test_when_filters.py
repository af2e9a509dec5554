"""Dates and times have one format per kind (``copilot/templatetags/when.py``): a date, a date and
time, a time of day, and relative to now; all in the viewer's time zone, on the portal and on the
support admin alike."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone, translation

from copilot.templatetags.when import relative
from tests.factories import UserFactory
from tests.integrations.salesforce.factories import ConnectionFactory
from tests.support_login_helpers import sign_in_to_support, support_user

UTC = dt.UTC
TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
# 23:30 UTC on 4 March is already 5 March in Tokyo and still 4 March in New York.
LATE_EVENING_UTC = dt.datetime(2026, 3, 4, 23, 30, tzinfo=UTC)


def render(source: str, **context: object) -> str:
    return Template("{% load when %}" + source).render(Context(context))


@pytest.mark.parametrize(
    ("zone", "day", "moment", "clock"),
    [
        (UTC, "Mar 4, 2026", "Mar 4, 2026, 11:30 PM", "11:30 PM"),
        (TOKYO, "Mar 5, 2026", "Mar 5, 2026, 8:30 AM", "8:30 AM"),
        (NEW_YORK, "Mar 4, 2026", "Mar 4, 2026, 6:30 PM", "6:30 PM"),
    ],
)
def test_one_format_per_kind_in_the_active_zone(zone, day, moment, clock):
    with timezone.override(zone):
        text = render("{{ t|day }}|{{ t|moment }}|{{ t|clock }}", t=LATE_EVENING_UTC)
    assert text == f"{day}|{moment}|{clock}"


def test_another_language_gets_its_own_formats_of_the_same_kinds():
    with timezone.override(TOKYO), translation.override("de"):
        text = render("{{ t|day }}|{{ t|moment }}|{{ t|clock }}", t=LATE_EVENING_UTC)
    assert text == "5. März 2026|5. März 2026 08:30|08:30"


def test_plain_dates_and_times_are_not_shifted():
    with timezone.override(TOKYO):
        text = render("{{ d|day }}|{{ d|moment }}|{{ t|clock }}", d=dt.date(2026, 12, 25), t=dt.time(9, 5))
    assert text == "Dec 25, 2026|Dec 25, 2026|9:05 AM"


def test_the_timezone_tag_still_overrides_the_viewer_zone():
    """All-day meetings are stored at UTC midnight and shown as that day everywhere."""
    midnight = dt.datetime(2026, 3, 5, tzinfo=UTC)
    with timezone.override(NEW_YORK):
        assert render("{{ t|day }}", t=midnight) == "Mar 4, 2026"
        assert (
            render('{% load tz %}{% timezone "UTC" %}{{ t|day }}{% endtimezone %}', t=midnight)
            == "Mar 5, 2026"
        )


def test_missing_values_render_empty_so_defaults_apply():
    assert (
        render('{{ t|day }}|{{ t|moment|default:"never" }}|{{ t|clock }}|{{ t|ago }}', t=None) == "|never||"
    )


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (dt.timedelta(seconds=-10), "just now"),
        (dt.timedelta(seconds=30), "just now"),
        (dt.timedelta(minutes=-3), "3\xa0minutes ago"),
        (dt.timedelta(hours=-5, minutes=-40), "5\xa0hours ago"),
        (dt.timedelta(days=-2, hours=-23), "2\xa0days ago"),
        (dt.timedelta(days=-45), "1\xa0month ago"),
        (dt.timedelta(days=6, hours=23), "in 6\xa0days"),
        (dt.timedelta(minutes=90), "in 1\xa0hour"),
    ],
)
def test_relative_to_an_injected_now(delta, text):
    now = dt.datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
    assert relative(now + delta, now) == text


def test_the_relative_filter_uses_the_clock():
    assert render("{{ t|ago }}", t=timezone.now() - dt.timedelta(minutes=7)) == "7\xa0minutes ago"


def test_the_portal_shows_a_sign_in_in_the_viewers_zone(client, acme, owner, teammate):
    teammate.last_login = LATE_EVENING_UTC
    teammate.save(update_fields=["last_login"])
    url = reverse("copilot:user_edit", kwargs={"user_id": teammate.pk})

    owner.time_zone = "Asia/Tokyo"
    owner.save(update_fields=["time_zone"])
    client.force_login(owner)
    assert "Mar 5, 2026, 8:30 AM" in client.get(url).text

    owner.time_zone = "America/New_York"
    owner.save(update_fields=["time_zone"])
    assert "Mar 4, 2026, 6:30 PM" in client.get(url).text


def test_the_support_admin_shows_the_same_zone(client, acme):
    member = UserFactory(organization=acme, email="late@acme.example")
    member.last_login = LATE_EVENING_UTC
    member.save(update_fields=["last_login"])
    sign_in_to_support(client, support_user(time_zone="Asia/Tokyo"))

    page = client.get(reverse("admin:copilot_user_changelist"), {"q": "late@acme.example"}).text

    # Django's admin keeps its own format, but in the active zone: already 5 March in Tokyo.
    assert "March 5, 2026, 8:30 a.m." in page


def test_a_relative_time_carries_its_moment_in_the_viewers_zone(client, acme, owner):
    ConnectionFactory(
        organization=acme, connected_by=owner, api_used=1, api_max=15_000, api_checked_at=LATE_EVENING_UTC
    )
    owner.time_zone = "Asia/Tokyo"
    owner.save(update_fields=["time_zone"])
    client.force_login(owner)

    text = client.get(reverse("copilot:portal_home")).text

    assert 'title="Mar 5, 2026, 8:30 AM">' in text and " ago</time>" in text
