"""CSV import of contacts (F1): Upload → Map columns → Review & import, the live progress
partial, the results with the downloadable row report, and the list of one's recent imports."""

from __future__ import annotations

from pathlib import PurePath

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from copilot.tenancy import member_required, org_object_or_404
from copilot.views.helpers import apply_validation_error
from engage.imports import reads as import_reads
from engage.imports.fields import FIELDS
from engage.imports.forms import MappingForm, UploadForm, submitted_mapping
from engage.models import ContactImport
from engage.services import imports as import_services
from engage.services.crm.linking import import_crm_push_resuming, import_crm_pushing

PROBLEMS_SHOWN = 200
Status = ContactImport.Status


@member_required
def import_start(request: HttpRequest) -> HttpResponse:
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            contact_import = import_services.import_create(
                organization=request.organization, actor=request.user, upload=form.cleaned_data["file"]
            )
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            return redirect("engage:import_map", import_id=contact_import.pk)
    recent = import_reads.import_list(organization=request.organization, user=request.user, limit=5)
    return render(request, "engage/imports/start.html", {"form": form, "step": 1, "recent": recent})


@member_required
@require_GET
def import_list(request: HttpRequest) -> HttpResponse:
    imports = import_reads.import_list(organization=request.organization, user=request.user)
    return render(request, "engage/imports/list.html", {"imports": imports})


@member_required
def import_map(request: HttpRequest, import_id: int) -> HttpResponse:
    contact_import = org_object_or_404(request, ContactImport, pk=import_id)
    if not import_services.import_can_remap(contact_import):
        messages.info(request, "The columns of this import can no longer be changed.")
        return redirect("engage:import_detail", import_id=contact_import.pk)
    form = MappingForm(request.POST or None, contact_import=contact_import)
    if request.method == "POST" and form.is_valid():
        try:
            import_services.import_set_mapping(
                contact_import=contact_import,
                actor=request.user,
                mapping=form.mapping(),
                on_duplicate=form.cleaned_data["on_duplicate"],
                owner_choice=form.cleaned_data["owner_choice"] or None,
                assigned_owner=form.cleaned_data["assigned_owner"],
            )
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            return redirect("engage:import_detail", import_id=contact_import.pk)
    mapping = (
        submitted_mapping(request.POST, contact_import.headers)
        if request.method == "POST"
        else contact_import.mapping
    )
    samples = import_reads.import_samples(contact_import=contact_import)
    non_utf8_lines, non_utf8_count, non_utf8_samples = import_services.import_non_utf8_lines(contact_import)
    context = {
        "contact_import": contact_import,
        "non_utf8_lines": non_utf8_lines,
        "non_utf8_count": non_utf8_count,
        "non_utf8_samples": non_utf8_samples,
        "non_utf8_more": non_utf8_count - len(non_utf8_lines),
        "form": form,
        "step": 2,
        "columns": list(zip(form.column_fields(), contact_import.headers, samples, strict=True)),
        **_preview_context(contact_import, mapping),
    }
    return render(request, "engage/imports/map.html", context)


@member_required
@require_POST
def import_preview(request: HttpRequest, import_id: int) -> HttpResponse:
    """The preview table for the choices in the form as it is now (htmx, on every change)."""
    contact_import = org_object_or_404(request, ContactImport, pk=import_id)
    mapping = submitted_mapping(request.POST, contact_import.headers)
    return render(request, "engage/imports/_preview.html", _preview_context(contact_import, mapping))


def _preview_context(contact_import: ContactImport, mapping: dict[str, str]) -> dict:
    chosen = set(mapping.values())
    if "full_name" in chosen:  # shown as the first and last name it becomes
        chosen |= {"first_name", "last_name"}
    fields = [f for f in FIELDS if f.key in chosen and f.key != "full_name"]
    rows = import_reads.import_preview(contact_import=contact_import, mapping=mapping)
    preview = [
        {
            "number": row.number,
            "cells": [_shown(row.values.get(f.key, "")) for f in fields],
            "problems": row.problems,
        }
        for row in rows
    ]
    return {"preview_fields": fields, "preview_rows": preview}


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(value)


@member_required
def import_detail(request: HttpRequest, import_id: int) -> HttpResponse:
    contact_import = org_object_or_404(
        request, ContactImport.objects.select_related("created_by"), pk=import_id
    )
    import_services.import_for_page(contact_import=contact_import)
    return render(request, "engage/imports/detail.html", _status_context(contact_import, step=3))


@member_required
def import_progress(request: HttpRequest, import_id: int) -> HttpResponse:
    """The status block alone: polled every second while a pass runs; once it has finished the
    block comes back without its polling trigger, which stops the polling."""
    contact_import = org_object_or_404(request, ContactImport, pk=import_id)
    import_services.import_for_page(contact_import=contact_import)
    return render(request, "engage/imports/_status.html", _status_context(contact_import))


def _status_context(contact_import: ContactImport, **extra) -> dict:
    problems, more = [], False
    if contact_import.status in (Status.DONE, Status.FAILED):
        problems, more = import_reads.import_report_rows(contact_import=contact_import, limit=PROBLEMS_SHOWN)
    return {
        "contact_import": contact_import,
        "running": contact_import.status in (Status.VALIDATING, Status.IMPORTING),
        "crm_pushing": import_crm_pushing(contact_import),
        "crm_push_resuming": import_crm_push_resuming(contact_import),
        "can_remap": import_services.import_can_remap(contact_import),
        "report_problems": problems,
        "more_problems": more,
        "problems_shown": PROBLEMS_SHOWN,
        **extra,
    }


@member_required
@require_POST
def import_run(request: HttpRequest, import_id: int) -> HttpResponse:
    contact_import = org_object_or_404(request, ContactImport, pk=import_id)
    try:
        import_services.import_start(contact_import=contact_import, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("engage:import_detail", import_id=contact_import.pk)


@member_required
def import_report(request: HttpRequest, import_id: int) -> HttpResponse:
    contact_import = org_object_or_404(request, ContactImport, pk=import_id)
    if not contact_import.report:
        return render(request, "engage/imports/report_missing.html", {"contact_import": contact_import})
    stem = PurePath(contact_import.original_name).stem or "contacts"
    return FileResponse(
        contact_import.report.open("rb"),
        as_attachment=True,
        filename=f"{stem} - import report.csv",
        content_type="text/csv; charset=utf-8",
    )
