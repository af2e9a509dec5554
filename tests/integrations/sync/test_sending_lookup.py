"""Exactly-once sending support (issue 13, points 1 and 5): a message sent with a Message-ID Cadence
chose is found again in the sender's Sent mail — Gmail's ``rfc822msgid:`` search, Graph's Sent
Items by ``internetMessageId`` — and put on the timeline, never from another mailbox; threaded
follow-ups carry In-Reply-To/References and stay in the Gmail thread / Exchange conversation. The
real Gmail and Graph clients against the provider sandbox, both providers through the same
``integrations.sending`` calls."""

from __future__ import annotations

from collections.abc import Iterator
from email import message_from_bytes
from email.policy import default as default_policy
from typing import Any

import pytest
from django.utils import timezone

from copilot.models import Activity
from engage.services.email import EmailNotSent, email_find_sent, email_send
from integrations import governance
from integrations.google.fetch import source as google_source
from integrations.microsoft import auth
from integrations.microsoft.fetch import delta
from integrations.microsoft.fetch import source as microsoft_source
from integrations.models import ConnectionApp
from integrations.records import Address, MailMessageRecord
from integrations.sandbox.google import control as google
from integrations.sandbox.microsoft import control as ms
from integrations.sending import (
    EMAIL_DISCONNECTED,
    SendingUnavailable,
    find_sent_message,
    send_message,
)
from integrations.sync.source import MailboxRef, OutgoingMessage
from tests.integrations.sync.mailbox_helpers import (
    SELLER1,
    SELLER2,
    Demo,
    microsoft_connection,
    sandbox_google_connection,
)

CUSTOMER = "ava.nguyen@bluefinanalytics.example"
OTHER_CUSTOMER = "priya.patel@bluefinanalytics.example"
STEP_1 = "sf-41-1-a9c3@demo.example"  # as the Salesflow engine makes them: enrolment, step, hash


def outgoing(message_id: str, **more: Any) -> OutgoingMessage:
    fields: dict[str, Any] = {
        "to": (Address(CUSTOMER, "Ava Nguyen"),),
        "subject": "Quick question",
        "text": "Hi Ava,\n\nDo you have ten minutes this week?\n\nSam",
        "sender_name": "Sam Seller",
        "message_id_header": message_id,
    }
    return OutgoingMessage(**{**fields, **more})


@pytest.fixture(autouse=True)
def _fresh_microsoft_caches() -> Iterator[None]:
    auth.reset_caches()
    delta.reset_batch_support()
    yield
    auth.reset_caches()
    delta.reset_batch_support()


@pytest.fixture(params=["google", "microsoft"])
def provider(request: Any, sandbox: Any, settings: Any, demo: Demo) -> str:
    """Demo Co's mailboxes served by an admin-managed connection of each provider in turn."""
    if request.param == "google":
        sandbox_google_connection(sandbox, demo)
    else:
        microsoft_connection(sandbox, settings, demo)
    return request.param


def seed_message(sandbox: Any, provider: str, **spec: Any) -> None:
    """A message filed by the sandbox's control, as if another mail client had sent or received it."""
    if provider == "google":
        google.add_messages(sandbox.control, [spec])
    else:
        ms.add_messages(sandbox.control, [spec])


def gmail_lists(sandbox: Any) -> list[dict[str, Any]]:
    """The ``messages.list`` requests Gmail received."""
    return [
        r for r in sandbox.control.requests("/gmail/v1/users/me/messages") if r["path"].endswith("/messages")
    ]


# --- Finding a sent message ---------------------------------------------------------------------
def test_a_message_sent_with_our_message_id_is_found_in_sent_mail_and_on_the_timeline_once(
    sandbox, demo, provider, recorder
):
    sent = send_message(user=demo.seller1, message=outgoing(STEP_1))
    recorder.batches.clear()

    found = find_sent_message(user=demo.seller1, message_id_header=f"<{STEP_1}>")

    assert isinstance(found, MailMessageRecord)
    assert (found.external_id, found.thread_id) == (sent.external_id, sent.thread_id)
    assert found.external_id and found.thread_id
    assert found.message_id_header == STEP_1
    assert found.subject == "Quick question"
    assert found.sender.email == SELLER1
    assert [a.email for a in found.to] == [CUSTOMER]
    assert found.labels == (("SENT",) if provider == "google" else ("Sent Items",))
    assert "ten minutes" in (found.body_text or "")  # the whole message, as the sync reads it
    [(context, records)] = recorder.batches
    assert context.sent_from_app and context.kind == "email" and context.mailbox == SELLER1
    assert records == [found]
    # The send and the lookup delivered the same message: one email on the timeline.
    assert Activity.objects.filter(organization=demo.org, subject="Quick question").count() == 1


