"""The Microsoft mailbox adapter beyond mail and calendar fetching: address books per contact
folder, sending through sendMail with Cadence's own MIME (and Message-ID), the security group's
members, and the directory reads the connect flow uses."""

from __future__ import annotations

import base64
import datetime as dt
import json
from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from django.utils import timezone

from integrations.base import get_source as get_adapter
from integrations.base import register_source as register_adapter
from integrations.exceptions import MailboxAccessDenied
from integrations.microsoft import directory
from integrations.microsoft.client import GraphClient
from integrations.microsoft.fetch import contacts
from integrations.microsoft.fetch.source import MICROSOFT_ADAPTER, build_mime
from integrations.records import Address, AddressBookContactRecord, Deletion, MailMessageRecord
from integrations.sync.source import OutgoingMessage
from tests.integrations.microsoft.conftest import ADMIN, SELLER1, SELLER2, mailbox, records_of, sync


def contact_records(pages):
    return [r for r in records_of(pages) if isinstance(r, AddressBookContactRecord)]


# --- Address books -------------------------------------------------------------------------------
def test_contacts_sync_per_folder_and_keep_the_folder_names(ms, app_connection):
    ms.control.seed(
        "microsoft",
        {
            "contacts": [
                {"mailbox": SELLER1, "given_name": "Mei", "surname": "Zellweger", "emails": ["Mei.Zellweger@Kestrel.example"],
                 "phones": ["+1 555 0100"], "company": "Kestrel Robotics", "job_title": "CTO"},
                {"mailbox": SELLER1, "folder": "Partners", "given_name": "Omar", "surname": "Quillfeather",
                 "emails": "omar@northgate.example"},
            ]
        },
    )  # fmt: skip

    pages = sync(app_connection, SELLER1, "contacts")

    records = contact_records(pages)
    mei = next(r for r in records if r.family_name == "Zellweger")
    assert (mei.given_name, mei.emails, mei.phones, mei.company, mei.title, mei.folders) == (
        "Mei",
        ("mei.zellweger@kestrel.example",),
        ("+1 555 0100",),
        "Kestrel Robotics",
        "CTO",
        ("Contacts",),
    )
    assert next(r for r in records if r.family_name == "Quillfeather").folders == ("Partners",)
    assert all(page.full_resync for page in pages)
    state = json.loads(pages[-1].cursor)
    assert "default" in state["folders"] and len(state["folders"]) >= 2
    assert all("$deltatoken" in f["link"] for f in state["folders"].values())


def test_an_idle_address_book_costs_one_request_and_changes_come_through(ms, app_connection):
    ms.control.seed(
        "microsoft",
        {
            "contacts": [
                {
                    "mailbox": SELLER1,
                    "folder": "Partners",
                    "given_name": "A",
                    "surname": "B",
                    "emails": "a@b.example",
                }
            ]
        },
    )
    cursor = sync(app_connection, SELLER1, "contacts")[-1].cursor
    ms.control.clear_requests()

    idle = sync(app_connection, SELLER1, "contacts", cursor=cursor)

    assert records_of(idle) == []
    assert len(ms.control.requests()) == 1
    ms.control.seed(
        "microsoft",
        {
            "contacts": [
                {
                    "mailbox": SELLER1,
                    "folder": "Partners",
                    "given_name": "New",
                    "surname": "Person",
                    "emails": "new@b.example",
                }
            ]
        },
    )
    changed = contact_records(sync(app_connection, SELLER1, "contacts", cursor=idle[-1].cursor))
    assert [(r.given_name, r.folders) for r in changed] == [("New", ("Partners",))]


def test_the_folder_list_is_read_again_after_a_day(ms, app_connection):
    state = json.loads(sync(app_connection, SELLER1, "contacts")[-1].cursor)
    state["listed_at"] = (timezone.now() - dt.timedelta(hours=25)).isoformat()
    ms.control.clear_requests()

    sync(app_connection, SELLER1, "contacts", cursor=json.dumps(state))

    assert ms.control.requests(f"/users/{SELLER1}/contactFolders")[0]["path"].endswith("/contactFolders")


def test_a_removed_contact_is_a_deletion():
    assert contacts.contact_record({"id": "c1", "@removed": {"reason": "deleted"}}, folder="x") == Deletion(
        "contacts", "c1"
    )


# --- Sending -------------------------------------------------------------------------------------
def outgoing(**overrides) -> OutgoingMessage:
    fields = {
        "to": (Address(SELLER2, "Sofia Reyes"),),
        "cc": (Address("priya.patel@bluefinanalytics.example", "Priya Patel"),),
        "subject": "Proposal — next steps",
        "text": "Hi Sofia,\n\nHere is the proposal.\n\nSam",
        "html": "<p>Hi Sofia,</p><p>Here is the proposal.</p><p>Sam</p>",
        "sender_name": "Sam Seller",
        "message_id_header": "proposal-42@demo.example",
    }
    return OutgoingMessage(**{**fields, **overrides})


