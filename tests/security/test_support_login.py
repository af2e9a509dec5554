"""The support site (/support/) signs in only through allauth, with TOTP, and its failed-login
throttle applies (issue 10, point 4). Before this, Django's stock admin form took the password
alone: no second factor, no rate limit."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import PASSWORD
from tests.support_login_helpers import enable_totp, sign_in_to_support, support_user, totp_code

SUPPORT = "/support/"


@pytest.fixture
def staff(db):
    return support_user()


def test_the_stock_admin_password_form_is_gone(client, staff):
    page = client.get(reverse("admin:login"))
    posted = client.post(reverse("admin:login"), {"username": staff.email, "password": PASSWORD})

    assert page.status_code == 302 and page["Location"].startswith(reverse("account_login"))
    assert posted.status_code == 302 and posted["Location"].startswith(reverse("account_login"))
    assert "_auth_user_id" not in client.session  # the password alone signed nobody in
    assert client.get(SUPPORT).status_code == 302


def test_a_password_without_the_totp_code_does_not_open_the_support_site(client, staff):
    enable_totp(staff)

    response = client.post(reverse("account_login"), {"login": staff.email, "password": PASSWORD})

    assert response["Location"] == reverse("mfa_authenticate")
    assert client.get(SUPPORT).status_code == 302
    wrong = client.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert wrong.status_code == 200 and client.get(SUPPORT).status_code == 302


def test_staff_with_totp_open_the_support_site_after_both_factors(client, staff):
    sign_in_to_support(client, staff)

    assert client.get(SUPPORT).status_code == 200


def test_staff_without_totp_are_asked_to_set_it_up_first(client, staff):
    client.post(reverse("account_login"), {"login": staff.email, "password": PASSWORD})
    assert "_auth_user_id" in client.session  # signed in to Cadence itself

    response = client.get(SUPPORT, follow=True)

    assert response.status_code == 403
    assert b"Set up two-factor authentication first" in response.content
    assert reverse("mfa_activate_totp").encode() in response.content


def test_a_session_without_the_second_factor_is_refused_even_once_totp_exists(client, staff):
    """force_login stands for a session that signed in before TOTP was turned on."""
    enable_totp(staff)
    client.force_login(staff)

    response = client.get(SUPPORT, follow=True)

    assert response.redirect_chain[-1][0].startswith(reverse("account_login"))
    assert "_auth_user_id" not in client.session  # signed out to sign in again with the code


def test_an_organisation_member_never_opens_the_support_site(client, owner):
    client.force_login(owner)

    response = client.get(SUPPORT, follow=True)

    assert response.status_code == 403 and b"for Cadence support staff" in response.content


def test_failed_sign_ins_to_the_support_account_are_throttled(client, staff, settings):
    enable_totp(staff)
    for _ in range(5):
        client.post(reverse("account_login"), {"login": staff.email, "password": "wrong"})

    locked = client.post(reverse("account_login"), {"login": staff.email, "password": PASSWORD})

    assert locked.status_code == 200  # the sign-in form again, with the lock-out sentence
    assert locked.get("Location") != reverse("mfa_authenticate")  # the right password is refused too
    assert b"Too many failed login attempts" in locked.content


def test_support_totp_codes_come_from_the_authenticator(client, staff):
    secret = enable_totp(staff)
    client.post(reverse("account_login"), {"login": staff.email, "password": PASSWORD})

    response = client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})

    assert response.status_code == 302 and client.get(SUPPORT).status_code == 200
