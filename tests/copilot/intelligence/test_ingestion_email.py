"""Synced mail into activities, people and companies: one path for Gmail and Graph (B7, B8)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from copilot.intelligence import ingestion
from copilot.intelligence.services import intelligence_settings_update, mail_rule_remove, message_key
from copilot.models import (
    Activity,
    ActivityCompany,
    ActivityParticipant,
    ActivityPerson,
    ActivitySource,
    Company,
    IngestionSkip,
    MailRule,
    Person,
)
from integrations.records import Deletion
from integrations.sync.registry import deliver
from tests.copilot.intelligence.record_helpers import context, message

BUYER = ("james.smith@bluefinanalytics.example", "James Smith")
BUYER2 = "ava.patel@bluefinanalytics.example"


def state(org) -> dict:
    """Everything ingestion writes for ``org``, comparable across runs."""
    return {
        "activities": sorted(
            Activity.objects.for_org(org).values_list(
                "dedupe_key", "subject", "snippet", "body", "sender_email"
            )
        ),
        "participants": sorted(
            ActivityParticipant.objects.for_org(org).values_list(
                "activity__dedupe_key", "email", "role", "person__email", "user__email"
            )
        ),
        "people": sorted(Person.objects.for_org(org).values_list("email", "name", "company__domain")),
        "companies": sorted(Company.objects.for_org(org).values_list("domain", "name")),
        "person_links": ActivityPerson.objects.for_org(org).count(),
        "company_links": ActivityCompany.objects.for_org(org).count(),
        "sources": sorted(
            ActivitySource.objects.for_org(org).values_list("user__email", "provider", "external_id")
        ),
        "skips": sorted(IngestionSkip.objects.for_org(org).values_list("message_key", "rule", "party")),
    }


def test_a_message_becomes_an_activity_with_its_people_company_and_copy(acme, owner, teammate):
    deliver(context(owner), [message(1, sender=BUYER, to=(owner.email,), cc=(BUYER2, teammate.email))])

    activity = Activity.objects.get(organization=acme)
    assert (activity.kind, activity.dedupe_key, activity.subject) == (
        "email",
        "msg-1@mail.example",
        "Pricing 1",
    )
    assert (activity.sender_email, activity.sender_name, activity.thread_key) == (
        BUYER[0],
        "James Smith",
        "t1",
    )
    assert activity.body == ""  # bodies are not kept unless the organisation allows it
    roles = dict(activity.participants.values_list("email", "role"))
    assert roles == {BUYER[0]: "from", owner.email: "to", BUYER2: "cc", teammate.email: "cc"}
    users = dict(activity.participants.filter(user__isnull=False).values_list("email", "user"))
    assert users == {owner.email: owner.pk, teammate.email: teammate.pk}

    company = Company.objects.get(organization=acme)
    assert (company.domain, company.name) == ("bluefinanalytics.example", "Bluefinanalytics")
    people = {p.email: p for p in Person.objects.for_org(acme)}
    assert set(people) == {BUYER[0], BUYER2}  # teammates are not people
    assert (people[BUYER[0]].name, people[BUYER[0]].first_name, people[BUYER[0]].last_name) == (
        "James Smith",
        "James",
        "Smith",
    )
    assert people[BUYER2].name == "" and people[BUYER2].company == company
    assert set(ActivityPerson.objects.values_list("person__email", flat=True)) == {BUYER[0], BUYER2}
    assert list(ActivityCompany.objects.values_list("company", "occurred_at")) == [
        (company.pk, activity.occurred_at)
    ]
    assert list(ActivitySource.objects.values_list("user", "provider", "kind", "external_id")) == [
        (owner.pk, "google", "email", "m1")
    ]


def test_a_page_delivered_twice_changes_nothing(acme, owner):
    page = [message(n, sender=BUYER, to=(owner.email,), cc=("x@gmail.com",)) for n in range(5)]
    page.append(message(9, sender="spam@gmail.com", to=(BUYER2,)))  # skipped: no teammate who is not ignored
    deliver(context(owner), page)
    first = state(acme)
    deliver(context(owner), page)
    assert state(acme) == first
    assert len(first["activities"]) == 5 and len(first["skips"]) == 1


def test_the_same_message_in_two_teammates_mailboxes_is_one_activity_with_two_copies(acme, owner, teammate):
    record = message(1, sender=BUYER, to=(owner.email, teammate.email))
    deliver(context(owner), [record])
    deliver(
        context(teammate, provider="microsoft"),
        [message(1, sender=BUYER, to=(owner.email, teammate.email), external_id="AAMk-1")],
    )

    activity = Activity.objects.get(organization=acme)
    assert sorted(activity.sources.values_list("user__email", "provider", "external_id")) == [
        (owner.email, "google", "m1"),
        (teammate.email, "microsoft", "AAMk-1"),
    ]
    assert activity.participants.count() == 3 and ActivityPerson.objects.count() == 1


def test_without_a_message_id_the_provider_id_is_the_key(acme, owner):
    deliver(context(owner), [message(1, sender=BUYER, to=(owner.email,), message_id="")])
    assert Activity.objects.get().dedupe_key == "google:m1"


def test_ignored_participants_are_on_the_message_but_never_become_people(acme, owner):
    deliver(
        context(owner), [message(1, sender=("jordan@gmail.com", "Jordan"), to=(owner.email,), cc=(BUYER[0],))]
    )
    activity = Activity.objects.get()
    assert set(activity.participants.values_list("email", flat=True)) == {
        "jordan@gmail.com",
        owner.email,
        BUYER[0],
    }
    assert list(Person.objects.values_list("email", flat=True)) == [BUYER[0]]


def test_free_mail_domains_never_become_companies(acme, owner):
    mail_rule_remove(rule=MailRule.objects.get(organization=acme, value="gmail.com"), actor=owner)
    deliver(context(owner), [message(1, sender=("jordan@gmail.com", "Jordan Lee"), to=(owner.email,))])
    person = Person.objects.get()
    assert (person.email, person.name, person.company) == ("jordan@gmail.com", "Jordan Lee", None)
    assert not Company.objects.exists() and not ActivityCompany.objects.exists()
    assert ActivityPerson.objects.count() == 1


def test_a_subdomain_belongs_to_its_company(acme, owner):
    deliver(
        context(owner),
        [
            message(
                1, sender="ops@eu.meridiancloud.example", to=(owner.email,), cc=("a@brightwater-ins.example",)
            )
        ],
    )
    assert sorted(Company.objects.values_list("domain", "name")) == [
        ("brightwater-ins.example", "Brightwater Ins"),
        ("meridiancloud.example", "Meridiancloud"),
    ]


def test_a_persons_empty_name_is_filled_later_and_a_known_name_kept(acme, owner):
    deliver(context(owner), [message(1, sender=BUYER[0], to=(owner.email,))])
    assert Person.objects.get().name == ""
    deliver(context(owner), [message(2, sender=(BUYER[0], "Jim S."), to=(owner.email,))])
    deliver(context(owner), [message(3, sender=(BUYER[0], "Jimmy"), to=(owner.email,))])
    person = Person.objects.get()
    assert (person.name, person.first_name, person.last_name) == ("Jim S.", "Jim", "S.")


def test_bodies_are_kept_only_when_the_organisation_allows_it(acme, owner):
    deliver(context(owner), [message(1, sender=BUYER, to=(owner.email,))])
    intelligence_settings_update(organization=acme, actor=owner, keep_email_bodies=True)
    deliver(context(owner), [message(2, sender=BUYER, to=(owner.email,))])
    bodies = dict(Activity.objects.values_list("dedupe_key", "body"))
    assert bodies == {
        "msg-1@mail.example": "",
        "msg-2@mail.example": "Hello,\n\nCould you send the pricing for 2 seats?\n",
    }
    assert all(Activity.objects.values_list("snippet", flat=True))


def test_an_excluded_message_stores_no_content_only_the_rule(acme, owner):
    deliver(
        context(owner),
        [message(1, sender="friend@gmail.com", to=(BUYER[0],), message_id="<Secret-1@Mail.Example>")],
    )
    assert not Activity.objects.exists() and not Person.objects.exists()
    skip = IngestionSkip.objects.get(organization=acme)
    assert skip.message_key == message_key("secret-1@mail.example")
    assert (skip.rule, skip.party) == ("ignored_no_teammate", "friend@gmail.com")

    # The rule goes, the message comes in on the next full sync, the skip is forgotten.
    mail_rule_remove(rule=MailRule.objects.get(organization=acme, value="gmail.com"), actor=owner)
    deliver(
        context(owner),
        [message(1, sender="friend@gmail.com", to=(BUYER[0],), message_id="<Secret-1@Mail.Example>")],
    )
    assert Activity.objects.get().dedupe_key == "Secret-1@Mail.Example"
    assert not IngestionSkip.objects.exists()


def test_drafts_are_not_ingested(acme, owner):
    deliver(context(owner), [message(1, sender=owner.email, to=(BUYER[0],), is_draft=True)])
    assert not Activity.objects.exists()


def test_a_deleted_copy_goes_and_the_activity_with_the_last_copy(acme, owner, teammate):
    deliver(context(owner), [message(1, sender=BUYER, to=(owner.email, teammate.email))])
    deliver(context(teammate), [message(1, sender=BUYER, to=(owner.email, teammate.email), external_id="x1")])

    deliver(context(owner), [Deletion("email", "m1")])
    activity = Activity.objects.get()
    assert list(activity.sources.values_list("user", flat=True)) == [teammate.pk]

    deliver(context(teammate), [Deletion("email", "x1"), Deletion("email", "unknown")])
    assert not Activity.objects.exists() and not ActivityParticipant.objects.exists()
    assert not ActivityPerson.objects.exists() and not ActivityCompany.objects.exists()
    assert Person.objects.count() == 1  # people stay


def test_a_message_deleted_in_the_same_page_it_arrived_in_is_not_kept(acme, owner):
    deliver(context(owner), [message(1, sender=BUYER, to=(owner.email,)), Deletion("email", "m1")])
    assert not Activity.objects.exists()


def test_mail_sent_from_cadence_stays_when_its_copy_is_deleted(acme, owner):
    deliver(
        context(owner, sent_from_app=True),
        [message(1, sender=owner.email, to=(BUYER[0],), external_id="sent-1")],
    )
    deliver(
        context(owner), [message(1, sender=owner.email, to=(BUYER[0],), external_id="sent-1")]
    )  # sync sees it
    activity = Activity.objects.get()
    assert activity.sent_from_app is True and activity.sources.count() == 1
    deliver(context(owner), [Deletion("email", "sent-1")])
    assert Activity.objects.filter(pk=activity.pk).exists()


def test_organisations_never_share_rows(acme, globex, owner, outsider):
    deliver(context(owner), [message(1, sender=BUYER, to=(owner.email,))])
    deliver(context(outsider), [message(1, sender=BUYER, to=(outsider.email,))])
    assert Activity.objects.for_org(acme).count() == Activity.objects.for_org(globex).count() == 1
    assert Person.objects.for_org(globex).get().email == BUYER[0]
    assert Company.objects.count() == 2


def test_the_handlers_are_registered_for_every_kind():
    from integrations.sync import registry as ingest

    for kind, handler in ingestion.HANDLERS.items():
        assert handler in ingest._handlers[kind]


def _page(start: int, size: int, owner) -> list:
    return [
        message(
            n,
            sender=(f"buyer{n}@customer{n % 40}.example", f"Buyer {n}"),
            to=(owner.email, f"colleague{n}@customer{n % 40}.example"),
            cc=("teammate@acme.example", "friend@gmail.com"),
        )
        for n in range(start, start + size)
    ]


@pytest.mark.django_db(transaction=False)
def test_a_page_costs_a_few_queries_whatever_its_size(acme, owner, teammate):
    deliver(context(owner), _page(0, 1, owner))  # the organisation's settings row exists

    def queries(page) -> int:
        with CaptureQueriesContext(connection) as captured:
            deliver(context(owner), page)
        return len(captured)

    small = queries(_page(100, 5, owner))
    large = queries(_page(1000, 500, owner))
    assert small == large <= 25, (small, large)
    assert Activity.objects.count() == 506 and ActivitySource.objects.count() == 506
    assert Person.objects.count() == 1 + 1 + 5 * 2 + 500 * 2 and Company.objects.count() == 40
    deletions = queries([Deletion("email", f"m{n}") for n in range(1000, 1500)])
    assert deletions <= 12 and Activity.objects.count() == 6, deletions
