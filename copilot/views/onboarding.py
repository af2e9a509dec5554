"""The onboarding wizard (A3): one page per step, each savable or skippable."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from copilot.forms import STEP_FORMS, step_initial
from copilot.services.onboarding import (
    STEPS,
    onboarding_next_step,
    onboarding_progress,
    onboarding_save_step,
    onboarding_skip_step,
    step_by_key,
)
from copilot.tenancy import member_required


def _after(request: HttpRequest) -> HttpResponse:
    nxt = onboarding_next_step(request.user)
    if nxt is None:
        return redirect("copilot:onboarding_done")
    return redirect("copilot:onboarding_step", step=nxt.key)


@member_required
def onboarding(request: HttpRequest) -> HttpResponse:
    return _after(request)


@member_required
def onboarding_step(request: HttpRequest, step: str) -> HttpResponse:
    try:
        current = step_by_key(step)
    except KeyError as exc:
        raise Http404("No such step.") from exc
    user = request.user
    form_class = STEP_FORMS[current.key]
    if request.method == "POST" and "skip" in request.POST:
        onboarding_skip_step(user=user, step_key=current.key)
        messages.info(request, f"Skipped “{current.title}”. You can finish it later from Account.")
        return _after(request)
    form = form_class(request.POST or None, initial=step_initial(current.key, user), user=user)
    if request.method == "POST" and form.is_valid():
        onboarding_save_step(user=user, step_key=current.key, data=form.cleaned_data)
        return _after(request)
    index = [s.key for s in STEPS].index(current.key)
    return render(
        request,
        "copilot/onboarding/step.html",
        {
            "form": form,
            "step": current,
            "steps": STEPS,
            "index": index + 1,
            "progress": onboarding_progress(user),
            "state": user.onboarding,
        },
    )


@member_required
def onboarding_done(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "copilot/onboarding/done.html",
        {
            "progress": onboarding_progress(request.user),
            "steps": STEPS,
            "state": request.user.onboarding,
        },
    )
