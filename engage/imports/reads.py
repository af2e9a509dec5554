"""Reads for the CSV import wizard's pages: the user's recent imports, sample values per column,
a preview of the first rows under a mapping, and the problems of the row report."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from itertools import islice

from copilot.models import Organization, User
from engage.imports import parsing
from engage.imports.outcomes import CREATED, UPDATED
from engage.imports.rows import CleanRow, clean_row, columns_for
from engage.models import ContactImport
from engage.services.profile import phone_region_for


def import_list(*, organization: Organization, user: User, limit: int = 50) -> list[ContactImport]:
    """The user's recent imports, newest first."""
    return list(
        ContactImport.objects.for_org(organization).filter(created_by=user).order_by("-created_at")[:limit]
    )


def import_samples(
    *, contact_import: ContactImport, per_column: int = 3, scan_rows: int = 50
) -> list[list[str]]:
    """Up to ``per_column`` non-empty values per column, from the first rows."""
    samples: list[list[str]] = [[] for _ in contact_import.headers]
    with contact_import.file.open("rb") as fileobj:
        rows = parsing.iter_rows(
            fileobj, encoding=contact_import.encoding, delimiter=contact_import.delimiter
        )
        for _, cells in islice(rows, scan_rows):
            for index, cell in enumerate(cells[: len(samples)]):
                if cell.strip() and len(samples[index]) < per_column:
                    samples[index].append(cell.strip())
    return samples


def import_preview(
    *, contact_import: ContactImport, mapping: dict[str, str], limit: int = 5
) -> list[CleanRow]:
    """The first rows as ``mapping`` would import them, with their problems."""
    columns = columns_for({i: k for i, k in mapping.items() if k}, contact_import.headers)
    with contact_import.file.open("rb") as fileobj:
        rows = parsing.iter_rows(
            fileobj, encoding=contact_import.encoding, delimiter=contact_import.delimiter
        )
        region = phone_region_for(contact_import.created_by) if contact_import.created_by_id else None
        return [
            clean_row(n, cells, columns, len(contact_import.headers), region=region)
            for n, cells in islice(rows, limit)
        ]


@dataclass(frozen=True)
class ReportRow:
    row: str
    outcome: str
    column: str
    message: str
    email: str
    name: str


def import_report_rows(*, contact_import: ContactImport, limit: int = 200) -> tuple[list[ReportRow], bool]:
    """The report's rows that need a look (errors, skips, and imported rows with a note): the
    first ``limit`` of them, and whether there are more."""
    if not contact_import.report:
        return [], False
    found: list[ReportRow] = []
    with contact_import.report.open("rb") as raw:
        reader = csv.reader(io.TextIOWrapper(raw, encoding="utf-8-sig", newline=""))
        next(reader, None)
        for cells in reader:
            number, outcome, column, message, email, name = (cells + [""] * 6)[:6]
            if outcome in (CREATED, UPDATED) and not message:
                continue
            if len(found) == limit:
                return found, True
            found.append(ReportRow(number, outcome, column, message, email, name))
    return found, False
