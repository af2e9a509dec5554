"""CSV import of contacts (F1): the wizard's writes and the two background passes.

Status machine of ``ContactImport``: mapping → validating → validated → importing → done, or
failed from either pass. ``import_create`` checks the upload and guesses the columns;
``import_set_mapping`` saves the columns and queues the validation pass (``import_validate``,
which counts without writing contacts); ``import_start`` queues the import (``import_run``).
A background pass claims its import by setting ``started_at`` (engage/jobs.py). One that finds
it claimed by a worker that died takes it over: the validation pass starts again (it writes
nothing: re-reading is cheap), the import pass carries on after the last chunk it committed. Each
chunk commits with its counters and a part file in storage (its lines of the row report, and the
emails and CRM ids it took, which later rows are checked against): the pass taken over starts
from them, and the parts are deleted when the pass ends. Every pass ends in a final status, even
when it crashes.
"""

from __future__ import annotations

import io
import logging
import tempfile
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from copilot.models import Organization, User
from copilot.services.audit import audit_record
from engage.enqueue import enqueue_on_commit
from engage.imports import parsing, parts
from engage.imports.fields import guess_mapping, mapping_problems
from engage.imports.outcomes import Batch, Tally
from engage.imports.writer import ImportPass
from engage.jobs import (
    DATABASE_LOST,
    JobLost,
    job_claim,
    job_hand_back,
    job_is_dead,
    job_is_stale,
    job_save,
    jobs_fail_stale,
)
from engage.models import ContactImport
from engage.services.crm.linking import crm_push_queue, imported_crm_task
from integrations.workers import worker_owner

logger = logging.getLogger(__name__)

ALLOWED_SUFFIXES = (".csv", ".txt", ".tsv")
# A pass is killed at its time limit (engage/tasks.py); one "running" longer has lost its worker.
STALE_AFTER = timedelta(minutes=75)
WORKER_LOST = "The background worker stopped while this was running. Please try again."
WORKER_KEEPS_DYING = (
    "The background worker stopped again and again on the same rows. Please try again; if it "
    "happens again, split the file or contact support."
)
_COUNTERS = ["processed_rows", "created_count", "updated_count", "skipped_count", "error_count"]
_WORKER = ["worker", "heartbeat_at", "takeovers"]
Status = ContactImport.Status
_PASSES = (Status.VALIDATING, Status.IMPORTING)


# --- Upload -------------------------------------------------------------------------------------
def import_create(*, organization: Organization, actor: User, upload: UploadedFile) -> ContactImport:
    """Check the upload and keep it, with its encoding, delimiter, header, row count and the
    guessed columns. Raises ``ValidationError({"file": ...})`` and saves nothing when the file
    cannot be imported."""
    limit = settings.CONTACT_IMPORT_MAX_BYTES
    name = PurePath(upload.name or "contacts.csv").name
    if upload.size == 0:
        raise ValidationError({"file": "The file is empty."})
    if upload.size > limit:
        raise ValidationError(
            {
                "file": f"The file is {upload.size / (1024 * 1024):,.1f} MB; the limit is {_mb(limit)}. "
                "Split it into smaller files."
            }
        )
    try:
        info = parsing.inspect(
            upload,
            max_columns=settings.CONTACT_IMPORT_MAX_COLUMNS,
            max_line_bytes=settings.CONTACT_IMPORT_MAX_LINE_BYTES,
        )
    except parsing.NotACsvFile as exc:
        raise ValidationError({"file": str(exc)}) from exc
    if PurePath(name).suffix.lower() not in ALLOWED_SUFFIXES:
        raise ValidationError({"file": "Choose a .csv or .txt file (comma, semicolon or tab separated)."})
    contact_import = ContactImport(
        organization=organization,
        created_by=actor,
        original_name=name[:255],
        size_bytes=upload.size,
        encoding=info.encoding,
        delimiter=info.delimiter,
        headers=info.headers,
        row_count=info.row_count,
        mapping=guess_mapping(info.headers),
        validation=_encoding_facts(info),
    )
    upload.seek(0)
    contact_import.file.save(name, upload, save=False)
    contact_import.save()
    logger.info(
        "engage.import.uploaded",
        extra={"import_id": contact_import.pk, "rows": info.row_count, "encoding": info.encoding},
    )
    return contact_import


# Kept in ``ContactImport.validation`` from the upload on (the passes add their counts beside it):
# the lines of a mostly-UTF-8 file that are not UTF-8, for the mapping page to name.
ENCODING_FACTS = ("non_utf8_lines", "non_utf8_count", "non_utf8_samples")


