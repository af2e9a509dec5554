"""Reads of the team timeline (B8) and of the companies and people it is about.

``timeline()`` pages through one company's, person's or address's activities newest first. It
walks the timeline index tables (``ActivityCompany`` / ``ActivityPerson``, which carry
``occurred_at`` so the walk is one index range scan) by keyset on ``(occurred_at, activity id)``,
then loads that page's activities with their participants and teammates' copies: five queries at
most, whether the company has ten activities or a million.

Private meetings (D4) are shown in full only to their organiser, their attendees and the teammates
whose calendars hold them; everyone else gets a ``TimelineItem`` that says "Private meeting" with
its time and host and nothing else — the hidden fields are never put on the item, so no template
can show them by mistake.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import Lower

from copilot.intelligence.meetings import LABELS as JOIN_LABELS
from copilot.intelligence.people import company_domain
from copilot.models import (
    Activity,
    ActivityCompany,
    ActivityParticipant,
    ActivityPerson,
    ActivitySource,
    AddressBookEntry,
    Company,
    Organization,
    Person,
    User,
)

PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
PRIVATE_SUBJECT = "Private meeting"
# What is shown of a meeting's attendees or an email's recipients before "and N more".
PARTICIPANTS_SHOWN = 6


@dataclass(frozen=True)
class Party:
    email: str
    name: str
    role: str
    is_teammate: bool

    @property
    def label(self) -> str:
        return self.name or self.email


@dataclass(frozen=True)
class TimelineItem:
    """One row of a timeline as the viewer may see it."""

    id: int
    kind: str
    occurred_at: dt.datetime
    subject: str
    ends_at: dt.datetime | None = None
    all_day: bool = False
    snippet: str = ""
    sender: Party | None = None  # emails
    host: Party | None = None  # meetings: the organiser
    participants: tuple[Party, ...] = ()  # everyone but the sender/host
    teammates: tuple[User, ...] = ()  # whose mailboxes / calendars hold a copy
    join_url: str = ""
    join_label: str = ""  # "Google Meet", "Teams", "Zoom", "Webex", or "" (no join link)
    location: str = ""
    cancelled: bool = False
    sent_from_app: bool = False
    is_private: bool = False
    restricted: bool = False  # a private meeting this viewer may not see the details of

    @property
    def kind_label(self) -> str:
        return Activity.Kind(self.kind).label

    @property
    def is_meeting(self) -> bool:
        return self.kind == Activity.Kind.MEETING

    @property
    def participants_shown(self) -> tuple[Party, ...]:
        return self.participants[:PARTICIPANTS_SHOWN]

    @property
    def participants_more(self) -> int:
        return max(0, len(self.participants) - PARTICIPANTS_SHOWN)


@dataclass(frozen=True)
class TimelinePage:
    items: list[TimelineItem] = field(default_factory=list)
    next_cursor: str | None = None  # pass as ``before`` for the next (older) page
    is_first: bool = True


# --- Cursor -------------------------------------------------------------------------------------
def encode_cursor(occurred_at: dt.datetime, activity_id: int) -> str:
    raw = json.dumps([occurred_at.isoformat(), activity_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[dt.datetime, int] | None:
    """The cursor's position, or None when it is not one of ours (a stale or edited link)."""
    if not cursor:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        when, activity_id = values
        when = dt.datetime.fromisoformat(when)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        return None
    if when.tzinfo is None or not isinstance(activity_id, int) or isinstance(activity_id, bool):
        return None
    return when, activity_id


def _older_than(position: tuple[dt.datetime, int], *, time: str, pk: str) -> Q:
    """Rows strictly after ``position`` in newest-first order. The leading ``time <= t`` is
    implied by the rest; it lets the database start its index scan at the cursor."""
    when, activity_id = position
    return Q(**{f"{time}__lte": when}) & (
        Q(**{f"{time}__lt": when}) | Q(**{time: when, f"{pk}__lt": activity_id})
    )


