"""Engage's writes to Salesforce through the one gateway (G9, G13), against the sandbox: only
Lead Status and Email Opt Out are ever updated, nothing is deleted, refusals become sentences,
every write is logged, and the log page shows an organisation its own writes only."""

from __future__ import annotations

from dataclasses import replace

import pytest
from django.urls import reverse

from engage.models import Contact, CrmWriteLog
from engage.services import contacts as contact_services
from engage.services.crm import pushes as crm_writes
from engage.services.crm.configuration import mapping_rows
from engage.services.crm.writes import CrmWriter, ForbiddenCrmWrite, RecordUpdate
from integrations.sandbox.salesforce import control as sfc
from tests.engage.crm import sf_helpers as sf
from tests.factories import ContactFactory
from tests.support_login_helpers import sign_in_to_support, support_user

Action, Result = CrmWriteLog.Action, CrmWriteLog.Result


# --- The gateway refuses what G9 forbids ------------------------------------------------------------
def test_the_gateway_never_deletes(acme, owner, salesforce_connection, sandbox):
    lead = sf.open_leads(sandbox)[0]
    with CrmWriter(acme, actor=owner) as writer, pytest.raises(ForbiddenCrmWrite):
        writer.delete("Lead", lead["Id"])
    assert not sf.record(sandbox, "Lead", lead["Id"]).get("IsDeleted")
    calls = sfc.api_calls(sandbox.state)
    assert calls.get("delete", 0) == 0 and calls.get("composite_delete", 0) == 0


@pytest.mark.parametrize(
    ("sobject", "fields"),
    [
        ("Lead", {"Title": "CEO"}),
        ("Lead", {"Status": "Working - Contacted", "Email": "x@example.com"}),
        ("Contact", {"Status": "Working - Contacted"}),
        ("Account", {"Name": "Renamed"}),
        ("Task", {"Subject": "Changed"}),
    ],
)
def test_the_gateway_updates_only_lead_status_and_email_opt_out(acme, salesforce_connection, sobject, fields):
    with CrmWriter(acme) as writer, pytest.raises(ForbiddenCrmWrite):
        writer.update(sobject, [RecordUpdate("00Q000000000001AAA", fields)], action=Action.UPDATE_STATUS)
    assert not CrmWriteLog.objects.exists()


def test_the_gateway_creates_only_leads_contacts_and_tasks(acme, salesforce_connection):
    with CrmWriter(acme) as writer, pytest.raises(ForbiddenCrmWrite):
        writer.create("Account", {"Name": "Nope"})


def test_a_validation_rule_comes_back_as_a_sentence_with_its_field(acme, owner, salesforce_connection):
    data = {"LastName": "Ruled", "Company": "Acme", "State": "California", "Country": "United States"}
    with CrmWriter(acme, actor=owner) as writer:
        result = writer.create("Lead", data)
    assert not result.ok and result.code == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    assert result.message == (
        "Salesforce refused: State must be a two-letter code for US addresses. (field State)"
    )
    log = CrmWriteLog.objects.get()
    assert (log.action, log.result, log.error_code) == (Action.CREATE_LEAD, Result.ERROR, result.code)
    assert log.request["State"] == "California" and log.actor == owner


def test_a_duplicate_names_the_existing_record(acme, salesforce_connection, sandbox):
    lead = sf.open_leads(sandbox)[0]
    with CrmWriter(acme) as writer:
        result = writer.create("Lead", {"LastName": "Again", "Company": "Acme", "Email": lead["Email"]})
    assert result.code == "DUPLICATES_DETECTED" and result.duplicate_id == lead["Id"]
    assert f"Lead {lead['Id']}" in result.message and salesforce_connection.instance_url in result.message


def test_an_outage_is_logged_and_returned_never_raised(acme, salesforce_connection, sandbox):
    sandbox.control.inject_fault("/services/data/v59.0/sobjects/Lead", status=503)
    with CrmWriter(acme) as writer:
        result = writer.create("Lead", {"LastName": "Later", "Company": "Acme"})
    assert not result.ok and result.retryable
    assert result.message == "Salesforce could not be reached just now; Cadence writes this later."
    assert CrmWriteLog.objects.get().result == Result.ERROR


