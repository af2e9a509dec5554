"""Sync rules (G4), pure: operators per field type and the SOQL each condition compiles to."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from engage.crm.soql_rules import (
    MAX_CONDITIONS,
    RuleError,
    check_conditions,
    compile_condition,
    compile_where,
    operators_for,
    rule_fields,
    soql_string,
)


def op_keys(describe, name: str) -> list[str]:
    field = next(f for f in describe["fields"] if f["name"] == name)
    return [o.key for o in operators_for(field)]


def soql(describe, field, operator, value=""):
    return compile_condition({"field": field, "operator": operator, "value": value}, describe)


def test_the_guide_example_compiles(lead_describe):
    conditions = [
        {"field": "Title", "operator": "contains", "value": "Sales"},
        {"field": "AnnualRevenue", "operator": "gt", "value": "1000000"},
    ]
    assert (
        compile_where(conditions, "OR", lead_describe) == "(Title LIKE '%Sales%' OR AnnualRevenue > 1000000)"
    )


def test_no_conditions_means_every_record_and_one_needs_no_parentheses(lead_describe):
    assert compile_where([], "AND", lead_describe) == ""
    assert compile_where(
        [{"field": "Rating", "operator": "equals", "value": "Hot"}], "AND", lead_describe
    ) == ("Rating = 'Hot'")


# --- Operators by type ------------------------------------------------------------------------------


def test_text_fields_compare_as_text(lead_describe):
    for name in ("Title", "Email", "Phone", "Website", "Street"):
        assert op_keys(lead_describe, name) == [
            "equals", "not_equals", "contains", "not_contains", "starts_with", "is_empty", "is_not_empty"
        ]  # fmt: skip


def test_picklists_offer_their_values(lead_describe):
    assert op_keys(lead_describe, "Status") == ["equals", "not_equals", "in_list", "is_empty", "is_not_empty"]


def test_numbers_and_currency_compare_as_numbers(lead_describe):
    expected = ["equals", "not_equals", "lt", "lte", "gt", "gte", "is_empty", "is_not_empty"]
    assert op_keys(lead_describe, "AnnualRevenue") == expected
    assert op_keys(lead_describe, "NumberOfEmployees") == expected
    assert op_keys(lead_describe, "Lead_Score__c") == expected


def test_checkboxes_are_true_or_false(lead_describe):
    assert op_keys(lead_describe, "HasOptedOutOfEmail") == ["is_true", "is_false"]


def test_dates_and_datetimes_are_on_before_after(lead_describe):
    assert op_keys(lead_describe, "ConvertedDate")[:3] == ["on", "before", "after"]
    assert op_keys(lead_describe, "CreatedDate")[:3] == ["on", "before", "after"]


def test_rules_offer_only_filterable_fields_with_operators(lead_describe):
    names = {f["name"] for f in rule_fields(lead_describe)}
    assert {"Title", "AnnualRevenue", "Status", "HasOptedOutOfEmail", "CreatedDate", "OwnerId"} <= names
    assert "Description" not in names  # long text: Salesforce cannot filter on it
    assert "Address" not in names


# --- Compiled conditions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "operator", "value", "expected"),
    [
        ("Title", "equals", "CEO", "Title = 'CEO'"),
        ("Title", "not_equals", "CEO", "Title != 'CEO'"),
        ("Title", "contains", "Sales", "Title LIKE '%Sales%'"),
        ("Title", "not_contains", "Intern", "(NOT Title LIKE '%Intern%')"),
        ("Title", "starts_with", "VP", "Title LIKE 'VP%'"),
        ("Title", "is_empty", "", "Title = null"),
        ("Title", "is_not_empty", "ignored", "Title != null"),
        ("Status", "equals", "Working - Contacted", "Status = 'Working - Contacted'"),
        (
            "Status",
            "in_list",
            ["Open - Not Contacted", "Working - Contacted"],
            "Status IN ('Open - Not Contacted', 'Working - Contacted')",
        ),
        ("Status", "in_list", "Closed - Converted\nClosed - Converted\n", "Status IN ('Closed - Converted')"),
        ("AnnualRevenue", "gte", "1,000,000", "AnnualRevenue >= 1000000"),
        ("AnnualRevenue", "lt", "1e6", "AnnualRevenue < 1000000"),
        ("Lead_Score__c", "lte", "  12.50 ", "Lead_Score__c <= 12.50"),
        ("NumberOfEmployees", "equals", "-5", "NumberOfEmployees = -5"),
        ("HasOptedOutOfEmail", "is_true", "", "HasOptedOutOfEmail = true"),
        ("HasOptedOutOfEmail", "is_false", "", "HasOptedOutOfEmail = false"),
        ("ConvertedDate", "on", "2024-02-29", "ConvertedDate = 2024-02-29"),
        ("ConvertedDate", "before", "2024-01-01", "ConvertedDate < 2024-01-01"),
        ("ConvertedDate", "after", "2024-01-01", "ConvertedDate > 2024-01-01"),
        (
            "CreatedDate",
            "on",
            "2024-12-31",
            "(CreatedDate >= 2024-12-31T00:00:00Z AND CreatedDate < 2025-01-01T00:00:00Z)",
        ),
        ("CreatedDate", "before", "2024-12-31", "CreatedDate < 2024-12-31T00:00:00Z"),
        ("CreatedDate", "after", "2024-12-31", "CreatedDate >= 2025-01-01T00:00:00Z"),
        ("OwnerId", "equals", "005000000000001AAA", "OwnerId = '005000000000001AAA'"),
        ("title", "equals", "x", "Title = 'x'"),  # Salesforce's spelling, whatever the case typed
    ],
)
def test_each_operator_compiles_to_soql(lead_describe, field, operator, value, expected):
    assert soql(lead_describe, field, operator, value) == expected


@pytest.mark.parametrize(
    ("field", "operator", "value", "message"),
    [
        ("", "equals", "x", "Choose a field."),
        ("LeadSourceX", "equals", "x", "Salesforce has no field LeadSourceX on Lead."),
        ("Title) OR (Id", "equals", "x", "Salesforce has no field Title) OR (Id on Lead."),
        ("Description", "contains", "x", "Salesforce cannot filter Leads by Description."),
        ("Title", "gt", "x", "Choose how to compare Title."),
        ("Title", "DROP", "x", "Choose how to compare Title."),
        ("Title", "equals", "   ", "Type a value for Title."),
        ("Title", "equals", "x" * 256, "Keep the value for Title to 255 characters or fewer."),
        ("Title", "equals", "a\x00b", "The value for Title has a character Salesforce cannot search for."),
        ("Status", "equals", "Nurturing", "“Nurturing” is not a value of Status."),
        ("Status", "in_list", ["Open - Not Contacted", "Bogus"], "“Bogus” is not a value of Status."),
        ("Status", "in_list", [], "Pick at least one value of Status."),
        ("AnnualRevenue", "gt", "a lot", "Annual Revenue compares with a number, like 1000000."),
        ("AnnualRevenue", "gt", "NaN", "Annual Revenue compares with a number, like 1000000."),
        ("AnnualRevenue", "gt", "Infinity", "Annual Revenue compares with a number, like 1000000."),
        ("AnnualRevenue", "gt", "1 OR Id != null", "Annual Revenue compares with a number, like 1000000."),
        ("CreatedDate", "on", "yesterday", "Created Date compares with a date written as YYYY-MM-DD."),
        ("CreatedDate", "on", "2024-02-30", "Created Date compares with a date written as YYYY-MM-DD."),
        (
            "OwnerId",
            "equals",
            "005' OR Id != '",
            "Owner ID compares with a Salesforce record id (15 or 18 letters and digits).",
        ),
    ],
)
def test_invalid_conditions_are_explained(lead_describe, field, operator, value, message):
    with pytest.raises(RuleError) as exc:
        soql(lead_describe, field, operator, value)
    assert str(exc.value) == message


def test_every_problem_is_reported_with_its_condition_number(lead_describe):
    conditions = [
        {"field": "Title", "operator": "contains", "value": "Sales"},
        {"field": "Nope", "operator": "equals", "value": "x"},
        {"field": "AnnualRevenue", "operator": "gt", "value": "lots"},
    ]
    assert check_conditions(conditions, lead_describe) == {
        1: "Salesforce has no field Nope on Lead.",
        2: "Annual Revenue compares with a number, like 1000000.",
    }
    with pytest.raises(ValidationError) as exc:
        compile_where(conditions, "AND", lead_describe)
    assert exc.value.messages == [
        "Condition 2: Salesforce has no field Nope on Lead.",
        "Condition 3: Annual Revenue compares with a number, like 1000000.",
    ]


def test_the_combinator_and_size_are_checked(lead_describe):
    condition = {"field": "Title", "operator": "is_empty", "value": ""}
    with pytest.raises(ValidationError):
        compile_where([condition], "AND NOT", lead_describe)
    with pytest.raises(ValidationError):
        compile_where([condition] * (MAX_CONDITIONS + 1), "OR", lead_describe)
    assert (
        compile_where([condition] * MAX_CONDITIONS, "OR", lead_describe).count(" OR ") == MAX_CONDITIONS - 1
    )


@pytest.mark.parametrize(
    ("value", "like", "expected"),
    [
        ("O'Brien", False, r"'O\'Brien'"),
        ("back\\slash", False, r"'back\\slash'"),
        ("50%_off", False, "'50%_off'"),
        ("50%_off", True, r"'50\%\_off'"),
        ('say "hi"', False, r"'say \"hi\"'"),
        ("line\nbreak\ttab\r", False, r"'line\nbreak\ttab\r'"),
        ("\\'", True, r"'\\\''"),
        ("Zoë 漢字 🚀", False, "'Zoë 漢字 🚀'"),
    ],
)
def test_strings_are_quoted_with_soql_escapes(value, like, expected):
    assert soql_string(value, like=like) == expected
