"""Microsoft 365 for the mailbox sync engine and for sending (``MailboxAdapter``).

Registered from ``IntegrationsConfig.ready`` as ``MICROSOFT_ADAPTER``. Sending posts the MIME
message itself (``sendMail`` with a base64 ``text/plain`` body), so the Message-ID Cadence made
survives and the timeline can match the Sent Items copy when sync sees it. A threaded follow-up
carries ``In-Reply-To`` / ``References`` and Exchange keeps it in the conversation of the message
it answers (same topic: the caller writes "Re: …"); ``OutgoingMessage.thread_id`` is Gmail's and
is not used here. ``find_sent`` reads Sent Items by ``internetMessageId``: Exchange saves that copy
a moment after ``sendMail`` answers, so a lookup right after sending may not find it yet.
"""

# Reference: https://learn.microsoft.com/en-us/graph/api/user-sendmail

from __future__ import annotations

import base64
import datetime as dt
import logging
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr, make_msgid

from django.utils import timezone

from integrations.exceptions import ProviderError
from integrations.microsoft import checks, directory
from integrations.microsoft.client import GraphClient
from integrations.microsoft.fetch import calendar, contacts, mail
from integrations.microsoft.provider import MICROSOFT
from integrations.models import Connection
from integrations.records import Address, Kind, MailMessageRecord, SyncPage
from integrations.sync.fanout import MailboxFanOut
from integrations.sync.source import MailboxRef, OutgoingMessage

logger = logging.getLogger(__name__)

FETCHERS = {"email": mail.fetch, "calendar": calendar.fetch, "contacts": contacts.fetch}
SENT_FOLDER = "Sent Items"


class MicrosoftAdapter(MailboxFanOut):
    provider = MICROSOFT.key

    def fetch(
        self, *, connection: Connection, mailbox: MailboxRef, kind: Kind, cursor: str, since: dt.datetime
    ) -> Iterator[SyncPage]:
        fetcher = FETCHERS[kind]
        with GraphClient(connection, mailbox=mailbox.address) as client:
            yield from fetcher(client, cursor=cursor, since=since)

    def send(
        self, *, connection: Connection, mailbox: MailboxRef, message: OutgoingMessage
    ) -> MailMessageRecord:
        message_id = message.message_id_header or make_msgid(domain=mailbox.address.rpartition("@")[2])
        message_id = message_id.strip().strip("<>")
        sent_at = timezone.now()
        mime = build_mime(mailbox=mailbox, message=message, message_id=message_id, sent_at=sent_at)
        log_extra = {"connection_id": connection.pk, "user_id": mailbox.user_id}
        with GraphClient(connection, mailbox=mailbox.address) as client:
            client.send_mail_mime(base64.b64encode(mime))
            logger.info("microsoft.mail.sent", extra=log_extra)
            external_id, thread_id = _sent_copy(client, message_id)
        return MailMessageRecord(
            external_id=external_id,
            thread_id=thread_id,
            message_id_header=message_id,
            subject=message.subject,
            snippet=" ".join(message.text.split())[: mail.SNIPPET_CHARS],
            sender=Address(email=mailbox.address.lower(), name=message.sender_name),
            sent_at=sent_at,
            to=message.to,
            cc=message.cc,
            bcc=message.bcc,
            body_text=message.text,
            labels=(SENT_FOLDER,),
        )

    # Reference: https://learn.microsoft.com/en-us/graph/api/user-list-messages
    def find_sent(
        self, *, connection: Connection, mailbox: MailboxRef, message_id_header: str
    ) -> MailMessageRecord | None:
        wanted = message_id_header.strip().strip("<>").strip()
        if not wanted:
            return None
        with GraphClient(connection, mailbox=mailbox.address) as client:
            body = client.sent_items(filter=_message_id_filter(wanted), select=mail.SELECT, top=1)
        for item in (body or {}).get("value") or ():
            record = mail.message_record(item, folder=SENT_FOLDER)
            if isinstance(record, MailMessageRecord):
                return record
        return None

    def directory_refresh(self, *, connection: Connection) -> None:
        """Re-read and store the tenant's verified domains and own users (admin-managed only):
        the fan-out calls this hourly, so a new hire becomes eligible and a leaver stops being."""
        if (connection.details or {}).get("mode") != "app":
            return
        with GraphClient(connection) as client:
            checks.tenant_directory_store(connection=connection, client=client)

    def scope_members(self, *, connection: Connection) -> frozenset[str] | None:
        scope = (connection.details or {}).get("scope") or {}
        if scope.get("kind") != "security_group" or not scope.get("key"):
            return None
        with GraphClient(connection) as client:
            return directory.group_members(client, str(scope["key"]))


def build_mime(
    *, mailbox: MailboxRef, message: OutgoingMessage, message_id: str, sent_at: dt.datetime
) -> bytes:
    mime = EmailMessage(policy=SMTP)
    mime["From"] = formataddr((message.sender_name, mailbox.address))
    for header, recipients in (("To", message.to), ("Cc", message.cc), ("Bcc", message.bcc)):
        if recipients:
            mime[header] = ", ".join(formataddr((a.name, a.email)) for a in recipients)
    mime["Subject"] = message.subject
    mime["Date"] = format_datetime(sent_at)
    mime["Message-ID"] = f"<{message_id}>"
    chain = message.reference_chain()
    if message.in_reply_to:
        mime["In-Reply-To"] = f"<{message.in_reply_to.strip().strip('<>')}>"
    if chain:
        mime["References"] = " ".join(f"<{i}>" for i in chain)
    mime.set_content(message.text)
    if message.html:
        mime.add_alternative(message.html, subtype="html")
    return mime.as_bytes()


def _sent_copy(client: GraphClient, message_id: str) -> tuple[str, str]:
    """(id, conversationId) of the Sent Items copy when Exchange already saved it, else ("", "").
    One request; the copy often appears a moment later and sync picks it up then."""
    try:
        body = client.sent_items(filter=_message_id_filter(message_id), select="id,conversationId", top=1)
    except ProviderError as exc:
        logger.info("microsoft.mail.sent_copy_unknown", extra={"code": exc.code})
        return "", ""
    found = ((body or {}).get("value") or [{}])[0]
    return str(found.get("id") or ""), str(found.get("conversationId") or "")


def _message_id_filter(message_id: str) -> str:
    """``$filter`` for the message with this Message-ID (OData doubles a quote inside a string)."""
    quoted = f"<{message_id}>".replace("'", "''")
    return f"internetMessageId eq '{quoted}'"


MICROSOFT_ADAPTER = MicrosoftAdapter()
