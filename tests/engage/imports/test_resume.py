"""An import whose worker is killed carries on after the last chunk it committed: the contacts, the
counters and the row report come out as an uninterrupted import's, and duplicates inside the file
are still caught across the point where it stopped. Chunks of two rows; the worker is "killed"
while it writes the third (its transaction is rolled back), and its owner name then points at a
process that really was killed with SIGKILL."""

from __future__ import annotations

import pytest
from django.db import OperationalError
from django.urls import reverse
from django.utils import timezone

from engage.imports.writer import ImportPass
from engage.models import Contact, ContactImport
from engage.services import imports as import_services
from tests.engage.imports.conftest import assert_counts_add_up, report_rows, upload
from tests.engage.jobs_helpers import WorkerKilled, dead_worker, live_worker
from tests.factories import ContactFactory

Status = ContactImport.Status
# Rows 2-5 are committed before the worker dies; row 8 repeats row 2's email and row 9 row 3's
# Lead ID: both must still be caught after the take-over.
FILE = (
    "Email,First Name,Company,Lead ID\n"
    "ann@example.com,Ann,Alpha,00Q5g00000AAAAA\n"
    "bob@example.com,Bob,Beta,00Q5g00000BBBBB\n"
    "cat@example.com,Cat,Alpha,\n"
    "old@example.com,Old,Gamma,\n"
    "dan@example.com,Dan,Beta,\n"
    "not-an-email,Bad,,\n"
    "ann@example.com,Ann again,Alpha,\n"
    "eve@example.com,Eve,Delta,00Q5g00000BBBBB\n"
    "fay@example.com,Fay,Alpha,\n"
    "gus@example.com,Gus,Gamma,\n"
)
ROWS = 10


