"""Writes ``config.celery.PERIODIC_TASKS`` into django-celery-beat's database scheduler."""

from __future__ import annotations

import json
import logging
from typing import Any

from django.db import DEFAULT_DB_ALIAS

logger = logging.getLogger(__name__)


def install_periodic_tasks(sender: Any = None, using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> int:
    """Create each declared periodic task that does not exist yet; returns how many were made.

    Rows that exist are not touched, so an interval or enabled flag changed in the Django admin
    survives the next deploy's ``migrate``.
    """
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    from config.celery import PERIODIC_TASKS

    created = 0
    for name, spec in PERIODIC_TASKS.items():
        if PeriodicTask.objects.using(using).filter(name=name).exists():
            continue
        interval, _ = IntervalSchedule.objects.using(using).get_or_create(
            every=spec["every_seconds"], period=IntervalSchedule.SECONDS
        )
        PeriodicTask.objects.using(using).create(
            name=name,
            task=spec["task"],
            interval=interval,
            expire_seconds=spec.get("expires_seconds"),
            description=spec.get("description", ""),
            kwargs=json.dumps({}),
        )
        created += 1
        logger.info("schedule.periodic_task_installed", extra={"task_name": name})
    return created
