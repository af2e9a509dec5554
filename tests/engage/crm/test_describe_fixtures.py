"""The recorded describes look like Salesforce's: the tests of the pure functions are only worth
what these fixtures are worth."""

from __future__ import annotations

import pytest

from engage.crm.describe import fields_by_name, picklist_for_statuses
from tests.engage.crm.conftest import recorded_describe

FIELD_KEYS = {
    "name", "label", "type", "length", "nillable", "createable", "updateable", "defaultedOnCreate",
    "custom", "unique", "externalId", "calculated", "restrictedPicklist", "referenceTo",
    "relationshipName", "picklistValues", "filterable", "soapType",
}  # fmt: skip


@pytest.mark.parametrize("sobject", ["Lead", "Contact", "Account"])
def test_each_describe_has_the_shape_of_a_describe_sobject_result(sobject):
    describe = recorded_describe(sobject)
    assert describe["name"] == sobject and describe["queryable"] and describe["createable"]
    assert {
        "label",
        "labelPlural",
        "keyPrefix",
        "fields",
        "childRelationships",
        "recordTypeInfos",
        "urls",
    } <= set(describe)
    for field in describe["fields"]:
        assert set(field) >= FIELD_KEYS, field["name"]
    types = {f["type"] for f in describe["fields"]}
    assert {"id", "string", "picklist", "boolean", "reference", "textarea", "datetime", "phone"} <= types


def test_the_lead_describe_has_the_fields_the_examples_use():
    fields = fields_by_name(recorded_describe("Lead"))
    assert fields["AnnualRevenue"]["type"] == "currency"
    assert fields["NumberOfEmployees"]["type"] == "int"
    assert fields["HasOptedOutOfEmail"]["type"] == "boolean"
    assert fields["Email"]["type"] == "email" and fields["Website"]["type"] == "url"
    assert fields["Id"]["createable"] is False and fields["Name"]["updateable"] is False
    assert picklist_for_statuses(fields["Status"]) == [
        ("Open - Not Contacted", "Open - Not Contacted", True),
        ("Working - Contacted", "Working - Contacted", False),
        ("Closed - Converted", "Closed - Converted", False),
        ("Closed - Not Converted", "Closed - Not Converted", False),
    ]  # the inactive "Nurturing" value is left out
