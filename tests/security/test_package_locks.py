"""Package flags (A1) lock whole areas, not only the connect buttons (issue 10, point 9): the
Engage workspace needs the Engage package, Companies and timelines the Copilot package, and a
locked page says which package it needs and why."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.copilot.intelligence.factories import CompanyFactory, PersonFactory
from tests.factories import ContactFactory

ENGAGE_PAGES = ["engage:home", "engage:contacts", "engage:contact_create", "engage:import_start",
                "engage:salesflows", "engage:compose", "engage:statuses", "engage:crm_settings"]  # fmt: skip
COPILOT_PAGES = ["copilot:companies", "copilot:intelligence_rules"]


@pytest.mark.parametrize("name", ENGAGE_PAGES)
def test_the_engage_workspace_needs_the_engage_package(client, owner, acme, name):
    acme.package_engage = False
    acme.save(update_fields=["package_engage"])
    client.force_login(owner)

    response = client.get(reverse(name))

    assert response.status_code == 403
    page = response.content.decode()
    assert "This needs the Sales engagement package" in page
    assert "Contacts, Salesflows, tracked email" in page  # what the package unlocks
    assert "Ask your Cadence account manager" in page


def test_an_engage_object_page_is_locked_too(client, owner, acme):
    contact = ContactFactory(organization=acme)
    acme.package_engage = False
    acme.save(update_fields=["package_engage"])
    client.force_login(owner)

    assert client.get(reverse("engage:contact_detail", args=[contact.pk])).status_code == 403
    # and a POST changes nothing
    client.post(reverse("engage:contact_delete", args=[contact.pk]))
    assert type(contact).objects.filter(pk=contact.pk).exists()


@pytest.mark.parametrize("name", COPILOT_PAGES)
def test_companies_and_timelines_need_the_copilot_package(client, owner, acme, name):
    acme.package_copilot = False
    acme.save(update_fields=["package_copilot"])
    client.force_login(owner)

    response = client.get(reverse(name))

    assert response.status_code == 403
    assert "This needs the Revenue intelligence package" in response.content.decode()


def test_company_and_person_pages_need_the_copilot_package(client, owner, acme):
    company, person = CompanyFactory(organization=acme), PersonFactory(organization=acme)
    acme.package_copilot = False
    acme.save(update_fields=["package_copilot"])
    client.force_login(owner)

    assert client.get(reverse("copilot:company_detail", args=[company.pk])).status_code == 403
    assert client.get(reverse("copilot:person", args=[person.pk])).status_code == 403
    # Engage still works for an organisation that has it, with the locked area marked in the menu.
    page = client.get(reverse("engage:contacts")).content.decode()
    assert 'title="Needs the Revenue intelligence package"' in page


def test_an_organisation_with_both_packages_sees_no_lock(client, owner):
    client.force_login(owner)

    for name in ENGAGE_PAGES + COPILOT_PAGES:
        assert client.get(reverse(name)).status_code == 200, name


def test_a_contact_page_without_the_copilot_package_says_why_it_has_no_timeline(client, owner, acme):
    contact = ContactFactory(organization=acme, email="bea@bigcustomer.example")
    acme.package_copilot = False
    acme.save(update_fields=["package_copilot"])
    client.force_login(owner)

    page = client.get(reverse("engage:contact_detail", args=[contact.pk])).content.decode()

    assert "appear here with the Revenue intelligence package" in page
    assert reverse("copilot:timeline") not in page  # no link into the locked area
