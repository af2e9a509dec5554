"""At most ``settings.GRAPH_MAILBOX_CONCURRENCY`` Graph requests in flight per mailbox, across
threads and worker processes.

Outlook resources allow 4 concurrent requests per app and mailbox; a fifth is refused with 429
``ApplicationThrottled`` ("over its MailboxConcurrency limit"). Waiting a few milliseconds for a
slot is far cheaper than being told to come back in seconds, so every mailbox request takes a
slot (a JSON batch one per sub-request). Slots are N cache keys taken with ``cache.add`` (atomic on
Redis and the local-memory cache); each carries a lease so a killed worker's slot frees itself.

Reference: https://learn.microsoft.com/en-us/graph/throttling-limits#outlook-service-limits
"""

from __future__ import annotations

import hashlib
import random
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.cache import cache

from integrations.exceptions import ProviderThrottled

LEASE_SECONDS = 120  # longer than any single request (30 s timeout)
WAIT_SECONDS = 60.0


class _Waiter:
    def __init__(self, wait_seconds: float) -> None:
        self.deadline = time.monotonic() + wait_seconds
        self.pause = 0.002

    def wait(self) -> None:
        if time.monotonic() >= self.deadline:
            raise ProviderThrottled(
                "Every Microsoft Graph request slot of this mailbox stayed busy.",
                retry_after=30.0,
                code="MailboxConcurrency",
            )
        time.sleep(self.pause)
        self.pause = min(self.pause * 2, 0.05)


def _take_one(keys: list[str], token: str, waiter: _Waiter) -> str:
    while True:
        start = random.randrange(len(keys))  # noqa: S311 - spreads load, not a secret
        for key in keys[start:] + keys[:start]:
            if cache.add(key, token, timeout=LEASE_SECONDS):
                return key
        waiter.wait()


def _release(key: str, token: str) -> None:
    # Only free our own slot: after an expired lease the key may be someone else's now.
    if cache.get(key) == token:
        cache.delete(key)


@contextmanager
def mailbox_slot(
    mailbox: str, *, limit: int, count: int = 1, wait_seconds: float = WAIT_SECONDS
) -> Iterator[None]:
    """Hold ``count`` (at most ``limit``) of the ``limit`` slots of ``mailbox`` during the block.

    Taking several slots happens under a per-mailbox mutex, so two multi-slot takers never each
    hold part of what the other waits for. Raises ``ProviderThrottled`` when no slot frees up
    within ``wait_seconds`` (the engine then reschedules, as after a 429)."""
    limit = max(1, limit)
    count = max(1, min(count, limit))
    digest = hashlib.sha256(mailbox.lower().encode()).hexdigest()[:32]
    keys = [f"graph.mailbox_slot:{digest}:{index}" for index in range(limit)]
    token = uuid.uuid4().hex
    waiter = _Waiter(wait_seconds)
    held: list[str] = []
    try:
        if count == 1:
            held.append(_take_one(keys, token, waiter))
        else:
            mutex = f"graph.mailbox_slot:{digest}:taking"
            while not cache.add(mutex, token, timeout=LEASE_SECONDS):
                waiter.wait()
            try:
                while len(held) < count:
                    held.append(_take_one([k for k in keys if k not in held], token, waiter))
            finally:
                _release(mutex, token)
        yield
    finally:
        for key in held:
            _release(key, token)
