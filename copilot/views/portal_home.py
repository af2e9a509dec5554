"""Admin Portal home: the organisation's state at a glance (users, invitations, connections'
health, sync errors needing attention, the Salesforce API budget), with links to each area.

Portal views are copilot's wiring, which may read integrations (tests/test_architecture.py);
the reads themselves live in ``integrations.overview``."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from copilot.tenancy import admin_required
from integrations.overview import portal_overview


@admin_required
def portal_home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "copilot/portal/home.html",
        {"overview": portal_overview(organization=request.organization)},
    )
