"""Engage's sync handler: what a page of changed Salesforce Leads and Contacts does to the
organisation's contacts. Records are built as the sync engine hands them over (a query row,
relationships nested); the describes are recorded ones."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from engage.crm.mapping import BOTH, TO_ENGAGE, MappingRow
from engage.models import Account, Contact, ContactStatus, FieldMapping, SyncRule
from engage.services.crm.configuration import crm_settings_update
from engage.services.crm.sync_handler import EngageCrmHandler, SyncRuleBroken
from engage.services.statuses import statuses_sync_from_crm
from integrations.records import CrmRecord
from tests.factories import AccountFactory, ContactFactory

handler = EngageCrmHandler()
LEAD_STATUSES = [
    ("Open - Not Contacted", "Open - Not Contacted", True),
    ("Working - Contacted", "Working - Contacted", False),
    ("Closed - Converted", "Closed - Converted", False),
    ("Closed - Not Converted", "Closed - Not Converted", False),
]


def at(seconds_ago: float = 0) -> dt.datetime:
    return (timezone.now() - dt.timedelta(seconds=seconds_ago)).replace(microsecond=0)


def lead(number: int, *, modstamp: dt.datetime | None = None, **fields: Any) -> CrmRecord:
    record_id = f"00Q5D{number:010d}AAA"
    values = {
        "attributes": {"type": "Lead"},
        "Id": record_id,
        "FirstName": "Ada",
        "LastName": f"Lovelace{number}",
        "Company": "Analytical Engines Ltd",
        "Title": "Head of Numbers",
        "Email": f"Ada.{number}@Engines.example",
        "Phone": "+44 20 7946 0000",
        "City": "London",
        "Status": "Open - Not Contacted",
        "HasOptedOutOfEmail": False,
        "OwnerId": "0055D0000000002QAA",
        **fields,
    }
    return CrmRecord("Lead", record_id, modstamp or at(60), values)


def sf_contact(number: int, *, account: tuple[str, str] | None = None, **fields: Any) -> CrmRecord:
    record_id = f"0035D{number:010d}AAA"
    values: dict[str, Any] = {
        "attributes": {"type": "Contact"},
        "Id": record_id,
        "FirstName": "Grace",
        "LastName": f"Hopper{number}",
        "Email": f"grace.{number}@navy.example",
        "HasOptedOutOfEmail": False,
        **fields,
    }
    if account:
        values["AccountId"], values["Account"] = (
            account[0],
            {"attributes": {"type": "Account"}, "Name": account[1]},
        )
    return CrmRecord("Contact", record_id, at(60), values)


def contact_of(record: CrmRecord) -> Contact:
    return Contact.objects.select_related("status", "owner", "account").get(crm_id=record.id)


@pytest.fixture
def crm_statuses(acme):
    statuses_sync_from_crm(organization=acme, values=LEAD_STATUSES)


# --- What the sync asks ---------------------------------------------------------------------------


def test_it_is_enabled_by_the_sync_toggle(acme, owner, settings):
    assert handler.enabled(acme) is False
    from engage.models import CrmSettings

    CrmSettings.objects.update_or_create(organization=acme, defaults={"sync_enabled": True})
    assert handler.enabled(acme) is True
    assert handler.objects(acme) == ["Lead", "Contact"]


def test_it_selects_the_mapped_fields_and_what_linking_needs(acme, lead_describe, contact_describe):
    lead_fields = handler.fields_for(acme, "Lead", lead_describe)
    for name in (
        "LastName",
        "FirstName",
        "Email",
        "Status",
        "HasOptedOutOfEmail",
        "OwnerId",
        "Company",
        "Title",
    ):
        assert name in lead_fields
    assert "Id" not in lead_fields and "SystemModstamp" not in lead_fields
    assert len({f.lower() for f in lead_fields}) == len(lead_fields)
    contact_fields = handler.fields_for(acme, "Contact", contact_describe)
    assert {"AccountId", "Account.Name", "Email", "OwnerId"} <= set(contact_fields)


def test_fields_salesforce_no_longer_has_are_left_out(acme, lead_describe):
    FieldMapping.objects.create(
        organization=acme, sobject="Lead", engage_field="last_name", crm_field="LastName"
    )
    FieldMapping.objects.create(
        organization=acme, sobject="Lead", engage_field="title", crm_field="Gone_Field__c", position=1
    )
    fields = handler.fields_for(acme, "Lead", lead_describe)
    assert "Gone_Field__c" not in fields and "LastName" in fields


def test_the_rule_is_compiled_against_the_describe_it_is_given(acme, lead_describe):
    assert handler.where_for(acme, "Lead", lead_describe) == ""
    SyncRule.objects.create(
        organization=acme,
        sobject="Lead",
        combinator="OR",
        conditions=[
            {"field": "Title", "operator": "contains", "value": "Sales"},
            {"field": "AnnualRevenue", "operator": "gt", "value": "1000000"},
        ],
    )
    where = handler.where_for(acme, "Lead", lead_describe)
    assert "Title LIKE '%Sales%'" in where and "AnnualRevenue > 1000000" in where and " OR " in where


def test_a_rule_on_a_deleted_field_stops_the_sync_instead_of_reading_everything(acme, lead_describe):
    SyncRule.objects.create(
        organization=acme,
        sobject="Lead",
        conditions=[{"field": "Deleted_Field__c", "operator": "equals", "value": "x"}],
    )
    with pytest.raises(SyncRuleBroken):
        handler.where_for(acme, "Lead", lead_describe)


# --- New records ----------------------------------------------------------------------------------


def test_new_leads_become_contacts_through_the_mapping(acme, crm_statuses):
    record = lead(1, Status="Working - Contacted", HasOptedOutOfEmail=True)
    result = handler.apply(acme, "Lead", [record])
    assert (result.created, result.updated, result.unchanged, result.errors) == (1, 0, 0, [])
    contact = contact_of(record)
    assert (contact.first_name, contact.last_name, contact.title) == ("Ada", "Lovelace1", "Head of Numbers")
    assert contact.email == "ada.1@engines.example"  # lower-cased
    assert (contact.company, contact.city, contact.business_phone) == (
        "Analytical Engines Ltd",
        "London",
        "+442079460000",  # kept in E.164 (issue 12)
    )
    assert contact.email_opt_out is True
    assert (contact.source, contact.crm_type, contact.crm_id) == ("crm", "Lead", record.id)
    assert contact.status.crm_value == "Working - Contacted"
    assert contact.owner is None  # the Salesforce owner is no user here


def test_an_unknown_status_gives_a_new_contact_the_default_and_keeps_an_existing_ones(acme, crm_statuses):
    record = lead(2, Status="Nurturing")
    handler.apply(acme, "Lead", [record])
    contact = contact_of(record)
    assert contact.status.is_default
    qualified = ContactStatus.objects.get(organization=acme, crm_value="Closed - Converted")
    Contact.objects.filter(pk=contact.pk).update(status=qualified, updated_at=at(3600))
    handler.apply(acme, "Lead", [lead(2, Status="Nurturing", City="Paris")])
    contact.refresh_from_db()
    assert contact.status == qualified and contact.city == "Paris"


def test_statuses_match_by_name_when_they_do_not_come_from_salesforce(acme):
    record = lead(3, Status="Qualified")  # a default Engage status of the same name
    handler.apply(acme, "Lead", [record])
    assert contact_of(record).status.name == "Qualified"


def test_the_owner_is_the_user_with_the_salesforce_owners_email(acme, teammate):
    mine = lead(4, Owner={"attributes": {"type": "User"}, "Email": "Teammate@Acme.example"})
    theirs = lead(5, Owner={"attributes": {"type": "User"}, "Email": "someone@elsewhere.example"})
    handler.apply(acme, "Lead", [mine, theirs])
    assert contact_of(mine).owner == teammate
    assert contact_of(theirs).owner is None


def test_contacts_bring_their_accounts_linked_by_salesforce_id(acme):
    existing = AccountFactory(organization=acme, name="Navy Labs", crm_id="")
    first = sf_contact(1, account=("0015D0000000001AAA", "Navy Labs"))
    second = sf_contact(2, account=("0015D0000000002AAA", "Harvard Mark I"))
    third = sf_contact(3, account=("0015D0000000002AAA", "Harvard Mark I"))
    result = handler.apply(acme, "Contact", [first, second, third])
    assert result.created == 3
    existing.refresh_from_db()
    assert existing.crm_id == "0015D0000000001AAA"  # the Engage account of that name, linked
    assert contact_of(first).account == existing
    mark = Account.objects.get(organization=acme, crm_id="0015D0000000002AAA")
    assert mark.name == "Harvard Mark I"
    assert contact_of(second).account == mark == contact_of(third).account
    assert contact_of(second).company == "Harvard Mark I"  # Account.Name through the mapping
    assert Account.objects.filter(organization=acme).count() == 2


def test_accounts_are_left_alone_when_auto_association_is_off(acme, owner):
    crm_settings_update(organization=acme, actor=owner, auto_associate_accounts=False)
    record = sf_contact(4, account=("0015D0000000004AAA", "Bletchley"))
    handler.apply(acme, "Contact", [record])
    assert contact_of(record).account is None
    assert not Account.objects.filter(organization=acme).exists()


# --- Existing contacts ------------------------------------------------------------------------------


def test_a_person_engage_has_by_email_is_linked_not_duplicated(acme, teammate):
    mine = ContactFactory(organization=acme, email="ada.6@engines.example", owner=teammate, first_name="A.")
    record = lead(6)
    result = handler.apply(acme, "Lead", [record])
    assert (result.created, result.updated) == (0, 1)
    mine.refresh_from_db()
    assert (mine.crm_type, mine.crm_id) == ("Lead", record.id)
    assert mine.last_name == "Lovelace6"  # a "Salesforce → Engage" row
    assert mine.owner == teammate and mine.source == "manual"
    assert Contact.objects.filter(organization=acme).count() == 1


def test_an_email_already_linked_to_another_record_is_an_error_with_its_reason(acme):
    ContactFactory(
        organization=acme, email="ada.7@engines.example", crm_type="Contact", crm_id="0035D0000000000777"
    )
    result = handler.apply(acme, "Lead", [lead(7), lead(8)])
    assert result.created == 1
    assert len(result.errors) == 1
    record_id, reason = result.errors[0]
    assert record_id == lead(7).id
    assert "already linked to Salesforce Contact 0035D0000000000777" in reason
    assert Contact.objects.filter(organization=acme).count() == 2


def test_two_records_with_one_email_make_one_contact(acme):
    first, second = lead(9, Email="same@dup.example"), lead(10, Email="SAME@dup.example")
    result = handler.apply(acme, "Lead", [first, second])
    assert result.created == 1 and len(result.errors) == 1
    assert "same email same@dup.example" in result.errors[0][1]


def test_salesforce_to_engage_rows_overwrite_and_bidirectional_ones_go_to_the_most_recent(acme, crm_statuses):
    record = lead(11)
    handler.apply(acme, "Lead", [record])
    contact = contact_of(record)
    working = ContactStatus.objects.get(organization=acme, crm_value="Working - Contacted")
    # A seller changes the status in Engage after Salesforce last changed the record.
    Contact.objects.filter(pk=contact.pk).update(status=working, updated_at=at(30))

    older = lead(11, modstamp=at(120), Status="Closed - Not Converted", Title="Chief Numbers")
    result = handler.apply(acme, "Lead", [older])
    contact.refresh_from_db()
    assert result.updated == 1
    assert contact.title == "Chief Numbers"  # Salesforce → Engage: always
    assert contact.status == working  # both ways: Engage's change is the most recent

    newer = lead(11, modstamp=at(-5), Status="Closed - Not Converted", Title="Chief Numbers")
    handler.apply(acme, "Lead", [newer])
    contact.refresh_from_db()
    assert contact.status.crm_value == "Closed - Not Converted"


def test_a_bidirectional_row_can_be_any_field(acme):
    FieldMapping.objects.bulk_create(
        FieldMapping(organization=acme, sobject="Lead", position=i, **row.__dict__)
        for i, row in enumerate(
            [
                MappingRow("last_name", "LastName", direction=TO_ENGAGE),
                MappingRow("email", "Email", direction=TO_ENGAGE),
                MappingRow("company", "Company", direction=TO_ENGAGE),
                MappingRow("title", "Title", direction=BOTH),
            ]
        )
    )
    record = lead(12)
    handler.apply(acme, "Lead", [record])
    Contact.objects.filter(crm_id=record.id).update(title="Set in Engage", updated_at=at(0))
    handler.apply(acme, "Lead", [lead(12, Title="Older in Salesforce")])
    assert contact_of(record).title == "Set in Engage"


def test_records_already_as_engage_has_them_count_as_unchanged_and_a_second_apply_changes_nothing(acme):
    batch = [lead(n) for n in range(20, 30)]
    first = handler.apply(acme, "Lead", batch)
    assert first.created == 10
    stamps = dict(Contact.objects.filter(organization=acme).values_list("pk", "updated_at"))
    second = handler.apply(acme, "Lead", batch)
    assert (second.created, second.updated, second.unchanged, second.errors) == (0, 0, 10, [])
    assert dict(Contact.objects.filter(organization=acme).values_list("pk", "updated_at")) == stamps
    changed = [lead(20, City="Bath"), *batch[1:]]
    third = handler.apply(acme, "Lead", changed)
    assert (third.updated, third.unchanged) == (1, 9)
    assert contact_of(changed[0]).city == "Bath"


def test_an_email_changed_to_one_another_contact_holds_is_refused(acme):
    record = lead(31)
    handler.apply(acme, "Lead", [record])
    ContactFactory(organization=acme, email="taken@acme.example")
    result = handler.apply(acme, "Lead", [lead(31, Email="taken@acme.example")])
    assert result.updated == 0 and "belongs to another Cadence contact" in result.errors[0][1]
    assert contact_of(record).email == "ada.31@engines.example"


def test_records_deleted_in_salesforce_are_unlinked_and_the_contacts_kept(acme):
    kept, other = lead(40), lead(41)
    handler.apply(acme, "Lead", [kept, other])
    pk = contact_of(kept).pk
    assert handler.unlink(acme, "Lead", [kept.id, "00Q5D0000000999AAA"]) == 1
    contact = Contact.objects.get(pk=pk)
    assert (contact.crm_type, contact.crm_id) == ("", "")
    assert contact.last_name == "Lovelace40" and contact.source == "crm"
    assert contact_of(other).crm_type == "Lead"
    assert handler.unlink(acme, "Contact", [other.id]) == 0  # another object's ids


def test_nothing_crosses_organisations(acme, globex):
    handler.apply(acme, "Lead", [lead(50)])
    handler.apply(globex, "Lead", [lead(50)])
    assert Contact.objects.filter(crm_id=lead(50).id).count() == 2
    assert handler.unlink(globex, "Lead", [lead(50).id]) == 1
    assert Contact.objects.get(organization=acme, email="ada.50@engines.example").crm_id == lead(50).id


def test_a_batch_costs_the_same_few_queries_whatever_its_size(acme, teammate, crm_statuses):
    owner = {"Owner": {"Email": "teammate@acme.example"}}

    def queries(records: list[CrmRecord], sobject: str = "Lead") -> int:
        with CaptureQueriesContext(connection) as captured:
            handler.apply(acme, sobject, records)
        return len(captured)

    handler.apply(acme, "Lead", [lead(99, **owner)])  # the organisation's CRM settings row is made once
    small = queries([lead(n, **owner) for n in range(100, 105)])
    large = queries([lead(n, **owner) for n in range(200, 400)])
    assert small == large <= 12
    updates = queries([lead(n, City="Rome", **owner) for n in range(200, 400)])
    assert updates <= 12
    contacts = queries(
        [sf_contact(n, account=(f"0015D{n:013d}", f"Company {n}")) for n in range(300)], "Contact"
    )
    assert contacts <= 16
