"""Opaque page and sync tokens: small JSON payloads, base64url-encoded.

Clients must treat them as opaque (as at Google); tests and handlers decode them to resume a
listing after the last item returned, so items added or changed between pages are neither skipped
nor repeated.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any


class BadToken(ValueError):
    pass


def encode_token(data: dict[str, Any], *, prefix: str = "") -> str:
    raw = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    return prefix + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str, *, prefix: str = "") -> dict[str, Any]:
    if not token.startswith(prefix):
        raise BadToken(token)
    body = token[len(prefix) :]
    try:
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise BadToken(token) from exc
    if not isinstance(data, dict):
        raise BadToken(token)
    return data


def int_param(value: str | None, *, default: int, minimum: int = 1, maximum: int) -> int:
    """A bounded integer query parameter (maxResults, pageSize)."""
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError as exc:
        raise ValueError(f"Invalid value '{value}'. Values must be integers.") from exc
    return min(max(number, minimum), maximum)


def bool_param(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.lower() == "true"
