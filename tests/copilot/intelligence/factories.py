"""Revenue-intelligence rows made directly, for tests of what reads them (timeline, pages).

Ingestion has its own tests through ``copilot.intelligence.ingestion``; these factories only write
the rows it would write: an ``Activity`` with its participants, the timeline index rows
(``ActivityCompany`` / ``ActivityPerson`` with ``occurred_at`` copied) and the teammates' copies
(``ActivitySource``). ``activity_with_links`` is the one call most tests want.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Sequence

import factory
from django.utils import timezone

from copilot.models import (
    Activity,
    ActivityCompany,
    ActivityParticipant,
    ActivityPerson,
    ActivitySource,
    Company,
    Organization,
    Person,
    User,
)
from tests.factories import OrganizationFactory

_batches = itertools.count(1)


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Company

    organization = factory.SubFactory(OrganizationFactory)
    domain = factory.Sequence(lambda n: f"customer{n}.example")
    name = factory.LazyAttribute(lambda o: o.domain.split(".")[0].title())


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    organization = factory.SubFactory(OrganizationFactory)
    company = None
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    name = factory.LazyAttribute(lambda o: f"{o.first_name} {o.last_name}")
    email = factory.LazyAttributeSequence(
        lambda o, n: f"person{n}@{o.company.domain if o.company else 'people.example'}"
    )


class ActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Activity

    organization = factory.SubFactory(OrganizationFactory)
    kind = Activity.Kind.EMAIL
    dedupe_key = factory.Sequence(lambda n: f"msg-{n}@mail.example")
    occurred_at = factory.LazyFunction(timezone.now)
    subject = factory.Sequence(lambda n: f"Message {n}")
    snippet = "Following up on our call"
    provider = "google"


def _kind(value: str) -> str:
    return Activity.Kind(value).value


def activity_with_links(
    *,
    organization: Organization,
    kind: str = Activity.Kind.EMAIL,
    occurred_at: dt.datetime | None = None,
    people: Sequence[Person] = (),
    users: Sequence[User] = (),
    holders: Iterable[User] | None = None,
    sender: Person | User | None = None,
    **fields,
) -> Activity:
    """An activity between ``people`` (outside) and ``users`` (teammates), indexed for the
    timelines of those people and their companies, held in the mailboxes of ``holders``
    (default: ``users``). For a meeting the ``sender`` (default: the first user, else the first
    person) is the organiser; for an email, the sender."""
    kind = _kind(kind)
    occurred_at = occurred_at or timezone.now()
    if sender is None:
        sender = users[0] if users else (people[0] if people else None)
    sender_email = sender.email if sender else ""
    sender_name = _name(sender)
    if kind == Activity.Kind.MEETING:
        fields.setdefault("ends_at", occurred_at + dt.timedelta(minutes=30))
        fields.setdefault("organizer_email", sender_email)
        fields.setdefault("organizer_name", sender_name)
    else:
        fields.setdefault("sender_email", sender_email)
        fields.setdefault("sender_name", sender_name)
    activity = ActivityFactory(organization=organization, kind=kind, occurred_at=occurred_at, **fields)

    participants = []
    for party in [*users, *people]:
        is_sender = sender is not None and party.email == sender_email
        if kind == Activity.Kind.MEETING:
            role = ActivityParticipant.Role.ORGANIZER if is_sender else ActivityParticipant.Role.ATTENDEE
        else:
            role = ActivityParticipant.Role.FROM if is_sender else ActivityParticipant.Role.TO
        participants.append(
            ActivityParticipant(
                organization=organization,
                activity=activity,
                email=party.email,
                name=_name(party),
                role=role,
                person=party if isinstance(party, Person) else None,
                user=party if isinstance(party, User) else None,
            )
        )
    ActivityParticipant.objects.bulk_create(participants)
    index_activity(activity, people=people)
    for user in users if holders is None else holders:
        ActivitySource.objects.create(
            organization=organization,
            activity=activity,
            user=user,
            provider=activity.provider or "google",
            kind="calendar" if kind == Activity.Kind.MEETING else "email",
            external_id=f"{user.pk}-{activity.dedupe_key}",
        )
    return activity


def index_activity(activity: Activity, *, people: Iterable[Person]) -> None:
    """The timeline index rows of ``activity``: one per person, one per distinct company."""
    people = list(people)
    ActivityPerson.objects.bulk_create(
        [
            ActivityPerson(
                organization_id=activity.organization_id,
                activity=activity,
                person=person,
                kind=activity.kind,
                occurred_at=activity.occurred_at,
            )
            for person in people
        ]
    )
    companies = {person.company_id for person in people if person.company_id}
    ActivityCompany.objects.bulk_create(
        [
            ActivityCompany(
                organization_id=activity.organization_id,
                activity=activity,
                company_id=company_id,
                kind=activity.kind,
                occurred_at=activity.occurred_at,
            )
            for company_id in sorted(companies)
        ]
    )


def many_activities(
    *,
    organization: Organization,
    count: int,
    person: Person,
    user: User,
    start: dt.datetime | None = None,
    kinds: Sequence[str] = (Activity.Kind.EMAIL, Activity.Kind.MEETING),
) -> list[Activity]:
    """``count`` activities with ``person`` (and their company), one minute apart going back from
    ``start``, in ``user``'s mailbox — written in bulk, for query-count and paging tests."""
    start = start or timezone.now()
    batch = next(_batches)
    activities = Activity.objects.bulk_create(
        [
            Activity(
                organization=organization,
                kind=_kind(kinds[i % len(kinds)]),
                dedupe_key=f"bulk-{batch}-{i}@mail.example",
                occurred_at=start - dt.timedelta(minutes=i),
                ends_at=start - dt.timedelta(minutes=i) + dt.timedelta(minutes=30),
                subject=f"Bulk {i}",
                snippet="Hello",
                sender_email=user.email,
                organizer_email=user.email,
                provider="google",
            )
            for i in range(count)
        ]
    )
    ActivityParticipant.objects.bulk_create(
        [
            ActivityParticipant(
                organization=organization, activity=a, email=email, role=role, person=p, user=u
            )
            for a in activities
            for email, role, p, u in (
                (user.email, ActivityParticipant.Role.FROM, None, user),
                (person.email, ActivityParticipant.Role.TO, person, None),
            )
        ]
    )
    ActivityPerson.objects.bulk_create(
        [
            ActivityPerson(
                organization=organization, activity=a, person=person, kind=a.kind, occurred_at=a.occurred_at
            )
            for a in activities
        ]
    )
    if person.company_id:
        ActivityCompany.objects.bulk_create(
            [
                ActivityCompany(
                    organization=organization,
                    activity=a,
                    company_id=person.company_id,
                    kind=a.kind,
                    occurred_at=a.occurred_at,
                )
                for a in activities
            ]
        )
    ActivitySource.objects.bulk_create(
        [
            ActivitySource(
                organization=organization,
                activity=a,
                user=user,
                provider="google",
                kind="email",
                external_id=a.dedupe_key,
            )
            for a in activities
        ]
    )
    return activities


def _name(party: Person | User | None) -> str:
    if party is None:
        return ""
    if isinstance(party, User):
        return party.get_full_name()
    return party.name
