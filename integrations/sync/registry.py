"""The handler registry: where synced records go, keyed by kind (``"email"``, ``"calendar"``,
``"contacts"``, ``"crm"``).

One of the sync engine's two registries; the other is the provider registry
(``integrations.base``), where each provider supplies its sync source. ``integrations`` does not
know what is stored: copilot registers its ingestion and engage its CRM handler from their
``AppConfig.ready``. Handlers must be idempotent upserts keyed on provider ids: the engine may
deliver the same records again after a crash or a full resync.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from integrations.records import MailboxContext, Record

CRM = "crm"  # the kind of the CRM handler (one per installation: engage's)

MailHandler = Callable[[MailboxContext, Sequence[Record]], None]

_handlers: dict[str, list[Any]] = {}


def register_handler(kind: str, handler: Any, *, only: bool = False) -> None:
    """Add ``handler`` for ``kind``; ``only`` makes it the kind's one handler (the CRM's)."""
    handlers = _handlers.setdefault(kind, [])
    if only:
        handlers.clear()
    if handler not in handlers:
        handlers.append(handler)


def unregister_handler(kind: str, handler: Any = None) -> None:
    """Remove ``handler`` for ``kind`` (every handler of ``kind`` when None)."""
    if handler is None:
        _handlers.pop(kind, None)
    elif handler in _handlers.get(kind, []):
        _handlers[kind].remove(handler)


def handlers_of(kind: str) -> tuple[Any, ...]:
    return tuple(_handlers.get(kind, ()))


def deliver(context: MailboxContext, records: Sequence[Record]) -> None:
    """Hand ``records`` to every handler of ``context.kind``, in the caller's transaction."""
    if not records:
        return
    for handler in handlers_of(context.kind):
        handler(context, records)
