"""Injected failures: the next N requests matching a path regex (and method) get a canned answer.

Tests use them to drive the client's failure paths — 429 with Retry-After, 5xx, slow responses for
timeouts — through the real client library, without the provider emulators knowing about it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class InvalidFault(ValueError):
    pass


@dataclass
class Fault:
    id: int
    path: re.Pattern[str]  # searched (not fully matched) in the request path, query string excluded
    method: str | None
    status: int | None  # None with a delay: answer normally, only late
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None  # JSON to send; None lets the owning provider pick its usual error body
    remaining: int | None = 1  # None: until cleared
    delay_seconds: float = 0.0

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and bool(self.path.search(path))

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "path": self.path.pattern,
            "method": self.method,
            "status": self.status,
            "headers": self.headers,
            "body": self.body,
            "times": self.remaining,
            "delay_seconds": self.delay_seconds,
        }


def parse_fault(spec: Mapping[str, Any], fault_id: int) -> Fault:
    """Validate the JSON a test posts to ``/_sandbox/faults``."""
    if not isinstance(spec, Mapping):
        raise InvalidFault("fault must be a JSON object")
    path = spec.get("path")
    if not isinstance(path, str) or not path:
        raise InvalidFault("'path' (a regex) is required")
    try:
        pattern = re.compile(path)
    except re.error as exc:
        raise InvalidFault(f"'path' is not a valid regex: {exc}") from exc
    method = spec.get("method")
    if method is not None and not isinstance(method, str):
        raise InvalidFault("'method' must be a string")
    status = spec.get("status")
    if status is not None and (not isinstance(status, int) or not 100 <= status <= 599):
        raise InvalidFault("'status' must be an HTTP status code")
    delay = spec.get("delay_seconds") or 0
    if not isinstance(delay, int | float) or delay < 0:
        raise InvalidFault("'delay_seconds' must be a non-negative number")
    if status is None and not delay:
        raise InvalidFault("a fault needs a 'status', a 'delay_seconds', or both")
    headers = spec.get("headers") or {}
    if not isinstance(headers, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str | int | float) for k, v in headers.items()
    ):
        raise InvalidFault("'headers' must map names to strings")
    times = spec.get("times", 1)
    if times is not None and (not isinstance(times, int) or times < 1):
        raise InvalidFault("'times' must be a positive integer, or null for until cleared")
    return Fault(
        id=fault_id,
        path=pattern,
        method=method.upper() if method else None,
        status=status,
        headers={k: str(v) for k, v in headers.items()},
        body=spec.get("body"),
        remaining=times,
        delay_seconds=float(delay),
    )


class FaultBook:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._last_id = 0

    def __getstate__(self) -> dict[str, Any]:
        # Kept in a provider store (Graph's seeded faults), so saved with the state file; the lock
        # does not pickle.
        with self._lock:
            return {"faults": list(self._faults), "last_id": self._last_id}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._lock = threading.Lock()
        self._faults = state["faults"]
        self._last_id = state["last_id"]

    def add(self, spec: Mapping[str, Any]) -> Fault:
        with self._lock:
            self._last_id += 1
            fault = parse_fault(spec, self._last_id)
            self._faults.append(fault)
            return fault

    def take(self, method: str, path: str) -> Fault | None:
        """The oldest fault matching this request, spending one of its uses."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining == 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def list(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def clear(self) -> int:
        with self._lock:
            count = len(self._faults)
            self._faults.clear()
            return count
