"""Phone numbers as Cadence keeps and shows them (issue 12).

Every number that comes in (a form, a CSV row, a CRM record, an address book) is read with the
``phonenumbers`` library and kept in E.164 (``+14155550100``, with `` ext. 123`` when it has an
extension). A number written without its country code is read in a *region*: the country of
the contact it belongs to, else the default region of the person or organisation it comes from;
without either it is refused with a message asking for the international form, never guessed.

Shown numbers are written in the international format; only a valid number becomes a ``tel:``
link, so text that is not a number ("12ab") is never offered to a dialer.

This module belongs to the org core so that both the workspace (engage) and intelligence may
use it (ARCHITECTURE.md: neither may import the other's way).
"""

from __future__ import annotations

import functools
import importlib.resources
from pathlib import Path

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

EXAMPLE = "+1 415 555 0100"
_ALIASES = {
    "usa": "US",
    "u.s.": "US",
    "u.s.a.": "US",
    "united states of america": "US",
    "america": "US",
    "uk": "GB",
    "u.k.": "GB",
    "great britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "deutschland": "DE",
    "holland": "NL",
    "the netherlands": "NL",
    "united kingdom": "GB",
    "korea": "KR",
    "czechia": "CZ",
    "russian federation": "RU",
}


class PhoneError(ValueError):
    """A value that is not a phone number Cadence can keep; ``message`` says what to write."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _tzdb_table(name: str) -> list[list[str]]:
    """The rows of one of tzdb's tables (``zone.tab``, ``iso3166.tab``): from the tzdata package,
    else the system's copy. (phonenumbers' own country names would load its whole geocoder.)"""
    try:
        text = importlib.resources.files("tzdata").joinpath(f"zoneinfo/{name}").read_text()
    except (ModuleNotFoundError, FileNotFoundError):
        path = Path("/usr/share/zoneinfo") / name
        text = path.read_text() if path.exists() else ""
    return [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]


@functools.cache
def _region_names() -> dict[str, str]:
    """English country name (case-folded) -> region code ("Korea (South)" also as "South Korea")."""
    names: dict[str, str] = {}
    for row in _tzdb_table("iso3166.tab"):
        if len(row) < 2 or row[0] not in phonenumbers.SUPPORTED_REGIONS:
            continue
        code, name = row[0], row[1].strip()
        base, _, note = name.partition(" (")
        for variant in (name, base, f"{note.rstrip(')')} {base}".strip()):
            names.setdefault(variant.replace("&", "and").casefold(), code)
            names.setdefault(variant.casefold(), code)
    return names


def region_for(*countries: str | None) -> str | None:
    """The first of ``countries`` (a code like "DE" or an English name like "Germany") that
    names a region phone numbers can be read in, else None."""
    for country in countries:
        value = (country or "").strip()
        if not value:
            continue
        if value.upper() in phonenumbers.SUPPORTED_REGIONS:
            return value.upper()
        folded = value.casefold()
        code = _region_names().get(folded) or _ALIASES.get(folded)
        if code:
            return code
    return None


def region_of_number(value: str | None) -> str | None:
    """The region of a number written in the international form (a person's own phone says
    where they are), else None."""
    number = _parse_valid(value)
    return phonenumbers.region_code_for_number(number) if number else None


@functools.cache
def _zone_countries() -> dict[str, str]:
    """IANA time zone -> the country it belongs to (tzdb's ``zone.tab``)."""
    return {row[2]: row[0] for row in _tzdb_table("zone.tab") if len(row) >= 3}


def region_of_time_zone(name: str | None) -> str | None:
    """The region of a country's time zone ("Europe/Berlin" -> "DE"); None for "UTC" and the like."""
    code = _zone_countries().get((name or "").strip())
    return code if code in phonenumbers.SUPPORTED_REGIONS else None


def person_region(*, country: str = "", phone: str = "", time_zone: str = "") -> str | None:
    """Where a person reads phone numbers written without a country code: their country, else
    the country of their own phone number, else of their time zone."""
    return region_for(country) or region_of_number(phone) or region_of_time_zone(time_zone)


def _short(value: str, limit: int = 40) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def normalise(raw: str | None, *, region: str | None = None) -> str:
    """``raw`` as a person wrote it -> E.164 (`` ext. N`` kept); "" for an empty value.

    Raises ``PhoneError`` when it is not a valid number, or when it has no country code and
    there is no ``region`` to read it in."""
    value = " ".join((raw or "").split())
    if not value:
        return ""
    international = value.startswith("+")
    try:
        number = phonenumbers.parse(value, None if international else region)
    except NumberParseException as exc:
        if exc.error_type == NumberParseException.INVALID_COUNTRY_CODE and not international and not region:
            raise PhoneError(
                f"“{_short(value)}” has no country code: write it in the international form, e.g. {EXAMPLE}."
            ) from exc
        raise PhoneError(
            f"“{_short(value)}” is not a phone number: write it in the international form, e.g. {EXAMPLE}."
        ) from exc
    if not phonenumbers.is_valid_number(number):
        raise PhoneError(
            f"“{_short(value)}” is not a valid phone number: check the digits and the country code "
            f"(e.g. {EXAMPLE})."
        )
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    return f"{e164} ext. {number.extension}" if number.extension else e164


def normalise_or_none(raw: str | None, *, region: str | None = None) -> str | None:
    """``normalise`` for values nobody can be asked to fix (CRM, address books): None when the
    value is not a number (the caller drops it and counts it)."""
    try:
        return normalise(raw, region=region)
    except PhoneError:
        return None


def _parse_valid(value: str | None) -> phonenumbers.PhoneNumber | None:
    text = (value or "").strip()
    if not text.startswith("+"):
        return None
    try:
        number = phonenumbers.parse(text, None)
    except NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def display(value: str | None) -> str:
    """A stored number in the international format ("+1 415-555-0100"); anything else (rows
    kept from before numbers were checked) as its text."""
    number = _parse_valid(value)
    if number is None:
        return (value or "").strip()
    return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)


def tel_href(value: str | None) -> str:
    """The ``tel:`` link of a valid number ("tel:+1-415-555-0100"), else "" (show no link)."""
    number = _parse_valid(value)
    return phonenumbers.format_number(number, PhoneNumberFormat.RFC3966) if number else ""


def written_forms(value: str | None) -> list[str]:
    """The ways a stored number may be written elsewhere (to find it in a system that compares
    text, like a Salesforce query): E.164, international, national and RFC 3966 forms; a value
    that is not a valid number only as itself."""
    text = (value or "").strip()
    number = _parse_valid(text)
    if number is None:
        return [text] if text else []
    forms = [text] + [
        phonenumbers.format_number(number, style)
        for style in (
            PhoneNumberFormat.E164,
            PhoneNumberFormat.INTERNATIONAL,
            PhoneNumberFormat.NATIONAL,
        )
    ]
    return list(dict.fromkeys(forms))