def test_a_message_id_never_sent_is_not_found_and_nothing_reaches_the_timeline(
    sandbox, demo, provider, recorder
):
    send_message(user=demo.seller1, message=outgoing(STEP_1))
    recorder.batches.clear()

    assert find_sent_message(user=demo.seller1, message_id_header="sf-41-2-77d0@demo.example") is None
    assert recorder.batches == []


def test_the_same_message_id_in_another_mailbox_or_received_is_not_this_mailboxs_sent_mail(
    sandbox, demo, provider
):
    # Another client sent a message with that Message-ID from seller2's mailbox, and someone
    # mailed seller1 a message carrying it: neither is a message seller1 sent.
    seed_message(sandbox, provider, mailbox=SELLER2, to=[CUSTOMER], subject="Quick question",
                 body="Hello", message_id=STEP_1, **{"from": f"Sofia Reyes <{SELLER2}>"})  # fmt: skip
    seed_message(sandbox, provider, mailbox=SELLER1, to=[SELLER1], subject="Quick question",
                 body="Hello", message_id=STEP_1, **{"from": f"Ava Nguyen <{CUSTOMER}>"})  # fmt: skip

    assert find_sent_message(user=demo.seller1, message_id_header=STEP_1) is None
    # Where it was sent, the same lookup finds it.
    found = find_sent_message(user=demo.seller2, message_id_header=STEP_1)
    assert found is not None and found.sender.email == SELLER2


def test_a_sent_message_the_seller_deleted_since_is_still_found_in_gmail(sandbox, demo, recorder):
    sandbox_google_connection(sandbox, demo)
    sent = send_message(user=demo.seller1, message=outgoing(STEP_1))
    with sandbox.state.lock:
        box = google.store(sandbox.state).mailbox(SELLER1)
        box.modify(box.messages[sent.external_id], ["TRASH"], ["INBOX"])

    found = find_sent_message(user=demo.seller1, message_id_header=STEP_1)

    assert found is not None and found.external_id == sent.external_id
    assert "TRASH" in found.labels


def test_gmail_is_asked_with_its_rfc822msgid_search_among_sent_mail(sandbox, demo):
    sandbox_google_connection(sandbox, demo)
    send_message(user=demo.seller1, message=outgoing(STEP_1))
    sandbox.control.clear_requests()

    find_sent_message(user=demo.seller1, message_id_header=STEP_1)

    [listing] = gmail_lists(sandbox)
    assert listing["query"]["q"] == [f"rfc822msgid:{STEP_1} in:sent"]
    assert listing["query"]["includeSpamTrash"] == ["true"]


def test_graph_is_asked_for_sent_items_by_internet_message_id(sandbox, settings, demo):
    microsoft_connection(sandbox, settings, demo)
    send_message(user=demo.seller1, message=outgoing(STEP_1))
    sandbox.control.clear_requests()

    find_sent_message(user=demo.seller1, message_id_header=STEP_1)

    [lookup] = sandbox.control.requests("/mailFolders/sentitems/messages")
    assert lookup["path"] == f"/graph/v1.0/users/{SELLER1}/mailFolders/sentitems/messages"
    assert lookup["query"]["$filter"] == [f"internetMessageId eq '<{STEP_1}>'"]


