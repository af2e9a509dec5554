"""Admin Portal › Group Management (A4)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from copilot import selectors
from copilot.forms import GroupForm
from copilot.models import OrgGroup
from copilot.services import groups as group_services
from copilot.tenancy import admin_required, org_object_or_404
from copilot.views.helpers import apply_validation_error


@admin_required
def group_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "copilot/portal/groups.html",
        {"groups": selectors.group_list(organization=request.organization)},
    )


@admin_required
def group_create(request: HttpRequest) -> HttpResponse:
    form = GroupForm(request.POST or None, organization=request.organization)
    if request.method == "POST" and form.is_valid():
        try:
            group = group_services.group_create(
                organization=request.organization, actor=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, f"Created the group {group.name}.")
            return redirect("copilot:groups")
    return render(request, "copilot/portal/group_form.html", {"form": form, "group": None})


@admin_required
def group_edit(request: HttpRequest, group_id: int) -> HttpResponse:
    group = org_object_or_404(request, OrgGroup, pk=group_id)
    initial = {"name": group.name, "description": group.description, "members": group.members.all()}
    form = GroupForm(request.POST or None, initial=initial, organization=request.organization)
    if request.method == "POST" and form.is_valid():
        try:
            group_services.group_update(group=group, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, f"Saved the group {group.name}.")
            return redirect("copilot:groups")
    return render(request, "copilot/portal/group_form.html", {"form": form, "group": group})


@admin_required
def group_delete(request: HttpRequest, group_id: int) -> HttpResponse:
    group = org_object_or_404(request, OrgGroup, pk=group_id)
    if request.method == "POST":
        group_services.group_delete(group=group, actor=request.user)
        messages.success(request, f"Deleted the group {group.name}. Its members were not deleted.")
        return redirect("copilot:groups")
    return render(
        request, "copilot/portal/group_delete.html", {"group": group, "member_count": group.members.count()}
    )
