"""Links to the outside world (an account's website, a company's domain, a meeting's join link):
whatever came from a CSV file, Salesforce or a mailbox is a link target only when it is an http
or https address. ``javascript:``, ``data:`` and every other scheme yield nothing."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

SCHEMES = frozenset({"http", "https"})
# A host name with at least one dot: letters (any script), digits, hyphens, underscores.
_HOST = re.compile(r"(?:[\w-]+\.)+[\w-]*[^\W\d_][\w-]*")
_FORBIDDEN = re.compile(r"[\s\x00-\x1f\x7f\\<>\"'`]")


def external_url(value: str | None) -> str:
    """``value`` as a safe link target: as given when it is an http(s) URL, with ``https://`` in
    front when it is a bare host (``acme.example``, ``www.acme.example/about``), else ""."""
    text = (value or "").strip()
    if not text or _FORBIDDEN.search(text):
        return ""
    if text.startswith("//"):
        text = f"https:{text}"
    elif "://" not in text:
        text = f"https://{text}"
    parts = urlsplit(text)
    if parts.scheme.lower() not in SCHEMES:
        return ""
    try:
        parts.port  # noqa: B018 (raises on a port that is not a number, like "javascript:alert(1)")
    except ValueError:
        return ""
    if parts.username is not None:  # "https://bank.example@evil.example" misleads the reader
        return ""
    host = parts.hostname or ""
    if not (_HOST.fullmatch(host) or _is_ip(host)):
        return ""
    return text


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
