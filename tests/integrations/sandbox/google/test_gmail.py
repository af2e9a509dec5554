"""Gmail through googleapiclient: profile, labels, messages in every format, threads, send, modify
and history — each answer checked against gmail.v1.json by the validating http."""

from __future__ import annotations

import base64
import email
import email.policy
from email.message import EmailMessage
from typing import Any

import pytest
from googleapiclient.errors import HttpError

from integrations.sandbox.google import control as google
from tests.integrations.sandbox.google.conftest import (
    ADMIN,
    GMAIL_METADATA,
    GMAIL_READONLY,
    SELLER1,
    SELLER2,
    access_token,
    raw,
)


def encode(message: EmailMessage) -> str:
    return base64.urlsafe_b64encode(message.as_bytes()).decode()


def compose(to: str, subject: str, body: str = "Hello", **headers: str) -> EmailMessage:
    message = EmailMessage()
    message["To"] = to
    message["Subject"] = subject
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


def all_ids(gmail: Any, **params: Any) -> list[str]:
    ids, token = [], None
    while True:
        page = gmail.users().messages().list(userId="me", pageToken=token, **params).execute()
        ids += [m["id"] for m in page.get("messages", [])]
        token = page.get("nextPageToken")
        if not token:
            return ids


def test_profile_and_labels(gmail: Any) -> None:
    profile = gmail.users().getProfile(userId="me").execute()
    assert profile["emailAddress"] == SELLER1
    assert profile["messagesTotal"] > 10 and int(profile["historyId"]) > 0

    labels = {label["id"]: label for label in gmail.users().labels().list(userId="me").execute()["labels"]}
    assert {"INBOX", "SENT", "DRAFT", "SPAM", "TRASH", "UNREAD", "IMPORTANT"} <= set(labels)
    assert labels["INBOX"]["type"] == "system"
    inbox = gmail.users().labels().get(userId="me", id="INBOX").execute()
    assert inbox["messagesTotal"] > 0 and inbox["threadsTotal"] > 0

    created = gmail.users().labels().create(userId="me", body={"name": "Cadence"}).execute()
    assert created["id"].startswith("Label_") and created["type"] == "user"
    with pytest.raises(HttpError) as exc:
        gmail.users().labels().create(userId="me", body={"name": "cadence"}).execute()
    assert exc.value.resp.status == 409


def test_list_is_newest_first_pages_and_filters(gmail: Any) -> None:
    everything = all_ids(gmail, maxResults=7)
    listed = gmail.users().messages().list(userId="me").execute()
    assert listed["resultSizeEstimate"] == len(everything) and len(set(everything)) == len(everything)
    dates = [
        int(gmail.users().messages().get(userId="me", id=i, format="minimal").execute()["internalDate"])
        for i in everything
    ]
    assert dates == sorted(dates, reverse=True)

    sent = all_ids(gmail, q="in:sent -in:chats")
    assert sent and set(sent) == set(all_ids(gmail, labelIds=["SENT"]))
    assert not set(all_ids(gmail, labelIds=["SENT", "INBOX"]))  # every label must match
    newest = dates[0] // 1000
    assert len(all_ids(gmail, q=f"after:{newest}")) == 1
    assert len(all_ids(gmail, q=f"before:{newest}")) == len(everything) - 1
    assert all_ids(gmail, q="after:2000/01/01") == everything
    assert all_ids(gmail, q="after:2100/01/01") == []


