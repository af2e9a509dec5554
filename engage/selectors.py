"""Reads of contacts and accounts for the workspace pages.

The contacts list is paginated by *keyset* (the last row's sort key is the cursor), so page 2,000
costs what page 1 costs, and it never counts the whole match: it counts up to ``COUNT_CAP`` rows
and says "1,000+" beyond that. Each sort order has its own index (see ``Contact.Meta.indexes``).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Case, F, Q, QuerySet, Value, When
from django.db.models.functions import Lower

from copilot.intelligence import selectors as intelligence
from copilot.intelligence.people import company_domain
from copilot.intelligence.rules import domain_of, is_free_mail
from copilot.models import Company, Organization, Person, User
from engage.models import Account, Contact, ContactStatus

PAGE_SIZE = 50
COUNT_CAP = 1_000


@dataclass(frozen=True)
class SortKey:
    name: str  # attribute on the row (a field or an annotation)
    descending: bool


@dataclass(frozen=True)
class SortOrder:
    label: str
    keys: tuple[SortKey, ...]
    annotations: dict[str, Any] = field(default_factory=dict)


SORTS: dict[str, SortOrder] = {
    "updated": SortOrder("Recently updated", (SortKey("updated_at", True), SortKey("id", True))),
    "created": SortOrder("Recently added", (SortKey("created_at", True), SortKey("id", True))),
    "name": SortOrder(
        "Name A–Z",
        (SortKey("sort_last", False), SortKey("sort_first", False), SortKey("id", False)),
        {"sort_last": Lower("last_name"), "sort_first": Lower("first_name")},
    ),
    "-name": SortOrder(
        "Name Z–A",
        (SortKey("sort_last", True), SortKey("sort_first", True), SortKey("id", True)),
        {"sort_last": Lower("last_name"), "sort_first": Lower("first_name")},
    ),
}
DEFAULT_SORT = "updated"

# What a list row shows; loading only these keeps a page of 50 cheap to fetch and build.
LIST_COLUMNS = (
    "first_name",
    "last_name",
    "email",
    "title",
    "company",
    "email_opt_out",
    "created_at",
    "updated_at",
    "owner__first_name",
    "owner__last_name",
    "owner__email",
    "status__name",
    "status__color",
    "account__name",
)


@dataclass(frozen=True)
class ContactFilters:
    """What the list is narrowed to. ``owner`` is a user id, or ``"none"`` for unowned."""

    q: str = ""
    owner: int | str | None = None
    status: int | None = None
    account: int | None = None
    source: str = ""
    opted_out: bool | None = None
    sort: str = DEFAULT_SORT

    @property
    def active(self) -> bool:
        return bool(
            self.q
            or self.owner is not None
            or self.status
            or self.account
            or self.source
            or self.opted_out is not None
        )


def contacts_filtered(*, organization: Organization, filters: ContactFilters) -> QuerySet[Contact]:
    qs = Contact.objects.for_org(organization)
    for term in filters.q.split()[:5]:
        qs = qs.filter(
            Q(first_name__icontains=term)
            | Q(last_name__icontains=term)
            | Q(email__icontains=term)
            | Q(company__icontains=term)
        )
    if filters.owner == "none":
        qs = qs.filter(owner__isnull=True)
    elif filters.owner is not None:
        qs = qs.filter(owner_id=filters.owner)
    if filters.status:
        qs = qs.filter(status_id=filters.status)
    if filters.account:
        qs = qs.filter(account_id=filters.account)
    if filters.source:
        qs = qs.filter(source=filters.source)
    if filters.opted_out is not None:
        qs = qs.filter(email_opt_out=filters.opted_out)
    return qs


@dataclass(frozen=True)
class ContactPage:
    rows: list[Contact]
    next_cursor: str | None
    prev_cursor: str | None
    count: int  # capped at COUNT_CAP + 1
    is_first: bool

    @property
    def count_label(self) -> str:
        if self.count > COUNT_CAP:
            return f"{COUNT_CAP:,}+ contacts"
        return f"{self.count:,} contact{'' if self.count == 1 else 's'}"


def _encode_cursor(row: Contact, order: SortOrder) -> str:
    values = []
    for key in order.keys:
        value = getattr(row, key.name)
        values.append(value.isoformat() if isinstance(value, datetime) else value)
    return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, order: SortOrder) -> list[Any] | None:
    """The cursor's key values, or None when it is not one of ours (a stale or edited link)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(values, list) or len(values) != len(order.keys):
        return None
    decoded: list[Any] = []
    for key, value in zip(order.keys, values, strict=True):
        if key.name in ("updated_at", "created_at"):
            try:
                value = datetime.fromisoformat(value)
            except (TypeError, ValueError):
                return None
        elif (key.name == "id" and not isinstance(value, int)) or (
            key.name != "id" and not isinstance(value, str)
        ):
            return None
        decoded.append(value)
    return decoded


