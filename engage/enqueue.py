"""How an engage service starts a background task: ``enqueue_on_commit("crm_poll_run", poll.pk)``.

Tasks sit above services (a task loads by id and calls one service, STYLE.md), so a service never
imports ``engage.tasks``: it names the task here, and the task module is imported by its dotted
path when the caller's transaction commits. The import graph keeps one direction (tasks ->
services), and the call still goes through the task's ``delay``, so eager mode (the tests) runs it
in process; Celery's ``send_task`` would ignore eager mode.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.db import transaction

TASKS_MODULE = "engage.tasks"


def enqueue_on_commit(task: str, *args: Any, **kwargs: Any) -> None:
    """``engage.tasks.<task>.delay(*args, **kwargs)`` once the current transaction commits (at
    once outside a transaction)."""
    transaction.on_commit(lambda: getattr(import_module(TASKS_MODULE), task).delay(*args, **kwargs))
