"""F2 against the sandbox: a contact added to Engage is looked up in Salesforce by email, then by
name and phone; a person found is linked and their Salesforce data used; otherwise a Lead, a
Contact or nothing is created as the CRM settings say — never a duplicate (G13)."""

from __future__ import annotations

from dataclasses import replace

from django.urls import reverse

from copilot import phones
from engage.models import Contact, CrmSettings, CrmWriteLog
from engage.services import contacts as contact_services
from engage.services.crm import linking as crm_writes
from engage.services.crm.configuration import crm_settings_update, mapping_rows
from engage.services.statuses import status_default
from integrations.sandbox.salesforce import control as sfc
from tests.engage.crm import sf_helpers as sf


def default_status(organization):
    return status_default(organization=organization)


def add(acme, owner, **data):
    """A contact added the way the New Contact form adds it, then looked up (as the view does)."""
    data.setdefault("last_name", "Newperson")
    contact = contact_services.contact_create(organization=acme, actor=owner, data=data, owner=owner)
    return contact, crm_writes.crm_contact_added(contact=contact, actor=owner)


def creates(sandbox) -> int:
    return sfc.api_calls(sandbox.state).get("create", 0)


# --- Found: linked, its data used ------------------------------------------------------------------
def test_a_salesforce_contact_with_the_email_is_linked_and_its_data_used(
    acme, owner, salesforce_connection, sandbox
):
    person = sf.sf_contact(sandbox)
    contact, outcome = add(acme, owner, email=person["Email"].upper(), first_name="Typed", last_name="Typed")

    contact.refresh_from_db()
    assert (contact.crm_type, contact.crm_id) == ("Contact", person["Id"])
    assert (contact.first_name, contact.last_name) == (person["FirstName"], person["LastName"])
    assert contact.title == person["Title"]
    assert contact.business_phone == phones.normalise(person["Phone"])  # kept in E.164 (issue 12)
    assert outcome.level == "success"
    assert outcome.message == f"Linked to Salesforce Contact {person['Id']} (found by email)."
    assert creates(sandbox) == 0


def test_contacts_are_searched_before_leads(acme, owner, salesforce_connection, sandbox):
    lead = sf.open_leads(sandbox)[0]
    person = sfc.add_records(
        sandbox.state, "Contact", [{"LastName": "Both", "Email": lead["Email"], "FirstName": "Con"}]
    )[0]
    contact, _outcome = add(acme, owner, email=lead["Email"])
    contact.refresh_from_db()
    assert (contact.crm_type, contact.crm_id) == ("Contact", person)


def test_a_lead_with_the_email_is_linked_with_its_status(acme, owner, salesforce_connection, sandbox):
    statuses = sf.statuses_from_salesforce(acme, owner)
    lead = next(r for r in sf.open_leads(sandbox, 50) if r["Status"] == "Working - Contacted")
    contact, _outcome = add(acme, owner, email=lead["Email"])
    contact.refresh_from_db()
    assert (contact.crm_type, contact.crm_id) == ("Lead", lead["Id"])
    assert contact.company == lead["Company"] and contact.status == statuses["Working - Contacted"]
    assert contact.account is not None and contact.account.name == lead["Company"]


def test_a_person_is_found_by_name_and_phone_when_the_email_differs(
    acme, owner, salesforce_connection, sandbox
):
    lead = sf.open_leads(sandbox)[0]
    contact, outcome = add(
        acme,
        owner,
        email="private.address@elsewhere.example",
        first_name=lead["FirstName"],
        last_name=lead["LastName"],
        mobile_phone=lead["Phone"],
    )
    contact.refresh_from_db()
    assert (contact.crm_type, contact.crm_id) == ("Lead", lead["Id"])
    assert contact.email == "private.address@elsewhere.example"  # the email typed stays
    assert outcome.message.endswith("(found by name and phone).")


def test_the_same_name_without_a_matching_phone_is_not_a_match(acme, owner, salesforce_connection, sandbox):
    crm_settings_update(organization=acme, actor=owner, new_prospects_as="none")
    lead = sf.open_leads(sandbox)[0]
    contact, outcome = add(
        acme,
        owner,
        email="x@elsewhere.example",
        first_name=lead["FirstName"],
        last_name=lead["LastName"],
        business_phone="+1 000-000-0000",
    )
    contact.refresh_from_db()
    assert contact.crm_id == "" and outcome.level == "info"