def test_get_in_every_format(gmail: Any) -> None:
    message_id = gmail.users().messages().list(userId="me", q="in:sent").execute()["messages"][0]["id"]
    minimal = gmail.users().messages().get(userId="me", id=message_id, format="minimal").execute()
    assert "payload" not in minimal and minimal["labelIds"] == ["SENT"]

    metadata = (
        gmail.users()
        .messages()
        .get(userId="me", id=message_id, format="metadata", metadataHeaders=["From", "subject"])
        .execute()
    )
    assert {h["name"] for h in metadata["payload"]["headers"]} == {"From", "Subject"}
    assert SELLER1 in next(h["value"] for h in metadata["payload"]["headers"] if h["name"] == "From")

    full = gmail.users().messages().get(userId="me", id=message_id).execute()
    payload = full["payload"]
    assert payload["partId"] == "" and payload["mimeType"] == "text/plain"
    text = base64.urlsafe_b64decode(payload["body"]["data"]).decode()
    assert text.strip().startswith(full["snippet"][:20].replace("&#39;", "'"))

    as_raw = gmail.users().messages().get(userId="me", id=message_id, format="raw").execute()
    parsed = email.message_from_bytes(base64.urlsafe_b64decode(as_raw["raw"]), policy=email.policy.default)
    assert parsed["Message-ID"] and parsed["From"].addresses[0].addr_spec == SELLER1
    assert {h["name"] for h in payload["headers"]} >= {"From", "To", "Subject", "Date", "Message-ID"}


def test_threads_hold_the_demo_conversations(gmail: Any) -> None:
    threads = gmail.users().threads().list(userId="me").execute()["threads"]
    longest = max(
        (gmail.users().threads().get(userId="me", id=t["id"], format="metadata").execute() for t in threads),
        key=lambda thread: len(thread["messages"]),
    )
    assert len(longest["messages"]) >= 2
    subjects = [
        next(h["value"] for h in m["payload"]["headers"] if h["name"] == "Subject")
        for m in longest["messages"]
    ]
    assert subjects[1] == f"Re: {subjects[0]}"
    with pytest.raises(HttpError) as exc:
        gmail.users().threads().get(userId="me", id="ffffffffffffffff").execute()
    assert exc.value.resp.status == 404


def test_send_delivers_threads_and_records_history(api: Any, gmail: Any) -> None:
    start = int(gmail.users().getProfile(userId="me").execute()["historyId"])
    other = api("gmail", SELLER2)
    other_start = int(other.users().getProfile(userId="me").execute()["historyId"])

    sent = (
        gmail.users()
        .messages()
        .send(userId="me", body={"raw": encode(compose(SELLER2, "Forecast", "Numbers attached."))})
        .execute()
    )
    assert sent["labelIds"] == ["SENT"]
    stored = gmail.users().messages().get(userId="me", id=sent["id"], format="metadata").execute()
    headers = {h["name"]: h["value"] for h in stored["payload"]["headers"]}
    assert SELLER1 in headers["From"] and headers["Message-ID"].startswith("<")

    inbox = other.users().messages().list(userId="me", q="subject:forecast").execute()["messages"]
    delivered = other.users().messages().get(userId="me", id=inbox[0]["id"]).execute()
    assert set(delivered["labelIds"]) == {"INBOX", "UNREAD"}

    reply = compose(
        SELLER1,
        "Re: Forecast",
        "Thanks!",
        In_Reply_To=headers["Message-ID"],
        References=headers["Message-ID"],
    )
    answered = other.users().messages().send(userId="me", body={"raw": encode(reply)}).execute()
    assert answered["threadId"] == inbox[0]["threadId"]
    thread = gmail.users().threads().get(userId="me", id=sent["threadId"]).execute()
    assert len(thread["messages"]) == 2  # the reply joined the sender's thread too

    history = gmail.users().history().list(userId="me", startHistoryId=start).execute()
    added = [h["messagesAdded"][0]["message"]["id"] for h in history["history"] if "messagesAdded" in h]
    assert sent["id"] in added and len(added) == 2
    assert history["historyId"] == gmail.users().getProfile(userId="me").execute()["historyId"]
    other_history = (
        other.users()
        .history()
        .list(userId="me", startHistoryId=other_start, historyTypes=["messageAdded"])
        .execute()
    )
    assert len(other_history["history"]) == 2


