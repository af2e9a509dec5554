"""Provider fidelity (issue 10, points 8 and 10): what the real providers send, the sandbox sends,
and the product reads it right. Every provider call goes through the sandbox with the real client
libraries (google-api-python-client, msal/requests for Graph, simple-salesforce)."""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import json
from typing import Any

import pytest
from django.utils import timezone
from simple_salesforce.exceptions import SalesforceMalformedRequest

from copilot.intelligence.services import intelligence_settings_update
from copilot.models import Activity
from integrations.google.fetch.source import GOOGLE_ADAPTER, mailbox_client
from integrations.records import AddressBookContactRecord, MailMessageRecord
from integrations.sandbox.google import control as google
from integrations.sandbox.salesforce import control as sf
from integrations.sandbox.salesforce.demo import REP1_USERNAME
from integrations.sync.registry import deliver
from tests.copilot.intelligence.record_helpers import context
from tests.factories import AdminFactory, OrganizationFactory, UserFactory
from tests.integrations.google.conftest import ADMIN, SELLER1, mailbox, own_connection
from tests.integrations.microsoft import conftest as microsoft
from tests.integrations.microsoft.conftest import (  # noqa: F401  (fixtures)
    _fresh_microsoft_caches,
    app_connection,
    ms,
)
from tests.integrations.sandbox.salesforce.conftest import client as salesforce_client

CUSTOMER = "kunde@bluefinanalytics.example"


@pytest.fixture
def demo_admin(db: Any) -> Any:
    return AdminFactory(
        organization=OrganizationFactory(name="Demo Co"), email=ADMIN, first_name="Ada", last_name="Admin"
    )


@pytest.fixture
def seller1(demo_admin: Any) -> Any:
    return UserFactory(
        organization=demo_admin.organization, email=SELLER1, first_name="Sam", last_name="Seller"
    )


# ---- point 8: Gmail bodies keep their characters -----------------------------------------------
def _raw(subject: str, content_type: str, encoding: str, body: bytes, n: int) -> str:
    when = email.utils.format_datetime(timezone.now() - dt.timedelta(hours=n))
    head = (
        f"From: Kunde <{CUSTOMER}>\r\nTo: Sam Seller <{SELLER1}>\r\nSubject: {subject}\r\n"
        f"Date: {when}\r\nMessage-ID: <charset-{n}@bluefinanalytics.example>\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: {content_type}\r\nContent-Transfer-Encoding: {encoding}\r\n\r\n"
    ).encode("ascii")
    return base64.urlsafe_b64encode(head + body + b"\r\n").decode("ascii")


# (what the seller should read, Content-Type, transfer encoding, body bytes as mail clients send them)
SAMPLES = {
    "iso-8859-1": (
        "Grüße aus Köln",
        "text/plain; charset=ISO-8859-1",
        "8bit",
        "Grüße aus Köln".encode("latin-1"),
    ),
    "windows-1252": (
        "“Final” offer: 5 € per seat – thanks",
        'text/plain; charset="windows-1252"',
        "8bit",
        "“Final” offer: 5 € per seat – thanks".encode("cp1252"),
    ),
    "shift_jis": (
        "お世話になっております。見積書を送ります。",
        "text/plain; charset=Shift_JIS",
        "base64",
        base64.encodebytes("お世話になっております。見積書を送ります。".encode("shift_jis")),
    ),
    "quoted-printable": (
        "Café déjà vu, naïve façade",
        "text/plain; charset=iso-8859-1",
        "quoted-printable",
        b"Caf=E9 d=E9j=E0 vu, na=EFve fa=E7ade",
    ),
    "no charset, UTF-8 bytes": ("Zoë’s résumé", "text/plain", "8bit", "Zoë’s résumé".encode()),
    "no charset, Windows-1252 bytes": ("Señor Muñoz", "text/plain", "8bit", "Señor Muñoz".encode("cp1252")),
    "unknown charset": ("Straße", "text/plain; charset=x-made-up", "8bit", "Straße".encode()),
}


