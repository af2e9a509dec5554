"""The organisation's people and companies as ingestion makes them (B8, B11): outside parties
of mail and meetings, and teammates' address-book contacts.

A company is keyed by the registrable part of its domain (``eu.acme.com`` → ``acme.com``) and
named after it ("Bluefinanalytics") until an address book gives a name; free-mail domains never
make one. Every write is one statement per table for a whole page (``bulk``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from copilot.bulk_sql import update_rows, upsert_rows
from copilot.intelligence.rules import domain_of, is_free_mail
from copilot.models import Company, Person

_SECOND_LEVEL = {"ac", "co", "com", "edu", "gov", "ltd", "net", "org", "plc"}


def clean_name(name: str, email: str) -> str:
    name = " ".join((name or "").split()).strip("\"' ")
    return "" if not name or name.lower() == email else name[:200]


def split_name(name: str) -> tuple[str, str]:
    if "," in name:
        last, _, first = name.partition(",")
    else:
        first, _, last = name.partition(" ")
    return first.strip()[:100], last.strip()[:100]


def company_domain(domain: str) -> str:
    """The registrable part of a domain: ``eu.acme.com`` → ``acme.com``, ``mail.x.co.uk`` →
    ``x.co.uk`` (a heuristic, without the public-suffix list)."""
    labels = domain.lower().strip(".").split(".")
    keep = 3 if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL and len(labels[-1]) == 2 else 2
    return ".".join(labels[-keep:])


def company_name_from_domain(domain: str) -> str:
    """``bluefinanalytics.example`` → "Bluefinanalytics", ``brightwater-ins.example`` → "Brightwater Ins"."""
    core = company_domain(domain).split(".")[0]
    return " ".join(word.capitalize() for word in core.split("-") if word) or domain


def upsert_companies(
    organization_id: int, domains: Iterable[str], names: dict[str, str], now: dt.datetime
) -> dict[str, int]:
    """Company ids by registrable domain; ``names`` (from address books) replace names that were
    only derived from the domain."""
    domains = sorted({company_domain(d) for d in domains if not is_free_mail(d)})
    if not domains:
        return {}
    org = organization_id
    upsert_rows(
        Company,
        (
            {
                "organization_id": org,
                "domain": d,
                "name": names.get(d) or company_name_from_domain(d),
                "created_at": now,
                "updated_at": now,
            }
            for d in domains
        ),
        conflict=("organization_id", "domain"),
    )
    found = Company.objects.filter(organization_id=org, domain__in=domains).values_list(
        "pk", "domain", "name"
    )
    renames = [
        (pk, {"name": names[d], "updated_at": now})
        for pk, d, name in found
        if names.get(d) and name != names[d] and name == company_name_from_domain(d)
    ]
    update_rows(Company, renames)
    return {d: pk for pk, d, _ in found}


@dataclass
class PersonData:
    name: str = ""
    title: str = ""
    first_name: str = ""
    last_name: str = ""
    phones: tuple[str, ...] = ()
    from_address_book: bool = False


def upsert_people(
    organization_id: int, wanted: dict[str, PersonData], companies: dict[str, int], now: dt.datetime
) -> dict[str, tuple[int, int | None]]:
    """(person id, company id) by email. New people get everything; existing ones get a name when
    they had none, a company when they had none, and address-book details (which a person's own
    address book knows better than a From: header)."""
    if not wanted:
        return {}
    org = organization_id

    def company_of(email: str) -> int | None:
        return companies.get(company_domain(domain_of(email)))

    rows = []
    for email, data in sorted(wanted.items()):
        first, last = (
            (data.first_name, data.last_name) if data.first_name or data.last_name else split_name(data.name)
        )
        rows.append(
            {
                "organization_id": org,
                "email": email,
                "name": data.name,
                "first_name": first,
                "last_name": last,
                "title": data.title,
                "company_id": company_of(email),
                "phones": list(data.phones),
                "in_address_book": data.from_address_book,
                "created_at": now,
                "updated_at": now,
            }
        )
    upsert_rows(Person, rows, conflict=("organization_id", "email"))
    found = Person.objects.filter(organization_id=org, email__in=list(wanted)).values_list(
        "pk", "email", "name", "title", "company_id", "phones", "in_address_book"
    )
    result: dict[str, tuple[int, int | None]] = {}
    changes: list[tuple[int, dict[str, Any]]] = []
    for pk, email, name, title, company_id, phones, in_book in found:
        data = wanted[email]
        change: dict[str, Any] = {}
        if data.name and (not name or (data.from_address_book and name != data.name)):
            change["name"] = data.name
            change["first_name"], change["last_name"] = (
                (data.first_name, data.last_name)
                if data.first_name or data.last_name
                else split_name(data.name)
            )
        if company_id is None and company_of(email):
            company_id = change["company_id"] = company_of(email)
        if data.from_address_book:
            if data.title and data.title != title:
                change["title"] = data.title
            merged_phones = list(dict.fromkeys([*phones, *data.phones]))
            if merged_phones != phones:
                change["phones"] = merged_phones
            if not in_book:
                change["in_address_book"] = True
        if change:
            change["updated_at"] = now
            changes.append((pk, change))
        result[email] = (pk, company_id)
    update_rows(Person, changes)
    return result
