"""Record writes through simple-salesforce: CRUD, system fields, ids, field checks, required
fields, the US-state validation rule, the duplicate rule and sObject Collections."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

from integrations.sandbox.salesforce import control as sf
from integrations.sandbox.salesforce.demo import ADMIN_USERNAME, REP1_USERNAME
from tests.integrations.sandbox.salesforce.conftest import rest

STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000\+0000")
STATE_RULE = [
    {"message": "State must be a two-letter code for US addresses.",
     "errorCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION", "fields": ["State"]}
]  # fmt: skip


def refused(call: Callable[[], Any]) -> list[dict[str, Any]]:
    with pytest.raises(SalesforceMalformedRequest) as raised:
        call()
    assert raised.value.status == 400
    return raised.value.content


def a_contact_email(api: Salesforce) -> tuple[str, str]:
    row = api.query("SELECT Id, Email FROM Contact WHERE Email != null ORDER BY Email LIMIT 1")["records"][0]
    return row["Id"], row["Email"]


def test_create_get_update_delete(sandbox: Any, api: Salesforce) -> None:
    created = api.Lead.create({"FirstName": "Ada", "LastName": "Lovelace", "Company": "Engines Ltd",
                               "Email": "ada@engines.example", "Country": "United Kingdom"})  # fmt: skip

    assert created == {"id": created["id"], "success": True, "errors": []}
    lead = api.Lead.get(created["id"])
    assert lead["attributes"] == {
        "type": "Lead",
        "url": f"/services/data/v59.0/sobjects/Lead/{created['id']}",
    }
    assert (lead["Name"], lead["Status"], lead["IsDeleted"]) == (
        "Ada Lovelace",
        "Open - Not Contacted",
        False,
    )
    assert lead["OwnerId"] == lead["CreatedById"] == sf.user_id(sandbox.state, ADMIN_USERNAME)
    assert STAMP.fullmatch(lead["SystemModstamp"]) and lead["CreatedDate"] == lead["SystemModstamp"]
    assert lead["Address"]["country"] == "United Kingdom"

    sf.advance_clock(sandbox.state, 5)
    assert api.Lead.update(created["id"], {"Title": "Analyst", "Status": "Working - Contacted"}) == 204
    updated = api.Lead.get(created["id"])
    assert (updated["Title"], updated["Status"]) == ("Analyst", "Working - Contacted")
    assert updated["SystemModstamp"] > lead["SystemModstamp"] == updated["CreatedDate"]
    assert updated["LastModifiedDate"] == updated["SystemModstamp"]

    assert api.Lead.delete(created["id"]) == 204
    with pytest.raises(SalesforceResourceNotFound) as raised:
        api.Lead.get(created["id"])
    assert raised.value.content == [{"message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED"}]


def test_get_with_a_field_list(api: Salesforce) -> None:
    created = api.Account.create({"Name": "Fields Inc"})

    account = api.Account.get(created["id"], params={"fields": "Name,industry"})

    assert list(account) == ["attributes", "Name", "Industry"]


def test_an_explicit_owner_is_kept(sandbox: Any, api: Salesforce) -> None:
    rep = sf.user_id(sandbox.state, REP1_USERNAME)

    created = api.Contact.create({"LastName": "Owned", "OwnerId": rep})

    assert api.Contact.get(created["id"])["OwnerId"] == rep


def test_fifteen_character_ids_work_and_bad_ids_do_not(api: Salesforce) -> None:
    lead_id = api.Lead.create({"LastName": "Short", "Company": "Ids"})["id"]

    assert api.Lead.get(lead_id[:15])["Id"] == lead_id
    assert refused(lambda: api.Lead.update("00Qnotanid", {"Title": "x"})) == [
        {
            "message": "Lead ID: id value of incorrect type: 00Qnotanid",
            "errorCode": "MALFORMED_ID",
            "fields": ["Id"],
        }
    ]
    account_id = api.Account.create({"Name": "Wrong Type"})["id"]
    assert refused(lambda: api.Lead.get(account_id))[0]["errorCode"] == "MALFORMED_ID"
    with pytest.raises(SalesforceResourceNotFound) as raised:
        api.Lead.get(lead_id[:10] + "zzzzz")
    assert raised.value.content == [
        {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}
    ]


def test_required_fields_are_named(api: Salesforce) -> None:
    assert refused(lambda: api.Lead.create({"FirstName": "No"})) == [
        {"message": "Required fields are missing: [LastName, Company]", "errorCode": "REQUIRED_FIELD_MISSING",
         "fields": ["LastName", "Company"]}
    ]  # fmt: skip
    assert refused(lambda: api.Contact.create({"Email": "x@y.example"}))[0]["fields"] == ["LastName"]
    assert refused(lambda: api.Account.create({"Industry": "Retail"}))[0]["fields"] == ["Name"]
    lead_id = api.Lead.create({"LastName": "Kept", "Company": "Kept"})["id"]
    assert refused(lambda: api.Lead.update(lead_id, {"Company": None}))[0]["fields"] == ["Company"]


@pytest.mark.parametrize("country", ["US", "usa", "United States"])
def test_a_us_lead_needs_a_two_letter_state(api: Salesforce, country: str) -> None:
    lead = {"LastName": "Rule", "Company": "Rule Co", "Country": country}

    assert refused(lambda: api.Lead.create({**lead, "State": "California"})) == STATE_RULE
    assert api.Lead.create({**lead, "State": "CA"})["success"] is True


def test_the_state_rule_covers_contacts_accounts_and_updates(api: Salesforce) -> None:
    contact = refused(
        lambda: api.Contact.create({"LastName": "X", "MailingCountry": "US", "MailingState": "Texas"})
    )
    account = refused(
        lambda: api.Account.create({"Name": "X", "BillingCountry": "USA", "BillingState": "Ohio"})
    )
    foreign = api.Account.create({"Name": "Y", "BillingCountry": "France", "BillingState": "Île-de-France"})
    lead_id = api.Lead.create({"LastName": "Z", "Company": "Z", "Country": "US", "State": "NY"})["id"]

    assert contact[0]["fields"] == ["MailingState"] and account[0]["fields"] == ["BillingState"]
    assert foreign["success"] is True
    assert refused(lambda: api.Lead.update(lead_id, {"State": "New York"})) == STATE_RULE


def test_a_duplicate_email_is_blocked_with_the_duplicate_result(api: Salesforce) -> None:
    contact_id, email = a_contact_email(api)

    [error] = refused(
        lambda: api.Lead.create({"LastName": "Dup", "Company": "Dup Co", "Email": email.upper()})
    )

    message = "You're creating a duplicate record. We recommend you use an existing record instead."
    assert (error["errorCode"], error["message"]) == ("DUPLICATES_DETECTED", message)
    result = error["duplicateResult"]
    assert result["allowSave"] is False
    assert (result["duplicateRule"], result["duplicateRuleEntityType"]) == (
        "Standard_Lead_Duplicate_Rule",
        "Lead",
    )
    assert result["errorMessage"] == message
    [match] = result["matchResults"]
    assert (match["entityType"], match["rule"], match["size"], match["success"]) == (
        "Contact", "Standard_Contact_Match_Rule_v1_1", 1, True,
    )  # fmt: skip
    assert match["matchEngine"] == "FuzzyMatchEngine" and match["errors"] == []
    assert match["matchRecords"] == [{
        "additionalInformation": [], "fieldDiffs": [], "matchConfidence": 100.0,
        "record": {"attributes": {"type": "Contact", "url": f"/services/data/v59.0/sobjects/Contact/{contact_id}"},
                   "Id": contact_id},
    }]  # fmt: skip


def test_the_duplicate_header_allows_the_save(api: Salesforce) -> None:
    _, email = a_contact_email(api)

    created = api.Contact.create(
        {"LastName": "Twin", "Email": email}, headers={"Sforce-Duplicate-Rule-Header": "allowSave=true"}
    )

    assert created["success"] is True


def test_updating_a_record_keeps_its_own_email(api: Salesforce) -> None:
    contact_id, email = a_contact_email(api)

    assert api.Contact.update(contact_id, {"Email": email, "Title": "Still me"}) == 204


@pytest.mark.parametrize(
    ("fields", "code", "message"),
    [
        ({"Foo": 1}, "INVALID_FIELD", "No such column 'Foo' on sobject of type Lead"),
        ({"Name": "Full Name"}, "INVALID_FIELD_FOR_INSERT_UPDATE", "Unable to create/update fields: Name."),
        ({"Status": "Maybe"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "Status: bad value for restricted picklist field: Maybe"),
        ({"Email": "not-an-email"}, "INVALID_EMAIL_ADDRESS", "Email: invalid email address: not-an-email"),
        ({"AnnualRevenue": "lots"}, "JSON_PARSER_ERROR", "Cannot deserialize instance of currency"),
        ({"OwnerId": "005notanid"}, "MALFORMED_ID", "Owner ID: id value of incorrect type: 005notanid"),
        ({"Company": "x" * 256}, "STRING_TOO_LONG", "Company: data value too large"),
    ],
)  # fmt: skip
def test_field_values_are_checked(api: Salesforce, fields: dict[str, Any], code: str, message: str) -> None:
    [error] = refused(lambda: api.Lead.create({"LastName": "Check", "Company": "Check", **fields}))

    assert error["errorCode"] == code
    assert error["message"].startswith(message)


def test_a_converted_lead_cannot_be_edited(api: Salesforce) -> None:
    lead = api.query("SELECT Id FROM Lead WHERE IsConverted = true LIMIT 1")["records"][0]

    assert refused(lambda: api.Lead.update(lead["Id"], {"Status": "Working - Contacted"})) == [
        {"message": "cannot reference converted lead", "errorCode": "CANNOT_UPDATE_CONVERTED_LEAD"}
    ]


def test_a_completed_call_task(sandbox: Any, api: Salesforce) -> None:
    lead_id = api.Lead.create({"LastName": "Caller", "Company": "Calls"})["id"]

    task_id = api.Task.create({
        "Subject": "Engage Call: intro", "Status": "Completed", "TaskSubtype": "Call", "WhoId": lead_id,
        "CallType": "Outbound", "CallDurationInSeconds": 95, "CallDisposition": "Connected", "ActivityDate": "2026-01-05",
    })["id"]  # fmt: skip

    task = api.Task.get(task_id)
    assert (task["IsClosed"], task["Priority"], task["ActivityDate"]) == (True, "Normal", "2026-01-05")
    assert STAMP.fullmatch(task["CompletedDateTime"])
    assert refused(lambda: api.Task.update(task_id, {"TaskSubtype": "Email"}))[0]["errorCode"] == (
        "INVALID_FIELD_FOR_INSERT_UPDATE"
    )


def test_a_sales_rep_may_not_delete_users_and_nobody_writes_lead_statuses(
    api_as: Callable[[str], Salesforce],
) -> None:
    rep = api_as(REP1_USERNAME)

    assert refused(lambda: rep.LeadStatus.create({"MasterLabel": "New", "ApiName": "New"}))[0][
        "errorCode"
    ] == ("CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY")


# --- sObject Collections ------------------------------------------------------------------------


def composite(api: Salesforce, method: str, records: list[dict[str, Any]], all_or_none: bool = False) -> Any:
    return api.restful(
        "composite/sobjects", method=method, json={"allOrNone": all_or_none, "records": records}
    )


def test_collections_create_mixed_types_with_partial_errors(api: Salesforce) -> None:
    results = composite(api, "POST", [
        {"attributes": {"type": "Lead"}, "LastName": "One", "Company": "Batch"},
        {"attributes": {"type": "Lead"}, "FirstName": "Missing"},
        {"attributes": {"type": "Task"}, "Subject": "Engage: sent Hello", "Status": "Completed"},
    ])  # fmt: skip

    assert [r["success"] for r in results] == [True, False, True]
    assert results[1] == {
        "id": None, "success": False,
        "errors": [{"statusCode": "REQUIRED_FIELD_MISSING", "message": "Required fields are missing: [LastName, Company]",
                    "fields": ["LastName", "Company"]}],
    }  # fmt: skip
    assert results[0]["id"].startswith("00Q") and results[2]["id"].startswith("00T")


def test_all_or_none_rolls_everything_back(api: Salesforce) -> None:
    results = composite(api, "POST", [
        {"attributes": {"type": "Lead"}, "LastName": "Rolled", "Company": "Rollback Co"},
        {"attributes": {"type": "Lead"}, "LastName": "Bad", "Company": "Rollback Co", "Country": "US", "State": "Utah"},
    ], all_or_none=True)  # fmt: skip

    assert results[0] == {
        "id": None, "success": False,
        "errors": [{"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK", "fields": [],
                    "message": "Record rolled back because not all records were valid and the request was using AllOrNone header"}],
    }  # fmt: skip
    assert results[1]["errors"][0]["statusCode"] == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    assert api.query("SELECT COUNT() FROM Lead WHERE Company = 'Rollback Co'")["totalSize"] == 0


def test_all_or_none_updates_are_undone_too(api: Salesforce) -> None:
    lead_id = api.Lead.create({"LastName": "Before", "Company": "Undo"})["id"]

    composite(api, "PATCH", [
        {"attributes": {"type": "Lead"}, "Id": lead_id, "LastName": "After"},
        {"attributes": {"type": "Lead"}, "Id": lead_id, "Status": "Nope"},
    ], all_or_none=True)  # fmt: skip

    assert api.Lead.get(lead_id)["LastName"] == "Before"


def test_collections_update_needs_ids(api: Salesforce) -> None:
    lead_id = api.Lead.create({"LastName": "Patch", "Company": "Patch"})["id"]

    results = composite(api, "PATCH", [
        {"attributes": {"type": "Lead"}, "Id": lead_id, "Status": "Working - Contacted"},
        {"attributes": {"type": "Lead"}, "Status": "Working - Contacted"},
    ])  # fmt: skip

    assert results[0] == {"id": lead_id, "success": True, "errors": []}
    assert results[1]["errors"] == [
        {"statusCode": "MISSING_ARGUMENT", "message": "Id not specified in an update call", "fields": ["Id"]}
    ]
    assert api.Lead.get(lead_id)["Status"] == "Working - Contacted"


def test_collections_refuse_more_than_200_records(sandbox: Any, admin_token: str) -> None:
    records = [{"attributes": {"type": "Lead"}, "LastName": f"L{i}", "Company": "Big"} for i in range(201)]

    response = rest(
        sandbox, "POST", "composite/sobjects", admin_token, json={"allOrNone": False, "records": records}
    )

    assert response.status_code == 400
    assert response.json() == [
        {"message": "record limit reached. cannot submit more than 200 records into this call",
         "errorCode": "EXCEEDED_ID_LIMIT"}
    ]  # fmt: skip


def test_collections_report_duplicates_per_record(api: Salesforce) -> None:
    _, email = a_contact_email(api)

    [result] = composite(
        api, "POST", [{"attributes": {"type": "Lead"}, "LastName": "D", "Company": "D", "Email": email}]
    )

    assert result["errors"][0]["statusCode"] == "DUPLICATES_DETECTED"
    assert result["errors"][0]["duplicateResult"]["duplicateRuleEntityType"] == "Lead"
