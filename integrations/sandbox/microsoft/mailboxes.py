"""Exchange Online data the sandbox keeps per user: mail folders and messages, the primary
calendar's events, contact folders and contacts, mailbox settings — plus the change logs that
delta queries read and the knobs tests turn (latency, limits, token expiry).

Every change takes the next number of one store-wide sequence and is appended to the change log
of the collection it touched (a mail folder, the calendar, a contact folder). A delta round reads
the log between two sequence numbers; an item that left a collection (deleted, moved) is reported
as ``@removed`` because it is no longer in it.
"""

from __future__ import annotations

import bisect
import secrets
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from integrations.sandbox.faults import FaultBook
from integrations.sandbox.microsoft import recurrence
from integrations.sandbox.microsoft.directory import User
from integrations.sandbox.microsoft.items import (
    change_key,
    conversation_topic,
    event_web_link,
    message_web_link,
    new_conversation_id,
    new_id,
)
from integrations.sandbox.microsoft.times import iso_z, now
from integrations.sandbox.state import SandboxState

STORE_KEY = "microsoft.mailboxes"
# Well-known folder names Graph accepts in place of folder ids, with their display names.
WELL_KNOWN_FOLDERS = (
    ("inbox", "Inbox"),
    ("sentitems", "Sent Items"),
    ("drafts", "Drafts"),
    ("deleteditems", "Deleted Items"),
    ("archive", "Archive"),
    ("junkemail", "Junk Email"),
)
MAX_ROUNDS = 2000  # delta rounds in progress kept for their nextLinks; older ones expire


@dataclass
class ChangeLog:
    seqs: list[int] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)

    def record(self, seq: int, item_id: str) -> None:
        self.seqs.append(seq)
        self.ids.append(item_id)

    def changed(self, since: int, upto: int) -> list[str]:
        """Ids changed in (since, upto], each once, in the order of their last change."""
        start = bisect.bisect_right(self.seqs, since)
        end = bisect.bisect_right(self.seqs, upto)
        latest: dict[str, None] = {}
        for item_id in self.ids[start:end]:
            latest.pop(item_id, None)
            latest[item_id] = None
        return list(latest)


@dataclass
class Mailbox:
    user_id: str
    address: str
    folders: dict[str, dict[str, Any]] = field(default_factory=dict)
    well_known: dict[str, str] = field(default_factory=dict)
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    folder_logs: dict[str, ChangeLog] = field(default_factory=dict)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    event_log: ChangeLog = field(default_factory=ChangeLog)
    contact_folders: dict[str, dict[str, Any]] = field(default_factory=dict)
    default_contacts: str = ""
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    contact_logs: dict[str, ChangeLog] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    def folder_id(self, key: str) -> str | None:
        """A folder id from an id or a well-known name (case-insensitive)."""
        if key in self.folders:
            return key
        return self.well_known.get(key.lower())

    def folder_by_name(self, name: str) -> str | None:
        wanted = name.lower()
        return next((fid for fid, f in self.folders.items() if f["displayName"].lower() == wanted), None)

    def contact_folder_by_name(self, name: str) -> str | None:
        wanted = name.lower()
        return next(
            (fid for fid, f in self.contact_folders.items() if f["displayName"].lower() == wanted), None
        )


@dataclass
class Options:
    latency_ms: int = 0  # added to every Graph request, outside the state lock (real overlap)
    mailbox_concurrency: int = 4  # in-flight requests per (app, mailbox)
    mailbox_limit: tuple[int, float] | None = None  # (requests, per_seconds) per (app, mailbox)
    delta_epoch: int = 0  # bumping it expires every delta/skip token handed out so far
    delta_expiry_status: int = 410  # 410 Gone, or 400 (the docs say "40X-series")
    delta_expiry_code: str = "syncStateNotFound"  # or "resyncRequired"
    delta_filter_max_messages: int = 5000  # a message delta with $filter returns at most this many
    # Exchange saves a sendMail's Sent Items copy a moment after answering 202. 0: at once (the
    # default); N: the sender's next N mail reads (lists, gets, delta pages) do not see it yet.
    sent_items_lag: int = 0


@dataclass
class DeltaRound:
    ids: list[str]
    upto: int
    incremental: bool


@dataclass
class PendingCopy:
    """A sent message whose Sent Items copy Exchange has not saved yet (``sent_items_lag``)."""

    user_id: str
    message: dict[str, Any]
    references: tuple[str, ...]
    reads_left: int


