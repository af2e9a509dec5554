"""Accounts: the companies contacts work at. An account's page is the whole customer: its facts,
the synced company's people and team timeline, its contacts and who owns them, its CRM record."""

from __future__ import annotations

from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from copilot.models import Company, Organization, Person
from copilot.tenancy import member_required, org_object_or_404
from copilot.views.timeline import RelatedLink, timeline_context
from engage import selectors
from engage.models import Account
from engage.services.crm import gateway
from engage.services.crm.writes import record_url

PAGE_SIZE = 50
PEOPLE_SHOWN = 25


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
    org = request.organization
    contacts = Paginator(selectors.account_contacts(account=account), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context: dict[str, object] = {
        "account": account,
        "contacts": contacts,
        "owners": selectors.account_owners(account=account),
        "crm_url": record_url(gateway.org_connection(org), account.crm_id) if account.crm_id else "",
        # The synced company (B8) is intelligence: only with the Copilot package (A1).
        "timeline_lock": org.package_lock_reason("copilot"),
    }
    if not context["timeline_lock"]:
        company = selectors.account_company(account=account)
        context["company"] = company
        if company is not None:
            people, more = selectors.company_people_marked(company=company, limit=PEOPLE_SHOWN)
            context.update(
                people=people,
                people_more=more,
                **timeline_context(request, company=company, label=account.name),
            )
    return render(request, "engage/accounts/detail.html", context)


# The company and person pages link to the workspace's account and contact: registered here so
# intelligence never imports engage (this module is loaded with the URLs, before any page).
def account_of_company(organization: Organization, company: Company) -> RelatedLink | None:
    if not organization.has_package("engage"):
        return None
    account = selectors.company_account(organization=organization, company=company)
    if account is None:
        return None
    return RelatedLink(f"Account: {account.name}", reverse("engage:account_detail", args=[account.pk]))


def contact_of_person(organization: Organization, person: Person) -> RelatedLink | None:
    if not organization.has_package("engage"):
        return None
    contact = selectors.person_contact(organization=organization, person=person)
    if contact is None:
        return None
    return RelatedLink(f"Contact: {contact}", reverse("engage:contact_detail", args=[contact.pk]))
