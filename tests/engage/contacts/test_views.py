"""The contacts pages as a seller uses them: the list with filters and bulk changes, New Contact
(offering the existing contact for a known email), the contact and account pages."""

from __future__ import annotations

import pytest
from django.urls import reverse

from copilot.models import AuditEvent
from engage.models import Account, Contact, ContactStatus
from tests.factories import AccountFactory, ContactFactory, UserFactory


@pytest.fixture
def seller_client(client, teammate):
    client.force_login(teammate)
    return client


def _status(org, name):
    return ContactStatus.objects.for_org(org).get(name=name)


# --- List ---------------------------------------------------------------------------------------
def test_an_empty_organisation_sees_how_to_add_contacts(seller_client):
    response = seller_client.get(reverse("engage:contacts"))
    assert response.status_code == 200
    assert "No contacts yet" in response.text
    assert (
        reverse("engage:import_start") in response.text and reverse("engage:contact_create") in response.text
    )


def test_the_list_filters_by_status_owner_and_opt_out(seller_client, acme, teammate, owner):
    qualified = _status(acme, "Qualified")
    ContactFactory(organization=acme, first_name="Quinn", last_name="Q", status=qualified, owner=teammate)
    ContactFactory(organization=acme, first_name="Nora", last_name="N", owner=owner, email_opt_out=True)
    url = reverse("engage:contacts")

    text = seller_client.get(url, {"status": qualified.pk}).text
    assert "Quinn" in text and "Nora" not in text
    text = seller_client.get(url, {"owner": "me"}).text
    assert "Quinn" in text and "Nora" not in text
    text = seller_client.get(url, {"opted_out": "yes"}).text
    assert "Nora" in text and "Quinn" not in text and "Opted out" in text
    text = seller_client.get(url, {"status": qualified.pk, "owner": owner.pk}).text
    assert "No contacts match" in text


def test_bad_filter_values_are_ignored_not_errors(seller_client, acme):
    ContactFactory(organization=acme, first_name="Ivy")
    response = seller_client.get(
        reverse("engage:contacts"), {"status": "x", "owner": "12abc", "sort": "drop table", "after": "%%%"}
    )
    assert response.status_code == 200 and "Ivy" in response.text


def test_the_list_costs_the_same_queries_for_50_or_500_contacts(
    seller_client, acme, teammate, django_assert_max_num_queries
):
    accounts = AccountFactory.create_batch(5, organization=acme)
    for i in range(60):
        ContactFactory(organization=acme, owner=teammate, account=accounts[i % 5])
    with django_assert_max_num_queries(12) as small:
        seller_client.get(reverse("engage:contacts"), {"owner": "me"})
    for i in range(200):
        ContactFactory(organization=acme, owner=teammate, account=accounts[i % 5])
    with django_assert_max_num_queries(12) as large:
        seller_client.get(reverse("engage:contacts"), {"owner": "me"})
    assert len(small.captured_queries) == len(large.captured_queries)


