"""Outlook calendar sync against the sandbox: calendarView delta over a window from the first-sync
``since`` to 180 days ahead, events as records (join links, privacy, attendees), incremental
rounds, the window's renewal, and the mapping of recorded Graph event JSON."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from integrations.exceptions import CursorExpired
from integrations.microsoft.client import GraphClient
from integrations.microsoft.fetch import calendar
from integrations.records import Address, Attendee, CalendarEventRecord, Deletion
from tests.integrations.microsoft.conftest import SELLER1, graph_requests, records_of, since_days, sync

TEAMS_URL = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_demo%40thread.v2/0"


def seed_event(ms, **fields) -> None:
    start = timezone.now() + dt.timedelta(days=2)
    defaults = {
        "mailbox": SELLER1,
        "subject": "Quarterly review",
        "start": start.isoformat(),
        "end": (start + dt.timedelta(hours=1)).isoformat(),
        "attendees": [
            {"address": "Priya.Patel@bluefinanalytics.example", "name": "Priya Patel", "response": "accepted"}
        ],
        "ical_uid": "review-1@cadence.test",
    }
    ms.control.seed("microsoft", {"events": [{**defaults, **fields}]})


def by_uid(records, uid):
    return next(r for r in records if isinstance(r, CalendarEventRecord) and r.ical_uid == uid)


def test_a_full_sync_reads_the_calendar_view_window_with_join_links_and_privacy(ms, app_connection):
    seed_event(ms, teams=True, join_url=TEAMS_URL)
    seed_event(ms, subject="Doctor", private=True, ical_uid="private-1@cadence.test", attendees=[])
    since = since_days(90)

    pages = sync(app_connection, SELLER1, "calendar", since=since)

    records = records_of(pages)
    review = by_uid(records, "review-1@cadence.test")
    assert review.subject == "Quarterly review"
    assert review.conference_url == TEAMS_URL
    assert review.organizer.email == SELLER1
    assert Attendee("priya.patel@bluefinanalytics.example", "Priya Patel", "accepted") in review.attendees
    assert review.start.tzinfo is not None and review.end - review.start == dt.timedelta(hours=1)
    assert not review.is_private
    assert by_uid(records, "private-1@cadence.test").is_private
    assert all(page.full_resync for page in pages)
    (first,) = [
        r
        for r in graph_requests(ms)
        if r["path"].endswith("/calendarView/delta") and "startDateTime" in r["query"]
    ]
    assert first["query"]["startDateTime"] == [since.strftime("%Y-%m-%dT%H:%M:%SZ")]
    end = dt.datetime.fromisoformat(first["query"]["endDateTime"][0].replace("Z", "+00:00"))
    assert abs(end - (timezone.now() + dt.timedelta(days=180))) < dt.timedelta(minutes=5)
    state = json.loads(pages[-1].cursor)
    assert "$deltatoken" in state["link"]


def test_the_demo_calendar_holds_meetings(ms, app_connection):
    records = records_of(sync(app_connection, SELLER1, "calendar"))

    assert any(isinstance(r, CalendarEventRecord) and r.attendees for r in records)


def test_an_incremental_round_brings_new_and_deleted_events(ms, app_connection):
    seed_event(ms)
    pages = sync(app_connection, SELLER1, "calendar")
    gone = by_uid(records_of(pages), "review-1@cadence.test")
    with GraphClient(app_connection, mailbox=SELLER1) as graph:
        graph.request("DELETE", f"/users/{SELLER1}/events/{gone.external_id}")
    seed_event(ms, subject="Kick-off", ical_uid="kickoff-1@cadence.test")
    ms.control.clear_requests()

    pages = sync(app_connection, SELLER1, "calendar", cursor=pages[-1].cursor)

    records = records_of(pages)
    assert Deletion(kind="calendar", external_id=gone.external_id) in records
    assert by_uid(records, "kickoff-1@cadence.test").subject == "Kick-off"
    assert not any(page.full_resync for page in pages)
    assert len(graph_requests(ms)) == 1


def test_an_idle_calendar_costs_one_request(ms, app_connection):
    cursor = sync(app_connection, SELLER1, "calendar")[-1].cursor
    ms.control.clear_requests()

    pages = sync(app_connection, SELLER1, "calendar", cursor=cursor)

    assert records_of(pages) == []
    assert len(ms.control.requests()) == 1


def test_the_window_is_renewed_by_a_full_round_after_thirty_days(ms, app_connection):
    cursor = json.loads(sync(app_connection, SELLER1, "calendar")[-1].cursor)
    cursor["renew_at"] = (timezone.now() - dt.timedelta(minutes=1)).isoformat()
    ms.control.clear_requests()

    pages = sync(app_connection, SELLER1, "calendar", cursor=json.dumps(cursor))

    assert all(page.full_resync for page in pages)
    assert "startDateTime" in graph_requests(ms)[0]["query"]
    assert dt.datetime.fromisoformat(
        json.loads(pages[-1].cursor)["renew_at"]
    ) > timezone.now() + dt.timedelta(days=29)


def test_an_expired_calendar_delta_asks_for_a_full_resync(ms, app_connection):
    cursor = sync(app_connection, SELLER1, "calendar")[-1].cursor
    ms.control.seed("microsoft", {"expire_delta_tokens": True})

    with pytest.raises(CursorExpired):
        sync(app_connection, SELLER1, "calendar", cursor=cursor)


# --- Mapping recorded Graph JSON -----------------------------------------------------------------
RECORDED_EVENT = {
    "id": "AAMkAGI2TG93AAA=",
    "iCalUId": "040000008200E00074C5B7101A82E00800000000D0B3A3C1",
    "subject": "Board prep",
    "isAllDay": False,
    "isCancelled": True,
    "sensitivity": "confidential",
    "webLink": "https://outlook.office365.com/owa/?itemid=AAMkAGI2TG93AAA%3D&exvsurl=1&path=/calendar/item",
    "lastModifiedDateTime": "2026-11-20T08:15:02.1234567Z",
    "start": {"dateTime": "2026-11-24T15:00:00.0000000", "timeZone": "UTC"},
    "end": {"dateTime": "2026-11-24T16:30:00.0000000", "timeZone": "UTC"},
    "location": {"displayName": "Room 4 (Oslo)"},
    "body": {"contentType": "html", "content": "<html><body><p>Agenda&amp;notes</p></body></html>"},
    "onlineMeeting": None,
    "onlineMeetingUrl": None,
    "organizer": {"emailAddress": {"name": "Ada Admin", "address": "Admin@Demo.example"}},
    "attendees": [
        {
            "type": "required",
            "status": {"response": "tentativelyAccepted"},
            "emailAddress": {"name": "Sam Seller", "address": "seller1@demo.example"},
        },
        {
            "type": "resource",
            "status": {"response": "accepted"},
            "emailAddress": {"name": "Room 4", "address": "room4@demo.example"},
        },
        {
            "type": "required",
            "status": {"response": "organizer"},
            "emailAddress": {"name": "Ada Admin", "address": "admin@demo.example"},
        },
    ],
}


def test_a_recorded_event_maps_every_field_cadence_uses():
    record = calendar.event_record(RECORDED_EVENT)

    assert record == CalendarEventRecord(
        external_id="AAMkAGI2TG93AAA=",
        ical_uid="040000008200E00074C5B7101A82E00800000000D0B3A3C1",
        subject="Board prep",
        start=dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.UTC),
        end=dt.datetime(2026, 11, 24, 16, 30, tzinfo=dt.UTC),
        organizer=Address("admin@demo.example", "Ada Admin"),
        attendees=(
            Attendee("seller1@demo.example", "Sam Seller", "tentative"),
            Attendee("room4@demo.example", "Room 4", "accepted", is_resource=True),
            Attendee("admin@demo.example", "Ada Admin", "accepted", is_organizer=True),
        ),
        location="Room 4 (Oslo)",
        description="Agenda&notes",
        conference_url="",
        is_private=True,
        cancelled=True,
        web_link=RECORDED_EVENT["webLink"],
        updated_at=dt.datetime(2026, 11, 20, 8, 15, 2, 123456, tzinfo=dt.UTC),
    )


def test_a_removed_event_is_a_deletion():
    assert calendar.event_record({"id": "x", "@removed": {"reason": "deleted"}}) == Deletion("calendar", "x")


def test_an_event_in_an_iana_time_zone_is_read_as_utc():
    record = calendar.event_record(
        {**RECORDED_EVENT, "start": {"dateTime": "2026-07-01T09:00:00", "timeZone": "Europe/Berlin"}}
    )

    assert record.start == dt.datetime(2026, 7, 1, 7, 0, tzinfo=dt.UTC)


# --- Recurring meetings ---------------------------------------------------------------------------
def seed_series(ms, first, count=3) -> None:
    seed_event(
        ms,
        subject="Weekly sync",
        start=first.isoformat(),
        end=(first + dt.timedelta(minutes=30)).isoformat(),
        ical_uid="weekly-1@cadence.test",
        recurrence={
            "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": [first.strftime("%A")]},
            "range": {"type": "numbered", "numberOfOccurrences": count},
        },
    )


def test_occurrences_take_the_series_master_and_cost_one_request_per_series(ms, app_connection):
    first = (timezone.now() + dt.timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    seed_series(ms, first)
    ms.control.clear_requests()

    pages = sync(app_connection, SELLER1, "calendar")

    weekly = [
        r for r in records_of(pages) if isinstance(r, CalendarEventRecord) and r.subject == "Weekly sync"
    ]
    assert [r.start for r in weekly] == [first + dt.timedelta(weeks=n) for n in range(3)]
    assert [r.ical_uid for r in weekly] == [
        f"weekly-1@cadence.test#{(first + dt.timedelta(weeks=n)).strftime('%Y-%m-%dT%H:%M:%SZ')}"
        for n in range(3)
    ]
    assert all(Attendee("priya.patel@bluefinanalytics.example", "Priya Patel", "accepted") in r.attendees
               for r in weekly)  # fmt: skip
    assert len({r.external_id for r in weekly}) == 3
    gets = [r for r in graph_requests(ms) if "/events/" in r["path"]]
    assert len(gets) == 1


def test_a_renamed_series_and_a_cancelled_occurrence_reach_the_next_round(ms, app_connection):
    first = (timezone.now() + dt.timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    seed_series(ms, first)
    pages = sync(app_connection, SELLER1, "calendar")
    weekly = [
        r for r in records_of(pages) if isinstance(r, CalendarEventRecord) and r.subject == "Weekly sync"
    ]
    with GraphClient(app_connection, mailbox=SELLER1) as graph:
        master_id = graph.get(f"/users/{SELLER1}/events/{weekly[0].external_id}")["seriesMasterId"]
        graph.request("DELETE", f"/users/{SELLER1}/events/{weekly[1].external_id}")
        graph.patch(f"/users/{SELLER1}/events/{master_id}", json={"subject": "Weekly sync (new time)"})

    again = records_of(sync(app_connection, SELLER1, "calendar", cursor=pages[-1].cursor))

    assert Deletion(kind="calendar", external_id=weekly[1].external_id) in again
    renamed = [r for r in again if isinstance(r, CalendarEventRecord)]
    assert {r.external_id for r in renamed} == {weekly[0].external_id, weekly[2].external_id}
    assert {r.subject for r in renamed} == {"Weekly sync (new time)"}


MASTER = {
    **RECORDED_EVENT,
    "id": "AAMkMASTER=",
    "type": "seriesMaster",
    "isCancelled": False,
    "subject": "Weekly board prep",
    "iCalUId": "040000008200E00074C5B7101A82E00800000000D0B3A3C1",
    "recurrence": {"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["tuesday"]},
                   "range": {"type": "noEnd", "startDate": "2026-11-24"}},
}  # fmt: skip
STUB = {
    "@odata.type": "#microsoft.graph.event",
    "@odata.etag": 'W/"DwAAABYAAAC9"',
    "id": "AAMkOCC1=",
    "seriesMasterId": "AAMkMASTER=",
    "type": "occurrence",
    "start": {"dateTime": "2026-12-01T15:00:00.0000000", "timeZone": "UTC"},
    "end": {"dateTime": "2026-12-01T16:30:00.0000000", "timeZone": "UTC"},
}


def test_a_recorded_occurrence_takes_its_masters_fields_and_the_master_is_no_row():
    record = calendar.event_record(STUB, master=MASTER)

    assert record.external_id == "AAMkOCC1="
    assert record.ical_uid == "040000008200E00074C5B7101A82E00800000000D0B3A3C1#2026-12-01T15:00:00Z"
    assert record.subject == "Weekly board prep" and record.organizer.email == "admin@demo.example"
    assert record.start == dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC)
    assert len(record.attendees) == 3 and record.description == "Agenda&notes"
    assert calendar.event_record(MASTER) is None
    assert calendar.event_record(STUB) is None  # no master: cannot be told apart from any other


def test_a_recorded_exception_keeps_its_own_fields_and_its_original_slot():
    exception = {
        **MASTER,
        "id": "AAMkOCC2=",
        "type": "exception",
        "seriesMasterId": "AAMkMASTER=",
        "subject": "Board prep (moved)",
        "iCalUId": "040000008200E00074C5B7101A82E00807EA0C0800000000D0B3A3C1",
        "originalStart": "2026-12-08T15:00:00Z",
        "start": {"dateTime": "2026-12-09T10:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2026-12-09T11:00:00.0000000", "timeZone": "UTC"},
    }

    record = calendar.event_record(exception, master=MASTER)

    assert record.subject == "Board prep (moved)"
    assert record.start == dt.datetime(2026, 12, 9, 10, 0, tzinfo=dt.UTC)
    assert record.ical_uid == "040000008200E00074C5B7101A82E00800000000D0B3A3C1#2026-12-08T15:00:00Z"


def test_a_series_master_that_came_in_the_round_is_used_without_a_request():
    # Some tenants list the master in calendarView delta too (the docs are silent): no GET then.
    masters = calendar.SeriesMasters(client=None)  # type: ignore[arg-type]  (never called)

    masters.remember([STUB, MASTER])

    assert masters.get("AAMkMASTER=") is MASTER
