"""Phone numbers on the contact pages (issue 12): the form keeps them in E.164 and refuses what
is not a number with a message, keeping what was typed; pages link only valid numbers."""

from __future__ import annotations

import pytest
from django.urls import reverse

from engage.models import Contact, ContactStatus
from tests.factories import AccountFactory, ContactFactory


@pytest.fixture
def seller_client(client, teammate):
    client.force_login(teammate)
    return client


def _new(acme, **fields):
    return {
        "email": "lin@prospect.example",
        "status": ContactStatus.objects.for_org(acme).get(name="New").pk,
    } | fields


def test_a_phone_that_is_not_a_number_is_refused_with_a_message_and_the_input_kept(seller_client, acme):
    response = seller_client.post(
        reverse("engage:contact_create"),
        _new(acme, first_name="Lin", business_phone="12ab", mobile_phone="+44 20 7946 0958"),
    )

    assert response.status_code == 200
    assert "“12ab” is not a phone number: write it in the international form, e.g. +1 415 555 0100." in (
        response.text
    )
    assert 'value="Lin"' in response.text and 'value="12ab"' in response.text
    assert 'value="+44 20 7946 0958"' in response.text
    assert not Contact.objects.exists()


def test_a_national_number_needs_the_contacts_country_or_the_international_form(seller_client, acme):
    response = seller_client.post(reverse("engage:contact_create"), _new(acme, direct_phone="030 1234567"))
    assert "“030 1234567” has no country code: write it in the international form" in response.text
    assert not Contact.objects.exists()

    seller_client.post(
        reverse("engage:contact_create"),
        _new(acme, direct_phone="030 1234567", mobile_phone=" +1 (415) 555-0100 ", country="Germany"),
    )
    contact = Contact.objects.for_org(acme).get()
    assert (contact.direct_phone, contact.mobile_phone) == ("+49301234567", "+14155550100")


def test_only_valid_numbers_are_tel_links_and_they_are_shown_formatted(seller_client, acme):
    account = AccountFactory(organization=acme, name="Initech", phone="12ab")
    contact = ContactFactory(
        organization=acme, account=account, business_phone="+14155550100", mobile_phone="12ab"
    )

    text = seller_client.get(reverse("engage:contact_detail", args=[contact.pk])).text
    assert '<a href="tel:+1-415-555-0100">+1 415-555-0100</a>' in text
    assert "12ab" in text and "tel:12ab" not in text
    assert text.count('href="tel:') == 1

    text = seller_client.get(reverse("engage:account_detail", args=[account.pk])).text
    assert "12ab" in text and 'href="tel:' not in text


def test_the_edit_form_shows_a_stored_number_formatted_and_saves_it_back_in_e164(seller_client, acme):
    contact = ContactFactory(organization=acme, email="kim@prospect.example", mobile_phone="+442079460958")
    url = reverse("engage:contact_edit", args=[contact.pk])

    assert 'value="+44 20 7946 0958"' in seller_client.get(url).text

    seller_client.post(
        url,
        {
            "email": contact.email,
            "mobile_phone": "+44 20 7946 0958",
            "title": "CFO",
            "status": contact.status_id,
        },
    )
    contact.refresh_from_db()
    assert (contact.title, contact.mobile_phone) == ("CFO", "+442079460958")