def _encoding_facts(info: parsing.FileInfo) -> dict:
    if info.encoding != parsing.MIXED:
        return {}
    return {
        "non_utf8_lines": list(info.non_utf8_lines),
        "non_utf8_count": info.non_utf8_count,
        "non_utf8_samples": list(info.non_utf8_samples),
    }


def import_non_utf8_lines(contact_import: ContactImport) -> tuple[list[int], int, list[tuple[int, str]]]:
    """The first lines of the file that are read as Windows-1252, how many there are, and the
    first few as (line number, text read as Windows-1252)."""
    if contact_import.encoding != parsing.MIXED:
        return [], 0, []
    facts = contact_import.validation or {}
    lines = list(facts.get("non_utf8_lines") or [])
    samples = list(zip(lines, facts.get("non_utf8_samples") or [], strict=False))
    return lines, int(facts.get("non_utf8_count") or 0), samples


def _kept_facts(contact_import: ContactImport) -> dict:
    return {
        key: contact_import.validation[key]
        for key in ENCODING_FACTS
        if key in (contact_import.validation or {})
    }


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):,.1f} MB".replace(".0 MB", " MB")


# --- Mapping ------------------------------------------------------------------------------------
def import_can_remap(contact_import: ContactImport) -> bool:
    return contact_import.status in (Status.MAPPING, Status.VALIDATED, Status.FAILED)


@transaction.atomic
def import_set_mapping(
    *,
    contact_import: ContactImport,
    actor: User,
    mapping: dict[str, str],
    on_duplicate: str,
    owner_choice: str | None = None,
    assigned_owner: User | None = None,
) -> ContactImport:
    """Save the chosen columns and who owns the new contacts (``owner_choice``: me, a teammate —
    ``assigned_owner``, an active user of the organisation — or the column mapped to Owner;
    None: the column when one is mapped to Owner, else me), and queue the validation pass."""
    contact_import = ContactImport.objects.select_for_update().get(pk=contact_import.pk)
    if not import_can_remap(contact_import):
        raise ValidationError(
            f"The columns can no longer be changed: this import is {contact_import.get_status_display().lower()}."
        )
    mapping = {str(index): key for index, key in mapping.items() if key}
    problems = mapping_problems(mapping, contact_import.headers)
    if problems:
        raise ValidationError([message for _, message in problems])
    if on_duplicate not in ContactImport.OnDuplicate.values:
        raise ValidationError({"on_duplicate": "Choose what to do with contacts that already exist."})
    if owner_choice is None:
        owner_choice = (
            ContactImport.OwnerChoice.COLUMN if "owner" in mapping.values() else ContactImport.OwnerChoice.ME
        )
    _check_owner_choice(contact_import, mapping, owner_choice, assigned_owner)
    if contact_import.report:
        contact_import.report.delete(save=False)  # from a failed run; a new one will be written
    contact_import.mapping = mapping
    contact_import.on_duplicate = on_duplicate
    contact_import.owner_choice = owner_choice
    contact_import.assigned_owner = (
        assigned_owner if owner_choice == ContactImport.OwnerChoice.TEAMMATE else None
    )
    contact_import.status = Status.VALIDATING
    contact_import.validation = _kept_facts(contact_import)
    contact_import.failure_message = ""
    contact_import.started_at = contact_import.finished_at = None
    for counter in _COUNTERS:
        setattr(contact_import, counter, 0)
    _new_pass(contact_import)
    contact_import.save(
        update_fields=[
            "mapping",
            "on_duplicate",
            "owner_choice",
            "assigned_owner",
            "status",
            "validation",
            "failure_message",
            "started_at",
            "finished_at",
            "report",
            *_COUNTERS,
            *_WORKER,
        ]
    )
    enqueue_on_commit("contact_import_validate", contact_import.pk)
    return contact_import


def _check_owner_choice(
    contact_import: ContactImport, mapping: dict[str, str], owner_choice: str, assigned_owner: User | None
) -> None:
    Owner = ContactImport.OwnerChoice
    if owner_choice not in Owner.values:
        raise ValidationError({"owner_choice": "Choose who owns the new contacts."})
    owner_column = next(
        (contact_import.headers[int(i)] for i, key in mapping.items() if key == "owner"), None
    )
    if owner_choice == Owner.TEAMMATE and (
        assigned_owner is None
        or assigned_owner.organization_id != contact_import.organization_id
        or not assigned_owner.is_active
    ):
        raise ValidationError({"assigned_owner": "Choose the teammate who owns the new contacts."})
    if owner_choice == Owner.COLUMN and owner_column is None:
        raise ValidationError(
            {
                "owner_choice": "No column is imported as Owner: set the field of the owners’ email column to Owner."
            }
        )
    if owner_choice != Owner.COLUMN and owner_column is not None:
        raise ValidationError(
            {
                "owner_choice": f"Column “{owner_column}” is imported as Owner: choose “{Owner.COLUMN.label}”, "
                "or do not import that column."
            }
        )


