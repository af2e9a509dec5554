"""A bounded log of the requests clients sent, so tests can assert on them (scopes, headers, …).

Credentials never enter it: Authorization and Cookie values and secret-bearing body fields are
replaced before an entry is stored.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections import deque
from typing import Any
from urllib.parse import parse_qs

from integrations.sandbox.routing import Request

REDACTED = "[redacted]"
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
SECRET_FIELDS = frozenset(
    {
        "access_token",
        "assertion",
        "client_assertion",
        "client_secret",
        "code",
        "code_verifier",
        "id_token",
        "password",
        "refresh_token",
        "token",  # Google's revoke endpoint
    }
)
MAX_LOGGED_BODY = 64 * 1024


class RequestLog:
    def __init__(self, max_entries: int = 1000) -> None:
        self._lock = threading.Lock()
        self._entries: deque[dict[str, Any]] = deque(maxlen=max_entries)

    def record(self, request: Request, status: int) -> None:
        entry = {
            "at": dt.datetime.now(dt.UTC).isoformat(),
            "method": request.method,
            "path": request.path,
            "query": {key: _redact_values(key, values) for key, values in request.query.items()},
            "headers": {name: _redact_header(name, value) for name, value in request.headers.items()},
            "body": _loggable_body(request),
            "status": status,
        }
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _redact_header(name: str, value: str) -> str:
    if name.lower() not in SECRET_HEADERS:
        return value
    scheme, _, credentials = value.partition(" ")
    # Keep the scheme ("Bearer", "Basic"): tests may assert how the client authenticated.
    return f"{scheme} {REDACTED}" if credentials and name.lower() != "cookie" else REDACTED


def _redact_values(key: str, values: list[str]) -> list[str]:
    return [REDACTED] * len(values) if key in SECRET_FIELDS else values


def _loggable_body(request: Request) -> Any:
    if not request.body:
        return None
    if len(request.body) > MAX_LOGGED_BODY:
        return {"_truncated_bytes": len(request.body)}
    if request.content_type == "application/x-www-form-urlencoded":
        try:
            parsed = parse_qs(request.body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            return {"_undecodable_bytes": len(request.body)}
        return {key: _redact_values(key, values)[0] for key, values in parsed.items()}
    if request.content_type.endswith("json"):
        try:
            return _redact_json(json.loads(request.body))
        except ValueError:
            pass
    return {"_bytes": len(request.body), "_content_type": request.content_type}


def _redact_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: REDACTED if k in SECRET_FIELDS else _redact_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_json(item) for item in value]
    return value
