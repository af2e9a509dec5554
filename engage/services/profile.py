"""The seller's own profile (A8) and notification settings (A9).

``seller_profile_for`` is the one way to get a user's ``SellerProfile``: it is made on first use.
Fields that live on ``copilot.User`` (name, phone, job title, time zone, signature) are written
through ``copilot.services.users.user_update_profile``; the rest on the profile here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import holidays
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from copilot import phones
from copilot.models import TIME_ZONES, User
from copilot.services.users import user_update_profile
from engage.cultures import CULTURES, format_date, format_moment, holiday_countries, holiday_language
from engage.models import NotificationChoice, SellerProfile
from engage.scheduling import holiday_dates, kept_dates, next_send_moment, parse_business_hours
from engage.signatures import sanitize_signature


def phone_region_for(user: User) -> str | None:
    """Where ``user`` reads phone numbers written without a country code: their profile's
    country, else their own phone's, else their time zone's (``copilot.phones.person_region``).
    Reads only: a user without a profile yet gets none made."""
    country = SellerProfile.objects.filter(user_id=user.pk).values_list("country", flat=True).first() or ""
    return phones.person_region(country=country, phone=user.phone or "", time_zone=user.time_zone or "")


def seller_profile_for(user: User) -> SellerProfile:
    """The user's profile, created (in the user's organisation) the first time it is needed."""
    try:
        return user.seller_profile
    except SellerProfile.DoesNotExist:
        pass
    if user.organization_id is None:
        raise ValueError("Only members of an organisation have a seller profile.")
    try:
        with transaction.atomic():
            profile = SellerProfile.objects.create(user=user, organization_id=user.organization_id)
    except IntegrityError:  # another request made it first
        profile = SellerProfile.objects.get(user=user)
    user.seller_profile = profile
    return profile


def next_send_moment_for(
    user: User,
    at: datetime,
    *,
    time_off: Iterable[tuple[date, date]] = (),
    recipient_time_zone: str = "",
    recipient_country: str = "",
) -> datetime:
    """``next_send_moment`` with ``user``'s saved time zone, business hours and holidays.

    ``time_off`` (the seller's ``(first_day, last_day)`` ranges, inclusive) is passed through as given
    until the profile stores it; ``recipient_time_zone`` / ``recipient_country`` are the contact's."""
    profile = seller_profile_for(user)
    return next_send_moment(
        at,
        business_hours=profile.business_hours,
        time_zone=user.time_zone,
        holiday_country=profile.holiday_country,
        holidays_kept=kept_dates(profile.holidays_kept),
        time_off=time_off,
        recipient_time_zone=recipient_time_zone,
        recipient_country=recipient_country,
    )


# --- Writes -------------------------------------------------------------------------------------
@transaction.atomic
def profile_update_primary(
    *, user: User, first_name: str, last_name: str, job_title: str, phone: str
) -> User:
    return user_update_profile(
        user=user, first_name=first_name, last_name=last_name, job_title=job_title, phone=phone
    )


@transaction.atomic
def profile_update_signature(*, user: User, choice: str, custom: str) -> User:
    """Store the choice and the sanitised custom signature (kept even when a template is chosen,
    so switching back loses nothing)."""
    if choice not in User.Signature.values:
        raise ValidationError({"signature_choice": "Choose a template, Custom or No signature."})
    cleaned = sanitize_signature(custom)
    if choice == User.Signature.CUSTOM and not cleaned:
        raise ValidationError({"signature_custom": "Write your signature, or pick another option."})
    return user_update_profile(user=user, signature_choice=choice, signature_custom=cleaned)


ADDRESS_FIELDS = ("street", "city", "state", "postal_code", "country")


@transaction.atomic
def profile_update_address(
    *, user: User, street: str, city: str, state: str, postal_code: str, country: str
) -> SellerProfile:
    profile = seller_profile_for(user)
    values = {"street": street, "city": city, "state": state, "postal_code": postal_code, "country": country}
    for field, value in values.items():
        setattr(profile, field, " ".join(value.split()))
    profile.save(update_fields=list(ADDRESS_FIELDS))
    return profile


@transaction.atomic
def profile_update_schedule(
    *,
    user: User,
    time_zone: str,
    culture: str,
    business_hours: Mapping[str, Sequence[str]],
    holiday_country: str,
    language: str | None = None,
) -> SellerProfile:
    """Time zone, culture, language, business hours and holiday calendar. Choosing another country starts
    its calendar afresh: the holidays kept from the previous one no longer apply."""
    errors: dict[str, str] = {}
    if time_zone not in TIME_ZONES:
        errors["time_zone"] = "Choose a time zone from the list."
    if culture not in CULTURES:
        errors["culture"] = "Choose a culture from the list."
    if language is not None and language not in dict(settings.LANGUAGES):
        errors["language"] = "Choose a language from the list."
    if holiday_country and holiday_country not in holiday_countries():
        errors["holiday_country"] = "Choose a country from the list, or none."
    try:
        parse_business_hours(business_hours)
    except ValueError as exc:
        errors["business_hours"] = str(exc)
    if errors:
        raise ValidationError(errors)
    profile = seller_profile_for(user)
    user_changes = {"time_zone": time_zone}
    if language is not None:
        user_changes["language"] = language
    if any(getattr(user, field) != value for field, value in user_changes.items()):
        user_update_profile(user=user, **user_changes)
    fields = ["culture", "business_hours", "holiday_country"]
    if holiday_country != profile.holiday_country:
        profile.holidays_kept = []
        fields.append("holidays_kept")
    profile.culture = culture
    profile.business_hours = {str(day): list(hours) for day, hours in sorted(business_hours.items())}
    profile.holiday_country = holiday_country
    profile.save(update_fields=fields)
    return profile


def _holiday_or_error(profile: SellerProfile, day: date, *, today: date) -> None:
    if not profile.holiday_country:
        raise ValidationError("Choose a holiday country first.")
    if day.year not in (today.year, today.year + 1) or day not in holiday_dates(
        profile.holiday_country, day.year
    ):
        raise ValidationError(f"{day.isoformat()} is not a holiday in your calendar.")


@transaction.atomic
def profile_holiday_keep(*, user: User, day: date, today: date | None = None) -> SellerProfile:
    """Work on holiday ``day`` anyway: Salesflows may send on it."""
    profile = seller_profile_for(user)
    _holiday_or_error(profile, day, today=today or timezone.localdate())
    kept = set(profile.holidays_kept) | {day.isoformat()}
    profile.holidays_kept = sorted(kept)
    profile.save(update_fields=["holidays_kept"])
    return profile


@transaction.atomic
def profile_holiday_exclude(*, user: User, day: date) -> SellerProfile:
    """Undo ``profile_holiday_keep``: ``day`` is excluded again."""
    profile = seller_profile_for(user)
    profile.holidays_kept = [d for d in profile.holidays_kept if d != day.isoformat()]
    profile.save(update_fields=["holidays_kept"])
    return profile


@transaction.atomic
def profile_update_notifications(*, user: User, opened: str, failed: str, clicked: str) -> SellerProfile:
    values = {"notify_opened": opened, "notify_failed": failed, "notify_clicked": clicked}
    errors = {
        f: "Choose Immediately or Never." for f, v in values.items() if v not in NotificationChoice.values
    }
    if errors:
        raise ValidationError(errors)
    profile = seller_profile_for(user)
    for field, value in values.items():
        setattr(profile, field, value)
    profile.save(update_fields=list(values))
    return profile


# --- Reads --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HolidayRow:
    day: date
    name: str
    label: str  # the date written in the user's culture
    kept: bool  # the user works on it
    past: bool


def _calendar(country: str, year: int, language: str | None = None) -> holidays.HolidayBase:
    kwargs = {"language": language} if language else {}
    return holidays.country_holidays(country, years=[year], **kwargs)


def holiday_rows(profile: SellerProfile, *, today: date) -> list[HolidayRow]:
    """This year's and next year's holidays of the profile's country, each marked excluded or kept."""
    country = profile.holiday_country
    if not country or country not in holiday_countries():
        return []
    language = holiday_language(country, profile.culture)
    kept = set(profile.holidays_kept)
    rows = []
    for year in (today.year, today.year + 1):
        for day, name in sorted(_calendar(country, year, language).items()):
            rows.append(
                HolidayRow(
                    day=day,
                    name=name,
                    label=format_date(day, profile.culture),
                    kept=day.isoformat() in kept,
                    past=day < today,
                )
            )
    return rows


@dataclass(frozen=True)
class SendWindowPreview:
    moment: datetime | None  # in the user's zone
    label: str  # the moment written in the user's culture, with its zone
    error: str


def send_window_preview(user: User, *, now: datetime) -> SendWindowPreview:
    """When a Salesflow step due ``now`` would go out, from the saved settings."""
    try:
        moment = next_send_moment_for(user, now)
    except ValueError as exc:
        return SendWindowPreview(moment=None, label="", error=str(exc))
    local = moment.astimezone(ZoneInfo(user.time_zone))
    label = format_moment(local, seller_profile_for(user).culture)
    if local.tzname() != user.time_zone:
        label = f"{label} ({user.time_zone})"
    return SendWindowPreview(moment=local, label=label, error="")
