"""The 5-minute sync dispatcher (B13, G5) and its Celery tasks.

The dispatcher fans out over the registered providers' sync sources: ``fan_out_over_providers``
(from ``IntegrationsConfig.ready``) fills its table with one *fan-out* per ``sync_name`` the
sources bring ("mail" for every mailbox provider, "salesforce"); ``register_sync`` is that table's
entry, not a registry of its own. Every 5 minutes celery-beat runs
``integrations.dispatch_syncs``, which calls each fan-out; a fan-out enqueues one task per due
sync-state row (passing ids only) and returns how many it enqueued. One failing fan-out never
stops the others.

A fan-out may also bring a per-connection variant: ``request_first_sync`` (asked by governance
when an admin finishes connecting) runs those for one connection on commit, so the first sync
starts at once instead of at the next beat. The dispatcher imports no engine: the engine
registers itself here, so governance can ask for a sync without an import circle.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from celery import shared_task
from django.db import transaction

from integrations.base import get_source, providers
from integrations.sync.policy import RUN_EXPIRES_SECONDS

logger = logging.getLogger(__name__)

FanOut = Callable[[], int]
ConnectionFanOut = Callable[[int], int]
_fanouts: dict[str, FanOut] = {}
_connection_fanouts: dict[str, ConnectionFanOut] = {}


def register_sync(kind: str, fanout: FanOut, *, for_connection: ConnectionFanOut | None = None) -> None:
    _fanouts[kind] = fanout
    if for_connection is not None:
        _connection_fanouts[kind] = for_connection


def fan_out_over_providers() -> None:
    """One table entry per fan-out the registered providers' sources bring (``base.get_source``)."""
    for provider in providers():
        source = get_source(provider.key)
        if source is not None:
            register_sync(
                source.sync_name, source.fan_out, for_connection=getattr(source, "fan_out_connection", None)
            )


def unregister_sync(kind: str) -> None:
    _fanouts.pop(kind, None)
    _connection_fanouts.pop(kind, None)


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


def dispatch_connection(connection_id: int) -> int:
    """Run the per-connection fan-outs for one connection; returns how many runs were enqueued."""
    return sum(int(fanout(connection_id)) for fanout in list(_connection_fanouts.values()))


RowRunner = Callable[..., None]
_row_runner: list[RowRunner] = []


def set_row_runner(runner: RowRunner) -> None:
    """The engine's "run this row" (``integrations.sync.tasks.enqueue_sync``), set at start-up."""
    _row_runner[:] = [runner]


def request_run(sync_state_id: int, *, force: bool = False) -> None:
    """Run one row once the caller's transaction commits (an admin's "Retry now")."""
    transaction.on_commit(lambda: _row_runner[0](sync_state_id, force=force))


def request_first_sync(connection_id: int) -> None:
    """Start the due runs of one connection once the caller's transaction commits."""
    transaction.on_commit(
        lambda: sync_connection_now.apply_async(
            kwargs={"connection_id": connection_id}, expires=RUN_EXPIRES_SECONDS
        )
    )


@shared_task(name="integrations.dispatch_syncs", ignore_result=True)
def dispatch_syncs() -> dict[str, int]:
    return dispatch_all()


@shared_task(name="integrations.sync_connection_now", ignore_result=True)
def sync_connection_now(connection_id: int) -> int:
    """Start the due runs of one connection at once (its first sync right after the admin
    finished connecting) instead of waiting for the next 5-minute beat."""
    return dispatch_connection(connection_id)
