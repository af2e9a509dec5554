"""The per-server store the sandbox providers keep their data in.

One ``SandboxState`` per running server, so two sandboxes (e.g. one per pytest-xdist worker) never
share data. Each provider keeps a typed store object under its own key; the server holds ``lock``
while a provider handler runs, so handlers may read and mutate their store without further locking.

It lives in memory; a server given a state file (``make run``'s sandbox) also saves the stores to
disk and loads them back at the next start (``state_file``). ``changes`` counts the requests that
may have changed something, so the saver knows when there is something to write.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

T = TypeVar("T")


class SandboxState:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._stores: dict[str, Any] = {}
        self.changes = 0

    def store(self, key: str, factory: Callable[[], T]) -> T:
        """The store kept under ``key``, created with ``factory()`` on first use (or after reset)."""
        with self.lock:
            if key not in self._stores:
                self._stores[key] = factory()
            return self._stores[key]

    def clear(self) -> None:
        with self.lock:
            self._stores.clear()

    def mark_changed(self) -> None:
        """Something may have changed (a provider request ran, data was seeded): save it soon."""
        with self.lock:
            self.changes += 1

    def stores(self) -> dict[str, Any]:
        """Every store by key (a copy of the mapping, not of the stores: hold ``lock`` to read them)."""
        with self.lock:
            return dict(self._stores)

    def restore(self, stores: Mapping[str, Any]) -> None:
        """Put stores loaded from a state file in place of the ones under the same keys."""
        with self.lock:
            self._stores.update(stores)