@dataclass
class MailStore:
    mailboxes: dict[str, Mailbox] = field(default_factory=dict)
    seq: int = 0
    instance: str = field(default_factory=lambda: secrets.token_hex(4))
    options: Options = field(default_factory=Options)
    rounds: OrderedDict[str, DeltaRound] = field(default_factory=OrderedDict)
    faults: FaultBook = field(default_factory=FaultBook)  # seeded "graph_faults", batch sub-requests too
    pending_sent: list[PendingCopy] = field(default_factory=list)

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Loaded from a state file written before copies could be held back."""
        self.__dict__.update(state)
        self.__dict__.setdefault("pending_sent", [])

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def mailbox(self, user: User) -> Mailbox:
        box = self.mailboxes.get(user.id)
        if box is None:
            box = self.mailboxes[user.id] = _new_mailbox(user)
        return box

    def keep_round(self, round_id: str, delta_round: DeltaRound) -> None:
        self.rounds[round_id] = delta_round
        while len(self.rounds) > MAX_ROUNDS:
            self.rounds.popitem(last=False)


def mail_store(state: SandboxState) -> MailStore:
    return state.store(STORE_KEY, MailStore)


def _new_mailbox(user: User) -> Mailbox:
    box = Mailbox(user_id=user.id, address=user.mail)
    for name, display in WELL_KNOWN_FOLDERS:
        folder_id = new_id()
        box.folders[folder_id] = {"id": folder_id, "displayName": display, "parentFolderId": "",
                                  "childFolderCount": 0, "isHidden": False}  # fmt: skip
        box.well_known[name] = folder_id
        box.folder_logs[folder_id] = ChangeLog()
    box.default_contacts = new_id()
    box.contact_logs[box.default_contacts] = ChangeLog()
    box.settings = default_settings(box.well_known["archive"])
    return box


def default_settings(archive_folder: str) -> dict[str, Any]:
    return {
        "archiveFolder": archive_folder,
        "timeZone": "UTC",
        "automaticRepliesSetting": {
            "status": "disabled",
            "externalAudience": "all",
            "internalReplyMessage": "",
            "externalReplyMessage": "",
            "scheduledStartDateTime": {"dateTime": "2026-01-01T00:00:00.0000000", "timeZone": "UTC"},
            "scheduledEndDateTime": {"dateTime": "2026-01-02T00:00:00.0000000", "timeZone": "UTC"},
        },
        "language": {"locale": "en-US", "displayName": "English (United States)"},
        "workingHours": {
            "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
            "startTime": "08:00:00.0000000",
            "endTime": "17:00:00.0000000",
            "timeZone": {"name": "UTC"},
        },
        "dateFormat": "M/d/yyyy",
        "timeFormat": "h:mm tt",
        "delegateMeetingMessageDeliveryOptions": "sendToDelegateOnly",
        "userPurpose": "user",
    }


def _stamp(store: MailStore, item: dict[str, Any], *, touch_time: bool = True) -> int:
    seq = store.next_seq()
    item["changeKey"] = change_key(seq)
    item["@odata.etag"] = f'W/"{item["changeKey"]}"'
    if touch_time:
        item["lastModifiedDateTime"] = iso_z(now())
    return seq


# --- messages ---------------------------------------------------------------------------------


def add_message(store: MailStore, box: Mailbox, message: dict[str, Any], folder_id: str) -> str:
    message_id = new_id()
    message["id"] = message_id
    message["parentFolderId"] = folder_id
    message["webLink"] = message_web_link(message_id)
    seq = _stamp(store, message, touch_time=False)
    box.messages[message_id] = message
    box.folder_logs[folder_id].record(seq, message_id)
    return message_id


def thread_message(box: Mailbox, message: dict[str, Any], references: Sequence[str]) -> None:
    """Set the conversation of ``message`` as Exchange does when it files it in ``box``: a reply
    (``references``: its In-Reply-To, then its References newest first) joins the conversation of
    the message it answers when that message is in this mailbox and has the same conversation
    topic; anything else (no such message, a changed subject, no references) starts its own
    conversation, named after its Message-ID — two unrelated messages with the same subject are
    two conversations."""
    # Reference: https://learn.microsoft.com/en-us/previous-versions/office/developer/exchange-server-2010/ff406135(v=exchg.140)
    wanted = [f"<{ref.strip().strip('<>')}>".lower() for ref in references if ref.strip().strip("<>")]
    if wanted:
        keys = set(wanted)
        found: dict[str, dict[str, Any]] = {}
        for item in box.messages.values():
            key = str(item.get("internetMessageId") or "").lower()
            if key in keys:
                found.setdefault(key, item)
        topic = conversation_topic(message.get("subject") or "")
        for key in wanted:
            parent = found.get(key)
            if parent is not None and conversation_topic(parent.get("subject") or "") == topic:
                message["conversationId"] = parent["conversationId"]
                return
    message["conversationId"] = new_conversation_id(str(message.get("internetMessageId") or ""))


def file_sent_copy(
    store: MailStore, box: Mailbox, message: dict[str, Any], references: Sequence[str]
) -> None:
    """Save a sent message in ``box``'s Sent Items, now or — with ``sent_items_lag`` — after the
    sender's next reads of their mail (``settle_sent_copies``)."""
    if store.options.sent_items_lag > 0:
        store.pending_sent.append(
            PendingCopy(box.user_id, message, tuple(references), store.options.sent_items_lag)
        )
        return
    _file_sent(store, box, message, references)


