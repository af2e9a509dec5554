"""Owners of polled and imported Salesforce records (issue 12, point 4): the Cadence user with
the Salesforce owner's email, else the CRM settings' fallback owner, else whoever started the
poll or import; the counts on the poll summary; the fallback owner setting and its tenancy."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from engage.models import Contact, CrmPoll, CrmSettings
from engage.services.crm.configuration import crm_settings_for, crm_settings_update
from engage.services.crm.sync_batch import owners_default_to
from engage.services.crm.sync_handler import EngageCrmHandler
from integrations.records import CrmRecord
from integrations.sandbox.salesforce import control as sf
from tests.engage.crm.test_poll import RULE, TITLE, start_and_run
from tests.engage.crm.test_sync_handler import lead
from tests.factories import ContactFactory, UserFactory

handler = EngageCrmHandler()
SETTINGS = reverse("engage:crm_settings")


def owned_by(email: str) -> dict[str, Any]:
    return {"Owner": {"attributes": {"type": "User"}, "Email": email}}


def owner_of(record: CrmRecord) -> str | None:
    contact = Contact.objects.select_related("owner").get(crm_id=record.id)
    return contact.owner.email if contact.owner else None


# --- The handler --------------------------------------------------------------------------------


def test_the_owner_by_email_else_the_settings_fallback_owner(acme, owner, teammate):
    crm_settings_update(organization=acme, actor=owner, fallback_owner=teammate)
    matched = lead(1, **owned_by("Owner@Acme.example"))
    unknown = lead(2, **owned_by("someone@elsewhere.example"))
    nobody = lead(3)
    result = handler.apply(acme, "Lead", [matched, unknown, nobody])
    assert owner_of(matched) == "owner@acme.example"
    assert owner_of(unknown) == owner_of(nobody) == "teammate@acme.example"
    assert (result.owned_by_email, result.owned_by_fallback) == (1, 2)


def test_without_a_fallback_owner_the_starter_owns_them_and_outside_a_poll_nobody(acme, owner, teammate):
    with owners_default_to(teammate.pk):
        result = handler.apply(acme, "Lead", [lead(1, **owned_by("someone@elsewhere.example"))])
    assert owner_of(lead(1)) == "teammate@acme.example"
    assert (result.owned_by_email, result.owned_by_fallback) == (0, 1)
    # The 5-minute sync has no starter: without a fallback owner a new contact has none.
    result = handler.apply(acme, "Lead", [lead(2, **owned_by("someone@elsewhere.example"))])
    assert owner_of(lead(2)) is None and result.owned_by_fallback == 0


def test_the_fallback_never_replaces_an_owner_a_contact_has(acme, owner, teammate):
    crm_settings_update(organization=acme, actor=owner, fallback_owner=teammate)
    kept = ContactFactory(organization=acme, email="ada.4@engines.example", owner=owner)
    unowned = ContactFactory(organization=acme, email="ada.5@engines.example", owner=None)
    result = handler.apply(acme, "Lead", [lead(4), lead(5)])
    kept.refresh_from_db(), unowned.refresh_from_db()
    assert kept.owner == owner and unowned.owner == teammate
    assert result.owned_by_fallback == 1


def test_an_inactive_fallback_owner_gives_way_to_the_starter(acme, owner, teammate):
    crm_settings_update(organization=acme, actor=owner, fallback_owner=teammate)
    teammate.is_active = False
    teammate.save(update_fields=["is_active"])
    with owners_default_to(owner.pk):
        handler.apply(acme, "Lead", [lead(6, **owned_by("teammate@acme.example"))])
    assert owner_of(lead(6)) == "owner@acme.example"  # an inactive user owns nothing new


def test_owners_cost_one_query_per_page_whatever_its_size_and_owners(acme, owner):
    sellers = [UserFactory(organization=acme, email=f"seller{n}@acme.example") for n in range(30)]
    crm_settings_update(organization=acme, actor=owner, fallback_owner=owner)
    handler.apply(acme, "Lead", [lead(999)])  # statuses and the settings row are made once

    def queries(records: list[CrmRecord]) -> int:
        with CaptureQueriesContext(connection) as captured:
            handler.apply(acme, "Lead", records)
        return len(captured)

    small = queries([lead(n, **owned_by(sellers[n % 2].email)) for n in range(3)])
    large = queries(
        [
            lead(n, **owned_by(sellers[n % 30].email if n % 3 else "stranger@elsewhere.example"))
            for n in range(100, 300)
        ]
    )
    assert small == large
    owners = Contact.objects.filter(organization=acme, crm_id__in=[lead(n).id for n in range(100, 300)])
    assert owners.filter(owner=owner).count() == len([n for n in range(100, 300) if n % 3 == 0])
    assert owners.filter(owner__email__startswith="seller").count() == len(
        [n for n in range(100, 300) if n % 3]
    )


def test_another_organisations_user_never_owns_these_records(acme, globex, owner, outsider):
    with owners_default_to(outsider.pk):  # a starter from elsewhere is ignored too
        handler.apply(acme, "Lead", [lead(7, **owned_by("outsider@globex.example"))])
    assert owner_of(lead(7)) is None


# --- The setting ----------------------------------------------------------------------------------


def test_a_fallback_owner_from_another_organisation_is_refused(acme, owner, outsider):
    with pytest.raises(ValidationError, match="active users"):
        crm_settings_update(organization=acme, actor=owner, fallback_owner=outsider)
    assert crm_settings_for(acme).fallback_owner is None


def test_the_settings_page_sets_the_fallback_owner_among_the_organisations_users(
    client, acme, owner, teammate, outsider
):
    client.force_login(owner)
    page = client.get(SETTINGS).content.decode()
    assert "Whoever starts the poll or import" in page
    assert "teammate@acme.example" in page and "outsider@globex.example" not in page
    form = {"new_prospects_as": "lead", "engage_created_handling": "push"}

    refused = client.post(SETTINGS, {**form, "fallback_owner": outsider.pk})
    assert refused.status_code == 200 and "Select a valid choice" in refused.content.decode()
    assert CrmSettings.objects.get(organization=acme).fallback_owner is None

    response = client.post(SETTINGS, {**form, "fallback_owner": teammate.pk})
    assert response.status_code == 302
    assert CrmSettings.objects.get(organization=acme).fallback_owner == teammate
    client.post(SETTINGS, {**form, "fallback_owner": ""})
    assert CrmSettings.objects.get(organization=acme).fallback_owner is None


# --- The poll -------------------------------------------------------------------------------------


def test_a_poll_owns_records_by_email_else_its_starter_and_its_summary_says_how_many(
    client, acme, owner, sandbox, salesforce_connection, django_capture_on_commit_callbacks
):
    from engage.services.crm.configuration import rule_save

    rule_save(organization=acme, sobject="Lead", combinator="AND", conditions=RULE, actor=owner)
    rep = UserFactory(organization=acme, email="sam.rivera@sandbox-corp.example")
    rows = [{"LastName": f"Own{n}", "Company": "Owners", "Title": TITLE} for n in range(5)]
    reps = sf.add_records(sandbox.state, "Lead", rows[:2], owner="sam.rivera@sandbox-corp.example")
    admins = sf.add_records(sandbox.state, "Lead", rows[2:])  # owned by a user Cadence does not have

    poll = start_and_run(acme, owner, django_capture_on_commit_callbacks)
    assert poll.status == CrmPoll.Status.DONE, poll.failure_message
    assert (poll.owned_by_email, poll.owned_by_fallback) == (2, 3)
    contacts = Contact.objects.filter(organization=acme)
    assert set(contacts.filter(crm_id__in=reps).values_list("owner", flat=True)) == {rep.pk}
    assert set(contacts.filter(crm_id__in=admins).values_list("owner", flat=True)) == {owner.pk}

    client.force_login(owner)
    page = client.get(reverse("engage:crm_poll", args=["Lead"])).content.decode()
    assert "Owners: 2 records by their Salesforce owner's email, 3 given the fallback owner." in page
