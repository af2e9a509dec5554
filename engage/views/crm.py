"""Admin Portal › CRM (G2, G3, G4, G7): CRM settings, field mapping per object, sync rules.
Every page works as plain form posts (Add row, Remove, Preview and Save are submit buttons);
with htmx the rule builder swaps a condition's operator and value inputs in place and the
preview counts without reloading."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from copilot.tenancy import admin_required
from engage.crm import pages
from engage.crm.describe import Describe
from engage.crm.mapping import SUMMARY, MappingRow, resolve_crm_field
from engage.forms.crm import (
    CrmSettingsForm,
    SyncToggleForm,
    conditions_from_post,
    mapping_rows_from_post,
)
from engage.services import statuses as status_services
from engage.services.crm import configuration as crm_services
from engage.services.crm import gateway

OBJECT_LABELS = pages.OBJECT_LABELS


def _object_or_404(sobject: str, allowed: tuple[str, ...]) -> str:
    if sobject not in allowed:
        raise Http404("Cadence does not configure that CRM object.")
    return sobject


def crm_connection(request: HttpRequest) -> Any:
    """The org-wide Salesforce connection, looked up once per request."""
    if not hasattr(request, "_crm_connection"):
        request._crm_connection = gateway.org_connection(request.organization)  # type: ignore[attr-defined]
    return request._crm_connection  # type: ignore[attr-defined]


def _live(request: HttpRequest, sobject: str) -> tuple[bool, Describe | None, str]:
    """(connected, describe or None, why there is no describe)."""
    organization = request.organization
    if crm_connection(request) is None:
        return False, None, ""
    try:
        return True, gateway.describe_for(organization, sobject, connection=crm_connection(request)), ""
    except gateway.CrmNotConnected:
        return False, None, ""
    except gateway.CrmUnavailable as exc:
        return True, None, str(exc)


def crm_page(request: HttpRequest, template: str, current: str, **context: Any) -> HttpResponse:
    """A page of Admin Portal › CRM: its menu (``current`` marks the entry) and the connection."""
    connection = crm_connection(request)
    context.setdefault("connected", connection is not None)
    if connection is not None and "statuses_mapping_pending" not in context:
        # F3: the banner while a Lead Status mapping waits (read from the describe, not stored).
        context["statuses_mapping_pending"] = bool(
            crm_services.crm_statuses_pending(organization=request.organization, connection=connection)
        )
    return render(
        request,
        template,
        {"current": current, "object_labels": OBJECT_LABELS, "connection": connection, **context},
    )


# --- Statuses (F3) --------------------------------------------------------------------------------


@admin_required
def crm_status_mapping(request: HttpRequest) -> HttpResponse:
    """Map your statuses to Salesforce Lead Status: each status with a select of the picklist's
    values (suggested by name); applying moves contacts and makes the list the picklist."""
    organization = request.organization
    if request.method == "POST":
        mapping = {
            int(key.removeprefix("status-")): value
            for key, value in request.POST.items()
            if key.startswith("status-") and key.removeprefix("status-").isdigit()
        }
        try:
            result = crm_services.crm_statuses_apply_mapping(
                organization=organization, mapping=mapping, actor=request.user
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            moved = sum(result.moved.values())
            messages.success(
                request,
                f"Statuses now follow Salesforce Lead Status: {moved} contact{'s' if moved != 1 else ''} "
                f"moved, {len(result.retired)} status{'es' if len(result.retired) != 1 else ''} retired.",
            )
            return redirect("engage:crm_status_mapping")
    picklist = crm_services.crm_statuses_pending(
        organization=organization, connection=crm_connection(request)
    )
    return crm_page(
        request,
        "engage/portal/crm/statuses.html",
        "statuses",
        picklist=picklist,
        choices=status_services.statuses_mapping_suggestions(organization=organization, picklist=picklist),
        from_crm=status_services.statuses_from_crm(organization=organization),
        statuses_mapping_pending=bool(picklist),
    )


# --- Settings -------------------------------------------------------------------------------------


@admin_required
def crm_settings(request: HttpRequest) -> HttpResponse:
    organization = request.organization
    row = crm_services.crm_settings_for(organization)
    form = CrmSettingsForm(
        initial={name: getattr(row, name) for name in CrmSettingsForm.base_fields},
        organization=organization,
    )
    toggle_error = ""
    if request.method == "POST":
        if "sync_enabled" in request.POST:
            toggle = SyncToggleForm(request.POST)
            if toggle.is_valid():
                try:
                    crm_services.crm_settings_update(
                        organization=organization,
                        actor=request.user,
                        sync_enabled=toggle.cleaned_data["sync_enabled"],
                    )
                except ValidationError as exc:
                    toggle_error = " ".join(exc.messages)
                else:
                    on = toggle.cleaned_data["sync_enabled"]
                    messages.success(
                        request,
                        "Sync is on: Leads and Contacts matching your rules sync every 5 minutes."
                        if on
                        else "Sync is off: nothing more is read from Salesforce until you turn it back on.",
                    )
                    return redirect("engage:crm_settings")
            else:
                toggle_error = "Choose on or off."
        else:
            form = CrmSettingsForm(request.POST, organization=organization)
            if form.is_valid():
                try:
                    crm_services.crm_settings_update(
                        organization=organization, actor=request.user, **form.cleaned_data
                    )
                except ValidationError as exc:
                    form.add_error(None, exc.messages)
                else:
                    messages.success(request, "Saved the CRM settings.")
                    return redirect("engage:crm_settings")
    return crm_page(
        request,
        "engage/portal/crm/settings.html",
        "settings",
        form=form,
        settings_row=row,
        toggle_error=toggle_error,
    )


# --- Field mapping --------------------------------------------------------------------------------


def _sample(
    request: HttpRequest,
    sobject: str,
    rows: list[MappingRow],
    describe: Describe | None,
    related: dict[str, Describe],
) -> dict | None:
    """One recent record for the examples (one cheap query, cached): only fields the describes
    know, so a bad row never breaks the page."""
    if describe is None:
        return None
    names = []
    for row in rows:
        if row.crm_field:
            crm, _problem = resolve_crm_field(describe, row.crm_field, related)
            if crm is not None and ("." not in row.crm_field or related):
                names.append(crm["name"])
    if not names:
        return None
    try:
        return gateway.sample_record(request.organization, sobject, names, connection=crm_connection(request))
    except (gateway.CrmNotConnected, gateway.CrmUnavailable, ValueError):
        return None


@admin_required
def crm_mapping(request: HttpRequest, sobject: str) -> HttpResponse:
    _object_or_404(sobject, crm_services.MAPPED_OBJECTS)
    organization = request.organization
    connected, describe, problem = _live(request, sobject)
    errors: dict[int | str, list[str]] = {}
    summary: list[str] = []
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == "reset":
            crm_services.mapping_reset(organization=organization, sobject=sobject, actor=request.user)
            messages.success(request, f"The {OBJECT_LABELS[sobject]} mapping is back to its defaults.")
            return redirect("engage:crm_mapping", sobject=sobject)
        rows = mapping_rows_from_post(request.POST)
        if action == "add":
            rows.append(MappingRow(engage_field=""))
        elif action == "save":
            try:
                crm_services.mapping_save(
                    organization=organization, sobject=sobject, rows=rows, actor=request.user
                )
            except crm_services.MappingInvalid as exc:
                errors = exc.row_errors
                summary = exc.messages
            except ValidationError as exc:
                summary = exc.messages
            else:
                messages.success(request, f"Verified and saved the {OBJECT_LABELS[sobject]} mapping.")
                return redirect("engage:crm_mapping", sobject=sobject)
    else:
        rows = crm_services.mapping_rows(organization=organization, sobject=sobject)
    related: dict[str, Describe] = {}
    if sobject == "Contact" and describe is not None:
        try:
            related = {
                "Account": gateway.describe_for(organization, "Account", connection=crm_connection(request))
            }
        except (gateway.CrmNotConnected, gateway.CrmUnavailable):
            related = {}
    sample = _sample(request, sobject, rows, describe, related)
    return crm_page(
        request,
        "engage/portal/crm/mapping.html",
        f"mapping-{sobject}",
        connected=connected,
        sobject=sobject,
        object_label=OBJECT_LABELS[sobject],
        describe=describe,
        problem=problem,
        table=pages.mapping_table(sobject, rows, describe, related, sample, errors),
        summary=summary,
        whole_errors=errors.get(SUMMARY, []),
        error_count=sum(len(v) for v in errors.values()),
        is_default=crm_services.mapping_is_default(organization=organization, sobject=sobject),
        confirm_reset=request.GET.get("reset") == "1",
    )


# --- Sync rules -----------------------------------------------------------------------------------


@admin_required
def crm_rules(request: HttpRequest, sobject: str) -> HttpResponse:
    _object_or_404(sobject, crm_services.RULE_OBJECTS)
    organization = request.organization
    connected, describe, problem = _live(request, sobject)
    errors: dict[int, str] = {}
    summary: list[str] = []
    preview = None
    if request.method == "POST" and describe is not None:
        combinator = request.POST.get("combinator", "AND")
        conditions = conditions_from_post(request.POST)
        action = request.POST.get("action", "")
        if action == "add":
            conditions.append({"field": "", "operator": "", "value": ""})
        elif action == "preview":
            preview = crm_services.rule_preview_count(
                organization=organization, sobject=sobject, combinator=combinator, conditions=conditions
            )
        elif action == "save":
            try:
                crm_services.rule_save(
                    organization=organization,
                    sobject=sobject,
                    combinator=combinator,
                    conditions=conditions,
                    actor=request.user,
                )
            except crm_services.RuleInvalid as exc:
                errors, summary = exc.condition_errors, exc.messages
            except ValidationError as exc:
                summary = exc.messages
            else:
                messages.success(request, f"Saved the {OBJECT_LABELS[sobject]} sync rules.")
                return redirect("engage:crm_rules", sobject=sobject)
    else:
        rule = crm_services.rule_for(organization=organization, sobject=sobject)
        combinator, conditions = rule.combinator, list(rule.conditions)
    return crm_page(
        request,
        "engage/portal/crm/rules.html",
        f"rules-{sobject}",
        connected=connected,
        problem=problem,
        summary=summary,
        preview=preview,
        **pages.rules_context(sobject, describe, combinator, conditions, errors),
    )


@admin_required
@require_GET
def crm_rule_condition(request: HttpRequest, sobject: str) -> HttpResponse:
    """htmx: the operator and value inputs of one condition, after its field or operator changed."""
    _object_or_404(sobject, crm_services.RULE_OBJECTS)
    _connected, describe, problem = _live(request, sobject)
    if describe is None:
        return HttpResponse(problem or "Salesforce is not connected.", status=409)
    try:
        index = int(request.GET.get("index", "0"))
    except ValueError as exc:
        raise Http404("No such condition.") from exc
    values = request.GET.getlist(f"c-{index}-value")
    condition = {
        "field": request.GET.get(f"c-{index}-field", ""),
        "operator": request.GET.get(f"c-{index}-operator", ""),
        "value": values if len(values) > 1 else (values[0] if values else ""),
    }
    if request.GET.get("changed") == "field":
        condition = {**condition, "operator": "", "value": ""}
    return render(
        request,
        "engage/portal/crm/_condition_inputs.html",
        {"row": pages.condition_row(index, condition, describe), "sobject": sobject},
    )


@admin_required
@require_POST
def crm_rule_preview(request: HttpRequest, sobject: str) -> HttpResponse:
    """htmx: how many records the rule as it stands on the page matches."""
    _object_or_404(sobject, crm_services.RULE_OBJECTS)
    preview = crm_services.rule_preview_count(
        organization=request.organization,
        sobject=sobject,
        combinator=request.POST.get("combinator", "AND"),
        conditions=conditions_from_post(request.POST),
    )
    return render(
        request,
        "engage/portal/crm/_preview.html",
        {"preview": preview, "object_label": OBJECT_LABELS[sobject]},
    )
