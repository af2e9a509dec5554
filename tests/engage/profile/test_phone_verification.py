"""Dialer phone verification (A9): a code is sent, typed back, and the number is verified."""

from __future__ import annotations

import logging
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.test import override_settings
from django.urls import reverse

from copilot.models import AuditEvent
from engage.models import PhoneVerification
from engage.services import phone as phone_services
from engage.services.profile import seller_profile_for
from engage.telephony import ConsoleTelephonyBackend, LocmemTelephonyBackend, get_telephony_backend

SETTINGS = reverse("engage:settings")
START = reverse("engage:settings_phone_start")
CONFIRM = reverse("engage:settings_phone_confirm")
RESEND = reverse("engage:settings_phone_resend")
CANCEL = reverse("engage:settings_phone_cancel")
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def send(seller_client, django_capture_on_commit_callbacks):
    """POST to a phone URL, running the on-commit send the way a real request would."""

    def post(url: str, data: dict | None = None, **extra):
        with django_capture_on_commit_callbacks(execute=True):
            return seller_client.post(url, data or {}, **extra)

    return post


def age_latest_code(user, *, seconds: int) -> None:
    """Pretend the latest code was sent ``seconds`` ago (the resend throttle and expiry use it)."""
    latest = PhoneVerification.objects.filter(user=user).latest("created_at")
    PhoneVerification.objects.filter(pk=latest.pk).update(
        created_at=latest.created_at - timedelta(seconds=seconds),
        expires_at=latest.expires_at - timedelta(seconds=seconds),
    )


def test_the_happy_path(send, seller_client, teammate, outbox):
    response = send(START, {"phone": "(415) 555-0100", "extension": "12"})
    assert response.status_code == 302
    assert len(outbox) == 1
    sent = outbox[0]
    assert (sent.phone, sent.extension) == ("+14155550100", "12")
    assert len(sent.code) == 6 and sent.code.isdigit()

    page = seller_client.get(SETTINGS).content.decode()
    assert "We sent a 6-digit code to +1 415-555-0100." in page
    assert 'name="code"' in page and "Send a new code" in page

    response = seller_client.post(CONFIRM, {"code": sent.code})
    assert response.status_code == 302
    profile = seller_profile_for(teammate)
    profile.refresh_from_db()
    assert (profile.verified_phone, profile.verified_extension) == ("+14155550100", "12")
    assert profile.phone_verified_at is not None
    page = seller_client.get(SETTINGS).content.decode()
    assert "Verified" in page and "+1 415-555-0100" in page and "Change number" in page
    assert AuditEvent.objects.filter(action="profile.phone_verified", target=teammate.email).exists()


def test_the_code_is_stored_only_as_a_hash(send, teammate, outbox):
    send(START, {"phone": "+44 20 7946 0958"})
    verification = PhoneVerification.objects.get(user=teammate)
    code = outbox[0].code
    assert verification.code_hash != code and code not in verification.code_hash
    assert len(verification.code_hash) == 64
    assert verification.expires_at - verification.created_at == timedelta(minutes=10)


def test_a_wrong_code_counts_an_attempt(send, seller_client, teammate, outbox):
    send(START, {"phone": "+14155550100"})
    wrong = "000000" if outbox[0].code != "000000" else "111111"
    response = seller_client.post(CONFIRM, {"code": wrong})
    assert response.status_code == 200
    assert "That code is not right. 4 tries left." in response.content.decode()
    assert PhoneVerification.objects.get(user=teammate).attempts == 1
    assert seller_profile_for(teammate).verified_phone == ""


def test_a_malformed_code_is_refused_without_counting(send, seller_client, teammate):
    send(START, {"phone": "+14155550100"})
    response = seller_client.post(CONFIRM, {"code": "12ab"})
    assert "Enter the 6-digit code." in response.content.decode()
    assert PhoneVerification.objects.get(user=teammate).attempts == 0


def test_five_wrong_codes_use_the_code_up(send, seller_client, teammate, outbox):
    send(START, {"phone": "+14155550100"})
    code = outbox[0].code
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(4):
        seller_client.post(CONFIRM, {"code": wrong})
    response = seller_client.post(CONFIRM, {"code": wrong})
    assert "it was the last try. Send a new code." in response.content.decode()
    response = seller_client.post(CONFIRM, {"code": code})  # even the right one is refused now
    assert "Send a new code" in response.content.decode()
    assert seller_profile_for(teammate).verified_phone == ""
    assert PhoneVerification.objects.get(user=teammate).attempts == 5


def test_an_expired_code_is_refused(send, seller_client, teammate, outbox):
    send(START, {"phone": "+14155550100"})
    age_latest_code(teammate, seconds=11 * 60)
    response = seller_client.post(CONFIRM, {"code": outbox[0].code})
    assert "This code has expired. Send a new code." in response.content.decode()
    assert seller_profile_for(teammate).verified_phone == ""
    assert 'name="phone"' in response.content.decode()  # the form for a new code is back


def test_resending_is_throttled(send, seller_client, teammate, outbox, monkeypatch):
    codes = iter([111111, 222222])  # two different codes, so "only the newest works" is tested
    monkeypatch.setattr(phone_services, "secrets", SimpleNamespace(randbelow=lambda _n: next(codes)))
    send(START, {"phone": "+14155550100"})
    response = send(RESEND)
    assert response.status_code == 200
    assert "You can ask for another one in" in response.content.decode()
    assert len(outbox) == 1

    age_latest_code(teammate, seconds=61)
    response = send(RESEND)
    assert response.status_code == 302
    assert len(outbox) == 2 and outbox[1].phone == "+14155550100"
    # Only the newest code works.
    refused = seller_client.post(CONFIRM, {"code": outbox[0].code})
    assert refused.status_code == 200 and "That code is not right." in refused.content.decode()
    profile = seller_profile_for(teammate)
    profile.refresh_from_db()
    assert profile.verified_phone == ""
    assert seller_client.post(CONFIRM, {"code": outbox[1].code}).status_code == 302
    profile.refresh_from_db()
    assert profile.verified_phone == "+14155550100"


