"""Renders the shared demo world (``integrations/sandbox/demo_world.py``) into the Google emulator:
Demo Co's Workspace customer (demo.example), its users, the Sales group and org units, every
thread into its owners' mailboxes, the meetings into their primary calendars and the address
books into their contacts. Cadence's own service account is authorised for domain-wide delegation
of every scope.
"""

from __future__ import annotations

import hashlib
from typing import Any

from integrations.sandbox import demo_world
from integrations.sandbox.demo_world import AddressBookEntry, Meeting
from integrations.sandbox.google.clock import rfc3339
from integrations.sandbox.google.discovery import all_scopes
from integrations.sandbox.google.events import build_event
from integrations.sandbox.google.sending import add_neutral_message
from integrations.sandbox.google.store import STORE_KEY, GoogleStore
from integrations.sandbox.state import SandboxState

DEMO_DOMAIN = demo_world.DEMO_DOMAIN
DEMO_CUSTOMER_ID = "C03sbxdemo"
ADMIN_EMAIL = "admin@demo.example"
SIGN_IN_SCOPES = frozenset(
    {
        "openid",
        "https://www.googleapis.com/auth/userinfo.email",
        "https://www.googleapis.com/auth/userinfo.profile",
    }
)


def dwd_all_scopes() -> frozenset[str]:
    return all_scopes() | SIGN_IN_SCOPES


def split_name(name: str) -> tuple[str, str]:
    given, _, family = name.partition(" ")
    return given, family


def google_store(state: SandboxState) -> GoogleStore:
    """The store, with the demo world rendered into it on first use after a (re)start or reset."""
    store = state.store(STORE_KEY, GoogleStore)
    if not store.demo_rendered:
        store.demo_rendered = True
        render_demo(store)
    return store


def render_demo(store: GoogleStore) -> None:
    world = demo_world.build_world(store.clock.now_dt())
    customer = store.add_customer(
        domain=DEMO_DOMAIN, name=demo_world.DEMO_ORG_NAME, customer_id=DEMO_CUSTOMER_ID
    )
    store.add_org_unit(customer, demo_world.SALES_ORG_UNIT, description="Sellers")
    for email, name in demo_world.DEMO_STAFF:
        given, family = split_name(name)
        store.add_user(
            email=email,
            given_name=given,
            family_name=family,
            org_unit_path=demo_world.ORG_UNITS.get(email, "/"),
            is_admin=email == ADMIN_EMAIL,
        )
    store.add_group(
        email=demo_world.SALES_GROUP_EMAIL,
        name=demo_world.SALES_GROUP_NAME,
        members=demo_world.SELLERS,
        description="Demo Co's sellers",
    )
    for client_id in store.cadence_service_accounts:
        customer.dwd[client_id] = dwd_all_scopes()

    for thread in world.threads:
        for owner in thread.mailbox_owners:
            previous: list[str] = []
            for message in thread.messages:
                add_neutral_message(
                    store,
                    owner,
                    sender=(message.sender[1], message.sender[0]),
                    to=[(n, e) for e, n in message.to],
                    cc=[(n, e) for e, n in message.cc],
                    subject=thread.subject if not previous else f"Re: {thread.subject}",
                    body=message.body,
                    sent_at=message.sent_at,
                    message_id=message.message_id,
                    in_reply_to=previous[-1] if previous else "",
                    references=previous,
                    record=False,
                )
                previous.append(message.message_id)
    for meeting in world.meetings:
        for owner in meeting.calendar_owners:
            add_meeting(store, owner, meeting)
    for entry in world.address_book:
        add_contact(store, entry)


def event_id_for(uid: str) -> str:
    return hashlib.sha1(uid.encode(), usedforsecurity=False).hexdigest()[:26]


def add_meeting(store: GoogleStore, owner: str, meeting: Meeting) -> dict[str, Any]:
    calendar = store.calendar_book(owner).primary
    description = meeting.description
    if meeting.join_kind == "teams" and meeting.join_url not in description:
        # What the Teams add-in writes into a Google Calendar event.
        description = f"Microsoft Teams meeting\nJoin: {meeting.join_url}"
    body: dict[str, Any] = {
        "summary": meeting.subject,
        "description": description,
        "location": meeting.location,
        "start": {"dateTime": rfc3339(meeting.start.timestamp()), "timeZone": "UTC"},
        "end": {"dateTime": rfc3339(meeting.end.timestamp()), "timeZone": "UTC"},
        "iCalUID": meeting.uid,
        "attendees": [
            {
                "email": email,
                "displayName": name,
                "responseStatus": "accepted" if email == meeting.organizer[0] else "needsAction",
            }
            for email, name in meeting.attendees
        ],
    }
    if meeting.private:
        body["visibility"] = "private"
    if meeting.join_kind == "google_meet":
        code = meeting.join_url.rstrip("/").rsplit("/", 1)[1]
        body["conferenceData"] = {
            "entryPoints": [
                {"entryPointType": "video", "uri": meeting.join_url, "label": meeting.join_url[8:]}
            ],
            "conferenceSolution": {"key": {"type": "hangoutsMeet"}, "name": "Google Meet"},
            "conferenceId": code,
        }
    for key in ("description", "location"):
        if not body[key]:
            del body[key]
    event = build_event(
        calendar, body, event_id=event_id_for(meeting.uid), version=1, organizer=meeting.organizer
    )
    return calendar.put(event, store.clock.now())


def contact_fields(
    *, given: str, family: str, email: str, phone: str = "", company: str = "", title: str = ""
) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "names": [
            {
                "displayName": f"{given} {family}".strip(),
                "givenName": given,
                "familyName": family,
                "displayNameLastFirst": f"{family}, {given}".strip(", "),
            }
        ],
        "emailAddresses": [{"value": email, "type": "work", "formattedType": "Work"}],
    }
    if phone:
        fields["phoneNumbers"] = [{"value": phone, "type": "work", "formattedType": "Work"}]
    if company or title:
        fields["organizations"] = [{k: v for k, v in (("name", company), ("title", title)) if v}]
    return fields


def add_contact(store: GoogleStore, entry: AddressBookEntry) -> None:
    person = entry.person
    fields = contact_fields(
        given=person.first_name,
        family=person.last_name,
        email=person.email,
        phone=person.phone,
        company=person.company,
        title=person.title,
    )
    store.contact_book(entry.owner).add(fields, [entry.folder])
