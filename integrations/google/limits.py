"""Gmail's per-user quota, respected before Google has to refuse (provider-facts A5).

Every Gmail call reserves its quota units for the mailbox first, in counters every worker shares
through Django's cache. ``settings.GMAIL_USER_QUOTA`` is "<units>/<seconds>": "15000/60" for
current Google Cloud projects, "250/1" for projects on the older per-second moving average.

Google measures a sliding window, so the window is cut into ``SLOTS`` slots and a reservation
counts the current slot plus the ``SLOTS`` before it: that span always covers the last
``seconds``, so no sliding window ever holds more than ``units``. Google charges a call somewhere
between sending it and answering it (a batch part by part), so once a call is answered its units
move to the slot of that moment (``spend``): a slow batch is never counted as older than Google
counts it. When the window is full the
limiter sleeps if room frees up within ``MAX_SLEEP_SECONDS``, and otherwise raises
``ProviderThrottled(retry_after=…)`` so the sync engine reschedules the mailbox instead of
sending a storm of requests Google would refuse with 429.

Reference: https://developers.google.com/workspace/gmail/api/reference/quota
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured

from integrations.exceptions import ProviderThrottled

logger = logging.getLogger(__name__)

SLOTS = 10
MAX_SLEEP_SECONDS = 1.5
CACHE_PREFIX = "integrations.google.quota"

# Quota units per Gmail method (provider-facts A5); methods not listed cost 5.
DEFAULT_UNITS = 5
UNITS = {
    "users.getProfile": 1,
    "users.history.list": 2,
    "users.labels.list": 1,
    "users.labels.get": 1,
    "users.messages.list": 5,
    "users.messages.get": 5,
    "users.messages.send": 100,
    "users.threads.get": 10,
    "users.threads.list": 10,
}


def units_of(method: str) -> int:
    return UNITS.get(method, DEFAULT_UNITS)


@dataclass(frozen=True)
class QuotaSetting:
    units: int
    seconds: float

    @classmethod
    def parse(cls, value: str) -> QuotaSetting:
        try:
            units, seconds = str(value).split("/", 1)
            parsed = cls(int(units), float(seconds))
        except ValueError as exc:
            raise ImproperlyConfigured(f'GMAIL_USER_QUOTA must look like "15000/60", not {value!r}.') from exc
        if parsed.units <= 0 or parsed.seconds <= 0:
            raise ImproperlyConfigured("GMAIL_USER_QUOTA needs positive units and seconds.")
        return parsed


def wall_clock() -> float:
    """The limiters' clock when none is given: seconds since the epoch. Read when a limiter is
    made, so a test can move every limiter's time forward instead of waiting for it."""
    return time.time()


class GmailQuota:
    """The quota of one mailbox, shared by every worker process through the cache."""

    def __init__(
        self,
        address: str,
        *,
        setting: QuotaSetting | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.setting = setting or QuotaSetting.parse(settings.GMAIL_USER_QUOTA)
        self.slot_seconds = self.setting.seconds / SLOTS
        self._prefix = f"{CACHE_PREFIX}:{hashlib.sha256(address.lower().encode()).hexdigest()[:24]}"
        self._clock = clock or wall_clock
        self._sleep = sleep
        self.slept = 0.0  # seconds this limiter waited (stats)

    @contextlib.contextmanager
    def spend(self, units: int) -> Iterator[None]:
        """Reserve ``units`` for the call made inside the block; when it is answered, count them
        at that moment."""
        units = min(max(units, 0), self.setting.units)  # one call can never need more than all of it
        slot = self.reserve(units)
        try:
            yield
        finally:
            self._settle(slot, units)

    def reserve(self, units: int) -> int:
        """Take ``units`` from the window, waiting briefly or raising ``ProviderThrottled``.
        Returns the slot they were counted in."""
        while True:
            now = self._clock()
            slot = math.floor(now / self.slot_seconds)
            if not units:
                return slot
            keys = [self._key(slot - back) for back in range(SLOTS + 1)]  # current slot first
            mine = self._add(keys[0], units)
            if mine is None:
                continue
            earlier = cache.get_many(keys[1:])
            older = [int(earlier.get(key) or 0) for key in reversed(keys[1:])]  # oldest first
            used = mine + sum(older)
            if used <= self.setting.units:
                return slot
            _decr(keys[0], units)
            wait = self._wait(slot, now, older, excess=used - self.setting.units)
            if wait <= MAX_SLEEP_SECONDS:
                self.slept += wait
                self._sleep(wait)
                continue
            logger.info("google.quota.exhausted", extra={"retry_after": wait})
            raise ProviderThrottled(
                "Cadence paused this mailbox for a moment to stay within Gmail's per-user quota.",
                retry_after=wait,
                code="quota",
            )

    def _settle(self, slot: int, units: int) -> None:
        now_slot = math.floor(self._clock() / self.slot_seconds)
        if not units or now_slot == slot:
            return
        self._add(self._key(now_slot), units)  # count it later first: never under-count meanwhile
        _decr(self._key(slot), units)

    def _add(self, key: str, units: int) -> int | None:
        """The slot's new total, or None when it vanished between creating and adding."""
        cache.add(key, 0, timeout=math.ceil(self.setting.seconds + 2 * self.slot_seconds) + 1)
        try:
            return int(cache.incr(key, units))
        except ValueError:
            return None

    def _wait(self, slot: int, now: float, older: list[int], *, excess: int) -> float:
        """Seconds until enough of the oldest slots leave the counted span."""
        freed = 0
        for index, spent in enumerate(older):
            freed += spent
            if freed >= excess:
                return max(0.0, (slot + 1 + index) * self.slot_seconds - now) + 0.01
        return max(0.0, (slot + 1 + SLOTS) * self.slot_seconds - now) + 0.01

    def _key(self, slot: int) -> str:
        return f"{self._prefix}:{slot}"


def _decr(key: str, units: int) -> None:
    with contextlib.suppress(ValueError):  # already expired: nothing left to give back
        cache.decr(key, units)