# --- Validation pass ----------------------------------------------------------------------------
def import_validate(*, import_id: int) -> None:
    """The validation pass (a task's body): count what the import would do, write nothing."""
    contact_import = _claim(import_id, Status.VALIDATING)
    if contact_import is None:
        return
    runner = ImportPass(contact_import, dry_run=True, on_batch=_progress_saver(contact_import, counts=False))
    try:
        tally = runner.run()
    except JobLost:
        logger.info("engage.import.lost", extra={"import_id": import_id})
        return
    except DATABASE_LOST:
        _hand_back(contact_import, "contact_import_validate")
        return
    except Exception as exc:
        logger.exception("engage.import.validate_failed", extra={"import_id": import_id})
        _fail(contact_import, f"The check stopped after {runner.tally.processed:,} rows: {_describe(exc)}")
        return
    contact_import.validation = {
        **_kept_facts(contact_import),
        "rows": tally.processed,
        "create": tally.created,
        "update": tally.updated,
        "skip": tally.skipped,
        "error": tally.errors,
        "noted": tally.noted,
        "unknown_owners": runner.unknown_owners,
        "problems": tally.problems,
    }
    contact_import.processed_rows = tally.processed
    contact_import.status = Status.VALIDATED
    contact_import.finished_at = timezone.now()
    contact_import.save(update_fields=["validation", "processed_rows", "status", "finished_at"])


# --- Import pass --------------------------------------------------------------------------------
@transaction.atomic
def import_start(*, contact_import: ContactImport, actor: User) -> ContactImport:
    """Queue the import of a validated file."""
    contact_import = ContactImport.objects.select_for_update().get(pk=contact_import.pk)
    if contact_import.status != Status.VALIDATED:
        raise ValidationError(
            f"This import cannot start: it is {contact_import.get_status_display().lower()}, not checked and ready."
        )
    contact_import.status = Status.IMPORTING
    contact_import.started_at = contact_import.finished_at = None
    for counter in _COUNTERS:
        setattr(contact_import, counter, 0)
    _new_pass(contact_import)
    contact_import.save(update_fields=["status", "started_at", "finished_at", *_COUNTERS, *_WORKER])
    audit_record(
        organization=contact_import.organization,
        actor=actor,
        action="contact_import.started",
        target=contact_import.original_name,
        data={"import_id": contact_import.pk, "rows": contact_import.row_count},
    )
    enqueue_on_commit("contact_import_run", contact_import.pk)
    return contact_import


def import_run(*, import_id: int) -> None:
    """The import (a task's body): write the contacts batch by batch and the row report; or
    carry on one whose worker died after the last chunk it committed."""
    contact_import = _claim(import_id, Status.IMPORTING)
    if contact_import is None:
        return
    resume = None
    if contact_import.taken_over and contact_import.processed_rows:
        resume = parts.resume_point(contact_import)
        if resume is None:  # chunks committed without their parts (before parts were kept)
            _fail(contact_import, WORKER_LOST)
            return
    with tempfile.TemporaryFile() as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        runner = ImportPass(
            contact_import,
            dry_run=False,
            report=text,
            on_batch=_progress_saver(contact_import, counts=True),
            resume=resume,
        )
        try:
            tally = runner.run()
        except JobLost:  # another delivery has it now
            logger.info("engage.import.lost", extra={"import_id": import_id})
            return
        except DATABASE_LOST:  # the chunk was rolled back; the next delivery carries on from there
            _hand_back(contact_import, "contact_import_run")
            return
        except Exception as exc:
            logger.exception("engage.import.run_failed", extra={"import_id": import_id})
            _save_report(contact_import, text, raw)
            contact_import.save(update_fields=["report"])
            _fail(
                contact_import,
                f"The import stopped after {runner.tally.processed:,} rows: {_describe(exc)} "
                f"{runner.tally.created:,} contacts were created and {runner.tally.updated:,} updated before "
                "that; the row report lists them.",
            )
            return
        _save_report(contact_import, text, raw)
    _save_counts(contact_import, tally)
    contact_import.status = Status.DONE
    contact_import.finished_at = timezone.now()
    contact_import.save(update_fields=["report", "status", "finished_at", *_COUNTERS])
    parts.parts_delete(contact_import)
    audit_record(
        organization=contact_import.organization,
        actor=contact_import.created_by,
        action="contact_import.finished",
        target=contact_import.original_name,
        data={
            "import_id": contact_import.pk,
            "created": tally.created,
            "updated": tally.updated,
            "skipped": tally.skipped,
            "errors": tally.errors,
        },
    )
    if tally.created or tally.updated:
        # F2 for imports: no lookup per row (100k rows, 100k API calls). When the CRM settings
        # create people made here in Salesforce, a batched pass creates and links them (about
        # three API calls per 200); otherwise one capped pass links the new contacts by email
        # and the sync links the rest.
        task = imported_crm_task(contact_import.organization)
        if task == "crm_push_imported":
            crm_push_queue(contact_import)  # a job (engage/jobs.py) like this pass
        if task:
            enqueue_on_commit(task, import_id)


