"""The team timeline (B8): companies, people, and the shared timeline partial.

Every page that shows a timeline (company, person, and Engage's contact page) builds its context
with ``timeline_context()`` from its own query string (``kind``, ``teammate``, ``before``), so the
filters live in the URL and work without JavaScript. With htmx, the filter chips and the Teammate
select swap the whole partial through ``copilot:timeline`` (and push the page's URL with the new
filters), and "Older" appends the next page to the list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET
from django_htmx.http import push_url

from copilot.intelligence import selectors
from copilot.models import Company, Person, User
from copilot.tenancy import current_org, member_required, org_object_or_404

KINDS = (("", "All"), ("email", "Emails"), ("meeting", "Meetings"), ("call", "Calls"))
LIST_PAGE_SIZE = 50
PEOPLE_SHOWN = 25


@dataclass(frozen=True)
class Chip:
    label: str
    href: str  # the page with this filter (works without JavaScript)
    hx: str  # the partial with this filter
    current: bool


@dataclass(frozen=True)
class Timeline:
    """What ``copilot/timeline/_timeline.html`` renders."""

    page: selectors.TimelinePage
    label: str  # who or what the timeline is about: "Initech", "Ann Lee"
    kind: str
    teammate_id: int | None
    teammates: list[User]
    chips: list[Chip]
    page_path: str
    partial_url: str  # copilot:timeline for this subject, without filters
    older_href: str
    older_hx: str
    newest_href: str

    @property
    def filtered(self) -> bool:
        return bool(self.kind or self.teammate_id)

    @property
    def kind_label(self) -> str:
        return dict(KINDS)[self.kind].lower() if self.kind else "emails or meetings"


@dataclass(frozen=True)
class RelatedLink:
    """A page of another part of the product about the same organisation or person (the
    workspace's account of a company, its contact for a person)."""

    label: str
    href: str


# Finders other apps register (engage: the account of a company, the contact of a person), so
# these pages link to them without importing them. Each takes (organization, company or person)
# and returns a RelatedLink or None, in one query at most.
_RELATED: dict[str, dict[str, Callable[..., RelatedLink | None]]] = {"company": {}, "person": {}}


def register_related_link(kind: str, key: str, finder: Callable[..., RelatedLink | None]) -> None:
    """Register ``finder`` for the ``kind`` ("company" or "person") pages under ``key``
    (registering the same key again replaces it)."""
    _RELATED[kind][key] = finder


def related_links(kind: str, organization: object, subject: Company | Person) -> list[RelatedLink]:
    found = (finder(organization, subject) for _, finder in sorted(_RELATED[kind].items()))
    return [link for link in found if link is not None]


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _query(params: dict[str, object]) -> str:
    return urlencode({k: v for k, v in params.items() if v not in (None, "")})


def _with_query(path: str, params: dict[str, object]) -> str:
    query = _query(params)
    return f"{path}?{query}" if query else path


def timeline_context(
    request: HttpRequest,
    *,
    company: Company | None = None,
    person: Person | None = None,
    email: str | None = None,
    label: str,
    query: QueryDict | None = None,
    page_path: str | None = None,
    all_addresses: bool = False,
) -> dict[str, Timeline]:
    """``{"timeline": Timeline}`` for the page at ``page_path`` (default: this request's path)
    showing ``company``'s, ``person``'s or ``email``'s timeline filtered by ``query``
    (``all_addresses``: the person's with every address the team files with theirs)."""
    query = request.GET if query is None else query
    organization = current_org(request)
    kind = query.get("kind", "")
    kind = kind if kind in dict(KINDS) else ""
    teammates = list(selectors.timeline_teammates(organization=organization))
    teammate_id = _int(query.get("teammate"))
    if teammate_id not in {u.pk for u in teammates}:
        teammate_id = None
    before = query.get("before", "")
    page = selectors.timeline(
        organization=organization,
        viewer=request.user,
        company=company,
        person=person,
        email=email,
        kinds=(kind,) if kind else (),
        teammate=teammate_id,
        before=before or None,
        all_addresses=all_addresses and person is not None,
    )
    if company is not None:
        subject = {"company": company.pk}
    elif person is not None:
        subject = {"person": person.pk, "addresses": "all" if all_addresses else ""}
    else:
        subject = {"email": email or "", "label": label}
    page_path = page_path or request.path
    partial = reverse("copilot:timeline")
    filters = {"kind": kind, "teammate": teammate_id}
    chips = [
        Chip(
            label=text,
            href=_with_query(page_path, {"kind": value, "teammate": teammate_id}),
            hx=_with_query(partial, {**subject, "kind": value, "teammate": teammate_id}),
            current=value == kind,
        )
        for value, text in KINDS
    ]
    cursor = page.next_cursor
    return {
        "timeline": Timeline(
            page=page,
            label=label,
            kind=kind,
            teammate_id=teammate_id,
            teammates=teammates,
            chips=chips,
            page_path=page_path,
            partial_url=_with_query(partial, subject),
            older_href=_with_query(page_path, {**filters, "before": cursor}) if cursor else "",
            older_hx=_with_query(partial, {**subject, **filters, "before": cursor}) if cursor else "",
            newest_href=_with_query(page_path, filters),
        )
    }


def _page_path_of(request: HttpRequest, fallback: str) -> str:
    """The path of the page an htmx request came from (same host only), else ``fallback``."""
    current = request.htmx.current_url_abs_path if request.htmx else None
    path = urlsplit(current).path if current else ""
    return path if path.startswith("/") and not path.startswith("//") else fallback


@member_required
@require_GET
def timeline_partial(request: HttpRequest) -> HttpResponse:
    """The timeline partial for ``?company=|person=|email=`` with ``kind``, ``teammate``,
    ``before``: the whole partial for a filter change, only the next items for "Older"."""
    company = person = email = None
    all_addresses = False
    if "company" in request.GET:
        company = org_object_or_404(request, Company, pk=_int(request.GET["company"]))
        label, fallback = company.name or company.domain, reverse("copilot:company_detail", args=[company.pk])
    elif "person" in request.GET:
        person = org_object_or_404(request, Person, pk=_int(request.GET["person"]))
        label, fallback = str(person), reverse("copilot:person", args=[person.pk])
        all_addresses = request.GET.get("addresses") == "all"
    elif request.GET.get("email", "").strip():
        email = request.GET["email"].strip().lower()
        label, fallback = request.GET.get("label", "").strip()[:200] or email, reverse("copilot:timeline")
    else:
        raise Http404("Say whose timeline to show.")
    page_path = _page_path_of(request, fallback)
    context = timeline_context(
        request,
        company=company,
        person=person,
        email=email,
        label=label,
        page_path=page_path,
        all_addresses=all_addresses,
    )
    if request.htmx and request.GET.get("before"):
        return render(request, "copilot/timeline/_items.html", context)
    response = render(request, "copilot/timeline/_timeline.html", context)
    if request.htmx:
        tl = context["timeline"]
        push_url(response, _with_query(page_path, {"kind": tl.kind, "teammate": tl.teammate_id}))
    return response


# --- Companies and people -----------------------------------------------------------------------
@member_required
@require_GET
def companies(request: HttpRequest) -> HttpResponse:
    """Companies (and, on the People tab, people) the team deals with, searchable."""
    q = request.GET.get("q", "").strip()[:100]
    tab = "people" if request.GET.get("tab") == "people" else "companies"
    organization = request.organization
    if tab == "people":
        rows = selectors.person_list(organization=organization, q=q)
    else:
        rows = selectors.company_list(organization=organization, q=q)
    page = Paginator(rows, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "copilot/companies/list.html",
        {
            "page": page,
            "q": q,
            "tab": tab,
            "pager_query": _query({"tab": "people" if tab == "people" else "", "q": q}),
        },
    )


def _get_only(request: HttpRequest) -> HttpResponse | None:
    """Called after the object's lookup, so another organisation's object is a 404 whatever the
    method (``require_GET`` would answer 405 first)."""
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    return None


@member_required
def company_detail(request: HttpRequest, company_id: int) -> HttpResponse:
    company = org_object_or_404(request, Company, pk=company_id)
    if refused := _get_only(request):
        return refused
    people = selectors.company_people(company=company)
    shown = list(people[: PEOPLE_SHOWN + 1])
    return render(
        request,
        "copilot/companies/detail.html",
        {
            "company": company,
            "people": shown[:PEOPLE_SHOWN],
            "people_more": len(shown) > PEOPLE_SHOWN,
            "related": related_links("company", request.organization, company),
            **timeline_context(request, company=company, label=company.name or company.domain),
        },
    )


@member_required
def person_detail(request: HttpRequest, person_id: int) -> HttpResponse:
    person = org_object_or_404(request, Person.objects.select_related("company"), pk=person_id)
    if refused := _get_only(request):
        return refused
    return render(
        request,
        "copilot/people/detail.html",
        {
            "person": person,
            "folders": person.address_book_folders,  # names, sorted (ingestion keeps them so)
            "phones": _phones(person.phones),
            "related": related_links("person", request.organization, person),
            **timeline_context(request, person=person, label=str(person)),
        },
    )


def _phones(phones: list[str]) -> list[dict[str, str]]:
    """Phone numbers as ``{"number", "tel"}``; ``tel`` keeps only what a dialer needs."""
    result = []
    for number in phones:
        tel = "".join(ch for ch in number if ch.isdigit() or ch in "+*#,;")
        if tel:
            result.append({"number": number, "tel": tel})
    return result
