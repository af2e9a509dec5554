"""Synced address-book contacts (Google People and Outlook contacts alike) become people (B11, D6).

- A contact updates people (name, title, phones, company) and files them under the contact's
  folders, per teammate's copy (``AddressBookEntry``); deleting a contact takes only its folders
  away. Teammates and ignored or blocked addresses are not made into people.
- A contact's company name replaces a company name that was only derived from the domain.
- Phones are kept in E.164 (``copilot.phones``), a number without its country code read where
  the address book's owner is (their own phone's country, else their time zone's). An address
  book cannot be asked to fix a value that is not a number: it is left out (counted in the log
  line), so a person's page never offers "12ab" to a dialer; the text stays in the address book.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from copilot import phones
from copilot.bulk_sql import update_rows, upsert_rows
from copilot.intelligence.ingestion.shared import Team, last_per_item, log_extra, valid_address
from copilot.intelligence.people import (
    PersonData,
    clean_name,
    company_domain,
    upsert_companies,
    upsert_people,
)
from copilot.intelligence.rules import domain_of, is_free_mail
from copilot.models import AddressBookEntry, Person, User
from integrations.records import AddressBookContactRecord, Deletion, MailboxContext, Record

logger = logging.getLogger(__name__)


def ingest_contacts(context: MailboxContext, records: Sequence[Record]) -> None:
    """Address-book contacts become (or update) people, filed under their folders (D6).

    Each teammate's contact is kept as an ``AddressBookEntry`` per person it names, with its
    folders; a person's ``address_book_folders`` is the union over their entries. A deleted
    contact (``Deletion``) removes its entries only: the person stays (the activities with them
    stay meaningful), and loses the folders no other contact still files them under."""
    current = last_per_item(records)
    contacts = [r for r in current if isinstance(r, AddressBookContactRecord)]
    gone = [r.external_id for r in current if isinstance(r, Deletion)]
    if not contacts and not gone:
        return
    org = context.organization_id
    with transaction.atomic():
        now = timezone.now()
        wanted: dict[str, PersonData] = {}
        names: dict[str, str] = {}
        filed: dict[tuple[str, str], list[str]] = {}  # (contact id, email) -> folders
        dropped = 0  # phone values that are not numbers
        if contacts:
            team = Team.load(context)
            region = _owner_region(context)
            for contact in contacts:
                display = " ".join(
                    (contact.display_name or f"{contact.given_name} {contact.family_name}").split()
                )[:200]
                folders = sorted({f.strip() for f in contact.folders if f.strip()})
                for email in dict.fromkeys(e.strip().lower() for e in contact.emails):
                    if not valid_address(email) or not team.makes_person(email):
                        continue
                    data = wanted.setdefault(email, PersonData(from_address_book=True))
                    data.name = clean_name(display, email) or data.name
                    data.first_name = (contact.given_name or data.first_name)[:100]
                    data.last_name = (contact.family_name or data.last_name)[:100]
                    data.title = (contact.title or data.title)[:200]
                    numbers = [
                        phones.normalise_or_none(p, region=region) for p in contact.phones if p.strip()
                    ]
                    dropped += numbers.count(None)
                    data.phones = tuple(dict.fromkeys([*data.phones, *(n for n in numbers if n)]))
                    filed[(contact.external_id, email)] = folders
                    domain = domain_of(email)
                    if contact.company.strip() and not is_free_mail(domain):
                        names[company_domain(domain)] = contact.company.strip()[:200]
        companies = upsert_companies(org, {domain_of(e) for e in wanted}, names, now)
        people = upsert_people(org, wanted, companies, now)
        touched = _file_contacts(context, [c.external_id for c in contacts] + gone, filed, people)
        _refresh_folders(org, touched, now)
    logger.info(
        "intelligence.contacts_ingested",
        extra=log_extra(context, people=len(wanted), deletions=len(gone), phones_dropped=dropped),
    )


def _owner_region(context: MailboxContext) -> str | None:
    """Where the address book's owner reads numbers written without a country code."""
    found = User.objects.filter(pk=context.user_id).values_list("phone", "time_zone").first()
    return phones.person_region(phone=found[0], time_zone=found[1]) if found else None


def _file_contacts(
    context: MailboxContext,
    external_ids: list[str],
    filed: dict[tuple[str, str], list[str]],
    people: dict[str, tuple[int, int | None]],
) -> set[int]:
    """This address book's entries for ``external_ids`` become exactly ``filed``; returns the ids
    of every person whose entries changed."""
    mine = AddressBookEntry.objects.filter(
        organization_id=context.organization_id,
        user_id=context.user_id,
        provider=context.provider,
        external_id__in=external_ids,
    )
    before = list(mine.values_list("pk", "external_id", "person_id"))
    keep = {(ext, people[email][0]) for ext, email in filed}
    stale = [pk for pk, ext, person_id in before if (ext, person_id) not in keep]
    AddressBookEntry.objects.filter(pk__in=stale).delete()
    upsert_rows(
        AddressBookEntry,
        [
            {
                "organization_id": context.organization_id,
                "person_id": people[email][0],
                "user_id": context.user_id,
                "provider": context.provider,
                "external_id": ext,
                "folders": folders,
            }
            for (ext, email), folders in sorted(filed.items())
        ],
        conflict=("user_id", "provider", "external_id", "person_id"),
        update=("folders",),
    )
    return {person_id for _, _, person_id in before} | {person_id for _, person_id in keep}


def _refresh_folders(organization_id: int, person_ids: set[int], now: dt.datetime) -> None:
    """``address_book_folders`` = the union of the person's entries; ``in_address_book`` = any left."""
    if not person_ids:
        return
    folders: dict[int, set[str]] = {pk: set() for pk in person_ids}
    has_entry: set[int] = set()
    for person_id, entry_folders in AddressBookEntry.objects.filter(
        organization_id=organization_id, person_id__in=person_ids
    ).values_list("person_id", "folders"):
        folders[person_id].update(entry_folders)
        has_entry.add(person_id)
    changes = []
    for pk, current, in_book in Person.objects.filter(
        organization_id=organization_id, pk__in=person_ids
    ).values_list("pk", "address_book_folders", "in_address_book"):
        wanted = sorted(folders[pk])
        if current != wanted or in_book != (pk in has_entry):
            changes.append(
                (pk, {"address_book_folders": wanted, "in_address_book": pk in has_entry, "updated_at": now})
            )
    update_rows(Person, changes)
