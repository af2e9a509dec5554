"""CSV import in real Chromium: a seller uploads a file with good and bad rows, checks the guessed
columns (the preview follows their changes), validates, imports, sees the counts and a bad row's
reason, and downloads the row report; and the progress bar follows a running import until done.

Celery runs eagerly in tests, so each background pass finishes inside the request that queued
it; the second test moves an import along from outside to watch the polling partial."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from playwright.sync_api import Page, expect

from copilot.models import User
from engage.models import Contact, ContactImport
from tests.factories import ContactFactory

CSV = (
    b"First Name,Last Name,E-mail,Company / Account,Lead Status\r\n"
    b"Ada,Lovelace,ada@engines.example,Analytical Engines,Open\r\n"
    b"Bob,Broken,not-an-email,Analytical Engines,Open\r\n"
    b"Cy,Known,cy@known.example,Known Co,Qualified\r\n"
)


@pytest.mark.browser
def test_a_seller_imports_a_csv_and_downloads_the_row_report(
    page: Page, live_server, sign_in: Callable, teammate: User, acme
) -> None:
    ContactFactory(organization=acme, email="cy@known.example", title="Keeps his title")
    sign_in(page, teammate)
    page.goto(f"{live_server.url}/app/contacts/import/")
    expect(page.get_by_role("heading", name="Import contacts from a CSV file")).to_be_visible()

    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "leads.csv", "mimeType": "text/csv", "buffer": CSV}]
    )
    page.get_by_role("button", name="Upload and choose columns").click()

    # Map columns: the guesses are chosen; the preview shows the bad row's problem.
    expect(page.get_by_role("heading", name="Choose what each column holds")).to_be_visible()
    expect(page.get_by_label("Contact field for column “E-mail”")).to_have_value("email")
    expect(page.get_by_label("Contact field for column “Company / Account”")).to_have_value("company")
    expect(page.get_by_label("Contact field for column “Lead Status”")).to_have_value("status")
    preview = page.locator("#import-preview")
    expect(preview.get_by_text("E-mail: “not-an-email” is not a valid email address.")).to_be_visible()
    # The preview follows a change of the choices (htmx), and follows it back.
    page.get_by_label("Contact field for column “Company / Account”").select_option("")
    expect(preview.get_by_role("columnheader", name="Company (account)")).to_have_count(0)
    page.get_by_label("Contact field for column “Company / Account”").select_option("company")
    expect(preview.get_by_role("columnheader", name="Company (account)")).to_be_visible()
    expect(page.get_by_label("Update the existing contact")).to_be_checked()
    page.get_by_role("button", name="Check all rows").click()

    # Review: the counts and the problem row, then the import.
    expect(page.get_by_role("heading", name="All 3 rows checked")).to_be_visible()
    expect(page.get_by_role("cell", name="“not-an-email” is not a valid email address.")).to_be_visible()
    assert not Contact.objects.filter(email="ada@engines.example").exists()
    page.get_by_role("button", name="Import 2 contacts").click()

    expect(page.get_by_role("heading", name="Import finished")).to_be_visible()
    counts = page.locator(".import-counts")
    expect(counts).to_contain_text(re.compile(r"Created\s*1"))
    expect(counts).to_contain_text(re.compile(r"Updated\s*1"))
    expect(counts).to_contain_text(re.compile(r"Errors \(not imported\)\s*1"))
    bad_row = page.get_by_role("row").filter(has_text="not-an-email")
    expect(bad_row).to_contain_text("“not-an-email” is not a valid email address.")
    expect(bad_row.get_by_role("cell").first).to_have_text("3")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the row report (CSV)").click()
    assert download.value.suggested_filename == "leads - import report.csv"
    report = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert (
        "3,error,E-mail,“not-an-email” is not a valid email address.,not-an-email,Bob Broken,Bob,Broken,not-an-email"
        in report
    )
    assert "2,created,,,ada@engines.example,Ada Lovelace" in report

    ada = Contact.objects.get(organization=acme, email="ada@engines.example")
    assert ada.account.name == "Analytical Engines" and ada.owner == teammate
    assert Contact.objects.get(organization=acme, email="cy@known.example").title == "Keeps his title"

    page.get_by_role("link", name="Imports", exact=True).click()
    expect(page.get_by_role("row").filter(has_text="leads.csv")).to_contain_text("Imported")


@pytest.mark.browser
def test_the_progress_bar_follows_a_running_import_until_it_is_done(
    page: Page, live_server, sign_in: Callable, teammate: User, acme
) -> None:
    imp = ContactImport.objects.create(
        organization=acme,
        created_by=teammate,
        original_name="big.csv",
        headers=["Email"],
        mapping={"0": "email"},
        row_count=4_000,
        status=ContactImport.Status.IMPORTING,
    )
    imp.file.save("big.csv", ContentFile(b"Email\na@example.com\n"))
    sign_in(page, teammate)
    page.goto(f"{live_server.url}/app/contacts/imports/{imp.pk}/")

    bar = page.get_by_role("progressbar", name="Rows imported")
    expect(bar).to_have_attribute("aria-valuenow", "0")
    expect(page.get_by_text("Waiting for the background worker")).to_be_visible()

    # The worker moves on: the page follows without a reload.
    page.evaluate("window.loadedOnce = true")
    ContactImport.objects.filter(pk=imp.pk).update(
        processed_rows=2_000, created_count=1_990, error_count=10, started_at=imp.created_at
    )
    expect(bar).to_have_attribute("aria-valuenow", "50", timeout=5_000)
    expect(page.get_by_text("2000 of 4000 rows (50%)")).to_be_visible()

    ContactImport.objects.filter(pk=imp.pk).update(
        processed_rows=4_000, created_count=3_980, status=ContactImport.Status.DONE
    )
    expect(page.get_by_role("heading", name="Import finished")).to_be_visible(timeout=5_000)
    expect(page.locator(".import-counts")).to_contain_text(re.compile(r"Created\s*3980"))
    assert page.evaluate("window.loadedOnce === true"), "the page reloaded instead of polling"

    # Finished: the polling has stopped.
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.wait_for_timeout(2_500)
    assert not [url for url in requests if "/progress/" in url]
