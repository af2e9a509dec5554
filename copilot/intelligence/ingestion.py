"""The one ingestion path for synced mail, calendars and address books (B7, B8, B11, D2-D4, D6).

``integrations`` turns Gmail and Graph mail, both calendars and both address books into
provider-neutral records and hands each page to the handlers registered here (from
``CopilotConfig.ready``). Here is decided what is stored: ignore/block rules (``rules.decide``),
activities with their participants, the people and companies they involve, and each teammate's
copy (``ActivitySource``).

Pages can hold 500 records, so every step is one statement per table per page (``bulk``), never per
record, and every write is an idempotent upsert on a unique key: a page delivered twice changes
nothing, and the same message in two teammates' mailboxes is one activity with two sources.

Decisions:
- A draft is not ingested. Of several records for one item in a page the last one counts.
- A message excluded by the rules stores no content, only an ``IngestionSkip`` (hash of its
  Message-ID, the rule, the party) so admins can ask why it is missing.
- People are made for outside participants nobody ignores; companies for their domains unless
  free mail (``rules.FREE_MAIL_DOMAINS``), named after the domain until an address book gives a
  better name. A company is keyed by the registrable domain (``eu.acme.com`` → ``acme.com``).
- A cancelled meeting, or one the rules now exclude, is handled as a deletion of that calendar's
  copy: the source goes, and the activity with it once no teammate's calendar holds it. (Google
  reports deleted events as cancelled ones, so both providers behave the same.) Private meetings are
  stored whole with ``is_private``; the timeline decides who sees what (D4).
- Address-book contacts update people (name, title, phones, company) and file them under the
  contact's folders per teammate's copy (``AddressBookEntry``); deleting a contact takes only its
  folders away. Teammates and ignored or blocked addresses are not made into people.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from copilot.intelligence.bulk import delete_ids, update_rows, upsert_rows
from copilot.intelligence.meetings import detect_join_link
from copilot.intelligence.people import (
    PersonData,
    clean_name,
    company_domain,
    upsert_companies,
    upsert_people,
)
from copilot.intelligence.rules import Decision, RuleBook, decide, domain_of, is_free_mail, is_internal
from copilot.intelligence.services import (
    TeamDirectory,
    intelligence_settings_for,
    message_key,
    rulebook_for,
    team_directory,
)
from copilot.models import (
    Activity,
    ActivityCompany,
    ActivityParticipant,
    ActivityPerson,
    ActivitySource,
    AddressBookEntry,
    IngestionSkip,
    Person,
)
from integrations.ingest import register_ingest_handler
from integrations.records import (
    AddressBookContactRecord,
    CalendarEventRecord,
    Deletion,
    MailboxContext,
    MailMessageRecord,
    Record,
)

logger = logging.getLogger(__name__)

Role = ActivityParticipant.Role
_MEETING_FIELDS = (
    "occurred_at",
    "ends_at",
    "all_day",
    "subject",
    "snippet",
    "body",
    "organizer_email",
    "organizer_name",
    "location",
    "join_url",
    "join_provider",
    "is_private",
    "updated_at",
)


# --- The organisation's view of a page -----------------------------------------------------------


@dataclass(frozen=True)
class _Team:
    organization_id: int
    directory: TeamDirectory
    book: RuleBook
    keep_bodies: bool

    @classmethod
    def load(cls, context: MailboxContext) -> _Team:
        org_id = context.organization_id
        directory = team_directory(organization_id=org_id)
        if context.mailbox:  # the mailbox being synced is a teammate's, whatever its user name
            addresses = directory.addresses | {context.mailbox.lower()}
            user_ids = {**directory.user_ids, context.mailbox.lower(): context.user_id}
            directory = TeamDirectory(addresses, directory.domains, user_ids)
        keep = intelligence_settings_for(organization_id=org_id).keep_email_bodies
        return cls(org_id, directory, rulebook_for(organization_id=org_id), keep)

    def decide(self, addresses: Iterable[str]) -> Decision:
        return decide(
            addresses,
            internal_domains=self.directory.domains,
            internal_addresses=self.directory.addresses,
            rules=self.book,
        )

    def is_teammate(self, address: str) -> bool:
        return is_internal(
            address, internal_domains=self.directory.domains, internal_addresses=self.directory.addresses
        )

    def makes_person(self, address: str) -> bool:
        """An outside party nobody ignores or blocks becomes one of the organisation's people."""
        return not self.is_teammate(address) and self.book.match(address) is None