def test_gmail_bodies_are_decoded_by_their_declared_charset_and_kept_as_written(
    sandbox: Any, demo_admin: Any, seller1: Any
) -> None:
    raws = {
        name: _raw(f"Sample {n}", content_type, encoding, body, n + 1)
        for n, (name, (_, content_type, encoding, body)) in enumerate(SAMPLES.items())
    }
    google.add_messages(sandbox.control, [{"mailbox": SELLER1, "raw": raw} for raw in raws.values()])
    connection = own_connection(sandbox, seller1)
    since = timezone.now() - dt.timedelta(days=30)

    pages = list(
        GOOGLE_ADAPTER.fetch(
            connection=connection, mailbox=mailbox(seller1), kind="email", cursor="", since=since
        )
    )
    records = [r for page in pages for r in page.records if isinstance(r, MailMessageRecord)]
    intelligence_settings_update(
        organization=demo_admin.organization, actor=demo_admin, keep_email_bodies=True
    )
    deliver(context(seller1), records)

    rows = Activity.objects.filter(subject__startswith="Sample ").values_list("subject", "body")
    bodies = {subject: body.strip() for subject, body in rows}
    expected = {f"Sample {n}": text for n, (text, *_) in enumerate(SAMPLES.values())}
    assert bodies == expected
    assert not any("\ufffd" in body for body in bodies.values())


# ---- point 10: Gmail raw is RFC 5322 (CRLF) and sizeEstimate is stable --------------------------
def test_gmail_raw_has_crlf_line_endings_and_a_size_estimate_that_never_changes(
    sandbox: Any, demo_admin: Any, seller1: Any
) -> None:
    # Some mailers (and Unix tools) hand over bare LFs; Gmail stores and serves CRLF.
    bare_lf = (
        f"From: {CUSTOMER}\nTo: {SELLER1}\nSubject: Bare LF\nMessage-ID: <lf-1@bluefinanalytics.example>\n"
        f"Date: {email.utils.format_datetime(timezone.now())}\n\none\ntwo\n"
    ).encode("ascii")
    google.add_messages(
        sandbox.control,
        [
            {
                "mailbox": SELLER1,
                "from": f"Kunde <{CUSTOMER}>",
                "to": [SELLER1],
                "subject": "Two lines",
                "body": "First line\nSecond line, déjà vu",
                "html": "<p>First line</p><p>Second line</p>",
                "message_id": "crlf-1@bluefinanalytics.example",
            },
            {"mailbox": SELLER1, "raw": base64.urlsafe_b64encode(bare_lf).decode("ascii")},
        ],
    )
    connection = own_connection(sandbox, seller1)
    client = mailbox_client(connection=connection, mailbox=mailbox(seller1), kind="email")
    ids = [m["id"] for m in client.gmail_messages_list(query="from:" + CUSTOMER)["messages"]]

    # sizeEstimate asked first in minimal format, then in the others: one figure, the raw size.
    minimal = client.gmail_messages_get(ids, format="minimal")
    raw = client.gmail_messages_get(ids, format="raw")
    full = client.gmail_messages_get(ids, format="full")
    again = client.gmail_messages_get(ids, format="minimal")
    for message_id in ids:
        data = base64.urlsafe_b64decode(raw[message_id]["raw"] + "==")
        assert b"\r\n\r\n" in data  # headers end with an empty CRLF line
        assert data.count(b"\n") == data.count(b"\r\n"), "every line ends in CRLF"
        sizes = {m[message_id]["sizeEstimate"] for m in (minimal, raw, full, again)}
        assert sizes == {len(data)}


# ---- point 10: SOQL as Salesforce parses it ------------------------------------------------------
def test_soql_refuses_like_escapes_outside_like_and_knows_the_date_literals(sandbox: Any) -> None:
    # Reference: https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_quotedstringescapes.htm
    # Reference: https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_dateformats.htm
    api = salesforce_client(sandbox, sf.issue_tokens(sandbox.state).access_token)
    sf.set_clock(sandbox.state, dt.datetime(2026, 5, 13, 12, tzinfo=dt.UTC))
    sf.add_records(
        sandbox.state,
        "Lead",
        [
            {"LastName": "Under_Score", "Company": "Fidelity Co", "CreatedDate": "2026-05-01T00:00:00+00:00"},
            {"LastName": "Older", "Company": "Fidelity Co", "CreatedDate": "2026-04-30T23:59:59+00:00"},
        ],
        owner=REP1_USERNAME,
    )

    with pytest.raises(SalesforceMalformedRequest) as refused:
        api.query("SELECT Id FROM Lead WHERE LastName = 'Under\\_Score'")
    assert refused.value.content[0]["errorCode"] == "MALFORMED_QUERY"

    def names(where: str) -> list[str]:
        soql = f"SELECT LastName FROM Lead WHERE Company = 'Fidelity\\u0020Co' AND {where} ORDER BY LastName"
        return [r["LastName"] for r in api.query(soql)["records"]]

    assert names("LastName LIKE 'Under\\_%'") == ["Under_Score"]
    assert names("CreatedDate = THIS_MONTH") == ["Under_Score"]
    assert names("CreatedDate = LAST_MONTH") == ["Older"]
    assert names("CreatedDate = LAST_N_MONTHS:3") == ["Older"]