def test_a_record_already_linked_to_another_contact_is_not_linked_twice(
    acme, owner, salesforce_connection, sandbox
):
    lead = sf.open_leads(sandbox)[0]
    sf.linked_contact(acme, "Lead", lead, email="first@elsewhere.example")
    contact, outcome = add(acme, owner, email=lead["Email"])
    contact.refresh_from_db()
    assert contact.crm_id == "" and outcome.level == "warning" and "already linked" in outcome.message


# --- Not found: created per the CRM setting --------------------------------------------------------
def test_someone_new_becomes_a_lead_by_default(acme, owner, salesforce_connection, sandbox):
    contact, outcome = add(
        acme,
        owner,
        email="brand.new@prospect.example",
        first_name="Bran",
        last_name="New",
        company="Prospect Co",
        state="CA",
        country="United States",
        title="CTO",
    )
    contact.refresh_from_db()
    assert contact.crm_type == "Lead" and contact.crm_id.startswith("00Q")
    created = sf.record(sandbox, "Lead", contact.crm_id)
    assert (created["LastName"], created["Company"], created["Email"], created["Title"]) == (
        "New",
        "Prospect Co",
        "brand.new@prospect.example",
        "CTO",
    )
    assert outcome.message == f"Created Salesforce Lead {contact.crm_id}."
    log = CrmWriteLog.objects.get()
    assert (log.action, log.result, log.record_id, log.contact) == (
        "create_lead",
        "ok",
        contact.crm_id,
        contact,
    )


def test_someone_new_becomes_a_contact_when_the_setting_says_so(acme, owner, salesforce_connection, sandbox):
    crm_settings_update(organization=acme, actor=owner, new_prospects_as=CrmSettings.NewProspects.CONTACT)
    contact, outcome = add(acme, owner, email="new.contact@prospect.example", last_name="Contacto")
    contact.refresh_from_db()
    assert contact.crm_type == "Contact" and contact.crm_id.startswith("003")
    assert sf.record(sandbox, "Contact", contact.crm_id)["Email"] == "new.contact@prospect.example"
    assert outcome.message == f"Created Salesforce Contact {contact.crm_id}."


def test_someone_new_stays_in_engage_when_the_setting_says_nothing(
    acme, owner, salesforce_connection, sandbox
):
    crm_settings_update(organization=acme, actor=owner, new_prospects_as=CrmSettings.NewProspects.NONE)
    contact, outcome = add(acme, owner, email="local.only@prospect.example")
    contact.refresh_from_db()
    assert contact.crm_id == "" and creates(sandbox) == 0
    assert outcome.level == "info" and "create no Lead or Contact" in outcome.message


def test_keeping_engage_contacts_local_creates_nothing(acme, owner, salesforce_connection, sandbox):
    crm_settings_update(organization=acme, actor=owner, engage_created_handling="keep_local")
    person = sf.sf_contact(sandbox)
    found, outcome = add(acme, owner, email=person["Email"])
    found.refresh_from_db()
    assert found.crm_id == person["Id"]  # people Salesforce has are still linked
    local, outcome = add(acme, owner, email="kept.here@prospect.example", company="Acme")
    local.refresh_from_db()
    assert local.crm_id == "" and creates(sandbox) == 0 and "here only" in outcome.message


def test_a_lead_needs_a_company(acme, owner, salesforce_connection, sandbox):
    _contact, outcome = add(acme, owner, email="no.company@prospect.example")
    assert outcome.level == "warning" and "a Lead needs a Company" in outcome.message
    assert creates(sandbox) == 0
    log = CrmWriteLog.objects.get()
    assert (log.result, log.error_code) == ("skipped", "COMPANY_MISSING")


