"""What a mail/calendar provider package implements for the sync engine and for sending.

Google (``integrations/google/fetch/source.py``) and Microsoft
(``integrations/microsoft/fetch/source.py``) each supply one source through their provider's
registration (``register_provider(provider, source=…)``, ``integrations.base``). The
engine (``integrations.sync.engine``) owns leases, retries, cursors and scheduling; a source only
talks to its provider and turns answers into ``integrations.records``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from integrations.models import Connection
from integrations.records import Address, Kind, MailMessageRecord, SyncPage


@dataclass(frozen=True)
class MailboxRef:
    """One Cadence user's mailbox under a connection."""

    user_id: int
    address: str  # the user's address at the provider (== their Cadence email, A2)


@dataclass(frozen=True)
class OutgoingMessage:
    """One email to send. A threaded follow-up names the message it answers (``in_reply_to``)
    and the thread before it (``references``); the adapters write ``In-Reply-To`` and
    ``References`` (the chain, then ``in_reply_to``), Gmail files it in the thread (``thread_id``
    when the caller knows it, else looked up), Exchange keeps the conversation from the headers.
    The subject ("Re: …", the same topic as the thread) is the caller's to write: both providers
    start a new thread or conversation when the subject changes."""

    to: tuple[Address, ...]
    subject: str
    text: str
    html: str = ""
    cc: tuple[Address, ...] = ()
    bcc: tuple[Address, ...] = ()
    sender_name: str = ""
    message_id_header: str = ""  # without <>; the engine's send facade generates it
    in_reply_to: str = ""  # Message-ID (without <>) of the message answered, if any
    references: tuple[str, ...] = ()  # Message-IDs (without <>) of the thread before it, oldest first
    thread_id: str = ""  # the provider's thread of the message answered (Gmail threadId), if known

    def reference_chain(self) -> tuple[str, ...]:
        """The ``References`` header's ids, oldest first: ``references``, then ``in_reply_to``."""
        ids = [i.strip().strip("<>").strip() for i in (*self.references, self.in_reply_to)]
        return tuple(dict.fromkeys(i for i in ids if i))


class MailboxSource(Protocol):
    provider: str  # integrations.models.Provider value

    def fetch(
        self, *, connection: Connection, mailbox: MailboxRef, kind: Kind, cursor: str, since: dt.datetime
    ) -> Iterator[SyncPage]:
        """Changes of ``kind`` in ``mailbox`` after ``cursor``, one page at a time.

        ``cursor == ""`` means a full sync of everything since ``since`` (the first-sync window).
        Every page carries the cursor to store once its records are ingested; the last page's
        cursor is the one the next incremental round starts from. An incremental round with no
        changes must cost exactly one provider request.

        Raises ``CursorExpired`` (the engine clears the cursor and calls again with ""),
        ``ProviderAuthError`` (credentials refused after one refresh: the connection needs a
        reconnect), ``MailboxAccessDenied`` (this mailbox only), ``ProviderThrottled`` /
        ``ProviderUnavailable`` (back off; ``retry_after`` when the provider said), ``ProviderError``.
        """
        ...

    def send(
        self, *, connection: Connection, mailbox: MailboxRef, message: OutgoingMessage
    ) -> MailMessageRecord:
        """Send ``message`` from ``mailbox``; the record describes the sent copy (for the timeline)."""
        ...

    def find_sent(
        self, *, connection: Connection, mailbox: MailboxRef, message_id_header: str
    ) -> MailMessageRecord | None:
        """The message ``mailbox`` sent with this Message-ID (without <>), read from its Sent mail
        (Gmail: ``rfc822msgid:`` among SENT, trash included; Graph: Sent Items by
        ``internetMessageId``); None when the mailbox has not sent it — or, on Graph, when
        Exchange has not saved the Sent Items copy yet (it does a moment after sending).
        Another mailbox's messages, and mail received with that Message-ID, are never found.
        Provider errors raise as for ``fetch``."""
        ...

    def scope_members(self, *, connection: Connection) -> frozenset[str] | None:
        """Lower-cased addresses inside the provider-side scope the admin chose at connect (Google
        group or org unit, Microsoft security group), read from the directory; None when the
        connection is not scoped (the whole organisation)."""
        ...