# --- Exchange saves the Sent Items copy a moment after sendMail -------------------------------------
def test_right_after_sending_the_sent_items_copy_may_not_be_there_yet(sandbox, settings, demo, recorder):
    microsoft_connection(sandbox, settings, demo)
    ms.set_sent_items_lag(sandbox.control, 2)  # the next two reads of seller1's mail miss it

    sent = send_message(user=demo.seller1, message=outgoing(STEP_1, to=(Address(SELLER2),)))

    assert sent.external_id == ""  # the look-up right after sendMail was the first read
    delivered = ms.messages(sandbox.state, SELLER2, "inbox")
    assert [m["internetMessageId"] for m in delivered if m["subject"] == "Quick question"] == [f"<{STEP_1}>"]
    assert find_sent_message(user=demo.seller1, message_id_header=STEP_1) is None  # second read
    found = find_sent_message(user=demo.seller1, message_id_header=STEP_1)  # third: saved now
    assert found is not None and found.message_id_header == STEP_1
    assert [
        m["id"] for m in ms.messages(sandbox.state, SELLER1, "sentitems") if m["subject"] == "Quick question"
    ] == [found.external_id]


def test_held_sent_items_copies_can_be_released_at_once(sandbox, settings, demo):
    microsoft_connection(sandbox, settings, demo)
    ms.set_sent_items_lag(sandbox.control, 1000)
    send_message(user=demo.seller1, message=outgoing(STEP_1))
    assert find_sent_message(user=demo.seller1, message_id_header=STEP_1) is None

    ms.release_sent_items(sandbox.control)

    found = find_sent_message(user=demo.seller1, message_id_header=STEP_1)
    assert found is not None and found.labels == ("Sent Items",)


# --- Threaded follow-ups ----------------------------------------------------------------------------
def test_a_threaded_follow_up_carries_the_chain_and_stays_in_the_thread(sandbox, demo, provider):
    first = send_message(user=demo.seller1, message=outgoing(STEP_1))
    # The same first email to another contact: the same subject, another thread.
    other = send_message(
        user=demo.seller1,
        message=outgoing("sf-42-1-b1e2@demo.example", to=(Address(OTHER_CUSTOMER, "Priya Patel"),)),
    )
    follow_up = outgoing("sf-41-2-c4d5@demo.example", subject="Re: Quick question", in_reply_to=STEP_1)
    second = send_message(user=demo.seller1, message=follow_up)
    third = send_message(
        user=demo.seller1,
        message=outgoing(
            "sf-41-3-e6f7@demo.example",
            subject="Re: Quick question",
            in_reply_to="sf-41-2-c4d5@demo.example",
            references=(STEP_1,),
        ),
    )

    second = find_sent_message(user=demo.seller1, message_id_header="sf-41-2-c4d5@demo.example") or second
    third = find_sent_message(user=demo.seller1, message_id_header="sf-41-3-e6f7@demo.example") or third
    assert first.thread_id != other.thread_id
    assert second.thread_id == third.thread_id == first.thread_id
    if provider == "google":  # Gmail keeps the MIME it was given (Graph shows no such headers)
        with sandbox.state.lock:
            box = google.store(sandbox.state).mailbox(SELLER1)
            stored = box.messages[third.external_id]
        assert stored.header("In-Reply-To") == "<sf-41-2-c4d5@demo.example>"
        assert stored.header("References") == f"<{STEP_1}> <sf-41-2-c4d5@demo.example>"


def test_a_follow_up_with_a_new_subject_starts_a_new_conversation_in_exchange(sandbox, settings, demo):
    microsoft_connection(sandbox, settings, demo)
    first = send_message(user=demo.seller1, message=outgoing(STEP_1))

    renamed = send_message(
        user=demo.seller1,
        message=outgoing("sf-41-2-c4d5@demo.example", subject="Pricing for Bluefin", in_reply_to=STEP_1),
    )

    assert renamed.thread_id and renamed.thread_id != first.thread_id


def test_the_recipients_copy_of_a_follow_up_joins_their_copy_of_the_first_email(sandbox, settings, demo):
    microsoft_connection(sandbox, settings, demo)
    to_sofia = {"to": (Address(SELLER2, "Sofia Reyes"),)}
    send_message(user=demo.seller1, message=outgoing(STEP_1, **to_sofia))
    send_message(user=demo.seller1, message=outgoing("sf-42-1-b1e2@demo.example", **to_sofia))

    send_message(
        user=demo.seller1,
        message=outgoing(
            "sf-41-2-c4d5@demo.example", subject="RE: Quick question", in_reply_to=STEP_1, **to_sofia
        ),
    )

    inbox = {
        m["internetMessageId"]: m["conversationId"] for m in ms.messages(sandbox.state, SELLER2, "inbox")
    }
    assert inbox["<sf-41-2-c4d5@demo.example>"] == inbox[f"<{STEP_1}>"]
    assert inbox["<sf-42-1-b1e2@demo.example>"] != inbox[f"<{STEP_1}>"]