def test_without_a_connection_writes_are_skipped_and_logged(acme):
    with CrmWriter(acme) as writer:
        result = writer.create("Lead", {"LastName": "Nowhere", "Company": "Acme"})
    assert not result.ok
    assert CrmWriteLog.objects.get().result == Result.SKIPPED


# --- Many creates at once (a CSV import's new people) ------------------------------------------------
def test_create_many_creates_200_a_request_and_logs_each_record(acme, owner, salesforce_connection, sandbox):
    lead = sf.open_leads(sandbox)[0]
    items = [
        ({"LastName": f"Many{i}", "Company": "Acme", "Email": f"many{i}@prospect.example"}, None)
        for i in range(201)
    ]
    items.append(({"LastName": "Again", "Company": "Acme", "Email": lead["Email"]}, None))
    items.append(
        ({"LastName": "Ruled", "Company": "Acme", "State": "California", "Country": "United States"}, None)
    )
    with CrmWriter(acme, actor=owner) as writer:
        results = writer.create_many("Lead", items)

    assert sfc.api_calls(sandbox.state)["composite_create"] == 2
    assert [r.ok for r in results] == [True] * 201 + [False, False]
    created = sf.record(sandbox, "Lead", results[200].record_id)
    assert created["Email"] == "many200@prospect.example"
    duplicate, refused = results[201:]
    assert duplicate.code == "DUPLICATES_DETECTED" and duplicate.duplicate_id == lead["Id"]
    assert (
        refused.message
        == "Salesforce refused: State must be a two-letter code for US addresses. (field State)"
    )
    logs = CrmWriteLog.objects.filter(organization=acme, action=Action.CREATE_LEAD)
    assert logs.filter(result=Result.OK).count() == 201 and logs.filter(result=Result.ERROR).count() == 2


def test_create_many_keeps_to_the_allow_list(acme, salesforce_connection, sandbox):
    with CrmWriter(acme) as writer:
        with pytest.raises(ForbiddenCrmWrite):
            writer.create_many("Account", [({"Name": "Nope"}, None)])
        with pytest.raises(ForbiddenCrmWrite):
            writer.create_many("Lead", [({"Id": "00Q000000000001AAA", "LastName": "X"}, None)])
    assert sfc.api_calls(sandbox.state).get("composite_create", 0) == 0
    assert not CrmWriteLog.objects.exists()


def test_create_many_without_a_connection_skips_and_logs_each(acme):
    with CrmWriter(acme) as writer:
        results = writer.create_many("Contact", [({"LastName": "A"}, None), ({"LastName": "B"}, None)])
    assert [r.ok for r in results] == [False, False]
    assert CrmWriteLog.objects.filter(result=Result.SKIPPED).count() == 2


# --- G9: Lead Status follows the Engage status ------------------------------------------------------
def test_a_status_change_is_written_to_the_linked_lead(
    acme, owner, salesforce_connection, sandbox, django_capture_on_commit_callbacks
):
    statuses = sf.statuses_from_salesforce(acme, owner)
    lead = next(r for r in sf.open_leads(sandbox, 50) if r["Status"] != "Working - Contacted")
    contact = sf.linked_contact(acme, "Lead", lead)

    with django_capture_on_commit_callbacks(execute=True):
        contact_services.contact_set_status(
            contact=contact, status=statuses["Working - Contacted"], actor=owner
        )

    assert sf.record(sandbox, "Lead", lead["Id"])["Status"] == "Working - Contacted"
    log = CrmWriteLog.objects.get()
    assert (log.action, log.result, log.record_id, log.contact) == (
        Action.UPDATE_STATUS,
        Result.OK,
        lead["Id"],
        contact,
    )
    assert log.request == {"Status": "Working - Contacted"} and log.actor == owner


