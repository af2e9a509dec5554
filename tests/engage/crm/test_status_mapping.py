"""F3 without surprises: connecting Salesforce never switches the status list by itself. The CRM
pages ask the admin to map each status to a Lead Status value (read from Salesforce's describe,
never stored on a page's GET); applying the mapping moves the contacts, makes the list the
picklist (its order and default) and retires the other statuses."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from copilot.models import AuditEvent
from engage.crm.mapping import DEFAULT_MAPPINGS, MappingRow
from engage.models import Contact, ContactStatus, EngageSettings
from engage.services import statuses as status_services
from engage.services.crm import configuration as crm_services
from engage.services.statuses import statuses_from_crm
from tests.factories import ContactFactory

MAPPING = reverse("engage:crm_status_mapping")
SETTINGS = reverse("engage:crm_settings")
BANNER = "Map your statuses to Salesforce Lead Status."
# The sandbox's Lead Status picklist, in Salesforce's order; "Open - Not Contacted" is its default.
LEAD_STATUSES = [
    "Open - Not Contacted",
    "Working - Contacted",
    "Closed - Converted",
    "Closed - Not Converted",
]


def pending(organization) -> list[tuple[str, str, bool]]:
    """The Lead Status picklist the pages say waits for a mapping."""
    return crm_services.crm_statuses_pending(organization=organization)


def names(organization) -> list[str]:
    return list(
        ContactStatus.objects.for_org(organization).order_by("position").values_list("name", flat=True)
    )


def html(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


def status(organization, name: str) -> ContactStatus:
    return ContactStatus.objects.for_org(organization).get(name=name)


def mapping_post(organization, chosen: dict[str, str]) -> dict[str, str]:
    """A value for every status: ``chosen`` by name, "Closed - Not Converted" for the rest."""
    return {
        f"status-{s.pk}": chosen.get(s.name, "Closed - Not Converted")
        for s in ContactStatus.objects.for_org(organization)
    }


def selected(page: str, status_pk: int) -> str:
    select = page.split(f'name="status-{status_pk}"', 1)[1].split("</select>", 1)[0]
    return re.search(r'<option value="([^"]+)" selected', select).group(1)


def test_connecting_asks_for_a_mapping_and_leaves_the_list_as_it_is(
    owner_client, acme, salesforce_connection
):
    before = names(acme)
    assert BANNER in html(owner_client.get(SETTINGS))
    assert names(acme) == before and not statuses_from_crm(organization=acme)
    page = html(owner_client.get(MAPPING))
    assert "Map your statuses to Salesforce Lead Status" in page
    assert "Apply mapping" in page
    # Suggested by name: the same name first, then a value containing it, else the default.
    assert selected(page, status(acme, "Open").pk) == "Open - Not Contacted"
    assert selected(page, status(acme, "Closed").pk) == "Closed - Converted"
    assert selected(page, status(acme, "Prospecting").pk) == "Open - Not Contacted"
    assert names(acme) == before  # looking changes nothing either


def test_applying_the_mapping_moves_contacts_retires_the_rest_and_takes_salesforces_default(
    owner_client, acme, globex, owner, salesforce_connection
):
    for _ in range(3):
        ContactFactory(organization=acme, status=status(acme, "New"))
    for _ in range(2):
        ContactFactory(organization=acme, status=status(acme, "Qualified"))
    ContactFactory(organization=acme, status=status(acme, "Disqualified"))
    theirs = [ContactFactory(organization=globex) for _ in range(2)]
    globex_before = list(ContactStatus.objects.for_org(globex).values_list("pk", "name", "is_default"))
    assert "Apply mapping" in html(owner_client.get(MAPPING))

    response = owner_client.post(
        MAPPING,
        mapping_post(acme, {"New": "Open - Not Contacted", "Qualified": "Working - Contacted"}),
        follow=True,
    )
    page = html(response)
    assert "Statuses now follow Salesforce Lead Status: 6 contacts moved, 8 statuses retired." in page
    assert BANNER not in page

    assert names(acme) == LEAD_STATUSES
    assert statuses_from_crm(organization=acme) and not pending(acme)
    assert ContactStatus.objects.get(organization=acme, is_default=True).name == "Open - Not Contacted"
    counts = dict(
        Contact.objects.filter(organization=acme).values_list("status__name").annotate(n=Count("id"))
    )
    assert counts == {"Open - Not Contacted": 3, "Working - Contacted": 2, "Closed - Not Converted": 1}
    # The seller's dropdown offers only Salesforce's values.
    contact = Contact.objects.filter(organization=acme).first()
    detail = html(owner_client.get(reverse("engage:contact_detail", args=[contact.pk])))
    dropdown = detail.split('id="c-status"', 1)[1].split("</select>", 1)[0]
    assert re.findall(r">([^<]+)</option>", dropdown) == LEAD_STATUSES
    # Audited, and the other organisation is untouched.
    event = AuditEvent.objects.filter(organization=acme, action="statuses.crm_mapping_applied").get()
    assert event.data["moved"] == {
        "Open - Not Contacted": 3,
        "Working - Contacted": 2,
        "Closed - Not Converted": 1,
    }
    assert (
        list(ContactStatus.objects.for_org(globex).values_list("pk", "name", "is_default")) == globex_before
    )
    assert {c.status.name for c in Contact.objects.filter(pk__in=[t.pk for t in theirs])} == {"New"}


def test_a_status_with_the_values_name_keeps_its_contacts_and_id(acme, owner, salesforce_connection):
    """A status already called like a value (any case) becomes that value without moving anyone."""
    mine = ContactStatus.objects.create(organization=acme, name="working - contacted", position=8)
    contact = ContactFactory(organization=acme, status=mine)
    choices = status_services.statuses_mapping_suggestions(organization=acme, picklist=pending(acme))
    assert {c.status.name: c.suggested for c in choices}["working - contacted"] == "Working - Contacted"
    result = crm_services.crm_statuses_apply_mapping(
        organization=acme, mapping={c.status.pk: c.suggested for c in choices}, actor=owner
    )
    assert "Working - Contacted" not in result.moved
    contact.refresh_from_db()
    assert contact.status_id == mine.pk and contact.status.name == "Working - Contacted"


def test_a_mapping_missing_a_status_is_refused_and_changes_nothing(owner_client, acme, salesforce_connection):
    before = names(acme)
    post = mapping_post(acme, {})
    post.pop(f"status-{status(acme, 'Open').pk}")
    post[f"status-{status(acme, 'New').pk}"] = "Not a value"
    page = html(owner_client.post(MAPPING, post, follow=True))
    assert "Choose a Salesforce Lead Status for New, Open." in page
    assert names(acme) == before and pending(acme)


def test_nothing_to_apply_once_the_list_follows_the_picklist(acme, owner, salesforce_connection):
    assert crm_services.crm_statuses_follow_mapping(organization=acme, actor=owner)
    with pytest.raises(ValidationError, match="No Salesforce Lead Status mapping is waiting"):
        crm_services.crm_statuses_apply_mapping(
            organization=acme,
            mapping={s.pk: "Working - Contacted" for s in ContactStatus.objects.all()},
            actor=owner,
        )
    assert names(acme) == LEAD_STATUSES


def test_nothing_to_apply_without_salesforce(acme, owner):
    with pytest.raises(ValidationError, match="Salesforce is not connected"):
        crm_services.crm_statuses_apply_mapping(organization=acme, mapping={}, actor=owner)


def test_a_picklist_change_later_asks_again(owner_client, acme, owner, salesforce_connection):
    assert crm_services.crm_statuses_follow_mapping(organization=acme, actor=owner)
    assert BANNER not in html(owner_client.get(SETTINGS))
    # The Lead mapping now takes status from another picklist (Rating): a new set of values.
    rows = [
        r if r.engage_field != "status" else MappingRow("status", "Rating", "", "to_engage")
        for r in DEFAULT_MAPPINGS["Lead"]
    ]
    crm_services.mapping_save(organization=acme, sobject="Lead", rows=rows, actor=owner)
    assert [v for v, _l, _d in pending(acme)] == ["Hot", "Warm", "Cold"]
    assert names(acme) == LEAD_STATUSES  # still Lead Status until the admin applies the new mapping
    assert BANNER in html(owner_client.get(SETTINGS))


def test_a_changed_picklist_is_noticed_as_the_describe_reads_it(acme, owner):
    values = [("A", "Alpha", True), ("B", "Beta", False)]
    waiting = status_services.crm_picklist_waiting
    assert waiting(organization=acme, values=values) == values
    status_services.statuses_apply_crm_mapping(
        organization=acme,
        values=values,
        mapping={s.pk: "A" for s in ContactStatus.objects.for_org(acme)},
        actor=owner,
    )
    assert waiting(organization=acme, values=values) == []
    grown = [*values, ("C", "Gamma", False)]
    assert waiting(organization=acme, values=grown) == grown
    assert waiting(organization=acme, values=[]) == []  # the Lead mapping takes status from no picklist
    assert names(acme) == ["Alpha", "Beta"]


def test_a_list_that_mirrored_the_picklist_before_mappings_were_asked_for_is_not_asked_again(acme, owner):
    values = [("A", "Alpha", True), ("B", "Beta", False)]
    status_services.statuses_sync_from_crm(organization=acme, values=values, actor=owner)
    EngageSettings.objects.filter(organization=acme).update(crm_picklist_applied=[])  # as it was then
    assert status_services.crm_picklist_waiting(organization=acme, values=values) == []
    assert status_services.crm_picklist_waiting(organization=acme, values=values[:1]) == values[:1]


def test_the_mapping_page_costs_the_same_queries_however_many_statuses(
    owner_client, acme, salesforce_connection
):
    owner_client.get(MAPPING)  # warm: describe cached

    def measure(expected_rows: int) -> int:
        with CaptureQueriesContext(connection) as queries:
            page = html(owner_client.get(MAPPING))
        assert page.count('name="status-') == expected_rows
        return len(queries)

    few = measure(8)
    for i in range(6):
        extra = ContactStatus.objects.create(organization=acme, name=f"Extra {i}", position=10 + i)
        ContactFactory(organization=acme, status=extra)
    assert measure(14) == few


def test_a_bulk_change_to_a_status_that_is_no_lead_status_value_logs_each_lead_as_skipped(
    acme, owner, salesforce_connection, sandbox, django_capture_on_commit_callbacks
):
    from engage.models import CrmWriteLog
    from engage.services.contacts import contacts_bulk_update
    from tests.engage.crm import sf_helpers as sf

    leads = sf.open_leads(sandbox, 3)
    linked = [sf.linked_contact(acme, "Lead", lead) for lead in leads]
    ContactFactory(organization=acme)  # not linked: nothing to write, nothing to log
    with django_capture_on_commit_callbacks(execute=True):
        count = contacts_bulk_update(
            organization=acme,
            actor=owner,
            contacts=Contact.objects.filter(organization=acme),
            status=status(acme, "Qualified"),
        )
    assert count == 4
    logs = CrmWriteLog.objects.filter(organization=acme)
    assert sorted(logs.values_list("contact_id", flat=True)) == sorted(c.pk for c in linked)
    assert set(logs.values_list("result", "message")) == {
        ("skipped", "Status ‘Qualified’ is not a Salesforce Lead Status value: not written.")
    }
    assert [sf.record(sandbox, "Lead", lead["Id"])["Status"] for lead in leads] == [
        lead["Status"] for lead in leads
    ]


def test_the_contact_statuses_page_says_a_lead_status_mapping_is_waiting(
    owner_client, acme, salesforce_connection
):
    """Admin Portal › Contact Status is where an admin looks for the list: it links to the mapping."""
    page = html(owner_client.get(reverse("engage:statuses")))

    assert BANNER in page and MAPPING in page