# --- The timeline -------------------------------------------------------------------------------
def timeline(
    *,
    organization: Organization,
    viewer: User,
    company: Company | None = None,
    person: Person | None = None,
    email: str | None = None,
    kinds: Iterable[str] = (),
    teammate: User | int | None = None,
    before: str | None = None,
    limit: int = PAGE_SIZE,
    all_addresses: bool = False,
) -> TimelinePage:
    """One page (newest first) of the activities with ``company``, ``person`` or the address
    ``email`` — exactly one of them — optionally only of ``kinds`` and only those held in
    ``teammate``'s mailbox or calendar; ``before`` is the cursor of the page before.
    ``all_addresses``: a person's timeline with every address the team's address books file
    with theirs (``person_addresses``), each activity once (one query more)."""
    if sum(x is not None for x in (company, person, email)) != 1:
        raise ValueError("timeline() needs exactly one of company, person or email")
    limit = max(1, min(int(limit), MAX_PAGE_SIZE))
    kinds = tuple(k for k in kinds if k in Activity.Kind.values)
    teammate_id = teammate.pk if isinstance(teammate, User) else teammate
    position = decode_cursor(before)

    if email is not None:
        email = email.strip().lower()
        if not email:
            return TimelinePage()
        person = Person.objects.for_org(organization).filter(email=email).first()

    if company is not None:
        index, pk = ActivityCompany.objects.for_org(organization).filter(company=company), "activity_id"
    elif person is not None and all_addresses and len(ids := address_ids(person=person)) > 1:
        # One activity may involve two of the person's addresses: ``distinct`` keeps it once.
        # (One address, the usual case, takes the branch below: one range scan of its index.)
        index = ActivityPerson.objects.for_org(organization).filter(person_id__in=ids).distinct()
        pk = "activity_id"
    elif person is not None:
        index, pk = ActivityPerson.objects.for_org(organization).filter(person=person), "activity_id"
    else:
        # An address nobody has filed as a person (yet): match the participants directly.
        # Through the participants' (organization, email) index: few rows however big the org.
        participants = ActivityParticipant.objects.for_org(organization).filter(email=email)
        index = Activity.objects.for_org(organization).filter(pk__in=participants.values("activity_id"))
        pk = "id"
    if kinds:
        index = index.filter(kind__in=kinds)
    if teammate_id:
        index = index.filter(
            Exists(ActivitySource.objects.filter(activity_id=OuterRef(pk), user_id=teammate_id))
        )
    if position:
        index = index.filter(_older_than(position, time="occurred_at", pk=pk))
    rows = list(index.order_by("-occurred_at", f"-{pk}").values_list("occurred_at", pk)[: limit + 1])

    more = len(rows) > limit
    rows = rows[:limit]
    ids = [activity_id for _, activity_id in rows]
    activities = _activities_by_id(organization=organization, ids=ids)
    items = [
        timeline_item(activities[activity_id], viewer=viewer)
        for activity_id in ids
        if activity_id in activities
    ]
    return TimelinePage(
        items=items,
        next_cursor=encode_cursor(*rows[-1]) if more and rows else None,
        is_first=position is None,
    )


def address_people(*, person: Person) -> QuerySet[Person]:
    """``person`` and the people filed under the same address-book contact as them: one contact
    with two addresses makes two people (ingestion keys people by address), so a person's
    "known addresses" are those of every address-book contact that names them."""
    entries = AddressBookEntry.objects.filter(organization_id=person.organization_id, person_id=person.pk)
    same_contact = AddressBookEntry.objects.filter(organization_id=person.organization_id).filter(
        Exists(
            entries.filter(
                user_id=OuterRef("user_id"),
                provider=OuterRef("provider"),
                external_id=OuterRef("external_id"),
            )
        )
    )
    return Person.objects.for_org(person.organization_id).filter(
        Q(pk=person.pk) | Q(pk__in=same_contact.values("person_id"))
    )


def address_ids(*, person: Person) -> list[int]:
    """The ids of ``address_people`` (one query)."""
    return sorted(address_people(person=person).values_list("pk", flat=True))


def person_addresses(*, person: Person) -> list[str]:
    """Every address the team knows ``person`` by: theirs first, then the others of the
    address-book contacts that name them (one query)."""
    emails = sorted(address_people(person=person).values_list("email", flat=True))
    return [person.email, *(e for e in emails if e != person.email)]


def people_addresses(*, organization: Organization | int, people: list[Person]) -> dict[int, list[str]]:
    """``person_addresses`` for each of ``people`` by id, in two queries however many."""
    result = {p.pk: [p.email] for p in people}
    entries = list(
        AddressBookEntry.objects.for_org(organization)
        .filter(person_id__in=list(result))
        .values_list("user_id", "provider", "external_id", "person_id")
    )
    if not entries:
        return result
    contact_of: dict[tuple[int, str, str], set[int]] = {}
    for user_id, provider, external_id, person_id in entries:
        contact_of.setdefault((user_id, provider, external_id), set()).add(person_id)
    siblings = (
        AddressBookEntry.objects.for_org(organization)
        .filter(external_id__in={key[2] for key in contact_of}, user_id__in={key[0] for key in contact_of})
        .values_list("user_id", "provider", "external_id", "person__email")
    )
    for user_id, provider, external_id, email in siblings:
        for person_id in contact_of.get((user_id, provider, external_id), ()):
            if email not in result[person_id]:
                result[person_id].append(email)
    return {pk: [found[0], *sorted(found[1:])] for pk, found in result.items()}


def person_by_email(*, organization: Organization, email: str) -> Person | None:
    """The person with ``email`` (any case), with their company; None when nobody has it yet."""
    email = (email or "").strip().lower()
    if not email:
        return None
    return Person.objects.for_org(organization).select_related("company").filter(email=email).first()


def company_by_domain(*, organization: Organization, domain: str) -> Company | None:
    """The company of ``domain`` (``eu.acme.com`` finds ``acme.com``, as ingestion keys them)."""
    domain = (domain or "").strip().lower().removeprefix("www.")
    if not domain or "." not in domain:
        return None
    return Company.objects.for_org(organization).filter(domain=company_domain(domain)).first()


