"""Describe: the global list, object and field metadata, and per-user object permissions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

from integrations.sandbox.salesforce.demo import READONLY_USERNAME, REP1_USERNAME

FIELD_KEYS = {
    "name", "label", "type", "length", "nillable", "createable", "updateable", "defaultedOnCreate",
    "custom", "unique", "calculated", "restrictedPicklist", "referenceTo", "relationshipName",
    "picklistValues", "soapType", "filterable", "sortable", "externalId", "precision", "scale",
}  # fmt: skip


def fields(describe: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in describe["fields"]}


def test_the_global_describe_lists_the_objects_cadence_uses(api: Salesforce) -> None:
    result = api.describe()

    assert (result["encoding"], result["maxBatchSize"]) == ("UTF-8", 200)
    by_name = {o["name"]: o for o in result["sobjects"]}
    assert {"Lead", "Contact", "Account", "Task", "User", "Organization", "LeadStatus"} <= set(by_name)
    assert by_name["Lead"]["keyPrefix"] == "00Q"
    assert by_name["Lead"]["urls"]["describe"] == "/services/data/v59.0/sobjects/Lead/describe"
    assert {"createable", "updateable", "queryable", "label", "labelPlural"} <= set(by_name["Lead"])


@pytest.mark.parametrize(
    "sobject", ["Lead", "Contact", "Account", "Task", "User", "Organization", "LeadStatus"]
)
def test_each_object_describes_itself_with_full_field_metadata(api: Salesforce, sobject: str) -> None:
    result = getattr(api, sobject).describe()

    assert result["name"] == sobject
    assert {"label", "labelPlural", "keyPrefix", "createable", "updateable", "deletable", "queryable"} <= set(
        result
    )
    assert result["queryable"] is True
    for field in result["fields"]:
        assert set(field) >= FIELD_KEYS, field["name"]
    assert fields(result)["Id"]["type"] == "id"


def test_the_lead_describe_has_its_picklists_required_fields_and_references(api: Salesforce) -> None:
    lead = fields(api.Lead.describe())

    status = lead["Status"]
    assert status["type"] == "picklist"
    assert [v["value"] for v in status["picklistValues"]] == [
        "Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted",
    ]  # fmt: skip
    assert [v["value"] for v in status["picklistValues"] if v["defaultValue"]] == ["Open - Not Contacted"]
    assert status["picklistValues"][0] == {
        "active": True, "defaultValue": True, "label": "Open - Not Contacted", "validFor": None,
        "value": "Open - Not Contacted",
    }  # fmt: skip
    assert (lead["LastName"]["nillable"], lead["Company"]["nillable"]) == (False, False)
    assert (lead["Name"]["createable"], lead["Name"]["calculated"]) == (False, True)
    assert lead["OwnerId"]["referenceTo"] == ["Group", "User"]
    assert lead["OwnerId"]["relationshipName"] == "Owner"
    assert lead["HasOptedOutOfEmail"]["type"] == "boolean"
    assert lead["AnnualRevenue"]["type"] == "currency"
    assert lead["SystemModstamp"]["type"] == "datetime"
    assert lead["SystemModstamp"]["createable"] is False


def test_the_task_describe_has_the_activity_fields(api: Salesforce) -> None:
    task = fields(api.Task.describe())

    assert [v["value"] for v in task["TaskSubtype"]["picklistValues"]] == [
        "Task", "Email", "ListEmail", "Cadence", "Call", "LinkedIn",
    ]  # fmt: skip
    assert task["Priority"]["defaultValue"] == "Normal"
    assert task["WhoId"]["referenceTo"] == ["Contact", "Lead"]
    assert task["CallDurationInSeconds"]["type"] == "int"
    assert {"Subject", "Status", "ActivityDate", "WhatId", "OwnerId", "Description", "CallType",
            "CallDisposition"} <= set(task)  # fmt: skip


def test_the_admin_may_create_and_edit_people_and_users(api: Salesforce) -> None:
    for sobject in ("Lead", "Contact", "Account", "User"):
        result = getattr(api, sobject).describe()
        assert (result["createable"], result["updateable"]) == (True, True), sobject


def test_the_read_only_user_sees_read_only_objects_and_fields(api_as: Callable[[str], Salesforce]) -> None:
    reader = api_as(READONLY_USERNAME)

    for sobject in ("Lead", "Contact", "Account"):
        result = getattr(reader, sobject).describe()
        assert (result["createable"], result["updateable"], result["queryable"]) == (False, False, True)
        assert not any(f["createable"] or f["updateable"] for f in result["fields"])


def test_the_read_only_user_cannot_create(api_as: Callable[[str], Salesforce]) -> None:
    with pytest.raises(SalesforceMalformedRequest) as raised:
        api_as(READONLY_USERNAME).Lead.create({"LastName": "Doe", "Company": "Acme"})

    assert raised.value.content == [
        {
            "message": "entity type cannot be inserted: Lead",
            "errorCode": "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
        }
    ]


def test_a_sales_rep_cannot_manage_users(api_as: Callable[[str], Salesforce]) -> None:
    result = api_as(REP1_USERNAME).User.describe()

    assert (result["createable"], result["updateable"]) == (False, False)


def test_lead_statuses_are_queryable_like_the_picklist(api: Salesforce) -> None:
    result = api.query(
        "SELECT ApiName, MasterLabel, IsConverted, IsDefault, SortOrder FROM LeadStatus ORDER BY SortOrder"
    )

    rows = [(r["ApiName"], r["IsConverted"], r["IsDefault"], r["SortOrder"]) for r in result["records"]]
    assert rows == [
        ("Open - Not Contacted", False, True, 1), ("Working - Contacted", False, False, 2),
        ("Closed - Converted", True, False, 3), ("Closed - Not Converted", False, False, 4),
    ]  # fmt: skip


def test_the_org_is_sandbox_corp_enterprise_edition(api: Salesforce) -> None:
    org = api.query("SELECT Id, Name, OrganizationType, IsSandbox FROM Organization")["records"][0]

    assert (org["Name"], org["OrganizationType"], org["IsSandbox"]) == (
        "Sandbox Corp",
        "Enterprise Edition",
        False,
    )
    assert org["Id"].startswith("00D")


def test_an_unknown_object_is_not_found(api: Salesforce) -> None:
    with pytest.raises(SalesforceResourceNotFound):
        api.Opportunity.describe()
