"""Profile (A8): primary info, email signature, address, time zone and business hours, holidays.

Each section has its own Edit / Save. With htmx a section swaps in place (``?edit=1`` asks for its
form); without JavaScript the page is reloaded with ``?edit=<section>`` and a save redirects back.
A form with errors is shown again with what was typed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from copilot.models import User
from copilot.tenancy import member_required
from copilot.views.helpers import apply_validation_error
from engage.cultures import CULTURES, holiday_countries
from engage.forms.profile import AddressForm, HolidayForm, PrimaryInfoForm, ScheduleForm, SignatureForm
from engage.scheduling import WEEKDAYS
from engage.services import profile as services
from engage.signatures import CHOICE_LABELS, signature_html, signature_previews


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    form: type[forms.Form]
    initial: Callable[[User], dict[str, Any]]
    save: Callable[[User, dict[str, Any]], object]


SECTIONS: dict[str, Section] = {
    s.key: s
    for s in (
        Section(
            "primary",
            "Primary info",
            PrimaryInfoForm,
            PrimaryInfoForm.initial_for,
            lambda user, d: services.profile_update_primary(user=user, **d),
        ),
        Section(
            "signature",
            "Email signature",
            SignatureForm,
            SignatureForm.initial_for,
            lambda user, d: services.profile_update_signature(
                user=user, choice=d["signature_choice"], custom=d["signature_custom"]
            ),
        ),
        Section(
            "address",
            "Address",
            AddressForm,
            lambda user: AddressForm.initial_for(services.seller_profile_for(user)),
            lambda user, d: services.profile_update_address(user=user, **d),
        ),
        Section(
            "schedule",
            "Time zone and business hours",
            ScheduleForm,
            lambda user: ScheduleForm.initial_for(user, services.seller_profile_for(user)),
            lambda user, d: services.profile_update_schedule(
                user=user,
                time_zone=d["time_zone"],
                culture=d["culture"],
                language=d["language"],
                business_hours=d["business_hours"],
                holiday_country=d["holiday_country"],
            ),
        ),
    )
}


def _context(request: HttpRequest, *, editing: str = "", bound: forms.Form | None = None) -> dict[str, Any]:
    user = request.user
    profile = services.seller_profile_for(user)
    forms_by_section = {
        key: (bound if bound is not None and key == editing else section.form(initial=section.initial(user)))
        for key, section in SECTIONS.items()
    }
    hours = profile.business_hours or {}
    holidays = services.holiday_rows(profile, today=timezone.localdate())
    return {
        "profile": profile,
        "editing": editing,
        "forms": forms_by_section,
        "signature_current": signature_html(user),
        "signature_label": CHOICE_LABELS.get(user.signature_choice, ""),
        "signature_previews": signature_previews(user),
        "culture_label": CULTURES[profile.culture].label if profile.culture in CULTURES else profile.culture,
        "country_label": holiday_countries().get(profile.holiday_country, ""),
        "hours_rows": [(name, hours.get(str(day))) for day, name in enumerate(WEEKDAYS)],
        "holidays": holidays,
        "past_holidays": [h for h in holidays if h.past],
        "preview": services.send_window_preview(user, now=timezone.now()),
        "country_names": holiday_countries().values(),
    }


@member_required
def profile_page(request: HttpRequest) -> HttpResponse:
    editing = request.GET.get("edit", "")
    return render(
        request, "engage/profile/page.html", _context(request, editing=editing if editing in SECTIONS else "")
    )


def _section_response(
    request: HttpRequest, key: str, context: dict[str, Any], *, saved: bool = False
) -> HttpResponse:
    context.update({"saved": saved, "oob": key == "schedule"})
    response = render(request, f"engage/profile/_{key}.html", context)
    if saved and key == "primary":
        response["HX-Trigger"] = "profile-changed"  # the signature previews show the new name
    return response


def _section_view(key: str) -> Callable[[HttpRequest], HttpResponse]:
    section = SECTIONS[key]

    @member_required
    def view(request: HttpRequest) -> HttpResponse:
        if request.method == "POST":
            form = section.form(request.POST)
            if form.is_valid():
                try:
                    section.save(request.user, form.cleaned_data)
                except ValidationError as exc:
                    apply_validation_error(form, exc)
                else:
                    if request.htmx:
                        return _section_response(request, key, _context(request), saved=True)
                    messages.success(request, f"Saved your {section.title.lower()}.")
                    return redirect(f"{reverse('engage:profile')}#{key}")
            context = _context(request, editing=key, bound=form)
            if request.htmx:
                return _section_response(request, key, context)
            return render(request, "engage/profile/page.html", context)
        editing = key if request.GET.get("edit") else ""
        if not request.htmx:
            query = f"?edit={key}" if editing else ""
            return redirect(f"{reverse('engage:profile')}{query}#{key}")
        return _section_response(request, key, _context(request, editing=editing))

    view.__name__ = f"profile_{key}"
    return view


profile_primary = _section_view("primary")
profile_signature = _section_view("signature")
profile_address = _section_view("address")
profile_schedule = _section_view("schedule")


def _holiday_view(action: Callable[..., object], done: str) -> Callable[[HttpRequest], HttpResponse]:
    @member_required
    @require_POST
    def view(request: HttpRequest) -> HttpResponse:
        form = HolidayForm(request.POST)
        error = ""
        if not form.is_valid():
            error = "That is not a date."
        else:
            try:
                action(user=request.user, day=form.cleaned_data["day"])
            except ValidationError as exc:
                error = " ".join(exc.messages)
        if request.htmx:
            context = _context(request)
            context.update({"holiday_error": error, "oob_preview": True})
            return render(request, "engage/profile/_holidays.html", context)
        if error:
            messages.error(request, error)
        else:
            messages.success(request, done)
        return redirect(f"{reverse('engage:profile')}#holidays")

    return view


profile_holiday_keep = _holiday_view(services.profile_holiday_keep, "You work on that holiday now.")
profile_holiday_exclude = _holiday_view(services.profile_holiday_exclude, "That holiday is excluded again.")
