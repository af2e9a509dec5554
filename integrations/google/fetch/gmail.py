"""Gmail → provider-neutral mail records, one ``SyncPage`` at a time (B13).

Full sync (cursor ""): ``getProfile`` gives the history id H0 to continue from, then
``messages.list q="after:<since>"`` pages of 500 ids, each fetched in batches (``format=full``).
The cursor ``{"h": H0, "p": <next page token>}`` resumes an interrupted full sync at its page; the
last page stores ``{"h": H0}``. Incremental: ``history.list`` from ``h`` (messages added and
deleted), added messages fetched in batches, deleted ones reported as ``Deletion``; the cursor
becomes the ``historyId`` Gmail returns. A mailbox with no changes costs one request.

Reference: https://developers.google.com/workspace/gmail/api/guides/sync
"""

from __future__ import annotations

import base64
import codecs
import datetime as dt
import email
import email.utils
import html
import re
from collections.abc import Iterator
from email.header import decode_header, make_header
from email.message import Message
from typing import Any

from django.utils import timezone

from integrations.google.client import GoogleClient
from integrations.google.fetch.cursor import decode as cursor_fields
from integrations.google.fetch.cursor import encode as make_cursor
from integrations.records import Address, Deletion, MailMessageRecord, Record, SyncPage

_TAGS = re.compile(r"<[^>]+>")
_BREAKS = re.compile(r"<\s*(br|/p|/div|/li|/tr)\b[^>]*>", re.IGNORECASE)
_SKIPPED = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)


def fetch(client: GoogleClient, *, cursor: str, since: dt.datetime) -> Iterator[SyncPage]:
    state = cursor_fields(cursor)
    if not state.get("h"):
        yield from _full_sync(client, since=since)
    elif state.get("p"):
        yield from _full_sync(client, since=since, history_id=str(state["h"]), page_token=str(state["p"]))
    else:
        yield from _incremental(client, history_id=str(state["h"]))


def _full_sync(
    client: GoogleClient, *, since: dt.datetime, history_id: str = "", page_token: str = ""
) -> Iterator[SyncPage]:
    calls = client.api_calls
    if not history_id:
        # Taken before listing: changes made while the full sync runs come again through history.
        history_id = str(client.gmail_profile()["historyId"])
    query = f"after:{int(since.timestamp())}"
    while True:
        listing = client.gmail_messages_list(query=query, page_token=page_token)
        ids = [str(m["id"]) for m in listing.get("messages") or []]
        fetched = client.gmail_messages_get(ids) if ids else {}
        records: list[Record] = [message_record(fetched[i]) for i in ids if i in fetched]
        page_token = str(listing.get("nextPageToken") or "")
        cursor = make_cursor(h=history_id, p=page_token)
        yield SyncPage(records=records, cursor=cursor, full_resync=True, api_calls=client.api_calls - calls)
        calls = client.api_calls
        if not page_token:
            return


def _incremental(client: GoogleClient, *, history_id: str) -> Iterator[SyncPage]:
    calls = client.api_calls
    page_token = ""
    while True:
        page = client.gmail_history_list(start_history_id=history_id, page_token=page_token)
        added: dict[str, None] = {}
        deleted: dict[str, None] = {}
        for entry in page.get("history") or []:
            for item in entry.get("messagesAdded") or []:
                message_id = str(item["message"]["id"])
                added[message_id] = None
                deleted.pop(message_id, None)
            for item in entry.get("messagesDeleted") or []:
                message_id = str(item["message"]["id"])
                deleted[message_id] = None
                added.pop(message_id, None)
        fetched = client.gmail_messages_get(list(added)) if added else {}
        records: list[Record] = [message_record(fetched[i]) for i in added if i in fetched]
        records += [Deletion(kind="email", external_id=i) for i in deleted]
        page_token = str(page.get("nextPageToken") or "")
        if page_token:
            # Mid-way, resume after the last change of this page (history ids only grow).
            last = (page.get("history") or [{}])[-1].get("id")
            cursor = make_cursor(h=str(last)) if last else None
        else:
            cursor = make_cursor(h=str(page.get("historyId") or history_id))
        yield SyncPage(records=records, cursor=cursor, api_calls=client.api_calls - calls)
        calls = client.api_calls
        if not page_token:
            return


# Reference: https://developers.google.com/workspace/gmail/api/reference/rest/v1/users.messages#Message
def message_record(message: dict[str, Any]) -> MailMessageRecord:
    if message.get("raw") and not message.get("payload"):
        return _raw_record(message)
    payload = message.get("payload") or {}
    return _record(message, _headers(payload), body_text(payload))


def _record(message: dict[str, Any], headers: dict[str, str], text: str | None) -> MailMessageRecord:
    labels = tuple(str(label) for label in message.get("labelIds") or ())
    senders = addresses(headers.get("from"))
    return MailMessageRecord(
        external_id=str(message["id"]),
        thread_id=str(message.get("threadId") or message["id"]),
        message_id_header=strip_brackets(headers.get("message-id", "")),
        subject=headers.get("subject", ""),
        snippet=html.unescape(str(message.get("snippet") or "")),
        sender=senders[0] if senders else Address(email=""),
        sent_at=_sent_at(message, headers),
        to=tuple(addresses(headers.get("to"))),
        cc=tuple(addresses(headers.get("cc"))),
        bcc=tuple(addresses(headers.get("bcc"))),
        body_text=text,
        labels=labels,
        is_draft="DRAFT" in labels,
    )


