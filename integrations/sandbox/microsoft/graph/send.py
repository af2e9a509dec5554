"""``POST /users/{id}/sendMail``: JSON (``{"message": {...}, "saveToSentItems": true}``) or
``Content-Type: text/plain`` with a base64 MIME message. Answers 202 with an empty body.

The sent message lands in the sender's Sent Items (a MIME message keeps its ``Message-ID`` as
``internetMessageId``) and in the Inbox of every recipient who has a mailbox in the sandbox. Each
copy's ``conversationId`` is Exchange's: a reply (MIME ``In-Reply-To`` / ``References``) joins the
conversation of the message it answers when that mailbox holds it under the same topic; other
messages start their own (``mailboxes.thread_message``). The Sent Items copy is saved at once, or
after the sender's next reads with the ``sent_items_lag`` seed (Exchange saves it a moment after
the 202).
"""

# Reference: https://learn.microsoft.com/en-us/graph/api/user-sendmail
# Reference: https://learn.microsoft.com/en-us/graph/outlook-send-mime-message

from __future__ import annotations

import base64
import binascii
import email
import email.policy
import email.utils
import re
import secrets
from collections.abc import Sequence
from email.message import EmailMessage
from typing import Any

from integrations.sandbox.microsoft import mailboxes
from integrations.sandbox.microsoft.directory import User
from integrations.sandbox.microsoft.graph import errors
from integrations.sandbox.microsoft.graph.pipeline import Target
from integrations.sandbox.microsoft.items import Address, message_json
from integrations.sandbox.microsoft.times import now
from integrations.sandbox.routing import BadRequestBody, Request, Response, empty_response
from integrations.sandbox.state import SandboxState

USER = r"/graph/v1\.0/(?:me|users/(?P<user>[^/]+))"


def routes() -> list[tuple[str, str, Any, str]]:
    return [("POST", rf"{USER}/sendMail", send_mail, "mail.send")]


def send_mail(request: Request, state: SandboxState, target: Target) -> Response:
    sender: User = target.user  # type: ignore[assignment]
    if request.content_type == "text/plain":
        parsed = _from_mime(request, sender)
        save = True
    else:
        try:
            payload = request.json()
        except BadRequestBody:
            payload = None
        if not isinstance(payload, dict) or not isinstance(payload.get("message"), dict):
            return errors.bad_request(
                request, "Empty Payload. JSON content expected.", code="ErrorInvalidRequest"
            )
        parsed = _from_json(request, payload["message"], sender)
        save = payload.get("saveToSentItems", True) is not False
    if isinstance(parsed, Response):
        return parsed
    deliver(target, sender, parsed, save_to_sent=save)
    return empty_response(202)


def deliver(target: Target, sender: User, fields: dict[str, Any], *, save_to_sent: bool = True) -> None:
    store, directory = target.store, target.directory
    when = now()
    references: Sequence[str] = fields.get("references") or ()
    common = {**{k: v for k, v in fields.items() if k != "references"}, "received": when, "sent": when}
    if save_to_sent:
        box = store.mailbox(sender)
        mailboxes.file_sent_copy(store, box, message_json(**common, is_read=True), references)
    everyone: Sequence[Address] = (*fields["to"], *fields["cc"], *fields["bcc"])
    delivered: set[str] = set()
    for address, _name in everyone:
        user = directory.find_user(address)
        if user is None or not user.has_mailbox or user.id in delivered:
            continue
        delivered.add(user.id)
        box = store.mailbox(user)
        # Recipients' copies do not show who was Bcc'd.
        copy = message_json(**{**common, "bcc": ()}, is_read=False)
        mailboxes.thread_message(box, copy, references)
        mailboxes.add_message(store, box, copy, box.well_known["inbox"])