@pytest.fixture(autouse=True)
def chunks_of_two(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("engage.imports.writer.BATCH_SIZE", 2)


def outcome(imp: ContactImport) -> tuple:
    return (
        imp.status,
        imp.processed_rows,
        imp.created_count,
        imp.updated_count,
        imp.skipped_count,
        imp.error_count,
    )


def contacts(organization) -> list[tuple]:
    return sorted(
        Contact.objects.filter(organization=organization).values_list(
            "email", "first_name", "account__name", "crm_id"
        )
    )


def part_files(imp: ContactImport) -> list[str]:
    try:
        return imp.file.storage.listdir(f"imports/parts/{imp.pk}")[1]
    except FileNotFoundError:
        return []


def killed_on_chunk(import_file, teammate, monkeypatch, chunk: int = 3) -> ContactImport:
    imp = import_file(FILE, start=False)
    import_services.import_start(contact_import=imp, actor=teammate)  # its task is delivered below
    real = ImportPass._write
    calls = []

    def die(self, decisions):
        calls.append(len(decisions))
        real(self, decisions)
        if len(calls) == chunk:
            raise WorkerKilled

    monkeypatch.setattr(ImportPass, "_write", die)
    with pytest.raises(WorkerKilled):
        import_services.import_run(import_id=imp.pk)
    monkeypatch.setattr(ImportPass, "_write", real)
    ContactImport.objects.filter(pk=imp.pk).update(worker=dead_worker("contact-import"))
    imp.refresh_from_db()
    return imp


def test_a_redelivered_import_carries_on_after_its_last_chunk_as_if_never_stopped(
    import_file, acme, globex, teammate, outsider, monkeypatch
):
    ContactFactory(organization=globex, email="old@example.com", first_name="Before")
    ContactFactory(organization=acme, email="old@example.com", first_name="Before")
    uninterrupted = import_file(FILE, user=outsider)  # the same file in another organisation
    assert uninterrupted.status == Status.DONE

    imp = killed_on_chunk(import_file, teammate, monkeypatch)

    assert (imp.status, imp.processed_rows) == (Status.IMPORTING, 4)
    assert len(part_files(imp)) == 2
    assert len(contacts(acme)) == 4  # rows 2-5 (chunk 3 rolled back)
    decided = []
    real = ImportPass._decide

    def count(self, rows):
        decided.extend(row.number for row in rows)
        return real(self, rows)

    monkeypatch.setattr(ImportPass, "_decide", count)

    import_services.import_run(import_id=imp.pk)  # the redelivered task

    imp.refresh_from_db()
    assert decided == list(range(6, 12))  # rows 6-11 only: the committed chunks are not redone
    assert outcome(imp) == outcome(uninterrupted) == (Status.DONE, ROWS, 6, 1, 1, 2)
    assert contacts(acme) == contacts(globex)
    assert report_rows(imp) == report_rows(uninterrupted)
    messages = {row["row"]: row["message"] for row in report_rows(imp)}
    assert messages["8"] == "Same email as row 2: skipped."
    assert messages["9"] == "Lead ID 00Q5g00000BBBBB is also on row 3 (another email)."
    assert_counts_add_up(imp)
    assert part_files(imp) == []


def test_a_redelivered_validation_pass_starts_again(acme, teammate):
    imp = import_services.import_create(organization=acme, actor=teammate, upload=upload(FILE))
    import_services.import_set_mapping(
        contact_import=imp, actor=teammate, mapping=imp.mapping, on_duplicate="update"
    )  # its task never ran; the worker that claimed it died after two chunks
    ContactImport.objects.filter(pk=imp.pk).update(
        started_at=timezone.now(), processed_rows=4, worker=dead_worker("contact-import")
    )

    import_services.import_validate(import_id=imp.pk)

    imp.refresh_from_db()
    assert (imp.status, imp.processed_rows) == (Status.VALIDATED, ROWS)
    assert (imp.validation["create"], imp.validation["skip"], imp.validation["error"]) == (7, 1, 2)
    assert not Contact.objects.filter(organization=acme).exists()


def test_an_import_a_live_worker_runs_is_not_taken_over(import_file, acme, teammate):
    imp = import_file(FILE, start=False)
    import_services.import_start(contact_import=imp, actor=teammate)
    with live_worker("contact-import") as alive:
        now = timezone.now()
        ContactImport.objects.filter(pk=imp.pk).update(started_at=now, heartbeat_at=now, worker=alive)

        import_services.import_run(import_id=imp.pk)  # a duplicate delivery

        imp.refresh_from_db()
        assert (imp.status, imp.worker, imp.processed_rows) == (Status.IMPORTING, alive, 0)
        assert not Contact.objects.filter(organization=acme).exists()


def test_an_import_taken_over_without_the_parts_of_its_chunks_fails_instead_of_guessing(
    import_file, teammate, monkeypatch
):
    imp = killed_on_chunk(import_file, teammate, monkeypatch)
    for name in part_files(imp):
        imp.file.storage.delete(f"imports/parts/{imp.pk}/{name}")

    import_services.import_run(import_id=imp.pk)

    imp.refresh_from_db()
    assert imp.status == Status.FAILED and "worker stopped" in imp.failure_message


def test_the_page_says_a_dead_import_is_being_resumed(client, import_file, teammate, monkeypatch):
    imp = killed_on_chunk(import_file, teammate, monkeypatch)
    client.force_login(teammate)

    html = client.get(reverse("engage:import_progress", args=[imp.pk])).content.decode()

    assert "Resuming after a worker restart…" in html and "carries on after row 4" in html
    assert 'hx-trigger="every 1s"' in html
    imp.refresh_from_db()
    assert imp.status == Status.IMPORTING


def test_an_import_whose_worker_loses_its_database_connection_carries_on_at_once(
    import_file, acme, teammate, monkeypatch, django_capture_on_commit_callbacks
):
    imp = import_file(FILE, start=False)
    import_services.import_start(contact_import=imp, actor=teammate)
    real = ImportPass._write
    calls = []

    def cut(self, decisions):
        calls.append(len(decisions))
        if len(calls) == 3:
            raise OperationalError("terminating connection due to administrator command")
        real(self, decisions)

    monkeypatch.setattr(ImportPass, "_write", cut)
    with django_capture_on_commit_callbacks(execute=True) as queued:
        import_services.import_run(import_id=imp.pk)
        imp.refresh_from_db()
        assert (imp.status, imp.worker, imp.processed_rows) == (Status.IMPORTING, "", 4)

    imp.refresh_from_db()  # its task was queued again, ran (eagerly) and took the import over
    assert (imp.status, imp.created_count, imp.updated_count) == (Status.DONE, 7, 0)
    assert imp.takeovers == 0 and len(queued) == 2  # the import again, then linking to Salesforce
    assert calls == [2, 2, 2, 2, 2, 2]  # the cut chunk once more, then the rest
    assert_counts_add_up(imp)
