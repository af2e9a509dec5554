"""Guessing columns from headers, and cleaning one row into contact values or errors that name
the column."""

from __future__ import annotations

import pytest

from engage.imports.fields import guess_field, guess_mapping, mapping_problems
from engage.imports.rows import clean_row, columns_for


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("E-mail", "email"),
        ("Email Address", "email"),
        ("EMAIL", "email"),
        (" email ", "email"),
        ("Company", "company"),
        ("Account Name", "company"),
        ("Company / Account", "company"),
        ("Mobile", "mobile_phone"),
        ("Mobile Phone", "mobile_phone"),
        ("Cell", "mobile_phone"),
        ("MOBILEPHONE", "mobile_phone"),
        ("Phone", "business_phone"),
        ("Business Phone", "business_phone"),
        ("Work Phone", "business_phone"),
        ("Direct Phone", "direct_phone"),
        ("Direct Dial", "direct_phone"),
        ("Title", "title"),
        ("Job Title", "title"),
        ("Lead Status", "status"),
        ("Status", "status"),
        ("Owner", "owner"),
        ("Owner Email", "owner"),
        ("Lead Owner", "owner"),
        ("Email Opt Out", "email_opt_out"),
        ("HasOptedOutOfEmail", "email_opt_out"),
        ("HASOPTEDOUTOFEMAIL", "email_opt_out"),
        ("Lead ID", "crm_lead_id"),
        ("Contact ID", "crm_contact_id"),
        ("First Name", "first_name"),
        ("FIRSTNAME", "first_name"),
        ("Last Name", "last_name"),
        ("Street", "street"),
        ("Mailing Street", "street"),
        ("City", "city"),
        ("State/Province", "state"),
        ("Mailing State/Province", "state"),
        ("Zip/Postal Code", "postal_code"),
        ("Country", "country"),
        ("Website", "website"),
        ("Favourite colour", ""),
    ],
)
def test_headers_are_guessed_whatever_their_spelling(header, field):
    assert guess_field(header) == field


def test_a_bare_id_column_is_a_lead_or_contact_id_by_the_other_columns():
    assert guess_mapping(["ID", "EMAIL", "COMPANY", "STATUS"])["0"] == "crm_lead_id"
    assert guess_mapping(["ID", "EMAIL", "ACCOUNTID"])["0"] == "crm_contact_id"
    assert "0" not in guess_mapping(["Id", "Email"])  # no telling which: not guessed


def test_the_guess_never_maps_two_columns_to_one_field():
    mapping = guess_mapping(["Email", "E-mail", "Phone", "Work Phone"])
    assert mapping == {"0": "email", "2": "business_phone"}


def test_first_and_last_name_columns_beat_a_full_name_column():
    assert guess_mapping(["Name", "First Name", "Last Name", "Email"]) == {
        "1": "first_name",
        "2": "last_name",
        "3": "email",
    }
    assert guess_mapping(["Full Name", "Email"]) == {"0": "full_name", "1": "email"}


def test_mapping_problems_name_both_columns_and_require_the_email():
    headers = ["Email", "Phone", "Work Phone"]
    problems = mapping_problems({"1": "business_phone", "2": "business_phone"}, headers)
    messages = [m for _, m in problems]
    assert (
        [1, 2],
        "“Phone” and “Work Phone” are both mapped to Business phone. Choose one of them.",
    ) in problems
    assert any("email" in m for m in messages)
    assert mapping_problems({"0": "email"}, headers) == []


HEADERS = ["Email", "First", "Last", "Title", "Opt out", "Lead", "Phone", "Full"]
MAPPING = {
    "0": "email",
    "1": "first_name",
    "2": "last_name",
    "3": "title",
    "4": "email_opt_out",
    "5": "crm_lead_id",
    "6": "business_phone",
}


def clean(cells, mapping=MAPPING):
    return clean_row(2, cells, columns_for(mapping, HEADERS), len(HEADERS))


def test_a_good_row_is_cleaned():
    row = clean(["  Ann@Example.COM ", " Ann ", "Lee", "CEO", "Yes", "00Q5g00000AbCdE", " +1  415 555 0100 "])
    assert row.ok
    assert row.values == {
        "email": "ann@example.com",
        "first_name": "Ann",
        "last_name": "Lee",
        "title": "CEO",
        "email_opt_out": True,
        "crm_lead_id": "00Q5g00000AbCdE",
        "business_phone": "+14155550100",
    }


@pytest.mark.parametrize(
    ("cells", "column", "message"),
    [
        (["", "Ann"], "Email", "No email: every contact needs one."),
        (["not-an-email", "Ann"], "Email", "“not-an-email” is not a valid email address."),
        (["a@example.com", "", "", "x" * 201], "Title", "Too long: 201 characters, the limit is 200."),
        (["a@example.com", "", "", "", "maybe"], "Opt out", "“maybe” is not yes or no"),
        (
            ["a@example.com", "", "", "", "", "12345"],
            "Lead",
            "is not a Salesforce id (15 or 18 letters and digits).",
        ),
        (["a@example.com", "", "", "", "", "00Q5g00000AbCdE!!!"], "Lead", "is not a Salesforce id"),
    ],
)
def test_row_errors_name_the_column(cells, column, message):
    row = clean(cells)
    assert not row.ok
    assert row.problems[0].column == column
    assert message in row.problems[0].message


def test_an_entirely_empty_mapped_row_is_an_error():
    row = clean(["", " ", "", "", "", "", "", "something in an unmapped column"])
    assert [p.message for p in row.problems] == ["Empty row: none of the imported columns has a value."]


@pytest.mark.parametrize(
    ("word", "value"),
    [("true", True), ("FALSE", False), ("yes", True), ("No", False), ("1", True), ("0", False), ("x", True)],
)
def test_opt_out_words(word, value):
    assert clean(["a@example.com", "", "", "", word]).values["email_opt_out"] is value


def test_an_empty_opt_out_is_left_alone():
    assert "email_opt_out" not in clean(["a@example.com", "", "", "", ""]).values


def test_an_eighteen_character_crm_id_is_fine():
    assert clean(["a@example.com", "", "", "", "", "00Q5g00000AbCdEFGH"]).ok


def test_a_row_with_more_values_than_columns_is_an_error():
    row = clean_row(
        2, ["a@example.com", "Ann", "Lee", "extra"], columns_for({"0": "email"}, ["Email", "A", "B"]), 3
    )
    assert "has 4 values but the header names 3 columns" in row.problems[0].message
    # Empty trailing cells (a spreadsheet's stray separators) are fine.
    assert clean_row(2, ["a@example.com", "", "", ""], columns_for({"0": "email"}, ["Email", "A", "B"]), 3).ok


def test_a_full_name_is_split_and_separate_name_columns_win():
    row = clean(["a@example.com", "", "", "", "", "", "", "Mary Ann Smith"], {"0": "email", "7": "full_name"})
    assert (row.values["first_name"], row.values["last_name"]) == ("Mary Ann", "Smith")
    row = clean(
        ["a@example.com", "Molly", "", "", "", "", "", "Mary Smith"],
        {"0": "email", "1": "first_name", "2": "last_name", "7": "full_name"},
    )
    assert (row.values["first_name"], row.values["last_name"]) == ("Molly", "Smith")
    row = clean(["a@example.com", "", "", "", "", "", "", "Cher"], {"0": "email", "7": "full_name"})
    assert row.values["last_name"] == "Cher"
