"""The import wizard through the test client: Upload → Map columns → Review & import → results
and the row report; the refusals on the way."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.urls import reverse

from engage.models import Contact, ContactImport
from tests.engage.imports.conftest import upload
from tests.factories import ContactFactory, ContactImportFactory

Status = ContactImport.Status
GOOD_AND_BAD = (
    "First Name,Last Name,E-mail,Company,Lead Status\r\n"
    "Ada,Lovelace,ada@engines.example,Engines,Open\r\n"
    "Bob,Broken,not-an-email,Engines,Open\r\n"
    "\r\n"
    "Cy,Known,cy@known.example,Known Co,Qualified\r\n"
)


@pytest.fixture
def seller(client, teammate):
    client.force_login(teammate)
    return client


def test_the_whole_wizard(seller, acme, teammate, django_capture_on_commit_callbacks):
    ContactFactory(organization=acme, email="cy@known.example", title="Keeps")

    # 1. Upload
    page = seller.get(reverse("engage:import_start"))
    assert page.status_code == 200
    assert 'aria-current="step">1. Upload' in page.content.decode()
    response = seller.post(reverse("engage:import_start"), {"file": upload(GOOD_AND_BAD, "leads.csv")})
    imp = ContactImport.objects.get(organization=acme)
    assert response.status_code == 302
    assert response.url == reverse("engage:import_map", kwargs={"import_id": imp.pk})
    assert (imp.row_count, imp.created_by, imp.status) == (3, teammate, Status.MAPPING)

    # 2. Map columns: the guesses are preselected, with samples and a preview
    page = seller.get(response.url).content.decode()
    assert re.search(r'<select name="col_2"[^>]*>.*?<option value="email" selected>', page, re.S)
    assert re.search(r'<select name="col_3"[^>]*>.*?<option value="company" selected>', page, re.S)
    assert "ada@engines.example" in page  # a sample value and the preview
    assert "“not-an-email” is not a valid email address." in page  # the preview's problem column
    data = {
        "col_0": "first_name",
        "col_1": "last_name",
        "col_2": "email",
        "col_3": "company",
        "col_4": "status",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = seller.post(response.url, {**data, "on_duplicate": "update"})
    detail_url = reverse("engage:import_detail", kwargs={"import_id": imp.pk})
    assert response.url == detail_url

    # 3. Review: counts and the problem rows, nothing written yet
    page = seller.get(detail_url).content.decode()
    assert "All 3 rows checked" in page
    assert re.search(r"Will be created</dt><dd>1<", page)
    assert re.search(r"Will update an existing contact</dt><dd>1<", page)
    assert "not-an-email" in page
    assert not Contact.objects.filter(email="ada@engines.example").exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = seller.post(reverse("engage:import_run", kwargs={"import_id": imp.pk}))
    assert response.url == detail_url
    page = seller.get(detail_url).content.decode()
    assert "Import finished" in page
    assert re.search(r"Created</dt><dd>1<", page)
    assert re.search(r"Updated</dt><dd>1<", page)
    assert re.search(r"Errors \(not imported\)</dt><dd>1<", page)
    assert "“not-an-email” is not a valid email address." in page
    assert "Download the row report (CSV)" in page
    assert Contact.objects.get(organization=acme, email="ada@engines.example").account.name == "Engines"
    assert Contact.objects.get(organization=acme, email="cy@known.example").title == "Keeps"

    # The row report
    response = seller.get(reverse("engage:import_report", kwargs={"import_id": imp.pk}))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert "leads - import report.csv" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:2] == ["Import row (header = row 1, blank lines not counted)", "Import outcome"]
    assert rows[0][6:] == ["First Name", "Last Name", "E-mail", "Company", "Lead Status"]
    assert rows[2][:4] == ["3", "error", "E-mail", "“not-an-email” is not a valid email address."]
    assert rows[3][:2] == ["4", "updated"]  # the blank line is not a row

    # The list of one's imports
    page = seller.get(reverse("engage:import_list")).content.decode()
    assert "leads.csv" in page and "Imported" in page


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty.csv", b"", "The file is empty."),
        ("book.xlsx", b"PK\x03\x04" + b"\x00" * 100, "This is an Excel workbook"),
        ("book.csv", b"\xd0\xcf\x11\xe0" + b"\x00" * 100, "This is an Excel workbook"),
        ("photo.csv", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "binary data"),
        ("header.csv", b"Email,Name\n", "no data rows"),
        ("notes.pdf", b"Email\na@example.com\n", "Choose a .csv or .txt file"),
    ],
)
def test_uploads_that_cannot_be_imported_are_refused_and_nothing_is_kept(seller, name, data, message):
    response = seller.post(reverse("engage:import_start"), {"file": upload(data, name)})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ContactImport.objects.exists()


def test_a_file_above_the_limit_is_refused_naming_the_limit(seller, settings):
    settings.CONTACT_IMPORT_MAX_BYTES = 2 * 1024 * 1024
    response = seller.post(
        reverse("engage:import_start"), {"file": upload(b"Email\n" + b"a@example.com\n" * 200_000)}
    )
    assert "the limit is 2 MB" in response.content.decode()
    assert not ContactImport.objects.exists()


def test_a_file_larger_than_djangos_in_memory_limits_is_accepted(seller, settings):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
    content = b"Email,Name\n" + b"".join(b"p%d@example.com,Person %d\n" % (i, i) for i in range(120_000))
    assert len(content) > 3 * 1024 * 1024
    response = seller.post(reverse("engage:import_start"), {"file": upload(content)})
    assert response.status_code == 302
    assert ContactImport.objects.get().row_count == 120_000


def test_mapping_two_columns_to_one_field_names_both(seller, acme, teammate):
    imp = ContactImportFactory(
        organization=acme,
        created_by=teammate,
        headers=["Email", "Phone", "Work Phone"],
        mapping={"0": "email"},
    )
    response = seller.post(
        reverse("engage:import_map", kwargs={"import_id": imp.pk}),
        {"col_0": "email", "col_1": "business_phone", "col_2": "business_phone", "on_duplicate": "update"},
    )
    assert response.status_code == 200
    assert (
        "“Phone” and “Work Phone” are both mapped to Business phone. Choose one of them."
        in response.content.decode()
    )
    imp.refresh_from_db()
    assert imp.status == Status.MAPPING


def test_the_email_column_must_be_mapped(seller, acme, teammate):
    imp = ContactImportFactory(organization=acme, created_by=teammate)
    response = seller.post(
        reverse("engage:import_map", kwargs={"import_id": imp.pk}), {"col_0": "", "on_duplicate": "update"}
    )
    assert "Choose the column that holds the email" in response.content.decode()


def test_the_preview_follows_the_choices(seller, acme, teammate):
    imp = ContactImportFactory(organization=acme, created_by=teammate)
    url = reverse("engage:import_preview", kwargs={"import_id": imp.pk})
    page = seller.post(url, {"col_0": "email"}, headers={"HX-Request": "true"}).content.decode()
    assert "ann@example.com" in page and '<th scope="col">Email</th>' in page
    page = seller.post(url, {"col_0": ""}).content.decode()
    assert "Choose a field for at least one column" in page
    assert seller.get(url).status_code == 405


def test_the_progress_partial_polls_while_running_and_stops_when_done(seller, acme, teammate):
    imp = ContactImportFactory(
        organization=acme,
        created_by=teammate,
        status=Status.IMPORTING,
        row_count=200,
        processed_rows=50,
        created_count=50,
    )
    url = reverse("engage:import_progress", kwargs={"import_id": imp.pk})
    page = seller.get(url, headers={"HX-Request": "true"}).content.decode()
    assert 'hx-trigger="every 1s"' in page
    assert 'aria-valuenow="25"' in page
    assert "50 of 200 rows (25%)" in page
    assert "<html" not in page  # a fragment, not a page

    ContactImport.objects.filter(pk=imp.pk).update(status=Status.DONE, processed_rows=200)
    page = seller.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "hx-trigger" not in page
    assert "Import finished" in page


def test_the_columns_cannot_change_once_imported(seller, acme, teammate):
    imp = ContactImportFactory(organization=acme, created_by=teammate, status=Status.DONE)
    response = seller.get(reverse("engage:import_map", kwargs={"import_id": imp.pk}))
    assert response.url == reverse("engage:import_detail", kwargs={"import_id": imp.pk})


def test_starting_an_unchecked_import_is_refused(seller, acme, teammate):
    imp = ContactImportFactory(organization=acme, created_by=teammate)
    response = seller.post(reverse("engage:import_run", kwargs={"import_id": imp.pk}), follow=True)
    assert "This import cannot start" in response.content.decode()
    imp.refresh_from_db()
    assert imp.status == Status.MAPPING


def test_no_report_yet_says_so(seller, acme, teammate):
    imp = ContactImportFactory(organization=acme, created_by=teammate)
    response = seller.get(reverse("engage:import_report", kwargs={"import_id": imp.pk}))
    assert "No row report yet" in response.content.decode()


def test_the_list_shows_only_ones_own_imports_in_few_queries(
    seller, acme, teammate, owner, globex, django_assert_max_num_queries
):
    for i in range(8):
        ContactImportFactory(organization=acme, created_by=teammate, original_name=f"mine-{i}.csv")
    ContactImportFactory(organization=acme, created_by=owner, original_name="colleague.csv")
    ContactImportFactory(organization=globex, original_name="other-org.csv")
    with django_assert_max_num_queries(6):
        page = seller.get(reverse("engage:import_list")).content.decode()
    assert "mine-7.csv" in page
    assert "colleague.csv" not in page and "other-org.csv" not in page


def test_an_empty_list_invites_an_import(seller):
    page = seller.get(reverse("engage:import_list")).content.decode()
    assert "No imports yet" in page


def test_signed_out_people_are_sent_to_sign_in(client):
    response = client.get(reverse("engage:import_start"))
    assert response.status_code == 302
    assert "/accounts/login/" in response.url


def test_the_upload_page_offers_the_sample_file(client, teammate):
    client.force_login(teammate)
    text = client.get(reverse("engage:import_start")).text
    assert "/static/demo/sample-contacts.csv" in text
