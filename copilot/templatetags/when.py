"""Dates and times as every page shows them: one format per kind, in the viewer's time zone.

``{% load when %}`` then

* ``{{ value|day }}``: a date, ``Mar 4, 2025``;
* ``{{ value|moment }}``: a date and time, ``Mar 4, 2025, 10:00 AM``;
* ``{{ value|clock }}``: a time of day where the day is already on screen (today's meetings, the
  end of a meeting), ``10:00 AM``;
* ``{{ value|ago }}``: relative to now, ``3 minutes ago`` / ``in 2 days`` / ``just now``.

Those are the English formats; in another language the user chose, that language's own date,
date-time and time formats (Django's locale formats).

Aware datetimes are shown in the active time zone, which ``copilot.middleware.
UserPreferencesMiddleware`` sets to the signed-in user's (``{% timezone %}`` still overrides it, as
for all-day meetings). Machine-readable values (``<time datetime="{{ x|date:'c' }}">``, form
values) keep Django's ``date`` filter: they are not shown to anyone. ``None`` and "" render "" so
``|default:"never"`` still works.
"""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import dateformat, formats, timezone, translation
from django.utils.timesince import timesince, timeuntil

register = template.Library()

DAY_FORMAT = "M j, Y"
MOMENT_FORMAT = "M j, Y, g:i A"
CLOCK_FORMAT = "g:i A"
JUST_NOW_SECONDS = 45


# In English the formats above; in another language (the user's choice, A9) that language's own
# formats for the same kinds, so a German reader sees "6. Januar 2026 08:30", not "8:30 vorm.".
LOCALE_FORMATS = {DAY_FORMAT: "DATE_FORMAT", MOMENT_FORMAT: "DATETIME_FORMAT", CLOCK_FORMAT: "TIME_FORMAT"}


def _format(value: dt.datetime | dt.date | dt.time, kind: str) -> str:
    language = translation.get_language() or "en"
    if language.split("-")[0] == "en":
        if isinstance(value, dt.time):
            return dateformat.time_format(value, kind)
        return dateformat.format(value, kind)
    if isinstance(value, dt.time):
        return formats.time_format(value, LOCALE_FORMATS[kind])
    return formats.date_format(value, LOCALE_FORMATS[kind])


def _local(value: dt.datetime | dt.date) -> dt.datetime | dt.date:
    if isinstance(value, dt.datetime) and timezone.is_aware(value):
        return timezone.localtime(value)
    return value


@register.filter
def day(value: dt.datetime | dt.date | None) -> str:
    if not isinstance(value, dt.date):
        return ""
    return _format(_local(value), DAY_FORMAT)


@register.filter
def moment(value: dt.datetime | dt.date | None) -> str:
    if not isinstance(value, dt.datetime):
        return day(value)
    return _format(_local(value), MOMENT_FORMAT)


@register.filter
def clock(value: dt.datetime | dt.time | None) -> str:
    if isinstance(value, dt.datetime):
        return _format(_local(value), CLOCK_FORMAT)
    if isinstance(value, dt.time):
        return _format(value, CLOCK_FORMAT)
    return ""


def relative(value: dt.datetime | dt.date | None, now: dt.datetime) -> str:
    """``value`` against ``now``, to the largest unit: "3 minutes ago", "in 2 days", "just now"."""
    if not isinstance(value, dt.date):
        return ""
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day, tzinfo=now.tzinfo)
    seconds = (now - value).total_seconds()
    if abs(seconds) < JUST_NOW_SECONDS:
        return "just now"
    if seconds > 0:
        return f"{timesince(value, now, depth=1)} ago"
    return f"in {timeuntil(value, now, depth=1)}"


@register.filter
def ago(value: dt.datetime | dt.date | None) -> str:
    return relative(value, timezone.now())
