"""Engage's background tasks. Thin: each takes ids, loads, and calls one service (STYLE.md)."""

from __future__ import annotations

from celery import shared_task

from engage.services import imports

# A pass over the largest allowed file takes minutes; an hour means something is wrong. The
# soft limit lets the service mark the import failed; the hard one stops a stuck worker.
IMPORT_SOFT_LIMIT = 60 * 60
IMPORT_HARD_LIMIT = IMPORT_SOFT_LIMIT + 120


@shared_task(
    name="engage.contact_import_validate",
    ignore_result=True,
    soft_time_limit=IMPORT_SOFT_LIMIT,
    time_limit=IMPORT_HARD_LIMIT,
)
def contact_import_validate(import_id: int) -> None:
    imports.import_validate(import_id=import_id)


@shared_task(
    name="engage.contact_import_run",
    ignore_result=True,
    soft_time_limit=IMPORT_SOFT_LIMIT,
    time_limit=IMPORT_HARD_LIMIT,
)
def contact_import_run(import_id: int) -> None:
    imports.import_run(import_id=import_id)
