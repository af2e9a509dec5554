"""The demo tenant rendered from the demo world, the seed API and the bulk generators."""

from __future__ import annotations

import time
from typing import Any

import pytest

from integrations.sandbox import demo_world
from integrations.sandbox.control import SandboxControlError
from integrations.sandbox.microsoft import control as ms
from tests.integrations.sandbox.microsoft.conftest import ADMIN, SELLER1, SELLER2, Graph, app_token


def test_the_demo_tenant_matches_the_demo_world(app_graph: Graph) -> None:
    state = app_graph.sandbox.state
    world = demo_world.build_world()
    users = {u["userPrincipalName"]: u for u in app_graph.ok("/users")["value"]}

    assert set(users) == {email for email, _ in demo_world.DEMO_STAFF}
    for thread in world.threads_of(SELLER1):
        for message in thread.messages:
            folder = "sentitems" if message.sender[0] == SELLER1 else "inbox"
            ids = {m["internetMessageId"] for m in ms.messages(state, SELLER1, folder)}
            assert f"<{message.message_id}>" in ids
    assert len(ms.events(state, SELLER1)) == len(world.meetings_of(SELLER1))
    assert {c["emailAddresses"][0]["address"] for c in ms.contacts(state, SELLER2)} == {
        e.person.email for e in world.address_book if e.owner == SELLER2
    }
    assert ms.messages(state, ADMIN, "inbox")  # the privileged thread


def test_generate_mailbox_makes_10000_messages_quickly(graph: Any) -> None:
    started = time.perf_counter()
    ms.generate_mailbox(graph.control, SELLER2, count=10_000, days=80)
    elapsed = time.perf_counter() - started

    sent = len(ms.messages(graph.state, SELLER2, "sentitems"))
    inbox = len(ms.messages(graph.state, SELLER2, "inbox"))
    assert elapsed < 3
    assert sent + inbox >= 10_000 and 2_000 < sent < 3_000


def test_generated_users_and_appended_mail_show_up_in_deltas(app_graph: Graph) -> None:
    control = app_graph.sandbox.control
    ms.generate_users(control, count=500)
    user = "user0500@demo.example"
    first = app_graph.ok(f"/users/{user}/mailFolders/inbox/messages/delta")
    assert first["value"] == []

    ms.append_messages(control, users="all", count=20)

    changes = app_graph.ok(first["@odata.deltaLink"], headers={"Prefer": "odata.maxpagesize=100"})["value"]
    assert len(changes) == 20 and all(c["isRead"] is False for c in changes)
    assert len(ms.messages(app_graph.sandbox.state, SELLER1, "inbox")) > 20


def test_seeded_messages_events_and_contacts_are_provider_neutral(app_graph: Graph) -> None:
    app_graph.sandbox.control.seed("microsoft", {
        "users": [{"user_principal_name": "new.rep@demo.example", "display_name": "New Rep"}],
        "groups": [{"display_name": "Cadence sellers", "members": ["new.rep@demo.example"]}],
        "messages": [{"mailbox": "new.rep@demo.example", "from": "new.rep@demo.example",
                      "to": ["Kim Chen <kim@kestrelrobotics.example>"], "cc": "ops@kestrelrobotics.example",
                      "subject": "Hello", "body": "First note", "date": "2026-11-01T09:30:00Z",
                      "message_id": "seeded-1@demo.example"}],
        "events": [{"mailbox": "new.rep@demo.example", "subject": "Intro", "start": "2026-11-25T15:00:00Z",
                    "end": "2026-11-25T15:30:00Z", "attendees": ["kim@kestrelrobotics.example"],
                    "join_url": "https://us02web.zoom.us/j/8123", "private": True}],
        "contacts": [{"mailbox": "new.rep@demo.example", "folder": "Leads", "given_name": "Kim",
                      "surname": "Chen", "email": "kim@kestrelrobotics.example", "company": "Kestrel Robotics"}],
    })  # fmt: skip

    (sent,) = app_graph.ok("/users/new.rep@demo.example/mailFolders/sentitems/messages")["value"]
    (event,) = app_graph.ok("/users/new.rep@demo.example/events")["value"]
    (folder,) = app_graph.ok("/users/new.rep@demo.example/contactFolders")["value"]
    assert (
        sent["internetMessageId"] == "<seeded-1@demo.example>"
        and sent["receivedDateTime"] == "2026-11-01T09:30:00Z"
    )
    assert sent["ccRecipients"] == [{"emailAddress": {"name": "ops@kestrelrobotics.example",
                                                      "address": "ops@kestrelrobotics.example"}}]  # fmt: skip
    assert (
        event["location"]["displayName"] == "https://us02web.zoom.us/j/8123"
        and event["sensitivity"] == "private"
    )
    assert event["isOnlineMeeting"] is False and event["start"]["dateTime"] == "2026-11-25T15:00:00.0000000"
    assert folder["displayName"] == "Leads"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"bogus": 1}, "unknown microsoft seed keys"),
        ({"messages": [{"mailbox": "ghost@demo.example"}]}, "no Microsoft user"),
        ({"access_policies": [{"group_id": "Nope", "access_right": "RestrictAccess"}]}, "unknown group"),
        ({"access_policies": [{"group_id": "Cadence sellers", "access_right": "Maybe"}]}, "access_right"),
        ({"users": [{"user_principal_name": "x@unverified.example"}]}, "unknown tenant"),
    ],
)
def test_bad_seeds_are_refused(graph: Any, data: dict[str, Any], message: str) -> None:
    with pytest.raises(SandboxControlError, match=message):
        graph.control.seed("microsoft", data)


def test_reset_restores_the_demo_tenant_without_consent(app_graph: Graph) -> None:
    control = app_graph.sandbox.control
    ms.generate_users(control, count=5)

    control.reset()

    assert not ms.has_admin_consent(app_graph.sandbox.state)
    assert app_graph.get("/users").status_code == 401  # tokens die with the sandbox's memory
    ms.grant_admin_consent(control)
    assert len(Graph(app_graph.sandbox, app_token(app_graph.sandbox)).ok("/users")["value"]) == 3
