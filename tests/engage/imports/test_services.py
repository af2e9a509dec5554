"""The import services end to end (validation pass, import pass, report): what a seller sees in
their contacts afterwards, and that every row is accounted for."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from copilot.models import AuditEvent
from engage import tasks
from engage.imports.writer import ImportPass
from engage.models import Account, Contact, ContactImport
from engage.services import imports as import_services
from tests.engage.imports.conftest import assert_counts_add_up, report_rows
from tests.engage.jobs_helpers import dead_worker
from tests.factories import AccountFactory, ContactFactory, ContactStatusFactory

FILES = Path(__file__).parent / "files"
Status = ContactImport.Status


def test_a_salesforce_report_export_is_imported_with_accounts_statuses_and_owners(
    import_file, acme, owner, teammate
):
    imp = import_file((FILES / "salesforce_report.csv").read_bytes())

    assert imp.status == Status.DONE
    assert (imp.created_count, imp.updated_count, imp.skipped_count, imp.error_count) == (3, 0, 0, 0)
    assert_counts_add_up(imp)
    ada = Contact.objects.get(organization=acme, email="ada@engines.example")
    assert (ada.first_name, ada.last_name, ada.title) == ("Ada", "Lovelace", "CTO")
    assert ada.company == "Analytical Engines, Ltd."
    assert ada.account.name == "Analytical Engines, Ltd."
    assert ada.status.name == "Open"
    assert ada.owner == owner  # "Lead Owner" held the owner's name
    assert (ada.crm_type, ada.crm_id) == ("Lead", "00Q5g00000AbCdEFGH")
    assert (ada.business_phone, ada.mobile_phone) == ("+442079460001", "+447911123456")
    assert ada.source == Contact.Source.IMPORT
    assert ada.email_opt_out is False

    grace = Contact.objects.get(organization=acme, email="grace@navy.example")
    assert grace.email_opt_out is True
    assert grace.owner == owner  # by email
    assert grace.status.name == "New"  # "Working - Contacted" is not in Acme's list
    alan = Contact.objects.get(organization=acme, email="alan@bletchley.example")
    assert alan.owner == teammate  # no owner given: the importer

    notes = {r["email"]: r for r in report_rows(imp)}
    assert notes["grace@navy.example"]["outcome"] == "created"
    assert notes["grace@navy.example"]["column"] == "Lead Status"
    assert (
        "Status “Working - Contacted” is not in your list: set to New."
        in notes["grace@navy.example"]["message"]
    )
    assert AuditEvent.objects.filter(organization=acme, action="contact_import.finished").exists()


def test_a_data_loader_export_is_imported(import_file, acme):
    imp = import_file((FILES / "data_loader_leads.csv").read_bytes())

    assert imp.mapping["0"] == "crm_lead_id"
    assert_counts_add_up(imp)
    marie = Contact.objects.get(organization=acme, email="marie@radium.example")
    assert (marie.crm_type, marie.crm_id) == ("Lead", "00Q5g00000XyZaBCDE")
    assert (marie.street, marie.city, marie.postal_code, marie.country) == (
        "1 Rue Pierre",
        "Paris",
        "75005",
        "France",
    )
    assert marie.account.website == "https://www.radium.example/about"
    assert marie.account.domain == "radium.example"
    niels = Contact.objects.get(organization=acme, email="niels@copenhagen.example")
    assert niels.email_opt_out is True
    assert niels.status.name == "Contacted"


def test_the_validation_pass_counts_without_writing(import_file, acme):
    ContactFactory(organization=acme, email="old@example.com")
    imp = import_file(
        "Email,First Name\nnew@example.com,New\nold@example.com,Old\nbad-email,Bad\nnew@example.com,Again\n",
        start=False,
    )

    assert imp.status == Status.VALIDATED
    v = imp.validation
    assert (v["rows"], v["create"], v["update"], v["skip"], v["error"]) == (4, 1, 1, 1, 1)
    assert [(p["row"], p["outcome"]) for p in v["problems"]] == [(4, "error"), (5, "skipped")]
    assert v["problems"][0] == {
        "row": 4,
        "outcome": "error",
        "column": "Email",
        "message": "“bad-email” is not a valid email address.",
        "email": "bad-email",
    }
    assert not Contact.objects.filter(email="new@example.com").exists()
    assert not Account.objects.exists()
    assert not imp.report


def test_existing_contacts_are_updated_without_blanking_anything(import_file, acme, owner):
    contacted = acme_status(acme, "Contacted")
    existing = ContactFactory(
        organization=acme,
        email="ann@example.com",
        first_name="Ann",
        last_name="Lee",
        title="Old title",
        mobile_phone="+1 555 0100",
        owner=owner,
        status=contacted,
    )
    imp = import_file("Email,First Name,Title,Mobile\nANN@example.com,,New title,\n", on_duplicate="update")

    assert (imp.created_count, imp.updated_count) == (0, 1)
    existing.refresh_from_db()
    assert existing.title == "New title"
    assert (existing.first_name, existing.last_name, existing.mobile_phone) == ("Ann", "Lee", "+1 555 0100")
    assert existing.owner == owner  # no owner column: unchanged
    assert existing.status == contacted
    assert existing.source == Contact.Source.MANUAL
    assert report_rows(imp)[0]["outcome"] == "updated"


def test_existing_contacts_are_left_alone_when_skipping(import_file, acme):
    existing = ContactFactory(organization=acme, email="ann@example.com", title="Old title")
    imp = import_file("Email,Title\nann@example.com,New title\nbob@example.com,CEO\n", on_duplicate="skip")

    assert (imp.created_count, imp.updated_count, imp.skipped_count) == (1, 0, 1)
    existing.refresh_from_db()
    assert existing.title == "Old title"
    row = report_rows(imp)[0]
    assert (row["outcome"], row["column"]) == ("skipped", "Email")
    assert "already exists" in row["message"]
    assert_counts_add_up(imp)


def test_a_repeated_email_in_the_file_is_skipped_naming_the_first_row(import_file, acme):
    imp = import_file("Email,Title\n\nann@example.com,First\nbob@example.com,x\nAnn@Example.com,Second\n")

    assert (imp.created_count, imp.skipped_count) == (2, 1)
    assert Contact.objects.get(organization=acme, email="ann@example.com").title == "First"
    rows = report_rows(imp)
    assert (rows[2]["row"], rows[2]["outcome"], rows[2]["message"]) == (
        "4",
        "skipped",
        "Same email as row 2: skipped.",
    )


def test_an_unknown_owner_means_the_importer_and_the_report_says_so(import_file, acme, teammate):
    imp = import_file("Email,Owner\nann@example.com,nobody@elsewhere.example\n")

    ann = Contact.objects.get(organization=acme, email="ann@example.com")
    assert ann.owner == teammate
    row = report_rows(imp)[0]
    assert (row["outcome"], row["column"]) == ("created", "Owner")
    assert row["message"] == "Owner “nobody@elsewhere.example” is not a user here: you are the owner."


def test_an_unknown_status_keeps_an_existing_contacts_status(import_file, acme):
    qualified = acme_status(acme, "Qualified")
    ContactFactory(organization=acme, email="ann@example.com", status=qualified)
    imp = import_file("Email,Status\nann@example.com,Hot lead\nbob@example.com,qualified\n")

    assert Contact.objects.get(email="ann@example.com").status == qualified
    assert Contact.objects.get(email="bob@example.com").status == qualified  # case-insensitive
    assert "kept Qualified" in report_rows(imp)[0]["message"]


def test_rows_with_errors_are_reported_with_their_original_cells(import_file, acme):
    imp = import_file("Email,Name,Title\nann@example.com,Ann Lee,CEO\nnot-an-email,Bob Roe,CTO\n,,\n,Carl,\n")

    assert (imp.created_count, imp.error_count) == (1, 2)
    assert_counts_add_up(imp)
    bad = report_rows(imp)[1]
    assert bad["row"] == "3"
    assert bad["outcome"] == "error"
    assert bad["column"] == "Email"
    assert bad["email"] == "not-an-email"
    assert (bad["Email"], bad["Name"], bad["Title"]) == ("not-an-email", "Bob Roe", "CTO")
    assert report_rows(imp)[2]["message"] == "No email: every contact needs one."


def test_companies_become_accounts_once_and_existing_ones_are_reused(import_file, acme):
    navy = AccountFactory(organization=acme, name="Navy Systems", website="", domain="")
    content = "Email,Company,Website\n" + "".join(
        f"p{i}@example.com,{'NAVY systems' if i % 2 else 'Fresh Co'},www.navy.example\n" for i in range(6)
    )
    import_file(content)

    assert Account.objects.filter(organization=acme).count() == 2
    assert set(Contact.objects.filter(company="NAVY systems").values_list("account", flat=True)) == {navy.pk}
    navy.refresh_from_db()
    assert (navy.website, navy.domain) == ("www.navy.example", "navy.example")  # was empty: filled in
    fresh = Account.objects.get(organization=acme, name="Fresh Co")
    assert fresh.domain == "navy.example"


def test_accounts_are_cached_across_batches(import_file, acme, teammate, django_assert_max_num_queries):
    imp = import_file(
        "Email,Company\n" + "".join(f"p{i}@example.com,Same Co\n" for i in range(9)), start=False
    )
    ContactImport.objects.filter(pk=imp.pk).update(status=Status.IMPORTING)
    imp.refresh_from_db()
    runner = ImportPass(imp, dry_run=False, batch_size=2)
    runner.run()
    assert Account.objects.filter(organization=acme, name="Same Co").count() == 1
    assert Contact.objects.filter(organization=acme, account__name="Same Co").count() == 9


def test_a_crm_id_that_belongs_to_another_contact_is_an_error(import_file, acme):
    ContactFactory(organization=acme, email="holder@example.com", crm_type="Lead", crm_id="00Q5g00000AbCdE")
    imp = import_file(
        "Email,Lead ID\nnew@example.com,00Q5g00000AbCdE\nholder@example.com,00Q5g00000AbCdE\n"
        "a@example.com,00Q5g00000ZZZZZ\nb@example.com,00Q5g00000ZZZZZ\n"
    )
    rows = report_rows(imp)
    assert rows[0]["outcome"] == "error"
    assert rows[0]["message"] == "Lead ID 00Q5g00000AbCdE already belongs to the contact holder@example.com."
    assert rows[1]["outcome"] == "updated"  # the same person: fine
    assert rows[3]["message"] == "Lead ID 00Q5g00000ZZZZZ is also on row 4 (another email)."
    assert_counts_add_up(imp)


def test_other_organisations_contacts_are_never_touched(import_file, globex, acme):
    theirs = ContactFactory(organization=globex, email="ann@example.com", title="Theirs")
    import_file("Email,Title\nann@example.com,Ours\n")

    theirs.refresh_from_db()
    assert theirs.title == "Theirs"
    assert Contact.objects.get(organization=acme, email="ann@example.com").title == "Ours"


def test_importing_500_rows_takes_a_bounded_number_of_queries(
    import_file, acme, teammate, owner, django_assert_max_num_queries
):
    for i in range(100):  # half the rows update existing contacts
        ContactFactory(organization=acme, email=f"p{i * 5}@example.com")
    content = "Email,First Name,Last Name,Company,Status,Owner,Title\n" + "".join(
        f"p{i}@example.com,F{i},L{i},Company {i % 40},Open,owner@acme.example,Title {i}\n" for i in range(500)
    )
    imp = import_file(content, start=False)
    ContactImport.objects.filter(pk=imp.pk).update(status=Status.IMPORTING, started_at=None)

    with django_assert_max_num_queries(30):
        import_services.import_run(import_id=imp.pk)

    imp.refresh_from_db()
    assert (imp.status, imp.created_count, imp.updated_count) == (Status.DONE, 400, 100)
    assert_counts_add_up(imp)


def test_a_crash_marks_the_import_failed_and_keeps_the_report_so_far(import_file, acme, monkeypatch):
    imp = import_file("Email\n" + "".join(f"p{i}@example.com\n" for i in range(5)), start=False)
    calls = {"n": 0}
    real = ImportPass._write

    def write_then_crash(self, decisions):
        calls["n"] += 1
        if calls["n"] > 1:
            raise RuntimeError("database went away")
        return real(self, decisions)

    monkeypatch.setattr(ImportPass, "_write", write_then_crash)
    monkeypatch.setattr("engage.imports.writer.BATCH_SIZE", 2)
    ContactImport.objects.filter(pk=imp.pk).update(status=Status.IMPORTING, started_at=None)

    import_services.import_run(import_id=imp.pk)

    imp.refresh_from_db()
    assert imp.status == Status.FAILED
    assert "The import stopped after 2 rows: an unexpected error (RuntimeError)" in imp.failure_message
    assert "2 contacts were created" in imp.failure_message
    assert Contact.objects.filter(organization=acme).count() == 2
    assert [r["outcome"] for r in report_rows(imp)] == ["created", "created"]


def test_a_redelivered_task_after_a_dead_worker_carries_the_import_on(import_file, acme, teammate):
    """Was: the redelivery marked the import failed. Now it takes the import over (nothing was
    committed yet: it starts at the first row)."""
    imp = import_file("Email\na@example.com\n", start=False)
    import_services.import_start(contact_import=imp, actor=teammate)  # its task never ran
    ContactImport.objects.filter(pk=imp.pk).update(
        started_at=timezone.now(), worker=dead_worker("contact-import")
    )

    import_services.import_run(import_id=imp.pk)

    imp.refresh_from_db()
    assert (imp.status, imp.created_count) == (Status.DONE, 1)
    assert Contact.objects.filter(organization=acme, email="a@example.com").exists()
    assert_counts_add_up(imp)


def test_an_import_silent_for_hours_is_shown_stopped_and_the_sweep_fails_it(
    client, import_file, teammate, monkeypatch
):
    """No worker will take it over any more: the page says so at once without writing (a GET),
    and the every-minute sweep stores it failed instead of queueing it again."""
    imp = import_file("Email\na@example.com\n", start=False)
    three_hours_ago = timezone.now() - timedelta(hours=3)
    ContactImport.objects.filter(pk=imp.pk).update(
        status=Status.IMPORTING,
        started_at=three_hours_ago,
        heartbeat_at=three_hours_ago,
        worker="contact-import:another-host:41:0ff1ce",
    )
    client.force_login(teammate)
    progress = reverse("engage:import_progress", args=[imp.pk])

    before_sweep = client.get(progress).content.decode()

    assert "The import did not finish" in before_sweep and import_services.WORKER_LOST in before_sweep
    assert 'hx-trigger="every 1s"' not in before_sweep  # the page stops waiting
    imp.refresh_from_db()
    assert imp.status == Status.IMPORTING  # the page only read

    queued = []
    monkeypatch.setattr(tasks.contact_import_run, "apply_async", lambda **kw: queued.append(kw))
    assert tasks.jobs_resume_dead() == 0 and not queued  # failed, not carried on

    imp.refresh_from_db()
    assert (imp.status, imp.failure_message) == (Status.FAILED, import_services.WORKER_LOST)
    after_sweep = client.get(progress).content.decode()
    assert "The import did not finish" in after_sweep and import_services.WORKER_LOST in after_sweep


def test_an_import_starts_only_once_checked(import_file, teammate):
    imp = import_file("Email\na@example.com\n")  # done
    with pytest.raises(ValidationError, match="cannot start"):
        import_services.import_start(contact_import=imp, actor=teammate)
    with pytest.raises(ValidationError, match="can no longer be changed"):
        import_services.import_set_mapping(
            contact_import=imp, actor=teammate, mapping={"0": "email"}, on_duplicate="update"
        )


def acme_status(acme, name):
    from engage.models import ContactStatus

    return ContactStatus.objects.filter(organization=acme, name=name).first() or ContactStatusFactory(
        organization=acme, name=name
    )


def test_a_contact_added_meanwhile_is_updated_not_duplicated(import_file, acme, monkeypatch):
    """Someone adds the contact between the batch's lookup and its insert: the unique email
    refuses the insert, and the batch is decided again and updates that contact."""
    imp = import_file("Email,Title\nann@example.com,Imported\nbob@example.com,CTO\n", start=False)
    from engage.imports import writer

    real = writer.existing_contacts
    calls = {"n": 0}

    def stale_then_real(organization_id, emails):
        calls["n"] += 1
        return [] if calls["n"] == 1 else real(organization_id, emails)  # the first lookup missed Ann

    monkeypatch.setattr(writer, "existing_contacts", stale_then_real)
    ContactFactory(organization=acme, email="ann@example.com", title="Added meanwhile")
    ContactImport.objects.filter(pk=imp.pk).update(status=Status.IMPORTING, started_at=None)

    import_services.import_run(import_id=imp.pk)

    imp.refresh_from_db()
    assert (imp.status, imp.created_count, imp.updated_count) == (Status.DONE, 1, 1)
    assert Contact.objects.filter(organization=acme, email="ann@example.com").count() == 1
    assert Contact.objects.get(organization=acme, email="ann@example.com").title == "Imported"
    assert calls["n"] == 2
    assert_counts_add_up(imp)


def test_a_crash_in_the_validation_pass_marks_the_import_failed(
    acme, teammate, monkeypatch, django_capture_on_commit_callbacks
):
    from tests.engage.imports.conftest import upload

    imp = import_services.import_create(
        organization=acme, actor=teammate, upload=upload("Email\na@example.com\n")
    )
    monkeypatch.setattr(ImportPass, "_decide", lambda self, rows: 1 / 0)
    with django_capture_on_commit_callbacks(execute=True):
        import_services.import_set_mapping(
            contact_import=imp, actor=teammate, mapping=imp.mapping, on_duplicate="update"
        )

    imp.refresh_from_db()
    assert imp.status == Status.FAILED
    assert (
        imp.failure_message
        == "The check stopped after 0 rows: an unexpected error (ZeroDivisionError). It has been logged."
    )
    assert import_services.import_can_remap(imp)  # the person can try again


def test_the_report_guards_formula_cells_and_reimporting_it_restores_them(import_file, acme):
    """A cell such as ``=HYPERLINK(...)`` must not run when the report is opened in a spreadsheet."""
    contact_import = import_file(
        "Email,First Name,Phone\n"
        '=HYPERLINK("http://evil.example"),Mallory,+1 555 0100\n'
        "ok@prospect.example,@Olivia,+1 415 555 0101\n"
    )
    rows = report_rows(contact_import)
    assert rows[0]["outcome"] == "error" and rows[0]["email"].startswith("'=HYPERLINK")
    assert rows[0]["Phone"] == "'+1 555 0100" and rows[1]["First Name"] == "'@Olivia"
    assert not any(cell.startswith(("=", "+", "@")) for row in rows for cell in row.values())

    # The report re-imported (say, after fixing the error rows) gives back the original values.
    with contact_import.report.open("rb") as raw:
        again = import_file(raw.read().decode("utf-8-sig"))
    contact = Contact.objects.for_org(acme).get(email="ok@prospect.example")
    assert contact.first_name == "@Olivia" and contact.business_phone == "+14155550101"
    assert again.error_count == 1
