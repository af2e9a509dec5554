"""Keeping a sandbox's state across restarts: every provider store in one file, loaded at start.

``make run``'s sandbox keeps it in ``var/sandbox/state.pickle`` (``SANDBOX_STATE_FILE``), next to
its CA, so OAuth grants, refresh tokens, Gmail history ids, sync tokens, query cursors and the
records Cadence wrote outlive a restart. Tests' sandboxes give no file and stay in memory.

The file is a pickle. That is acceptable here and nowhere else: the file is local, written and read
only by the sandbox itself (a loopback-only development tool), never received from anyone; loading
a pickle runs code, so never point the sandbox at a file you did not get from it. Stores holding
objects that do not pickle say how to rebuild them (``__getstate__``/``__setstate__``: RSA keys,
locks, compiled queries, transient throttling counters).

Format: two pickles in a row, a header ``{"format": FORMAT_VERSION, "keys": [...], "saved_at": …}``
and then ``{key: store}``. A file that does not load — truncated, from another ``FORMAT_VERSION``,
classes that no longer exist — is logged, renamed ``<name>.unreadable`` and the sandbox starts
fresh: a bad file never stops the start. Bump ``FORMAT_VERSION`` when a store changes shape in a way
an older file would not satisfy (a new attribute every method relies on, a renamed class).

Writes are atomic (a temporary file in the same folder, then ``os.replace``) and mode 0600.
``StateSaver`` writes in the background, at most every ``SAVE_INTERVAL_SECONDS`` and only after
something changed, and once more when the server stops.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import pickle
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from integrations.sandbox.state import SandboxState

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
SAVE_INTERVAL_SECONDS = 2.0
UNREADABLE_SUFFIX = ".unreadable"


class UnreadableStateFile(ValueError):
    pass


class StateFile:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    @property
    def set_aside_path(self) -> Path:
        return self.path.with_name(self.path.name + UNREADABLE_SUFFIX)

    def load(self, state: SandboxState) -> bool:
        """Put the saved stores into ``state``. False when there is no file, or when it could not
        be read (then it is set aside and ``state`` keeps its fresh demo data)."""
        started = time.perf_counter()
        try:
            with self.path.open("rb") as file:
                header = pickle.load(file)  # noqa: S301 - our own local file, see the module docstring
                _check_header(header)
                stores = pickle.load(file)  # noqa: S301
        except FileNotFoundError:
            return False
        except Exception as exc:  # whatever a bad file raises, the sandbox starts fresh
            self._set_aside(exc)
            return False
        if not isinstance(stores, dict) or sorted(stores) != header["keys"]:
            self._set_aside(UnreadableStateFile("the stores do not match the header's keys"))
            return False
        state.restore(stores)
        logger.info(
            "sandbox.state.loaded",
            extra={
                "path": str(self.path),
                "keys": header["keys"],
                "saved_at": header.get("saved_at"),
                "seconds": round(time.perf_counter() - started, 3),
            },
        )
        return True

    def save(self, state: SandboxState) -> int:
        """Write every store of ``state``; returns the ``state.changes`` the file holds."""
        with state.lock:  # a consistent picture: no handler runs while the stores are pickled
            changes = state.changes
            stores = state.stores()
            header = {
                "format": FORMAT_VERSION,
                "keys": sorted(stores),
                "saved_at": dt.datetime.now(dt.UTC).isoformat(),
            }
            data = pickle.dumps(header, pickle.HIGHEST_PROTOCOL) + pickle.dumps(
                stores, pickle.HIGHEST_PROTOCOL
            )
        self._write(data)
        return changes

    def _write(self, data: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # mkstemp creates the file 0600: it holds (sandbox-only) tokens.
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _set_aside(self, exc: BaseException) -> None:
        logger.warning(
            "sandbox.state.unreadable",
            extra={
                "path": str(self.path),
                "set_aside_as": str(self.set_aside_path),
                "reason": f"{type(exc).__name__}: {exc}",
            },
        )
        try:
            os.replace(self.path, self.set_aside_path)
        except OSError:
            logger.exception("sandbox.state.set_aside_failed", extra={"path": str(self.path)})


def _check_header(header: Any) -> None:
    if not isinstance(header, dict) or not isinstance(header.get("keys"), list):
        raise UnreadableStateFile("no header")
    if header.get("format") != FORMAT_VERSION:
        raise UnreadableStateFile(f"format {header.get('format')!r}, this sandbox reads {FORMAT_VERSION}")


class StateSaver:
    """Saves ``state`` to ``file`` from a background thread: at most every ``interval`` seconds,
    only when ``state.changes`` moved since the last save, and once more on ``stop()``."""

    def __init__(
        self, state: SandboxState, file: StateFile, *, interval: float = SAVE_INTERVAL_SECONDS
    ) -> None:
        self.state = state
        self.file = file
        self.interval = interval
        self._saved_changes = state.changes  # what is on disk (or loaded from it) counts as saved
        self._save_lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_error = ""

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="provider-sandbox-saver", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the thread and write what changed since its last save."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.save_if_changed()

    def save_if_changed(self) -> bool:
        """Write the state if it changed since the last save; True when it wrote."""
        with self._save_lock:
            if self.state.changes == self._saved_changes:
                return False
            started = time.perf_counter()
            try:
                self._saved_changes = self.file.save(self.state)
            except Exception as exc:  # a failed save must not stop the sandbox; the next one retries
                reason = f"{type(exc).__name__}: {exc}"
                if reason != self._last_error:  # once per distinct failure, not every interval
                    logger.exception("sandbox.state.save_failed", extra={"path": str(self.file.path)})
                self._last_error = reason
                return False
            self._last_error = ""
            logger.debug(
                "sandbox.state.saved",
                extra={"path": str(self.file.path), "seconds": round(time.perf_counter() - started, 3)},
            )
            return True

    def _run(self) -> None:
        while not self._stopping.wait(self.interval):
            self.save_if_changed()