@dataclass(frozen=True)
class _Party:
    email: str
    name: str
    role: str
    response: str = ""


def _valid(address: str) -> bool:
    return 3 <= len(address) <= 254 and "@" in address and " " not in address


def _last_per_item(records: Sequence[Record]) -> list[Record]:
    """Of several records for one provider id in a page, the last one is the current state."""
    last: dict[str, Record] = {}
    for record in records:
        last.pop(record.external_id, None)
        last[record.external_id] = record
    return list(last.values())


# --- Activities -----------------------------------------------------------------------------------


def _write_activities(
    team: _Team,
    context: MailboxContext,
    kind: str,
    items: list[tuple[str, dict[str, Any], list[_Party], str]],
    now,
    *,
    refresh: bool,
) -> None:
    """Upsert activities (``items``: dedupe key, fields, parties, external id of this copy), their
    participants, people, companies, timeline index rows and this mailbox's copies. ``refresh``
    (meetings, which change) rewrites the activity and its participants; messages never change,
    so an existing one is left as it is."""
    org = team.organization_id
    wanted: dict[str, PersonData] = {}
    for _, _, parties, _ in items:
        for party in parties:
            if team.makes_person(party.email):
                data = wanted.setdefault(party.email, PersonData())
                data.name = data.name or party.name
    companies = upsert_companies(team.organization_id, {domain_of(e) for e in wanted}, {}, now)
    people = upsert_people(team.organization_id, wanted, companies, now)

    upsert_rows(
        Activity,
        sorted(
            (
                {"organization_id": org, "kind": kind, "dedupe_key": key, **fields}
                for key, fields, _, _ in items
            ),
            key=lambda row: row["dedupe_key"],
        ),
        conflict=("organization_id", "kind", "dedupe_key"),
        update=_MEETING_FIELDS if refresh else (),
    )
    keys = sorted({key for key, _, _, _ in items})
    ids = dict(
        Activity.objects.filter(organization_id=org, kind=kind, dedupe_key__in=keys).values_list(
            "dedupe_key", "pk"
        )
    )
    activity_ids = sorted(ids.values())
    if refresh:
        for model in (ActivityParticipant, ActivityPerson, ActivityCompany):
            model.objects.filter(organization_id=org, activity_id__in=activity_ids).delete()

    participants, person_links, company_links, sources = {}, {}, {}, {}
    for key, fields, parties, external_id in items:
        activity_id = ids[key]
        base = {"organization_id": org, "activity_id": activity_id}
        for party in parties:
            person_id, company_id = people.get(party.email, (None, None))
            participants.setdefault(
                (activity_id, party.email),
                {
                    **base,
                    "email": party.email,
                    "name": party.name,
                    "role": party.role,
                    "response": party.response,
                    "person_id": person_id,
                    "user_id": team.directory.user_ids.get(party.email),
                },
            )
            index = {**base, "kind": kind, "occurred_at": fields["occurred_at"]}
            if person_id:
                person_links[(activity_id, person_id)] = {**index, "person_id": person_id}
            if company_id:
                company_links[(activity_id, company_id)] = {**index, "company_id": company_id}
        sources[external_id] = {
            **base,
            "user_id": context.user_id,
            "provider": context.provider,
            "kind": context.kind,
            "external_id": external_id,
        }
    upsert_rows(ActivityParticipant, _sorted(participants), conflict=("activity_id", "email"))
    upsert_rows(ActivityPerson, _sorted(person_links), conflict=("activity_id", "person_id"))
    upsert_rows(ActivityCompany, _sorted(company_links), conflict=("activity_id", "company_id"))
    _write_sources(context, sources, moving=refresh)


def _sorted(rows: dict) -> list[dict]:
    return [rows[k] for k in sorted(rows)]


def _sources(context: MailboxContext, external_ids: Iterable[str]):
    return ActivitySource.objects.filter(
        organization_id=context.organization_id,
        user_id=context.user_id,
        provider=context.provider,
        kind=context.kind,
        external_id__in=list(external_ids),
    )


def _write_sources(context: MailboxContext, sources: dict[str, dict], *, moving: bool) -> None:
    """This mailbox's copies. A meeting's copy may move to another activity (its iCalUID changed):
    the activity it leaves goes when nothing else holds it."""
    before: dict[str, int] = {}
    if moving:
        before = dict(_sources(context, sources).values_list("external_id", "activity_id"))
    upsert_rows(
        ActivitySource,
        _sorted(sources),
        conflict=("user_id", "provider", "kind", "external_id"),
        update=("activity_id",) if moving else (),
    )
    left = {old for ext, old in before.items() if old != sources[ext]["activity_id"]}
    if left:
        _delete_orphans(context.organization_id, left)


