"""Account: the signed-in user's security links and setup progress. The profile itself (name,
signature, time zone, …) is edited on the Engage Profile page this one links to."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from copilot.services.onboarding import STEPS, onboarding_progress
from copilot.tenancy import member_required


@member_required
@require_GET
def account(request: HttpRequest) -> HttpResponse:
    user = request.user
    return render(
        request,
        "copilot/account.html",
        {
            "progress": onboarding_progress(user),
            "steps": STEPS,
            "state": user.onboarding,
        },
    )


@login_required
def no_organization(request: HttpRequest) -> HttpResponse:
    """Support-only accounts belong to no organisation; they work in the Django admin."""
    return render(request, "copilot/no_organization.html", status=403)
