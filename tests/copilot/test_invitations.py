from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from copilot.models import Invitation, Role, User, hash_token
from copilot.services.invitations import InvitationUnusable, invitation_accept
from tests.factories import InvitationFactory, OrgGroupFactory, UserFactory


def _invite(client, **overrides):
    data = {"first_name": "Nina", "last_name": "New", "email": "nina@acme.example", "role": Role.CONTRIBUTOR}
    data.update(overrides)
    return client.post(reverse("copilot:user_invite"), data)


def _link_from_last_email() -> str:
    match = re.search(r"http://testserver(/invite/[^/\s]+/)", mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return match.group(1)


@pytest.mark.django_db(transaction=True)  # the email goes out on commit
def test_an_admin_invites_a_user_who_sets_a_password_and_joins(owner_client, acme):
    group = OrgGroupFactory(organization=acme, name="EMEA")
    response = _invite(
        owner_client, role=Role.ADMINISTRATOR, org_groups=[group.pk], can_start_salesflow_on_behalf="on"
    )
    assert response.status_code == 302

    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["nina@acme.example"]
    assert "Acme" in email.subject
    link = _link_from_last_email()

    owner_client.logout()
    page = owner_client.get(link)
    assert page.status_code == 200
    assert b"Join Acme" in page.content
    response = owner_client.post(
        link, {"password1": "a-long-passphrase-9", "password2": "a-long-passphrase-9"}
    )
    assert response.status_code == 302 and response.url == reverse("copilot:onboarding")

    nina = User.objects.get(email="nina@acme.example")
    assert nina.organization == acme and nina.role == Role.ADMINISTRATOR
    assert list(nina.org_groups.all()) == [group]
    assert nina.can_start_salesflow_on_behalf
    assert nina.check_password("a-long-passphrase-9")
    assert owner_client.get(reverse("engage:home")).status_code == 200  # signed in

    # The link was one-time.
    owner_client.logout()
    again = owner_client.get(link)
    assert again.status_code == 410
    assert b"already been used" in again.content


@pytest.mark.django_db(transaction=True)
def test_resending_replaces_the_link(owner_client, acme):
    _invite(owner_client)
    first_link = _link_from_last_email()
    invitation = Invitation.objects.get(email="nina@acme.example")
    owner_client.post(reverse("copilot:invitation_resend", args=[invitation.pk]))
    assert len(mail.outbox) == 2
    second_link = _link_from_last_email()
    assert first_link != second_link
    owner_client.logout()
    assert owner_client.get(first_link).status_code == 410
    assert owner_client.get(second_link).status_code == 200
    invitation.refresh_from_db()
    assert invitation.send_count == 2


@pytest.mark.django_db(transaction=True)
def test_a_revoked_invitation_link_stops_working(owner_client):
    _invite(owner_client)
    link = _link_from_last_email()
    invitation = Invitation.objects.get(email="nina@acme.example")
    owner_client.post(reverse("copilot:invitation_revoke", args=[invitation.pk]))
    owner_client.logout()
    response = owner_client.get(link)
    assert response.status_code == 410
    assert b"withdrawn" in response.content
    assert not User.objects.filter(email="nina@acme.example").exists()


@pytest.mark.django_db(transaction=True)
def test_an_expired_invitation_link_says_so(owner_client):
    _invite(owner_client)
    link = _link_from_last_email()
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    owner_client.logout()
    response = owner_client.get(link)
    assert response.status_code == 410 and b"expired" in response.content
    response = owner_client.post(
        link, {"password1": "a-long-passphrase-9", "password2": "a-long-passphrase-9"}
    )
    assert response.status_code == 410
    assert not User.objects.filter(email="nina@acme.example").exists()


def test_an_unknown_link_is_refused(client, db):
    response = client.get(reverse("copilot:invitation_accept", args=["not-a-real-token"]))
    assert response.status_code == 410
    assert b"not valid" in response.content


@pytest.mark.django_db(transaction=True)
def test_a_weak_password_is_refused_and_nothing_is_created(owner_client):
    _invite(owner_client)
    link = _link_from_last_email()
    owner_client.logout()
    response = owner_client.post(link, {"password1": "123", "password2": "123"})
    assert response.status_code == 200
    assert b"too short" in response.content
    assert not User.objects.filter(email="nina@acme.example").exists()
    assert Invitation.objects.get(email="nina@acme.example").status == "pending"


def test_inviting_an_existing_account_or_a_pending_invitee_explains_why(owner_client, teammate):
    response = _invite(owner_client, email=teammate.email.upper())
    assert response.status_code == 200
    assert b"already has a Cadence account" in response.content

    _invite(owner_client)
    response = _invite(owner_client, first_name="Again")
    assert b"already has a pending invitation" in response.content
    assert Invitation.objects.filter(email="nina@acme.example").count() == 1


def test_invalid_form_keeps_what_was_typed(owner_client):
    response = _invite(owner_client, email="not-an-email")
    assert response.status_code == 200
    assert b'value="Nina"' in response.content
    assert b"Enter a valid email address" in response.content
    assert not Invitation.objects.exists()


def test_contributors_cannot_invite(client, teammate):
    client.force_login(teammate)
    assert client.get(reverse("copilot:user_invite")).status_code == 403
    assert _invite(client).status_code == 403
    assert not Invitation.objects.exists()


def test_groups_of_another_organisation_cannot_be_assigned(owner_client, globex):
    theirs = OrgGroupFactory(organization=globex)
    response = _invite(owner_client, org_groups=[theirs.pk])
    assert response.status_code == 200
    assert b"Select a valid choice" in response.content
    assert not Invitation.objects.exists()


def test_accepting_when_the_email_signed_up_meanwhile_is_refused(acme):
    InvitationFactory(organization=acme, email="late@acme.example", token_hash=hash_token("late-token"))
    UserFactory(email="late@acme.example")
    with pytest.raises(InvitationUnusable, match="already has an account"):
        invitation_accept(token="late-token", password="a-long-passphrase-9")
