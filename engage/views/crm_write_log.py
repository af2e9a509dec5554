"""Admin Portal › CRM › Write log: every write Engage made (or refused to make) to Salesforce —
Leads and Contacts created, Lead Status and Email Opt Out updated, activity Tasks — newest
first, 50 a page, filtered by result and action."""

from __future__ import annotations

from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from copilot.tenancy import admin_required
from engage.models import CrmWriteLog
from engage.services.crm import pushes
from engage.views.crm import crm_page

PAGE_SIZE = 50


@admin_required
@require_GET
def crm_write_log(request: HttpRequest) -> HttpResponse:
    organization = request.organization
    result = request.GET.get("result", "")
    action = request.GET.get("action", "")
    result = result if result in CrmWriteLog.Result.values else ""
    action = action if action in CrmWriteLog.Action.values else ""
    rows = pushes.crm_write_log(organization=organization, result=result, action=action)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return crm_page(
        request,
        "engage/portal/crm/writes.html",
        "writes",
        page=page,
        result=result,
        action=action,
        results=CrmWriteLog.Result.choices,
        actions=CrmWriteLog.Action.choices,
        extra=urlencode([(k, v) for k, v in (("result", result), ("action", action)) if v]),
    )
