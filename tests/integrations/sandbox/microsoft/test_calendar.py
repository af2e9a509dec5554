"""Graph calendar: demo meetings, events CRUD with Teams meetings and invitations, calendarView
and its delta."""

from __future__ import annotations

import datetime as dt
from typing import Any

from integrations.sandbox.microsoft import control as ms
from tests.integrations.sandbox.microsoft.conftest import SELLER1, SELLER2, Graph


def iso(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def window(days_back: int = 90, days_ahead: int = 30) -> dict[str, str]:
    now = dt.datetime.now(dt.UTC)
    return {
        "startDateTime": iso(now - dt.timedelta(days=days_back)),
        "endDateTime": iso(now + dt.timedelta(days=days_ahead)),
    }


def drain(graph: Graph, url: str, **kwargs: Any) -> tuple[list[dict[str, Any]], str]:
    items: list[dict[str, Any]] = []
    while True:
        body = graph.ok(url, **kwargs)
        items += body["value"]
        if "@odata.deltaLink" in body:
            return items, body["@odata.deltaLink"]
        url, kwargs = body["@odata.nextLink"], {}


def test_demo_meetings_carry_join_links_the_graph_way(app_graph: Graph) -> None:
    events = app_graph.ok(f"/users/{SELLER1}/calendarView", params={**window(), "$top": "100"})["value"]

    teams = [e for e in events if e["isOnlineMeeting"]]
    others = [
        e for e in events if not e["isOnlineMeeting"] and e["location"]["displayName"].startswith("https://")
    ]
    private = [e for e in events if e["sensitivity"] == "private"]
    assert teams and all(e["onlineMeetingProvider"] == "teamsForBusiness" for e in teams)
    assert all(e["onlineMeeting"]["joinUrl"].startswith("https://teams.microsoft.com/") for e in teams)
    assert others and private
    assert all(e["organizer"]["emailAddress"]["address"] == SELLER1 and e["isOrganizer"] for e in events)
    assert all(e["iCalUId"] and e["webLink"].startswith("https://outlook.office365.com/") for e in events)
    assert all(a["status"]["response"] in ("accepted", "none") for e in events for a in e["attendees"])


def test_create_patch_delete_and_invitations(app_graph: Graph) -> None:
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=3)
    payload = {
        "subject": "Pipeline sync",
        "body": {"contentType": "HTML", "content": "<p>Agenda</p>"},
        "start": {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
        "end": {"dateTime": (start + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
        "attendees": [{"emailAddress": {"address": SELLER2, "name": "Sofia"}, "type": "required"}],
        "isOnlineMeeting": True,
        "onlineMeetingProvider": "teamsForBusiness",
    }

    created = app_graph.post(f"/users/{SELLER1}/events", json=payload)

    assert created.status_code == 201
    event = created.json()
    assert event["onlineMeeting"]["joinUrl"].startswith("https://teams.microsoft.com/l/meetup-join/")
    assert event["bodyPreview"] == "Agenda"
    (invite,) = [e for e in ms.events(app_graph.sandbox.state, SELLER2) if e["iCalUId"] == event["iCalUId"]]
    assert invite["isOrganizer"] is False and invite["responseStatus"]["response"] == "notResponded"

    patched = app_graph.request(
        "PATCH", f"/users/{SELLER1}/events/{event['id']}", json={"subject": "Pipeline review"}
    )
    assert patched.status_code == 200 and patched.json()["subject"] == "Pipeline review"
    assert app_graph.ok(f"/users/{SELLER2}/events/{invite['id']}")["subject"] == "Pipeline review"

    assert app_graph.request("DELETE", f"/users/{SELLER1}/events/{event['id']}").status_code == 204
    cancelled = app_graph.ok(f"/users/{SELLER2}/events/{invite['id']}")
    assert cancelled["isCancelled"] is True and cancelled["subject"].startswith("Canceled: ")
    assert app_graph.get(f"/users/{SELLER1}/events/{event['id']}").status_code == 404


def test_calendar_view_needs_a_window(app_graph: Graph) -> None:
    response = app_graph.get(f"/users/{SELLER1}/calendarView")

    assert response.status_code == 400 and response.json()["error"]["code"] == "ErrorInvalidParameter"


def test_calendar_view_delta_pages_then_reports_changes_and_removals(app_graph: Graph) -> None:
    state = app_graph.sandbox.state
    url = f"/users/{SELLER1}/calendarView/delta"
    events, delta_link = drain(app_graph, url, params=window(), headers={"Prefer": "odata.maxpagesize=4"})
    in_view = app_graph.ok(f"/users/{SELLER1}/calendarView", params={**window(), "$top": "1000"})["value"]
    assert {e["id"] for e in events} == {e["id"] for e in in_view}

    start = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    app_graph.sandbox.control.seed("microsoft", {"events": [
        {"mailbox": SELLER1, "subject": "Added", "start": iso(start), "end": iso(start + dt.timedelta(hours=1))}
    ]})  # fmt: skip
    ms.delete_event(state, SELLER1, events[0]["id"])

    changes, _ = drain(app_graph, delta_link)

    assert {c.get("subject") for c in changes if "@removed" not in c} == {"Added"}
    assert [c["id"] for c in changes if "@removed" in c] == [events[0]["id"]]


def test_calendar_view_delta_expires_with_410(app_graph: Graph) -> None:
    _, delta_link = drain(app_graph, f"/users/{SELLER1}/calendarView/delta", params=window())
    ms.expire_delta_tokens(app_graph.sandbox.control)

    response = app_graph.get(delta_link)

    assert response.status_code == 410 and "startDateTime=" in response.headers["Location"]


def test_events_delta_is_unsupported(app_graph: Graph) -> None:
    response = app_graph.get(f"/users/{SELLER1}/calendar/events/delta")

    assert response.status_code == 400
    assert "'microsoft.graph.event'" in response.json()["error"]["message"]


# --- Recurring meetings ---------------------------------------------------------------------------
# Reference: https://learn.microsoft.com/en-us/graph/delta-query-events ("occurrences and exceptions")
# Reference: https://github.com/microsoftgraph/microsoft-graph-docs-contrib/issues/34 (the stubs)
def seed_weekly_series(graph: Graph, first: dt.datetime, count: int = 4) -> dict[str, Any]:
    graph.sandbox.control.seed("microsoft", {"events": [{
        "mailbox": SELLER1, "subject": "Weekly pipeline review", "start": iso(first),
        "end": iso(first + dt.timedelta(minutes=30)),
        "attendees": [{"address": "kunde@bluefinanalytics.example", "name": "Kunde"}],
        "recurrence": {"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": [first.strftime("%A")]},
                       "range": {"type": "numbered", "numberOfOccurrences": count}},
    }]})  # fmt: skip
    return next(
        e for e in ms.events(graph.sandbox.state, SELLER1) if e["subject"] == "Weekly pipeline review"
    )


def first_slot() -> dt.datetime:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)


def test_a_series_is_one_master_in_events_and_its_occurrences_in_the_calendar_view(app_graph: Graph) -> None:
    first = first_slot()
    master = seed_weekly_series(app_graph, first)

    listed = app_graph.ok(f"/users/{SELLER1}/events", params={"$top": "1000"})["value"]
    assert [e["type"] for e in listed if e["id"] == master["id"]] == ["seriesMaster"]
    assert not any(e.get("seriesMasterId") == master["id"] for e in listed)
    assert (
        app_graph.ok(f"/users/{SELLER1}/events/{master['id']}")["recurrence"]["pattern"]["type"] == "weekly"
    )

    view = app_graph.ok(f"/users/{SELLER1}/calendarView", params={**window(), "$top": "1000"})["value"]
    occurrences = [e for e in view if e.get("seriesMasterId") == master["id"]]
    assert master["id"] not in {e["id"] for e in view}
    assert [e["start"]["dateTime"][:19] for e in occurrences] == [
        (first + dt.timedelta(weeks=n)).strftime("%Y-%m-%dT%H:%M:%S") for n in range(4)
    ]
    assert all(e["type"] == "occurrence" and e["subject"] == "Weekly pipeline review" for e in occurrences)
    assert len({e["iCalUId"] for e in occurrences}) == 4
    one = app_graph.ok(f"/users/{SELLER1}/events/{occurrences[1]['id']}")
    assert one["start"] == occurrences[1]["start"] and one["seriesMasterId"] == master["id"]


def test_calendar_view_delta_sends_occurrences_as_stubs_and_cancellations_as_removed(
    app_graph: Graph,
) -> None:
    first = first_slot()
    master = seed_weekly_series(app_graph, first)

    items, delta_link = drain(app_graph, f"/users/{SELLER1}/calendarView/delta", params=window())

    occurrences = [e for e in items if e.get("seriesMasterId") == master["id"]]
    assert master["id"] not in {e["id"] for e in items}
    assert len(occurrences) == 4
    assert all(
        set(e) == {"@odata.type", "@odata.etag", "id", "seriesMasterId", "type", "start", "end"}
        and e["type"] == "occurrence"
        for e in occurrences
    )

    # One occurrence cancelled, one moved (an exception, sent whole), the series renamed.
    cancelled, moved = occurrences[1], occurrences[2]
    assert app_graph.request("DELETE", f"/users/{SELLER1}/events/{cancelled['id']}").status_code == 204
    later = first + dt.timedelta(weeks=2, hours=2)
    patched = app_graph.request("PATCH", f"/users/{SELLER1}/events/{moved['id']}", json={
        "start": {"dateTime": iso(later), "timeZone": "UTC"},
        "end": {"dateTime": iso(later + dt.timedelta(minutes=30)), "timeZone": "UTC"},
    })  # fmt: skip
    assert patched.status_code == 200 and patched.json()["type"] == "exception"

    changes, _ = drain(app_graph, delta_link)

    by_id = {c["id"]: c for c in changes}
    assert by_id[cancelled["id"]]["@removed"] == {"reason": "deleted"}
    exception = by_id[moved["id"]]
    assert exception["type"] == "exception" and exception["subject"] == "Weekly pipeline review"
    assert (
        exception["seriesMasterId"] == master["id"] and exception["start"]["dateTime"][:19] == iso(later)[:19]
    )
    again, _ = drain(app_graph, f"/users/{SELLER1}/calendarView/delta", params=window())
    assert {e["id"] for e in again if e.get("seriesMasterId") == master["id"]} == {
        occurrences[0]["id"],
        moved["id"],
        occurrences[3]["id"],
    }


def test_a_deleted_series_takes_its_occurrences_out_of_the_delta(app_graph: Graph) -> None:
    master = seed_weekly_series(app_graph, first_slot())
    items, delta_link = drain(app_graph, f"/users/{SELLER1}/calendarView/delta", params=window())
    occurrence_ids = {e["id"] for e in items if e.get("seriesMasterId") == master["id"]}

    assert app_graph.request("DELETE", f"/users/{SELLER1}/events/{master['id']}").status_code == 204
    changes, _ = drain(app_graph, delta_link)

    assert {c["id"] for c in changes if "@removed" in c} >= occurrence_ids


def test_a_series_is_created_through_post_and_a_bad_pattern_is_refused(app_graph: Graph) -> None:
    start = first_slot()
    payload = {
        "subject": "Daily stand-up",
        "start": {"dateTime": iso(start)[:19], "timeZone": "UTC"},
        "end": {"dateTime": iso(start + dt.timedelta(minutes=15))[:19], "timeZone": "UTC"},
        "recurrence": {"pattern": {"type": "daily", "interval": 1},
                       "range": {"type": "endDate", "startDate": start.date().isoformat(),
                                 "endDate": (start + dt.timedelta(days=4)).date().isoformat()}},
    }  # fmt: skip
    created = app_graph.post(f"/users/{SELLER1}/events", json=payload)
    assert created.status_code == 201 and created.json()["type"] == "seriesMaster"
    view = app_graph.ok(f"/users/{SELLER1}/calendarView", params={**window(), "$top": "1000"})["value"]
    assert len([e for e in view if e.get("seriesMasterId") == created.json()["id"]]) == 5

    bad = {
        **payload,
        "recurrence": {"pattern": {"type": "weekly", "interval": 1}, "range": {"type": "noEnd"}},
    }
    refused = app_graph.post(f"/users/{SELLER1}/events", json=bad)
    assert refused.status_code == 400 and "daysOfWeek" in refused.json()["error"]["message"]