def test_the_mappings_default_company_fills_in(acme, owner, salesforce_connection, sandbox):
    rows = mapping_rows(organization=acme, sobject="Lead")
    sf.save_mapping(
        acme,
        "Lead",
        [replace(r, default_value="Unknown Co" if r.engage_field == "company" else "") for r in rows],
    )
    contact, _outcome = add(acme, owner, email="defaulted@prospect.example")
    contact.refresh_from_db()
    assert sf.record(sandbox, "Lead", contact.crm_id)["Company"] == "Unknown Co"


def test_a_duplicate_rule_match_is_linked_instead_of_failing(acme, owner, salesforce_connection, sandbox):
    # A converted Lead is not offered by the lookup, but Salesforce's duplicate rule still sees it.
    converted = sf.converted_lead(sandbox)
    contact, outcome = add(acme, owner, email=converted["Email"], company="Acme")
    contact.refresh_from_db()
    assert (contact.crm_type, contact.crm_id) == ("Lead", converted["Id"])
    assert "duplicate rule" in outcome.message and outcome.level == "success"
    assert len([r for r in sf.records(sandbox, "Lead") if r.get("Email") == converted["Email"]]) == 1
    assert CrmWriteLog.objects.get().error_code == "DUPLICATES_DETECTED"


def test_a_validation_rule_keeps_the_contact_and_says_which_field(
    acme, owner, salesforce_connection, sandbox
):
    contact, outcome = add(
        acme,
        owner,
        email="ruled@prospect.example",
        company="Acme",
        state="California",
        country="United States",
    )
    assert Contact.objects.filter(pk=contact.pk, crm_id="").exists()
    assert outcome.level == "error"
    assert outcome.message == (
        "Salesforce refused: State must be a two-letter code for US addresses. (field State)"
    )
    assert crm_writes.crm_latest_error(contact=contact).message == outcome.message


def test_salesforce_down_still_adds_the_contact(acme, owner, salesforce_connection, sandbox):
    sandbox.control.inject_fault("/services/data/v59.0/query", status=503, times=None)
    contact, outcome = add(acme, owner, email="down@prospect.example", company="Acme")
    assert Contact.objects.filter(pk=contact.pk).exists()
    assert outcome.level == "warning" and "could not be reached" in outcome.message


def test_nothing_happens_without_salesforce(acme, owner, django_assert_max_num_queries):
    contact = contact_services.contact_create(
        organization=acme, actor=owner, data={"email": "alone@prospect.example"}, owner=owner
    )
    with django_assert_max_num_queries(1):
        assert crm_writes.crm_contact_added(contact=contact, actor=owner) is None


# --- The New Contact form tells what happened -----------------------------------------------------------
def test_the_new_contact_form_shows_the_salesforce_outcome(
    client, owner, acme, salesforce_connection, sandbox, django_capture_on_commit_callbacks
):
    person = sf.sf_contact(sandbox)
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):  # the lookup task, enqueued on commit
        response = client.post(
            reverse("engage:contact_create"),
            {
                "email": person["Email"],
                "last_name": "Typed",
                "owner": owner.pk,
                "status": default_status(acme).pk,
            },
        )
    response = client.get(response.url)  # the page that follows, once the task has run
    assert response.status_code == 200
    assert f"Linked to Salesforce Contact {person['Id']}" in response.text


def test_the_contact_page_shows_salesforces_refusal(
    client, owner, acme, salesforce_connection, django_capture_on_commit_callbacks
):
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):  # the lookup task, enqueued on commit
        response = client.post(
            reverse("engage:contact_create"),
            {
                "email": "page@prospect.example",
                "last_name": "Page",
                "company": "Acme",
                "state": "California",
                "country": "United States",
                "owner": owner.pk,
                "status": default_status(acme).pk,
            },
        )
    response = client.get(response.url)  # the page that follows, once the task has run
    text = response.text
    assert "Salesforce refused: State must be a two-letter code for US addresses. (field State)" in text
    contact = Contact.objects.get(email="page@prospect.example")
    detail = client.get(reverse("engage:contact_detail", args=[contact.pk])).text
    assert "(field State)" in detail


