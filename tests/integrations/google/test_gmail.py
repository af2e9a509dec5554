"""Gmail sync through the adapter against the sandbox (B13): full sync, incremental by history id,
an idle mailbox, cursor expiry, token refresh and refusal."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.utils import timezone

from integrations.exceptions import CursorExpired, MailboxAccessDenied, ProviderAuthError
from integrations.google.fetch.source import GOOGLE_ADAPTER
from integrations.models import Connection
from integrations.records import Address, Deletion, MailMessageRecord
from integrations.sandbox.google import control as google
from integrations.sync.source import MailboxRef
from tests.integrations.google.conftest import SELLER1, SELLER2, dwd_connection, mailbox, own_connection

CUSTOMER = "ada.lovelace@bluefinanalytics.example"


def _fetch(connection: Connection, user: Any, cursor: str = "", kind: str = "email") -> list[Any]:
    since = timezone.now() - dt.timedelta(days=90)
    return list(
        GOOGLE_ADAPTER.fetch(
            connection=connection, mailbox=mailbox(user), kind=kind, cursor=cursor, since=since
        )
    )


def _records(pages: list[Any]) -> list[Any]:
    return [record for page in pages for record in page.records]


def _seed_thread(sandbox: Any) -> None:
    google.add_messages(
        sandbox.control,
        [
            {
                "mailbox": SELLER1,
                "from": f"Ada Lovelace <{CUSTOMER.upper()}>",
                "to": ["Sam Seller <seller1@demo.example>"],
                "cc": ["Sofia Reyes <seller2@demo.example>", "Ops <OPS@bluefinanalytics.example>"],
                "subject": "Renewal terms",
                "body": "Could you send the renewal terms?\nThanks, Ada",
                "message_id": "renewal-1@bluefinanalytics.example",
            },
            {
                "mailbox": SELLER1,
                "from": "Sam Seller <seller1@demo.example>",
                "to": [f"Ada Lovelace <{CUSTOMER}>"],
                "subject": "Re: Renewal terms",
                "body": "Attached. <b>Sam</b>",
                "html": "<p>Attached.</p><p><b>Sam</b></p>",
                "message_id": "renewal-2@mail.demo.example",
                "in_reply_to": "renewal-1@bluefinanalytics.example",
                "references": ["renewal-1@bluefinanalytics.example"],
            },
        ],
    )


def test_a_full_sync_turns_every_message_of_the_window_into_a_record(
    sandbox: Any, demo_admin: Any, seller1: Any
) -> None:
    _seed_thread(sandbox)
    connection = dwd_connection(sandbox, demo_admin.organization, demo_admin, scope={})

    pages = _fetch(connection, seller1)

    records = {r.message_id_header: r for r in _records(pages)}
    question, answer = records["renewal-1@bluefinanalytics.example"], records["renewal-2@mail.demo.example"]
    assert isinstance(question, MailMessageRecord)
    assert question.sender == Address(email=CUSTOMER, name="Ada Lovelace")
    assert question.to == (Address(email=SELLER1, name="Sam Seller"),)
    assert question.cc == (
        Address(email=SELLER2, name="Sofia Reyes"),
        Address(email="ops@bluefinanalytics.example", name="Ops"),
    )
    assert question.subject == "Renewal terms"
    assert question.body_text.rstrip() == "Could you send the renewal terms?\nThanks, Ada"
    assert question.snippet.startswith("Could you send the renewal terms?")
    assert "INBOX" in question.labels and question.sent_at.tzinfo is not None
    assert answer.thread_id == question.thread_id
    assert answer.labels == ("SENT",)
    assert pages[-1].full_resync
    assert len(records) == len(google.store(sandbox.state).mailbox(SELLER1).messages)  # the whole window


def test_the_full_sync_starts_from_the_history_id_read_before_listing(
    sandbox: Any, demo_admin: Any, seller1: Any
) -> None:
    connection = dwd_connection(sandbox, demo_admin.organization, demo_admin, scope={})
    before = google.history_id(sandbox.state, SELLER1)

    pages = _fetch(connection, seller1)

    assert json.loads(pages[-1].cursor) == {"h": str(before)}
    profile, listing = sandbox.control.requests("/gmail/v1/users/me/")[:2]
    assert profile["path"].endswith("/profile") and listing["path"].endswith("/messages")
    since = int(listing["query"]["q"][0].removeprefix("after:"))
    assert abs(since - (timezone.now() - dt.timedelta(days=90)).timestamp()) < 60
    assert listing["query"]["maxResults"] == ["500"]


def test_a_long_full_sync_resumes_from_its_page_cursor(sandbox: Any, demo_admin: Any, seller2: Any) -> None:
    google.generate_mailbox(sandbox.control, SELLER2, count=620, days=30)
    connection = dwd_connection(sandbox, demo_admin.organization, demo_admin, scope={})

    first = next(iter(GOOGLE_ADAPTER.fetch(
        connection=connection, mailbox=mailbox(seller2), kind="email", cursor="",
        since=timezone.now() - dt.timedelta(days=90),
    )))  # fmt: skip
    cursor = json.loads(first.cursor)
    assert len(first.records) == 500 and cursor["p"]

    rest = _fetch(connection, seller2, cursor=first.cursor)

    ids = {r.external_id for r in first.records} | {r.external_id for r in _records(rest)}
    assert len(ids) == len(google.store(sandbox.state).mailbox(SELLER2).messages)
    assert json.loads(rest[-1].cursor) == {"h": cursor["h"]}


def test_an_incremental_round_brings_new_messages_and_reports_deleted_ones(
    sandbox: Any, demo_admin: Any, seller1: Any
) -> None:
    connection = dwd_connection(sandbox, demo_admin.organization, demo_admin, scope={})
    synced = _fetch(connection, seller1)
    cursor, gone = synced[-1].cursor, _records(synced)[0].external_id
    _seed_thread(sandbox)
    with sandbox.state.lock:
        google.store(sandbox.state).mailbox(SELLER1).delete_message(gone)

    pages = _fetch(connection, seller1, cursor=cursor)

    records = _records(pages)
    new = sorted(r.message_id_header for r in records if isinstance(r, MailMessageRecord))
    assert new == ["renewal-1@bluefinanalytics.example", "renewal-2@mail.demo.example"]
    assert Deletion(kind="email", external_id=gone) in records
    assert json.loads(pages[-1].cursor) == {"h": str(google.history_id(sandbox.state, SELLER1))}
    assert not pages[-1].full_resync


def test_an_idle_mailbox_costs_exactly_one_request(sandbox: Any, demo_admin: Any, seller1: Any) -> None:
    connection = dwd_connection(sandbox, demo_admin.organization, demo_admin, scope={})
    cursor = _fetch(connection, seller1)[-1].cursor
    sandbox.control.clear_requests()

    (page,) = _fetch(connection, seller1, cursor=cursor)

    assert page.records == [] and page.cursor == cursor and page.api_calls == 1
    (only,) = sandbox.control.requests()
    assert only["path"] == "/google/gmail/v1/users/me/history"
    assert only["query"]["historyTypes"] == ["messageAdded", "messageDeleted"]


def test_a_history_id_gmail_no_longer_keeps_means_a_full_resync(
    sandbox: Any, demo_admin: Any, seller1: Any
) -> None:
    connection = dwd_connection(sandbox, demo_admin.organization, demo_admin, scope={})
    cursor = _fetch(connection, seller1)[-1].cursor
    google.append_messages(sandbox.control, users=[SELLER1], count=1)
    google.expire_history(sandbox.control, [SELLER1])

    with pytest.raises(CursorExpired):
        _fetch(connection, seller1, cursor=cursor)


def test_a_401_refreshes_the_token_once_and_goes_on(sandbox: Any, demo_admin: Any, seller1: Any) -> None:
    connection = dwd_connection(sandbox, demo_admin.organization, demo_admin, scope={})
    cursor = _fetch(connection, seller1)[-1].cursor
    sandbox.control.clear_requests()
    sandbox.control.inject_fault(r"/gmail/v1/users/me/history$", status=401)

    (page,) = _fetch(connection, seller1, cursor=cursor)

    assert page.cursor == cursor
    assert [(r["path"], r["status"]) for r in sandbox.control.requests()] == [
        ("/google/gmail/v1/users/me/history", 401),
        ("/google/token", 200),
        ("/google/gmail/v1/users/me/history", 200),
    ]


def test_a_401_after_the_refresh_is_refused_credentials(sandbox: Any, demo_admin: Any, seller1: Any) -> None:
    connection = dwd_connection(sandbox, demo_admin.organization, demo_admin, scope={})
    cursor = _fetch(connection, seller1)[-1].cursor
    sandbox.control.inject_fault(r"/gmail/v1/users/me/history$", status=401, times=2)

    with pytest.raises(ProviderAuthError):
        _fetch(connection, seller1, cursor=cursor)


def test_a_mailbox_outside_the_domain_is_refused_for_that_mailbox_only(
    sandbox: Any, demo_admin: Any, owner: Any
) -> None:
    connection = dwd_connection(sandbox, demo_admin.organization, demo_admin, scope={})

    with pytest.raises(MailboxAccessDenied, match=r"does not act for owner@acme\.example"):
        list(GOOGLE_ADAPTER.fetch(
            connection=connection, mailbox=MailboxRef(user_id=owner.pk, address=owner.email), kind="email",
            cursor="", since=timezone.now(),
        ))  # fmt: skip
    assert sandbox.control.requests("/google/token") == []  # Google was never asked to act for it


def test_withdrawn_delegation_asks_the_admin_to_authorise_cadence_again(
    sandbox: Any, demo_admin: Any, seller1: Any
) -> None:
    connection = dwd_connection(sandbox, demo_admin.organization, demo_admin, scope={})
    google.revoke_dwd(sandbox.control)

    with pytest.raises(ProviderAuthError, match="authorise these scopes"):
        _fetch(connection, seller1)


# --- user-managed tokens -------------------------------------------------------------------------
def test_an_expired_user_token_is_refreshed_and_written_back(sandbox: Any, seller1: Any) -> None:
    connection = own_connection(sandbox, seller1)
    old = connection.get_credentials()["access_token"]
    sandbox.control.seed("google", {"expire_access_tokens": True})

    pages = _fetch(connection, seller1)

    assert _records(pages)
    connection.refresh_from_db()
    assert connection.get_credentials()["access_token"] != old
    assert connection.status == Connection.Status.CONNECTED
    refresh = [r for r in sandbox.control.requests("/google/token")]
    assert [r["body"]["grant_type"] for r in refresh] == ["refresh_token"]


def test_a_refused_refresh_marks_the_connection_needs_reconnect(sandbox: Any, seller1: Any) -> None:
    connection = own_connection(sandbox, seller1)
    google.revoke_refresh_tokens(sandbox.control, [SELLER1])

    with pytest.raises(ProviderAuthError):
        _fetch(connection, seller1)

    connection.refresh_from_db()
    assert connection.status == Connection.Status.NEEDS_RECONNECT
    assert connection.status_reason == (
        "Google refused the refresh token (Token has been expired or revoked.). Connect your Google "
        "account again from Settings."
    )
