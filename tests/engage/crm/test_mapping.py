"""Field mapping (G3), pure: the defaults, "Verify and save" against a describe, and values
both ways (Salesforce record → Engage, Engage contact → Salesforce create)."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import pytest

from engage.crm.fields import ENGAGE_FIELDS, REQUIRED_FIELDS
from engage.crm.mapping import (
    BOTH,
    DEFAULT_MAPPINGS,
    SUMMARY,
    TO_ENGAGE,
    MappingRow,
    apply_mapping,
    mapped_crm_fields,
    outbound_values,
    status_picklist_field,
    validate_mapping,
)


def with_row(sobject: str, engage_field: str, **changes) -> list[MappingRow]:
    """The default rows of ``sobject`` with one row changed."""
    return [replace(r, **changes) if r.engage_field == engage_field else r for r in DEFAULT_MAPPINGS[sobject]]


def index_of(rows: list[MappingRow], engage_field: str) -> int:
    return next(i for i, r in enumerate(rows) if r.engage_field == engage_field)


def errors_of(rows, describe, engage_field, **kw) -> list[str]:
    return validate_mapping(rows, describe, **kw).get(index_of(rows, engage_field), [])


# --- Defaults ---------------------------------------------------------------------------------------


def test_the_defaults_verify_cleanly_against_each_object(lead_describe, contact_describe, account_describe):
    assert validate_mapping(DEFAULT_MAPPINGS["Lead"], lead_describe) == {}
    assert (
        validate_mapping(DEFAULT_MAPPINGS["Contact"], contact_describe, related={"Account": account_describe})
        == {}
    )
    assert validate_mapping(DEFAULT_MAPPINGS["Account"], account_describe) == {}


def test_the_lead_defaults_are_the_standard_lead_fields():
    lead = {r.engage_field: r.crm_field for r in DEFAULT_MAPPINGS["Lead"]}
    assert lead["last_name"] == "LastName" and lead["company"] == "Company"
    assert lead["business_phone"] == "Phone" and lead["postal_code"] == "PostalCode"
    assert lead["status"] == "Status" and lead["email_opt_out"] == "HasOptedOutOfEmail"


def test_contacts_read_their_address_from_mailing_and_company_from_the_account():
    contact = {r.engage_field: r for r in DEFAULT_MAPPINGS["Contact"]}
    assert contact["street"].crm_field == "MailingStreet" and contact["country"].crm_field == "MailingCountry"
    assert contact["company"].crm_field == "Account.Name" and contact["company"].direction == TO_ENGAGE
    assert contact["status"].crm_field == ""


def test_accounts_use_billing_address_and_leave_domain_unmapped():
    account = {r.engage_field: r.crm_field for r in DEFAULT_MAPPINGS["Account"]}
    assert account["name"] == "Name" and account["website"] == "Website"
    assert account["street"] == "BillingStreet" and account["domain"] == ""


def test_only_the_two_written_back_fields_are_bi_directional_by_default():
    both = {r.engage_field for r in DEFAULT_MAPPINGS["Lead"] if r.direction == BOTH}
    assert both == {"status", "email_opt_out"}
    assert {r.engage_field for r in DEFAULT_MAPPINGS["Account"] if r.direction == BOTH} == set()


def test_every_engage_field_has_a_default_row_once():
    for sobject, rows in DEFAULT_MAPPINGS.items():
        names = [r.engage_field for r in rows]
        assert sorted(names) == sorted(f.name for f in ENGAGE_FIELDS[sobject])
        assert REQUIRED_FIELDS[sobject] <= set(names)


# --- Verify -----------------------------------------------------------------------------------------


def test_an_unknown_crm_field_is_named(lead_describe):
    rows = with_row("Lead", "title", crm_field="LeadSourceX")
    assert errors_of(rows, lead_describe, "title") == ["Salesforce has no field LeadSourceX on Lead."]


def test_crm_field_names_match_whatever_their_case(lead_describe):
    rows = with_row("Lead", "title", crm_field="title")
    assert validate_mapping(rows, lead_describe) == {}


@pytest.mark.parametrize(
    ("engage_field", "crm_field", "message"),
    [
        (
            "email_opt_out",
            "EmailBouncedReason",
            "Email Opt Out needs a checkbox field; EmailBouncedReason is a text field.",
        ),
        (
            "email_opt_out",
            "NumberOfEmployees",
            "Email Opt Out needs a checkbox field; NumberOfEmployees is a number field.",
        ),
        ("title", "DoNotCall", "Job Title needs a text or picklist field; DoNotCall is a checkbox field."),
        (
            "title",
            "ConvertedDate",
            "Job Title needs a text or picklist field; ConvertedDate is a date field.",
        ),
        ("city", "OwnerId", "City needs a text or picklist field; OwnerId is a lookup field."),
        ("status", "Jigsaw", "Contact Status needs a picklist field; Jigsaw is a text field."),
        ("email_opt_out", "Website", "Email Opt Out needs a checkbox field; Website is a URL field."),
        ("email", "Fax", "Email needs an email or text field; Fax is a phone field."),
        (
            "business_phone",
            "AnnualRevenue",
            "Business Phone needs a phone or text field; AnnualRevenue is a currency field.",
        ),
    ],
)
def test_incompatible_types_are_refused_with_both_types_named(
    lead_describe, engage_field, crm_field, message
):
    rows = with_row("Lead", engage_field, crm_field=crm_field, direction=TO_ENGAGE)
    assert errors_of(rows, lead_describe, engage_field) == [message]


def test_a_picklist_can_fill_a_text_field(lead_describe):
    rows = with_row("Lead", "title", crm_field="Industry")
    assert validate_mapping(rows, lead_describe) == {}


def test_bi_directional_needs_a_field_salesforce_lets_us_update(lead_describe):
    rows = with_row("Lead", "title", crm_field="Name", direction=BOTH)
    assert errors_of(rows, lead_describe, "title") == [
        "Name is read-only in Salesforce, so it cannot be bi-directional; choose Salesforce → Cadence."
    ]
    assert validate_mapping(with_row("Lead", "title", crm_field="Name"), lead_describe) == {}


def test_a_relationship_path_is_read_only(contact_describe, account_describe):
    rows = with_row("Contact", "company", direction=BOTH)
    assert errors_of(rows, contact_describe, "company", related={"Account": account_describe}) == [
        "Account.Name is read-only in Salesforce, so it cannot be bi-directional; choose Salesforce → Cadence."
    ]


def test_a_relationship_path_is_checked_against_the_other_object(contact_describe, account_describe):
    related = {"Account": account_describe}
    rows = with_row("Contact", "company", crm_field="Account.Nope")
    assert errors_of(rows, contact_describe, "company", related=related) == [
        "Salesforce has no field Nope on Account (through Account)."
    ]
    rows = with_row("Contact", "company", crm_field="Boss.Name")
    assert errors_of(rows, contact_describe, "company", related=related) == [
        "Salesforce has no relationship Boss on Contact."
    ]
    rows = with_row("Contact", "company", crm_field="Account.Owner.Name")
    assert "one relationship at most" in errors_of(rows, contact_describe, "company", related=related)[0]


@pytest.mark.parametrize(
    ("engage_field", "crm_field", "default", "message"),
    [
        ("status", "Status", "Nurturing", "“Nurturing” is not an active value of the Status picklist"),
        ("title", "Industry", "Aerospace", "“Aerospace” is not an active value of the Industry picklist"),
        (
            "email_opt_out",
            "HasOptedOutOfEmail",
            "maybe",
            "HasOptedOutOfEmail is a checkbox: type true or false",
        ),
        (
            "postal_code",
            "PostalCode",
            "1" * 21,
            "The default is 21 characters long; PostalCode holds at most 20.",
        ),
        ("email", "Email", "not-an-address", "Email holds email addresses: “not-an-address” is not one."),
    ],
)
def test_defaults_must_fit_the_salesforce_field(lead_describe, engage_field, crm_field, default, message):
    rows = with_row("Lead", engage_field, crm_field=crm_field, default_value=default)
    errors = errors_of(rows, lead_describe, engage_field)
    assert any(e.startswith(message) for e in errors), errors


def test_defaults_must_fit_the_engage_field_too(lead_describe):
    # Lead Company holds 255 characters, and so does Engage's company; Title 128 vs Engage's 200.
    rows = with_row("Lead", "first_name", crm_field="Description", default_value="x" * 151)
    errors = errors_of(rows, lead_describe, "first_name")
    assert errors == ["The default is 151 characters long; Cadence's First Name holds at most 150."]


def test_valid_defaults_pass(lead_describe):
    rows = with_row("Lead", "status", default_value="Working - Contacted")
    rows = [replace(r, default_value="Unknown") if r.engage_field == "company" else r for r in rows]
    rows = [replace(r, default_value="false") if r.engage_field == "email_opt_out" else r for r in rows]
    assert validate_mapping(rows, lead_describe) == {}


def test_a_default_without_a_crm_field_is_refused(lead_describe):
    rows = with_row("Lead", "direct_phone", crm_field="", default_value="+1 555")
    assert errors_of(rows, lead_describe, "direct_phone") == [
        "A default only fills in when the Salesforce field is empty: pick a field or clear the default."
    ]


@pytest.mark.parametrize("engage_field", ["last_name", "email", "company"])
def test_required_engage_fields_must_be_mapped_on_leads(lead_describe, engage_field):
    rows = with_row("Lead", engage_field, crm_field="")
    assert errors_of(rows, lead_describe, engage_field) == [
        f"{next(f.label for f in ENGAGE_FIELDS['Lead'] if f.name == engage_field)} is required: map it to a Salesforce field."
    ]


def test_company_is_optional_on_contacts(contact_describe):
    rows = with_row("Contact", "company", crm_field="")
    assert validate_mapping(rows, contact_describe) == {}


def test_a_required_field_without_any_row_is_reported_for_the_whole_mapping(lead_describe):
    rows = [r for r in DEFAULT_MAPPINGS["Lead"] if r.engage_field != "last_name"]
    assert validate_mapping(rows, lead_describe) == {
        SUMMARY: ["Last Name is required: add a row that maps it to a Salesforce field."]
    }


def test_the_same_crm_field_mapped_twice_is_refused_on_the_second_row(lead_describe):
    rows = with_row("Lead", "direct_phone", crm_field="phone")
    assert errors_of(rows, lead_describe, "direct_phone") == [
        "Phone is already mapped to Business Phone; map each Salesforce field once."
    ]
    assert index_of(rows, "business_phone") not in validate_mapping(rows, lead_describe)


def test_an_engage_field_in_two_rows_is_refused(lead_describe):
    rows = [*DEFAULT_MAPPINGS["Lead"], MappingRow("title", "Industry")]
    assert validate_mapping(rows, lead_describe) == {
        len(rows) - 1: ["Job Title is already in row 3; keep one row per Cadence field."]
    }


def test_an_unknown_engage_field_and_direction_are_refused(lead_describe):
    rows = [*DEFAULT_MAPPINGS["Lead"], MappingRow("", "Industry")]
    assert "Cadence has no field" in validate_mapping(rows, lead_describe)[len(rows) - 1][0]
    rows = with_row("Lead", "title", direction="sideways")
    assert errors_of(rows, lead_describe, "title") == ["Choose a sync direction."]


def test_account_fields_are_not_lead_fields(lead_describe):
    rows = [*DEFAULT_MAPPINGS["Lead"], MappingRow("domain", "Website")]
    assert (
        "Cadence has no field “domain” for Leads" in validate_mapping(rows, lead_describe)[len(rows) - 1][0]
    )


def test_rows_may_be_dicts_or_models(lead_describe):
    rows = [
        {
            "engage_field": r.engage_field,
            "crm_field": r.crm_field,
            "default_value": "",
            "direction": r.direction,
        }
        for r in DEFAULT_MAPPINGS["Lead"]
    ]
    assert validate_mapping(rows, lead_describe) == {}


def test_the_status_picklist_is_found_from_the_mapping(lead_describe):
    assert status_picklist_field(DEFAULT_MAPPINGS["Lead"], lead_describe)["name"] == "Status"
    assert status_picklist_field(with_row("Lead", "status", crm_field=""), lead_describe) is None
    assert (
        status_picklist_field(with_row("Lead", "status", crm_field="Rating"), lead_describe)["name"]
        == "Rating"
    )


# --- Salesforce → Engage ----------------------------------------------------------------------------


def test_a_lead_record_becomes_engage_values():
    record = {
        "attributes": {"type": "Lead", "url": "/services/data/v59.0/sobjects/Lead/00Q000000000001AAA"},
        "Id": "00Q000000000001AAA",
        "LastName": "  Smith ",
        "FirstName": "Ann",
        "Company": "Acme",
        "Email": "Ann.Smith@ACME.example",
        "Phone": None,
        "Street": "1 Main St\nSuite 2",
        "Status": "Working - Contacted",
        "HasOptedOutOfEmail": True,
    }
    values = apply_mapping(record, DEFAULT_MAPPINGS["Lead"])
    assert values["last_name"] == "Smith" and values["first_name"] == "Ann"
    assert values["email"] == "ann.smith@acme.example"
    assert values["business_phone"] == ""  # empty in Salesforce empties Engage: it is the source of truth
    assert values["street"] == "1 Main St\nSuite 2"
    assert values["status"] == "Working - Contacted" and values["email_opt_out"] is True
    assert "direct_phone" not in values  # "do not read/write"
    assert values["title"] == ""  # not in the record at all


def test_defaults_fill_empty_salesforce_values():
    rows = with_row("Lead", "country", default_value="Germany")
    assert apply_mapping({"Country": None}, rows)["country"] == "Germany"
    assert apply_mapping({"Country": ""}, rows)["country"] == "Germany"
    assert apply_mapping({"Country": "France"}, rows)["country"] == "France"
    rows = with_row("Lead", "email_opt_out", default_value="yes")
    assert apply_mapping({"HasOptedOutOfEmail": None}, rows)["email_opt_out"] is True


def test_relationship_values_are_read_from_the_nested_record():
    record = {"LastName": "Lee", "Account": {"attributes": {"type": "Account"}, "Name": "Globex"}}
    assert apply_mapping(record, DEFAULT_MAPPINGS["Contact"])["company"] == "Globex"
    assert apply_mapping({"LastName": "Lee", "Account": None}, DEFAULT_MAPPINGS["Contact"])["company"] == ""


def test_values_are_cut_to_the_engage_column_and_numbers_read_plainly():
    rows = [
        MappingRow("title", "Title"),
        MappingRow("city", "NumberOfEmployees"),
        MappingRow("state", "Score__c"),
    ]
    values = apply_mapping({"Title": "x" * 300, "NumberOfEmployees": 250.0, "Score__c": 12.5}, rows)
    assert len(values["title"]) == 200
    assert values["city"] == "250" and values["state"] == "12.5"


def test_mapped_crm_fields_lists_each_field_once():
    rows = [*DEFAULT_MAPPINGS["Contact"], MappingRow("title", "title")]
    fields = mapped_crm_fields(rows)
    assert "Account.Name" in fields and fields.count("Title") == 1 and "" not in fields


# --- Engage → Salesforce ----------------------------------------------------------------------------


def a_contact(**overrides):
    values = {
        "first_name": "Ann",
        "last_name": "Lee",
        "email": "ann@acme.example",
        "title": "VP Sales",
        "company": "Acme",
        "business_phone": "+1 555 0100",
        "direct_phone": "",
        "mobile_phone": "",
        "street": "",
        "city": "Boston",
        "state": "",
        "postal_code": "",
        "country": "",
        "status": SimpleNamespace(crm_value="Working - Contacted", name="Contacted"),
        "email_opt_out": False,
    }
    return SimpleNamespace(**{**values, **overrides})


def test_a_new_lead_gets_every_mapped_createable_field(lead_describe):
    assert outbound_values(a_contact(), DEFAULT_MAPPINGS["Lead"], lead_describe) == {
        "FirstName": "Ann",
        "LastName": "Lee",
        "Email": "ann@acme.example",
        "Title": "VP Sales",
        "Company": "Acme",
        "Phone": "+1 555 0100",
        "City": "Boston",
        "Status": "Working - Contacted",
        "HasOptedOutOfEmail": False,
    }


def test_defaults_fill_what_engage_does_not_know(lead_describe):
    rows = with_row("Lead", "company", default_value="Unknown")
    assert outbound_values(a_contact(company=""), rows, lead_describe)["Company"] == "Unknown"


def test_a_status_not_in_the_picklist_is_left_to_salesforce(lead_describe):
    contact = a_contact(status=SimpleNamespace(crm_value="", name="Prospecting"))
    assert "Status" not in outbound_values(contact, DEFAULT_MAPPINGS["Lead"], lead_describe)
    rows = with_row("Lead", "status", default_value="Open - Not Contacted")
    assert outbound_values(contact, rows, lead_describe)["Status"] == "Open - Not Contacted"


def test_fields_salesforce_does_not_let_us_create_are_left_out(lead_describe, contact_describe):
    rows = [
        MappingRow("last_name", "LastName"),
        MappingRow("title", "Name"),
        MappingRow("city", "IsConverted"),
    ]
    assert outbound_values(a_contact(), rows, lead_describe) == {"LastName": "Lee"}
    values = outbound_values(a_contact(), DEFAULT_MAPPINGS["Contact"], contact_describe)
    assert "Account.Name" not in values and "Company" not in values
    assert values["MailingCity"] == "Boston"


def test_values_are_cut_to_the_salesforce_field_length(lead_describe):
    rows = [MappingRow("title", "Title")]
    assert len(outbound_values(a_contact(title="t" * 200), rows, lead_describe)["Title"]) == 128


def test_an_account_maps_the_same_way(account_describe):
    account = SimpleNamespace(
        name="Acme", domain="acme.example", website="https://acme.example", phone="", street="",
        city="Boston", state="MA", postal_code="", country="US",
    )  # fmt: skip
    assert outbound_values(account, DEFAULT_MAPPINGS["Account"], account_describe) == {
        "Name": "Acme",
        "Website": "https://acme.example",
        "BillingCity": "Boston",
        "BillingState": "MA",
        "BillingCountry": "US",
    }
