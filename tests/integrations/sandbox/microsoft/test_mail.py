"""Graph mail: folders, messages, and the per-folder messages delta (paging to a deltaLink,
incremental rounds with created/updated/@removed items, expiry as 410)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from integrations.sandbox.microsoft import control as ms
from tests.integrations.sandbox.microsoft.conftest import SELLER1, Graph

INBOX_DELTA = f"/users/{SELLER1}/mailFolders/inbox/messages/delta"
MESSAGE_KEYS = {
    "@odata.etag", "id", "createdDateTime", "lastModifiedDateTime", "changeKey", "categories",
    "receivedDateTime", "sentDateTime", "hasAttachments", "internetMessageId", "subject", "bodyPreview",
    "importance", "parentFolderId", "conversationId", "conversationIndex", "isDeliveryReceiptRequested",
    "isReadReceiptRequested", "isRead", "isDraft", "webLink", "inferenceClassification", "body", "sender",
    "from", "toRecipients", "ccRecipients", "bccRecipients", "replyTo", "flag",
}  # fmt: skip


def drain(graph: Graph, url: str, **kwargs: Any) -> tuple[list[dict[str, Any]], str, int]:
    """Follow nextLinks to the deltaLink: (items, deltaLink, pages)."""
    items: list[dict[str, Any]] = []
    pages = 0
    while True:
        body = graph.ok(url, **kwargs)
        pages += 1
        items += body["value"]
        if "@odata.deltaLink" in body:
            return items, body["@odata.deltaLink"], pages
        assert "$skiptoken=" in body["@odata.nextLink"]
        url = body["@odata.nextLink"]


def test_well_known_folders_are_listed_and_addressable(app_graph: Graph) -> None:
    folders = app_graph.ok(f"/users/{SELLER1}/mailFolders")["value"]
    names = {f["displayName"] for f in folders}
    inbox = app_graph.ok(f"/users/{SELLER1}/mailFolders/Inbox")

    assert {"Inbox", "Sent Items", "Drafts", "Deleted Items", "Archive"} <= names
    assert inbox["id"] in {f["id"] for f in folders}
    assert inbox["totalItemCount"] == len(ms.messages(app_graph.sandbox.state, SELLER1, "inbox")) > 0
    assert app_graph.get(f"/users/{SELLER1}/mailFolders/nope").status_code == 404


def test_demo_messages_have_graphs_shape_and_land_in_the_owners_folders(app_graph: Graph) -> None:
    sent = app_graph.ok(f"/users/{SELLER1}/mailFolders/sentitems/messages", params={"$top": "50"})["value"]
    inbox = app_graph.ok(f"/users/{SELLER1}/mailFolders/inbox/messages", params={"$top": "50"})["value"]

    assert set(sent[0]) == MESSAGE_KEYS
    assert all(m["from"]["emailAddress"]["address"] == SELLER1 for m in sent)
    assert all(m["from"]["emailAddress"]["address"] != SELLER1 for m in inbox)
    message = inbox[0]
    assert message["internetMessageId"].startswith("<") and message["internetMessageId"].endswith(">")
    assert message["body"]["contentType"] == "text" and message["bodyPreview"]
    assert app_graph.ok(f"/users/{SELLER1}/messages/{message['id']}")["id"] == message["id"]
    assert (
        app_graph.get(f"/users/{SELLER1}/messages/AAMkAGnope").json()["error"]["code"] == "ErrorItemNotFound"
    )


def test_message_lists_filter_by_internet_message_id_and_page_with_skip(app_graph: Graph) -> None:
    (first, *_) = ms.messages(app_graph.sandbox.state, SELLER1, "sentitems")
    query = {
        "$filter": f"internetMessageId eq '{first['internetMessageId']}'",
        "$select": "id,conversationId",
    }

    (found,) = app_graph.ok(f"/users/{SELLER1}/mailFolders/sentitems/messages", params=query)["value"]
    page = app_graph.ok(f"/users/{SELLER1}/messages", params={"$top": "5"})

    assert found == {
        "@odata.etag": first["@odata.etag"],
        "id": first["id"],
        "conversationId": first["conversationId"],
    }
    assert len(page["value"]) == 5 and "$skip=5" in page["@odata.nextLink"]


def test_delta_pages_to_a_delta_link_then_reports_only_changes(app_graph: Graph) -> None:
    state = app_graph.sandbox.state
    ms.generate_mailbox(app_graph.sandbox.control, SELLER1, count=60, days=10)
    inbox_ids = {m["id"] for m in ms.messages(state, SELLER1, "inbox")}

    items, delta_link, pages = drain(app_graph, INBOX_DELTA, headers={"Prefer": "odata.maxpagesize=20"})

    assert {i["id"] for i in items} == inbox_ids and pages == -(-len(inbox_ids) // 20)
    assert all(i["@odata.type"] == "#microsoft.graph.message" for i in items)
    assert "$deltatoken=" in delta_link

    idle = app_graph.ok(delta_link)
    assert idle["value"] == [] and "@odata.deltaLink" in idle

    new_id = ms.add_message(state, {"mailbox": SELLER1, "from": "Ana <ana@bluefinanalytics.example>",
                                    "to": SELLER1, "subject": "New", "body": "Hi", "message_id": "new-1@x.example"})  # fmt: skip
    gone = sorted(inbox_ids)[0]
    ms.delete_message(state, SELLER1, gone)
    read = sorted(inbox_ids)[1]
    ms.update_message(state, SELLER1, read, {"isRead": False})

    changes, _, _ = drain(app_graph, idle["@odata.deltaLink"])

    by_id = {c["id"]: c for c in changes}
    assert set(by_id) == {new_id, gone, read}
    assert by_id[gone] == {
        "@odata.type": "#microsoft.graph.message",
        "id": gone,
        "@removed": {"reason": "deleted"},
    }
    assert by_id[new_id]["subject"] == "New" and by_id[read]["isRead"] is False


def test_delta_keeps_select_and_filter_in_its_tokens(app_graph: Graph) -> None:
    ms.generate_mailbox(app_graph.sandbox.control, SELLER1, count=40, days=40)
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    query = {"$select": "subject,receivedDateTime", "$filter": f"receivedDateTime ge {since}"}

    items, delta_link, pages = drain(
        app_graph, INBOX_DELTA, params=query, headers={"Prefer": "odata.maxpagesize=3"}
    )

    assert pages > 1 and all(
        set(i) == {"@odata.type", "@odata.etag", "id", "subject", "receivedDateTime"} for i in items
    )
    assert all(i["receivedDateTime"] >= since for i in items)
    assert parse_qs(urlsplit(delta_link).query).keys() == {"$deltatoken"}


def test_prefer_text_bodies_and_page_size_are_applied(app_graph: Graph) -> None:
    ms.add_message(app_graph.sandbox.state, {"mailbox": SELLER1, "from": "x@y.example", "to": SELLER1,
                                             "subject": "Html", "body": "<p>Hello <b>there</b></p>",
                                             "content_type": "html"})  # fmt: skip
    response = app_graph.get(
        INBOX_DELTA, headers={"Prefer": 'odata.maxpagesize=500, outlook.body-content-type="text"'}
    )

    assert response.headers["Preference-Applied"] == "odata.maxpagesize=500"
    html = next(i for i in response.json()["value"] if i["subject"] == "Html")
    assert html["body"] == {"contentType": "text", "content": "Hello there"}


def test_a_filtered_initial_delta_returns_at_most_the_cap(app_graph: Graph) -> None:
    control = app_graph.sandbox.control
    ms.generate_mailbox(control, SELLER1, count=100, days=5)
    control.seed("microsoft", {"delta_filter_max_messages": 30})
    query = {"$filter": "receivedDateTime ge 2000-01-01T00:00:00Z"}

    items, _, _ = drain(app_graph, INBOX_DELTA, params=query, headers={"Prefer": "odata.maxpagesize=1000"})

    assert len(items) == 30


@pytest.mark.parametrize(("status", "code"), [(410, "syncStateNotFound"), (400, "resyncRequired")])
def test_expired_delta_tokens_ask_for_a_full_resync(app_graph: Graph, status: int, code: str) -> None:
    control = app_graph.sandbox.control
    _, delta_link, _ = drain(app_graph, INBOX_DELTA, params={"$select": "subject"})
    control.seed("microsoft", {"expire_delta_tokens": True, "delta_expiry": {"status": status, "code": code}})

    response = app_graph.get(delta_link)

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    if status == 410:
        location = response.headers["Location"]
        assert parse_qs(urlsplit(location).query, keep_blank_values=True) == {
            "$select": ["subject"],
            "$deltatoken": [""],
        }
        restarted, _, _ = drain(app_graph, location)
        assert restarted and set(restarted[0]) == {"@odata.type", "@odata.etag", "id", "subject"}


def test_a_garbled_delta_token_is_gone_too(app_graph: Graph) -> None:
    response = app_graph.get(INBOX_DELTA, params={"$deltatoken": "garbage"})

    assert response.status_code == 410
    assert response.json()["error"]["message"].startswith("The sync state generation is not found.")


def test_delta_without_a_folder_is_unsupported(app_graph: Graph) -> None:
    response = app_graph.get(f"/users/{SELLER1}/messages/delta")

    assert response.status_code == 400
    assert (
        "Change tracking is not supported against 'microsoft.graph.message'"
        in response.json()["error"]["message"]
    )


def test_moving_and_deleting_through_graph_show_up_in_the_delta(app_graph: Graph) -> None:
    _, delta_link, _ = drain(app_graph, INBOX_DELTA)
    inbox = ms.messages(app_graph.sandbox.state, SELLER1, "inbox")

    moved = app_graph.post(
        f"/users/{SELLER1}/messages/{inbox[0]['id']}/move", json={"destinationId": "archive"}
    )
    deleted = app_graph.request("DELETE", f"/users/{SELLER1}/messages/{inbox[1]['id']}")
    changes, _, _ = drain(app_graph, delta_link)

    assert moved.status_code == 201 and moved.json()["id"] != inbox[0]["id"] and deleted.status_code == 204
    assert {c["id"] for c in changes if "@removed" in c} == {inbox[0]["id"], inbox[1]["id"]}
