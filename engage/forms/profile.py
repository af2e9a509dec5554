"""Forms of the Profile (A8) and Settings (A9) pages. They check what a person typed; the rules
about what may be stored live in ``engage.services.profile``, ``phone`` and ``voicemails``."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat

from copilot.forms import clean_phone
from copilot.models import TIME_ZONES, User
from copilot.validators import refuse_control_characters
from engage.cultures import CULTURES, holiday_countries
from engage.models import NotificationChoice, SellerProfile
from engage.scheduling import WEEKDAYS
from engage.services.profile import ADDRESS_FIELDS
from engage.services.voicemails import ACCEPT, TITLE_MAX
from engage.signatures import CHOICE_LABELS

TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})(?::\d{2})?$")
DEFAULT_HOURS = ("09:00", "17:00")


class PrimaryInfoForm(forms.Form):
    first_name = forms.CharField(
        max_length=150,
        validators=[refuse_control_characters],
        error_messages={"required": "Enter your first name."},
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "given-name"}),
    )
    last_name = forms.CharField(
        max_length=150,
        validators=[refuse_control_characters],
        error_messages={"required": "Enter your last name."},
    )
    job_title = forms.CharField(max_length=150, required=False)
    phone = forms.CharField(
        max_length=40, required=False, widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"})
    )

    def clean_phone(self) -> str:
        return clean_phone(self.cleaned_data["phone"])

    @staticmethod
    def initial_for(user: User) -> dict[str, str]:
        return {f: getattr(user, f) for f in ("first_name", "last_name", "job_title", "phone")}


class SignatureForm(forms.Form):
    signature_choice = forms.ChoiceField(
        label="Signature",
        choices=[(choice.value, CHOICE_LABELS[choice]) for choice in CHOICE_LABELS],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose a template, Custom or No signature."},
    )
    signature_custom = forms.CharField(
        label="Custom signature",
        required=False,
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Bold, italic, links and line breaks are kept; anything else is removed.",
    )

    @staticmethod
    def initial_for(user: User) -> dict[str, str]:
        return {"signature_choice": user.signature_choice, "signature_custom": user.signature_custom}


class AddressForm(forms.Form):
    street = forms.CharField(
        max_length=255,
        required=False,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "street-address"}),
    )
    city = forms.CharField(max_length=100, required=False)
    state = forms.CharField(label="State / province", max_length=100, required=False)
    postal_code = forms.CharField(label="Postal / ZIP code", max_length=20, required=False)
    country = forms.CharField(
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"list": "country-names", "autocomplete": "country-name"}),
        help_text="Also the country your phone numbers are read in when they have no +code.",
    )

    @staticmethod
    def initial_for(profile: SellerProfile) -> dict[str, str]:
        return {f: getattr(profile, f) for f in ADDRESS_FIELDS}


def _time_input() -> forms.TextInput:
    return forms.TextInput(attrs={"type": "time", "pattern": r"\d{2}:\d{2}"})


class ScheduleForm(forms.Form):
    """Time zone, culture, the seven days' business hours and the holiday calendar."""

    time_zone = forms.ChoiceField(
        choices=[(tz, tz.replace("_", " ")) for tz in TIME_ZONES],
        widget=forms.Select(attrs={"autofocus": True}),
    )
    culture = forms.ChoiceField(
        choices=[(c.code, c.label) for c in CULTURES.values()],
        help_text="How dates and times are written for you.",
    )
    language = forms.ChoiceField(choices=settings.LANGUAGES, help_text="The language Cadence speaks to you.")
    holiday_country = forms.ChoiceField(
        label="Holiday calendar",
        required=False,
        help_text="Its public holidays are excluded from your send windows.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["holiday_country"].choices = [("", "No holidays"), *holiday_countries().items()]
        for day, name in enumerate(WEEKDAYS):
            self.fields[f"day_{day}_on"] = forms.BooleanField(label=f"Work on {name}", required=False)
            self.fields[f"day_{day}_start"] = forms.CharField(
                label=f"{name} start", required=False, widget=_time_input()
            )
            self.fields[f"day_{day}_end"] = forms.CharField(
                label=f"{name} end", required=False, widget=_time_input()
            )

    @staticmethod
    def initial_for(user: User, profile: SellerProfile) -> dict[str, Any]:
        hours = profile.business_hours or {}
        fallback = next(iter(hours.values()), DEFAULT_HOURS)
        initial: dict[str, Any] = {
            "time_zone": user.time_zone,
            "culture": profile.culture,
            "language": user.language,
            "holiday_country": profile.holiday_country,
        }
        for day in range(7):
            start, end = hours.get(str(day), fallback)
            initial.update(
                {f"day_{day}_on": str(day) in hours, f"day_{day}_start": start, f"day_{day}_end": end}
            )
        return initial

    def days(self) -> list[dict[str, Any]]:
        """One row per weekday for the template: its name and three bound fields."""
        return [
            {
                "index": day,
                "name": name,
                "on": self[f"day_{day}_on"],
                "start": self[f"day_{day}_start"],
                "end": self[f"day_{day}_end"],
            }
            for day, name in enumerate(WEEKDAYS)
        ]

    def _time(self, day: int, which: str) -> str | None:
        field = f"day_{day}_{which}"
        value = (self.cleaned_data.get(field) or "").strip()
        match = TIME_RE.match(value)
        label = "start" if which == "start" else "end"
        if not value:
            self.add_error(field, f"{WEEKDAYS[day]}: enter the {label} time.")
            return None
        if not match or int(match[1]) > 23 or int(match[2]) > 59:
            self.add_error(field, f"{WEEKDAYS[day]}: enter the {label} time as HH:MM, e.g. 09:00.")
            return None
        return f"{int(match[1]):02d}:{match[2]}"

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        business_hours: dict[str, list[str]] = {}
        for day in range(7):
            if not data.get(f"day_{day}_on"):
                continue
            start, end = self._time(day, "start"), self._time(day, "end")
            if start and end:
                if end <= start:
                    self.add_error(f"day_{day}_end", f"{WEEKDAYS[day]}: the end must be after the start.")
                else:
                    business_hours[str(day)] = [start, end]
        if not any(data.get(f"day_{day}_on") for day in range(7)):
            self.add_error(None, "Choose at least one working day.")
        data["business_hours"] = business_hours
        return data


class HolidayForm(forms.Form):
    day = forms.DateField(input_formats=["%Y-%m-%d"])


class NotificationsForm(forms.Form):
    notify_opened = forms.ChoiceField(label="Email opened", choices=NotificationChoice.choices)
    notify_failed = forms.ChoiceField(label="Email failed delivery", choices=NotificationChoice.choices)
    notify_clicked = forms.ChoiceField(label="Link clicked", choices=NotificationChoice.choices)

    @staticmethod
    def initial_for(profile: SellerProfile) -> dict[str, str]:
        return {f: getattr(profile, f) for f in ("notify_opened", "notify_failed", "notify_clicked")}


class PhoneForm(forms.Form):
    phone = forms.CharField(
        label="Phone number",
        max_length=40,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
        error_messages={"required": "Enter the phone number to verify."},
        help_text="With the country code, e.g. +1 415 555 0100, unless it is in your profile's country.",
    )
    extension = forms.CharField(
        label="Extension (optional)",
        max_length=10,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Verification code",
        max_length=12,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "autofocus": True}
        ),
        error_messages={"required": "Enter the 6-digit code."},
    )

    def clean_code(self) -> str:
        code = "".join(self.cleaned_data["code"].split())
        if not (code.isdigit() and len(code) == 6):
            raise forms.ValidationError("Enter the 6-digit code.")
        return code


class VoicemailForm(forms.Form):
    title = forms.CharField(max_length=TITLE_MAX, error_messages={"required": "Give the voicemail a title."})
    audio = forms.FileField(
        label="Audio file",
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
        error_messages={"required": "Choose an audio file to upload."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limit = filesizeformat(settings.VOICEMAIL_MAX_BYTES)
        self.fields["audio"].help_text = f"MP3, WAV, Ogg, WebM or M4A; at most {limit}."


class VoicemailRenameForm(forms.Form):
    title = forms.CharField(max_length=TITLE_MAX, error_messages={"required": "Give the voicemail a title."})
