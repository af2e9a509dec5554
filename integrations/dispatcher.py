"""The 5-minute sync dispatcher (B13, G5).

Feature apps register a *fan-out* function per kind of sync (e.g. "gmail", "salesforce") from
their ``AppConfig.ready``. Every 5 minutes celery-beat runs ``integrations.dispatch_syncs``, which
calls each fan-out; a fan-out enqueues one task per due sync-state row (passing ids only) and
returns how many it enqueued. One failing fan-out never stops the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)

FanOut = Callable[[], int]
_fanouts: dict[str, FanOut] = {}


def register_sync(kind: str, fanout: FanOut) -> None:
    _fanouts[kind] = fanout


def unregister_sync(kind: str) -> None:
    _fanouts.pop(kind, None)


def registered_syncs() -> list[str]:
    return sorted(_fanouts)


def dispatch_all() -> dict[str, int]:
    """Run every registered fan-out; returns kind -> tasks enqueued (-1 where it failed)."""
    results: dict[str, int] = {}
    for kind, fanout in list(_fanouts.items()):
        try:
            results[kind] = int(fanout())
        except Exception:
            logger.exception("sync.dispatch_failed", extra={"sync_kind": kind})
            results[kind] = -1
    logger.info("sync.dispatched", extra={"enqueued": results})
    return results
