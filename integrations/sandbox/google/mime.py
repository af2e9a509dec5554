"""RFC 2822 messages: built with the ``email`` package, and parsed into Gmail's ``MessagePart`` JSON.

Gmail's ``full`` format is the MIME tree: ``partId`` "" for the root, "0", "1", "0.1"… below it;
each leaf's ``body.data`` is the decoded content, base64url-encoded; headers are decoded to text.
"""

# Reference: https://developers.google.com/workspace/gmail/api/reference/rest/v1/users.messages#MessagePart

from __future__ import annotations

import base64
import datetime as dt
import email
import email.charset
import email.policy
import email.utils
import html
import re
from collections.abc import Sequence
from email.header import Header, decode_header, make_header
from email.message import EmailMessage, Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.parser import BytesParser
from typing import Any

Address = tuple[str, str]  # (display name, email)

_PARSE_POLICY = email.policy.default
# RFC 5322 section 2.1: lines end in CRLF; Gmail's ``raw`` format is the message as it travelled.
# Reference: https://www.rfc-editor.org/rfc/rfc5322#section-2.1
_WIRE = email.policy.compat32.clone(linesep="\r\n")
_BARE_LF = re.compile(rb"(?<!\r)\n")
_SPACES = re.compile(r"\s+")
SNIPPET_LENGTH = 200
ADDRESS_HEADERS = frozenset({"from", "to", "cc", "bcc", "reply-to", "sender"})
# Mail clients send non-ASCII text quoted-printable; the compat32 classes are several times faster
# than EmailMessage, which matters when a benchmark fetches 10,000 messages in full.
_UTF8 = email.charset.Charset("utf-8")
_UTF8.body_encoding = email.charset.QP


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def format_addresses(addresses: Sequence[Address]) -> str:
    return ", ".join(email.utils.formataddr(a) if a[0] else a[1] for a in addresses)


def _text_part(text: str, subtype: str) -> MIMEText:
    return MIMEText(text, subtype, "us-ascii" if text.isascii() else _UTF8)


def _encoded(name: str, value: str) -> str:
    """A header value fit for the wire: RFC 2047 encoded-words for non-ASCII display names/text."""
    if value.isascii():
        return value
    if name.lower() in ADDRESS_HEADERS:
        return ", ".join(
            email.utils.formataddr((n, a), charset="utf-8") for n, a in email.utils.getaddresses([value])
        )
    return Header(value, "utf-8").encode()


def build_raw(headers: Sequence[tuple[str, str]], text: str, html_body: str | None) -> bytes:
    """An RFC 2822 message: text/plain alone, or multipart/alternative with the HTML version."""
    message: Message
    if html_body:
        message = MIMEMultipart("alternative")
        message.attach(_text_part(text, "plain"))
        message.attach(_text_part(html_body, "html"))
    else:
        message = _text_part(text, "plain")
    del message["MIME-Version"]
    content_headers = [(k, v) for k, v in message.items()]
    for key in {k for k, _ in content_headers}:
        del message[key]
    for name, value in headers:
        if value:
            message[name] = _encoded(name, value)
    for name, value in content_headers:
        message[name] = value
    if "MIME-Version" not in message:
        message["MIME-Version"] = "1.0"
    return message.as_bytes(policy=_WIRE)


def crlf(raw: bytes) -> bytes:
    """``raw`` with every bare LF turned into CRLF, as an RFC 5322 message on the wire has them."""
    return _BARE_LF.sub(b"\r\n", raw)


def parse(raw: bytes) -> EmailMessage:
    """For changing a message (send): the modern API, decoded header values."""
    message = BytesParser(policy=_PARSE_POLICY).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    return message


def parse_fast(raw: bytes) -> Message:
    """For reading a message (``full`` format): compat32, headers decoded in ``payload``."""
    return email.message_from_bytes(raw)


def decoded(value: Any) -> str:
    text = str(value)
    if "=?" not in text:
        return text
    try:
        return str(make_header(decode_header(text)))
    except (ValueError, LookupError):
        return text


def payload(message: Message, part_id: str = "") -> dict[str, Any]:
    """The ``MessagePart`` JSON of ``message`` (Gmail's ``full`` format)."""
    part: dict[str, Any] = {
        "partId": part_id,
        "mimeType": message.get_content_type(),
        "filename": message.get_filename() or "",
        "headers": [{"name": name, "value": decoded(value)} for name, value in message.items()],
    }
    if message.is_multipart():
        part["body"] = {"size": 0}
        children = message.get_payload()
        assert isinstance(children, list)
        prefix = f"{part_id}." if part_id else ""
        part["parts"] = [payload(child, f"{prefix}{index}") for index, child in enumerate(children)]
    else:
        data = message.get_payload(decode=True) or b""
        assert isinstance(data, bytes)
        part["body"] = {"size": len(data), "data": b64url(data)} if data else {"size": 0}
    return part


def text_of(message: Message) -> str:
    """The first text/plain part (or the HTML one stripped of tags), for the snippet."""
    html_text = ""
    for part in message.walk():
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        data = part.get_payload(decode=True) or b""
        assert isinstance(data, bytes)
        charset = part.get_content_charset() or "utf-8"
        try:
            decoded = data.decode(charset, errors="replace")
        except LookupError:
            decoded = data.decode("utf-8", errors="replace")
        if part.get_content_type() == "text/plain":
            return decoded
        if part.get_content_type() == "text/html" and not html_text:
            html_text = html.unescape(re.sub(r"<[^>]+>", " ", decoded))
    return html_text


def snippet(text: str) -> str:
    # Gmail's snippet: whitespace collapsed, cut short, HTML-escaped (' as &#39;).
    short = _SPACES.sub(" ", text).strip()[:SNIPPET_LENGTH]
    return html.escape(short, quote=True).replace("&#x27;", "&#39;")


def addresses(value: str | None) -> list[Address]:
    if not value:
        return []
    return [(name, addr.lower()) for name, addr in email.utils.getaddresses([value]) if addr]


def header_date(when: dt.datetime) -> str:
    return email.utils.format_datetime(when.astimezone(dt.UTC))


def message_ids(value: str | None) -> list[str]:
    """The ids in an In-Reply-To / References header, without angle brackets."""
    return re.findall(r"<([^<>\s]+)>", value or "")
