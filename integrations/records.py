"""Provider-neutral records: what a provider package hands to the feature apps (mail, calendar,
address book, CRM).

Gmail and Graph (and Google Calendar and Outlook calendars, People and Outlook contacts) are turned
into these by their provider packages, Salesforce Leads/Contacts/Accounts into ``CrmRecord``; the
feature app's handler decides what to store (DESIGN.md › Sync engine shape). Nothing here knows
a provider's JSON.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["email", "calendar", "contacts"]
KINDS: tuple[Kind, ...] = ("email", "calendar", "contacts")
# Which governed app each kind belongs to (B1): address books travel with the calendar app.
APP_OF_KIND: dict[str, str] = {"email": "email", "calendar": "calendar", "contacts": "calendar"}
APPS = ("email", "calendar")


def kinds_of_app(app: str) -> tuple[str, ...]:
    """The sync kinds an app governs: email → ("email",), calendar → ("calendar", "contacts")."""
    return tuple(kind for kind, owner in APP_OF_KIND.items() if owner == app)


@dataclass(frozen=True)
class Address:
    email: str  # lower-cased by the provider package
    name: str = ""


@dataclass(frozen=True)
class Attendee:
    email: str
    name: str = ""
    response: str = ""  # "accepted" | "declined" | "tentative" | "needsAction" | ""
    is_organizer: bool = False
    is_resource: bool = False


@dataclass(frozen=True)
class MailMessageRecord:
    external_id: str  # the provider's id of this copy, unique within the mailbox
    thread_id: str  # provider thread / conversation id
    message_id_header: str  # RFC 5322 Message-ID without <>, "" when absent: the team-wide dedupe key
    subject: str
    snippet: str
    sender: Address
    sent_at: dt.datetime  # aware
    to: tuple[Address, ...] = ()
    cc: tuple[Address, ...] = ()
    bcc: tuple[Address, ...] = ()
    body_text: str | None = None  # plain text when fetched; the feature app decides whether to keep it
    labels: tuple[str, ...] = ()  # provider labels / folder names, e.g. ("SENT",) or ("Inbox",)
    is_draft: bool = False

    @property
    def participants(self) -> tuple[Address, ...]:
        return (self.sender, *self.to, *self.cc, *self.bcc)


@dataclass(frozen=True)
class CalendarEventRecord:
    external_id: str  # the provider's event id in this calendar
    ical_uid: str  # the team-wide dedupe key ("" falls back to external_id)
    subject: str
    start: dt.datetime  # aware; all-day events start at midnight UTC
    end: dt.datetime
    organizer: Address
    attendees: tuple[Attendee, ...] = ()
    all_day: bool = False
    location: str = ""
    description: str = ""  # plain text
    conference_url: str = ""  # the provider's own join link (hangoutLink, onlineMeeting.joinUrl)
    is_private: bool = False  # visibility private/confidential, sensitivity private (D4)
    cancelled: bool = False
    web_link: str = ""
    updated_at: dt.datetime | None = None


@dataclass(frozen=True)
class AddressBookContactRecord:
    external_id: str
    display_name: str = ""
    given_name: str = ""
    family_name: str = ""
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    company: str = ""
    title: str = ""
    folders: tuple[str, ...] = ()  # contact folder / contact group names (D6)


@dataclass(frozen=True)
class Deletion:
    """The provider reports this item gone from the mailbox/calendar/address book."""

    kind: Kind
    external_id: str


Record = MailMessageRecord | CalendarEventRecord | AddressBookContactRecord | Deletion


@dataclass(frozen=True)
class MailboxContext:
    """Whose data a batch of records is: passed with every batch to the ingestion handler."""

    organization_id: int
    connection_id: int
    provider: str  # integrations.models.Provider value
    user_id: int  # the Cadence user whose mailbox / calendar / address book this is
    mailbox: str  # that user's address at the provider
    kind: Kind
    full_resync: bool = False  # this batch belongs to a full (re)sync, not an incremental round
    sent_from_app: bool = False  # a message Cadence itself just sent (B9)


@dataclass
class SyncPage:
    """One page of changes. The engine ingests ``records`` and then stores ``cursor`` (when not
    None) in the same transaction, so a worker killed between pages resumes after the last
    committed page and never loses or duplicates anything (ingestion is an idempotent upsert)."""

    records: list[Record] = field(default_factory=list)
    cursor: str | None = None
    full_resync: bool = False
    api_calls: int = 0  # provider requests this page cost (for stats and benchmarks)


# --- CRM records (Salesforce today) ----------------------------------------------------------------
@dataclass(frozen=True)
class CrmRecord:
    """One changed CRM record, provider-neutral enough for a handler."""

    object_name: str  # "Lead" | "Contact" | "Account"
    id: str  # 18-char Salesforce id
    modstamp: dt.datetime  # SystemModstamp, aware UTC
    fields: dict[str, Any]  # the selected fields as the CRM returned them (relationships nested)


@dataclass(frozen=True)
class BatchResult:
    """What a CRM handler did with one page of ``CrmRecord``."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)  # (CRM record id, reason)
    # Owners given: by the CRM owner's email matching a user, or the fallback owner otherwise.
    owned_by_email: int = 0
    owned_by_fallback: int = 0