# ---- point 10: Microsoft contacts delta by the documented contactFolders path ------------------
def test_outlook_contacts_sync_through_the_documented_contact_folders_delta(
    ms: Any,  # noqa: F811  (the Microsoft fixtures imported above)
    app_connection: Any,  # noqa: F811
) -> None:
    # Reference: https://learn.microsoft.com/en-us/graph/api/contact-delta
    ms.control.seed(
        "microsoft",
        {
            "contacts": [
                {
                    "mailbox": microsoft.SELLER1,
                    "given_name": "Ray",
                    "surname": "Lo",
                    "emails": "ray@lo.example",
                }
            ]
        },
    )
    ms.control.clear_requests()

    pages = microsoft.sync(app_connection, microsoft.SELLER1, "contacts")

    ray = next(
        r
        for r in microsoft.records_of(pages)
        if isinstance(r, AddressBookContactRecord) and r.family_name == "Lo"
    )
    assert ray.folders == ("Contacts",)
    paths = [r["path"] for r in microsoft.graph_requests(ms)]
    deltas = [p for p in paths if p.endswith("/delta")]
    assert deltas and all("/contactFolders/" in p for p in deltas), deltas

    # A cursor an earlier version stored, pointing at the undocumented /contacts/delta: upgraded.
    state = json.loads(pages[-1].cursor)
    legacy_link = state["folders"]["default"]["link"].split("/contactFolders/")[0] + "/contacts/delta"
    state["folders"]["default"]["link"] = legacy_link
    again = microsoft.sync(app_connection, microsoft.SELLER1, "contacts", cursor=json.dumps(state))
    assert any(
        isinstance(r, AddressBookContactRecord) and r.family_name == "Lo" for r in microsoft.records_of(again)
    )
    assert "/contactFolders/" in json.loads(again[-1].cursor)["folders"]["default"]["link"]


# ---- point 10: Google Calendar singleEvents expands recurring meetings ---------------------------
def _activity_rows(organization: Any, subject: str) -> list[tuple[Any, ...]]:
    rows = []
    for meeting in Activity.objects.filter(
        organization=organization, kind="meeting", subject=subject
    ).order_by("occurred_at"):
        people = sorted(meeting.participants.values_list("email", "role"))
        rows.append((meeting.occurred_at, meeting.organizer_email, meeting.organizer_name, people))
    return rows


def test_a_recurring_google_meeting_is_one_timeline_row_per_occurrence(
    sandbox: Any, demo_admin: Any, seller1: Any
) -> None:
    # Reference: https://developers.google.com/workspace/calendar/api/v3/reference/events/list (singleEvents)
    first = (timezone.now() + dt.timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    skipped = first + dt.timedelta(days=14)
    google.seed(
        sandbox.control,
        {
            "events": [
                {
                    "calendar": SELLER1,
                    "id": "recurmeet01",
                    "summary": "Weekly pipeline review",
                    "start": first.isoformat(),
                    "end": (first + dt.timedelta(minutes=30)).isoformat(),
                    "attendees": [f"Kunde <{CUSTOMER}>", f"Sam Seller <{SELLER1}>"],
                    "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=4", f"EXDATE:{skipped:%Y%m%dT%H%M%SZ}"],
                }
            ]
        },
    )
    connection = own_connection(sandbox, seller1)
    since = timezone.now() - dt.timedelta(days=30)

    pages = list(
        GOOGLE_ADAPTER.fetch(
            connection=connection, mailbox=mailbox(seller1), kind="calendar", cursor="", since=since
        )
    )
    records = [r for page in pages for r in page.records]
    deliver(context(seller1, kind="calendar"), records)

    instances = [r for r in records if getattr(r, "external_id", "").startswith("recurmeet01")]
    assert [r.external_id for r in instances] == [
        f"recurmeet01_{when:%Y%m%dT%H%M%SZ}"
        for when in (first, first + dt.timedelta(days=7), first + dt.timedelta(days=21))
    ]
    people = sorted([(CUSTOMER, "attendee"), (SELLER1, "organizer")])
    assert _activity_rows(demo_admin.organization, "Weekly pipeline review") == [
        (when, SELLER1, "Sam Seller", people)
        for when in (first, first + dt.timedelta(days=7), first + dt.timedelta(days=21))
    ]


