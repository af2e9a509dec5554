"""The discovery documents bundled inside google-api-python-client, read for method scopes.

The emulator checks a token against the scopes the very documents the client library builds its
methods from list for each method, so a scope the product forgets fails here as it would at Google.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import googleapiclient

DOCUMENTS = {
    "gmail": "gmail.v1.json",
    "calendar": "calendar.v3.json",
    "people": "people.v1.json",
    "admin": "admin.directory_v1.json",
}


def documents_dir() -> Path:
    return Path(googleapiclient.__file__).parent / "discovery_cache" / "documents"


@cache
def document(api: str) -> dict[str, Any]:
    """``api`` is a key of ``DOCUMENTS`` ("gmail", "calendar", "people", "admin")."""
    return json.loads((documents_dir() / DOCUMENTS[api]).read_text(encoding="utf-8"))


def iter_methods(resource: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from resource.get("methods", {}).values()
    for child in resource.get("resources", {}).values():
        yield from iter_methods(child)


@cache
def methods() -> dict[str, dict[str, Any]]:
    """Every method of the four documents by its discovery id (``gmail.users.messages.list``)."""
    found: dict[str, dict[str, Any]] = {}
    for api in DOCUMENTS:
        for method in iter_methods(document(api)):
            found[method["id"]] = method
    return found


def method_scopes(method_id: str) -> frozenset[str]:
    return frozenset(methods()[method_id].get("scopes", ()))


@cache
def all_scopes() -> frozenset[str]:
    """Every scope the four APIs define (what the demo domain authorises Cadence's DWD for)."""
    scopes: set[str] = set()
    for api in DOCUMENTS:
        scopes.update(document(api).get("auth", {}).get("oauth2", {}).get("scopes", {}))
    return frozenset(scopes)
