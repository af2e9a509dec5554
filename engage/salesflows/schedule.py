"""When an enrolment's step is due: its delay after the previous step, then the sender's window.

``SenderCalendar.of(sender)`` reads the sender's profile and time off once (two queries at most,
and no write: a sender without a profile yet has the defaults);
``due_at(step, after=…, contact=…)`` is then pure for any number of contacts:

- the delay: minutes and hours are elapsed time; days and business days keep the wall-clock
  time in the sender's zone (a day across a clock change is 23 or 25 hours). A business day is a
  day of the sender's business hours that is not an excluded holiday nor time off;
- then an automatic email goes at the first moment inside the sender's window and the
  recipient's business day (``engage.services.profile.next_send_moment_for``: the contact's
  country, when it is known, gives their zone and holidays); a manual email, call or task becomes
  due at the first moment of the sender's own window (the seller's queue fills during their
  working hours, and waits out their holidays and time off).

Caps and spreading between a mailbox's sends (``engage.scheduling.place_send``) are the engine's,
at dispatch: an enrolment's ``due_at`` is the earliest it may go.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from engage.cultures import country_code_for
from engage.models import SellerProfile, SellerTimeOff
from engage.models.salesflows import DelayUnit, StepKind
from engage.scheduling import holiday_dates, kept_dates, local_to_utc, parse_business_hours, zone_named
from engage.services.profile import next_send_moment_for

if TYPE_CHECKING:
    from copilot.models import User
    from engage.models import Contact, SalesflowStep

# How far a business-day delay may look ahead for its working days.
_BUSINESS_DAY_SEARCH = 400


def sender_time_off(sender: User, *, since: date | None = None) -> tuple[tuple[date, date], ...]:
    """The sender's time off as ``(first_day, last_day)`` ranges (one query)."""
    rows = SellerTimeOff.objects.for_org(sender.organization_id).filter(user=sender)
    if since is not None:
        rows = rows.filter(end_date__gte=since)
    return tuple(rows.order_by("start_date").values_list("start_date", "end_date"))


def recipient_country(contact: Contact | Any) -> str:
    """The contact's country as an ISO code, or "" when it is not given or not recognised."""
    return country_code_for(getattr(contact, "country", "") or "") or ""


def _profile_without_writing(sender: User) -> SellerProfile:
    """The sender's profile, loaded once and kept on the user for ``next_send_moment_for``. A sender
    without one yet gets the defaults, unsaved: the enrolment check may run on a page view, which
    writes nothing (the profile is made when they first save their settings)."""
    try:
        return sender.seller_profile
    except SellerProfile.DoesNotExist:
        profile = SellerProfile(user=sender, organization_id=sender.organization_id)
        sender.seller_profile = profile
        return profile


@dataclass
class SenderCalendar:
    sender: User
    time_off: tuple[tuple[date, date], ...]

    @classmethod
    def of(cls, sender: User) -> SenderCalendar:
        _profile_without_writing(sender)
        return cls(sender=sender, time_off=sender_time_off(sender))

    def window(self, at: datetime, *, contact: Contact | Any | None = None, email: bool = False) -> datetime:
        """The first moment at or after ``at`` that the sender's window (and for an automatic
        email, the recipient's business day) allows. ``ValueError`` when none opens within a year."""
        return next_send_moment_for(
            self.sender,
            at,
            time_off=self.time_off,
            recipient_country=recipient_country(contact) if (email and contact is not None) else "",
        )

    def after_delay(self, at: datetime, amount: int, unit: str) -> datetime:
        if amount <= 0:
            return at
        if unit == DelayUnit.MINUTES:
            return at + timedelta(minutes=amount)
        if unit == DelayUnit.HOURS:
            return at + timedelta(hours=amount)
        zone = zone_named(self.sender.time_zone)
        local = at.astimezone(zone)
        day = local.date()
        if unit == DelayUnit.DAYS:
            day += timedelta(days=amount)
        else:
            day = self._business_days_after(day, amount)
        return local_to_utc(day, local.time(), zone)

    def _business_days_after(self, day: date, amount: int) -> date:
        profile = _profile_without_writing(self.sender)
        working = parse_business_hours(profile.business_hours)
        kept = frozenset(kept_dates(profile.holidays_kept))
        country = profile.holiday_country
        counted = 0
        for _ in range(_BUSINESS_DAY_SEARCH):
            day += timedelta(days=1)
            if day.weekday() not in working or any(first <= day <= last for first, last in self.time_off):
                continue
            if country and day not in kept and day in holiday_dates(country, day.year):
                continue
            counted += 1
            if counted == amount:
                return day
        raise ValueError(f"No {amount} business days within {_BUSINESS_DAY_SEARCH} days.")

    def due_at(
        self, step: SalesflowStep, *, after: datetime, contact: Contact | Any | None = None
    ) -> datetime:
        """When ``step`` is due for ``contact`` when the previous step was done at ``after``."""
        moment = self.after_delay(after, step.delay_amount, step.delay_unit)
        return self.window(moment, contact=contact, email=step.kind == StepKind.AUTO_EMAIL)