# ---- point 10: Graph calendarView delta sends recurring occurrences as bare stubs ----------------
def test_a_recurring_outlook_meeting_is_one_timeline_row_per_occurrence(
    ms: Any,  # noqa: F811  (the Microsoft fixtures imported above)
    app_connection: Any,  # noqa: F811
    acme: Any,
) -> None:
    # Reference: https://learn.microsoft.com/en-us/graph/delta-query-events ("occurrences and exceptions")
    # Reference: https://github.com/microsoftgraph/microsoft-graph-docs-contrib/issues/34 (occurrences
    # come with only id, type, seriesMasterId, start and end: the rest is the series master's)
    sellers = [
        UserFactory(organization=acme, email=microsoft.SELLER1, first_name="Sam", last_name="Seller"),
        UserFactory(organization=acme, email=microsoft.SELLER2, first_name="Sofia", last_name="Seller"),
    ]
    first = (timezone.now() + dt.timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    series = {
        "subject": "Weekly pipeline review",
        "start": first.isoformat(),
        "end": (first + dt.timedelta(minutes=30)).isoformat(),
        "organizer": {"address": microsoft.SELLER1, "name": "Sam Seller"},
        "attendees": [
            {"address": CUSTOMER, "name": "Kunde", "response": "accepted"},
            {"address": microsoft.SELLER2, "name": "Sofia Seller", "response": "accepted"},
        ],
        "body": "<p>Join: https://teams.microsoft.com/l/meetup-join/19%3ameeting_weekly%40thread.v2/0</p>",
        "ical_uid": "040000008200E00074C5B7101A82E00800000000A1B2C3D4E5F6A7B8C9D0E1F2A3B4C5D6",
        "recurrence": {
            "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": [first.strftime("%A")]},
            "range": {"type": "numbered", "startDate": first.date().isoformat(), "numberOfOccurrences": 4},
        },
    }
    # The organiser's series and the attendee's copy of it (same iCalUId, its own ids).
    ms.control.seed("microsoft", {"events": [{**series, "mailbox": microsoft.SELLER1},
                                             {**series, "mailbox": microsoft.SELLER2}]})  # fmt: skip

    def sync_and_ingest() -> list[Any]:
        records = []
        for seller in sellers:
            pages = microsoft.sync(app_connection, seller.email, "calendar")
            found = microsoft.records_of(pages)
            deliver(context(seller, kind="calendar", provider="microsoft"), found)
            records += found
        return records

    records = sync_and_ingest()

    subjects = {getattr(r, "subject", None) for r in records if getattr(r, "start", None) in {
        first + dt.timedelta(weeks=n) for n in range(4)}}  # fmt: skip
    assert subjects == {"Weekly pipeline review"}
    people = sorted(
        [(CUSTOMER, "attendee"), (microsoft.SELLER1, "organizer"), (microsoft.SELLER2, "attendee")]
    )
    expected = [(first + dt.timedelta(weeks=n), microsoft.SELLER1, "Sam Seller", people) for n in range(4)]
    assert _activity_rows(acme, "Weekly pipeline review") == expected
    meetings = Activity.objects.filter(organization=acme, subject="Weekly pipeline review")
    assert all(m.join_url.startswith("https://teams.microsoft.com/") for m in meetings)

    # A second sync (full rounds again) rewrites the same rows: no duplicates.
    all_meetings = Activity.objects.filter(organization=acme, kind="meeting")
    before = all_meetings.count()
    sync_and_ingest()
    assert _activity_rows(acme, "Weekly pipeline review") == expected
    assert all_meetings.count() == before
