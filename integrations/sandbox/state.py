"""The per-server in-memory store the sandbox providers keep their data in.

One ``SandboxState`` per running server, so two sandboxes (e.g. one per pytest-xdist worker) never
share data. Each provider keeps a typed store object under its own key; the server holds ``lock``
while a provider handler runs, so handlers may read and mutate their store without further locking.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class SandboxState:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._stores: dict[str, Any] = {}

    def store(self, key: str, factory: Callable[[], T]) -> T:
        """The store kept under ``key``, created with ``factory()`` on first use (or after reset)."""
        with self.lock:
            if key not in self._stores:
                self._stores[key] = factory()
            return self._stores[key]

    def clear(self) -> None:
        with self.lock:
            self._stores.clear()
