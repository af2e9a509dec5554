"""Turning Graph's value formats into ours: dates, ``dateTimeTimeZone``, email addresses, HTML
bodies as plain text."""

# Reference: https://learn.microsoft.com/en-us/graph/api/resources/datetimetimezone
# Reference: https://learn.microsoft.com/en-us/graph/api/resources/recipient

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from integrations.records import Address

_FRACTION = re.compile(r"\.(\d+)")
_BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote"})
_HIDDEN = frozenset({"style", "script", "head", "title"})


def parse_datetime(value: Any) -> dt.datetime | None:
    """An aware datetime from Graph's ISO 8601 (``Z`` or an offset; no zone means UTC; up to 7
    fractional digits, which Python's parser does not take)."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text[-1] in "Zz":
        text = text[:-1] + "+00:00"
    text = _FRACTION.sub(lambda m: "." + m.group(1)[:6], text, count=1)
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def parse_date_time_zone(value: Any) -> dt.datetime | None:
    """A ``dateTimeTimeZone`` as an aware UTC datetime. Cadence asks for UTC (``Prefer:
    outlook.timezone="UTC"``); an IANA zone is honoured too, anything else is read as UTC."""
    if not isinstance(value, dict):
        return None
    when = parse_datetime(value.get("dateTime"))
    if when is None:
        return None
    zone = str(value.get("timeZone") or "UTC")
    if zone.upper() in ("UTC", "GMT", "COORDINATED UNIVERSAL TIME", "Z"):
        return when.astimezone(dt.UTC)
    try:
        return when.replace(tzinfo=ZoneInfo(zone)).astimezone(dt.UTC)
    except (ZoneInfoNotFoundError, ValueError):
        return when.astimezone(dt.UTC)


def iso_z(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def address(recipient: Any) -> Address:
    """``{"emailAddress": {"address", "name"}}`` → Address (lower-cased address)."""
    email = (recipient or {}).get("emailAddress") or {} if isinstance(recipient, dict) else {}
    return Address(
        email=str(email.get("address") or "").strip().lower(), name=str(email.get("name") or "").strip()
    )


def addresses(recipients: Any) -> tuple[Address, ...]:
    found = (address(r) for r in recipients or () if isinstance(r, dict))
    return tuple(a for a in found if a.email)


def body_text(body: Any) -> str:
    """An itemBody's content as plain text (HTML stripped when ``contentType`` is html)."""
    if not isinstance(body, dict):
        return ""
    content = str(body.get("content") or "")
    if str(body.get("contentType") or "").lower() == "html":
        return html_to_text(content)
    return content.strip()


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self._hidden += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def html_to_text(content: str) -> str:
    parser = _TextExtractor()
    parser.feed(content)
    parser.close()
    # convert_charrefs already decoded entities: unescaping again would turn "&amp;not" into "¬".
    text = "".join(parser.parts).replace("\xa0", " ")
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
