"""Google's ``MailboxAdapter`` for the mailbox sync engine and for sending (B9, B13).

Admin-managed connections (``details["mode"] == "dwd"``) reach each mailbox with a token minted
for that user through domain-wide delegation, scoped to the app the kind belongs to; user-managed
ones use the user's own OAuth tokens. The provider-side scope the admin chose (a Google group or
an org unit) is read from the directory with the admin's sign-in.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from django.utils import timezone

from integrations.exceptions import ProviderError
from integrations.google import directory
from integrations.google.auth import ConnectionCredentials
from integrations.google.client import GoogleClient
from integrations.google.dwd import DelegatedCredentials
from integrations.google.fetch import calendar, gmail, people
from integrations.google.limits import GmailQuota
from integrations.google.provider import APP_SCOPES, GOOGLE
from integrations.models import Connection
from integrations.records import APP_OF_KIND, Address, Kind, MailMessageRecord, SyncPage
from integrations.sync.fanout import MailboxFanOut
from integrations.sync.source import MailboxRef, OutgoingMessage

logger = logging.getLogger(__name__)

FETCHERS = {"email": gmail.fetch, "calendar": calendar.fetch, "contacts": people.fetch}
SNIPPET_LENGTH = 200


def is_delegated(connection: Connection) -> bool:
    return connection.details.get("mode") == "dwd"


def mailbox_client(*, connection: Connection, mailbox: MailboxRef, kind: Kind) -> GoogleClient:
    """A client acting in ``mailbox`` with just what ``kind`` needs."""
    connection.require_active_organization()
    if is_delegated(connection):
        credentials = DelegatedCredentials(
            connection=connection, address=mailbox.address, scopes=APP_SCOPES[APP_OF_KIND[kind]]
        )
    else:
        credentials = ConnectionCredentials(connection)
    quota = GmailQuota(mailbox.address) if kind == "email" else None
    return GoogleClient(credentials, quota=quota)


def admin_client(connection: Connection) -> GoogleClient:
    """A client signed in as the admin who connected (directory reads)."""
    connection.require_active_organization()
    return GoogleClient(ConnectionCredentials(connection))


class GoogleAdapter(MailboxFanOut):
    provider = GOOGLE.key

    def fetch(
        self, *, connection: Connection, mailbox: MailboxRef, kind: Kind, cursor: str, since: dt.datetime
    ) -> Iterator[SyncPage]:
        client = mailbox_client(connection=connection, mailbox=mailbox, kind=kind)
        yield from FETCHERS[kind](client, cursor=cursor, since=since)

    # Reference: https://developers.google.com/workspace/gmail/api/guides/sending
    def send(
        self, *, connection: Connection, mailbox: MailboxRef, message: OutgoingMessage
    ) -> MailMessageRecord:
        client = mailbox_client(connection=connection, mailbox=mailbox, kind="email")
        sent_at = timezone.now()
        mime = build_mime(sender=mailbox.address, message=message, sent_at=sent_at)
        thread_id = message.thread_id
        if not thread_id and message.in_reply_to:
            thread_id = _thread_of(client, message.in_reply_to)
        raw = base64.urlsafe_b64encode(mime.as_bytes()).decode("ascii")
        sent = client.gmail_send(raw=raw, thread_id=thread_id)
        logger.info("google.mail.sent", extra={"connection_id": connection.pk, "user_id": mailbox.user_id})
        return MailMessageRecord(
            external_id=str(sent["id"]),
            thread_id=str(sent.get("threadId") or thread_id or sent["id"]),
            message_id_header=message.message_id_header,
            subject=message.subject,
            snippet=" ".join(message.text.split())[:SNIPPET_LENGTH],
            sender=Address(email=mailbox.address.lower(), name=message.sender_name),
            sent_at=sent_at,
            to=_lower(message.to),
            cc=_lower(message.cc),
            bcc=_lower(message.bcc),
            body_text=message.text,
            labels=("SENT",),
        )

    # Reference: https://support.google.com/mail/answer/7190 (rfc822msgid:, in:sent)
    # Reference: https://developers.google.com/workspace/gmail/api/reference/rest/v1/users.messages/list
    def find_sent(
        self, *, connection: Connection, mailbox: MailboxRef, message_id_header: str
    ) -> MailMessageRecord | None:
        wanted = message_id_header.strip().strip("<>").strip()
        if not wanted:
            return None
        client = mailbox_client(connection=connection, mailbox=mailbox, kind="email")
        # SENT only: a message received with that Message-ID is not one this mailbox sent. Trash
        # included: a sent message the seller deleted since was still sent.
        listing = client.gmail_messages_list(query=f"rfc822msgid:{wanted} in:sent", include_spam_trash=True)
        ids = [str(m["id"]) for m in listing.get("messages") or []]
        fetched = client.gmail_messages_get(ids) if ids else {}
        for message_id in ids:
            if message_id not in fetched:
                continue  # deleted for good between the list and the get
            record = gmail.message_record(fetched[message_id])
            if record.message_id_header.lower() == wanted.lower() and "SENT" in record.labels:
                return record
        return None

    def verified_domains(self, *, connection: Connection) -> list[str] | None:
        """The Workspace's verified domains (admin-managed only; None for a user's own connection)."""
        if not is_delegated(connection):
            return None
        return directory.verified_domains(admin_client(connection))

    def scope_members(self, *, connection: Connection) -> frozenset[str] | None:
        scope = connection.details.get("scope") or {}
        if not is_delegated(connection) or not scope.get("kind"):
            return None
        return directory.scope_members(admin_client(connection), kind=scope["kind"], key=str(scope["key"]))


def build_mime(*, sender: str, message: OutgoingMessage, sent_at: dt.datetime) -> EmailMessage:
    """The RFC 5322 message Gmail sends: text, with an HTML alternative when there is one."""
    mime = EmailMessage()
    mime["From"] = formataddr((message.sender_name, sender)) if message.sender_name else sender
    for header, addresses in (("To", message.to), ("Cc", message.cc), ("Bcc", message.bcc)):
        if addresses:
            mime[header] = ", ".join(formataddr((a.name, a.email)) if a.name else a.email for a in addresses)
    mime["Subject"] = message.subject
    mime["Date"] = format_datetime(sent_at)
    if message.message_id_header:
        mime["Message-ID"] = f"<{message.message_id_header}>"
    chain = message.reference_chain()
    if message.in_reply_to:
        mime["In-Reply-To"] = f"<{message.in_reply_to.strip().strip('<>')}>"
    if chain:
        mime["References"] = " ".join(f"<{i}>" for i in chain)
    mime.set_content(message.text)
    if message.html:
        mime.add_alternative(message.html, subtype="html")
    return mime


def _thread_of(client: GoogleClient, message_id_header: str) -> str:
    """The thread of the message answered, so Gmail files the reply with it ("" when not found)."""
    try:
        listing = client.gmail_messages_list(query=f"rfc822msgid:{message_id_header.strip().strip('<>')}")
    except ProviderError:
        return ""
    found = listing.get("messages") or []
    return str(found[0].get("threadId") or "") if found else ""


def _lower(addresses: tuple[Address, ...]) -> tuple[Address, ...]:
    return tuple(Address(email=a.email.lower(), name=a.name) for a in addresses)


GOOGLE_ADAPTER = GoogleAdapter()