def test_a_bulk_status_change_writes_200_leads_a_request_and_logs_converted_ones(
    acme, owner, salesforce_connection, sandbox, django_capture_on_commit_callbacks
):
    statuses = sf.statuses_from_salesforce(acme, owner)
    leads = sf.open_leads(sandbox, 3)
    converted = sf.converted_lead(sandbox)
    linked = [sf.linked_contact(acme, "Lead", r) for r in [*leads, converted]]
    unlinked = ContactFactory(organization=acme)
    before = sfc.api_calls(sandbox.state).get("composite_update", 0)

    with django_capture_on_commit_callbacks(execute=True):
        count = contact_services.contacts_bulk_update(
            organization=acme,
            actor=owner,
            contacts=Contact.objects.filter(pk__in=[c.pk for c in [*linked, unlinked]]),
            status=statuses["Closed - Not Converted"],
        )

    assert count == 5
    assert sfc.api_calls(sandbox.state)["composite_update"] == before + 1
    assert all(sf.record(sandbox, "Lead", r["Id"])["Status"] == "Closed - Not Converted" for r in leads)
    assert sf.record(sandbox, "Lead", converted["Id"])["Status"] == converted["Status"]
    logs = {log.record_id: log for log in CrmWriteLog.objects.all()}
    assert len(logs) == 4
    failed = logs[converted["Id"]]
    assert (failed.result, failed.error_code) == (Result.ERROR, "CANNOT_UPDATE_CONVERTED_LEAD")
    assert "is converted" in failed.message and "Contact it was converted into" in failed.message
    assert all(logs[r["Id"]].result == Result.OK for r in leads)


def test_a_bulk_change_filtered_on_the_old_status_still_pushes(
    acme, owner, salesforce_connection, sandbox, django_capture_on_commit_callbacks
):
    statuses = sf.statuses_from_salesforce(acme, owner)
    lead = sf.open_leads(sandbox)[0]
    old = statuses["Open - Not Contacted"]
    sf.linked_contact(acme, "Lead", lead, status=old)
    with django_capture_on_commit_callbacks(execute=True):
        contact_services.contacts_bulk_update(
            organization=acme,
            actor=owner,
            contacts=Contact.objects.filter(status=old),
            status=statuses["Working - Contacted"],
        )
    assert sf.record(sandbox, "Lead", lead["Id"])["Status"] == "Working - Contacted"


def test_a_failed_push_is_shown_on_the_contact_page(
    client, acme, owner, salesforce_connection, sandbox, django_capture_on_commit_callbacks
):
    statuses = sf.statuses_from_salesforce(acme, owner)
    contact = sf.linked_contact(acme, "Lead", sf.converted_lead(sandbox))
    with django_capture_on_commit_callbacks(execute=True):
        contact_services.contact_set_status(
            contact=contact, status=statuses["Working - Contacted"], actor=owner
        )
    client.force_login(owner)
    page = client.get(reverse("engage:contact_detail", args=[contact.pk])).text
    assert "Salesforce refused: Lead" in page and "is converted" in page


def test_no_status_push_when_the_mapping_reads_status_only(
    acme, owner, salesforce_connection, sandbox, django_capture_on_commit_callbacks
):
    statuses = sf.statuses_from_salesforce(acme, owner)
    rows = mapping_rows(organization=acme, sobject="Lead")
    sf.save_mapping(acme, "Lead", [replace(r, direction="to_engage") for r in rows])
    lead = sf.open_leads(sandbox)[0]
    contact = sf.linked_contact(acme, "Lead", lead)
    with django_capture_on_commit_callbacks(execute=True):
        contact_services.contact_set_status(
            contact=contact, status=statuses["Working - Contacted"], actor=owner
        )
    assert sf.record(sandbox, "Lead", lead["Id"])["Status"] == lead["Status"]  # nothing written
    # F3: never silent — the write log says why.
    (log,) = CrmWriteLog.objects.filter(organization=acme)
    assert log.result == "skipped" and log.contact == contact
    assert log.message.startswith("Lead Status is not mapped both ways")


def test_a_status_that_is_no_lead_status_value_is_logged_as_skipped_and_shown_on_the_contact(
    acme, owner, owner_client, salesforce_connection, sandbox, django_capture_on_commit_callbacks
):
    lead = sf.open_leads(sandbox)[0]
    contact = sf.linked_contact(acme, "Lead", lead)
    plain = ContactFactory(organization=acme)
    from engage.models import ContactStatus

    status = ContactStatus.objects.for_org(acme).get(name="Qualified")  # the default list: no crm_value
    with django_capture_on_commit_callbacks(execute=True):
        contact_services.contact_set_status(contact=contact, status=status, actor=owner)
        contact_services.contact_set_status(contact=plain, status=status, actor=owner)
    assert sf.record(sandbox, "Lead", lead["Id"])["Status"] == lead["Status"]  # nothing written
    (log,) = CrmWriteLog.objects.filter(organization=acme)  # the unlinked contact needs none
    assert (log.result, log.action, log.contact) == ("skipped", "update_status", contact)
    assert log.message == "Status ‘Qualified’ is not a Salesforce Lead Status value: not written."
    html = owner_client.get(reverse("engage:contact_detail", args=[contact.pk])).content.decode()
    assert "Not written to Salesforce: Status ‘Qualified’ is not a Salesforce Lead Status value" in html
    plain_html = owner_client.get(reverse("engage:contact_detail", args=[plain.pk])).content.decode()
    assert "Not written to Salesforce" not in plain_html


