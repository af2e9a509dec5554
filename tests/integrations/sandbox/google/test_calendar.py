"""Calendar through googleapiclient: calendarList, events with sync tokens (410 when invalid),
insert with a Meet conference, private visibility, patch, delete, attendee copies."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from googleapiclient.errors import HttpError

from integrations.sandbox.google import control as google
from tests.integrations.sandbox.google.conftest import SELLER1, SELLER2


@pytest.fixture
def calendar(api: Any) -> Any:
    return api("calendar", SELLER1)


def when(hours: float) -> dict[str, str]:
    moment = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(hours=hours)
    return {"dateTime": moment.isoformat(), "timeZone": "UTC"}


def full_sync(calendar: Any, **params: Any) -> tuple[list[dict[str, Any]], str]:
    items, token = [], None
    while True:
        page = calendar.events().list(calendarId="primary", pageToken=token, **params).execute()
        items += page["items"]
        token = page.get("nextPageToken")
        if not token:
            return items, page["nextSyncToken"]
        assert "nextSyncToken" not in page  # only the last page carries it


def test_calendar_list(calendar: Any) -> None:
    listing = calendar.calendarList().list().execute()
    (primary,) = listing["items"]
    assert primary["id"] == SELLER1 and primary["primary"] is True and primary["accessRole"] == "owner"
    again = calendar.calendarList().list(syncToken=listing["nextSyncToken"]).execute()
    assert again["items"] == []
    assert calendar.calendarList().get(calendarId="primary").execute()["id"] == SELLER1
    assert calendar.calendars().get(calendarId=SELLER1).execute()["id"] == SELLER1


def test_demo_meetings_carry_join_links_and_privacy(calendar: Any) -> None:
    events, _ = full_sync(calendar)
    assert len(events) >= 10
    meet = [e for e in events if "hangoutLink" in e]
    assert meet and all(e["conferenceData"]["entryPoints"][0]["uri"] == e["hangoutLink"] for e in meet)
    private = [e for e in events if e.get("visibility") == "private"]
    assert len(private) == 1 and private[0]["summary"].startswith("Interview")
    zoom = [e for e in events if "zoom.us" in e.get("description", "")]
    assert zoom and all(e["organizer"]["email"] == SELLER1 for e in events)
    assert all(any(a.get("self") for a in e["attendees"]) for e in events)


def test_paging_and_incremental_sync(calendar: Any) -> None:
    events, token = full_sync(calendar, maxResults=4)
    assert len({e["id"] for e in events}) == len(events)
    quiet = calendar.events().list(calendarId="primary", syncToken=token).execute()
    assert quiet["items"] == [] and quiet["nextSyncToken"]

    created = (
        calendar.events()
        .insert(calendarId="primary", body={"summary": "Sync me", "start": when(1), "end": when(2)})
        .execute()
    )
    calendar.events().patch(
        calendarId="primary", eventId=events[0]["id"], body={"summary": "Renamed"}
    ).execute()
    calendar.events().delete(calendarId="primary", eventId=events[1]["id"]).execute()
    changes = calendar.events().list(calendarId="primary", syncToken=quiet["nextSyncToken"]).execute()
    by_id = {e["id"]: e for e in changes["items"]}
    assert set(by_id) == {created["id"], events[0]["id"], events[1]["id"]}
    assert by_id[events[1]["id"]]["status"] == "cancelled" and by_id[events[0]["id"]]["summary"] == "Renamed"
    after = calendar.events().list(calendarId="primary", syncToken=changes["nextSyncToken"]).execute()
    assert after["items"] == []

    paged = calendar.events().list(calendarId="primary", syncToken=quiet["nextSyncToken"], maxResults=2)
    first = paged.execute()
    assert len(first["items"]) == 2 and "nextSyncToken" not in first
    second = calendar.events().list_next(paged, first).execute()
    assert [e["id"] for e in first["items"] + second["items"]] == [e["id"] for e in changes["items"]]
    assert second["nextSyncToken"] and "nextPageToken" not in second

    listed, _ = full_sync(calendar)
    assert events[1]["id"] not in {e["id"] for e in listed}  # cancelled events only with showDeleted
    shown, _ = full_sync(calendar, showDeleted=True)
    assert events[1]["id"] in {e["id"] for e in shown}


def test_sync_token_rules(sandbox: Any, calendar: Any) -> None:
    _, token = full_sync(calendar)
    with pytest.raises(HttpError) as exc:
        calendar.events().list(calendarId="primary", syncToken=token, timeMin=when(0)["dateTime"]).execute()
    assert exc.value.resp.status == 400
    for bad in ("CPsbxgarbage", "nonsense"):
        with pytest.raises(HttpError) as exc:
            calendar.events().list(calendarId="primary", syncToken=bad).execute()
        assert exc.value.resp.status == 410 and exc.value.error_details[0]["reason"] == "fullSyncRequired"
    google.expire_calendar_sync_tokens(sandbox.control, [SELLER1])
    with pytest.raises(HttpError) as exc:
        calendar.events().list(calendarId="primary", syncToken=token).execute()
    assert exc.value.resp.status == 410
    assert exc.value.reason == "Sync token is no longer valid, a full sync is required."


def test_time_window_and_ordering(calendar: Any) -> None:
    now = dt.datetime.now(dt.UTC)
    upcoming = (
        calendar.events()
        .list(calendarId="primary", timeMin=now.isoformat(), singleEvents=True, orderBy="startTime")
        .execute()["items"]
    )
    starts = [e["start"]["dateTime"] for e in upcoming]
    assert starts == sorted(starts) and all(s >= now.isoformat()[:10] for s in starts)
    with pytest.raises(HttpError) as exc:
        calendar.events().list(calendarId="primary", orderBy="startTime").execute()
    assert exc.value.resp.status == 400


def test_insert_with_meet_private_and_attendee_copy(api: Any, calendar: Any) -> None:
    body = {
        "summary": "Pricing call",
        "start": when(24),
        "end": when(25),
        "visibility": "private",
        "attendees": [{"email": "buyer@bluefinanalytics.example"}, {"email": SELLER2}],
        "conferenceData": {
            "createRequest": {"requestId": "req-1", "conferenceSolutionKey": {"type": "hangoutsMeet"}}
        },
    }
    without = calendar.events().insert(calendarId="primary", body=body).execute()
    assert "conferenceData" not in without and "hangoutLink" not in without  # needs conferenceDataVersion=1
    event = calendar.events().insert(calendarId="primary", body=body, conferenceDataVersion=1).execute()
    assert event["hangoutLink"].startswith("https://meet.google.com/")
    assert event["conferenceData"]["createRequest"]["status"]["statusCode"] == "success"
    assert event["visibility"] == "private" and event["organizer"] == {
        "email": SELLER1,
        "displayName": "Sam Seller",
        "self": True,
    }
    fetched = calendar.events().get(calendarId="primary", eventId=event["id"]).execute()
    assert fetched == event

    theirs = api("calendar", SELLER2).events().get(calendarId="primary", eventId=event["id"]).execute()
    assert theirs["hangoutLink"] == event["hangoutLink"] and "self" not in theirs["organizer"]
    assert [a for a in theirs["attendees"] if a.get("self")] == [
        {"email": SELLER2, "responseStatus": "needsAction", "self": True}
    ]

    patched = (
        calendar.events()
        .patch(calendarId="primary", eventId=event["id"], body={"location": "Room 4"})
        .execute()
    )
    assert patched["location"] == "Room 4" and patched["sequence"] == 1 and patched["hangoutLink"]
    calendar.events().delete(calendarId="primary", eventId=event["id"]).execute()
    with pytest.raises(HttpError) as exc:
        calendar.events().delete(calendarId="primary", eventId=event["id"]).execute()
    assert exc.value.resp.status == 410 and exc.value.error_details[0]["reason"] == "deleted"
    assert (
        api("calendar", SELLER2).events().get(calendarId="primary", eventId=event["id"]).execute()["status"]
        == "cancelled"
    )


def test_insert_errors(calendar: Any) -> None:
    with pytest.raises(HttpError) as exc:
        calendar.events().insert(calendarId="primary", body={"summary": "No times"}).execute()
    assert exc.value.resp.status == 400
    first = calendar.events().insert(
        calendarId="primary", body={"id": "abc12345", "start": when(1), "end": when(2)}
    )
    first.execute()
    with pytest.raises(HttpError) as exc:
        calendar.events().insert(
            calendarId="primary", body={"id": "abc12345", "start": when(1), "end": when(2)}
        ).execute()
    assert exc.value.resp.status == 409
    with pytest.raises(HttpError) as exc:
        calendar.events().list(calendarId="someone@else.example").execute()
    assert exc.value.resp.status == 404


def test_seeded_events_reach_incremental_sync(sandbox: Any, calendar: Any) -> None:
    _, token = full_sync(calendar)
    google.seed(
        sandbox.control,
        {
            "events": [
                {
                    "calendar": SELLER1,
                    "summary": "Seeded",
                    "start": "2026-02-01T10:00:00Z",
                    "attendees": ["x@y.example"],
                    "meet": True,
                }
            ]
        },
    )
    (event,) = calendar.events().list(calendarId="primary", syncToken=token).execute()["items"]
    assert (
        event["summary"] == "Seeded"
        and event["hangoutLink"]
        and event["end"]["dateTime"].startswith("2026-02-01T10:30")
    )
