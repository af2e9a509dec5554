"""The seller's Today page (the workspace home): today's meetings from the synced calendar with
their join links, mail from contacts, contacts with new activity, each with an empty state;
another organisation's rows never show; private meetings stay private; the page costs the same
number of queries however much data there is."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import timezone

from engage import today
from tests.copilot.intelligence.factories import PersonFactory, activity_with_links
from tests.factories import ContactFactory, UserFactory

NOW = dt.datetime(2025, 3, 4, 15, 0, tzinfo=dt.UTC)  # 10:00 in New York


@pytest.fixture
def seller(teammate):
    teammate.time_zone = "America/New_York"
    teammate.save(update_fields=["time_zone"])
    return teammate


@pytest.fixture
def seller_client(client, seller):
    client.force_login(seller)
    return client


@pytest.fixture
def dana(acme):
    """A contact of Acme's and the person the synced mail knows her as."""
    contact = ContactFactory(
        organization=acme, first_name="Dana", last_name="Scully", email="dana@fbi.example"
    )
    PersonFactory(organization=acme, email="dana@fbi.example", name="Dana Scully")
    return contact


def _person(contact):
    from copilot.models import Person

    return Person.objects.get(organization=contact.organization, email=contact.email)


def _page(org, viewer, now=NOW):
    with timezone.override(zoneinfo.ZoneInfo(viewer.time_zone)):
        return today.today_page(organization=org, viewer=viewer, now=now)


def _meeting(org, *, at, users, people=(), **fields):
    return activity_with_links(
        organization=org, kind="meeting", occurred_at=at, users=users, people=people, **fields
    )


# --- Meetings -----------------------------------------------------------------------------------
def test_todays_meetings_are_the_sellers_own_in_their_time_zone_with_join_links(acme, owner, seller, dana):
    person = _person(dana)
    call = _meeting(
        acme,
        at=NOW + dt.timedelta(hours=2),
        users=[seller],
        people=[person],
        subject="Demo with Dana",
        join_url="https://meet.google.com/abc-defg-hij",
        join_provider="google_meet",
    )
    lunch = _meeting(acme, at=NOW - dt.timedelta(hours=1), users=[seller], subject="Lunch", location="Cafe")
    # 23:30 New York is still today there (04:30 UTC tomorrow); 00:30 New York tomorrow is not.
    late = _meeting(acme, at=dt.datetime(2025, 3, 5, 4, 30, tzinfo=dt.UTC), users=[seller], subject="Late")
    _meeting(acme, at=dt.datetime(2025, 3, 5, 5, 30, tzinfo=dt.UTC), users=[seller], subject="Tomorrow")
    _meeting(acme, at=NOW - dt.timedelta(days=1), users=[seller], subject="Yesterday")
    _meeting(acme, at=NOW, users=[owner], subject="Owner's own")  # not the seller's
    _meeting(acme, at=NOW, users=[seller], subject="Called off", cancelled=True)

    page = _page(acme, seller)

    assert page.day == dt.date(2025, 3, 4)
    assert [m.id for m in page.meetings] == [lunch.pk, call.pk, late.pk]
    assert page.meetings[1].join_url == "https://meet.google.com/abc-defg-hij"
    assert page.meetings[1].join_label == "Google Meet"
    assert page.meetings[0].join_url == ""


def test_a_meeting_the_seller_is_invited_to_shows_even_if_another_calendar_holds_it(acme, owner, seller):
    invite = _meeting(acme, at=NOW, users=[owner, seller], holders=[owner], subject="Pipeline review")
    assert [m.id for m in _page(acme, seller).meetings] == [invite.pk]


def test_a_private_meeting_is_hidden_from_a_teammate_who_is_not_in_it(acme, owner, seller, dana):
    private = _meeting(
        acme, at=NOW, users=[owner], people=[_person(dana)], subject="Secret pricing", is_private=True
    )
    assert _page(acme, seller).meetings == []
    mine = _page(acme, owner).meetings
    assert [m.id for m in mine] == [private.pk] and mine[0].subject == "Secret pricing"


def test_the_page_shows_meetings_with_join_link_or_no_join_link(seller_client, acme, seller):
    now = timezone.now()
    _meeting(
        acme,
        at=now,
        users=[seller],
        subject="Kick-off",
        join_url="https://zoom.us/j/123",
        join_provider="zoom",
    )
    _meeting(acme, at=now, users=[seller], subject="Walkthrough")
    text = seller_client.get(reverse("engage:home")).text
    assert "Kick-off" in text and 'href="https://zoom.us/j/123"' in text and "Join (Zoom)" in text
    assert "Walkthrough" in text and "No join link" in text
    assert "Times in America/New_York." in text


# --- Mail ---------------------------------------------------------------------------------------
def test_mail_from_contacts_newest_first_with_a_link_to_the_contact(acme, seller, dana):
    person = _person(dana)
    stranger = PersonFactory(organization=acme, email="someone@else.example")
    older = activity_with_links(
        organization=acme,
        occurred_at=NOW - dt.timedelta(days=2),
        people=[person],
        users=[seller],
        sender=person,
        subject="Re: proposal",
    )
    newer = activity_with_links(
        organization=acme,
        occurred_at=NOW - dt.timedelta(hours=3),
        people=[person],
        users=[seller],
        sender=person,
        subject="Question",
    )
    activity_with_links(  # not a contact
        organization=acme, occurred_at=NOW, people=[stranger], users=[seller], sender=stranger, subject="Spam"
    )
    activity_with_links(  # the seller writing to Dana is not inbound
        organization=acme, occurred_at=NOW, people=[person], users=[seller], sender=seller, subject="Outbound"
    )
    activity_with_links(  # too old
        organization=acme,
        occurred_at=NOW - dt.timedelta(days=8),
        people=[person],
        users=[seller],
        sender=person,
        subject="Last month",
    )

    mail = _page(acme, seller).mail

    assert [m.id for m in mail] == [newer.pk, older.pk]
    assert mail[0].contact == dana and mail[0].sender_label == "Dana Scully"


