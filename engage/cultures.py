"""Cultures (how a seller's dates and times are written) and the countries Cadence knows holiday
calendars for. Used by the Profile page and the send-window preview (A8)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime

import holidays
from django.utils import dateformat, translation


@dataclass(frozen=True)
class Culture:
    code: str
    label: str
    django_locale: str  # whose month and weekday names Django's catalogues provide
    date_format: str  # django.utils.dateformat codes
    time_format: str


CULTURES: dict[str, Culture] = {
    c.code: c
    for c in (
        Culture("en-US", "English (United States)", "en", "l, F j, Y", "g:i A"),
        Culture("en-GB", "English (United Kingdom)", "en_GB", "l j F Y", "H:i"),
        Culture("en-AU", "English (Australia)", "en_AU", "l j F Y", "g:i A"),
        Culture("en-CA", "English (Canada)", "en", "l, F j, Y", "g:i A"),
        Culture("de-DE", "Deutsch (Deutschland)", "de", "l, j. F Y", "H:i"),
        Culture("fr-FR", "Français (France)", "fr", "l j F Y", "H:i"),
        Culture("es-ES", "Español (España)", "es", r"l, j \d\e F \d\e Y", "H:i"),
        Culture("nl-NL", "Nederlands (Nederland)", "nl", "l j F Y", "H:i"),
        Culture("pt-BR", "Português (Brasil)", "pt_BR", r"l, j \d\e F \d\e Y", "H:i"),
        Culture("it-IT", "Italiano (Italia)", "it", "l j F Y", "H:i"),
        Culture("sv-SE", "Svenska (Sverige)", "sv", "l j F Y", "H:i"),
    )
}
DEFAULT_CULTURE = "en-US"


def culture_of(code: str) -> Culture:
    return CULTURES.get(code) or CULTURES[DEFAULT_CULTURE]


def format_date(value: date, culture: str) -> str:
    """``value`` as a long date with its weekday, written the way ``culture`` writes it."""
    spec = culture_of(culture)
    with translation.override(spec.django_locale):
        return dateformat.format(value, spec.date_format)


def format_moment(value: datetime, culture: str) -> str:
    """An aware datetime (already in the zone to show) as date, time and zone abbreviation."""
    spec = culture_of(culture)
    with translation.override(spec.django_locale):
        return f"{dateformat.format(value, spec.date_format)}, {dateformat.format(value, spec.time_format)} {value.tzname()}"


def holiday_language(country: str, culture: str) -> str | None:
    """The language to name ``country``'s holidays in for ``culture``, when the calendar has it."""
    try:
        supported = holidays.country_holidays(country).supported_languages
    except NotImplementedError:
        return None
    for candidate in (culture.replace("-", "_"), culture.split("-")[0]):
        if candidate in supported:
            return candidate
    return None


_NAME_FIXES = {" And ": " and ", " Of ": " of ", " The ": " the ", " Da ": " da ", "Dr Congo": "DR Congo"}


@functools.cache
def holiday_countries() -> dict[str, str]:
    """ISO 3166 alpha-2 code -> English name, for every country ``holidays`` has a calendar of."""
    supported = holidays.list_supported_countries(include_aliases=False)
    names: dict[str, str] = {}
    for module, entry in holidays.registry.COUNTRIES.items():
        code = entry[1]
        if code not in supported:
            continue
        name = module.replace("_", " ").title()
        for wrong, right in _NAME_FIXES.items():
            name = name.replace(wrong, right)
        names[code] = name
    return dict(sorted(names.items(), key=lambda item: item[1]))


def country_code_for(value: str) -> str | None:
    """A country written as a code ("DE") or an English name ("Germany") -> its alpha-2 code."""
    value = value.strip()
    if not value:
        return None
    countries = holiday_countries()
    if value.upper() in countries:
        return value.upper()
    lowered = value.casefold()
    for code, name in countries.items():
        if name.casefold() == lowered:
            return code
    aliases = {"usa": "US", "united states of america": "US", "uk": "GB", "great britain": "GB"}
    return aliases.get(lowered)
