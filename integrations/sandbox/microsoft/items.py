"""Graph-shaped JSON for the items a mailbox holds: messages, events and contacts.

The store keeps items as the JSON Graph returns, plus a few internal keys starting with "_"
(epoch seconds for filtering and ordering) that rendering strips.
"""

# Reference: https://learn.microsoft.com/en-us/graph/api/resources/message
# Reference: https://learn.microsoft.com/en-us/graph/api/resources/event
# Reference: https://learn.microsoft.com/en-us/graph/api/resources/contact

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Iterable, Sequence
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote

from integrations.sandbox.microsoft.times import date_time_zone, iso_z

Address = tuple[str, str]  # (address, name)
NEVER = "0001-01-01T00:00:00Z"
_SUBJECT_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|sv)\s*:\s*)+", re.IGNORECASE)
_BLANKS = re.compile(r"\n{3,}")
_SPACE = re.compile(r"\s+")


def new_id() -> str:
    """Exchange item ids are long URL-safe base64 strings starting "AAMk"."""
    return "AAMkAG" + secrets.token_urlsafe(42)


def change_key(seq: int) -> str:
    return "CQAAABYAAA" + base64.b64encode(seq.to_bytes(8, "big")).decode().rstrip("=")


def recipient(address: Address) -> dict[str, Any]:
    return {"emailAddress": {"name": address[1] or address[0], "address": address[0]}}


def recipients(addresses: Iterable[Address]) -> list[dict[str, Any]]:
    return [recipient(a) for a in addresses]


def conversation_topic(subject: str) -> str:
    """Exchange's ConversationTopic: the subject without Re:/Fw: prefixes (compared lower-cased)."""
    return _SUBJECT_PREFIX.sub("", subject or "").strip().lower()


def conversation_id(subject: str) -> str:
    """The conversation of mail the sandbox makes up (demo, generator, seed): it carries no
    References, so its threads are grouped by conversation topic."""
    return _conversation_key(conversation_topic(subject))


def new_conversation_id(internet_message_id: str) -> str:
    """The conversation a sent message starts: Exchange bases a conversation on its first
    message's Message-ID (``mailboxes.thread_message`` decides when a message joins another's)."""
    return _conversation_key(f"root:{internet_message_id.strip().strip('<>').lower()}")


def _conversation_key(key: str) -> str:
    digest = hashlib.sha256(key.encode()).digest()[:30]
    return "AAQkAG" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