def _remove_copies(context: MailboxContext, external_ids: Iterable[str]) -> int:
    """This mailbox no longer holds these items; activities nobody holds any more go too (except
    mail sent from Cadence, which stays on the timeline). Returns how many copies went."""
    external_ids = list(external_ids)
    if not external_ids:
        return 0
    copies = _sources(context, external_ids)
    activity_ids = set(copies.values_list("activity_id", flat=True))
    if not activity_ids:
        return 0
    removed, _ = copies.delete()
    _delete_orphans(context.organization_id, activity_ids)
    return removed


def _delete_orphans(organization_id: int, activity_ids: Iterable[int]) -> None:
    orphans = list(
        Activity.objects.filter(
            organization_id=organization_id,
            pk__in=list(activity_ids),
            sent_from_app=False,
            sources__isnull=True,
        ).values_list("pk", flat=True)
    )
    if orphans:
        for model in (ActivityParticipant, ActivityPerson, ActivityCompany):
            model.objects.filter(activity_id__in=orphans).delete()  # one DELETE each: nothing hangs off them
        delete_ids(Activity, orphans)


# --- Email ----------------------------------------------------------------------------------------


def _mail_parties(record: MailMessageRecord) -> list[_Party]:
    parties: dict[str, _Party] = {}
    for role, addresses in (
        (Role.FROM, (record.sender,)),
        (Role.TO, record.to),
        (Role.CC, record.cc),
        (Role.BCC, record.bcc),
    ):
        for address in addresses:
            email = (address.email or "").strip().lower()
            if _valid(email) and email not in parties:
                parties[email] = _Party(email, clean_name(address.name, email), role)
    return list(parties.values())


def ingest_email(context: MailboxContext, records: Sequence[Record]) -> None:
    current = _last_per_item(records)
    messages = [r for r in current if isinstance(r, MailMessageRecord) and not r.is_draft]
    gone = [r.external_id for r in current if isinstance(r, Deletion)]
    gone += [r.external_id for r in current if isinstance(r, MailMessageRecord) and r.is_draft]
    items, skipped, included_keys = [], {}, []
    with transaction.atomic():
        team = _Team.load(context) if messages else None
        now = timezone.now()
        for record in messages:
            key = (
                record.message_id_header.strip().strip("<>").strip()
                or f"{context.provider}:{record.external_id}"
            )
            parties = _mail_parties(record)
            decision = team.decide(p.email for p in parties)
            if not decision.ingest:
                skipped[message_key(key)] = {
                    "organization_id": context.organization_id,
                    "message_key": message_key(key),
                    "rule": decision.rule,
                    "party": decision.party[:254],
                    "decided_at": now,
                }
                continue
            included_keys.append(message_key(key))
            fields = {
                "occurred_at": record.sent_at,
                "subject": (record.subject or "")[:998],
                "snippet": " ".join((record.snippet or "").split())[:500],
                "body": (record.body_text or "") if team.keep_bodies else "",
                "thread_key": (record.thread_id or "")[:300],
                "sender_email": parties[0].email if parties else "",
                "sender_name": parties[0].name if parties else "",
                "provider": context.provider,
                "sent_from_app": context.sent_from_app,
                "created_at": now,
                "updated_at": now,
            }
            items.append((key[:500], fields, parties, record.external_id))
        upsert_rows(
            IngestionSkip,
            _sorted(skipped),
            conflict=("organization_id", "message_key"),
            update=("rule", "party", "decided_at"),
        )
        if included_keys:
            IngestionSkip.objects.filter(
                organization_id=context.organization_id, message_key__in=included_keys
            ).delete()
        if items:
            _write_activities(team, context, Activity.Kind.EMAIL, items, now, refresh=False)
        removed = _remove_copies(context, gone)
    logger.info(
        "intelligence.email_ingested",
        extra={
            "organization_id": context.organization_id,
            "user_id": context.user_id,
            "connection_id": context.connection_id,
            "ingested": len(items),
            "skipped": len(skipped),
            "removed": removed,
        },
    )


# --- Calendar -------------------------------------------------------------------------------------


