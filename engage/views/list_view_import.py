"""Contacts › Import › From a Salesforce list view (F1): pick Leads or Contacts, one of its list
views, look at the first rows, then "Import N people". Plain GET forms choose; the import is a
POST that lands on the contacts list with a summary."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from copilot.tenancy import member_required
from engage.services.crm import gateway, list_views


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


@member_required
def import_list_view(request: HttpRequest) -> HttpResponse:
    organization = request.organization
    source = request.POST if request.method == "POST" else request.GET
    sobject = source.get("sobject", "Lead")
    sobject = sobject if sobject in list_views.OBJECTS else "Lead"
    view_id = source.get("view", "").strip()
    context = {"objects": list_views.OBJECTS.items(), "sobject": sobject, "view_id": view_id}
    connected = gateway.org_connection(organization) is not None
    context["connected"] = connected
    if not connected:
        return render(request, "engage/imports/list_view.html", context)

    if request.method == "POST" and view_id:
        try:
            result = list_views.import_view(organization, sobject, view_id, actor=request.user)
        except (gateway.CrmNotConnected, gateway.CrmUnavailable) as exc:
            messages.error(request, f"Nothing was imported. {exc}")
            query = urlencode({"sobject": sobject, "view": view_id})
            return redirect(f"{reverse('engage:import_list_view')}?{query}")
        people = "person" if result.total == 1 else "people"
        summary = (
            f"Imported {result.total:,} {people} from Salesforce: {_plural(result.created, 'new contact')}, "
            f"{result.updated:,} updated, {result.unchanged:,} already up to date."
        )
        if result.capped:
            summary += f" The view holds more: the first {list_views.IMPORT_CAP:,} were imported."
        messages.success(request, summary)
        for record_id, reason in result.errors[:10]:
            messages.warning(request, f"{sobject} {record_id} not imported: {reason}")
        if len(result.errors) > 10:
            messages.warning(
                request, f"{len(result.errors) - 10:,} more were not imported for the same kinds of reasons."
            )
        return redirect(f"{reverse('engage:contacts')}?source=crm")

    try:
        context["views"] = list_views.list_views(organization, sobject)
        if view_id:
            if not any(v.id == view_id for v in context["views"]):
                context["problem"] = "Choose one of the list views."
                context["view_id"] = ""
            else:
                context["preview"] = list_views.preview(organization, sobject, view_id)
    except (gateway.CrmNotConnected, gateway.CrmUnavailable) as exc:
        context["problem"] = str(exc)
    return render(request, "engage/imports/list_view.html", context)
