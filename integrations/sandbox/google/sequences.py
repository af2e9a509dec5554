"""Process-wide id sequences (Gmail message ids, People resource numbers).

Ids come from one sequence per kind for the whole process, so they stay unique across mailboxes and
resets. A state loaded from a state file moves its sequence past the ids it holds (``skip_past``),
so ids made after a restart never repeat saved ones.
"""

from __future__ import annotations

import threading


class IdSequence:
    def __init__(self, start: int) -> None:
        self._next = start
        self._lock = threading.Lock()

    def take(self) -> int:
        with self._lock:
            value = self._next
            self._next += 1
            return value

    def skip_past(self, used: int) -> None:
        """Never hand out ``used`` or anything below it again."""
        with self._lock:
            self._next = max(self._next, used + 1)
