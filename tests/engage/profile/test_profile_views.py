"""Profile page (A8): each section saves on its own, errors keep what was typed, the send-window
preview follows the saved business hours, and holidays can be removed and excluded again."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse
from django.utils import timezone

from copilot.models import User
from engage.models import SellerProfile
from engage.services.profile import seller_profile_for

PROFILE = reverse("engage:profile")
HX = {"HTTP_HX_REQUEST": "true"}


def schedule_post(**overrides) -> dict[str, str]:
    """A valid schedule form: New York, weekdays 09:00-17:00, US holidays."""
    data = {"time_zone": "America/New_York", "culture": "en-US", "language": "en", "holiday_country": "US"}
    for day in range(7):
        data[f"day_{day}_start"], data[f"day_{day}_end"] = "09:00", "17:00"
        if day < 5:
            data[f"day_{day}_on"] = "on"
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


ONLY_WEDNESDAY_13_TO_14 = {
    **{f"day_{d}_on": None for d in range(7)},
    "day_2_on": "on",
    "day_2_start": "13:00",
    "day_2_end": "14:00",
}


def preview_text(client) -> str:
    page = client.get(PROFILE).content.decode()
    start = page.index('id="send-window"')
    return page[start : page.index("</div>", start)]


def test_the_page_needs_a_signed_in_member(client):
    response = client.get(PROFILE)
    assert response.status_code == 302 and reverse("account_login") in response.url


def test_the_profile_is_made_on_first_visit_in_the_users_organisation(seller_client, teammate, acme):
    assert not SellerProfile.objects.filter(user=teammate).exists()
    response = seller_client.get(PROFILE)
    assert response.status_code == 200
    profile = SellerProfile.objects.get(user=teammate)
    assert profile.organization == acme
    assert seller_profile_for(teammate) == profile  # and only one


def test_the_page_shows_every_section_and_the_tabs(seller_client):
    page = seller_client.get(PROFILE).content.decode()
    for title in (
        "Primary info",
        "Email signature",
        "Address",
        "Time zone and business hours",
        "Excluded holidays",
    ):
        assert title in page
    assert "Next send window:" in page
    assert f'href="{reverse("engage:settings")}"' in page
    assert 'aria-label="Profile and settings"' in page


def test_the_page_shows_read_only_company_and_email(seller_client):
    page = seller_client.get(PROFILE + "?edit=primary").content.decode()
    assert 'id="company-readonly" value="Acme" readonly' in page
    assert 'value="teammate@acme.example" readonly' in page
    assert 'name="first_name"' in page


def test_the_profile_page_query_count_is_bounded(seller_client, django_assert_max_num_queries):
    seller_client.get(PROFILE)  # makes the profile
    with django_assert_max_num_queries(5):
        assert seller_client.get(PROFILE).status_code == 200


# --- Primary info -------------------------------------------------------------------------------
def test_saving_primary_info(seller_client, teammate):
    response = seller_client.post(
        reverse("engage:profile_primary"),
        {"first_name": " Tam ", "last_name": "Mate", "job_title": "AE", "phone": "+44 20 7946 0958"},
    )
    assert response.status_code == 302 and response.url == PROFILE + "#primary"
    teammate.refresh_from_db()
    assert (teammate.first_name, teammate.job_title, teammate.phone) == ("Tam", "AE", "+44 20 7946 0958")


def test_primary_info_errors_keep_what_was_typed(seller_client, teammate):
    response = seller_client.post(
        reverse("engage:profile_primary"),
        {"first_name": "", "last_name": "Mate", "job_title": "Head of Sales", "phone": "call me"},
    )
    assert response.status_code == 200
    form = response.context["forms"]["primary"]
    assert set(form.errors) == {"first_name", "phone"}
    page = response.content.decode()
    assert 'value="Head of Sales"' in page and "Enter your first name." in page
    teammate.refresh_from_db()
    assert (teammate.first_name, teammate.job_title) == ("Tom", "")


def test_primary_info_with_htmx_swaps_the_section(seller_client, teammate):
    url = reverse("engage:profile_primary")
    form = seller_client.get(url + "?edit=1", **HX)
    assert 'name="first_name"' in form.content.decode()
    assert "<html" not in form.content.decode()
    response = seller_client.post(url, {"first_name": "Tina", "last_name": "Mate"}, **HX)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Saved." in body and "Tina Mate" in body and 'name="first_name"' not in body
    assert response["HX-Trigger"] == "profile-changed"  # the signature previews refresh
    error = seller_client.post(url, {"first_name": "", "last_name": "Mate", "job_title": "Kept"}, **HX)
    assert "Enter your first name." in error.content.decode() and 'value="Kept"' in error.content.decode()


def test_a_section_url_without_htmx_goes_back_to_the_page(seller_client):
    response = seller_client.get(reverse("engage:profile_address") + "?edit=1")
    assert response.status_code == 302 and response.url == PROFILE + "?edit=address#address"


# --- Signature ----------------------------------------------------------------------------------
def test_the_signature_choice_shows_both_template_previews(seller_client):
    page = seller_client.get(PROFILE + "?edit=signature").content.decode()
    assert "Template 1" in page and "Template 2" in page and "Custom" in page and "No signature" in page
    assert page.count("mailto:teammate@acme.example") >= 2  # both previews, filled from the profile
    assert 'contenteditable="true"' in page and 'name="signature_custom"' in page


def test_saving_a_custom_signature_sanitises_it(seller_client, teammate):
    response = seller_client.post(
        reverse("engage:profile_signature"),
        {"signature_choice": "custom", "signature_custom": '<b>Tom</b><img src=x onerror="alert(1)">'},
    )
    assert response.status_code == 302
    teammate.refresh_from_db()
    assert teammate.signature_choice == User.Signature.CUSTOM
    assert "<b>Tom</b>" in teammate.signature_custom and "onerror" not in teammate.signature_custom


def test_an_empty_custom_signature_is_refused_and_the_choice_kept(seller_client, teammate):
    response = seller_client.post(
        reverse("engage:profile_signature"), {"signature_choice": "custom", "signature_custom": "  "}
    )
    assert response.status_code == 200
    assert "Write your signature" in response.content.decode()
    assert response.context["forms"]["signature"]["signature_choice"].value() == "custom"
    teammate.refresh_from_db()
    assert teammate.signature_choice == User.Signature.NONE


def test_choosing_a_template(seller_client, teammate):
    seller_client.post(
        reverse("engage:profile_signature"), {"signature_choice": "classic", "signature_custom": ""}
    )
    teammate.refresh_from_db()
    assert teammate.signature_choice == User.Signature.CLASSIC
    page = seller_client.get(PROFILE).content.decode()
    assert "Template 1" in page and "teammate@acme.example" in page


# --- Address ------------------------------------------------------------------------------------
def test_saving_the_address(seller_client, teammate):
    response = seller_client.post(
        reverse("engage:profile_address"),
        {
            "street": "1 Main  St",
            "city": "Springfield",
            "state": "IL",
            "postal_code": "62701",
            "country": "United States",
        },
    )
    assert response.status_code == 302
    profile = seller_profile_for(User.objects.get(pk=teammate.pk))
    assert (profile.street, profile.city, profile.country) == ("1 Main St", "Springfield", "United States")
    assert "Springfield" in seller_client.get(PROFILE).content.decode()


def test_an_overlong_address_is_refused_with_input_kept(seller_client, teammate):
    response = seller_client.post(
        reverse("engage:profile_address"), {"street": "Elm", "postal_code": "9" * 30, "country": "Germany"}
    )
    assert response.status_code == 200
    assert "postal_code" in response.context["forms"]["address"].errors
    assert 'value="Germany"' in response.content.decode()
    assert seller_profile_for(teammate).street == ""


# --- Time zone and business hours ---------------------------------------------------------------
def test_saving_business_hours_changes_the_preview(seller_client, teammate):
    before = preview_text(seller_client)
    response = seller_client.post(
        reverse("engage:profile_schedule"),
        schedule_post(**ONLY_WEDNESDAY_13_TO_14),
    )
    assert response.status_code == 302
    profile = seller_profile_for(User.objects.get(pk=teammate.pk))
    assert profile.business_hours == {"2": ["13:00", "14:00"]}
    after = preview_text(seller_client)
    assert after != before
    assert "Wednesday" in after and "1:00 PM" in after and "America/New_York" in after
    teammate.refresh_from_db()
    assert teammate.time_zone == "America/New_York"


def test_the_app_language_is_chosen_with_the_time_zone(seller_client, teammate):
    from django.conf import settings

    other = next(code for code, _ in settings.LANGUAGES if code != "en")
    seller_client.post(reverse("engage:profile_schedule"), schedule_post(language=other))
    teammate.refresh_from_db()
    assert teammate.language == other
    response = seller_client.post(reverse("engage:profile_schedule"), schedule_post(language="xx"))
    assert "language" in response.context["forms"]["schedule"].errors
    teammate.refresh_from_db()
    assert teammate.language == other


def test_the_preview_is_written_in_the_users_culture(seller_client):
    seller_client.post(
        reverse("engage:profile_schedule"),
        schedule_post(
            time_zone="Europe/Berlin",
            culture="de-DE",
            holiday_country="DE",
            **ONLY_WEDNESDAY_13_TO_14,
        ),
    )
    text = preview_text(seller_client)
    assert "Mittwoch" in text and "13:00" in text and "Europe/Berlin" in text


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"day_0_start": "17:00", "day_0_end": "09:00"}, "Monday: the end must be after the start."),
        ({"day_1_start": "9am"}, "Tuesday: enter the start time as HH:MM"),
        ({"day_4_end": "25:00"}, "Friday: enter the end time as HH:MM"),
        ({"day_3_end": ""}, "Thursday: enter the end time."),
        ({f"day_{d}_on": None for d in range(7)}, "Choose at least one working day."),
        ({"time_zone": "Mars/Olympus"}, "Select a valid choice"),
        ({"holiday_country": "XX"}, "Select a valid choice"),
    ],
)
def test_bad_business_hours_are_refused_with_clear_messages(seller_client, teammate, overrides, message):
    response = seller_client.post(reverse("engage:profile_schedule"), schedule_post(**overrides))
    assert response.status_code == 200
    page = response.content.decode()
    assert message in page
    profile = seller_profile_for(User.objects.get(pk=teammate.pk))
    assert profile.business_hours == {str(d): ["08:00", "18:00"] for d in range(5)}  # unchanged


def test_schedule_errors_keep_every_typed_value(seller_client):
    response = seller_client.post(
        reverse("engage:profile_schedule"),
        schedule_post(
            day_0_start="17:00", day_0_end="09:00", day_5_on="on", day_5_start="10:30", culture="fr-FR"
        ),
    )
    page = response.content.decode()
    assert 'value="17:00"' in page and 'value="10:30"' in page
    form = response.context["forms"]["schedule"]
    assert form["day_5_on"].value() is True and form["culture"].value() == "fr-FR"


def test_disabled_days_ignore_their_times(seller_client, teammate):
    response = seller_client.post(
        reverse("engage:profile_schedule"), schedule_post(day_6_start="nonsense", day_6_end="")
    )
    assert response.status_code == 302
    assert "6" not in seller_profile_for(User.objects.get(pk=teammate.pk)).business_hours


def test_schedule_with_htmx_also_refreshes_the_preview_and_holidays(seller_client):
    response = seller_client.post(
        reverse("engage:profile_schedule"), schedule_post(holiday_country="GB"), **HX
    )
    body = response.content.decode()
    assert 'id="schedule"' in body and "Saved." in body
    assert (
        'id="send-window" class="send-window card" role="status" aria-live="polite" hx-swap-oob="true"'
        in body
    )
    assert 'id="holidays"' in body and "United Kingdom" in body


# --- Holidays -----------------------------------------------------------------------------------
def next_christmas() -> date:
    return date(timezone.localdate().year + 1, 12, 25)


def test_the_holiday_list_covers_this_year_and_next(seller_client):
    page = seller_client.get(PROFILE).content.decode()
    year = timezone.localdate().year
    assert "Christmas Day" in page
    assert f"December 25, {year}" in page and f"December 25, {year + 1}" in page
    assert "Remove" in page


def test_removing_a_holiday_and_excluding_it_again(seller_client, teammate):
    day = next_christmas()
    response = seller_client.post(reverse("engage:profile_holiday_keep"), {"day": day.isoformat()})
    assert response.status_code == 302 and response.url.endswith("#holidays")
    assert seller_profile_for(User.objects.get(pk=teammate.pk)).holidays_kept == [day.isoformat()]
    page = seller_client.get(PROFILE).content.decode()
    assert "Working this day" in page and "Exclude again" in page

    seller_client.post(reverse("engage:profile_holiday_exclude"), {"day": day.isoformat()})
    assert seller_profile_for(User.objects.get(pk=teammate.pk)).holidays_kept == []
    assert "Exclude again" not in seller_client.get(PROFILE).content.decode()


def test_only_holidays_of_the_calendar_can_be_removed(seller_client, teammate):
    year = timezone.localdate().year + 1
    for bad in (f"{year}-03-03", "2001-12-25", "not-a-date"):
        response = seller_client.post(reverse("engage:profile_holiday_keep"), {"day": bad}, follow=True)
        assert any(m.level_tag == "error" for m in response.context["messages"])
    assert seller_profile_for(User.objects.get(pk=teammate.pk)).holidays_kept == []


def test_removing_a_holiday_with_htmx_updates_the_list_and_the_preview(seller_client):
    response = seller_client.post(
        reverse("engage:profile_holiday_keep"), {"day": next_christmas().isoformat()}, **HX
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="holidays"')
    assert "Exclude again" in body
    assert 'id="send-window"' in body and 'hx-swap-oob="true"' in body


def test_changing_the_country_starts_its_calendar_afresh(seller_client, teammate):
    seller_client.post(reverse("engage:profile_holiday_keep"), {"day": next_christmas().isoformat()})
    seller_client.post(reverse("engage:profile_schedule"), schedule_post(holiday_country="DE"))
    profile = seller_profile_for(User.objects.get(pk=teammate.pk))
    assert (profile.holiday_country, profile.holidays_kept) == ("DE", [])


def test_no_holiday_country(seller_client, teammate):
    seller_client.post(reverse("engage:profile_schedule"), schedule_post(holiday_country=""))
    page = seller_client.get(PROFILE).content.decode()
    assert "No holiday calendar is chosen" in page
    response = seller_client.post(
        reverse("engage:profile_holiday_keep"), {"day": next_christmas().isoformat()}, follow=True
    )
    assert "Choose a holiday country first." in response.content.decode()