def test_htmx_filtering_returns_only_the_results(seller_client, acme):
    ContactFactory(organization=acme, first_name="Hana")
    response = seller_client.get(
        reverse("engage:contacts"), {"q": "hana"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="results"
    )
    assert "Hana" in response.text and "<html" not in response.text


# --- Bulk ---------------------------------------------------------------------------------------
def test_bulk_status_change_of_selected_contacts(seller_client, acme):
    a, b, c = ContactFactory.create_batch(3, organization=acme)
    before = c.updated_at
    qualified = _status(acme, "Qualified")
    response = seller_client.post(
        reverse("engage:contact_bulk"),
        {"action": "status", "new_status": qualified.pk, "scope": "selected", "ids": [a.pk, b.pk]},
        follow=True,
    )
    assert "Changed the status of 2 contacts to Qualified." in response.text
    assert set(Contact.objects.filter(status=qualified).values_list("pk", flat=True)) == {a.pk, b.pk}
    c.refresh_from_db()
    assert c.updated_at == before
    assert AuditEvent.objects.filter(action="contacts.bulk_updated", organization=acme).exists()


def test_bulk_owner_change_of_all_matching_contacts(seller_client, acme, owner, teammate):
    open_ = _status(acme, "Open")
    targets = ContactFactory.create_batch(3, organization=acme, status=open_)
    other = ContactFactory(organization=acme)
    response = seller_client.post(
        reverse("engage:contact_bulk"),
        {"action": "owner", "new_owner": owner.pk, "scope": "all", "status": open_.pk},
        follow=True,
    )
    assert f"Gave 3 contacts to {owner.get_full_name()}." in response.text
    assert all(Contact.objects.get(pk=c.pk).owner_id == owner.pk for c in targets)
    assert Contact.objects.get(pk=other.pk).owner_id is None
    # Back on the list with the same filter.
    assert response.redirect_chain[-1][0].endswith(f"?status={open_.pk}")


def test_bulk_change_never_touches_another_organisation(seller_client, acme, globex):
    theirs = ContactFactory(organization=globex)
    mine = ContactFactory(organization=acme)
    qualified = _status(acme, "Qualified")
    seller_client.post(
        reverse("engage:contact_bulk"),
        {"action": "status", "new_status": qualified.pk, "scope": "selected", "ids": [theirs.pk, mine.pk]},
    )
    theirs.refresh_from_db()
    assert theirs.status.organization_id == globex.pk
    assert Contact.objects.get(pk=mine.pk).status == qualified


def test_bulk_refuses_other_organisations_status_or_owner(seller_client, acme, globex, outsider):
    mine = ContactFactory(organization=acme)
    their_status = ContactStatus.objects.for_org(globex).first()
    response = seller_client.post(
        reverse("engage:contact_bulk"),
        {"action": "status", "new_status": their_status.pk, "scope": "selected", "ids": [mine.pk]},
        follow=True,
    )
    assert "Choose the new status." in response.text or "valid choice" in response.text
    response = seller_client.post(
        reverse("engage:contact_bulk"),
        {"action": "owner", "new_owner": outsider.pk, "scope": "selected", "ids": [mine.pk]},
        follow=True,
    )
    assert "Choose a member of your organisation." in response.text
    mine.refresh_from_db()
    assert mine.owner_id is None and mine.status.organization_id == acme.pk


def test_bulk_with_nothing_selected_says_so(seller_client, acme):
    qualified = _status(acme, "Qualified")
    response = seller_client.post(
        reverse("engage:contact_bulk"),
        {"action": "status", "new_status": qualified.pk, "scope": "selected"},
        follow=True,
    )
    assert "Select at least one contact first." in response.text


# --- New contact --------------------------------------------------------------------------------
def test_new_contact_is_created_with_an_account_and_default_status(seller_client, acme, teammate):
    response = seller_client.post(
        reverse("engage:contact_create"),
        {
            "first_name": " Grace ",
            "last_name": "Hopper",
            "email": "Grace@Navy.example",
            "company": "US Navy",
            "title": "Rear Admiral",
            "status": _status(acme, "New").pk,
            "owner": teammate.pk,
        },
        follow=True,
    )
    contact = Contact.objects.get(email="grace@navy.example")
    assert response.redirect_chain[-1][0] == reverse("engage:contact_detail", args=[contact.pk])
    assert "Added Grace Hopper." in response.text
    assert contact.first_name == "Grace" and contact.owner == teammate and contact.source == "manual"
    assert contact.account.name == "US Navy" and contact.status.name == "New"
    # A second contact at the same company (any case) joins the same account.
    seller_client.post(
        reverse("engage:contact_create"),
        {"email": "ada@navy.example", "company": "us navy", "status": _status(acme, "New").pk},
    )
    assert Account.objects.for_org(acme).count() == 1


def test_a_known_email_offers_the_existing_contact_instead(seller_client, acme):
    existing = ContactFactory(organization=acme, email="known@prospect.example", first_name="Kim")
    data = {"first_name": "Kimberly", "email": "KNOWN@prospect.example", "status": _status(acme, "New").pk}
    response = seller_client.post(reverse("engage:contact_create"), data)
    assert response.status_code == 200
    assert "already has the email address" in response.text
    assert reverse("engage:contact_detail", args=[existing.pk]) in response.text
    assert 'value="Kimberly"' in response.text  # what was typed is kept
    assert Contact.objects.for_org(acme).count() == 1


def test_the_email_check_finds_the_existing_contact_as_you_type(seller_client, acme, globex):
    ContactFactory(organization=acme, email="here@prospect.example", first_name="Hal")
    ContactFactory(organization=globex, email="there@prospect.example")
    url = reverse("engage:contact_email_check")
    assert "Hal" in seller_client.get(url, {"email": " HERE@prospect.example "}).text
    assert seller_client.get(url, {"email": "there@prospect.example"}).text.strip() == ""


def test_new_contact_validation_keeps_the_input(seller_client, acme):
    response = seller_client.post(
        reverse("engage:contact_create"),
        {"first_name": "Lin", "email": "not-an-email", "status": _status(acme, "New").pk},
    )
    assert response.status_code == 200
    assert "Enter a valid email address." in response.text and 'value="Lin"' in response.text
    response = seller_client.post(reverse("engage:contact_create"), {"first_name": "Lin", "title": "x" * 201})
    assert "This field is required." in response.text
    assert "Ensure this value has at most 200 characters" in response.text
    assert not Contact.objects.exists()


def test_new_contact_cannot_use_another_organisations_owner(seller_client, acme, outsider):
    response = seller_client.post(
        reverse("engage:contact_create"),
        {"email": "x@prospect.example", "owner": outsider.pk, "status": _status(acme, "New").pk},
    )
    assert "Select a valid choice" in response.text
    assert not Contact.objects.exists()


# --- Contact page -------------------------------------------------------------------------------
def test_the_contact_page_shows_fields_status_owner_and_timeline(seller_client, acme, owner):
    account = AccountFactory(organization=acme, name="Initech")
    contact = ContactFactory(
        organization=acme,
        first_name="Peter",
        last_name="Gibbons",
        title="Engineer",
        account=account,
        owner=owner,
        direct_phone="+1 555 0100",
        city="Austin",
        crm_type="Lead",
        crm_id="00Q000000000001AAA",
    )
    text = seller_client.get(reverse("engage:contact_detail", args=[contact.pk])).text
    for expected in [
        "Peter Gibbons",
        "Engineer",
        "Initech",
        "+1 555 0100",
        "Austin",
        "Lead 00Q000000000001AAA",
    ]:
        assert expected in text
    assert 'id="timeline"' in text and owner.get_full_name() in text


def test_changing_a_contacts_status_and_owner(seller_client, acme, teammate):
    contact = ContactFactory(organization=acme)
    closed = _status(acme, "Closed")
    seller_client.post(reverse("engage:contact_status", args=[contact.pk]), {"status": closed.pk})
    seller_client.post(reverse("engage:contact_owner", args=[contact.pk]), {"owner": teammate.pk})
    contact.refresh_from_db()
    assert contact.status == closed and contact.owner == teammate
    seller_client.post(reverse("engage:contact_owner", args=[contact.pk]), {"owner": "none"})
    contact.refresh_from_db()
    assert contact.owner is None


def test_editing_a_contact_to_a_taken_email_is_refused(seller_client, acme):
    ContactFactory(organization=acme, email="taken@prospect.example")
    contact = ContactFactory(organization=acme, email="mine@prospect.example")
    response = seller_client.post(
        reverse("engage:contact_edit", args=[contact.pk]),
        {"email": "taken@prospect.example", "first_name": "M"},
    )
    assert "already has the email address" in response.text
    contact.refresh_from_db()
    assert contact.email == "mine@prospect.example"


def test_editing_a_contact_saves_and_moves_the_account(seller_client, acme):
    contact = ContactFactory(organization=acme, company="Old Co")
    response = seller_client.post(
        reverse("engage:contact_edit", args=[contact.pk]),
        {"email": contact.email, "first_name": "New", "company": "Hooli", "email_opt_out": "on"},
    )
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.first_name == "New" and contact.account.name == "Hooli" and contact.email_opt_out


def test_deleting_a_contact_asks_first(seller_client, acme):
    contact = ContactFactory(organization=acme)
    url = reverse("engage:contact_delete", args=[contact.pk])
    assert "cannot be undone" in seller_client.get(url).text
    assert Contact.objects.filter(pk=contact.pk).exists()
    seller_client.post(url)
    assert not Contact.objects.filter(pk=contact.pk).exists()


# --- Accounts -----------------------------------------------------------------------------------
def test_the_account_page_lists_its_contacts(seller_client, acme, django_assert_max_num_queries):
    account = AccountFactory(organization=acme, name="Globo Gym", domain="globogym.example")
    for name in ["White", "Cotton", "LaFleur"]:
        owner = UserFactory(organization=acme, first_name="Olga", last_name=f"Owner{name}")
        ContactFactory(organization=acme, account=account, first_name="Pat", last_name=name, owner=owner)
    ContactFactory(organization=acme, last_name="Elsewhere")
    with django_assert_max_num_queries(11):  # 11 since the navigation counts the seller's actions
        text = seller_client.get(reverse("engage:account_detail", args=[account.pk])).text
    assert "Globo Gym" in text and "Contacts (3)" in text
    assert text.index("Pat Cotton") < text.index("Pat LaFleur") < text.index("Pat White")
    assert "Elsewhere" not in text


def test_the_accounts_list_searches_and_counts_contacts(seller_client, acme):
    account = AccountFactory(organization=acme, name="Vandelay Industries")
    AccountFactory(organization=acme, name="Kramerica")
    ContactFactory.create_batch(2, organization=acme, account=account)
    text = seller_client.get(reverse("engage:accounts"), {"q": "vandelay"}).text
    assert "Vandelay Industries" in text and "Kramerica" not in text and "<td>2</td>" in text
