"""Phone numbers coming in from Salesforce (issue 12). A CRM value cannot be refused, so a number
is kept in E.164 (read in the record's country, else the owner's) and a value that is not a
number leaves the field empty and is counted: it is never shown as a "tel:" link."""

from __future__ import annotations

import logging

import pytest
from django.urls import reverse

from engage.services.crm.sync_handler import EngageCrmHandler
from engage.services.profile import seller_profile_for
from tests.engage.crm.test_sync_handler import contact_of, crm_statuses, lead  # noqa: F401

handler = EngageCrmHandler()


@pytest.mark.usefixtures("crm_statuses")
def test_crm_phones_are_kept_in_e164_and_a_value_that_is_not_a_number_is_dropped_and_counted(
    acme,
    caplog,
):
    good = lead(1, Phone="(020) 7946 0958", Country="United Kingdom", MobilePhone="+1 415-555-0100")
    bad = lead(2, Phone="12ab", MobilePhone="ask reception")

    with caplog.at_level(logging.INFO, logger="engage.services.crm.sync_batch"):
        result = handler.apply(acme, "Lead", [good, bad])

    assert (result.created, result.errors) == (2, [])  # the record itself is never refused
    assert (contact_of(good).business_phone, contact_of(good).mobile_phone) == (
        "+442079460958",
        "+14155550100",
    )
    assert (contact_of(bad).business_phone, contact_of(bad).mobile_phone) == ("", "")
    (logged,) = [r for r in caplog.records if r.getMessage() == "engage.crm.phones_dropped"]
    assert logged.count == 2


@pytest.mark.usefixtures("crm_statuses")
def test_a_national_number_is_read_in_the_owners_country_when_the_record_has_none(
    acme,
    teammate,
    client,
):
    profile = seller_profile_for(teammate)
    profile.country = "Germany"
    profile.save()
    owned = lead(3, Phone="030 1234567", Owner={"Email": teammate.email})
    nobodys = lead(4, Phone="030 1234567")

    handler.apply(acme, "Lead", [owned, nobodys])

    assert contact_of(owned).business_phone == "+49301234567"
    assert contact_of(nobodys).business_phone == ""  # no country to read it in: not guessed

    client.force_login(teammate)
    text = client.get(reverse("engage:contact_detail", args=[contact_of(owned).pk])).text
    assert '<a href="tel:+49-30-1234567">+49 30 1234567</a>' in text


@pytest.mark.usefixtures("crm_statuses")
def test_without_a_profile_country_the_owners_time_zone_says_where_they_are(acme, teammate):
    teammate.time_zone = "America/New_York"
    teammate.save(update_fields=["time_zone"])
    owned = lead(5, Phone="(212) 555-0100", Owner={"Email": teammate.email})

    handler.apply(acme, "Lead", [owned])

    assert contact_of(owned).business_phone == "+12125550100"
