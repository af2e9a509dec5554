"""Sync cursors of the Google fetchers: small JSON objects stored in ``SyncState.cursor``."""

from __future__ import annotations

import json
from typing import Any


def decode(cursor: str) -> dict[str, Any]:
    """The cursor's fields; {} for "" (a full sync) or anything unreadable."""
    if not cursor:
        return {}
    try:
        state = json.loads(cursor)
    except ValueError:
        return {}
    return state if isinstance(state, dict) else {}


def encode(**fields: Any) -> str:
    return json.dumps({key: value for key, value in fields.items() if value}, separators=(",", ":"))
