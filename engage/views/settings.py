"""Settings (A9): email notifications, the verified dialer phone, voicemails and connections.

Forms post to their own URL; with htmx the section swaps in place, without JavaScript a save
redirects back to the page and a form with errors is shown again with what was typed.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from copilot.tenancy import member_required, org_object_or_404
from copilot.views.helpers import apply_validation_error
from engage.forms.profile import CodeForm, NotificationsForm, PhoneForm, VoicemailForm, VoicemailRenameForm
from engage.models import PhoneVerification, Voicemail
from engage.services import phone as phone_services
from engage.services import voicemails as voicemail_services
from engage.services.profile import profile_update_notifications, seller_profile_for

SECTION_TEMPLATES = {
    "notifications": "engage/settings/_notifications.html",
    "phone": "engage/settings/_phone.html",
    "voicemails": "engage/settings/_voicemails.html",
}


def _context(request: HttpRequest, **overrides: Any) -> dict[str, Any]:
    user = request.user
    profile = seller_profile_for(user)
    latest_code = phone_services.phone_verification_latest(user)
    open_code = (
        latest_code if latest_code and phone_services.phone_verification_is_open(latest_code) else None
    )
    voicemails = list(voicemail_services.voicemails_of(user))
    context: dict[str, Any] = {
        "profile": profile,
        "notifications_form": NotificationsForm(initial=NotificationsForm.initial_for(profile)),
        "open_code": open_code,
        "open_code_display": phone_services.phone_display(open_code.phone) if open_code else "",
        "verified_display": phone_services.phone_display(profile.verified_phone)
        if profile.verified_phone
        else "",
        "phone_form": PhoneForm(initial=_phone_initial(request, profile, latest_code)),
        "code_form": CodeForm(),
        "changing_phone": False,
        "phone_error": "",
        "voicemails": voicemails,
        "voicemail_form": VoicemailForm(),
        "voicemail_limit": voicemail_services.MAX_PER_USER,
        "voicemails_full": len(voicemails) >= voicemail_services.MAX_PER_USER,
    }
    context.update(overrides)
    return context


def _phone_initial(request: HttpRequest, profile: Any, latest: PhoneVerification | None) -> dict[str, str]:
    """The number to offer: the one of an unfinished attempt, the verified one, or the dialer
    phone given during onboarding."""
    if latest and latest.verified_at is None:
        return {"phone": phone_services.phone_display(latest.phone), "extension": latest.extension}
    if profile.verified_phone:
        return {
            "phone": phone_services.phone_display(profile.verified_phone),
            "extension": profile.verified_extension,
        }
    return {"phone": request.user.dialer_phone or request.user.phone, "extension": ""}


def _respond(
    request: HttpRequest, section: str, *, ok: bool, message: str = "", **overrides: Any
) -> HttpResponse:
    """Success: the section (htmx) or a redirect to it. Failure: the section or the whole page,
    with the bound form in ``overrides``."""
    if ok and not request.htmx:
        if message:
            messages.success(request, message)
        return redirect(f"{reverse('engage:settings')}#{section}")
    context = _context(request, **overrides)
    if ok:
        context["saved_message"] = message
    if request.htmx:
        return render(request, SECTION_TEMPLATES[section], context)
    return render(request, "engage/settings/page.html", context)


@member_required
def settings_page(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "engage/settings/page.html",
        _context(request, changing_phone=bool(request.GET.get("change_phone"))),
    )


@member_required
@require_POST
def settings_notifications(request: HttpRequest) -> HttpResponse:
    form = NotificationsForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            profile_update_notifications(
                user=request.user,
                opened=data["notify_opened"],
                failed=data["notify_failed"],
                clicked=data["notify_clicked"],
            )
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            return _respond(request, "notifications", ok=True, message="Saved your email notifications.")
    return _respond(request, "notifications", ok=False, notifications_form=form)


# --- Dialer phone verification -----------------------------------------------------------------
@member_required
def phone_section(request: HttpRequest) -> HttpResponse:
    """GET: the phone section; ``?change=1`` shows the form for another number."""
    changing = bool(request.GET.get("change"))
    if not request.htmx:
        query = "?change_phone=1" if changing else ""
        return redirect(f"{reverse('engage:settings')}{query}#phone")
    return render(request, SECTION_TEMPLATES["phone"], _context(request, changing_phone=changing))


@member_required
@require_POST
def phone_start(request: HttpRequest) -> HttpResponse:
    form = PhoneForm(request.POST)
    if form.is_valid():
        try:
            verification = phone_services.phone_verification_start(
                user=request.user, phone=form.cleaned_data["phone"], extension=form.cleaned_data["extension"]
            )
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            sent_to = phone_services.phone_display(verification.phone)
            return _respond(request, "phone", ok=True, message=f"We sent a 6-digit code to {sent_to}.")
    return _respond(request, "phone", ok=False, phone_form=form, changing_phone=True)


@member_required
@require_POST
def phone_confirm(request: HttpRequest) -> HttpResponse:
    form = CodeForm(request.POST)
    if form.is_valid():
        try:
            profile = phone_services.phone_verification_confirm(
                user=request.user, code=form.cleaned_data["code"]
            )
        except ValidationError as exc:
            if phone_services.phone_verification_open(request.user) is None:
                # The code can no longer be used: say why above the form for a new code.
                return _respond(
                    request, "phone", ok=False, phone_error=" ".join(exc.messages), changing_phone=True
                )
            apply_validation_error(form, exc)
        else:
            number = phone_services.phone_display(profile.verified_phone)
            return _respond(request, "phone", ok=True, message=f"Verified {number}.")
    return _respond(request, "phone", ok=False, code_form=form)


@member_required
@require_POST
def phone_resend(request: HttpRequest) -> HttpResponse:
    try:
        verification = phone_services.phone_verification_resend(user=request.user)
    except ValidationError as exc:
        return _respond(request, "phone", ok=False, phone_error=" ".join(exc.messages))
    sent_to = phone_services.phone_display(verification.phone)
    return _respond(request, "phone", ok=True, message=f"We sent a new code to {sent_to}.")


@member_required
@require_POST
def phone_cancel(request: HttpRequest) -> HttpResponse:
    phone_services.phone_verification_cancel(user=request.user)
    if not request.htmx:
        return redirect(f"{reverse('engage:settings')}?change_phone=1#phone")
    return render(request, SECTION_TEMPLATES["phone"], _context(request, changing_phone=True))


# --- Voicemails --------------------------------------------------------------------------------
def _own_voicemail(request: HttpRequest, voicemail_id: int) -> Voicemail:
    """The request user's own voicemail: a teammate's is as unknown as another organisation's."""
    voicemail = org_object_or_404(request, Voicemail, pk=voicemail_id)
    if voicemail.owner_id != request.user.pk:
        raise Http404("No such voicemail.")
    return voicemail


