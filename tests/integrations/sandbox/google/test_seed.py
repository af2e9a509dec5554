"""The demo world as Google renders it, the seed API and the benchmark generators."""

from __future__ import annotations

import time
from typing import Any

import pytest

from integrations.sandbox.control import SandboxControlError
from integrations.sandbox.google import control as google
from tests.integrations.sandbox.google.conftest import ADMIN, DIRECTORY, SELLER1, SELLER2


def test_demo_mailboxes_hold_the_shared_world(api: Any) -> None:
    seller1, seller2 = api("gmail", SELLER1), api("gmail", SELLER2)
    sent = seller1.users().messages().list(userId="me", q="in:sent").execute()["messages"]
    first = seller1.users().messages().get(userId="me", id=sent[0]["id"], format="metadata").execute()
    assert SELLER1 in next(h["value"] for h in first["payload"]["headers"] if h["name"] == "From")
    internal = seller2.users().messages().list(userId="me", q="subject:pipeline").execute()["messages"]
    received = seller2.users().messages().get(userId="me", id=internal[0]["id"], format="minimal").execute()
    assert received["labelIds"] == ["INBOX"]
    legal = (
        api("gmail", ADMIN)
        .users()
        .messages()
        .list(userId="me", q="from:counsel@quillstone.example")
        .execute()
    )
    assert legal["resultSizeEstimate"] == 1


def test_unknown_seed_keys_and_bad_rows_are_refused(sandbox: Any) -> None:
    with pytest.raises(SandboxControlError, match="unknown google seed keys"):
        google.seed(sandbox.control, {"mailboxes": []})
    with pytest.raises(SandboxControlError, match="no Google user"):
        google.seed(sandbox.control, {"messages": [{"mailbox": "ghost@demo.example", "from": "a@b.example"}]})


def test_generate_a_10k_mailbox_fast(sandbox: Any, api: Any) -> None:
    started = time.perf_counter()
    google.generate_mailbox(sandbox.control, SELLER2, count=10_000, days=80, external_domains=200)
    assert time.perf_counter() - started < 3
    gmail = api("gmail", SELLER2)
    listed = gmail.users().messages().list(userId="me", maxResults=500).execute()
    assert len(listed["messages"]) == 500 and listed["resultSizeEstimate"] > 10_000
    full = gmail.users().messages().get(userId="me", id=listed["messages"][0]["id"]).execute()
    assert full["payload"]["body"]["size"] > 0
    old = gmail.users().messages().list(userId="me", q="older_than:60d").execute()
    assert old["resultSizeEstimate"] > 1000


def test_generated_users_and_new_mail(sandbox: Any, api: Any) -> None:
    google.generate_users(sandbox.control, count=500, group="sales@demo.example")
    directory = api("admin", ADMIN, DIRECTORY)
    page = directory.users().list(customer="my_customer", maxResults=500).execute()
    assert len(page["users"]) == 500 and page["nextPageToken"]
    members = directory.members().list(groupKey="sales@demo.example").execute()
    assert len(members["members"]) == 200 and members["nextPageToken"]  # maxResults caps at 200

    gmail = api("gmail", "user0042@demo.example")
    start = gmail.users().getProfile(userId="me").execute()["historyId"]
    google.append_messages(sandbox.control, users="all", count=20)
    history = gmail.users().history().list(userId="me", startHistoryId=start).execute()
    assert len(history["history"]) == 20
