"""The Google emulator's clock (wall-clock time plus an offset tests can advance) and the RFC 3339
form Google's APIs write times in. Below the store and every per-user book that keeps time.
"""

from __future__ import annotations

import datetime as dt
import time


class Clock:
    """Wall-clock time plus an offset tests can advance (token expiry, sync-token age)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def now_dt(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.now(), dt.UTC)

    def advance(self, seconds: float) -> None:
        self.offset += seconds


def rfc3339(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
