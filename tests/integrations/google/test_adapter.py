"""Sending through Gmail and the directory scope, through the adapter against the sandbox (B2, B9)."""

from __future__ import annotations

import email
import email.policy
from typing import Any

from integrations.base import get_source as get_adapter
from integrations.google.fetch.source import GOOGLE_ADAPTER
from integrations.records import Address
from integrations.sandbox.google import control as google
from integrations.sync.source import OutgoingMessage
from tests.integrations.google.conftest import SELLER1, SELLER2, dwd_connection, mailbox, own_connection

CUSTOMER = "ava.nguyen@bluefinanalytics.example"


def _message(**more: Any) -> OutgoingMessage:
    fields: dict[str, Any] = {
        "to": (Address(email=CUSTOMER, name="Ava Nguyen"),),
        "cc": (Address(email=SELLER2, name="Sofia Reyes"),),
        "bcc": (Address(email="archive@demo.example"),),
        "subject": "Next steps",
        "text": "Hi Ava,\n\nHere are the next steps.\n\nSam",
        "html": "<p>Hi Ava,</p><p>Here are the next steps.</p><p>Sam</p>",
        "sender_name": "Sam Seller",
        "message_id_header": "cadence-next-steps@demo.example",
    }
    return OutgoingMessage(**{**fields, **more})


def test_the_adapter_is_registered_for_google() -> None:
    assert get_adapter("google") is GOOGLE_ADAPTER


def test_a_sent_message_reaches_the_recipients_mailbox_with_our_message_id(
    sandbox: Any, demo_admin: Any, seller1: Any
) -> None:
    connection = dwd_connection(sandbox, demo_admin.organization, demo_admin, scope={})

    record = GOOGLE_ADAPTER.send(connection=connection, mailbox=mailbox(seller1), message=_message())

    store = google.store(sandbox.state)
    sent = store.mailbox(SELLER1).messages[record.external_id]
    assert record.thread_id == sent.thread_id
    assert record.labels == ("SENT",)
    assert record.message_id_header == "cadence-next-steps@demo.example"
    assert record.sender == Address(email=SELLER1, name="Sam Seller")
    assert record.bcc == (Address(email="archive@demo.example"),)
    received = store.mailbox(SELLER2).by_rfc_id["cadence-next-steps@demo.example"]
    delivered = store.mailbox(SELLER2).messages[received]
    assert delivered.header("From") == "Sam Seller <seller1@demo.example>"
    assert delivered.header("Bcc") is None
    mime = email.message_from_bytes(sent.raw_bytes(), policy=email.policy.default)
    assert mime["Cc"] == "Sofia Reyes <seller2@demo.example>"
    assert [part.get_content_type() for part in mime.walk()][1:] == ["text/plain", "text/html"]
    (request,) = sandbox.control.requests("/gmail/v1/users/me/messages/send")
    assert set(request["body"]) == {"raw"}  # a JSON body, not a media upload


def test_a_reply_carries_in_reply_to_and_lands_in_the_thread(sandbox: Any, seller1: Any) -> None:
    google.add_messages(sandbox.control, [{
        "mailbox": SELLER1, "from": f"Ava Nguyen <{CUSTOMER}>", "to": [SELLER1], "subject": "Pricing",
        "body": "What does it cost?", "message_id": "pricing-1@bluefinanalytics.example",
    }])  # fmt: skip
    connection = own_connection(sandbox, seller1)
    box = google.store(sandbox.state).mailbox(SELLER1)
    original = box.messages[box.by_rfc_id["pricing-1@bluefinanalytics.example"]]

    record = GOOGLE_ADAPTER.send(
        connection=connection,
        mailbox=mailbox(seller1),
        message=_message(
            subject="Re: Pricing", in_reply_to="pricing-1@bluefinanalytics.example", cc=(), bcc=()
        ),
    )

    sent = box.messages[record.external_id]
    assert sent.header("In-Reply-To") == "<pricing-1@bluefinanalytics.example>"
    assert record.thread_id == original.thread_id


def test_the_chosen_group_and_org_unit_are_read_from_the_directory(sandbox: Any, demo_admin: Any) -> None:
    google.seed(sandbox.control, {
        "users": [{"email": "nested@demo.example", "name": "Nina Nested", "org_unit": "/Sales/EMEA"}],
        "groups": [
            {"email": "emea@demo.example", "name": "EMEA", "members": ["nested@demo.example"]},
            {"email": "sales@demo.example", "name": "Sales team", "members": ["emea@demo.example"]},
        ],
    })  # fmt: skip
    group = dwd_connection(
        sandbox, demo_admin.organization, demo_admin,
        scope={"kind": "group", "key": "sales@demo.example", "name": "Sales team"},
    )  # fmt: skip

    assert GOOGLE_ADAPTER.scope_members(connection=group) == {SELLER1, SELLER2, "nested@demo.example"}

    group.details["scope"] = {"kind": "org_unit", "key": "/Sales", "name": "Sales"}
    assert GOOGLE_ADAPTER.scope_members(connection=group) == {SELLER1, SELLER2, "nested@demo.example"}

    group.details["scope"] = {}
    assert GOOGLE_ADAPTER.scope_members(connection=group) is None


def test_a_users_own_connection_has_no_provider_scope(sandbox: Any, seller1: Any) -> None:
    assert GOOGLE_ADAPTER.scope_members(connection=own_connection(sandbox, seller1)) is None
