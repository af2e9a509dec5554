"""Account: the signed-in user's own profile, security and setup progress."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from copilot.forms import AccountForm
from copilot.services.onboarding import STEPS, onboarding_progress
from copilot.services.users import PROFILE_FIELDS, user_update_profile
from copilot.tenancy import member_required


@member_required
def account(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = AccountForm(request.POST or None, initial={f: getattr(user, f) for f in PROFILE_FIELDS})
    if request.method == "POST" and form.is_valid():
        user_update_profile(user=user, **{f: form.cleaned_data[f] for f in PROFILE_FIELDS})
        messages.success(request, "Saved your account details.")
        return redirect("copilot:account")
    return render(
        request,
        "copilot/account.html",
        {
            "form": form,
            "progress": onboarding_progress(user),
            "steps": STEPS,
            "state": user.onboarding,
        },
    )


@login_required
def no_organization(request: HttpRequest) -> HttpResponse:
    """Support-only accounts belong to no organisation; they work in the Django admin."""
    return render(request, "copilot/no_organization.html", status=403)
