"""Gmail's ``rfc822msgid:`` search through googleapiclient: the message whose Message-ID header is
that id (angle brackets optional, any case), combined with other terms such as ``in:sent``."""

from __future__ import annotations

from typing import Any

from integrations.sandbox.google import control as google
from tests.integrations.sandbox.google.conftest import SELLER1

CUSTOMER = "ava.nguyen@bluefinanalytics.example"


def ids(gmail: Any, q: str, **params: Any) -> set[str]:
    listing = gmail.users().messages().list(userId="me", q=q, **params).execute()
    return {m["id"] for m in listing.get("messages", [])}


def test_rfc822msgid_finds_exactly_the_message_with_that_message_id(sandbox: Any, gmail: Any) -> None:
    google.add_messages(sandbox.control, [
        {"mailbox": SELLER1, "from": SELLER1, "to": [CUSTOMER], "subject": "Quick question",
         "body": "Hi", "message_id": "Sf-41-1@demo.example"},
        {"mailbox": SELLER1, "from": CUSTOMER, "to": [SELLER1], "subject": "Re: Quick question",
         "body": "Sure", "message_id": "reply-1@bluefinanalytics.example",
         "in_reply_to": "Sf-41-1@demo.example"},
        {"mailbox": SELLER1, "from": SELLER1, "to": [CUSTOMER], "subject": "Quick question",
         "body": "Hi", "message_id": "sf-41-10@demo.example"},
    ])  # fmt: skip
    box = google.store(sandbox.state).mailbox(SELLER1)
    sent = box.by_rfc_id["Sf-41-1@demo.example"]
    reply = box.by_rfc_id["reply-1@bluefinanalytics.example"]

    assert ids(gmail, "rfc822msgid:Sf-41-1@demo.example") == {sent}  # not the reply naming it
    assert ids(gmail, "rfc822msgid:<sf-41-1@demo.example>") == {sent}
    assert ids(gmail, "rfc822msgid:reply-1@bluefinanalytics.example in:sent") == set()
    assert ids(gmail, "rfc822msgid:sf-41-1@demo.example in:sent") == {sent}
    assert reply not in ids(gmail, "-rfc822msgid:reply-1@bluefinanalytics.example")
    assert ids(gmail, "rfc822msgid:nobody@demo.example") == set()


def test_a_trashed_message_is_found_only_with_spam_and_trash_included(sandbox: Any, gmail: Any) -> None:
    google.add_messages(sandbox.control, [{"mailbox": SELLER1, "from": SELLER1, "to": [CUSTOMER],
                                           "subject": "Hi", "body": "Hi", "message_id": "gone@demo.example"}])  # fmt: skip
    message_id = google.store(sandbox.state).mailbox(SELLER1).by_rfc_id["gone@demo.example"]
    gmail.users().messages().trash(userId="me", id=message_id).execute()

    assert ids(gmail, "rfc822msgid:gone@demo.example in:sent") == set()
    assert ids(gmail, "rfc822msgid:gone@demo.example in:sent", includeSpamTrash=True) == {message_id}
