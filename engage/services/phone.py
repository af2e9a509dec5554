"""Verifying the seller's dialer phone by a one-time code (A9).

A code is six random digits, sent through the telephony backend after commit and stored only as
an HMAC (keyed with ``SECRET_KEY``, bound to the user and number). It expires after
``CODE_TTL``, allows ``MAX_ATTEMPTS`` wrong guesses, and a new one can be asked for once every
``RESEND_AFTER`` (at most ``HOURLY_LIMIT`` an hour). Asking for a new code closes the open one.
"""

from __future__ import annotations

import math
import secrets
from datetime import datetime, timedelta

import phonenumbers
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from copilot.models import User
from copilot.services.audit import audit_record
from engage.cultures import country_code_for
from engage.models import PhoneVerification, SellerProfile
from engage.services.profile import seller_profile_for
from engage.telephony import get_telephony_backend

CODE_TTL = timedelta(minutes=10)
MAX_ATTEMPTS = 5
RESEND_AFTER = timedelta(minutes=1)
HOURLY_LIMIT = 5
_KEY_SALT = "engage.phone_verification"


def phone_region_for(profile: SellerProfile) -> str:
    """The region a number without a country code is read in: the profile's country, else US."""
    code = country_code_for(profile.country)
    return code if code in phonenumbers.SUPPORTED_REGIONS else "US"


def phone_to_e164(raw: str, *, region: str) -> str:
    """``raw`` as written by a person -> E.164 (``+14155550100``); ``ValidationError`` when it is
    not a valid number."""
    message = "Enter a valid phone number, e.g. +1 415 555 0100 (with the country code if it is abroad)."
    if not raw.strip():
        raise ValidationError({"phone": "Enter the phone number to verify."})
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError({"phone": message}) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationError({"phone": message})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_display(e164: str) -> str:
    """``+14155550100`` -> ``+1 415-555-0100`` for people to read."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def _code_hash(*, user_id: int, phone: str, extension: str, code: str) -> str:
    return salted_hmac(_KEY_SALT, f"{user_id}:{phone}:{extension}:{code}", algorithm="sha256").hexdigest()


def phone_verification_latest(user: User) -> PhoneVerification | None:
    return PhoneVerification.objects.filter(user=user).order_by("-created_at", "-id").first()


def phone_verification_is_open(verification: PhoneVerification, *, now: datetime | None = None) -> bool:
    """Whether the code may still be typed in: not used, not expired, tries left."""
    now = now or timezone.now()
    return (
        verification.verified_at is None
        and verification.expires_at > now
        and verification.attempts < MAX_ATTEMPTS
    )


def phone_verification_open(user: User) -> PhoneVerification | None:
    """The code the user may still type in, if any."""
    latest = phone_verification_latest(user)
    return latest if latest and phone_verification_is_open(latest) else None


def phone_verification_start(*, user: User, phone: str, extension: str = "") -> PhoneVerification:
    """Send a new code to ``phone`` (+ ``extension``)."""
    extension = "".join(extension.split())
    if extension and not (extension.isdigit() and len(extension) <= 10):
        raise ValidationError({"extension": "An extension is digits only, at most 10."})
    e164 = phone_to_e164(phone, region=phone_region_for(seller_profile_for(user)))
    now = timezone.now()
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).exists()  # one start per user at a time
        recent = PhoneVerification.objects.filter(user=user, created_at__gt=now - timedelta(hours=1))
        latest = recent.order_by("-created_at", "-id").first()
        if latest and now - latest.created_at < RESEND_AFTER:
            wait = math.ceil((RESEND_AFTER - (now - latest.created_at)).total_seconds())
            raise ValidationError(f"A code was just sent. You can ask for another one in {wait} seconds.")
        if recent.count() >= HOURLY_LIMIT:
            raise ValidationError("You asked for too many codes. Please try again in an hour.")
        PhoneVerification.objects.filter(user=user, verified_at__isnull=True, expires_at__gt=now).update(
            expires_at=now
        )
        code = f"{secrets.randbelow(10**6):06d}"
        verification = PhoneVerification.objects.create(
            organization_id=user.organization_id,
            user=user,
            phone=e164,
            extension=extension,
            code_hash=_code_hash(user_id=user.pk, phone=e164, extension=extension, code=code),
            created_at=now,
            expires_at=now + CODE_TTL,
        )
        backend = get_telephony_backend()
        transaction.on_commit(lambda: backend.send_verification_code(e164, extension, code))
    return verification


def phone_verification_resend(*, user: User) -> PhoneVerification:
    """A new code to the number of the latest attempt."""
    latest = phone_verification_latest(user)
    if latest is None:
        raise ValidationError({"phone": "Enter the phone number to verify."})
    return phone_verification_start(user=user, phone=latest.phone, extension=latest.extension)


@transaction.atomic
def phone_verification_cancel(*, user: User) -> None:
    """Close the open code (the person wants to use another number)."""
    now = timezone.now()
    PhoneVerification.objects.filter(user=user, verified_at__isnull=True, expires_at__gt=now).update(
        expires_at=now
    )


def phone_verification_confirm(*, user: User, code: str) -> SellerProfile:
    """Check ``code`` against the latest one sent; on success the number becomes the verified one.
    A wrong code counts as an attempt (outside any transaction, so it sticks)."""
    code = "".join(code.split())
    now = timezone.now()
    verification = (
        PhoneVerification.objects.filter(user=user, verified_at__isnull=True)
        .order_by("-created_at", "-id")
        .first()
    )
    if verification is None:
        raise ValidationError({"code": "Send a code to your phone first."})
    if verification.expires_at <= now:
        raise ValidationError({"code": "This code has expired. Send a new code."})
    if verification.attempts >= MAX_ATTEMPTS:
        raise ValidationError({"code": "Too many wrong codes. Send a new code."})
    expected = _code_hash(
        user_id=user.pk, phone=verification.phone, extension=verification.extension, code=code
    )
    if not constant_time_compare(expected, verification.code_hash):
        PhoneVerification.objects.filter(pk=verification.pk, attempts__lt=MAX_ATTEMPTS).update(
            attempts=F("attempts") + 1
        )
        left = MAX_ATTEMPTS - verification.attempts - 1
        if left <= 0:
            raise ValidationError(
                {"code": "That code is not right, and it was the last try. Send a new code."}
            )
        tries = "try" if left == 1 else "tries"
        raise ValidationError({"code": f"That code is not right. {left} {tries} left."})
    with transaction.atomic():
        used = PhoneVerification.objects.filter(
            pk=verification.pk, verified_at__isnull=True, attempts__lt=MAX_ATTEMPTS
        ).update(verified_at=now)
        if not used:
            raise ValidationError({"code": "This code can no longer be used. Send a new code."})
        profile = seller_profile_for(user)
        profile.verified_phone = verification.phone
        profile.verified_extension = verification.extension
        profile.phone_verified_at = now
        profile.save(update_fields=["verified_phone", "verified_extension", "phone_verified_at"])
        audit_record(
            organization=user.organization,
            actor=user,
            action="profile.phone_verified",
            target=user.email,
            data={"phone": verification.phone, "extension": verification.extension},
        )
    return profile
