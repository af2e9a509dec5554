"""Engage in the support admin (A7): support staff browse, search and filter customers' contacts
and their surroundings, but change nothing and never download their files."""

from __future__ import annotations

import pytest
from django.urls import reverse

from engage.models import ContactStatus, FieldMapping, SellerProfile, SyncRule
from engage.services.crm.configuration import crm_settings_for
from engage.services.statuses import engage_settings_for
from tests.factories import (
    AccountFactory,
    ContactFactory,
    ContactImportFactory,
    UserFactory,
    VoicemailFactory,
)
from tests.support_login_helpers import sign_in_to_support, support_user

MODELS = [
    "contact",
    "account",
    "contactstatus",
    "engagesettings",
    "contactimport",
    "sellerprofile",
    "voicemail",
    "crmsettings",
    "fieldmapping",
    "syncrule",
]


@pytest.fixture
def support_client(client, db):

    sign_in_to_support(client, support_user())
    return client


@pytest.fixture
def data(acme, globex, owner):
    """A few of everything, in two organisations."""
    objects = {}
    for org in (acme, globex):
        account = AccountFactory(organization=org, name=f"{org.name} Customer")
        seller = UserFactory(organization=org)
        for n in range(3):
            ContactFactory(
                organization=org, owner=seller, account=account, email=f"p{n}@{org.name.lower()}.example"
            )
        objects[org.name] = {
            "contact": ContactFactory(
                organization=org, owner=seller, email=f"vip@{org.name.lower()}.example"
            ),
            "account": account,
            "contactstatus": ContactStatus.objects.filter(organization=org).first(),
            "engagesettings": engage_settings_for(org),
            "contactimport": ContactImportFactory(
                organization=org, created_by=seller, original_name="leads.csv"
            ),
            "sellerprofile": SellerProfile.objects.create(
                organization=org, user=seller, verified_phone="+14155550100"
            ),
            "voicemail": VoicemailFactory(organization=org, owner=seller, title="Out of office"),
            "crmsettings": crm_settings_for(org),
            "fieldmapping": FieldMapping.objects.create(
                organization=org, sobject="Lead", engage_field="email", crm_field="Email"
            ),
            "syncrule": SyncRule.objects.create(
                organization=org,
                sobject="Lead",
                conditions=[{"field": "Title", "operator": "contains", "value": "Sales"}],
            ),
        }
    return objects


@pytest.mark.parametrize("model", MODELS)
def test_every_changelist_and_change_page_opens(support_client, data, model):
    changelist = reverse(f"admin:engage_{model}_changelist")
    assert support_client.get(changelist).status_code == 200
    assert support_client.get(changelist, {"q": "acme"}).status_code == 200
    obj = data["Acme"][model]
    page = support_client.get(reverse(f"admin:engage_{model}_change", args=[obj.pk]))
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()  # viewable, never editable


@pytest.mark.parametrize("model", MODELS)
def test_nothing_can_be_added_or_deleted(support_client, data, model):
    obj = data["Acme"][model]
    assert support_client.get(reverse(f"admin:engage_{model}_add")).status_code == 403
    assert (
        support_client.post(
            reverse(f"admin:engage_{model}_delete", args=[obj.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert type(obj).objects.filter(pk=obj.pk).exists()


def test_a_contact_cannot_be_changed(support_client, data):
    contact = data["Acme"]["contact"]
    support_client.post(
        reverse("admin:engage_contact_change", args=[contact.pk]), {"email": "hacked@evil.example"}
    )
    contact.refresh_from_db()
    assert contact.email == "vip@acme.example"


def test_contacts_are_found_by_email_and_filtered_by_organisation(support_client, data, acme):
    url = reverse("admin:engage_contact_changelist")
    page = support_client.get(url, {"q": "vip@acme"}).content.decode()
    assert "vip@acme.example" in page and "vip@globex.example" not in page
    page = support_client.get(url, {"organization__id__exact": acme.pk}).content.decode()
    assert "p0@acme.example" in page and "p0@globex.example" not in page
    assert (
        support_client.get(url, {"email_opt_out__exact": "1", "source__exact": "import"}).status_code == 200
    )


def test_the_contact_list_does_not_query_per_row(support_client, data, acme, django_assert_max_num_queries):
    url = reverse("admin:engage_contact_changelist")
    support_client.get(url)
    with django_assert_max_num_queries(20) as few:
        support_client.get(url)
    seller = UserFactory(organization=acme)
    ContactFactory.create_batch(30, organization=acme, owner=seller)
    with django_assert_max_num_queries(len(few.captured_queries)):
        support_client.get(url)


def test_customer_files_are_not_offered(support_client, data):
    contact_import = data["Acme"]["contactimport"]
    page = support_client.get(reverse("admin:engage_contactimport_change", args=[contact_import.pk]))
    html = page.content.decode()
    assert "leads.csv" in html
    assert (
        contact_import.file.name not in html
        and 'name="file"' not in html
        and "report" not in html.lower().split("<h1")[1]
    )
    voicemail = data["Acme"]["voicemail"]
    html = support_client.get(reverse("admin:engage_voicemail_change", args=[voicemail.pk])).content.decode()
    assert "Out of office" in html and voicemail.audio.name not in html


def test_the_verified_phone_is_shown(support_client, data):
    profile = data["Acme"]["sellerprofile"]
    html = support_client.get(reverse("admin:engage_sellerprofile_changelist")).content.decode()
    assert profile.verified_phone in html


def test_customers_cannot_open_engage_in_the_support_admin(client, owner):
    client.force_login(owner)
    response = client.get(reverse("admin:engage_contact_changelist"))
    assert response.status_code == 302 and "/support/login/" in response.url