def test_sending_posts_our_mime_and_the_recipient_receives_our_message_id(ms, app_connection):
    record = MICROSOFT_ADAPTER.send(connection=app_connection, mailbox=mailbox(SELLER1), message=outgoing())

    (call,) = ms.control.requests("/sendMail")
    assert call["path"] == f"/graph/v1.0/users/{SELLER1}/sendMail"
    assert call["status"] == 202
    with GraphClient(app_connection, mailbox=SELLER2) as graph:
        inbox = list(
            graph.values(
                f"/users/{SELLER2}/mailFolders/inbox/messages",
                params={"$select": "internetMessageId,subject,from"},
            )
        )
    received = next(m for m in inbox if m["internetMessageId"] == "<proposal-42@demo.example>")
    assert received["subject"] == "Proposal — next steps"
    assert received["from"]["emailAddress"]["address"] == SELLER1
    assert isinstance(record, MailMessageRecord)
    assert record.message_id_header == "proposal-42@demo.example"
    assert record.sender == Address(SELLER1, "Sam Seller")
    assert record.labels == ("Sent Items",)
    assert record.snippet == "Hi Sofia, Here is the proposal. Sam"


def test_the_sent_copy_is_what_sync_later_sees_with_the_same_message_id(ms, app_connection):
    record = MICROSOFT_ADAPTER.send(connection=app_connection, mailbox=mailbox(SELLER1), message=outgoing())

    synced = [
        r for r in records_of(sync(app_connection, SELLER1, "email")) if isinstance(r, MailMessageRecord)
    ]
    copy = next(r for r in synced if r.message_id_header == "proposal-42@demo.example")
    assert copy.labels == ("Sent Items",)
    if record.external_id:  # looked up right after sending
        assert (record.external_id, record.thread_id) == (copy.external_id, copy.thread_id)


def test_a_message_without_an_id_gets_one_from_the_senders_domain(ms, app_connection):
    record = MICROSOFT_ADAPTER.send(
        connection=app_connection, mailbox=mailbox(SELLER1), message=outgoing(message_id_header="")
    )

    assert record.message_id_header.endswith("@demo.example")
    assert not record.message_id_header.startswith("<")


def test_the_mime_carries_recipients_threading_and_both_bodies():
    mime = build_mime(
        mailbox=mailbox(SELLER1),
        message=outgoing(bcc=(Address("boss@demo.example"),), in_reply_to="<orig-1@bluefin.example>"),
        message_id="proposal-42@demo.example",
        sent_at=dt.datetime(2026, 11, 21, 10, 0, tzinfo=dt.UTC),
    )

    parsed = message_from_bytes(mime, policy=default_policy)
    assert parsed["From"] == f"Sam Seller <{SELLER1}>"
    assert parsed["To"] == f"Sofia Reyes <{SELLER2}>"
    assert parsed["Bcc"] == "boss@demo.example"
    assert parsed["Message-ID"] == "<proposal-42@demo.example>"
    assert parsed["In-Reply-To"] == parsed["References"] == "<orig-1@bluefin.example>"
    assert parsed.get_body(("plain",)).get_content().startswith("Hi Sofia,")
    assert "<p>Hi Sofia,</p>" in parsed.get_body(("html",)).get_content()
    assert base64.b64decode(base64.b64encode(mime)) == mime


def test_sending_from_a_mailbox_outside_the_access_policy_is_refused(ms, app_connection):
    ms.control.seed(
        "microsoft", {"access_policies": [{"group_id": "Cadence sellers", "access_right": "RestrictAccess"}]}
    )

    with pytest.raises(MailboxAccessDenied):
        MICROSOFT_ADAPTER.send(connection=app_connection, mailbox=mailbox(ADMIN), message=outgoing())


# --- Scope and directory -------------------------------------------------------------------------
def test_scope_members_reads_the_security_groups_members(ms, app_connection):
    with GraphClient(app_connection) as graph:
        group = next(g for g in directory.security_groups(graph) if g.name == "Cadence sellers")
    app_connection.details = {
        **app_connection.details,
        "scope": {"kind": "security_group", "key": group.id, "name": group.name},
    }

    assert MICROSOFT_ADAPTER.scope_members(connection=app_connection) == frozenset({SELLER1, SELLER2})


def test_an_unscoped_connection_has_no_scope_members(ms, app_connection):
    assert MICROSOFT_ADAPTER.scope_members(connection=app_connection) is None
    assert ms.control.requests("/graph/") == []


def test_group_members_are_read_over_every_page(ms, app_connection):
    ms.control.seed("microsoft", {"generate_users": {"count": 150, "group": "Cadence sellers"}})

    with GraphClient(app_connection) as graph:
        group = next(g for g in directory.security_groups(graph) if g.name == "Cadence sellers")
        members = directory.group_members(graph, group.id)

    assert len(members) == 152
    assert {SELLER1, SELLER2} <= members
    assert len(ms.control.requests(f"/groups/{group.id}/members")) >= 2


def test_the_tenant_is_known_by_its_verified_domain(ms, app_connection):
    with GraphClient(app_connection) as graph:
        tenant = directory.tenant_info(graph)
        users = directory.user_addresses(graph)

    assert tenant.domain == "demo.example"
    assert tenant.name == "Demo Co"
    assert {ADMIN, SELLER1, SELLER2} <= set(users)


def test_the_adapter_registers_under_the_microsoft_provider():
    register_adapter(MICROSOFT_ADAPTER)

    assert get_adapter("microsoft") is MICROSOFT_ADAPTER
