"""Mail entering mailboxes: ``messages.send`` from raw MIME (with delivery to recipients who have a
sandbox mailbox), and provider-neutral messages the seed API, the demo and the generator add.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import email.utils
import secrets
from collections.abc import Sequence

from integrations.sandbox.google import mime
from integrations.sandbox.google.errors import invalid_argument
from integrations.sandbox.google.mailbox import MailMessage
from integrations.sandbox.google.mime import Address
from integrations.sandbox.google.store import GoogleStore, User


def send_message(store: GoogleStore, user: User, data: bytes, *, thread_id: str | None = None) -> MailMessage:
    """What Gmail does with ``messages.send``: stamp From/Message-ID/Date, file the message in the
    sender's SENT (threaded by ``threadId`` or its references) and deliver it to the recipients."""
    message = mime.parse(data)
    recipients = [a for header in ("To", "Cc", "Bcc") for a in mime.addresses(message.get(header))]
    if not recipients:
        raise invalid_argument("Recipient address required")
    now = store.clock.now()
    sender = (mime.addresses(message.get("From")) or [("", "")])[0]
    name = sender[0] if sender[1] == user.email and sender[0] else user.full_name
    del message["From"]
    message["From"] = email.utils.formataddr((name, user.email))
    if not message.get("Message-ID"):
        message["Message-ID"] = f"<CA+sbx{secrets.token_hex(12)}@mail.gmail.com>"
    if not message.get("Date"):
        message["Date"] = email.utils.formatdate(now)
    raw = message.as_bytes(policy=email.policy.SMTP)
    headers = [(key, str(value)) for key, value in message.items()]
    text = mime.text_of(message)
    references = mime.message_ids(message.get("In-Reply-To")) + mime.message_ids(message.get("References"))
    emails = [a[1] for a in recipients]
    labels = ["SENT", "INBOX", "UNREAD"] if user.email in emails else ["SENT"]
    sent = store.mailbox(user.email).add_message(
        headers=headers,
        text=text,
        raw=raw,
        label_ids=labels,
        internal_date=int(now * 1000),
        thread_id=thread_id,
        references=references,
    )
    del message["Bcc"]
    delivered_raw = message.as_bytes(policy=email.policy.SMTP)
    delivered_headers = [(key, str(value)) for key, value in message.items()]
    for address in dict.fromkeys(emails):
        if address != user.email and store.user(address) is not None:
            store.mailbox(address).add_message(
                headers=delivered_headers,
                text=text,
                raw=delivered_raw,
                label_ids=["INBOX", "UNREAD"],
                internal_date=int(now * 1000),
                references=references,
            )
    return sent


def neutral_headers(
    *,
    sender: Address,
    to: Sequence[Address],
    cc: Sequence[Address],
    subject: str,
    sent_at: dt.datetime,
    message_id: str,
    in_reply_to: str = "",
    references: Sequence[str] = (),
) -> list[tuple[str, str]]:
    headers = [
        ("MIME-Version", "1.0"),
        ("From", mime.format_addresses([sender])),
        ("To", mime.format_addresses(to)),
    ]
    if cc:
        headers.append(("Cc", mime.format_addresses(cc)))
    headers += [("Subject", subject), ("Date", mime.header_date(sent_at)), ("Message-ID", f"<{message_id}>")]
    if in_reply_to:
        headers.append(("In-Reply-To", f"<{in_reply_to}>"))
    if references:
        headers.append(("References", " ".join(f"<{r}>" for r in references)))
    return headers


def add_neutral_message(
    store: GoogleStore,
    mailbox: str,
    *,
    sender: Address,
    to: Sequence[Address],
    cc: Sequence[Address] = (),
    subject: str,
    body: str,
    html: str | None = None,
    sent_at: dt.datetime,
    message_id: str | None = None,
    in_reply_to: str = "",
    references: Sequence[str] = (),
    labels: Sequence[str] | None = None,
    record: bool = True,
) -> MailMessage:
    """File a message given field by field; SENT when the mailbox owner sent it, else INBOX."""
    owner = mailbox.lower()
    message_id = message_id or f"sbx-{secrets.token_hex(8)}@mail.sandbox.example"
    refs = [*references, in_reply_to] if in_reply_to and in_reply_to not in references else list(references)
    headers = neutral_headers(
        sender=sender,
        to=to,
        cc=cc,
        subject=subject,
        sent_at=sent_at,
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=refs,
    )
    if labels is None:
        labels = ["SENT"] if sender[1].lower() == owner else ["INBOX"]
    return store.mailbox(owner).add_message(
        headers=headers,
        text=body,
        html=html,
        label_ids=labels,
        internal_date=int(sent_at.timestamp() * 1000),
        references=list(reversed(refs)),
        record=record,
    )


def add_raw_message(
    store: GoogleStore, mailbox: str, data: bytes, *, labels: Sequence[str] | None = None
) -> MailMessage:
    """File a message given as RFC 5322 bytes, kept byte for byte (any charset, any transfer
    encoding), like Gmail's ``messages.insert`` with ``raw``; dated by its Date header."""
    # Reference: https://developers.google.com/workspace/gmail/api/reference/rest/v1/users.messages/insert
    owner = mailbox.lower()
    message = mime.parse_fast(data)
    headers = [(key, mime.decoded(value)) for key, value in message.items()]
    try:
        sent_at = email.utils.parsedate_to_datetime(str(message.get("Date", "")))
    except (TypeError, ValueError):
        sent_at = store.clock.now_dt()
    sender = (mime.addresses(mime.decoded(message.get("From", ""))) or [("", "")])[0]
    if labels is None:
        labels = ["SENT"] if sender[1] == owner else ["INBOX"]
    references = mime.message_ids(message.get("In-Reply-To")) + mime.message_ids(message.get("References"))
    return store.mailbox(owner).add_message(
        headers=headers,
        text=mime.text_of(message),
        raw=data,
        label_ids=labels,
        internal_date=int(sent_at.timestamp() * 1000),
        references=references,
    )
