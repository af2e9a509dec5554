"""Poll historical data (G6) end to end: the Admin Portal page, the background task, the sync
engine's ``run_poll`` against the Salesforce sandbox, and Engage's handler writing contacts."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from engage.models import Contact, CrmPoll
from engage.services.crm import poll as crm_poll
from engage.services.crm.configuration import crm_statuses_pending
from engage.services.statuses import statuses_from_crm
from integrations.sandbox.salesforce import control as sf
from tests.engage.crm.sf_helpers import statuses_from_salesforce
from tests.engage.jobs_helpers import dead_worker
from tests.factories import ContactFactory

TITLE = "Zq Historical Poller"
RULE = [{"field": "Title", "operator": "equals", "value": TITLE}]


def poll_url(sobject: str = "Lead") -> str:
    return reverse("engage:crm_poll", args=[sobject])


def add_leads(sandbox: Any, count: int, **fields: Any) -> list[str]:
    rows = [
        {
            "FirstName": "Pol",
            "LastName": f"Ler{n}",
            "Company": f"Poll Co {n}",
            "Email": f"pol.ler{n}@poll.example",
            "Title": TITLE,
            "Status": "Working - Contacted",
            **fields,
        }
        for n in range(count)
    ]
    return sf.add_records(sandbox.state, "Lead", rows)


@pytest.fixture
def leads_rule(acme, owner, salesforce_connection):
    from engage.services.crm.configuration import rule_save

    rule_save(organization=acme, sobject="Lead", combinator="AND", conditions=RULE, actor=owner)


def start_and_run(acme, owner, django_capture_on_commit_callbacks, sobject: str = "Lead") -> CrmPoll:
    """Start a poll; the task runs eagerly when the start commits (test settings)."""
    with django_capture_on_commit_callbacks(execute=True):
        poll = crm_poll.poll_start(organization=acme, sobject=sobject, actor=owner)
    poll.refresh_from_db()
    return poll


# --- The poll -----------------------------------------------------------------------------------


def test_a_poll_creates_contacts_for_matching_records_and_links_the_ones_engage_has(
    acme, owner, sandbox, leads_rule, django_capture_on_commit_callbacks
):
    ids = add_leads(sandbox, 5)
    statuses_from_salesforce(acme, owner)  # F3: the admin applied the Lead Status mapping
    mine = ContactFactory(organization=acme, email="pol.ler0@poll.example", first_name="Polly")
    poll = start_and_run(acme, owner, django_capture_on_commit_callbacks)

    assert poll.status == CrmPoll.Status.DONE, poll.failure_message
    assert (poll.total, poll.processed) == (5, 5)
    assert (poll.created_count, poll.updated_count, poll.unchanged_count, poll.error_count) == (4, 1, 0, 0)
    assert poll.api_calls >= 2 and poll.started_at and poll.finished_at
    linked = Contact.objects.filter(organization=acme, crm_type="Lead", crm_id__in=ids)
    assert linked.count() == 5
    mine.refresh_from_db()
    assert mine.crm_id == ids[0] and mine.source == "manual"
    assert linked.filter(source="crm").count() == 4
    # F3 mapped: statuses are Salesforce's picklist. Polly's status was set in Engage after the
    # lead last changed, and status is bi-directional (most recent wins): hers stays.
    created = linked.exclude(pk=mine.pk)
    assert set(created.values_list("status__crm_value", flat=True)) == {"Working - Contacted"}
    assert statuses_from_crm(organization=acme)
    # Records outside the rule stay in Salesforce.
    assert Contact.objects.filter(organization=acme).count() == 5


def test_polling_again_finds_everything_unchanged(
    acme, owner, sandbox, leads_rule, django_capture_on_commit_callbacks
):
    add_leads(sandbox, 3)
    start_and_run(acme, owner, django_capture_on_commit_callbacks)
    again = start_and_run(acme, owner, django_capture_on_commit_callbacks)
    assert (again.created_count, again.updated_count, again.unchanged_count) == (0, 0, 3)
    assert Contact.objects.filter(organization=acme).count() == 3


def test_records_that_cannot_be_polled_are_listed_with_their_reasons(
    acme, owner, sandbox, leads_rule, django_capture_on_commit_callbacks
):
    ids = add_leads(sandbox, 2, Email="twice@poll.example")
    poll = start_and_run(acme, owner, django_capture_on_commit_callbacks)
    assert poll.status == CrmPoll.Status.DONE
    assert (poll.created_count, poll.error_count) == (1, 1)
    assert poll.errors[0]["id"] in ids
    assert "same email twice@poll.example" in poll.errors[0]["reason"]


def test_one_poll_per_object_at_a_time(acme, owner, salesforce_connection):
    first = crm_poll.poll_start(organization=acme, sobject="Lead", actor=owner)  # queued, not run
    with pytest.raises(ValidationError, match="already running"):
        crm_poll.poll_start(organization=acme, sobject="Lead", actor=owner)
    other = crm_poll.poll_start(organization=acme, sobject="Contact", actor=owner)
    assert first.status == other.status == CrmPoll.Status.QUEUED


def test_a_poll_needs_salesforce(acme, owner):
    with pytest.raises(ValidationError, match="Connect Salesforce"):
        crm_poll.poll_start(organization=acme, sobject="Lead", actor=owner)


def test_a_queued_poll_cancels_at_once_and_never_runs(acme, owner, salesforce_connection):
    poll = crm_poll.poll_start(organization=acme, sobject="Lead", actor=owner)
    poll = crm_poll.poll_cancel(poll=poll, actor=owner)
    assert poll.status == CrmPoll.Status.CANCELLED
    crm_poll.poll_run(poll_id=poll.pk)  # the queued task arrives anyway
    poll.refresh_from_db()
    assert poll.status == CrmPoll.Status.CANCELLED and poll.processed == 0


def test_a_running_poll_stops_after_the_page_it_is_on_when_cancelled(
    acme, owner, salesforce_connection, monkeypatch
):
    """No rule: the sandbox's 3,000 demo leads, two pages; Cancel is pressed during the first."""
    page = crm_poll._Progress.page

    def cancel_during_first_page(self, processed, total, batch, last_id):
        page(self, processed, total, batch, last_id)
        CrmPoll.objects.filter(pk=self.poll.pk).update(cancel_requested=True)

    monkeypatch.setattr(crm_poll._Progress, "page", cancel_during_first_page)
    poll = crm_poll.poll_start(organization=acme, sobject="Lead", actor=owner)
    crm_poll.poll_run(poll_id=poll.pk)
    poll.refresh_from_db()
    assert poll.status == CrmPoll.Status.CANCELLED
    assert poll.processed == 2_000 < poll.total
    assert Contact.objects.filter(organization=acme, source="crm").count() == 2_000 - poll.error_count


