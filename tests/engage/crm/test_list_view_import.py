"""F1 from a Salesforce list view, end to end against the sandbox: a seller picks Leads or
Contacts and a list view, sees its first rows, imports its people — linked, mapped, never
duplicated."""

from __future__ import annotations

import pytest
from django.urls import reverse

from engage.models import Contact
from engage.services.crm import list_views
from integrations.sandbox.salesforce import control as sfc
from tests.engage.crm import sf_helpers as sf
from tests.factories import ContactFactory

URL = "engage:import_list_view"


@pytest.fixture
def seller(client, teammate):
    client.force_login(teammate)
    return client


def view_id(acme, sobject: str, label: str) -> str:
    return next(v.id for v in list_views.list_views(acme, sobject) if v.label == label)


def my_contacts(sandbox) -> list[dict]:
    """The sandbox's "My Contacts" view: Contacts the connected admin owns."""
    admin = sfc.user_id(sandbox.state, "admin@sandbox-corp.example")
    return [r for r in sf.records(sandbox, "Contact") if r.get("OwnerId") == admin]


def test_the_page_lists_the_objects_list_views(seller, acme, salesforce_connection):
    page = seller.get(reverse(URL), {"sobject": "Contact"}).text
    assert "All Contacts" in page and "My Contacts" in page and "All Open Leads" not in page
    page = seller.get(reverse(URL)).text
    assert "All Open Leads" in page and "My Leads" in page


def test_choosing_a_view_previews_its_first_rows(seller, acme, salesforce_connection, sandbox):
    chosen = view_id(acme, "Contact", "My Contacts")
    people = my_contacts(sandbox)
    page = seller.get(reverse(URL), {"sobject": "Contact", "view": chosen}).text
    assert f"My Contacts: {len(people)} people" in page
    assert '<th scope="col">Account Name</th>' in page and '<th scope="col">Email</th>' in page
    assert page.count("<tr>") == 1 + list_views.PREVIEW_ROWS
    assert f"Import {len(people)} people" in page


def test_importing_a_view_creates_linked_mapped_contacts_once(
    seller, acme, teammate, salesforce_connection, sandbox
):
    chosen = view_id(acme, "Contact", "My Contacts")
    people = my_contacts(sandbox)
    known = people[0]
    existing = ContactFactory(organization=acme, email=known["Email"].lower(), title="Typed by hand")

    response = seller.post(reverse(URL), {"sobject": "Contact", "view": chosen}, follow=True)

    assert response.status_code == 200
    assert (
        f"Imported {len(people)} people from Salesforce: {len(people) - 1} new contacts, 1 updated"
        in response.text
    )
    linked = Contact.objects.for_org(acme).filter(crm_type="Contact")
    assert linked.count() == len(people)
    existing.refresh_from_db()
    assert (existing.crm_id, existing.title) == (
        known["Id"],
        known["Title"],
    )  # linked by email, not duplicated
    one = linked.exclude(pk=existing.pk).first()
    record = next(p for p in people if p["Id"] == one.crm_id)
    assert (one.email, one.last_name, one.source) == (record["Email"].lower(), record["LastName"], "crm")
    assert one.account is not None and one.owner == teammate

    again = seller.post(reverse(URL), {"sobject": "Contact", "view": chosen}, follow=True)
    assert "0 new contacts" in again.text
    assert Contact.objects.for_org(acme).filter(crm_type="Contact").count() == len(people)


def test_a_large_view_imports_its_first_2000_people(acme, teammate, salesforce_connection, sandbox):
    chosen = view_id(acme, "Lead", "All Open Leads")
    result = list_views.import_view(acme, "Lead", chosen, actor=teammate)
    assert result.capped and result.total == list_views.IMPORT_CAP
    assert Contact.objects.for_org(acme).filter(crm_type="Lead").count() == list_views.IMPORT_CAP


def test_an_unknown_view_is_refused(seller, acme, salesforce_connection):
    page = seller.get(reverse(URL), {"sobject": "Lead", "view": "00B000000000999AAA"}).text
    assert "Choose one of the list views." in page


def test_a_view_id_that_is_not_a_salesforce_id_never_reaches_salesforce(
    seller, acme, salesforce_connection, sandbox
):
    sandbox.control.clear_requests()
    response = seller.post(reverse(URL), {"sobject": "Lead", "view": "../../query?q=SELECT"}, follow=True)
    assert "Choose one of the list views." in response.text
    assert not [
        r for r in sandbox.control.requests("listviews/") if "results" in r["path"] or ".." in r["path"]
    ]


def test_salesforce_down_says_so(seller, acme, salesforce_connection, sandbox):
    sandbox.control.inject_fault("/services/data/v59.0/sobjects/Lead/listviews", status=503)
    page = seller.get(reverse(URL)).text
    assert "could not be reached" in page


def test_without_salesforce_the_page_says_connect_first(seller, acme):
    page = seller.get(reverse(URL)).text
    assert "Salesforce is not connected." in page


def test_the_csv_import_page_offers_it_when_connected(seller, acme, salesforce_connection):
    assert reverse(URL) in seller.get(reverse("engage:import_start")).text


def test_the_csv_import_page_does_not_offer_it_without_salesforce(seller, acme):
    assert reverse(URL) not in seller.get(reverse("engage:import_start")).text
