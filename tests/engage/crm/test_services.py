"""CRM configuration services (G2, G3, G4, G7) against the Salesforce sandbox: settings, mapping
verified against the live describe, the status list following the Lead Status mapping (F3),
and rules counted by Salesforce."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from copilot.models import AuditEvent
from engage.crm.mapping import DEFAULT_MAPPINGS, MappingRow
from engage.models import ContactStatus, CrmSettings, FieldMapping, SyncRule
from engage.services.crm import configuration as crm_services
from engage.services.statuses import statuses_from_crm
from tests.engage.crm.conftest import sandbox_client


def actions(org) -> list[str]:
    return list(AuditEvent.objects.filter(organization=org).order_by("pk").values_list("action", flat=True))


# --- Settings -------------------------------------------------------------------------------------


def test_settings_start_with_the_guide_defaults(acme):
    row = crm_services.crm_settings_for(acme)
    assert row.new_prospects_as == CrmSettings.NewProspects.LEAD
    assert row.create_activities and row.auto_associate_accounts and row.log_calls and row.log_emails
    assert not row.sync_enabled and row.engage_created_handling == "push" and row.lookback_seconds == 600
    assert crm_services.crm_settings_for(acme).pk == row.pk


def test_updating_settings_is_audited_with_what_changed(acme, owner):
    crm_services.crm_settings_update(
        organization=acme, actor=owner, new_prospects_as="contact", create_activities=False, log_calls=True
    )
    row = CrmSettings.objects.get(organization=acme)
    assert row.new_prospects_as == "contact" and not row.create_activities
    event = AuditEvent.objects.get(organization=acme, action="crm.settings_updated")
    assert event.data == {"new_prospects_as": ["lead", "contact"], "create_activities": [True, False]}
    crm_services.crm_settings_update(organization=acme, actor=owner, new_prospects_as="contact")
    assert actions(acme).count("crm.settings_updated") == 1  # nothing changed, nothing recorded


def test_settings_refuse_unknown_choices_and_fields(acme, owner):
    with pytest.raises(ValidationError):
        crm_services.crm_settings_update(organization=acme, actor=owner, new_prospects_as="opportunity")
    with pytest.raises(ValueError):
        crm_services.crm_settings_update(organization=acme, actor=owner, lookback_seconds=0)


def test_sync_cannot_be_turned_on_without_a_connection(acme, owner):
    with pytest.raises(ValidationError) as exc:
        crm_services.crm_settings_update(organization=acme, actor=owner, sync_enabled=True)
    assert "Connect Salesforce" in str(exc.value)
    assert not crm_services.crm_settings_for(acme).sync_enabled


def test_sync_turns_on_with_a_connection(acme, owner, salesforce_connection):
    crm_services.crm_settings_update(organization=acme, actor=owner, sync_enabled=True)
    assert crm_services.crm_settings_for(acme).sync_enabled


# --- Mapping --------------------------------------------------------------------------------------


def test_without_a_saved_mapping_the_defaults_apply(acme):
    assert crm_services.mapping_rows(organization=acme, sobject="Lead") == list(DEFAULT_MAPPINGS["Lead"])
    assert crm_services.mapping_is_default(organization=acme, sobject="Lead")
    with pytest.raises(ValidationError):
        crm_services.mapping_rows(organization=acme, sobject="Opportunity")


def test_saving_needs_salesforce(acme, owner):
    with pytest.raises(ValidationError) as exc:
        crm_services.mapping_save(
            organization=acme, sobject="Lead", rows=DEFAULT_MAPPINGS["Lead"], actor=owner
        )
    assert "not connected" in str(exc.value)
    assert not FieldMapping.objects.exists()


def test_a_verified_mapping_is_stored_in_order_and_audited(acme, owner, salesforce_connection):
    rows = [
        MappingRow("title", "Industry"),
        *[r for r in DEFAULT_MAPPINGS["Lead"] if r.engage_field != "title"],
    ]
    crm_services.mapping_save(organization=acme, sobject="Lead", rows=rows, actor=owner)
    assert crm_services.mapping_rows(organization=acme, sobject="Lead") == rows
    stored = FieldMapping.objects.filter(organization=acme, sobject="Lead").order_by("position")
    assert [m.engage_field for m in stored][:2] == ["title", "last_name"]
    assert "crm.mapping_saved" in actions(acme)


def test_a_wrong_mapping_is_refused_with_per_row_errors_and_nothing_stored(
    acme, owner, salesforce_connection
):
    rows = [
        MappingRow("last_name", "LeadSourceX"),
        MappingRow("email", "Email"),
        MappingRow("company", "Company"),
    ]
    with pytest.raises(crm_services.MappingInvalid) as exc:
        crm_services.mapping_save(organization=acme, sobject="Lead", rows=rows, actor=owner)
    assert exc.value.row_errors == {0: ["Salesforce has no field LeadSourceX on Lead."]}
    assert not FieldMapping.objects.exists()
    assert "crm.mapping_saved" not in actions(acme)


def test_the_contact_mapping_reads_the_account_name(acme, owner, salesforce_connection):
    crm_services.mapping_save(
        organization=acme, sobject="Contact", rows=DEFAULT_MAPPINGS["Contact"], actor=owner
    )
    rows = [
        r if r.engage_field != "company" else MappingRow("company", "Account.Nope")
        for r in DEFAULT_MAPPINGS["Contact"]
    ]
    with pytest.raises(crm_services.MappingInvalid) as exc:
        crm_services.mapping_save(organization=acme, sobject="Contact", rows=rows, actor=owner)
    assert list(exc.value.row_errors.values()) == [
        ["Salesforce has no field Nope on Account (through Account)."]
    ]


def test_saving_the_lead_mapping_asks_for_a_status_mapping_then_takes_lead_status(
    acme, owner, salesforce_connection
):
    picklist = [
        (v["value"], v["label"], v["defaultValue"])
        for v in next(
            f
            for f in sandbox_client(salesforce_connection).describe("Lead")["fields"]
            if f["name"] == "Status"
        )["picklistValues"]
        if v["active"]
    ]
    before = list(ContactStatus.objects.for_org(acme).values_list("name", flat=True))
    crm_services.mapping_save(organization=acme, sobject="Lead", rows=DEFAULT_MAPPINGS["Lead"], actor=owner)
    # F3: nothing switches by itself; the picklist waits for the admin's mapping.
    assert not statuses_from_crm(organization=acme)
    assert list(ContactStatus.objects.for_org(acme).values_list("name", flat=True)) == before
    assert [v for v, _l, _d in crm_services.crm_statuses_pending(organization=acme)] == [
        v for v, _l, _d in picklist
    ]
    assert crm_services.crm_statuses_follow_mapping(organization=acme, actor=owner)  # applies it
    statuses = list(ContactStatus.objects.for_org(acme).filter(crm_value__gt="").order_by("position"))
    assert [s.crm_value for s in statuses] == [value for value, _label, _default in picklist]
    default = ContactStatus.objects.get(organization=acme, is_default=True)
    assert default.crm_value == next(value for value, _label, is_default in picklist if is_default)


def test_a_lead_mapping_without_status_gives_the_list_back_to_admins(acme, owner, salesforce_connection):
    crm_services.mapping_save(organization=acme, sobject="Lead", rows=DEFAULT_MAPPINGS["Lead"], actor=owner)
    rows = [r if r.engage_field != "status" else MappingRow("status", "") for r in DEFAULT_MAPPINGS["Lead"]]
    crm_services.mapping_save(organization=acme, sobject="Lead", rows=rows, actor=owner)
    assert not statuses_from_crm(organization=acme)


def test_the_contact_mapping_leaves_statuses_alone(acme, owner, salesforce_connection):
    crm_services.mapping_save(
        organization=acme, sobject="Contact", rows=DEFAULT_MAPPINGS["Contact"], actor=owner
    )
    assert not statuses_from_crm(organization=acme)


def test_reset_goes_back_to_the_defaults(acme, owner, salesforce_connection):
    rows = [
        MappingRow("title", "Industry"),
        *[r for r in DEFAULT_MAPPINGS["Lead"] if r.engage_field != "title"],
    ]
    crm_services.mapping_save(organization=acme, sobject="Lead", rows=rows, actor=owner)
    crm_services.mapping_reset(organization=acme, sobject="Lead", actor=owner)
    assert crm_services.mapping_is_default(organization=acme, sobject="Lead")
    assert crm_services.crm_statuses_pending(
        organization=acme
    )  # the default maps Lead Status: a mapping waits
    assert not statuses_from_crm(organization=acme)
    assert actions(acme)[-1] == "crm.mapping_reset"


def test_statuses_stay_as_they_are_while_salesforce_is_not_connected(acme, owner):
    assert not crm_services.crm_statuses_follow_mapping(organization=acme, actor=owner)


def test_statuses_follow_the_mapping_after_connecting(acme, owner, salesforce_connection):
    assert crm_services.crm_statuses_follow_mapping(organization=acme, actor=owner)
    assert ContactStatus.objects.for_org(acme).filter(crm_value="Working - Contacted").exists()


def test_mappings_are_per_organisation(acme, globex, owner, salesforce_connection):
    crm_services.mapping_save(
        organization=acme, sobject="Account", rows=DEFAULT_MAPPINGS["Account"], actor=owner
    )
    assert not crm_services.mapping_is_default(organization=acme, sobject="Account")
    assert crm_services.mapping_is_default(organization=globex, sobject="Account")


# --- Rules ----------------------------------------------------------------------------------------

SALES = [{"field": "Title", "operator": "contains", "value": "Sales"}]


def test_a_rule_is_stored_with_its_compiled_where(acme, owner, salesforce_connection):
    conditions = [*SALES, {"field": "AnnualRevenue", "operator": "gt", "value": "1000000"}]
    _rule, where = crm_services.rule_save(
        organization=acme, sobject="Lead", combinator="OR", conditions=conditions, actor=owner
    )
    assert where == "(Title LIKE '%Sales%' OR AnnualRevenue > 1000000)"
    assert SyncRule.objects.get(organization=acme, sobject="Lead").conditions == conditions
    assert crm_services.rule_where(organization=acme, sobject="Lead") == where
    event = AuditEvent.objects.get(organization=acme, action="crm.rule_saved")
    assert event.data["where"] == where


def test_saving_again_replaces_the_rule(acme, owner, salesforce_connection):
    crm_services.rule_save(
        organization=acme, sobject="Contact", combinator="AND", conditions=SALES, actor=owner
    )
    crm_services.rule_save(organization=acme, sobject="Contact", combinator="OR", conditions=[], actor=owner)
    rule = SyncRule.objects.get(organization=acme, sobject="Contact")
    assert rule.combinator == "OR" and rule.conditions == []
    assert crm_services.rule_where(organization=acme, sobject="Contact") == ""


def test_a_wrong_rule_is_refused_per_condition(acme, owner, salesforce_connection):
    conditions = [*SALES, {"field": "AnnualRevenue", "operator": "gt", "value": "lots"}]
    with pytest.raises(crm_services.RuleInvalid) as exc:
        crm_services.rule_save(
            organization=acme, sobject="Lead", combinator="AND", conditions=conditions, actor=owner
        )
    assert exc.value.condition_errors == {1: "Annual Revenue compares with a number, like 1000000."}
    assert not SyncRule.objects.exists()


def test_rules_exist_for_leads_and_contacts_only(acme, owner):
    with pytest.raises(ValidationError):
        crm_services.rule_save(
            organization=acme, sobject="Account", combinator="AND", conditions=[], actor=owner
        )


def test_the_preview_counts_in_salesforce(acme, salesforce_connection):
    before = crm_services.rule_preview_count(
        organization=acme, sobject="Lead", combinator="AND", conditions=SALES
    )
    assert before.error == "" and before.where == "Title LIKE '%Sales%'"
    client = sandbox_client(salesforce_connection)
    client.create("Lead", {"LastName": "Preview", "Company": "Acme", "Title": "Head of Sales"})
    client.create("Lead", {"LastName": "Other", "Company": "Acme", "Title": "Engineer"})
    after = crm_services.rule_preview_count(
        organization=acme, sobject="Lead", combinator="AND", conditions=SALES
    )
    assert after.count == before.count + 1
    everything = crm_services.rule_preview_count(
        organization=acme, sobject="Lead", combinator="AND", conditions=[]
    )
    assert everything.count >= after.count + 1 and everything.where == ""


def test_a_typed_quote_is_counted_literally(acme, salesforce_connection):
    client = sandbox_client(salesforce_connection)
    client.create("Lead", {"LastName": "O'Brien", "Company": "Acme", "Title": "50% owner's rep"})
    preview = crm_services.rule_preview_count(
        organization=acme,
        sobject="Lead",
        combinator="AND",
        conditions=[{"field": "Title", "operator": "contains", "value": "50% owner's"}],
    )
    assert preview.error == "" and preview.count == 1
    preview = crm_services.rule_preview_count(
        organization=acme,
        sobject="Lead",
        combinator="AND",
        conditions=[{"field": "Title", "operator": "contains", "value": "') OR (Id != '"}],
    )
    assert preview.error == "" and preview.count == 0


def test_the_preview_explains_a_wrong_condition(acme, salesforce_connection):
    preview = crm_services.rule_preview_count(
        organization=acme,
        sobject="Lead",
        combinator="AND",
        conditions=[{"field": "Nope", "operator": "equals", "value": "x"}],
    )
    assert preview.count is None and preview.error == "Condition 1: Salesforce has no field Nope on Lead."


def test_the_preview_says_when_salesforce_is_down(acme, salesforce_connection, sandbox):
    crm_services.rule_preview_count(
        organization=acme, sobject="Lead", combinator="AND", conditions=SALES
    )  # describe cached
    sandbox.control.inject_fault(r"/query", status=503, times=None)
    preview = crm_services.rule_preview_count(
        organization=acme, sobject="Lead", combinator="AND", conditions=SALES
    )
    assert (
        preview.count is None
        and preview.error == "Salesforce could not be reached just now; try again in a minute."
    )


def test_the_preview_says_when_salesforce_is_not_connected(acme):
    preview = crm_services.rule_preview_count(
        organization=acme, sobject="Lead", combinator="AND", conditions=SALES
    )
    assert preview.count is None and "not connected" in preview.error
