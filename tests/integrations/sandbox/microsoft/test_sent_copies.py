"""Exchange's handling of a sent message the Salesflow engine relies on: the conversation a MIME
message joins (by In-Reply-To / References and topic, never by subject alone), and the moment
after sendMail when its Sent Items copy is not there yet (the ``sent_items_lag`` seed)."""

from __future__ import annotations

import base64
from email.message import EmailMessage

from integrations.sandbox.microsoft import control as ms
from tests.integrations.sandbox.microsoft.conftest import SELLER1, SELLER2, Graph

SENT = f"/users/{SELLER1}/mailFolders/sentitems/messages"
SENT_DELTA = f"/users/{SELLER1}/mailFolders/sentitems/messages/delta"


def send(graph: Graph, message_id: str, subject: str, **headers: str) -> None:
    message = EmailMessage()
    message["To"] = f"Sofia Reyes <{SELLER2}>"
    message["Subject"] = subject
    message["Message-ID"] = f"<{message_id}>"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content("Hello")
    response = graph.post(
        f"/users/{SELLER1}/sendMail",
        data=base64.b64encode(message.as_bytes()),
        headers={"Content-Type": "text/plain"},
    )
    assert response.status_code == 202, response.text


def by_id(graph: Graph, message_id: str) -> list[dict]:
    query = {"$filter": f"internetMessageId eq '<{message_id}>'", "$select": "id,conversationId"}
    return graph.ok(SENT, params=query)["value"]


def conversations(graph: Graph, user: str, folder: str) -> dict[str, str]:
    return {
        m["internetMessageId"]: m["conversationId"] for m in ms.messages(graph.sandbox.state, user, folder)
    }


def test_a_reply_joins_the_conversation_it_answers_and_same_subjects_alone_do_not(app_graph: Graph) -> None:
    send(app_graph, "a-1@demo.example", "Quick question")
    send(app_graph, "b-1@demo.example", "Quick question")  # another contact, the same subject
    send(app_graph, "a-2@demo.example", "RE: Quick question", In_Reply_To="<a-1@demo.example>")
    # In-Reply-To names nothing in the mailbox; References does (read newest first).
    send(app_graph, "a-3@demo.example", "Re: Quick question", In_Reply_To="<gone@x.example>",
         References="<a-1@demo.example> <a-2@demo.example>")  # fmt: skip
    send(app_graph, "a-4@demo.example", "New pricing", In_Reply_To="<a-1@demo.example>")

    for mailbox, folder in ((SELLER1, "sentitems"), (SELLER2, "inbox")):
        seen = conversations(app_graph, mailbox, folder)
        first = seen["<a-1@demo.example>"]
        assert seen["<a-2@demo.example>"] == seen["<a-3@demo.example>"] == first
        assert seen["<b-1@demo.example>"] != first
        assert seen["<a-4@demo.example>"] not in (first, seen["<b-1@demo.example>"])  # a new topic


def test_the_sent_items_copy_is_missed_by_the_senders_next_reads_with_the_lag(app_graph: Graph) -> None:
    ms.set_sent_items_lag(app_graph.sandbox.control, 2)
    everything = {"Prefer": "odata.maxpagesize=1000"}
    delta_link = app_graph.ok(SENT_DELTA, headers=everything)["@odata.deltaLink"]  # before sending

    send(app_graph, "a-1@demo.example", "Quick question")

    assert "<a-1@demo.example>" in conversations(app_graph, SELLER2, "inbox")  # delivered at once
    app_graph.ok(f"/users/{SELLER2}/mailFolders/inbox/messages")  # another mailbox's read: no count
    assert by_id(app_graph, "a-1@demo.example") == []  # first read
    assert app_graph.ok(delta_link)["value"] == []  # second read
    [copy] = by_id(app_graph, "a-1@demo.example")  # third: saved
    assert [m["id"] for m in app_graph.ok(delta_link)["value"]] == [copy["id"]]


def test_held_copies_are_saved_when_released_and_the_lag_can_be_turned_off(app_graph: Graph) -> None:
    control = app_graph.sandbox.control
    ms.set_sent_items_lag(control, 50)
    send(app_graph, "a-1@demo.example", "Quick question")
    assert by_id(app_graph, "a-1@demo.example") == []

    ms.release_sent_items(control)
    ms.set_sent_items_lag(control, 0)
    send(app_graph, "a-2@demo.example", "Re: Quick question", In_Reply_To="<a-1@demo.example>")

    [first] = by_id(app_graph, "a-1@demo.example")
    [second] = by_id(app_graph, "a-2@demo.example")
    assert second["conversationId"] == first["conversationId"]
