"""Phones from address books (issue 12): kept in E.164, a national number read where the book's
owner is, and a value that is not a number left out (and counted), never shown as a link."""

from __future__ import annotations

import logging

from django.urls import reverse

from copilot.models import Person
from integrations.sync.registry import deliver
from tests.copilot.intelligence.record_helpers import contact, context

MEI = "mei.nguyen@kestrelrobotics.example"


def test_numbers_are_normalised_and_what_is_not_a_number_is_left_out_and_counted(acme, owner, caplog):
    owner.time_zone = "Europe/London"
    owner.save(update_fields=["time_zone"])
    record = contact(
        "people/c1", MEI, phones=("020 7946 0958", "12ab", "+1 (415) 555-0142", "+1 415 555 0142")
    )

    with caplog.at_level(logging.INFO, logger="copilot.intelligence.ingestion.address_books"):
        deliver(context(owner, kind="contacts"), [record])

    assert Person.objects.get().phones == ["+442079460958", "+14155550142"]
    (logged,) = [r for r in caplog.records if r.getMessage() == "intelligence.contacts_ingested"]
    assert logged.phones_dropped == 1


def test_a_national_number_is_left_out_when_nothing_says_where_the_owner_is(acme, owner):
    owner.time_zone = "UTC"
    owner.phone = ""
    owner.save(update_fields=["time_zone", "phone"])

    deliver(context(owner, kind="contacts"), [contact("people/c1", MEI, phones=("415 555 0142",))])

    assert Person.objects.get().phones == []


def test_the_person_page_links_only_valid_numbers(client, acme, owner):
    deliver(context(owner, kind="contacts"), [contact("people/c1", MEI, phones=("+44 20 7946 0958",))])
    person = Person.objects.get()
    person.phones = [*person.phones, "12ab"]  # a value kept from before numbers were checked
    person.save(update_fields=["phones"])
    client.force_login(owner)

    text = client.get(reverse("copilot:person", args=[person.pk])).text

    assert '<a href="tel:+44-20-7946-0958">+44 20 7946 0958</a>' in text
    assert "12ab" in text and "tel:12ab" not in text