class _TextExtractor(HTMLParser):
    """Visible text of an HTML body; block elements become line breaks."""

    HIDDEN = frozenset({"head", "style", "script", "title"})
    BLOCKS = frozenset(
        {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self._hidden += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def html_to_text(content: str) -> str:
    """What ``Prefer: outlook.body-content-type="text"`` gives for an HTML body: the visible text,
    paragraphs separated by a blank line, CRLF line ends as Exchange writes them."""
    parser = _TextExtractor()
    parser.feed(content)
    parser.close()
    lines = [" ".join(line.replace("\xa0", " ").split()) for line in "".join(parser.parts).splitlines()]
    text = _BLANKS.sub("\n\n", "\n".join(lines)).strip()
    return text.replace("\n", "\r\n")


def preview(content: str, content_type: str) -> str:
    text = html_to_text(content) if content_type.lower() == "html" else content
    return _SPACE.sub(" ", text).strip()[:255]


def message_json(
    *,
    sender: Address,
    to: Sequence[Address],
    cc: Sequence[Address] = (),
    bcc: Sequence[Address] = (),
    subject: str,
    body: str,
    content_type: str = "text",
    received: dt.datetime,
    sent: dt.datetime | None = None,
    internet_message_id: str,
    is_read: bool = True,
    is_draft: bool = False,
    reply_to: Sequence[Address] = (),
) -> dict[str, Any]:
    sent = sent or received
    message_id = internet_message_id if internet_message_id.startswith("<") else f"<{internet_message_id}>"
    return {
        "createdDateTime": iso_z(received),
        "lastModifiedDateTime": iso_z(received),
        "categories": [],
        "receivedDateTime": iso_z(received),
        "sentDateTime": iso_z(sent),
        "hasAttachments": False,
        "internetMessageId": message_id,
        "subject": subject,
        "bodyPreview": preview(body, content_type),
        "importance": "normal",
        "conversationId": conversation_id(subject),
        "conversationIndex": base64.b64encode(hashlib.sha256(message_id.encode()).digest()[:22]).decode(),
        "isDeliveryReceiptRequested": False,
        "isReadReceiptRequested": False,
        "isRead": is_read,
        "isDraft": is_draft,
        "inferenceClassification": "focused",
        "body": {"contentType": content_type.lower(), "content": body},
        "sender": recipient(sender),
        "from": recipient(sender),
        "toRecipients": recipients(to),
        "ccRecipients": recipients(cc),
        "bccRecipients": recipients(bcc),
        "replyTo": recipients(reply_to),
        "flag": {"flagStatus": "notFlagged"},
        "_received": received.timestamp(),
    }


def message_web_link(message_id: str) -> str:
    return f"https://outlook.office365.com/owa/?ItemID={quote(message_id, safe='')}&exvsurl=1&viewmodel=ReadMessageItem"


def event_json(
    *,
    subject: str,
    start: dt.datetime,
    end: dt.datetime,
    organizer: Address,
    attendees: Sequence[tuple[str, str, str]] = (),  # (address, name, response)
    is_organizer: bool = True,
    body: str = "",
    content_type: str = "html",
    location: str = "",
    teams_join_url: str = "",  # a Teams meeting: isOnlineMeeting + onlineMeeting.joinUrl
    private: bool = False,
    all_day: bool = False,
    ical_uid: str | None = None,
    created: dt.datetime | None = None,
) -> dict[str, Any]:
    created = created or min(start, dt.datetime.now(dt.UTC))
    teams = bool(teams_join_url)
    uid = ical_uid or ("040000008200E00074C5B7101A82E008" + secrets.token_hex(28).upper())
    return {
        "createdDateTime": iso_z(created),
        "lastModifiedDateTime": iso_z(created),
        "categories": [],
        "transactionId": None,
        "originalStartTimeZone": "UTC",
        "originalEndTimeZone": "UTC",
        "iCalUId": uid,
        "uid": uid,
        "reminderMinutesBeforeStart": 15,
        "isReminderOn": True,
        "hasAttachments": False,
        "subject": subject,
        "bodyPreview": preview(body, content_type),
        "importance": "normal",
        "sensitivity": "private" if private else "normal",
        "isAllDay": all_day,
        "isCancelled": False,
        "isOrganizer": is_organizer,
        "responseRequested": True,
        "seriesMasterId": None,
        "showAs": "busy",
        "type": "singleInstance",
        "onlineMeetingUrl": None,
        "isOnlineMeeting": teams,
        "onlineMeetingProvider": "teamsForBusiness" if teams else "unknown",
        "allowNewTimeProposals": True,
        "isDraft": False,
        "hideAttendees": False,
        "responseStatus": {"response": "organizer" if is_organizer else "notResponded", "time": NEVER},
        "body": {"contentType": content_type.lower(), "content": body},
        "start": date_time_zone(start),
        "end": date_time_zone(end),
        "location": location_json(location),
        "locations": [location_json(location)] if location else [],
        "recurrence": None,
        "attendees": [attendee_json(a) for a in attendees],
        "organizer": recipient(organizer),
        "onlineMeeting": {"joinUrl": teams_join_url} if teams else None,
        "_start": start.timestamp(),
        "_end": end.timestamp(),
    }


def location_json(name: str) -> dict[str, Any]:
    if not name:
        return {
            "displayName": "",
            "locationType": "default",
            "uniqueIdType": "unknown",
            "address": {},
            "coordinates": {},
        }
    return {"displayName": name, "locationType": "default", "uniqueId": name, "uniqueIdType": "private",
            "address": {}, "coordinates": {}}  # fmt: skip


def attendee_json(attendee: tuple[str, str, str]) -> dict[str, Any]:
    address, name, response = attendee
    return {
        "type": "required",
        "status": {"response": response or "none", "time": NEVER},
        "emailAddress": {"name": name or address, "address": address},
    }


def event_web_link(event_id: str) -> str:
    return (
        f"https://outlook.office365.com/owa/?itemid={quote(event_id, safe='')}&exvsurl=1&path=/calendar/item"
    )


def contact_json(
    *,
    given_name: str,
    surname: str,
    emails: Sequence[Address],
    display_name: str = "",
    company: str = "",
    job_title: str = "",
    phones: Sequence[str] = (),
    mobile: str = "",
    created: dt.datetime | None = None,
) -> dict[str, Any]:
    created = created or dt.datetime.now(dt.UTC)
    display = display_name or " ".join(p for p in (given_name, surname) if p)
    return {
        "createdDateTime": iso_z(created),
        "lastModifiedDateTime": iso_z(created),
        "categories": [],
        "birthday": None,
        "fileAs": ", ".join(p for p in (surname, given_name) if p),
        "displayName": display,
        "givenName": given_name or None,
        "initials": None,
        "middleName": None,
        "nickName": None,
        "surname": surname or None,
        "title": None,
        "yomiGivenName": None,
        "yomiSurname": None,
        "yomiCompanyName": None,
        "generation": None,
        "imAddresses": [],
        "jobTitle": job_title or None,
        "companyName": company or None,
        "department": None,
        "officeLocation": None,
        "profession": None,
        "businessHomePage": None,
        "assistantName": None,
        "manager": None,
        "homePhones": [],
        "mobilePhone": mobile or None,
        "businessPhones": list(phones),
        "spouseName": None,
        "personalNotes": "",
        "children": [],
        "emailAddresses": [{"name": name or address, "address": address} for address, name in emails],
        "homeAddress": {},
        "businessAddress": {},
        "otherAddress": {},
    }
