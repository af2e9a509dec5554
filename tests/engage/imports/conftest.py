"""Imports set up through the services, the way the wizard does it."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from engage.models import ContactImport
from engage.services.imports import import_create, import_set_mapping, import_start


def upload(content: bytes | str, name: str = "contacts.csv") -> SimpleUploadedFile:
    data = content.encode() if isinstance(content, str) else content
    return SimpleUploadedFile(name, data, content_type="text/csv")


def report_rows(contact_import: ContactImport) -> list[dict[str, str]]:
    """The row report as dicts keyed by its short column names plus the original headers."""
    with contact_import.report.open("rb") as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        rows = list(csv.reader(text))
    header = ["row", "outcome", "column", "message", "email", "name", *rows[0][6:]]
    return [dict(zip(header, row, strict=False)) for row in rows[1:]]


@pytest.fixture
def import_file(acme, teammate, django_capture_on_commit_callbacks) -> Callable[..., ContactImport]:
    """Upload ``content`` as ``user`` (teammate by default), choose the columns (the guess unless
    ``mapping`` is given) and run the validation; with ``start`` also run the import."""

    def run(
        content: bytes | str,
        *,
        mapping: dict[str, str] | None = None,
        on_duplicate: str = "update",
        start: bool = True,
        user=None,
        name: str = "contacts.csv",
        owner_choice: str | None = None,
        assigned_owner=None,
    ) -> ContactImport:
        user = user or teammate
        contact_import = import_create(
            organization=user.organization, actor=user, upload=upload(content, name)
        )
        with django_capture_on_commit_callbacks(execute=True):
            import_set_mapping(
                contact_import=contact_import,
                actor=user,
                mapping=mapping if mapping is not None else contact_import.mapping,
                on_duplicate=on_duplicate,
                owner_choice=owner_choice,
                assigned_owner=assigned_owner,
            )
        contact_import.refresh_from_db()
        if start:
            assert contact_import.status == ContactImport.Status.VALIDATED, contact_import.failure_message
            with django_capture_on_commit_callbacks(execute=True):
                import_start(contact_import=contact_import, actor=user)
            contact_import.refresh_from_db()
        return contact_import

    return run


def assert_counts_add_up(contact_import: ContactImport) -> None:
    total = (
        contact_import.created_count
        + contact_import.updated_count
        + contact_import.skipped_count
        + contact_import.error_count
    )
    assert total == contact_import.row_count == contact_import.processed_rows
    rows = report_rows(contact_import)
    assert len(rows) == contact_import.row_count  # one report line per row, none dropped
    assert len({r["row"] for r in rows}) == len(rows)
