"""Where synced records go: feature apps register one handler per kind (email, calendar, contacts).

``integrations`` fetches and turns provider data into ``integrations.records``; it does not know
what is stored. copilot registers its ingestion (people, companies, activities, ignore/block) from
its ``AppConfig.ready``. Handlers must be idempotent upserts keyed on provider ids: the engine may
deliver the same records again after a crash or a full resync.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from integrations.records import MailboxContext, Record

logger = logging.getLogger(__name__)

Handler = Callable[[MailboxContext, Sequence[Record]], None]
_handlers: dict[str, list[Handler]] = {}


def register_ingest_handler(kind: str, handler: Handler) -> None:
    handlers = _handlers.setdefault(kind, [])
    if handler not in handlers:
        handlers.append(handler)


def unregister_ingest_handler(kind: str, handler: Handler) -> None:
    if handler in _handlers.get(kind, []):
        _handlers[kind].remove(handler)


def deliver(context: MailboxContext, records: Sequence[Record]) -> None:
    """Hand ``records`` to every handler of ``context.kind``, in the caller's transaction."""
    if not records:
        return
    for handler in _handlers.get(context.kind, ()):
        handler(context, records)