def for_display(activities: QuerySet[Activity]) -> QuerySet[Activity]:
    """What a timeline row shows of each activity (participants, the teammates holding a copy),
    in two queries for the whole list; the body is left for the one page that shows it."""
    return activities.defer("body").prefetch_related(
        Prefetch("participants", queryset=ActivityParticipant.objects.order_by("pk")),
        Prefetch(
            "sources",
            queryset=ActivitySource.objects.select_related("user").order_by(
                "user__first_name", "user__last_name", "user__email"
            ),
        ),
    )


def _activities_by_id(*, organization: Organization, ids: list[int]) -> dict[int, Activity]:
    if not ids:
        return {}
    activities = for_display(Activity.objects.for_org(organization).filter(pk__in=ids))
    return {a.pk: a for a in activities}


def viewer_may_see(activity: Activity, *, viewer: User) -> bool:
    """D4: a private meeting's details are for its organiser, its attendees and the teammates
    whose calendars hold it. Uses the prefetched participants and sources."""
    if not activity.is_private:
        return True
    address = (viewer.email or "").lower()
    if address and activity.organizer_email.lower() == address:
        return True
    if any(source.user_id == viewer.pk for source in activity.sources.all()):
        return True
    return any(p.user_id == viewer.pk or p.email.lower() == address for p in activity.participants.all())


def timeline_item(activity: Activity, *, viewer: User) -> TimelineItem:
    """``activity`` as ``viewer`` may see it (needs participants and sources prefetched)."""
    participants = list(activity.participants.all())
    is_meeting = activity.kind == Activity.Kind.MEETING
    lead_address = (activity.organizer_email if is_meeting else activity.sender_email).lower()
    lead_name = activity.organizer_name if is_meeting else activity.sender_name
    lead_is_teammate = False
    others = []
    for p in participants:
        if p.email.lower() == lead_address:
            lead_name = lead_name or p.name
            lead_is_teammate = p.user_id is not None
        else:
            others.append(Party(email=p.email, name=p.name, role=p.role, is_teammate=p.user_id is not None))
    lead = (
        Party(
            email=lead_address,
            name=lead_name,
            role="organizer" if is_meeting else "from",
            is_teammate=lead_is_teammate,
        )
        if lead_address or lead_name
        else None
    )
    common = {
        "id": activity.pk,
        "kind": activity.kind,
        "occurred_at": activity.occurred_at,
        "ends_at": activity.ends_at,
        "all_day": activity.all_day,
        "cancelled": activity.cancelled,
        "is_private": activity.is_private,
    }
    if is_meeting and not viewer_may_see(activity, viewer=viewer):
        return TimelineItem(subject=PRIVATE_SUBJECT, host=lead, restricted=True, **common)
    # Only web links become a "Join" button, whatever a calendar entry put in the field.
    join_url = (
        activity.join_url if is_meeting and activity.join_url.startswith(("https://", "http://")) else ""
    )
    teammates: dict[int, User] = {}
    for source in activity.sources.all():
        teammates.setdefault(source.user_id, source.user)
    return TimelineItem(
        subject=activity.subject,
        snippet=activity.snippet,
        sender=None if is_meeting else lead,
        host=lead if is_meeting else None,
        participants=tuple(others),
        teammates=tuple(teammates.values()),
        join_url=join_url,
        join_label=JOIN_LABELS.get(activity.join_provider, "") if join_url else "",
        location=activity.location,
        sent_from_app=activity.sent_from_app,
        **common,
    )


def timeline_teammates(*, organization: Organization) -> QuerySet[User]:
    """Who the Teammate filter offers: the organisation's active users."""
    return (
        User.objects.for_org(organization).filter(is_active=True).order_by("first_name", "last_name", "email")
    )


# --- Companies and people -----------------------------------------------------------------------
def company_list(*, organization: Organization, q: str = "") -> QuerySet[Company]:
    """Companies by name, searchable by name or domain, each with its number of people."""
    qs = Company.objects.for_org(organization)
    for term in q.split()[:5]:
        qs = qs.filter(Q(name__icontains=term) | Q(domain__icontains=term))
    return qs.annotate(people_count=Count("people")).order_by(Lower("name"), "domain", "pk")


def person_list(*, organization: Organization, q: str = "") -> QuerySet[Person]:
    """People by name, searchable by name, email or company."""
    qs = Person.objects.for_org(organization).select_related("company")
    for term in q.split()[:5]:
        qs = qs.filter(
            Q(name__icontains=term)
            | Q(email__icontains=term)
            | Q(company__name__icontains=term)
            | Q(company__domain__icontains=term)
        )
    return qs.order_by(Lower("name"), "email", "pk")


def company_people(*, company: Company) -> QuerySet[Person]:
    return (
        Person.objects.for_org(company.organization_id)
        .filter(company=company)
        .order_by(Lower("name"), "email", "pk")
    )