@member_required
@require_POST
def voicemail_upload(request: HttpRequest) -> HttpResponse:
    form = VoicemailForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            voicemail = voicemail_services.voicemail_create(
                user=request.user, title=form.cleaned_data["title"], audio=form.cleaned_data["audio"]
            )
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            return _respond(
                request, "voicemails", ok=True, message=f"Added the voicemail “{voicemail.title}”."
            )
    return _respond(request, "voicemails", ok=False, voicemail_form=form)


RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


@member_required
def voicemail_audio(request: HttpRequest, voicemail_id: int) -> HttpResponse:
    """The recording, streamed; a single ``Range: bytes=`` request is answered with 206 so the
    browser's player can seek."""
    voicemail = _own_voicemail(request, voicemail_id)
    try:
        size = voicemail.audio.size
    except (FileNotFoundError, OSError) as exc:
        raise Http404("The recording's file is missing.") from exc
    match = RANGE_RE.match(request.headers.get("Range", "").strip())
    if match and (match[1] or match[2]):
        if match[1]:
            start, end = int(match[1]), int(match[2]) if match[2] else size - 1
        else:
            start, end = max(0, size - int(match[2])), size - 1
        end = min(end, size - 1)
        if start > end:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return response
        with voicemail.audio.open("rb") as audio:
            audio.seek(start)
            data = audio.read(end - start + 1)
        response = HttpResponse(data, status=206, content_type=voicemail.content_type)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(len(data))
    else:
        response = FileResponse(voicemail.audio.open("rb"), content_type=voicemail.content_type)
        response["Content-Length"] = str(size)
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, no-store"
    return response


@member_required
def voicemail_rename(request: HttpRequest, voicemail_id: int) -> HttpResponse:
    """A page with the rename form, posting to itself."""
    voicemail = _own_voicemail(request, voicemail_id)
    form = VoicemailRenameForm(request.POST or None, initial={"title": voicemail.title})
    if request.method == "POST" and form.is_valid():
        try:
            voicemail_services.voicemail_rename(voicemail=voicemail, title=form.cleaned_data["title"])
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, "Renamed the voicemail.")
            return redirect(f"{reverse('engage:settings')}#voicemails")
    return render(request, "engage/settings/voicemail_rename.html", {"voicemail": voicemail, "form": form})


@member_required
def voicemail_delete(request: HttpRequest, voicemail_id: int) -> HttpResponse:
    """A confirmation page; posting to it deletes."""
    voicemail = _own_voicemail(request, voicemail_id)
    if request.method == "POST":
        voicemail_services.voicemail_delete(voicemail=voicemail)
        messages.success(request, f"Deleted the voicemail “{voicemail.title}”.")
        return redirect(f"{reverse('engage:settings')}#voicemails")
    return render(request, "engage/settings/voicemail_delete.html", {"voicemail": voicemail})
