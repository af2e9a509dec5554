"""Admin Portal › CRM › Write log: every write Engage made (or refused to make) to Salesforce —
Leads and Contacts created, Lead Status and Email Opt Out updated, activity Tasks — newest
first, 50 a page, filtered by result and action."""

from __future__ import annotations

from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from copilot.tenancy import admin_required
from engage.crm import pages, salesforce
from engage.models import CrmWriteLog
from engage.services import crm_writes

PAGE_SIZE = 50


@admin_required
@require_GET
def crm_write_log(request: HttpRequest) -> HttpResponse:
    organization = request.organization
    result = request.GET.get("result", "")
    action = request.GET.get("action", "")
    result = result if result in CrmWriteLog.Result.values else ""
    action = action if action in CrmWriteLog.Action.values else ""
    rows = crm_writes.crm_write_log(organization=organization, result=result, action=action)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    connection = salesforce.org_connection(organization)
    return render(
        request,
        "engage/portal/crm/writes.html",
        {
            "current": "writes",
            "object_labels": pages.OBJECT_LABELS,
            "connection": connection,
            "connected": connection is not None,
            "page": page,
            "result": result,
            "action": action,
            "results": CrmWriteLog.Result.choices,
            "actions": CrmWriteLog.Action.choices,
            "extra": urlencode([(k, v) for k, v in (("result", result), ("action", action)) if v]),
        },
    )