def test_send_into_an_existing_thread_by_thread_id(gmail: Any) -> None:
    thread_id = gmail.users().threads().list(userId="me").execute()["threads"][0]["id"]
    sent = (
        gmail.users()
        .messages()
        .send(
            userId="me",
            body={
                "raw": encode(compose("someone@bluefinanalytics.example", "Re: hi")),
                "threadId": thread_id,
            },
        )
        .execute()
    )
    assert sent["threadId"] == thread_id


def test_send_needs_a_recipient_and_raw(gmail: Any) -> None:
    with pytest.raises(HttpError) as exc:
        gmail.users().messages().send(userId="me", body={"raw": encode(compose("", "No one"))}).execute()
    assert exc.value.resp.status == 400
    with pytest.raises(HttpError) as exc:
        gmail.users().messages().send(userId="me", body={}).execute()
    assert exc.value.resp.status == 400


def test_modify_and_history_of_label_changes(gmail: Any) -> None:
    message_id = gmail.users().messages().list(userId="me", labelIds=["INBOX"]).execute()["messages"][0]["id"]
    start = gmail.users().getProfile(userId="me").execute()["historyId"]
    label = gmail.users().labels().create(userId="me", body={"name": "Synced"}).execute()
    changed = (
        gmail.users()
        .messages()
        .modify(
            userId="me",
            id=message_id,
            body={"addLabelIds": [label["id"], "UNREAD"], "removeLabelIds": ["INBOX"]},
        )
        .execute()
    )
    assert set(changed["labelIds"]) == {label["id"], "UNREAD"}
    history = gmail.users().history().list(userId="me", startHistoryId=start).execute()["history"]
    assert [sorted(h) for h in history] == [
        ["id", "labelsAdded", "messages"],
        ["id", "labelsRemoved", "messages"],
    ]
    assert set(history[0]["labelsAdded"][0]["labelIds"]) == {label["id"], "UNREAD"}
    only_removed = (
        gmail.users().history().list(userId="me", startHistoryId=start, historyTypes=["labelRemoved"])
    )
    assert len(only_removed.execute()["history"]) == 1
    by_label = gmail.users().history().list(userId="me", startHistoryId=start, labelId=label["id"]).execute()
    assert len(by_label["history"]) == 2
    other_label = gmail.users().history().list(userId="me", startHistoryId=start, labelId="SENT").execute()
    assert "history" not in other_label
    gmail.users().messages().trash(userId="me", id=message_id).execute()
    assert message_id not in all_ids(gmail)
    assert message_id in all_ids(gmail, includeSpamTrash=True)


def test_history_pages_and_idle_history_is_one_cheap_call(sandbox: Any, gmail: Any) -> None:
    start = gmail.users().getProfile(userId="me").execute()["historyId"]
    google.append_messages(sandbox.control, users=[SELLER1], count=7)
    ids, token = [], None
    while True:
        page = (
            gmail.users()
            .history()
            .list(userId="me", startHistoryId=start, maxResults=3, pageToken=token)
            .execute()
        )
        ids += [h["id"] for h in page.get("history", [])]
        token = page.get("nextPageToken")
        if not token:
            break
    assert len(ids) == 7 and ids == sorted(ids, key=int)
    google.clear_api_calls(sandbox.state)
    idle = gmail.users().history().list(userId="me", startHistoryId=page["historyId"]).execute()
    assert "history" not in idle and idle["historyId"] == page["historyId"]
    assert google.api_calls(sandbox.state, SELLER1) == {"gmail.users.history.list": 1}


def test_history_from_a_too_old_start_id_is_404(sandbox: Any, gmail: Any) -> None:
    start = gmail.users().getProfile(userId="me").execute()["historyId"]
    google.append_messages(sandbox.control, users=[SELLER1], count=2)
    google.expire_history(sandbox.control, [SELLER1])
    with pytest.raises(HttpError) as exc:
        gmail.users().history().list(userId="me", startHistoryId=start).execute()
    assert exc.value.resp.status == 404 and exc.value.error_details[0]["reason"] == "notFound"
    current = gmail.users().getProfile(userId="me").execute()["historyId"]
    assert "history" not in gmail.users().history().list(userId="me", startHistoryId=current).execute()