def _beyond(order: SortOrder, values: list[Any], *, backwards: bool) -> Q:
    """Rows strictly after ``values`` in ``order`` (or before, when ``backwards``):
    ``k1 >= v1 AND ((k1 > v1) OR (k1 = v1 AND k2 > v2) OR ...)`` with ``<`` for descending keys.
    The leading ``k1 >= v1`` is implied by the rest; it is there so the database can start its
    index scan at the cursor instead of filtering every row before it."""
    condition = Q()
    equal_so_far = Q()
    for key, value in zip(order.keys, values, strict=True):
        greater = key.descending == backwards
        step = Q(**{f"{key.name}__{'gt' if greater else 'lt'}": value})
        condition |= equal_so_far & step
        equal_so_far &= Q(**{key.name: value})
    first = order.keys[0]
    bound = Q(**{f"{first.name}__{'gte' if first.descending == backwards else 'lte'}": values[0]})
    return bound & condition


def _ordering(order: SortOrder, *, backwards: bool) -> list[Any]:
    return [
        (F(k.name).desc() if k.descending != backwards else F(k.name).asc())
        if k.name != "id"
        else (f"-{k.name}" if k.descending != backwards else k.name)
        for k in order.keys
    ]


def contact_list_page(
    *,
    organization: Organization,
    filters: ContactFilters,
    after: str = "",
    before: str = "",
    size: int = PAGE_SIZE,
) -> ContactPage:
    """One page of the filtered list: two queries (the rows, the capped count) whatever the page."""
    order = SORTS.get(filters.sort, SORTS[DEFAULT_SORT])
    base = contacts_filtered(organization=organization, filters=filters)
    qs = base.annotate(**order.annotations) if order.annotations else base
    qs = qs.select_related("owner", "status", "account").only(*LIST_COLUMNS)

    cursor_values = None
    backwards = False
    if before:
        cursor_values = _decode_cursor(before, order)
        backwards = cursor_values is not None
    elif after:
        cursor_values = _decode_cursor(after, order)
    if cursor_values is not None:
        qs = qs.filter(_beyond(order, cursor_values, backwards=backwards))

    rows = list(qs.order_by(*_ordering(order, backwards=backwards))[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()

    started = cursor_values is not None
    if backwards:
        has_prev, has_next = more, True
    else:
        has_prev, has_next = started, more
    count = base.order_by().values("id")[: COUNT_CAP + 1].count()
    return ContactPage(
        rows=rows,
        next_cursor=_encode_cursor(rows[-1], order) if rows and has_next else None,
        prev_cursor=_encode_cursor(rows[0], order) if rows and has_prev else None,
        count=count,
        is_first=not has_prev,
    )


def contact_owner_choices(*, organization: Organization) -> QuerySet[User]:
    return (
        User.objects.for_org(organization).filter(is_active=True).order_by("first_name", "last_name", "email")
    )


def contact_status_choices(*, organization: Organization) -> QuerySet[ContactStatus]:
    return ContactStatus.objects.for_org(organization).order_by("position", "id")


def contact_detail(*, organization: Organization, contact_id: int) -> Contact:
    return (
        Contact.objects.for_org(organization).select_related("owner", "status", "account").get(pk=contact_id)
    )


def contact_by_email(*, organization: Organization, email: str) -> Contact | None:
    email = email.strip().lower()
    if not email:
        return None
    return Contact.objects.for_org(organization).filter(email=email).select_related("status").first()


def account_contacts(*, account: Account) -> QuerySet[Contact]:
    return (
        Contact.objects.for_org(account.organization)
        .filter(account=account)
        .select_related("owner", "status")
        .order_by(Lower("last_name"), Lower("first_name"), "id")
    )


def account_list(*, organization: Organization, q: str = "") -> QuerySet[Account]:
    from django.db.models import Count

    qs = Account.objects.for_org(organization)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(domain__icontains=q))
    return qs.annotate(contact_count=Count("contacts")).order_by(Lower("name"), "id")


# --- One customer: accounts and companies, contacts and people ---------------------------------
CONTACT_DOMAINS_READ = 200  # an account without a domain: how many contacts' addresses decide its company
# Joined when read, by domain and by address, not by a stored key: ingestion makes people and
# companies long after contacts and accounts exist (and never imports engage), contacts change
# their address, and every way a contact comes in (form, import, CRM) is then right by itself.
# Both sides are unique per organisation on those columns, so each join is one indexed lookup.


def account_company(*, account: Account) -> Company | None:
    """The synced company of ``account``: by its domain (``eu.acme.com`` finds ``acme.com``), else
    — an account made by hand, by an import without a website or by the CRM has none — by its
    contacts' addresses, the company most of them work at (two queries)."""
    org = account.organization_id
    if account.domain:
        return intelligence.company_by_domain(organization=org, domain=account.domain)
    emails = (
        Contact.objects.for_org(org)
        .filter(account=account)
        .exclude(email="")
        .order_by("id")
        .values_list("email", flat=True)[:CONTACT_DOMAINS_READ]
    )
    domains = Counter(
        company_domain(domain_of(e)) for e in emails if "@" in e and not is_free_mail(domain_of(e))
    )
    if not domains:
        return None
    companies = {c.domain: c for c in Company.objects.for_org(org).filter(domain__in=list(domains))}
    return next((companies[d] for d, _ in domains.most_common() if d in companies), None)


def company_account(*, organization: Organization, company: Company) -> Account | None:
    """The workspace's account for ``company``: the one with its domain (or a subdomain of it),
    else the one its people work at as contacts (one query)."""
    domain = company.domain
    by_domain = Q(domain=domain) | Q(domain__endswith=f".{domain}")
    at_company = (
        Contact.objects.for_org(organization)
        .filter(account__isnull=False)
        .filter(Q(email__endswith=f"@{domain}") | Q(email__endswith=f".{domain}"))
    )
    return (
        Account.objects.for_org(organization)
        .filter(by_domain | Q(pk__in=at_company.values("account_id")))
        .annotate(rank=Case(When(by_domain, then=Value(0)), default=Value(1)))
        .order_by("rank", Lower("name"), "id")
        .first()
    )


def contact_person(*, contact: Contact) -> Person | None:
    return intelligence.person_by_email(organization=contact.organization_id, email=contact.email)


def person_contact(*, organization: Organization, person: Person) -> Contact | None:
    """The contact with ``person``'s address, else with another address filed with theirs (one
    query)."""
    return (
        Contact.objects.for_org(organization)
        .filter(email__in=intelligence.address_people(person=person).values("email"))
        .annotate(rank=Case(When(email=person.email, then=Value(0)), default=Value(1)))
        .order_by("rank", "email")
        .first()
    )


@dataclass(frozen=True)
class CompanyPerson:
    person: Person
    contact_id: int | None  # the workspace contact with this address ("also a contact")


def company_people_marked(*, company: Company, limit: int) -> tuple[list[CompanyPerson], bool]:
    """Up to ``limit`` of ``company``'s people, each with the id of their contact when they are
    one — at their address or another their address-book contact files with it — and whether
    there are more (four queries however many)."""
    org = company.organization_id
    people = list(intelligence.company_people(company=company)[: limit + 1])
    more = len(people) > limit
    people = people[:limit]
    addresses = intelligence.people_addresses(organization=org, people=people)
    emails = {e for found in addresses.values() for e in found}
    contacts = dict(Contact.objects.for_org(org).filter(email__in=emails).values_list("email", "pk"))
    marked = []
    for person in people:
        found = next((contacts[e] for e in addresses[person.pk] if e in contacts), None)
        marked.append(CompanyPerson(person, found))
    return marked, more


def account_owners(*, account: Account) -> list[tuple[User, int]]:
    """Who owns ``account``'s contacts, most contacts first (accounts have no owner of their own)."""
    from django.db.models import Count

    counts = dict(
        Contact.objects.for_org(account.organization_id)
        .filter(account=account, owner__isnull=False)
        .values_list("owner_id")
        .annotate(n=Count("id"))
    )
    users = User.objects.filter(pk__in=list(counts))
    return sorted(((u, counts[u.pk]) for u in users), key=lambda pair: (-pair[1], pair[0].email))