def test_a_known_gmail_thread_saves_the_search_for_it(sandbox, demo):
    sandbox_google_connection(sandbox, demo)
    first = send_message(user=demo.seller1, message=outgoing(STEP_1))
    google.clear_api_calls(sandbox.state)

    second = send_message(
        user=demo.seller1,
        message=outgoing(
            "sf-41-2-c4d5@demo.example",
            subject="Re: Quick question",
            in_reply_to=STEP_1,
            thread_id=first.thread_id,
        ),
    )

    assert second.thread_id == first.thread_id
    calls = google.api_calls(sandbox.state, SELLER1)
    assert calls.get("gmail.users.messages.send") == 1
    assert "gmail.users.messages.list" not in calls


def test_without_the_thread_gmail_is_searched_for_the_message_answered(sandbox, demo):
    sandbox_google_connection(sandbox, demo)
    first = send_message(user=demo.seller1, message=outgoing(STEP_1))
    sandbox.control.clear_requests()

    second = send_message(
        user=demo.seller1,
        message=outgoing("sf-41-2-c4d5@demo.example", subject="Re: Quick question", in_reply_to=STEP_1),
    )

    [search] = gmail_lists(sandbox)
    assert search["query"]["q"] == [f"rfc822msgid:{STEP_1}"]
    [send] = sandbox.control.requests("/gmail/v1/users/me/messages/send")
    assert send["body"]["threadId"] == first.thread_id == second.thread_id


@pytest.mark.parametrize("build", ["google", "microsoft"])
def test_both_mime_builders_write_the_reference_chain_oldest_first(build):
    message = outgoing(
        "sf-41-3-e6f7@demo.example",
        subject="Re: Quick question",
        in_reply_to="<sf-41-2-c4d5@demo.example>",
        references=(STEP_1, "sf-41-2-c4d5@demo.example"),  # a repeat of in_reply_to is written once
    )
    when = timezone.now()
    if build == "google":
        raw = google_source.build_mime(sender=SELLER1, message=message, sent_at=when).as_bytes()
    else:
        raw = microsoft_source.build_mime(
            mailbox=MailboxRef(user_id=1, address=SELLER1),
            message=message,
            message_id="x@demo.example",
            sent_at=when,
        )

    parsed = message_from_bytes(raw, policy=default_policy)
    assert parsed["In-Reply-To"] == "<sf-41-2-c4d5@demo.example>"
    assert parsed["References"] == f"<{STEP_1}> <sf-41-2-c4d5@demo.example>"


# --- The engage service -----------------------------------------------------------------------------
def test_the_engage_service_finds_what_it_sent(sandbox, demo, provider):
    sent = email_send(user=demo.seller1, message=outgoing(STEP_1))

    found = email_find_sent(user=demo.seller1, message_id_header=STEP_1)

    assert found is not None and found.external_id == sent.external_id
    assert email_find_sent(user=demo.seller1, message_id_header="sf-99-1-0000@demo.example") is None


def test_the_engage_service_says_why_the_mailbox_cannot_be_asked(sandbox, demo):
    connection = sandbox_google_connection(sandbox, demo)
    email_send(user=demo.seller1, message=outgoing(STEP_1))
    sandbox.control.inject_fault("/gmail/v1/users/me/messages$", status=503, times=None)

    with pytest.raises(EmailNotSent) as unavailable:
        email_find_sent(user=demo.seller1, message_id_header=STEP_1)

    assert "could not be asked whether the email went" in str(unavailable.value)
    assert "Nothing was sent again" in str(unavailable.value)
    sandbox.control.clear_faults()
    governance.app_disconnect(
        connection_app=ConnectionApp.objects.get(connection=connection, app="email"), actor=demo.admin
    )
    with pytest.raises(SendingUnavailable) as refused:
        find_sent_message(user=demo.seller1, message_id_header=STEP_1)
    assert refused.value.reason == EMAIL_DISCONNECTED
    with pytest.raises(EmailNotSent) as disconnected:
        email_find_sent(user=demo.seller1, message_id_header=STEP_1)
    assert str(disconnected.value) == EMAIL_DISCONNECTED
