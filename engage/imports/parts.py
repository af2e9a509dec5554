"""What each committed chunk of an import pass leaves for a worker taking the pass over: a part
file in the import's storage with the chunk's report lines and the emails and CRM ids it took
(which later rows are checked against). ``resume_point`` puts the committed chunks' parts
together; the parts are deleted when the pass ends (engage.services.imports).
"""

from __future__ import annotations

import io
import json

from engage.imports.outcomes import Batch, Resume, Tally
from engage.models import ContactImport


def _part_name(contact_import: ContactImport, start: int) -> str:
    return f"{_parts_folder(contact_import)}/{start:09d}.json"


def _parts_folder(contact_import: ContactImport) -> str:
    return f"imports/parts/{contact_import.pk}"


def part_write(contact_import: ContactImport, batch: Batch) -> None:
    """Written once the chunk is known to be this worker's and before it commits: a chunk that
    never commits leaves a part the next run overwrites, never a committed chunk without its
    part, and a worker that lost the pass never writes one."""
    storage = contact_import.file.storage
    name = _part_name(contact_import, batch.tally.processed - batch.rows)
    data = {
        "rows": batch.rows,
        "report": batch.report,
        "emails": batch.emails,
        "crm": [[kind, crm_id, number, email] for (kind, crm_id), (number, email) in batch.crm.items()],
    }
    if storage.exists(name):
        storage.delete(name)
    storage.save(name, io.BytesIO(json.dumps(data).encode()))


def resume_point(contact_import: ContactImport) -> Resume | None:
    """The committed chunks' parts put together, or None when one is missing."""
    storage = contact_import.file.storage
    done = contact_import.processed_rows
    rows, reports = 0, []
    resume = Resume(
        rows=done,
        tally=Tally(
            processed=done,
            created=contact_import.created_count,
            updated=contact_import.updated_count,
            skipped=contact_import.skipped_count,
            errors=contact_import.error_count,
        ),
    )
    while rows < done:
        name = _part_name(contact_import, rows)
        if not storage.exists(name):
            return None
        with storage.open(name, "rb") as part_file:
            part = json.load(part_file)
        if part["rows"] <= 0:
            return None
        reports.append(part["report"])
        resume.emails.update(part["emails"])
        resume.crm.update({(kind, crm_id): (number, email) for kind, crm_id, number, email in part["crm"]})
        rows += part["rows"]
    if rows != done:
        return None
    resume.report = "".join(reports)
    return resume


def parts_delete(contact_import: ContactImport) -> None:
    storage = contact_import.file.storage
    folder = _parts_folder(contact_import)
    try:
        names = storage.listdir(folder)[1]
    except (FileNotFoundError, NotImplementedError):
        return
    for name in names:
        storage.delete(f"{folder}/{name}")
