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
