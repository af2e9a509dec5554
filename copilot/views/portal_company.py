"""Admin Portal › Company settings: name, packages, recent changes."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from copilot import selectors
from copilot.forms import OrganizationForm
from copilot.models import PACKAGES
from copilot.services.organizations import organization_update
from copilot.tenancy import admin_required


@admin_required
def company(request: HttpRequest) -> HttpResponse:
    org = request.organization
    form = OrganizationForm(request.POST or None, initial={"name": org.name})
    if request.method == "POST" and form.is_valid():
        organization_update(organization=org, actor=request.user, name=form.cleaned_data["name"])
        messages.success(request, "Saved the company settings.")
        return redirect("copilot:company")
    packages = [{"package": p, "active": org.has_package(p.code)} for p in PACKAGES.values()]
    return render(
        request,
        "copilot/portal/company.html",
        {
            "form": form,
            "packages": packages,
            "events": selectors.recent_audit_events(organization=org),
        },
    )