# --- G9: Email Opt Out ----------------------------------------------------------------------------------
@pytest.mark.parametrize("sobject", ["Lead", "Contact"])
def test_unsubscribing_opts_the_linked_record_out_in_salesforce(
    acme, salesforce_connection, sandbox, django_capture_on_commit_callbacks, sobject
):
    sf_record = (
        next(r for r in sf.open_leads(sandbox, 100) if not r.get("HasOptedOutOfEmail"))
        if sobject == "Lead"
        else next(r for r in sf.records(sandbox, "Contact") if not r.get("HasOptedOutOfEmail"))
    )
    contact = sf.linked_contact(acme, sobject, sf_record)

    with django_capture_on_commit_callbacks(execute=True):
        crm_writes.crm_set_email_opt_out(contact)

    contact.refresh_from_db()
    assert contact.email_opt_out is True
    assert sf.record(sandbox, sobject, sf_record["Id"])["HasOptedOutOfEmail"] is True
    log = CrmWriteLog.objects.get()
    assert (log.action, log.result, log.request) == (
        Action.UPDATE_OPT_OUT,
        Result.OK,
        {"HasOptedOutOfEmail": True},
    )


def test_an_unlinked_contact_is_opted_out_here_only(acme, django_capture_on_commit_callbacks):
    contact = ContactFactory(organization=acme)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        crm_writes.crm_set_email_opt_out(contact)
    contact.refresh_from_db()
    assert contact.email_opt_out and callbacks == []


# --- The write log page -----------------------------------------------------------------------------------
def _log(organization, **fields):
    defaults = {
        "action": Action.CREATE_LEAD,
        "sobject": "Lead",
        "result": Result.OK,
        "message": "Created it.",
    }
    return CrmWriteLog.objects.create(organization=organization, **{**defaults, **fields})


def test_admins_read_their_organisations_write_log(client, owner, acme, globex):
    _log(acme, message="Ours went fine.", record_id="00Q000000000001AAA")
    _log(acme, result=Result.ERROR, action=Action.UPDATE_STATUS, message="Ours was refused.")
    _log(globex, message="Theirs is private.")
    client.force_login(owner)
    response = client.get(reverse("engage:crm_write_log"))
    assert response.status_code == 200
    assert "Ours went fine." in response.text and "Ours was refused." in response.text
    assert "Theirs is private." not in response.text
    assert reverse("engage:crm_write_log") in response.text  # the CRM sub-navigation links it

    errors = client.get(reverse("engage:crm_write_log"), {"result": "error"}).text
    assert "Ours was refused." in errors and "Ours went fine." not in errors
    by_action = client.get(reverse("engage:crm_write_log"), {"action": "create_lead"}).text
    assert "Ours went fine." in by_action and "Ours was refused." not in by_action


def test_the_write_log_pages_50_rows(client, owner, acme):
    for i in range(60):
        _log(acme, message=f"Write number {i}.")
    client.force_login(owner)
    first = client.get(reverse("engage:crm_write_log")).text
    assert "Write number 59." in first and "Write number 9." not in first and "Page 1 of 2" in first
    second = client.get(reverse("engage:crm_write_log"), {"page": 2}).text
    assert "Write number 9." in second


def test_contributors_cannot_open_the_write_log(client, teammate):
    client.force_login(teammate)
    assert client.get(reverse("engage:crm_write_log")).status_code == 403


def test_support_staff_see_writes_read_only(client, acme):

    sign_in_to_support(client, support_user())
    log = _log(acme, message="Seen by support.")
    assert client.get(reverse("admin:engage_crmwritelog_changelist")).status_code == 200
    url = reverse("admin:engage_crmwritelog_change", args=[log.pk])
    response = client.get(url)
    assert response.status_code == 200 and "Seen by support." in response.text
    assert client.post(url, {"message": "edited"}).status_code == 403
    log.refresh_from_db()
    assert log.message == "Seen by support."
