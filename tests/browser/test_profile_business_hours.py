"""Profile and Settings in real Chromium: business hours edited in place move the send-window
preview, the custom-signature editor saves what was typed, and a phone number is verified with
the code the (locmem) telephony backend received.

Personas from ``tests/conftest.py``: ``teammate`` is a Contributor in Acme."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from copilot.models import User
from engage.models import SellerProfile
from engage.telephony import LocmemTelephonyBackend


def mark_loaded(page: Page) -> None:
    """A marker that a full page load would wipe out (the sections must swap in place)."""
    page.evaluate("() => { window.loadedOnce = true; }")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.loadedOnce === true"), "the page reloaded instead of swapping the section"


@pytest.fixture
def profile_page(page: Page, live_server, sign_in: Callable, teammate: User) -> Page:
    teammate.time_zone = "America/New_York"
    teammate.save(update_fields=["time_zone"])
    sign_in(page, teammate)
    page.goto(f"{live_server.url}/app/profile/")
    expect(page.get_by_role("heading", name="Profile", exact=True)).to_be_visible()
    mark_loaded(page)
    return page


@pytest.mark.browser
def test_editing_business_hours_moves_the_next_send_window(profile_page: Page, teammate: User) -> None:
    page = profile_page
    preview = page.locator("#send-window")
    expect(preview).to_contain_text("Next send window:")
    before = preview.inner_text()

    page.get_by_role("link", name="Edit time zone and business hours").click()
    section = page.locator("#schedule")
    for day in ("Monday", "Tuesday", "Thursday", "Friday", "Saturday", "Sunday"):
        section.get_by_label(f"Work on {day}", exact=True).uncheck()
    section.get_by_label("Work on Wednesday", exact=True).check()
    section.get_by_label("Wednesday start", exact=True).fill("13:00")
    section.get_by_label("Wednesday end", exact=True).fill("14:00")
    with page.expect_response(re.compile(r"/app/profile/schedule/$")):
        section.get_by_role("button", name="Save").click()

    expect(page.locator("#schedule")).to_contain_text("Saved.")
    expect(preview).to_contain_text(re.compile(r"Wednesday, .* 1:00 PM E[SD]T \(America/New_York\)"))
    assert preview.inner_text() != before
    assert_not_reloaded(page)
    profile = SellerProfile.objects.get(user=teammate)
    assert profile.business_hours == {"2": ["13:00", "14:00"]}

    page.reload()
    expect(page.locator("#send-window")).to_contain_text("Wednesday")
    expect(page.locator("#schedule")).to_contain_text("13:00–14:00")


@pytest.mark.browser
def test_business_hours_errors_are_shown_per_day_and_keep_the_input(
    profile_page: Page, teammate: User
) -> None:
    page = profile_page
    page.get_by_role("link", name="Edit time zone and business hours").click()
    section = page.locator("#schedule")
    section.get_by_label("Monday start", exact=True).fill("17:00")
    section.get_by_label("Monday end", exact=True).fill("09:00")
    section.get_by_role("button", name="Save").click()

    expect(section.get_by_role("alert")).to_contain_text("Monday: the end must be after the start.")
    expect(section.get_by_label("Monday start", exact=True)).to_have_value("17:00")
    assert_not_reloaded(page)
    assert SellerProfile.objects.get(user=teammate).business_hours["0"] == ["08:00", "18:00"]


@pytest.mark.browser
def test_the_custom_signature_editor_saves_formatted_text(profile_page: Page, teammate: User) -> None:
    page = profile_page
    page.get_by_role("link", name="Edit email signature").click()
    # The toolbar appears once the script has put the editor over the plain textarea.
    expect(page.get_by_role("button", name="Bold")).to_be_visible()
    editor = page.get_by_role("textbox", name="Custom signature")
    expect(editor).to_have_attribute("contenteditable", "true")
    editor.click()
    page.get_by_role("button", name="Bold").click()
    page.keyboard.type("Tom Mate")
    expect(page.get_by_role("radio", name="Custom")).to_be_checked()  # typing chose "Custom"
    with page.expect_response(re.compile(r"/app/profile/signature/$")):
        page.locator("#signature").get_by_role("button", name="Save").click()

    expect(page.locator("#signature")).to_contain_text("Saved.")
    teammate.refresh_from_db()
    assert teammate.signature_choice == "custom"
    assert re.search(r"<(b|strong)>Tom Mate</(b|strong)>", teammate.signature_custom), (
        teammate.signature_custom
    )


@pytest.mark.browser
def test_a_phone_number_is_verified_with_the_code_sent(
    page: Page, live_server, sign_in: Callable, teammate: User
) -> None:
    LocmemTelephonyBackend.outbox.clear()
    sign_in(page, teammate)
    page.goto(f"{live_server.url}/app/settings/")
    section = page.locator("#phone")
    section.get_by_label("Phone number").fill("+1 415 555 0100")
    section.get_by_role("button", name="Send code").click()

    code_field = page.locator("#phone").get_by_label("Verification code")
    expect(code_field).to_be_visible()
    expect(page.locator("#phone")).to_contain_text("We sent a 6-digit code to +1 415-555-0100.")
    assert [sent.phone for sent in LocmemTelephonyBackend.outbox] == ["+14155550100"]

    code_field.fill("000000" if LocmemTelephonyBackend.outbox[0].code != "000000" else "111111")
    page.locator("#phone").get_by_role("button", name="Verify").click()
    expect(page.locator("#phone").get_by_role("alert")).to_contain_text(
        "That code is not right. 4 tries left."
    )

    page.locator("#phone").get_by_label("Verification code").fill(LocmemTelephonyBackend.outbox[0].code)
    page.locator("#phone").get_by_role("button", name="Verify").click()
    expect(page.locator("#phone").get_by_text("Verified", exact=True)).to_be_visible()
    expect(page.locator("#phone").get_by_role("link", name="Change number")).to_be_visible()
    assert SellerProfile.objects.get(user=teammate).verified_phone == "+14155550100"
    LocmemTelephonyBackend.outbox.clear()


@pytest.mark.browser
def test_a_new_name_shows_in_the_signature_without_a_reload(profile_page: Page, teammate: User) -> None:
    page = profile_page
    page.get_by_role("link", name="Edit email signature").click()
    page.get_by_role("radio", name="Template 1").check()
    page.locator("#signature").get_by_role("button", name="Save").click()
    expect(page.locator("#signature")).to_contain_text("Saved.")

    page.get_by_role("link", name="Edit primary info").click()
    page.locator("#primary").get_by_label("First name").fill("Tamsin")
    with page.expect_response(re.compile(r"/app/profile/signature/$")):  # refreshed after the save
        page.locator("#primary").get_by_role("button", name="Save").click()
    expect(page.locator("#signature")).to_contain_text("Tamsin Mate")
    assert_not_reloaded(page)


@pytest.mark.browser
def test_a_voicemail_upload_is_checked_and_added_in_place(
    page: Page, live_server, sign_in: Callable, teammate: User, tmp_path
) -> None:
    real, fake = tmp_path / "hello.mp3", tmp_path / "fake.mp3"
    real.write_bytes(b"ID3\x04" + b"\x00" * 500)
    fake.write_bytes(b"%PDF-1.7" + b"\x00" * 50)
    sign_in(page, teammate)
    page.goto(f"{live_server.url}/app/settings/")
    mark_loaded(page)
    section = page.locator("#voicemails")
    section.get_by_label("Title").fill("Not in")
    section.get_by_label("Audio file").set_input_files(str(fake))
    section.get_by_role("button", name="Upload").click()
    expect(page.locator("#voicemails").get_by_role("alert")).to_contain_text(
        "This file is not a real MP3 recording"
    )
    expect(page.locator("#voicemails").get_by_label("Title")).to_have_value("Not in")

    page.locator("#voicemails").get_by_label("Audio file").set_input_files(str(real))
    page.locator("#voicemails").get_by_role("button", name="Upload").click()
    expect(page.locator("#voicemails")).to_contain_text("Added the voicemail “Not in”.")
    expect(page.locator("#voicemails audio")).to_have_count(1)
    assert_not_reloaded(page)
