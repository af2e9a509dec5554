"""Synced calendars into meeting activities (D2-D4): attendees, organiser, join link, privacy."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext

from copilot.intelligence.services import mail_rule_add_block
from copilot.models import Activity, ActivityCompany, ActivityPerson, ActivitySource, Person
from integrations.records import Attendee, Deletion
from integrations.sync.registry import deliver
from tests.copilot.intelligence.record_helpers import T0, context, event

BUYER = "mei.nguyen@kestrelrobotics.example"
MEET = "https://meet.google.com/abc-defg-hij"


def cal(user, **extra):
    return context(user, kind="calendar", **extra)


def test_a_meeting_becomes_an_activity_with_attendees_and_join_link(acme, owner, teammate):
    record = event(
        1,
        organizer=owner.email,
        attendees=(
            Attendee(owner.email, "Olive Owner", "accepted", is_organizer=True),
            Attendee(BUYER, "Mei Nguyen", "tentative"),
            Attendee(teammate.email, "", "needsAction"),
            Attendee("room-4@resource.calendar.example", "Room 4", "accepted", is_resource=True),
        ),
        conference_url=MEET,
        location="Room 4",
        description="Agenda:\n  pricing\n  rollout",
    )
    deliver(cal(owner), [record])

    meeting = Activity.objects.get(organization=acme)
    assert (meeting.kind, meeting.dedupe_key, meeting.subject) == (
        "meeting",
        "meeting-1@calendar.example",
        "Discovery call 1",
    )
    assert (meeting.occurred_at, meeting.ends_at) == (record.start, record.end)
    assert (meeting.organizer_email, meeting.organizer_name) == (owner.email, "Olive Owner")
    assert (meeting.join_provider, meeting.join_url, meeting.location) == ("google_meet", MEET, "Room 4")
    assert meeting.snippet == "Agenda: pricing rollout" and meeting.body == ""
    parts = {
        p.email: (p.role, p.response, p.user_id, p.person_id is not None) for p in meeting.participants.all()
    }
    assert parts == {
        owner.email: ("organizer", "accepted", owner.pk, False),
        BUYER: ("attendee", "tentative", None, True),
        teammate.email: ("attendee", "needsAction", teammate.pk, False),
    }  # the meeting room is not a party
    assert Person.objects.get().company.domain == "kestrelrobotics.example"
    assert ActivityCompany.objects.get().occurred_at == record.start
    assert list(ActivitySource.objects.values_list("kind", "external_id")) == [("calendar", "e1")]


def test_a_meeting_without_a_link_is_not_joinable(acme, owner):
    deliver(cal(owner), [event(1, organizer=owner.email, attendees=(BUYER,), location="Kestrel offices")])
    assert Activity.objects.values_list("join_provider", "join_url").get() == ("", "")


def test_a_join_link_in_the_description_is_found(acme, owner):
    deliver(
        cal(owner),
        [
            event(
                1,
                organizer=owner.email,
                attendees=(BUYER,),
                description="Join: https://us02web.zoom.us/j/8123",
            )
        ],
    )
    assert Activity.objects.values_list("join_provider", "join_url").get() == (
        "zoom",
        "https://us02web.zoom.us/j/8123",
    )


def test_private_meetings_are_marked_private(acme, owner):
    deliver(cal(owner), [event(1, organizer=owner.email, attendees=(BUYER,), is_private=True)])
    assert Activity.objects.get().is_private is True


def test_a_changed_meeting_is_updated_in_place(acme, owner):
    deliver(cal(owner), [event(1, organizer=owner.email, attendees=(BUYER, "other@kestrelrobotics.example"))])
    moved = T0 + dt.timedelta(days=3)
    deliver(
        cal(owner),
        [
            event(
                1,
                organizer=owner.email,
                attendees=(BUYER,),
                subject="Moved call",
                start=moved,
                conference_url=MEET,
            )
        ],
    )
    meeting = Activity.objects.get()
    assert (meeting.subject, meeting.occurred_at, meeting.join_provider) == (
        "Moved call",
        moved,
        "google_meet",
    )
    assert set(meeting.participants.values_list("email", flat=True)) == {owner.email, BUYER}
    assert set(ActivityPerson.objects.values_list("person__email", "occurred_at")) == {(BUYER, moved)}
    assert list(ActivityCompany.objects.values_list("occurred_at", flat=True)) == [moved]


def test_the_same_meeting_in_two_calendars_is_one_activity(acme, owner, teammate):
    deliver(cal(owner), [event(1, organizer=owner.email, attendees=(teammate.email, BUYER))])
    deliver(
        cal(teammate, provider="microsoft"),
        [event(1, organizer=owner.email, attendees=(teammate.email, BUYER), external_id="AAMkAD=")],
    )
    meeting = Activity.objects.get()
    assert sorted(meeting.sources.values_list("provider", "external_id")) == [
        ("google", "e1"),
        ("microsoft", "AAMkAD="),
    ]


def test_a_cancelled_meeting_leaves_each_calendar_and_goes_with_the_last(acme, owner, teammate):
    deliver(cal(owner), [event(1, organizer=owner.email, attendees=(teammate.email, BUYER))])
    deliver(
        cal(teammate), [event(1, organizer=owner.email, attendees=(teammate.email, BUYER), external_id="t1")]
    )

    deliver(cal(owner), [event(1, organizer=owner.email, attendees=(teammate.email, BUYER), cancelled=True)])
    assert list(Activity.objects.get().sources.values_list("user", flat=True)) == [teammate.pk]
    deliver(cal(teammate), [Deletion("calendar", "t1")])
    assert not Activity.objects.exists() and not ActivityPerson.objects.exists()


def test_the_ignore_and_block_rules_apply_to_meetings(acme, owner):
    deliver(cal(owner), [event(1, organizer="friend@gmail.com", attendees=(BUYER,))])  # ignored, no teammate
    deliver(cal(owner), [event(2, organizer="friend@gmail.com", attendees=(owner.email,))])  # with a teammate
    assert list(Activity.objects.values_list("dedupe_key", flat=True)) == ["meeting-2@calendar.example"]

    mail_rule_add_block(organization=acme, actor=owner, value="lawfirm.example", confirmed=True)
    deliver(cal(owner), [event(3, organizer=owner.email, attendees=("partner@lawfirm.example",))])
    assert not Activity.objects.filter(dedupe_key="meeting-3@calendar.example").exists()


def test_a_meeting_the_rules_now_exclude_leaves_the_calendar(acme, owner):
    deliver(cal(owner), [event(1, organizer=owner.email, attendees=(BUYER,))])
    mail_rule_add_block(organization=acme, actor=owner, value="ceo@acme.example", confirmed=True)
    deliver(cal(owner), [event(1, organizer=owner.email, attendees=(BUYER, "ceo@acme.example"))])
    assert not Activity.objects.exists()


def test_an_event_whose_ical_uid_changes_moves_its_copy(acme, owner):
    deliver(cal(owner), [event(1, organizer=owner.email, attendees=(BUYER,), ical_uid="old@x")])
    deliver(cal(owner), [event(1, organizer=owner.email, attendees=(BUYER,), ical_uid="new@x")])
    assert list(Activity.objects.values_list("dedupe_key", flat=True)) == ["new@x"]


def test_a_page_delivered_twice_changes_nothing(acme, owner):
    page = [event(n, organizer=owner.email, attendees=(BUYER,), conference_url=MEET) for n in range(3)]
    deliver(cal(owner), page)
    before = sorted(Activity.objects.values_list("pk", "dedupe_key", "subject", "occurred_at", "join_url"))
    parts = sorted(Activity.objects.values_list("participants__email", "participants__role"))
    deliver(cal(owner), page)
    assert (
        sorted(Activity.objects.values_list("pk", "dedupe_key", "subject", "occurred_at", "join_url"))
        == before
    )
    assert sorted(Activity.objects.values_list("participants__email", "participants__role")) == parts
    assert ActivitySource.objects.count() == 3


def test_a_page_of_meetings_costs_a_few_queries(acme, owner, teammate):
    deliver(cal(owner), [event(0, organizer=owner.email, attendees=(BUYER,))])

    def queries(page) -> int:
        with CaptureQueriesContext(connection) as captured:
            deliver(cal(owner), page)
        return len(captured)

    def page(start, size):
        return [
            event(n, organizer=owner.email, attendees=(teammate.email, f"p{n}@customer{n % 20}.example"))
            for n in range(start, start + size)
        ]

    small, large = queries(page(10, 5)), queries(page(100, 300))
    assert small == large <= 25, (small, large)