def settle_sent_copies(store: MailStore, box: Mailbox) -> None:
    """``box``'s owner reads their mail: held copies that waited their reads are saved first (so
    this read sees them); the others wait one read less."""
    if not store.pending_sent:
        return
    kept: list[PendingCopy] = []
    for copy in store.pending_sent:
        if copy.user_id != box.user_id:
            kept.append(copy)
        elif copy.reads_left <= 0:
            _file_sent(store, box, copy.message, copy.references)
        else:
            copy.reads_left -= 1
            kept.append(copy)
    store.pending_sent = kept


def release_sent_copies(store: MailStore) -> None:
    """Save every held Sent Items copy now."""
    pending, store.pending_sent = store.pending_sent, []
    for copy in pending:
        box = store.mailboxes.get(copy.user_id)
        if box is not None:
            _file_sent(store, box, copy.message, copy.references)


def _file_sent(store: MailStore, box: Mailbox, message: dict[str, Any], references: Sequence[str]) -> None:
    thread_message(box, message, references)
    add_message(store, box, message, box.well_known["sentitems"])


def update_message(
    store: MailStore, box: Mailbox, message_id: str, changes: dict[str, Any]
) -> dict[str, Any]:
    message = box.messages[message_id]
    message.update(changes)
    seq = _stamp(store, message)
    box.folder_logs[message["parentFolderId"]].record(seq, message_id)
    return message


def remove_message(store: MailStore, box: Mailbox, message_id: str) -> None:
    message = box.messages.pop(message_id)
    box.folder_logs[message["parentFolderId"]].record(store.next_seq(), message_id)


def move_message(store: MailStore, box: Mailbox, message_id: str, folder_id: str) -> str:
    """Moving gives the message a new id in its new folder, as Exchange does."""
    message = dict(box.messages[message_id])
    remove_message(store, box, message_id)
    message.pop("id", None)
    return add_message(store, box, message, folder_id)


# --- events -----------------------------------------------------------------------------------


def _touched(event: dict[str, Any]) -> list[str]:
    """What a change to this event changes in a calendar view: a series master is not listed
    there, its occurrences are."""
    return recurrence.occurrence_ids(event) if recurrence.is_master(event) else [event["id"]]


def add_event(store: MailStore, box: Mailbox, event: dict[str, Any]) -> str:
    event_id = str(event.get("id") or new_id())  # an exception keeps its occurrence's id
    event["id"] = event_id
    event["webLink"] = event_web_link(event_id)
    seq = _stamp(store, event, touch_time=False)
    box.events[event_id] = event
    for item_id in _touched(event):
        box.event_log.record(seq, item_id)
    return event_id


def update_event(store: MailStore, box: Mailbox, event_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    event = box.events[event_id]
    before = _touched(event)
    event.update(changes)
    seq = _stamp(store, event)
    for item_id in dict.fromkeys(before + _touched(event)):
        box.event_log.record(seq, item_id)
    return event


def remove_event(store: MailStore, box: Mailbox, event_id: str) -> None:
    event = box.events.pop(event_id)
    seq = store.next_seq()
    for item_id in _touched(event):
        box.event_log.record(seq, item_id)
    if recurrence.is_master(event):  # its exceptions go with it
        for other in [e for e in box.events.values() if e.get("seriesMasterId") == event_id]:
            box.events.pop(other["id"])
            box.event_log.record(seq, other["id"])


def cancel_occurrence(store: MailStore, box: Mailbox, master_id: str, occurrence: str, when: str) -> None:
    """DELETE on one occurrence: the series skips that date (an exception there goes too)."""
    master = box.events[master_id]
    master["_cancelled"] = [*master.get("_cancelled", ()), when]
    box.events.pop(occurrence, None)
    box.event_log.record(store.next_seq(), occurrence)


# --- contacts ---------------------------------------------------------------------------------


def add_contact_folder(box: Mailbox, name: str) -> str:
    folder_id = box.contact_folder_by_name(name)
    if folder_id is None:
        folder_id = new_id()
        box.contact_folders[folder_id] = {"id": folder_id, "parentFolderId": box.default_contacts,
                                          "displayName": name}  # fmt: skip
        box.contact_logs[folder_id] = ChangeLog()
    return folder_id


def add_contact(store: MailStore, box: Mailbox, contact: dict[str, Any], folder_id: str) -> str:
    contact_id = new_id()
    contact["id"] = contact_id
    contact["parentFolderId"] = folder_id
    seq = _stamp(store, contact, touch_time=False)
    box.contacts[contact_id] = contact
    box.contact_logs[folder_id].record(seq, contact_id)
    return contact_id
