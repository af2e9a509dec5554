"""An import followed into Salesforce (issue 12): with the CRM setting "create them in Salesforce",
the imported people are looked up by email, the new ones created 200 per request and all linked,
in about three API calls per 200 contacts; with "keep them in Cadence only", only linked."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from engage import tasks
from engage.imports.writer import ImportPass
from engage.models import Contact, ContactImport, CrmSettings, CrmWriteLog
from engage.services.crm import linking
from engage.services.crm.configuration import crm_settings_update
from integrations.sandbox.salesforce import control as sfc
from tests.engage.crm import conftest as crm_fixtures
from tests.engage.crm import sf_helpers as sf
from tests.engage.jobs_helpers import dead_worker
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db
# The Salesforce sandbox connection of tests/engage/crm, for imports made here.
salesforce_connection = crm_fixtures.salesforce_connection
_fresh_describe_cache = crm_fixtures._fresh_describe_cache

NEW = 250


def csv_of(emails: list[str]) -> str:
    lines = ["Email,First Name,Last Name,Company"]
    lines += [f"{e},Pat,Person{i},Prospect Co" for i, e in enumerate(emails)]
    return "\n".join(lines) + "\n"


def with_email(sandbox, email: str) -> list[dict]:
    return [
        r
        for sobject in ("Lead", "Contact")
        for r in sf.records(sandbox, sobject)
        if (r.get("Email") or "").lower() == email.lower()
    ]


def total_calls(sandbox) -> int:
    return sum(sfc.api_calls(sandbox.state).values())


def test_an_import_creates_its_new_people_in_salesforce_and_links_everyone(
    acme,
    globex,
    owner,
    teammate,
    client,
    salesforce_connection,
    sandbox,
    import_file,
):
    existing = [r for r in sf.records(sandbox, "Contact") if r.get("Email")][:3]
    lead = sf.open_leads(sandbox)[0]
    converted = sf.converted_lead(sandbox)  # not offered by the lookup; the duplicate rule finds it
    new = [f"new{i}@prospect.example" for i in range(NEW)]
    known = [r["Email"].lower() for r in [*existing, lead, converted]]
    # Another organisation's unlinked contact, touched during the import: never pushed.
    other = ContactFactory(organization=globex, email="globex.person@prospect.example")
    leads_before = len(sf.records(sandbox, "Lead"))
    calls_before = total_calls(sandbox)

    imp = import_file(csv_of([*new, *known]))

    assert imp.status == ContactImport.Status.DONE
    assert imp.crm_push_status == ContactImport.CrmPush.DONE, imp.crm_push_message
    assert (imp.crm_push_total, imp.crm_pushed) == (NEW + 5, NEW + 5)
    assert (imp.crm_created, imp.crm_linked, imp.crm_push_errors) == (NEW, 5, 0)
    # The new people are Leads in Salesforce now (the default setting), each linked once.
    assert len(sf.records(sandbox, "Lead")) == leads_before + NEW
    for email in (new[0], new[-1]):
        [created] = with_email(sandbox, email)
        contact = Contact.objects.get(organization=acme, email=email)
        assert (contact.crm_type, contact.crm_id) == ("Lead", created["Id"])
        assert created["Company"] == "Prospect Co"
    # People Salesforce already had are linked, not created again.
    for record, sobject in [(existing[0], "Contact"), (lead, "Lead"), (converted, "Lead")]:
        assert len(with_email(sandbox, record["Email"])) == 1
        contact = Contact.objects.get(organization=acme, email=record["Email"].lower())
        assert (contact.crm_type, contact.crm_id) == (sobject, record["Id"])
    # Per 200 contacts: a Contact query, a Lead query and one create request (plus a describe
    # once).
    chunks = 2
    assert total_calls(sandbox) - calls_before <= 3 * chunks + 1
    assert sfc.api_calls(sandbox.state).get("composite_create", 0) == chunks
    assert (
        CrmWriteLog.objects.filter(organization=acme, action=CrmWriteLog.Action.CREATE_LEAD).count()
        == NEW + 1
    )
    other.refresh_from_db()
    assert other.crm_id == "" and with_email(sandbox, other.email) == []

    client.force_login(teammate)
    page = client.get(reverse("engage:import_detail", args=[imp.pk])).text
    assert f"Salesforce: 5 linked, {NEW} created, 0 errors." in page
    assert "hx-trigger" not in page.split('id="import-status"')[1].split(">")[0]


def test_keep_local_links_the_people_salesforce_has_and_creates_none(
    acme,
    owner,
    salesforce_connection,
    sandbox,
    import_file,
):
    crm_settings_update(
        organization=acme, actor=owner, engage_created_handling=CrmSettings.EngageCreated.KEEP_LOCAL
    )
    person = next(r for r in sf.records(sandbox, "Contact") if r.get("Email"))
    imp = import_file(csv_of(["local.only@prospect.example", person["Email"].lower()]))

    assert imp.crm_push_status == ""
    assert sfc.api_calls(sandbox.state).get("composite_create", 0) == 0
    assert with_email(sandbox, "local.only@prospect.example") == []
    assert Contact.objects.get(organization=acme, email="local.only@prospect.example").crm_id == ""
    assert Contact.objects.get(organization=acme, email=person["Email"].lower()).crm_id == person["Id"]


def test_the_page_follows_the_push_while_it_runs(acme, owner, teammate, client):
    imp = ContactImport.objects.create(
        organization=acme,
        created_by=teammate,
        original_name="people.csv",
        status=ContactImport.Status.DONE,
        started_at=timezone.now() - dt.timedelta(minutes=1),
        finished_at=timezone.now(),
        crm_push_status=ContactImport.CrmPush.RUNNING,
        crm_push_total=400,
        crm_pushed=200,
    )
    client.force_login(teammate)
    page = client.get(reverse("engage:import_progress", args=[imp.pk])).text
    assert "Linking to Salesforce: 200 of 400" in page
    assert 'hx-trigger="every 1s"' in page  # keeps polling until the push is done

    ContactImport.objects.filter(pk=imp.pk).update(
        crm_push_status=ContactImport.CrmPush.DONE, crm_pushed=400, crm_linked=120, crm_created=277,
        crm_push_errors=3,
    )  # fmt: skip
    page = client.get(reverse("engage:import_progress", args=[imp.pk])).text
    assert (
        "Salesforce: 120 linked, 277 created, 3 errors — an administrator sees why in the write log." in page
    )
    assert "hx-trigger" not in page
    client.force_login(owner)  # an administrator gets the link to the failed writes
    page = client.get(reverse("engage:import_progress", args=[imp.pk])).text
    assert "Salesforce: 120 linked, 277 created, 3 errors — see" in page
    assert f'href="{reverse("engage:crm_write_log")}"' in page


def test_a_push_silent_past_its_time_limit_is_shown_stopped_and_the_sweep_fails_it(
    acme, teammate, client, monkeypatch
):
    """No worker will take it over any more: the page says it stopped without writing (a GET),
    and the every-minute sweep stores it failed instead of queueing it again."""
    silent = timezone.now() - linking.PUSH_STALE_AFTER - dt.timedelta(minutes=1)
    imp = ContactImport.objects.create(
        organization=acme,
        created_by=teammate,
        original_name="people.csv",
        status=ContactImport.Status.DONE,
        started_at=silent - dt.timedelta(minutes=5),
        finished_at=silent,
        crm_push_status=ContactImport.CrmPush.RUNNING,
        crm_push_started_at=silent,
        crm_push_at=silent,
        crm_push_worker=dead_worker("crm-push"),
        crm_push_total=400,
        crm_pushed=200,
    )
    client.force_login(teammate)
    page = client.get(reverse("engage:import_progress", args=[imp.pk])).text
    assert "Linking to Salesforce stopped after 200 of 400 contacts" in page
    assert "hx-trigger" not in page
    imp.refresh_from_db()
    assert imp.crm_push_status == ContactImport.CrmPush.RUNNING  # the page only reads

    queued = []
    monkeypatch.setattr(tasks.crm_push_imported, "apply_async", lambda **kw: queued.append(kw))
    assert tasks.jobs_resume_dead() == 0 and not queued  # failed, not carried on

    imp.refresh_from_db()
    assert (imp.crm_push_status, imp.crm_push_message) == (
        ContactImport.CrmPush.FAILED,
        linking.PUSH_WORKER_LOST,
    )
    assert imp.crm_pushed == 200
    page = client.get(reverse("engage:import_progress", args=[imp.pk])).text
    assert "Salesforce: 0 linked, 0 created, 0 errors. Stopped: the background worker stopped" in page


def test_only_the_contacts_the_import_wrote_are_pushed(
    acme, owner, salesforce_connection, sandbox, import_file, monkeypatch
):
    """While the import runs, someone adds a contact and edits another (neither linked, both
    with what a Lead needs): neither is the import's, so neither goes to Salesforce. Every
    contact the import created or updated does, including one it updated."""
    edited = ContactFactory(organization=acme, email="edited.meanwhile@prospect.example", company="Else Co")
    in_file = ContactFactory(organization=acme, email="in.the.file@prospect.example", company="Prospect Co")
    monkeypatch.setattr("engage.imports.writer.BATCH_SIZE", 2)
    real_write = ImportPass._write

    def someone_else_meanwhile(self, decisions):
        real_write(self, decisions)
        if not Contact.objects.filter(email="added.meanwhile@prospect.example").exists():
            ContactFactory(organization=acme, email="added.meanwhile@prospect.example", company="Else Co")
            Contact.objects.filter(pk=edited.pk).update(title="Edited", updated_at=timezone.now())

    monkeypatch.setattr(ImportPass, "_write", someone_else_meanwhile)
    emails = [f"row{i}@prospect.example" for i in range(5)] + [in_file.email]

    imp = import_file(csv_of(emails))

    assert (imp.created_count, imp.updated_count) == (5, 1)
    assert imp.crm_push_status == ContactImport.CrmPush.DONE, imp.crm_push_message
    assert (imp.crm_push_total, imp.crm_pushed, imp.crm_created, imp.crm_linked) == (6, 6, 6, 0)
    for email in emails:
        [record] = with_email(sandbox, email)
        assert Contact.objects.get(organization=acme, email=email).crm_id == record["Id"]
    for email in ("added.meanwhile@prospect.example", edited.email):
        assert with_email(sandbox, email) == []
        assert Contact.objects.get(organization=acme, email=email).crm_id == ""


def test_a_lead_without_a_company_is_an_error_in_the_write_log(
    acme,
    owner,
    salesforce_connection,
    sandbox,
    import_file,
):
    imp = import_file("Email,Last Name\nno.company@prospect.example,Nocompany\n")

    assert (imp.crm_created, imp.crm_linked, imp.crm_push_errors) == (0, 0, 1)
    assert imp.crm_push_status == ContactImport.CrmPush.DONE
    log = CrmWriteLog.objects.get(organization=acme)
    assert (log.result, log.error_code) == (CrmWriteLog.Result.SKIPPED, "COMPANY_MISSING")
    assert "a Lead needs a Company" in log.message
    assert with_email(sandbox, "no.company@prospect.example") == []


def test_the_push_stops_at_the_api_budget(acme, owner, salesforce_connection, sandbox, import_file):
    sfc.set_api_limit(sandbox.state, max=1000, remaining=50)  # 95% used
    imp = import_file(csv_of([f"budget{i}@prospect.example" for i in range(3)]))

    assert imp.crm_push_status == ContactImport.CrmPush.FAILED
    assert "API limit is 80% used" in imp.crm_push_message
    assert imp.crm_created == 0
    assert sfc.api_calls(sandbox.state).get("composite_create", 0) == 0