def _save_report(contact_import: ContactImport, text: io.TextIOWrapper, raw) -> None:
    text.flush()
    text.detach()  # the temporary file stays open for the storage to copy
    raw.seek(0)
    contact_import.report.save(f"import-{contact_import.pk}-rows.csv", File(raw), save=False)


# --- Shared by both passes ----------------------------------------------------------------------
def _claim(import_id: int, status: str) -> ContactImport | None:
    """Mark the queued pass as started, or take over one whose worker died; None when there is
    nothing (left) to do."""
    return job_claim(
        ContactImport,
        import_id,
        queued=status,
        running=status,
        worker=worker_owner("contact-import"),
        fail=lambda job: _fail(job, WORKER_KEEPS_DYING),
        related=("organization", "created_by"),
    )


def _hand_back(contact_import: ContactImport, task: str) -> None:
    logger.exception("engage.import.database_lost", extra={"import_id": contact_import.pk})
    if job_hand_back(contact_import, running=(contact_import.status,)):
        enqueue_on_commit(task, contact_import.pk)


def _progress_saver(contact_import: ContactImport, *, counts: bool) -> Callable[[Batch], None]:
    """Runs in each chunk's transaction: the counters (and the heartbeat) in one UPDATE that
    also checks the pass is still this worker's; for the import, then the chunk's part file."""
    running = (contact_import.status,)

    def save(batch: Batch) -> None:
        if counts:
            _save_counts(contact_import, batch.tally)
            job_save(contact_import, _COUNTERS, running=running)
            parts.part_write(contact_import, batch)
        else:
            contact_import.processed_rows = batch.tally.processed
            job_save(contact_import, ["processed_rows"], running=running)

    return save


def _new_pass(contact_import: ContactImport) -> None:
    """The previous pass's worker and heartbeat say nothing about the next one."""
    contact_import.worker, contact_import.heartbeat_at, contact_import.takeovers = "", None, 0


def _save_counts(contact_import: ContactImport, tally: Tally) -> None:
    contact_import.processed_rows = tally.processed
    contact_import.created_count = tally.created
    contact_import.updated_count = tally.updated
    contact_import.skipped_count = tally.skipped
    contact_import.error_count = tally.errors


def _fail(contact_import: ContactImport, message: str) -> None:
    contact_import.status = Status.FAILED
    contact_import.failure_message = message
    contact_import.finished_at = timezone.now()
    contact_import.save(update_fields=["status", "failure_message", "finished_at"])
    parts.parts_delete(contact_import)


def _describe(exc: Exception) -> str:
    from celery.exceptions import SoftTimeLimitExceeded

    if isinstance(exc, SoftTimeLimitExceeded):
        return "it ran out of time."
    if isinstance(exc, parsing.NotACsvFile):
        return str(exc)
    return f"an unexpected error ({type(exc).__name__}). It has been logged."


def import_for_page(*, contact_import: ContactImport, now: datetime | None = None) -> ContactImport:
    """``contact_import`` as the page shows it; writes nothing (state changes only on POST). A
    pass whose worker died is being taken over: ``contact_import.resuming`` is True. One silent
    far longer than it may run has lost its worker for good: it is shown failed (``WORKER_LOST``)
    as ``imports_fail_stale`` will store it within a minute, so the page stops waiting and the
    person can try again."""
    if job_is_stale(contact_import, running=_PASSES, after=STALE_AFTER, now=now):
        contact_import.status, contact_import.failure_message = Status.FAILED, WORKER_LOST
    contact_import.resuming = job_is_dead(contact_import, running=_PASSES, now=now)
    return contact_import


def imports_fail_stale(*, now: datetime | None = None) -> int:
    """The every-minute sweep's (``engage.jobs_resume_dead``): fail the passes silent for longer
    than they may run, saying the worker stopped. Returns how many."""
    failed = jobs_fail_stale(
        ContactImport,
        running=_PASSES,
        after=STALE_AFTER,
        fail=lambda contact_import: _fail(contact_import, WORKER_LOST),
        now=now,
    )
    return len(failed)
