"""Google Calendar sync through the adapter against the sandbox (B13, D2-D4)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.utils import timezone

from integrations.exceptions import CursorExpired
from integrations.google.fetch.calendar import event_record
from integrations.google.fetch.source import GOOGLE_ADAPTER
from integrations.records import Address, Attendee, CalendarEventRecord, Deletion
from integrations.sandbox.google import control as google
from tests.integrations.google.conftest import SELLER1, dwd_connection, mailbox

CUSTOMER = "ava.nguyen@bluefinanalytics.example"


def _fetch(connection: Any, user: Any, cursor: str = "") -> list[Any]:
    since = timezone.now() - dt.timedelta(days=90)
    return list(
        GOOGLE_ADAPTER.fetch(
            connection=connection, mailbox=mailbox(user), kind="calendar", cursor=cursor, since=since
        )
    )


def _events(pages: list[Any]) -> list[Any]:
    return [record for page in pages for record in page.records]


def _seed_meeting(sandbox: Any, **more: Any) -> None:
    start = (timezone.now() + dt.timedelta(days=2)).replace(microsecond=0)
    google.seed(sandbox.control, {"events": [{
        "calendar": SELLER1, "summary": "Renewal call", "start": start.isoformat(),
        "end": (start + dt.timedelta(minutes=45)).isoformat(),
        "attendees": [f"Ava Nguyen <{CUSTOMER}>", "Sam Seller <seller1@demo.example>"],
        "ical_uid": "renewal-call@demo.example", **more,
    }]})  # fmt: skip


def test_a_full_sync_brings_meetings_with_attendees_join_links_and_privacy(
    sandbox: Any, demo_admin: Any, seller1: Any
) -> None:
    _seed_meeting(sandbox, meet=True, visibility="private", location="Room 4")
    connection = dwd_connection(sandbox, demo_admin.organization, demo_admin, scope={})

    pages = _fetch(connection, seller1)

    (meeting,) = [e for e in _events(pages) if e.ical_uid == "renewal-call@demo.example"]
    assert isinstance(meeting, CalendarEventRecord)
    assert meeting.subject == "Renewal call" and meeting.location == "Room 4"
    assert meeting.organizer == Address(email=SELLER1, name="Sam Seller")
    assert Attendee(email=CUSTOMER, name="Ava Nguyen", response="needsAction") in meeting.attendees
    assert meeting.conference_url.startswith("https://meet.google.com/")
    assert meeting.is_private and not meeting.cancelled and not meeting.all_day
    assert meeting.end - meeting.start == dt.timedelta(minutes=45)
    assert "s" in json.loads(pages[-1].cursor) and pages[-1].full_resync
    (listing,) = sandbox.control.requests("/calendar/v3/calendars/primary/events")
    assert listing["query"]["singleEvents"] == ["true"] and listing["query"]["timeMin"]


def test_an_incremental_round_uses_the_sync_token_and_reports_cancelled_events(
    sandbox: Any, demo_admin: Any, seller1: Any
) -> None:
    connection = dwd_connection(sandbox, demo_admin.organization, demo_admin, scope={})
    synced = _fetch(connection, seller1)
    cursor, gone = synced[-1].cursor, _events(synced)[0].external_id
    _seed_meeting(sandbox)
    google.seed(sandbox.control, {"delete_events": [{"calendar": SELLER1, "id": gone}]})
    sandbox.control.clear_requests()

    pages = _fetch(connection, seller1, cursor=cursor)

    meeting, deleted = _events(pages)
    assert isinstance(meeting, CalendarEventRecord) and meeting.ical_uid == "renewal-call@demo.example"
    assert deleted == Deletion(kind="calendar", external_id=gone)
    (listing,) = sandbox.control.requests("/calendar/v3/calendars/primary/events")
    assert listing["query"]["syncToken"] == [json.loads(cursor)["s"]]
    assert "timeMin" not in listing["query"]
    assert not pages[-1].full_resync


def test_an_idle_calendar_costs_one_request(sandbox: Any, demo_admin: Any, seller1: Any) -> None:
    connection = dwd_connection(sandbox, demo_admin.organization, demo_admin, scope={})
    cursor = _fetch(connection, seller1)[-1].cursor
    sandbox.control.clear_requests()

    (page,) = _fetch(connection, seller1, cursor=cursor)

    assert page.records == [] and len(sandbox.control.requests()) == 1


def test_an_expired_sync_token_means_a_full_resync(sandbox: Any, demo_admin: Any, seller1: Any) -> None:
    connection = dwd_connection(sandbox, demo_admin.organization, demo_admin, scope={})
    cursor = _fetch(connection, seller1)[-1].cursor
    google.expire_calendar_sync_tokens(sandbox.control, [SELLER1])

    with pytest.raises(CursorExpired):
        _fetch(connection, seller1, cursor=cursor)


# --- parsing recorded JSON -----------------------------------------------------------------------
def test_a_conference_video_entry_is_the_join_link_when_there_is_no_meet_link() -> None:
    event = {
        "id": "abc123",
        "status": "confirmed",
        "summary": "Demo",
        "start": {"dateTime": "2026-03-02T15:00:00+01:00"},
        "end": {"dateTime": "2026-03-02T16:00:00+01:00"},
        "organizer": {"email": "Host@Example.COM"},
        "visibility": "confidential",
        "description": "Agenda:<br>1. Pricing &amp; terms",
        "conferenceData": {
            "entryPoints": [
                {"entryPointType": "phone", "uri": "tel:+1-555-0100"},
                {"entryPointType": "video", "uri": "https://example.zoom.us/j/123"},
            ]
        },
    }

    record = event_record(event)

    assert isinstance(record, CalendarEventRecord)
    assert record.conference_url == "https://example.zoom.us/j/123"
    assert record.is_private
    assert record.organizer.email == "host@example.com"
    assert record.description == "Agenda:\n1. Pricing & terms"
    assert record.start == dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)


def test_an_all_day_event_starts_at_midnight_utc_and_a_bare_cancellation_is_a_deletion() -> None:
    all_day = event_record({"id": "d1", "start": {"date": "2026-05-01"}, "end": {"date": "2026-05-02"}})
    assert isinstance(all_day, CalendarEventRecord)
    assert all_day.all_day and all_day.start == dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
    assert all_day.conference_url == ""

    assert event_record({"id": "x1", "status": "cancelled"}) == Deletion(kind="calendar", external_id="x1")


def test_each_instance_of_a_recurring_meeting_is_its_own_meeting() -> None:
    # With singleEvents, Google returns every instance with the series' iCalUID.
    def instance(day: str) -> dict[str, Any]:
        return {
            "id": f"weekly_{day.replace('-', '')}T150000Z",
            "iCalUID": "weekly@google.com",
            "recurringEventId": "weekly",
            "originalStartTime": {"dateTime": f"{day}T15:00:00Z"},
            "status": "confirmed",
            "summary": "Weekly pipeline call",
            "start": {"dateTime": f"{day}T15:00:00Z"},
            "end": {"dateTime": f"{day}T15:30:00Z"},
            "organizer": {"email": "seller1@demo.example"},
        }

    first, second = event_record(instance("2026-11-02")), event_record(instance("2026-11-09"))
    single = event_record({**instance("2026-11-16"), "recurringEventId": None, "originalStartTime": None})

    assert first.ical_uid == "weekly@google.com#2026-11-02T15:00:00Z"
    assert second.ical_uid == "weekly@google.com#2026-11-09T15:00:00Z"
    assert single.ical_uid == "weekly@google.com"
