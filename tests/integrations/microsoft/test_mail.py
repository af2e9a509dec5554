"""Outlook mail sync against the sandbox's Graph: delta per folder (Inbox and Sent Items), full
sync paging with a resumable cursor, incremental rounds, the cost of an idle mailbox, cursor expiry,
throttling and the application access policy."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from integrations.exceptions import CursorExpired, MailboxAccessDenied, ProviderThrottled, ProviderUnavailable
from integrations.microsoft.client import GraphClient
from integrations.microsoft.errors import OUTSIDE_POLICY
from integrations.microsoft.fetch import mail
from integrations.records import Deletion, MailMessageRecord
from tests.integrations.microsoft.conftest import (
    ADMIN,
    SELLER1,
    SELLER2,
    graph_requests,
    records_of,
    since_days,
    sync,
)

CUSTOMER = "Priya.Patel@BluefinAnalytics.example"


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(mail, "HEADERS", {"Prefer": "odata.maxpagesize=3"})
    return 3


def seed_message(ms, **fields) -> None:
    defaults = {
        "mailbox": SELLER1,
        "from": f"Priya Patel <{CUSTOMER}>",
        "to": [SELLER1],
        "subject": "Renewal terms",
        "body": "Hello Sam, can we talk about the renewal?",
        "date": (timezone.now() - dt.timedelta(hours=2)).isoformat(),
        "message_id": "renewal-1@bluefinanalytics.example",
    }
    ms.control.seed("microsoft", {"messages": [{**defaults, **fields}]})


def full_sync(connection, address=SELLER1):
    pages = sync(connection, address, "email")
    return pages, pages[-1].cursor


# --- Full sync -----------------------------------------------------------------------------------
def test_a_full_sync_pages_through_inbox_and_sent_items_storing_the_link_after_each_page(
    ms, app_connection, small_pages
):
    pages = sync(app_connection, SELLER1, "email")

    records = records_of(pages)
    assert len(pages) > 2
    assert all(len(page.records) <= small_pages for page in pages)
    assert all(page.full_resync for page in pages)
    assert all(isinstance(r, MailMessageRecord) for r in records)
    assert len({r.external_id for r in records}) == len(records)
    assert {r.labels for r in records} == {("Inbox",), ("Sent Items",)}
    first = json.loads(pages[0].cursor)
    assert "$skiptoken" in first["inbox"]  # the round goes on: a killed worker resumes here
    assert "token" not in first["sentitems"]  # not started yet: its initial query
    last = json.loads(pages[-1].cursor)
    assert set(last) == {"inbox", "sentitems"}
    assert all("$deltatoken" in link for link in last.values())
    assert sum(page.api_calls for page in pages) == len(graph_requests(ms))


def test_the_first_request_asks_only_for_the_window_and_the_fields_cadence_uses(ms, app_connection):
    since = since_days(30)
    sync(app_connection, SELLER1, "email", since=since)

    first = [
        r for r in graph_requests(ms) if r["path"].endswith("/messages/delta") and "$filter" in r["query"]
    ]
    assert {r["path"] for r in first} == {
        f"/graph/v1.0/users/{SELLER1}/mailFolders/inbox/messages/delta",
        f"/graph/v1.0/users/{SELLER1}/mailFolders/sentitems/messages/delta",
    }
    assert first[0]["query"]["$filter"] == [f"receivedDateTime ge {since.strftime('%Y-%m-%dT%H:%M:%SZ')}"]
    assert "internetMessageId" in first[0]["query"]["$select"][0]


def test_messages_become_provider_neutral_records(ms, app_connection):
    seed_message(
        ms,
        cc=["Seller Two <SELLER2@demo.example>"],
        body="<html><head><style>p{color:red}</style></head><body><p>Hello&nbsp;Sam,</p><p>Shall we <b>renew</b>?</p></body></html>",
        content_type="html",
    )

    records = records_of(sync(app_connection, SELLER1, "email"))

    record = next(r for r in records if r.message_id_header == "renewal-1@bluefinanalytics.example")
    assert record.sender.email == CUSTOMER.lower()
    assert record.sender.name == "Priya Patel"
    assert [a.email for a in record.to] == [SELLER1]
    assert [a.email for a in record.cc] == [SELLER2]
    assert record.subject == "Renewal terms"
    assert record.body_text == "Hello Sam,\n\nShall we renew?"
    assert record.snippet.startswith("Hello")
    assert record.thread_id
    assert record.labels == ("Inbox",)
    assert record.sent_at.tzinfo is not None


def test_a_killed_worker_resumes_from_the_stored_next_link_without_losing_or_repeating(
    ms, app_connection, small_pages
):
    everything = {r.external_id for r in records_of(sync(app_connection, SELLER1, "email"))}
    from integrations.microsoft.fetch.source import MICROSOFT_ADAPTER
    from tests.integrations.microsoft.conftest import mailbox

    fetch = MICROSOFT_ADAPTER.fetch(
        connection=app_connection, mailbox=mailbox(SELLER1), kind="email", cursor="", since=since_days()
    )
    first, second = next(fetch), next(fetch)
    fetch.close()  # the worker dies after two committed pages

    rest = sync(app_connection, SELLER1, "email", cursor=second.cursor)

    seen = [r.external_id for r in (*first.records, *second.records, *records_of(rest))]
    assert sorted(seen) == sorted(everything)


# --- Incremental rounds --------------------------------------------------------------------------
def test_an_incremental_round_brings_new_and_deleted_messages(ms, app_connection):
    pages, cursor = full_sync(app_connection)
    gone = next(r for r in records_of(pages) if r.labels == ("Inbox",))
    with GraphClient(app_connection, mailbox=SELLER1) as graph:
        graph.request("DELETE", f"/users/{SELLER1}/messages/{gone.external_id}")
    seed_message(ms, message_id="renewal-2@bluefinanalytics.example", subject="Re: Renewal terms")

    pages = sync(app_connection, SELLER1, "email", cursor=cursor)

    records = records_of(pages)
    assert not any(page.full_resync for page in pages)
    assert Deletion(kind="email", external_id=gone.external_id) in records
    (new,) = [r for r in records if isinstance(r, MailMessageRecord)]
    assert new.message_id_header == "renewal-2@bluefinanalytics.example"
    assert all("$deltatoken" in link for link in json.loads(pages[-1].cursor).values())


def test_an_idle_mailbox_costs_exactly_one_request_per_cycle(ms, app_connection):
    _, cursor = full_sync(app_connection)
    ms.control.clear_requests()

    pages = sync(app_connection, SELLER1, "email", cursor=cursor)

    requests = ms.control.requests()
    assert [(r["method"], r["path"]) for r in requests] == [("POST", "/graph/v1.0/$batch")]
    assert sum(page.api_calls for page in pages) == 1
    assert records_of(pages) == []
    again = sync(app_connection, SELLER1, "email", cursor=pages[-1].cursor)
    assert records_of(again) == []


def test_without_a_batch_route_the_round_falls_back_to_plain_requests(ms, app_connection):
    _, cursor = full_sync(app_connection)
    ms.control.inject_fault(
        r"/graph/v1\.0/\$batch",
        status=404,
        body={"error": {"code": "BadRequest", "message": "Resource not found for the segment '$batch'."}},
    )
    seed_message(ms, message_id="renewal-3@bluefinanalytics.example")
    ms.control.clear_requests()

    pages = sync(app_connection, SELLER1, "email", cursor=cursor)

    assert [r.message_id_header for r in records_of(pages)] == ["renewal-3@bluefinanalytics.example"]
    assert [r["method"] for r in ms.control.requests("/graph/v1.0/")] == ["POST", "GET", "GET"]
    ms.control.clear_requests()
    sync(app_connection, SELLER1, "email", cursor=pages[-1].cursor)
    assert [r["method"] for r in ms.control.requests("/graph/v1.0/")] == ["GET", "GET"]  # remembered


# --- Failures ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "expiry", [{"status": 410, "code": "syncStateNotFound"}, {"status": 400, "code": "resyncRequired"}]
)
def test_an_expired_delta_token_asks_for_a_full_resync(ms, app_connection, expiry):
    _, cursor = full_sync(app_connection)
    ms.control.seed("microsoft", {"delta_expiry": expiry, "expire_delta_tokens": True})

    with pytest.raises(CursorExpired):
        sync(app_connection, SELLER1, "email", cursor=cursor)


def test_an_unreadable_cursor_asks_for_a_full_resync(ms, app_connection):
    with pytest.raises(CursorExpired):
        sync(app_connection, SELLER1, "email", cursor="not json")


def test_throttling_reports_the_retry_after_delay(ms, app_connection):
    ms.control.inject_fault(r"/messages/delta$", status=429, headers={"Retry-After": "7"})

    with pytest.raises(ProviderThrottled) as exc:
        sync(app_connection, SELLER1, "email")

    assert exc.value.retry_after == 7.0


def test_throttling_inside_a_batch_reports_the_retry_after_delay(ms, app_connection):
    _, cursor = full_sync(app_connection)
    ms.control.seed(
        "microsoft",
        {
            "graph_faults": [
                {"path": r"/sentitems/messages/delta", "status": 429, "headers": {"Retry-After": "11"}}
            ]
        },
    )

    with pytest.raises(ProviderThrottled) as exc:
        sync(app_connection, SELLER1, "email", cursor=cursor)

    assert exc.value.retry_after == 11.0


def test_an_outage_is_reported_as_unavailable(ms, app_connection):
    ms.control.inject_fault(r"/messages/delta$", status=503, headers={"Retry-After": "3"})

    with pytest.raises(ProviderUnavailable) as exc:
        sync(app_connection, SELLER1, "email")

    assert exc.value.retry_after == 3.0


def test_the_access_policy_denies_a_mailbox_outside_its_group_while_members_sync(ms, app_connection):
    ms.control.seed(
        "microsoft", {"access_policies": [{"group_id": "Cadence sellers", "access_right": "RestrictAccess"}]}
    )

    with pytest.raises(MailboxAccessDenied) as exc:
        sync(app_connection, ADMIN, "email")

    assert OUTSIDE_POLICY in str(exc.value)
    assert records_of(sync(app_connection, SELLER1, "email"))


def test_a_folder_whose_filtered_round_hits_graphs_cap_is_read_again_without_the_filter(
    ms, app_connection, monkeypatch
):
    monkeypatch.setattr(mail, "FILTER_CAP", 5)
    ms.control.seed("microsoft", {"delta_filter_max_messages": 5})
    old = (timezone.now() - dt.timedelta(days=200)).isoformat()
    seed_message(ms, message_id="ancient@bluefinanalytics.example", date=old)
    with GraphClient(app_connection, mailbox=SELLER1) as graph:
        in_window = {
            m["id"]
            for m in graph.values(
                f"/users/{SELLER1}/mailFolders/inbox/messages",
                params={"$select": "id,receivedDateTime", "$top": "999"},
            )
            if m["receivedDateTime"] >= since_days().strftime("%Y-%m-%dT%H:%M:%SZ")
        }
    assert len(in_window) > 5

    pages = sync(app_connection, SELLER1, "email")

    inbox = {r.external_id for r in records_of(pages) if r.labels == ("Inbox",)}
    assert in_window <= inbox
    assert "ancient@bluefinanalytics.example" not in {r.message_id_header for r in records_of(pages)}
    state = json.loads(pages[-1].cursor)
    assert "inbox" in state["window"]
    assert "$deltatoken" in state["inbox"]
    seed_message(ms, message_id="ancient-2@bluefinanalytics.example", date=old)
    seed_message(ms, message_id="fresh@bluefinanalytics.example")

    later = records_of(sync(app_connection, SELLER1, "email", cursor=pages[-1].cursor))

    assert [r.message_id_header for r in later] == ["fresh@bluefinanalytics.example"]