def test_a_poll_that_salesforce_fails_says_so(acme, owner, sandbox, leads_rule):
    poll = crm_poll.poll_start(organization=acme, sobject="Lead", actor=owner)
    sandbox.control.inject_fault("/services/data/v59.0/query", status=503, times=10)
    crm_poll.poll_run(poll_id=poll.pk)
    poll.refresh_from_db()
    assert poll.status == CrmPoll.Status.FAILED
    assert poll.failure_message
    assert poll.finished_at is not None


def test_a_redelivered_task_of_a_dead_worker_runs_the_poll_once_instead_of_failing_it(
    acme, owner, sandbox, leads_rule
):
    """Was: the redelivery marked the poll failed. Now it takes the poll over (this one had stored
    no page yet: it starts at the first record), and runs it once."""
    add_leads(sandbox, 3)
    poll = crm_poll.poll_start(organization=acme, sobject="Lead", actor=owner)
    CrmPoll.objects.filter(pk=poll.pk).update(
        status=CrmPoll.Status.RUNNING, started_at=poll.created_at, worker=dead_worker("crm-poll")
    )
    crm_poll.poll_run(poll_id=poll.pk)
    poll.refresh_from_db()
    assert poll.status == CrmPoll.Status.DONE, poll.failure_message
    assert (poll.processed, poll.created_count) == (3, 3)
    crm_poll.poll_run(poll_id=poll.pk)  # delivered yet again: finished, nothing to do
    poll.refresh_from_db()
    assert (poll.status, poll.created_count) == (CrmPoll.Status.DONE, 3)


# --- The page -------------------------------------------------------------------------------------


def test_only_admins_open_the_poll_pages(client, teammate, owner, outsider, salesforce_connection):
    poll = crm_poll.poll_start(organization=owner.organization, sobject="Lead", actor=owner)
    client.force_login(teammate)
    assert client.get(poll_url()).status_code == 403
    assert client.get(reverse("engage:crm_poll_progress", args=[poll.pk])).status_code == 403
    assert client.post(reverse("engage:crm_poll_cancel", args=[poll.pk])).status_code == 403
    client.force_login(outsider)  # an admin of another organisation
    assert client.get(reverse("engage:crm_poll_progress", args=[poll.pk])).status_code == 404
    assert client.post(reverse("engage:crm_poll_cancel", args=[poll.pk])).status_code == 404
    client.force_login(owner)
    assert client.get(poll_url("Account")).status_code == 404


