"""Accounts: the companies contacts work at, and each one's contacts."""

from __future__ import annotations

from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from copilot.tenancy import member_required, org_object_or_404
from engage import selectors
from engage.models import Account

PAGE_SIZE = 50


@member_required
@require_GET
def account_list(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:100]
    accounts = selectors.account_list(organization=request.organization, q=q)
    page = Paginator(accounts, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "engage/accounts/list.html",
        {"page": page, "q": q, "pager_query": urlencode({"q": q}) if q else ""},
    )


@member_required
def account_detail(request: HttpRequest, account_id: int) -> HttpResponse:
    account = org_object_or_404(request, Account, pk=account_id)
    contacts = Paginator(selectors.account_contacts(account=account), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "engage/accounts/detail.html", {"account": account, "contacts": contacts})