def _raw_record(message: dict[str, Any]) -> MailMessageRecord:
    """``format=raw``: the RFC 5322 bytes, parsed by the email package, each text part decoded by
    its own charset (same rules as the ``full`` format)."""
    raw = base64.urlsafe_b64decode(str(message["raw"]) + "=" * (-len(str(message["raw"])) % 4))
    parsed = email.message_from_bytes(raw)
    headers = {key.lower(): _decode_words(str(value)) for key, value in reversed(parsed.items())}
    plain = rich = None
    for part in parsed.walk():
        if part.is_multipart() or part.get_filename():
            continue
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            continue
        if part.get_content_type() == "text/plain" and plain is None:
            plain = decode_text(data, part.get_content_charset())
        elif part.get_content_type() == "text/html" and rich is None:
            rich = decode_text(data, part.get_content_charset())
    return _record(
        message, headers, plain if plain is not None else (html_to_text(rich) if rich is not None else None)
    )


def decode_text(data: bytes, charset: str | None) -> str:
    """Bytes of a text part as text, by the part's declared charset.

    Gmail's ``full`` format hands back the part's bytes as they were sent (base64url), in the
    charset its Content-Type declares. A charset Python does not know, a missing one, or bytes that
    do not match the declared one: UTF-8 if they are valid UTF-8, else Windows-1252 (what mail
    labelled ISO-8859-1 or nothing usually is), never an exception.
    """
    # Reference: https://developers.google.com/workspace/gmail/api/reference/rest/v1/users.messages.attachments#MessagePartBody
    # Reference: https://www.rfc-editor.org/rfc/rfc2046#section-4.1.2 (the charset parameter)
    declared = (charset or "").strip().strip('"').lower()
    try:
        codec = codecs.lookup(declared).name if declared else ""
    except LookupError:
        codec = ""
    if codec == "iso8859-1":
        # Mail labelled ISO-8859-1 is very often Windows-1252 (curly quotes, euro sign in 0x80-0x9F,
        # which ISO-8859-1 leaves to control characters): decode as browsers do.
        try:
            return data.decode("cp1252").replace("\r\n", "\n")
        except UnicodeDecodeError:
            pass
    if codec and codec != "ascii":
        try:
            return data.decode(codec).replace("\r\n", "\n")
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8").replace("\r\n", "\n")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace").replace("\r\n", "\n")


def addresses(value: str | None) -> list[Address]:
    """The addresses of a header, emails lower-cased, display names decoded."""
    if not value:
        return []
    return [
        Address(email=addr.strip().lower(), name=_decode_words(name).strip())
        for name, addr in email.utils.getaddresses([_decode_words(value)])
        if addr and "@" in addr
    ]


def strip_brackets(message_id: str) -> str:
    return message_id.strip().strip("<>").strip()


def body_text(payload: dict[str, Any]) -> str | None:
    """The first text/plain part; else the first text/html part as text; None when neither."""
    plain = _first_part(payload, "text/plain")
    if plain is not None:
        return plain
    rich = _first_part(payload, "text/html")
    return html_to_text(rich) if rich is not None else None


def html_to_text(value: str) -> str:
    text = _BREAKS.sub("\n", _SKIPPED.sub("", value))
    return html.unescape(_TAGS.sub("", text)).strip()


def _first_part(part: dict[str, Any], mime_type: str) -> str | None:
    if part.get("filename"):
        return None  # an attachment, even when it is text
    if part.get("mimeType") == mime_type:
        data = (part.get("body") or {}).get("data")
        if data is not None:
            return decode_text(_b64decode(data), _charset(part))
    for child in part.get("parts") or []:
        found = _first_part(child, mime_type)
        if found is not None:
            return found
    return None


def _headers(payload: dict[str, Any]) -> dict[str, str]:
    found: dict[str, str] = {}
    for header in payload.get("headers") or []:
        name = str(header.get("name") or "").lower()
        if name and name not in found:
            found[name] = str(header.get("value") or "")
    return found


def _sent_at(message: dict[str, Any], headers: dict[str, str]) -> dt.datetime:
    internal = message.get("internalDate")
    if internal:
        try:
            return dt.datetime.fromtimestamp(int(internal) / 1000, dt.UTC)
        except (TypeError, ValueError, OverflowError):
            pass
    try:
        parsed = email.utils.parsedate_to_datetime(headers.get("date", ""))
    except (TypeError, ValueError):
        return timezone.now()
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _charset(part: dict[str, Any]) -> str | None:
    """The ``charset`` parameter of a part's Content-Type header (the email package parses it)."""
    content_type = _headers(part).get("content-type")
    if not content_type:
        return None
    header = Message()
    header["Content-Type"] = content_type
    return header.get_content_charset()


def _b64decode(data: str) -> bytes:
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


def _decode_words(value: str) -> str:
    # Gmail's ``full`` format usually decodes RFC 2047 words already; be safe when it has not.
    if "=?" not in value:
        return value
    try:
        return str(make_header(decode_header(value)))
    except (ValueError, LookupError):
        return value
