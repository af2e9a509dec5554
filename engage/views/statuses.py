"""Admin Portal › Contact Status (F3): the organisation's status list. Every write works as a
plain form post (redirect back with a message); with htmx the list swaps in place instead."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from copilot.tenancy import admin_required, org_object_or_404
from copilot.views.helpers import apply_validation_error
from engage.forms.statuses import MoveForm, StatusDeleteForm, StatusForm
from engage.models import Contact, ContactStatus
from engage.services import statuses as status_services
from engage.services.crm import configuration as crm_services
from engage.services.statuses import CRM_READ_ONLY_MESSAGE, StatusesManagedByCrm

LIST_TEMPLATE = "engage/portal/statuses_list.html"


def _render_list(
    request: HttpRequest,
    *,
    add_form: StatusForm | None = None,
    edit_form: StatusForm | None = None,
    edit_status: ContactStatus | None = None,
    notice: str = "",
) -> HttpResponse:
    """The whole page, or with htmx only the list (which carries its own notice line)."""
    organization = request.organization
    context = {
        "statuses": list(status_services.status_list(organization=organization)),
        "from_crm": status_services.statuses_from_crm(organization=organization),
        # F3's banner, on the whole page only: it reads Salesforce's describe (cached).
        "statuses_mapping_pending": not request.htmx
        and bool(crm_services.crm_statuses_pending(organization=organization)),
        "crm_message": CRM_READ_ONLY_MESSAGE,
        "add_form": add_form or StatusForm(),
        "edit_form": edit_form,
        "edit_status_id": edit_status.pk if edit_status else None,
        "notice": notice if request.htmx else "",
    }
    template = LIST_TEMPLATE if request.htmx else "engage/portal/statuses.html"
    return render(request, template, context)


def _done(request: HttpRequest, notice: str) -> HttpResponse:
    if request.htmx:
        return _render_list(request, notice=notice)
    messages.success(request, notice)
    return redirect("engage:statuses")


def _refused(request: HttpRequest, message: str) -> HttpResponse:
    if request.htmx:
        return HttpResponse(message, status=403)
    messages.error(request, message)
    return redirect("engage:statuses")


def _editable(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Writes are refused, with nothing changed, while the list comes from the CRM (the
    services refuse too; this only turns the refusal into a message)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except StatusesManagedByCrm as exc:
            return _refused(request, str(exc))

    return wrapper


@admin_required
def status_list(request: HttpRequest) -> HttpResponse:
    status_services.statuses_ensure_defaults(organization=request.organization)
    return _render_list(request)


@admin_required
@require_POST
@_editable
def status_create(request: HttpRequest) -> HttpResponse:
    form = StatusForm(request.POST)
    if form.is_valid():
        try:
            status = status_services.status_create(
                organization=request.organization, actor=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            return _done(request, f"Added the status {status.name}.")
    return _render_list(request, add_form=form)


@admin_required
@require_POST
@_editable
def status_update(request: HttpRequest, status_id: int) -> HttpResponse:
    status = org_object_or_404(request, ContactStatus, pk=status_id)
    old_name = status.name
    form = StatusForm(request.POST)
    if form.is_valid():
        try:
            status_services.status_update(status=status, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            if status.name != old_name:
                return _done(request, f"Renamed {old_name} to {status.name}.")
            return _done(request, f"Saved {status.name}.")
    status.name = old_name
    return _render_list(request, edit_form=form, edit_status=status)


@admin_required
@require_POST
@_editable
def status_move(request: HttpRequest, status_id: int) -> HttpResponse:
    status = org_object_or_404(request, ContactStatus, pk=status_id)
    form = MoveForm(request.POST)
    if not form.is_valid():
        return _refused(request, "Move a status up or down.")
    direction = form.cleaned_data["direction"]
    status_services.status_move(status=status, actor=request.user, direction=direction)
    return _done(request, f"Moved {status.name} {direction}.")


@admin_required
@require_POST
@_editable
def status_set_default(request: HttpRequest, status_id: int) -> HttpResponse:
    status = org_object_or_404(request, ContactStatus, pk=status_id)
    status_services.status_set_default(status=status, actor=request.user)
    return _done(request, f"New contacts now start as {status.name}.")


@admin_required
@_editable
def status_delete(request: HttpRequest, status_id: int) -> HttpResponse:
    status = org_object_or_404(request, ContactStatus, pk=status_id)
    organization = request.organization
    if status_services.statuses_from_crm(organization=organization):
        return _refused(request, CRM_READ_ONLY_MESSAGE)
    contact_count = Contact.objects.for_org(organization).filter(status=status).count()
    is_last = not ContactStatus.objects.for_org(organization).exclude(pk=status.pk).exists()
    data = request.POST if request.method == "POST" else None
    form = StatusDeleteForm(data, status=status, needs_target=contact_count > 0)
    if request.method == "POST" and not status.is_default and not is_last and form.is_valid():
        try:
            moved = status_services.status_delete(
                status=status, move_to=form.cleaned_data.get("move_to"), actor=request.user
            )
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            target = form.cleaned_data.get("move_to")
            suffix = f" {moved} contact{'s' if moved != 1 else ''} moved to {target.name}." if moved else ""
            messages.success(request, f"Deleted the status {status.name}.{suffix}")
            return redirect("engage:statuses")
    return render(
        request,
        "engage/portal/statuses_delete.html",
        {"status": status, "contact_count": contact_count, "is_last": is_last, "form": form},
    )