def test_seeded_messages_are_new_history(sandbox: Any, gmail: Any) -> None:
    start = gmail.users().getProfile(userId="me").execute()["historyId"]
    google.add_messages(
        sandbox.control,
        [
            {
                "mailbox": SELLER1,
                "from": "Ann Lee <ann@newco.example>",
                "to": [SELLER1],
                "subject": "Hello there",
                "body": "Plain text",
                "html": "<p>Rich <b>text</b></p>",
                "date": "2026-01-02T03:04:05Z",
                "message_id": "seeded-1@newco.example",
            }
        ],
    )
    history = gmail.users().history().list(userId="me", startHistoryId=start).execute()["history"]
    message_id = history[0]["messagesAdded"][0]["message"]["id"]
    full = gmail.users().messages().get(userId="me", id=message_id).execute()
    assert full["payload"]["mimeType"] == "multipart/alternative"
    assert [p["mimeType"] for p in full["payload"]["parts"]] == ["text/plain", "text/html"]
    assert [p["partId"] for p in full["payload"]["parts"]] == ["0", "1"]
    assert full["internalDate"] == "1767323045000" and full["labelIds"] == ["INBOX"]


def test_a_token_reaches_only_its_own_mailbox(sandbox: Any, gmail: Any) -> None:
    with pytest.raises(HttpError) as exc:
        gmail.users().getProfile(userId=SELLER2).execute()
    assert exc.value.resp.status == 403
    assert gmail.users().getProfile(userId=SELLER1).execute()["emailAddress"] == SELLER1


def test_missing_unknown_and_expired_tokens_get_invalid_credentials(sandbox: Any) -> None:
    for token in (None, "ya29.nonsense"):
        response = raw(sandbox, "GET", "/google/gmail/v1/users/me/profile", token)
        assert response.status_code == 401
        assert response.json()["error"]["errors"][0]["reason"] == "authError"
    token = access_token(sandbox, SELLER1, [GMAIL_READONLY])
    assert raw(sandbox, "GET", "/google/gmail/v1/users/me/profile", token).status_code == 200
    google.advance_clock(sandbox.state, 3600)
    assert raw(sandbox, "GET", "/google/gmail/v1/users/me/profile", token).status_code == 401


def test_scopes_are_checked_per_method(sandbox: Any) -> None:
    readonly = access_token(sandbox, SELLER1, [GMAIL_READONLY])
    response = raw(sandbox, "POST", "/google/gmail/v1/users/me/messages/send", readonly, json={"raw": "eA"})
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "Request had insufficient authentication scopes."
    assert response.json()["error"]["errors"][0]["reason"] == "insufficientPermissions"

    metadata = access_token(sandbox, SELLER1, [GMAIL_METADATA])
    assert raw(sandbox, "GET", "/google/gmail/v1/users/me/messages", metadata).status_code == 200
    assert raw(sandbox, "GET", "/google/gmail/v1/users/me/messages?q=in:sent", metadata).status_code == 403
    some_id = raw(sandbox, "GET", "/google/gmail/v1/users/me/messages", metadata).json()["messages"][0]["id"]
    assert raw(sandbox, "GET", f"/google/gmail/v1/users/me/messages/{some_id}", metadata).status_code == 403
    assert raw(sandbox, "GET", f"/google/gmail/v1/users/me/messages/{some_id}?format=metadata", metadata).ok
    admin_only = access_token(sandbox, ADMIN, [GMAIL_READONLY])
    assert raw(sandbox, "GET", "/google/calendar/v3/users/me/calendarList", admin_only).status_code == 403