def test_mail_list_is_capped(acme, seller, dana):
    person = _person(dana)
    for i in range(today.MAIL_SHOWN + 3):
        activity_with_links(
            organization=acme,
            occurred_at=NOW - dt.timedelta(minutes=i),
            people=[person],
            users=[seller],
            sender=person,
        )
    assert len(_page(acme, seller).mail) == today.MAIL_SHOWN


def test_mail_in_a_teammates_mailbox_only_is_not_the_sellers(acme, owner, seller, dana):
    person = _person(dana)
    activity_with_links(organization=acme, occurred_at=NOW, people=[person], users=[owner], sender=person)
    assert _page(acme, seller).mail == []
    assert len(_page(acme, owner).mail) == 1


# --- Contacts with new activity -----------------------------------------------------------------
def test_contacts_with_new_activity_most_recent_first(acme, owner, seller, dana):
    fox = ContactFactory(organization=acme, first_name="Fox", last_name="Mulder", email="fox@fbi.example")
    fox_person = PersonFactory(organization=acme, email="fox@fbi.example")
    quiet = ContactFactory(organization=acme, email="quiet@fbi.example")
    PersonFactory(organization=acme, email="quiet@fbi.example")
    not_a_contact = PersonFactory(organization=acme, email="nobody@else.example")
    for hours in (1, 30):
        activity_with_links(
            organization=acme,
            occurred_at=NOW - dt.timedelta(hours=hours),
            people=[_person(dana)],
            users=[owner],
        )
    activity_with_links(
        organization=acme, occurred_at=NOW - dt.timedelta(minutes=5), people=[fox_person], users=[owner]
    )
    activity_with_links(organization=acme, occurred_at=NOW, people=[not_a_contact], users=[seller])
    activity_with_links(
        organization=acme, occurred_at=NOW - dt.timedelta(days=9), people=[_person(quiet)], users=[seller]
    )

    rows = _page(acme, seller).active_contacts

    assert [(r.contact, r.activities) for r in rows] == [(fox, 1), (dana, 2)]


# --- Empty states, isolation, the package lock --------------------------------------------------
def test_each_section_says_what_will_appear_when_empty(seller_client):
    text = seller_client.get(reverse("engage:home")).text
    assert "Steps of your Salesflows due today — calls, emails and tasks — will appear here." in text
    assert "No meetings on your calendar today." in text
    assert "No mail from your contacts in the last 7 days." in text
    assert "None of your contacts had new activity in the last 7 days." in text
    assert text.count(reverse("engage:settings")) >= 2  # where to connect a mailbox and calendar


def test_another_organisations_meetings_and_mail_never_show(seller_client, acme, globex, seller):
    now = timezone.now()
    ContactFactory(organization=acme, email="shared@client.example")
    other_user = UserFactory(organization=globex, email=seller.email.replace("acme", "globex"))
    other_person = PersonFactory(organization=globex, email="shared@client.example")
    ContactFactory(organization=globex, email="shared@client.example")
    _meeting(
        globex,
        at=now,
        users=[other_user],
        people=[other_person],
        subject="Globex board",
        organizer_email=seller.email,
    )
    activity_with_links(
        organization=globex,
        occurred_at=now,
        people=[other_person],
        users=[other_user],
        sender=other_person,
        subject="Globex reply",
    )
    text = seller_client.get(reverse("engage:home")).text
    assert "Globex board" not in text and "Globex reply" not in text
    assert "None of your contacts had new activity" in text


def test_without_the_intelligence_package_the_sections_say_so(seller_client, acme):
    acme.package_copilot = False
    acme.save(update_fields=["package_copilot"])
    text = seller_client.get(reverse("engage:home")).text
    locked = " here. Needs the Revenue intelligence package. Ask your Cadence account manager."
    assert text.count(locked) == 3  # meetings, mail, contacts with new activity
    assert "Steps of your Salesflows due today" in text


# --- Query count --------------------------------------------------------------------------------
def _fill(acme, seller, owner, n):
    for i in range(n):
        contact = ContactFactory(organization=acme, email=f"c{n}-{i}@client.example")
        person = PersonFactory(organization=acme, email=contact.email)
        _meeting(
            acme,
            at=timezone.now() - dt.timedelta(minutes=i),  # 30 minutes long: runs into today
            users=[seller, owner],
            people=[person],
            join_url="https://meet.google.com/x",
            join_provider="google_meet",
        )
        activity_with_links(
            organization=acme,
            occurred_at=timezone.now() - dt.timedelta(minutes=i),
            people=[person],
            users=[seller],
            sender=person,
        )


@pytest.mark.parametrize("size", [2, 15])
def test_the_page_costs_the_same_number_of_queries_at_any_size(
    size, seller_client, acme, seller, owner, django_assert_num_queries
):
    seller_client.get(reverse("engage:home"))  # session, user and organisation warmed the same way
    _fill(acme, seller, owner, size)
    # session, user, organisation; Salesflow actions (2: the first few, the counts the navigation
    # shares); meetings (3: the meetings, participants, copies), mail (2), contacts (2)
    with django_assert_num_queries(QUERIES):
        response = seller_client.get(reverse("engage:home"))
    assert response.text.count("Join (Google Meet)") == min(size, today.MEETINGS_SHOWN)


QUERIES = 12