def test_asking_for_a_new_number_is_throttled_too(send, teammate, outbox):
    send(START, {"phone": "+14155550100"})
    response = send(START, {"phone": "+14155550199"})
    assert "You can ask for another one in" in response.content.decode()
    assert 'value="+14155550199"' in response.content.decode()  # what was typed is kept
    assert len(outbox) == 1


def test_codes_per_hour_are_limited(send, teammate, outbox):
    for _ in range(phone_services.HOURLY_LIMIT):
        send(START, {"phone": "+14155550100"})
        age_latest_code(teammate, seconds=61)
    response = send(START, {"phone": "+14155550100"})
    assert "too many codes" in response.content.decode()
    assert len(outbox) == phone_services.HOURLY_LIMIT


@pytest.mark.parametrize(
    ("phone", "extension", "message"),
    [
        ("12", "", "Enter a valid phone number"),
        ("not a phone", "", "Enter a valid phone number"),
        ("+1 555 0100", "", "Enter a valid phone number"),
        ("", "", "Enter the phone number to verify."),
        ("+14155550100", "12a", "An extension is digits only"),
    ],
)
def test_invalid_numbers_are_refused(send, teammate, outbox, phone, extension, message):
    response = send(START, {"phone": phone, "extension": extension})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not outbox and not PhoneVerification.objects.filter(user=teammate).exists()


def test_a_number_without_country_code_is_read_in_the_profiles_country(send, teammate, outbox):
    profile = seller_profile_for(teammate)
    profile.country = "Germany"
    profile.save()
    send(START, {"phone": "030 901820"})
    assert outbox[0].phone == "+4930901820"


def test_change_number_keeps_the_verified_one_until_the_new_one_is_confirmed(
    send, seller_client, teammate, outbox
):
    send(START, {"phone": "+14155550100"})
    seller_client.post(CONFIRM, {"code": outbox[0].code})
    page = seller_client.get(
        seller_client.get(reverse("engage:settings_phone") + "?change=1").url
    ).content.decode()
    assert 'name="phone"' in page and "Keep +1 415-555-0100" in page
    age_latest_code(teammate, seconds=61)
    send(START, {"phone": "+14155550199"})
    profile = seller_profile_for(teammate)
    profile.refresh_from_db()
    assert profile.verified_phone == "+14155550100"
    seller_client.post(CONFIRM, {"code": outbox[1].code})
    profile.refresh_from_db()
    assert profile.verified_phone == "+14155550199"


def test_using_a_different_number_closes_the_open_code(send, seller_client, teammate, outbox):
    send(START, {"phone": "+14155550100"})
    response = seller_client.post(CANCEL, **HX)
    assert 'name="phone"' in response.content.decode() and 'name="code"' not in response.content.decode()
    response = seller_client.post(CONFIRM, {"code": outbox[0].code})
    assert "Send a new code" in response.content.decode()
    assert seller_profile_for(teammate).verified_phone == ""


def test_the_phone_section_swaps_with_htmx(send, outbox):
    response = send(START, {"phone": "+14155550100"}, **HX)
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="phone"') and 'name="code"' in body
    response = send(CONFIRM, {"code": outbox[0].code}, **HX)
    assert "Verified" in response.content.decode()


def test_another_users_code_does_not_verify_me(send, client, teammate, owner, outbox):
    send(START, {"phone": "+14155550100"})
    client.force_login(owner)
    response = client.post(CONFIRM, {"code": outbox[0].code})
    assert "Send a code to your phone first." in response.content.decode()
    assert seller_profile_for(owner).verified_phone == ""


def test_the_telephony_backend_is_chosen_by_setting():
    assert isinstance(get_telephony_backend(), LocmemTelephonyBackend)
    with override_settings(TELEPHONY_BACKEND="engage.telephony.ConsoleTelephonyBackend"):
        assert isinstance(get_telephony_backend(), ConsoleTelephonyBackend)


def test_only_the_console_backend_logs_the_code(send, caplog):
    with (
        override_settings(TELEPHONY_BACKEND="engage.telephony.ConsoleTelephonyBackend"),
        caplog.at_level(logging.DEBUG),
    ):
        send(START, {"phone": "+14155550100", "extension": "7"})
    records = [r for r in caplog.records if "verification code for" in r.getMessage()]
    assert len(records) == 1 and records[0].name == "cadence.telephony" and records[0].levelno == logging.INFO
    code = records[0].getMessage().rsplit(": ", 1)[1]
    assert records[0].getMessage() == f"verification code for +14155550100 ext. 7: {code}"
    assert not [r for r in caplog.records if r.name != "cadence.telephony" and code in r.getMessage()]


def test_the_phone_urls_are_post_only(seller_client):
    for url in (START, CONFIRM, RESEND, CANCEL):
        assert seller_client.get(url).status_code == 405


def test_nothing_sent_when_the_transaction_fails(teammate, outbox, django_capture_on_commit_callbacks):
    from django.db import transaction

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        phone_services.phone_verification_start(user=teammate, phone="+14155550100")
        raise RuntimeError("boom")
    assert outbox == []
    assert not PhoneVerification.objects.filter(user=teammate).exists()