def _from_json(request: Request, message: dict[str, Any], sender: User) -> dict[str, Any] | Response:
    try:
        to = _addresses(message.get("toRecipients"))
        cc = _addresses(message.get("ccRecipients"))
        bcc = _addresses(message.get("bccRecipients"))
        reply_to = _addresses(message.get("replyTo"))
    except ValueError as exc:
        return errors.bad_request(request, str(exc), code="ErrorInvalidRecipients")
    if not (to or cc or bcc):
        return errors.bad_request(request, "At least one recipient is not valid., A message can't be sent "
                                  "because it contains no recipients.", code="ErrorInvalidRecipients")  # fmt: skip
    body = message.get("body") or {}
    content_type = str(body.get("contentType") or "text").lower()
    if content_type not in ("text", "html"):
        return errors.bad_request(request, "Cannot process input of abstract type "
                                  "'Microsoft.OutlookServices.ItemBody'", code="RequestBodyRead")  # fmt: skip
    domain = sender.mail.rpartition("@")[2] or "sandbox.example"
    return {
        "sender": (sender.mail, sender.display_name),
        "to": to,
        "cc": cc,
        "bcc": bcc,
        "reply_to": reply_to,
        "subject": str(message.get("subject") or ""),
        "body": str(body.get("content") or ""),
        "content_type": content_type,
        "internet_message_id": f"<{secrets.token_hex(16).upper()}@{domain}>",
    }


def _addresses(value: Any) -> list[Address]:
    found: list[Address] = []
    for entry in value or []:
        address = (
            ((entry or {}).get("emailAddress") or {}).get("address") if isinstance(entry, dict) else None
        )
        if not isinstance(address, str) or "@" not in address:
            raise ValueError(f"At least one recipient is not valid., Recipient '{address}' is not resolved.")
        found.append((address.strip().lower(), str(entry["emailAddress"].get("name") or "")))
    return found


def _from_mime(request: Request, sender: User) -> dict[str, Any] | Response:
    invalid = errors.bad_request(request, "Invalid base64 string for MIME content.",
                                 code="ErrorMimeContentInvalidBase64String")  # fmt: skip
    compact = b"".join(request.body.split())
    if not compact:
        return errors.bad_request(request, "Empty MIME content.", code="ErrorMimeContentInvalid")
    try:
        raw = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return invalid
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    if not isinstance(parsed, EmailMessage) or not parsed.keys():
        return errors.bad_request(request, "Invalid MIME content.", code="ErrorMimeContentInvalid")

    def pairs(header: str) -> list[Address]:
        values = [str(v) for v in parsed.get_all(header, [])]
        return [(addr.lower(), name) for name, addr in email.utils.getaddresses(values) if addr]

    to, cc, bcc = pairs("To"), pairs("Cc"), pairs("Bcc")
    if not (to or cc or bcc):
        return errors.bad_request(request, "At least one recipient is not valid., A message can't be sent "
                                  "because it contains no recipients.", code="ErrorInvalidRecipients")  # fmt: skip
    part = parsed.get_body(preferencelist=("html", "plain"))
    content = part.get_content() if part is not None else ""
    content_type = "html" if part is not None and part.get_content_subtype() == "html" else "text"
    domain = sender.mail.rpartition("@")[2] or "sandbox.example"
    message_id = str(parsed.get("Message-ID") or "").strip() or f"<{secrets.token_hex(16).upper()}@{domain}>"
    # The message answered first, then the thread newest first.
    references = _message_ids(parsed.get("In-Reply-To")) + _message_ids(parsed.get("References"))[::-1]
    # Exchange stamps its own sentDateTime on submission, whatever the MIME Date says.
    return {
        # Exchange sends as the mailbox owner whatever the MIME From says (no send-as rights here).
        "sender": (sender.mail, sender.display_name),
        "to": to,
        "cc": cc,
        "bcc": bcc,
        "reply_to": pairs("Reply-To"),
        "subject": str(parsed.get("Subject") or ""),
        "body": content if isinstance(content, str) else "",
        "content_type": content_type,
        "internet_message_id": message_id,
        "references": references,
    }


def _message_ids(value: Any) -> list[str]:
    return re.findall(r"<([^<>\s]+)>", str(value or ""))
