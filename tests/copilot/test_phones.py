"""copilot/phones.py: how Cadence reads, keeps and shows phone numbers (issue 12)."""

from __future__ import annotations

import pytest

from copilot import phones


@pytest.mark.parametrize(
    ("raw", "region", "kept"),
    [
        (" +1 (415) 555-0100 ", None, "+14155550100"),
        ("+44 20 7946 0958", "US", "+442079460958"),  # a country code wins over the region
        ("020 7946 0958", "GB", "+442079460958"),
        ("415.555.0100 x12", "US", "+14155550100 ext. 12"),
        ("", None, ""),
    ],
)
def test_numbers_are_kept_in_e164(raw, region, kept):
    assert phones.normalise(raw, region=region) == kept


@pytest.mark.parametrize(
    ("raw", "region", "message"),
    [
        (
            "12ab",
            "US",
            "“12ab” is not a phone number: write it in the international form, e.g. +1 415 555 0100.",
        ),
        ("415 555 0100", None, "“415 555 0100” has no country code: write it in the international form"),
        (
            "+1 555 0100",
            None,
            "“+1 555 0100” is not a valid phone number: check the digits and the country code",
        ),
    ],
)
def test_what_is_not_a_number_is_refused_with_a_message(raw, region, message):
    with pytest.raises(phones.PhoneError) as refused:
        phones.normalise(raw, region=region)
    assert refused.value.message.startswith(message)
    assert phones.normalise_or_none(raw, region=region) is None


def test_regions_come_from_countries_phones_and_time_zones():
    assert [phones.region_for(c) for c in ("DE", "Germany", "united kingdom", "USA", "Atlantis", "")] == [
        "DE",
        "DE",
        "GB",
        "US",
        None,
        None,
    ]
    assert phones.region_for("", None, "France") == "FR"  # the first that names a country
    assert phones.person_region(country="", phone="+44 20 7946 0958", time_zone="Europe/Berlin") == "GB"
    assert phones.person_region(time_zone="Europe/Berlin") == "DE"
    assert phones.person_region(time_zone="UTC") is None


def test_only_valid_numbers_are_links_and_they_are_shown_in_the_international_format():
    assert phones.display("+14155550100") == "+1 415-555-0100"
    assert phones.tel_href("+14155550100 ext. 12") == "tel:+1-415-555-0100;ext=12"
    for kept_before_checking in ("12ab", "(415) 555-0100", "+1 555 0100"):
        assert phones.tel_href(kept_before_checking) == ""
        assert phones.display(kept_before_checking) == kept_before_checking


def test_a_stored_number_is_found_in_the_forms_other_systems_write_it_in():
    assert phones.written_forms("+14155550100") == ["+14155550100", "+1 415-555-0100", "(415) 555-0100"]
    assert phones.written_forms("12ab") == ["12ab"]
    assert phones.written_forms("") == []
