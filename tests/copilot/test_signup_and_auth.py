"""Sign-up creates an organisation; sign-in by email with throttling, password reset and TOTP."""

from __future__ import annotations

import re

import pytest
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from copilot.models import Organization, Role, User
from tests.factories import PASSWORD

SIGNUP = {
    "first_name": "Frida",
    "last_name": "Founder",
    "organization_name": "Initech",
    "email": "frida@initech.example",
    "password1": "a-long-passphrase-9",
    "password2": "a-long-passphrase-9",
}


CONFIRM_LINK = re.compile(r"http://testserver(/accounts/confirm-email/[^/\s]+/)")


def confirm_sign_up_email(client) -> str:
    """Open the link of the confirmation mail sign-up sent and press Confirm; returns where it led."""
    (message,) = [m for m in mail.outbox if "confirm" in m.subject.lower()]
    link = CONFIRM_LINK.search(message.body).group(1)
    assert client.get(link).status_code == 200
    response = client.post(link)
    assert response.status_code == 302
    return response.url


def test_signing_up_creates_an_organisation_with_its_first_administrator(client, db):
    response = client.post(reverse("account_signup"), SIGNUP)
    assert response.status_code == 302
    # The founder proves the address first (mandatory verification), then the wizard opens.
    assert response.url == reverse("account_email_verification_sent")
    assert "_auth_user_id" not in client.session
    onboarding = confirm_sign_up_email(client)
    assert onboarding == reverse("copilot:onboarding")
    frida = User.objects.get(email="frida@initech.example")
    assert frida.organization.name == "Initech"
    assert frida.role == Role.ADMINISTRATOR
    assert (frida.first_name, frida.last_name, frida.mailbox_username) == ("Frida", "Founder", frida.email)
    # The wizard opens on its first step.
    assert client.get(onboarding).url == reverse("copilot:onboarding_step", args=["contact"])


def test_a_failed_sign_up_creates_nothing_and_keeps_the_input(client, db):
    response = client.post(reverse("account_signup"), {**SIGNUP, "password2": "different-passphrase"})
    assert response.status_code == 200
    assert b"Initech" in response.content
    assert not Organization.objects.exists() and not User.objects.exists()


def test_sign_up_can_be_closed_for_private_installs(client, db, settings):
    settings.CADENCE_SIGNUP_OPEN = False
    response = client.post(reverse("account_signup"), SIGNUP)
    assert b"Sign Up Closed" in response.content
    assert not User.objects.exists()


def test_people_sign_in_with_email_and_password(client, teammate):
    response = client.post(reverse("account_login"), {"login": "TEAMMATE@acme.example", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("engage:home")).status_code == 200


def test_repeated_failed_sign_ins_are_throttled(client, teammate):
    for _ in range(5):
        response = client.post(reverse("account_login"), {"login": teammate.email, "password": "wrong"})
        assert b"not correct" in response.content
    response = client.post(reverse("account_login"), {"login": teammate.email, "password": PASSWORD})
    assert b"Too many failed login attempts" in response.content
    assert "_auth_user_id" not in client.session


def test_password_reset_sends_a_working_link(client, teammate):
    client.post(reverse("account_reset_password"), {"email": teammate.email})
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/accounts/password/reset/key/\S+)", mail.outbox[0].body).group(1)
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    client.post(
        form_page.redirect_chain[-1][0] if form_page.redirect_chain else link,
        {"password1": "a-new-passphrase-77", "password2": "a-new-passphrase-77"},
    )
    teammate.refresh_from_db()
    assert teammate.check_password("a-new-passphrase-77")


def test_totp_is_asked_for_after_the_password(client, teammate):
    secret = generate_totp_secret()
    TOTP.activate(teammate, secret)
    response = client.post(reverse("account_login"), {"login": teammate.email, "password": PASSWORD})
    assert response.url == reverse("mfa_authenticate")
    assert "_auth_user_id" not in client.session
    counter = int(timezone.now().timestamp()) // 30
    code = format_hotp_value(hotp_value(secret, counter))
    response = client.post(reverse("mfa_authenticate"), {"code": code})
    assert response.status_code == 302
    assert client.get(reverse("engage:home")).status_code == 200


@pytest.mark.parametrize("name", ["account_change_password", "mfa_index", "copilot:account"])
def test_account_pages_render_in_the_workspace_shell(client, teammate, name):
    client.force_login(teammate)
    page = client.get(reverse(name)).content.decode()
    assert 'aria-label="Account"' in page and 'aria-label="Workspace"' in page
