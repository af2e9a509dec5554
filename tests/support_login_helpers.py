"""Signing support staff in to /support/ the only way the site allows: allauth's sign-in with the
password, then the TOTP code (copilot/support_site.py). Tests of the support admin use this
instead of ``force_login``, which skips the second factor and is refused by the site."""

from __future__ import annotations

import time

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.test import Client
from django.urls import reverse

from copilot.models import User
from tests.factories import PASSWORD, UserFactory

_SECRETS: dict[int, str] = {}


def enable_totp(user: User) -> str:
    """Give ``user`` an authenticator app (as Account › Two-factor authentication does); its secret."""
    Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).delete()
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    _SECRETS[user.pk] = secret
    return secret


def totp_code(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def sign_in_to_support(client: Client, user: User, *, password: str = PASSWORD) -> Client:
    """Password, then the current TOTP code, through allauth; the support site then opens."""
    user.set_password(password)
    user.save(update_fields=["password"])
    has_totp = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    secret = _SECRETS.get(user.pk) if has_totp else None
    secret = secret or enable_totp(user)
    response = client.post(reverse("account_login"), {"login": user.email, "password": password})
    assert response.status_code == 302 and response["Location"] == reverse("mfa_authenticate"), response
    response = client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
    assert response.status_code == 302, response
    return client


def support_user(**extra: object) -> User:
    """A support staff account (no organisation) with a verified address."""
    extra.setdefault("email", "support@cadence.example")
    extra.setdefault("is_superuser", True)
    return UserFactory(organization=None, is_staff=True, **extra)
