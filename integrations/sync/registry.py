"""The sync engine's two registries: the providers' sources and the feature apps' handlers.

- **Sources** (``register_source``): a provider package's sync source, keyed by provider
  (``"google"``, ``"microsoft"``): it fetches and turns answers into ``integrations.records``.
  ``IntegrationsConfig.ready`` registers them beside the providers themselves.
- **Handlers** (``register_handler``): where synced records go, keyed by kind (``"email"``,
  ``"calendar"``, ``"contacts"``, ``"crm"``). ``integrations`` does not know what is stored:
  copilot registers its ingestion and engage its CRM handler from their ``AppConfig.ready``.
  Handlers must be idempotent upserts keyed on provider ids: the engine may deliver the same
  records again after a crash or a full resync.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from integrations.records import MailboxContext, Record
from integrations.sync.source import MailboxSource

CRM = "crm"  # the kind of the CRM handler (one per installation: engage's)

MailHandler = Callable[[MailboxContext, Sequence[Record]], None]

_sources: dict[str, MailboxSource] = {}
_handlers: dict[str, list[Any]] = {}


def register_source(source: MailboxSource) -> None:
    _sources[source.provider] = source


def get_source(provider: str) -> MailboxSource | None:
    return _sources.get(provider)


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
