"""Salesforce record ids: 15-character case-sensitive ids and their 18-character safe form.

An id is a 3-character key prefix naming the object (``00Q`` Lead, ``003`` Contact, …), a 2-character
instance, a reserved character and a 9-character base-62 serial. The REST API always answers with
the 18-character form (the 15 plus a 3-character case checksum) and accepts either on input.
"""

# Reference: https://help.salesforce.com/s/articleView?id=000385008&type=1 (15 vs 18 character ids)

from __future__ import annotations

import re

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
CHECKSUM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
INSTANCE = "5D"  # any two characters: the sandbox is one instance
ID_PATTERN = re.compile(r"[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?")


def make_id(prefix: str, serial: int) -> str:
    """The 18-character id of the ``serial``-th record with this key prefix (deterministic)."""
    digits = []
    for _ in range(9):
        serial, rest = divmod(serial, 62)
        digits.append(BASE62[rest])
    return to18(f"{prefix}{INSTANCE}0{''.join(reversed(digits))}")


def to18(id15: str) -> str:
    """Append the checksum: one character per 5-character chunk, encoding which are upper case."""
    suffix = ""
    for start in (0, 5, 10):
        bits = 0
        for position, char in enumerate(id15[start : start + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << position
        suffix += CHECKSUM_ALPHABET[bits]
    return id15 + suffix


def normalize(value: str) -> str | None:
    """The 18-character form of a 15- or 18-character id, or None when it is not an id at all.

    An 18-character id whose checksum does not match its first 15 characters is malformed, as
    Salesforce treats it.
    """
    if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
        return None
    full = to18(value[:15])
    if len(value) == 18 and value[15:].upper() != full[15:]:
        return None
    return full
