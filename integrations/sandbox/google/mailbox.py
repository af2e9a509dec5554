"""One Gmail mailbox: messages, threads, labels and the history log ``history.list`` serves.

Every change (message added or deleted, label added or removed) takes the next history id, stamps
it on the message and appends a record. Records older than ``oldest_history_id`` are forgotten:
asking for history from before it answers 404, as Gmail does when a start id is too old.
"""

# Reference: https://developers.google.com/workspace/gmail/api/guides/sync

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from integrations.sandbox.google import mime
from integrations.sandbox.google.clock import Clock
from integrations.sandbox.google.sequences import IdSequence

# Gmail's system labels (ids equal names); CATEGORY_* omitted: the sandbox does not sort tabs.
SYSTEM_LABELS = ("INBOX", "SENT", "DRAFT", "SPAM", "TRASH", "UNREAD", "IMPORTANT", "STARRED", "CHAT")
HIDDEN_IN_LIST = ("SPAM", "TRASH")
_MESSAGE_IDS = IdSequence(0x18F3A0C000000000)
FIRST_HISTORY_ID = 9000


def new_message_id() -> str:
    return f"{_MESSAGE_IDS.take():016x}"


@dataclass
class Label:
    id: str
    name: str
    type: str = "user"  # system | user
    message_list_visibility: str | None = "show"
    label_list_visibility: str | None = "labelShow"
    color: dict[str, str] | None = None


@dataclass(eq=False)
class MailMessage:
    id: str
    thread_id: str
    label_ids: list[str]
    internal_date: int  # epoch milliseconds
    headers: list[tuple[str, str]]  # decoded values, in order
    text: str
    html: str | None = None
    raw: bytes | None = None  # built lazily from headers/text/html unless the message came as MIME
    history_id: int = 0
    rfc_id: str = ""  # Message-ID without angle brackets
    _snippet: str | None = field(default=None, repr=False)

    def raw_bytes(self) -> bytes:
        if self.raw is None:
            self.raw = mime.build_raw(self.headers, self.text, self.html)
        return self.raw

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((value for key, value in self.headers if key.lower() == lowered), None)

    @property
    def snippet(self) -> str:
        if self._snippet is None:
            self._snippet = mime.snippet(self.text)
        return self._snippet

    @property
    def size_estimate(self) -> int:
        # The size of the message Gmail stores: the same on every call and in every format.
        return len(self.raw_bytes())


@dataclass(frozen=True)
class HistoryRecord:
    id: int
    kind: str  # messageAdded | messageDeleted | labelAdded | labelRemoved
    message_id: str
    thread_id: str
    label_ids: tuple[str, ...]  # the message's labels after the change
    changed: tuple[str, ...] = ()  # the labels added or removed


class Mailbox:
    def __init__(self, email: str, *, clock: Clock) -> None:
        self.email = email
        self.clock = clock
        self.messages: dict[str, MailMessage] = {}
        self.threads: dict[str, list[str]] = {}
        self.labels: dict[str, Label] = {
            name: Label(name, name, "system", None, None) for name in SYSTEM_LABELS
        }
        self.history_id = FIRST_HISTORY_ID
        self.history: list[HistoryRecord] = []
        self.oldest_history_id = 0
        self.by_rfc_id: dict[str, str] = {}
        self._labels_made = 0
        self._ordered: list[MailMessage] | None = None

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Loaded from a state file: new message ids continue after the ones it holds."""
        self.__dict__.update(state)
        used = [*self.messages, *(record.message_id for record in self.history)]
        if used:
            _MESSAGE_IDS.skip_past(max(int(message_id, 16) for message_id in used))

    # ---- reading -------------------------------------------------------------------------
    def ordered(self) -> list[MailMessage]:
        """Newest first, as messages.list returns them."""
        if self._ordered is None:
            self._ordered = sorted(
                self.messages.values(), key=lambda m: (m.internal_date, m.id), reverse=True
            )
        return self._ordered

    def thread_messages(self, thread_id: str) -> list[MailMessage]:
        return [self.messages[i] for i in self.threads.get(thread_id, ())]

    def history_since(self, start: int) -> list[HistoryRecord]:
        ids = [record.id for record in self.history]
        return self.history[bisect.bisect_right(ids, start) :]

    def find_thread(self, references: Iterable[str]) -> str | None:
        for rfc_id in references:
            found = self.by_rfc_id.get(rfc_id)
            if found and found in self.messages:
                return self.messages[found].thread_id
        return None

    # ---- changes -------------------------------------------------------------------------
    def add_message(
        self,
        *,
        headers: list[tuple[str, str]],
        text: str,
        html: str | None = None,
        raw: bytes | None = None,
        label_ids: Sequence[str],
        internal_date: int,
        thread_id: str | None = None,
        references: Sequence[str] = (),
        record: bool = True,
    ) -> MailMessage:
        message_id = new_message_id()
        if thread_id is None or thread_id not in self.threads:
            thread_id = self.find_thread(references) or message_id
        message = MailMessage(
            id=message_id,
            thread_id=thread_id,
            label_ids=list(dict.fromkeys(label_ids)),
            internal_date=internal_date,
            headers=headers,
            text=text,
            html=html,
            raw=mime.crlf(raw) if raw is not None else None,
            rfc_id=(mime.message_ids(next((v for k, v in headers if k.lower() == "message-id"), "")) or [""])[
                0
            ],
        )
        self.messages[message_id] = message
        self.threads.setdefault(thread_id, []).append(message_id)
        if message.rfc_id:
            self.by_rfc_id.setdefault(message.rfc_id, message_id)
        self._ordered = None
        for label in message.label_ids:
            if label not in self.labels:
                self.labels[label] = Label(label, label)
        if record:
            self._record("messageAdded", message)
        else:
            # Mail that predates any sync (seeded demo/benchmark data): no history kept for it, so
            # a start id from before it is as unknown to history.list as a week-old one.
            self.history_id += 1
            message.history_id = self.oldest_history_id = self.history_id
        return message

    def delete_message(self, message_id: str) -> None:
        message = self.messages.pop(message_id)
        thread = self.threads[message.thread_id]
        thread.remove(message_id)
        if not thread:
            del self.threads[message.thread_id]
        self._ordered = None
        self._record("messageDeleted", message)

    def modify(self, message: MailMessage, add: Sequence[str] = (), remove: Sequence[str] = ()) -> None:
        added = [label for label in dict.fromkeys(add) if label not in message.label_ids]
        message.label_ids.extend(added)
        removed = [
            label for label in dict.fromkeys(remove) if label in message.label_ids and label not in added
        ]
        for label in removed:
            message.label_ids.remove(label)
        if added:
            self._record("labelAdded", message, added)
        if removed:
            self._record("labelRemoved", message, removed)

    def create_label(self, name: str, **visibility: str | None) -> Label:
        self._labels_made += 1
        label = Label(f"Label_{self._labels_made}", name)
        for key, value in visibility.items():
            if value is not None:
                setattr(label, key, value)
        self.labels[label.id] = label
        return label

    def expire_history(self, before: int | None = None) -> None:
        """Forget history before ``before`` (default: now): older start ids then answer 404."""
        self.oldest_history_id = self.history_id if before is None else before
        ids = [record.id for record in self.history]
        del self.history[: bisect.bisect_right(ids, self.oldest_history_id)]

    def _record(self, kind: str, message: MailMessage, changed: Sequence[str] = ()) -> None:
        self.history_id += 1
        message.history_id = self.history_id
        self.history.append(
            HistoryRecord(
                self.history_id, kind, message.id, message.thread_id, tuple(message.label_ids), tuple(changed)
            )
        )
