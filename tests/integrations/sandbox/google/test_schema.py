"""Every route's JSON validates against the discovery documents google-api-python-client ships:
the validating http checks each answer; this file proves the checker works and that every route
the emulator serves went through it."""

from __future__ import annotations

import base64
import datetime as dt
from email.message import EmailMessage
from typing import Any

import pytest

from integrations.sandbox.google import calendar, directory, gmail, people
from integrations.sandbox.google import control as google
from tests.integrations.sandbox.google import schema_helpers as schema
from tests.integrations.sandbox.google.conftest import ADMIN, ALL, DIRECTORY, SELLER1, SELLER2

FULL_ACCESS = "https://mail.google.com/"


def test_the_checker_catches_wrong_names_and_types() -> None:
    assert (
        schema.errors_in("gmail", {"$ref": "Message"}, {"id": "1", "historyId": "12", "labelIds": ["A"]})
        == []
    )
    problems = schema.errors_in(
        "gmail",
        {"$ref": "Message"},
        {
            "id": 1,
            "historyId": 12,
            "labelIds": "INBOX",
            "payload": {"headers": [{"nom": "x"}]},
            "extra": True,
        },
    )
    assert problems == [
        "$.id: expected string, got int",
        "$.historyId: expected string, got int",
        "$.labelIds: expected array, got str",
        "$.payload.headers[0].nom: not a property of MessagePartHeader",
        "$.extra: not a property of Message",
    ]
    assert schema.errors_in("gmail", {"$ref": "Message"}, {"historyId": "12a"}) == [
        "$.historyId: uint64 must be a decimal string, got '12a'"
    ]
    assert schema.errors_in("gmail", {"$ref": "Label"}, {"type": "custom"}) == [
        "$.type: 'custom' not in ['system', 'user']"
    ]
    assert schema.method_for("GET", "https://h/google/calendar/v3/calendars/primary/events")[1]["id"] == (
        "calendar.events.list"
    )


def test_every_route_answers_valid_json(api: Any, sandbox: Any) -> None:
    schema.VALIDATED.clear()
    mail = api("gmail", SELLER1, [*ALL, FULL_ACCESS])
    mail.users().getProfile(userId="me").execute()
    mail.users().labels().list(userId="me").execute()
    label = mail.users().labels().create(userId="me", body={"name": "Checked"}).execute()
    mail.users().labels().get(userId="me", id=label["id"]).execute()
    listed = mail.users().messages().list(userId="me").execute()["messages"]
    for fmt in ("minimal", "metadata", "full", "raw"):
        mail.users().messages().get(userId="me", id=listed[0]["id"], format=fmt).execute()
    mail.users().threads().list(userId="me").execute()
    mail.users().threads().get(userId="me", id=listed[0]["threadId"]).execute()
    start = mail.users().getProfile(userId="me").execute()["historyId"]
    note = EmailMessage()
    note["To"], note["Subject"] = SELLER2, "Checked"
    note.set_content("Plain")
    note.add_alternative("<p>Rich</p>", subtype="html")
    sent = (
        mail.users()
        .messages()
        .send(userId="me", body={"raw": base64.urlsafe_b64encode(note.as_bytes()).decode()})
    )
    sent = sent.execute()
    mail.users().messages().get(userId="me", id=sent["id"]).execute()
    mail.users().messages().modify(userId="me", id=sent["id"], body={"addLabelIds": [label["id"]]}).execute()
    mail.users().messages().trash(userId="me", id=sent["id"]).execute()
    mail.users().messages().untrash(userId="me", id=sent["id"]).execute()
    mail.users().history().list(userId="me", startHistoryId=start).execute()
    mail.users().messages().delete(userId="me", id=sent["id"]).execute()

    cal = api("calendar", SELLER1)
    cal.calendarList().list().execute()
    cal.calendarList().get(calendarId="primary").execute()
    cal.calendars().get(calendarId="primary").execute()
    events = cal.events().list(calendarId="primary", showDeleted=True).execute()
    begin = dt.datetime.now(dt.UTC).replace(microsecond=0)
    body = {
        "summary": "Checked",
        "start": {"dateTime": begin.isoformat()},
        "end": {"dateTime": (begin + dt.timedelta(hours=1)).isoformat()},
        "attendees": [{"email": SELLER2}],
        "conferenceData": {
            "createRequest": {"requestId": "r", "conferenceSolutionKey": {"type": "hangoutsMeet"}}
        },
    }
    event = cal.events().insert(calendarId="primary", body=body, conferenceDataVersion=1).execute()
    cal.events().get(calendarId="primary", eventId=event["id"]).execute()
    cal.events().patch(calendarId="primary", eventId=event["id"], body={"description": "x"}).execute()
    cal.events().update(
        calendarId="primary", eventId=event["id"], body={**body, "summary": "Again"}
    ).execute()
    cal.events().delete(calendarId="primary", eventId=event["id"]).execute()
    cal.events().list(calendarId="primary", syncToken=events["nextSyncToken"]).execute()

    contacts = api("people", SELLER1)
    contacts.people().connections().list(
        resourceName="people/me",
        requestSyncToken=True,
        personFields="names,emailAddresses,phoneNumbers,organizations,memberships,metadata",
    ).execute()
    contacts.contactGroups().list().execute()

    admin = api("admin", ADMIN, DIRECTORY)
    admin.users().list(customer="my_customer").execute()
    admin.users().get(userKey=SELLER1).execute()
    admin.groups().list(customer="my_customer").execute()
    admin.members().list(groupKey="sales@demo.example").execute()
    admin.orgunits().list(customerId="my_customer", type="all").execute()
    google.add_domain_alias(sandbox.state, "demo-co.example", verified=False)
    admin.domains().list(customer="my_customer").execute()

    served = {route.method_id for module in (gmail, calendar, people, directory) for route in module.routes()}
    assert served - schema.VALIDATED == set()


@pytest.mark.parametrize("api_name", ["gmail", "calendar", "people", "admin"])
def test_error_answers_use_googles_envelope(api: Any, api_name: Any) -> None:
    from googleapiclient.errors import HttpError

    client = api(api_name, SELLER1)
    call = {
        "gmail": lambda: client.users().messages().get(userId="me", id="0").execute(),
        "calendar": lambda: client.events().get(calendarId="primary", eventId="nothing00").execute(),
        "people": lambda: client.people().connections().list(resourceName="people/me").execute(),
        "admin": lambda: client.users().list(customer="my_customer").execute(),
    }[api_name]
    with pytest.raises(HttpError) as exc:
        call()
    assert exc.value.resp.status in (400, 403, 404) and exc.value.error_details
