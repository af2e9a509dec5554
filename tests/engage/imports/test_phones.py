"""Phone numbers in a CSV import (issue 12): kept in E.164, read in the row's country when they
have no country code, and a value that is not a number is an error row naming its column."""

from __future__ import annotations

from engage.imports.rows import clean_row, columns_for
from engage.models import Contact
from tests.engage.imports.conftest import assert_counts_add_up, report_rows

HEADERS = ["Email", "Phone", "Mobile", "Country"]
MAPPING = {"0": "email", "1": "business_phone", "2": "mobile_phone", "3": "country"}


def clean(cells, *, region=None):
    return clean_row(2, cells, columns_for(MAPPING, HEADERS), len(HEADERS), region=region)


def test_a_national_number_is_read_in_the_rows_country_then_the_importers_region():
    assert clean(["a@example.com", "030 1234567", "", "Germany"]).values["business_phone"] == "+49301234567"
    assert clean(["a@example.com", "(415) 555-0100", "", ""], region="US").values["business_phone"] == (
        "+14155550100"
    )
    # The row's own country wins over the importer's region.
    assert clean(["a@example.com", "020 7946 0958", "", "UK"], region="US").values["business_phone"] == (
        "+442079460958"
    )


def test_a_national_number_without_any_country_is_an_error_asking_for_the_international_form():
    row = clean(["a@example.com", "", "415 555 0100", ""])
    assert not row.ok
    assert row.problems[0].column == "Mobile"
    assert "has no country code: write it in the international form" in row.problems[0].message


def test_a_bad_phone_is_an_error_row_naming_the_column_and_the_other_rows_are_imported(import_file, acme):
    imp = import_file(
        "Email,First Name,Phone,Title\n"
        "ann@prospect.example,Ann,12ab,CEO\n"
        "bob@prospect.example,Bob,+1 415 555 0100 x12,CTO\n"
    )

    assert (imp.created_count, imp.error_count) == (1, 1)
    assert_counts_add_up(imp)
    ann, _bob = report_rows(imp)
    assert (ann["outcome"], ann["column"]) == ("error", "Phone")
    assert ann["message"] == (
        "“12ab” is not a phone number: write it in the international form, e.g. +1 415 555 0100."
    )
    # The report keeps the whole row as it was written, so it can be fixed and imported again.
    assert (ann["First Name"], ann["Phone"], ann["Title"]) == ("Ann", "12ab", "CEO")
    assert not Contact.objects.for_org(acme).filter(email="ann@prospect.example").exists()
    bob_contact = Contact.objects.for_org(acme).get(email="bob@prospect.example")
    assert bob_contact.business_phone == "+14155550100 ext. 12"


def test_a_file_without_a_country_column_reads_national_numbers_where_the_importer_is(
    import_file, acme, teammate
):
    """A seller importing their own country's numbers, written as people write them at home."""
    from engage.services.profile import seller_profile_for

    profile = seller_profile_for(teammate)
    profile.country = "United States"
    profile.save(update_fields=["country"])

    imp = import_file("Email,First Name,Phone\ncara@prospect.example,Cara,(415) 555-0100\n")

    assert (imp.created_count, imp.error_count) == (1, 0)
    assert Contact.objects.for_org(acme).get(email="cara@prospect.example").business_phone == "+14155550100"