def test_the_page_counts_matching_records_and_asks_before_polling(
    owner_client, acme, sandbox, leads_rule, django_capture_on_commit_callbacks
):
    add_leads(sandbox, 3)
    html = owner_client.get(poll_url()).content.decode()
    assert "3 leads</strong> match your sync rules" in html
    assert f'href="{poll_url()}?confirm=1"' in html
    confirm = owner_client.get(poll_url() + "?confirm=1").content.decode()
    assert 'role="alertdialog"' in confirm and "Poll 3 leads from Salesforce now?" in confirm
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(poll_url())
    assert response.status_code == 302
    html = owner_client.get(poll_url()).content.decode()
    assert "Last poll finished" in html
    assert f"{reverse('engage:contacts')}?source=crm" in html


def test_the_progress_block_polls_while_running_and_stops_when_done(
    owner_client, acme, owner, salesforce_connection
):
    poll = crm_poll.poll_start(organization=acme, sobject="Lead", actor=owner)
    CrmPoll.objects.filter(pk=poll.pk).update(
        status="running", total=3000, processed=2000, created_count=2000
    )
    progress = reverse("engage:crm_poll_progress", args=[poll.pk])
    html = owner_client.get(progress).content.decode()
    assert 'hx-trigger="every 1s"' in html and "2,000 of 3,000 records (67%)" in html
    assert "Cancel the poll" in html
    CrmPoll.objects.filter(pk=poll.pk).update(
        status="done", processed=3000, error_count=1, errors=[{"id": "00Q1", "reason": "Bad email"}]
    )
    html = owner_client.get(progress).content.decode()
    assert "hx-trigger" not in html and "Bad email" in html and "See the contacts" in html


def test_cancel_from_the_page(owner_client, acme, owner, salesforce_connection):
    poll = crm_poll.poll_start(organization=acme, sobject="Lead", actor=owner)
    CrmPoll.objects.filter(pk=poll.pk).update(status="running")
    cancel = reverse("engage:crm_poll_cancel", args=[poll.pk])
    html = owner_client.post(cancel, HTTP_HX_REQUEST="true").content.decode()
    assert "Cancelling…" in html
    poll.refresh_from_db()
    assert poll.cancel_requested and poll.status == "running"
    assert owner_client.get(cancel).status_code == 405


def test_starting_a_second_poll_from_the_page_explains_why_not(
    owner_client, acme, owner, salesforce_connection
):
    crm_poll.poll_start(organization=acme, sobject="Lead", actor=owner)
    response = owner_client.post(poll_url(), follow=True)
    assert "A poll of Leads is already running" in response.content.decode()
    assert CrmPoll.objects.filter(organization=acme).count() == 1


def test_the_page_without_salesforce_says_connect_first(owner_client):
    html = owner_client.get(poll_url()).content.decode()
    assert "Salesforce is not connected" in html and "Poll now" not in html


def test_a_rule_salesforce_no_longer_fits_fails_the_poll_with_the_reason(acme, owner, salesforce_connection):
    from engage.models import SyncRule

    SyncRule.objects.create(
        organization=acme,
        sobject="Lead",
        conditions=[{"field": "Gone__c", "operator": "equals", "value": "x"}],
    )
    poll = crm_poll.poll_start(organization=acme, sobject="Lead", actor=owner)
    crm_poll.poll_run(poll_id=poll.pk)
    poll.refresh_from_db()
    assert poll.status == CrmPoll.Status.FAILED
    assert "no longer fits Salesforce" in poll.failure_message
    assert not Contact.objects.filter(organization=acme).exists()  # never "every record" instead


# --- Statuses follow the Lead Status picklist (F3) --------------------------------------------------


def test_turning_sync_on_asks_for_a_lead_status_mapping(acme, owner, salesforce_connection):
    from engage.services.crm.configuration import crm_settings_update

    assert not statuses_from_crm(organization=acme)
    crm_settings_update(organization=acme, actor=owner, sync_enabled=True)
    assert crm_statuses_pending(organization=acme)
    assert not statuses_from_crm(organization=acme)  # F3: never switched silently


def test_opening_the_poll_page_asks_for_a_lead_status_mapping_once_salesforce_is_connected(
    owner_client, acme, salesforce_connection
):
    assert not statuses_from_crm(organization=acme)
    html = owner_client.get(poll_url()).content.decode()
    assert "Map your statuses to Salesforce Lead Status." in html
    assert crm_statuses_pending(organization=acme) and not statuses_from_crm(organization=acme)
