"""Outlook throttling per (app, mailbox): at most 4 requests in flight (the 5th gets 429
``ApplicationThrottled`` "Application is over its MailboxConcurrency limit." with ``Retry-After``)
and, when a test seeds one, a request budget per time window (real service: 10,000 per 10 minutes).

Handlers run under the sandbox's global state lock, which would serialise every request. So the
Graph pipeline counts a request as in flight *before* it waits for that lock, and sleeps the seeded
artificial latency with the lock released: parallel clients then really overlap, as they would
against Exchange.
"""

# Reference: https://learn.microsoft.com/en-us/graph/throttling-limits#outlook-service-limits

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from integrations.sandbox.state import SandboxState

STORE_KEY = "microsoft.throttle"
Key = tuple[str, str]  # (client_id, mailbox user id)


@dataclass(frozen=True)
class Refusal:
    reason: str  # "concurrency" | "budget"
    retry_after: int


class Throttle:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight: dict[Key, int] = {}
        self._windows: dict[Key, deque[float]] = {}

    def __reduce__(self) -> tuple[type[Throttle], tuple[()]]:
        # Saved with the state file as a fresh one: requests in flight and monotonic-clock
        # windows mean nothing to the next process.
        return (Throttle, ())

    def enter(self, key: Key, *, concurrency: int, budget: tuple[int, float] | None) -> Refusal | None:
        """Count a request in, or say why it is refused (then it is not counted)."""
        now = time.monotonic()
        with self._lock:
            if self._in_flight.get(key, 0) >= concurrency:
                return Refusal("concurrency", 1)
            if budget is not None:
                limit, seconds = budget
                window = self._windows.setdefault(key, deque())
                while window and window[0] <= now - seconds:
                    window.popleft()
                if len(window) >= limit:
                    return Refusal("budget", math.ceil(window[0] + seconds - now))
                window.append(now)
            self._in_flight[key] = self._in_flight.get(key, 0) + 1
            return None

    def in_flight(self) -> int:
        """Requests counted in and not yet answered, over every (app, mailbox)."""
        with self._lock:
            return sum(self._in_flight.values())

    def leave(self, key: Key) -> None:
        with self._lock:
            remaining = self._in_flight.get(key, 0) - 1
            if remaining > 0:
                self._in_flight[key] = remaining
            else:
                self._in_flight.pop(key, None)


def throttle(state: SandboxState) -> Throttle:
    return state.store(STORE_KEY, Throttle)


@contextmanager
def released(lock: threading.RLock) -> Iterator[None]:
    """Let go of the state lock the server holds around handlers, and take it back after."""
    try:
        lock.release()
    except RuntimeError:  # not held (a handler called directly): nothing to release
        yield
        return
    try:
        yield
    finally:
        lock.acquire()
