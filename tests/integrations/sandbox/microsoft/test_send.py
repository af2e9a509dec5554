"""sendMail in both forms: JSON, and base64 MIME (``Content-Type: text/plain``)."""

from __future__ import annotations

import base64
from email.message import EmailMessage

from integrations.sandbox.microsoft import control as ms
from tests.integrations.sandbox.microsoft.conftest import SELLER1, SELLER2, Graph


def mime(message_id: str = "<cadence-42@demo.example>") -> bytes:
    message = EmailMessage()
    message["From"] = f"Sam Seller <{SELLER1}>"
    message["To"] = "Ana Smith <ana.smith@bluefinanalytics.example>"
    message["Cc"] = f"Sofia Reyes <{SELLER2}>"
    message["Subject"] = "Proposal"
    message["Message-ID"] = message_id
    message.set_content("Please find the proposal below.")
    return base64.b64encode(message.as_bytes())


def test_json_send_is_accepted_saved_to_sent_items_and_delivered_in_the_tenant(app_graph: Graph) -> None:
    state = app_graph.sandbox.state
    payload = {
        "message": {
            "subject": "Lunch?",
            "body": {"contentType": "Text", "content": "Noon at the usual place."},
            "toRecipients": [{"emailAddress": {"address": SELLER2, "name": "Sofia"}}],
            "bccRecipients": [{"emailAddress": {"address": "boss@bluefinanalytics.example"}}],
        },
        "saveToSentItems": True,
    }

    response = app_graph.post(f"/users/{SELLER1}/sendMail", json=payload)

    assert response.status_code == 202 and response.content == b""
    (sent,) = [m for m in ms.messages(state, SELLER1, "sentitems") if m["subject"] == "Lunch?"]
    (received,) = [m for m in ms.messages(state, SELLER2, "inbox") if m["subject"] == "Lunch?"]
    assert sent["internetMessageId"] == received["internetMessageId"]
    assert sent["bccRecipients"] and not received["bccRecipients"]
    assert received["isRead"] is False and sent["from"]["emailAddress"]["address"] == SELLER1


def test_mime_send_keeps_the_message_id(app_graph: Graph) -> None:
    state = app_graph.sandbox.state

    response = app_graph.post(
        f"/users/{SELLER1}/sendMail", data=mime(), headers={"Content-Type": "text/plain"}
    )

    assert response.status_code == 202
    (sent,) = [m for m in ms.messages(state, SELLER1, "sentitems") if m["subject"] == "Proposal"]
    assert sent["internetMessageId"] == "<cadence-42@demo.example>"
    assert [r["emailAddress"]["address"] for r in sent["toRecipients"]] == [
        "ana.smith@bluefinanalytics.example"
    ]
    assert sent["body"]["content"].strip() == "Please find the proposal below."
    assert any(
        m["internetMessageId"] == "<cadence-42@demo.example>" for m in ms.messages(state, SELLER2, "inbox")
    )


def test_bad_base64_mime_is_refused(app_graph: Graph) -> None:
    response = app_graph.post(
        f"/users/{SELLER1}/sendMail", data=b"not base64 !!", headers={"Content-Type": "text/plain"}
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["message"]) == (
        "ErrorMimeContentInvalidBase64String",
        "Invalid base64 string for MIME content.",
    )


def test_a_message_without_recipients_is_refused(app_graph: Graph) -> None:
    response = app_graph.post(
        f"/users/{SELLER1}/sendMail", json={"message": {"subject": "x", "body": {"content": "y"}}}
    )

    assert response.status_code == 400 and response.json()["error"]["code"] == "ErrorInvalidRecipients"


def test_sending_needs_mail_send(graph: object) -> None:
    tokens = ms.user_tokens(graph.state, SELLER1, scopes=["Mail.Read"])  # type: ignore[attr-defined]

    response = Graph(graph, tokens.access_token).post(
        "/me/sendMail", data=mime(), headers={"Content-Type": "text/plain"}
    )

    assert response.status_code == 403 and response.json()["error"]["code"] == "ErrorAccessDenied"
