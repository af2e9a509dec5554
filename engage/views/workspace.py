"""The Engage workspace shell: home and the sections later issues fill."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from copilot.services.onboarding import onboarding_progress
from copilot.tenancy import member_required
from engage.today import today_page, todays_actions


def landing(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("engage:home")
    return redirect("account_login")


@member_required
def home(request: HttpRequest) -> HttpResponse:
    """Today: the seller's due actions, meetings, mail from contacts and contacts with new activity."""
    org = request.organization
    lock = org.package_lock_reason("copilot")
    return render(
        request,
        "engage/home.html",
        {
            "progress": onboarding_progress(request.user),
            "today": None if lock else today_page(organization=org, viewer=request.user),
            "intelligence_lock": lock,
            "actions": todays_actions(viewer=request.user),
        },
    )


def _section(template: str):
    @member_required
    def view(request: HttpRequest) -> HttpResponse:
        return render(request, template)

    view.__name__ = template.rsplit("/", 1)[-1].removesuffix(".html")
    return view


analytics = _section("engage/analytics.html")
feed = _section("engage/feed.html")