def _event_parties(event: CalendarEventRecord) -> list[_Party]:
    parties: dict[str, _Party] = {}
    organizer = (event.organizer.email or "").strip().lower()
    if _valid(organizer):
        parties[organizer] = _Party(organizer, clean_name(event.organizer.name, organizer), Role.ORGANIZER)
    for attendee in event.attendees:
        email = (attendee.email or "").strip().lower()
        if attendee.is_resource or not _valid(email):
            continue  # meeting rooms and equipment are not parties
        role = Role.ORGANIZER if attendee.is_organizer else Role.ATTENDEE
        party = _Party(email, clean_name(attendee.name, email), role, (attendee.response or "")[:20])
        if email in parties:  # the organiser listed among the attendees: keep the response
            party = _Party(email, parties[email].name or party.name, Role.ORGANIZER, party.response)
        parties[email] = party
    return list(parties.values())


def ingest_calendar(context: MailboxContext, records: Sequence[Record]) -> None:
    current = _last_per_item(records)
    gone = [r.external_id for r in current if isinstance(r, Deletion)]
    events = [r for r in current if isinstance(r, CalendarEventRecord)]
    items = []
    with transaction.atomic():
        team = _Team.load(context) if events else None
        now = timezone.now()
        for event in events:
            parties = _event_parties(event)
            if event.cancelled or not team.decide(p.email for p in parties).ingest:
                gone.append(event.external_id)
                continue
            provider, url = detect_join_link(event.conference_url, event.location, event.description)
            if len(url) > 1000:
                provider, url = "", ""
            organizer = parties[0] if parties and parties[0].role == Role.ORGANIZER else None
            fields = {
                "occurred_at": event.start,
                "ends_at": event.end,
                "all_day": event.all_day,
                "subject": (event.subject or "")[:998],
                "snippet": " ".join((event.description or "").split())[:500],
                "body": (event.description or "") if team.keep_bodies else "",
                "organizer_email": organizer.email if organizer else "",
                "organizer_name": organizer.name if organizer else "",
                "location": (event.location or "")[:500],
                "join_url": url,
                "join_provider": provider,
                "is_private": event.is_private,
                "provider": context.provider,
                "created_at": now,
                "updated_at": now,
            }
            key = (event.ical_uid or "").strip() or f"{context.provider}:{event.external_id}"
            items.append((key[:500], fields, parties, event.external_id))
        if items:
            _write_activities(team, context, Activity.Kind.MEETING, items, now, refresh=True)
        removed = _remove_copies(context, gone)
    logger.info(
        "intelligence.calendar_ingested",
        extra={
            "organization_id": context.organization_id,
            "user_id": context.user_id,
            "connection_id": context.connection_id,
            "ingested": len(items),
            "removed": removed,
        },
    )


# --- Address books --------------------------------------------------------------------------------


def ingest_contacts(context: MailboxContext, records: Sequence[Record]) -> None:
    """Address-book contacts become (or update) people, filed under their folders (D6).

    Each teammate's contact is kept as an ``AddressBookEntry`` per person it names, with its
    folders; a person's ``address_book_folders`` is the union over their entries. A deleted
    contact (``Deletion``) removes its entries only: the person stays (the activities with them
    stay meaningful), and loses the folders no other contact still files them under."""
    current = _last_per_item(records)
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
        if contacts:
            team = _Team.load(context)
            for contact in contacts:
                display = " ".join(
                    (contact.display_name or f"{contact.given_name} {contact.family_name}").split()
                )[:200]
                folders = sorted({f.strip() for f in contact.folders if f.strip()})
                for email in dict.fromkeys(e.strip().lower() for e in contact.emails):
                    if not _valid(email) or not team.makes_person(email):
                        continue
                    data = wanted.setdefault(email, PersonData(from_address_book=True))
                    data.name = clean_name(display, email) or data.name
                    data.first_name = (contact.given_name or data.first_name)[:100]
                    data.last_name = (contact.family_name or data.last_name)[:100]
                    data.title = (contact.title or data.title)[:200]
                    data.phones = tuple(
                        dict.fromkeys([*data.phones, *(p.strip() for p in contact.phones if p.strip())])
                    )
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
        extra={
            "organization_id": org,
            "user_id": context.user_id,
            "connection_id": context.connection_id,
            "people": len(wanted),
            "deletions": len(gone),
        },
    )


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


def _refresh_folders(organization_id: int, person_ids: set[int], now) -> None:
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


HANDLERS = {"email": ingest_email, "calendar": ingest_calendar, "contacts": ingest_contacts}


def register() -> None:
    """Called from ``CopilotConfig.ready``: copilot decides what synced records become."""
    for kind, handler in HANDLERS.items():
        register_ingest_handler(kind, handler)