# --- CSV imports: one capped pass links by email ------------------------------------------------------
def test_an_imports_contacts_are_linked_by_email_in_a_few_queries(
    acme, owner, salesforce_connection, sandbox
):
    import datetime as dt

    from django.utils import timezone

    from engage.models import ContactImport, ImportedContact
    from tests.factories import ContactFactory, ContactImportFactory

    started = timezone.now() - dt.timedelta(minutes=1)
    imp = ContactImportFactory(organization=acme, started_at=started, status=ContactImport.Status.DONE)
    *people, elsewhere = [r for r in sf.records(sandbox, "Contact") if r.get("Email")][:251]
    leads = sf.open_leads(sandbox, 30)
    for r in [*people, *leads]:
        ContactFactory(organization=acme, email=r["Email"].lower(), source="import")
    nobody = ContactFactory(organization=acme, email="nobody@prospect.example", source="import")
    for contact in Contact.objects.filter(organization=acme):  # what the import's pass wrote
        ImportedContact.objects.create(organization=acme, contact_import=imp, contact=contact)
    # Someone else's contact, added while the import ran: Salesforce has it, but it is not the import's.
    other = ContactFactory(organization=acme, email=elsewhere["Email"].lower())
    before = sfc.api_calls(sandbox.state).get("query", 0)

    assert crm_writes.crm_link_imported(import_id=imp.pk) == 280

    # 281 emails: Contacts in 2 queries, then the 31 still unknown in 1 query of Leads.
    assert sfc.api_calls(sandbox.state)["query"] - before == 3
    assert Contact.objects.get(email=people[0]["Email"].lower()).crm_id == people[0]["Id"]
    assert Contact.objects.get(email=leads[0]["Email"].lower()).crm_type == "Lead"
    nobody.refresh_from_db()
    other.refresh_from_db()
    assert nobody.crm_id == "" and other.crm_id == ""


def test_a_finished_import_enqueues_the_link_pass(
    acme, owner, monkeypatch, django_capture_on_commit_callbacks
):
    from engage import tasks
    from engage.models import ContactImport
    from engage.services import imports as import_services
    from tests.factories import ContactImportFactory

    imp = ContactImportFactory(
        organization=acme, created_by=owner, status=ContactImport.Status.IMPORTING, mapping={"0": "email"}
    )
    seen = []
    monkeypatch.setattr(tasks.crm_link_imported, "delay", lambda import_id: seen.append(import_id))
    with django_capture_on_commit_callbacks(execute=True):
        import_services.import_run(import_id=imp.pk)
    imp.refresh_from_db()
    assert imp.status == ContactImport.Status.DONE and seen == [imp.pk]


def test_a_lookup_never_undoes_an_opt_out(acme, owner, salesforce_connection, sandbox):
    person = next(
        r for r in sf.records(sandbox, "Contact") if r.get("Email") and not r.get("HasOptedOutOfEmail")
    )
    contact, _outcome = add(acme, owner, email=person["Email"], email_opt_out=True)
    contact.refresh_from_db()
    assert contact.crm_id == person["Id"] and contact.email_opt_out is True


def test_the_contact_page_says_checking_until_the_lookup_task_has_run(
    client, owner, acme, salesforce_connection, sandbox, django_capture_on_commit_callbacks
):
    crm_settings_update(organization=acme, actor=owner, new_prospects_as=CrmSettings.NewProspects.NONE)
    client.force_login(owner)
    before = sum(sfc.api_calls(sandbox.state).values())
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            reverse("engage:contact_create"),
            {
                "email": "waiting@prospect.example",
                "last_name": "Waiting",
                "owner": owner.pk,
                "status": default_status(acme).pk,
            },
        )
    assert sum(sfc.api_calls(sandbox.state).values()) == before  # no Salesforce round trip in the request
    page = client.get(response.url).text
    assert "Checking Salesforce…" in page and 'hx-trigger="every 2s"' in page

    for callback in callbacks:  # the worker runs the lookup
        callback()
    polled = client.get(response.url, headers={"HX-Request": "true", "HX-Target": "crm-state"})
    assert polled.text.lstrip().startswith('<dd id="crm-state"')  # only the CRM line
    assert "Checking Salesforce" not in polled.text and "hx-trigger" not in polled.text
    assert "Not linked" in polled.text and "create no Lead or Contact" in polled.text
