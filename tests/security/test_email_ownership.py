"""Issue 10, point 3: an org user's address counts for mailbox sync and sending only once its owner
proved it (allauth's confirmation email, or the invitation link). Verification is mandatory."""

from __future__ import annotations

import re
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.contrib.messages import get_messages
from django.core import mail
from django.test import Client
from django.urls import reverse

from copilot.models import Role, User
from demo.seed import DEMO_PASSWORD, SUPPORT_EMAIL, demo_seed
from integrations import selectors
from integrations.oauth import SESSION_KEY
from integrations.records import Address
from integrations.sandbox.google import control as google
from integrations.sending import UNVERIFIED, SendingUnavailable, send_message
from integrations.sync.source import OutgoingMessage
from tests.factories import UserFactory
from tests.integrations.sync.mailbox_helpers import DOMAIN, sandbox_google_connection

MESSAGE = OutgoingMessage(to=(Address("buyer@bigcustomer.example"),), subject="Hello", text="Hello there.")
NEWCOMER = f"newcomer@{DOMAIN}"


@pytest.fixture
def newcomer(sandbox: Any, demo: Any) -> Any:
    """A Demo Co user (and a real user of the demo Workspace) who has not confirmed the address."""
    google.seed(sandbox.control, {"users": [{"email": NEWCOMER, "name": "New Comer"}]})
    return UserFactory(organization=demo.org, email=NEWCOMER, email_verified=False)


def confirm(user: Any) -> None:
    EmailAddress.objects.filter(user=user, email=user.email).update(verified=True)


def test_an_unconfirmed_address_is_not_synced_until_its_owner_confirms_it(
    sandbox: Any, demo: Any, newcomer: Any
) -> None:
    connection = sandbox_google_connection(sandbox, demo)

    rows = {r.user.email: r for r in selectors.eligibility(connection=connection, app="email")}
    assert not rows[NEWCOMER].syncing
    assert rows[NEWCOMER].reason == selectors.REASON_UNVERIFIED
    assert rows[demo.seller1.email].syncing

    confirm(newcomer)

    assert NEWCOMER in {m.address for m in selectors.eligible_mailboxes(connection=connection, app="email")}


def test_an_unconfirmed_address_cannot_send_until_confirmed(sandbox: Any, demo: Any, newcomer: Any) -> None:
    sandbox_google_connection(sandbox, demo)

    with pytest.raises(SendingUnavailable) as refused:
        send_message(user=newcomer, message=MESSAGE)

    assert refused.value.reason == UNVERIFIED
    assert selectors.mail_connection_for(newcomer) is None
    assert google.api_calls(sandbox.state, NEWCOMER) == {}  # Gmail was never asked
    confirm(newcomer)
    assert send_message(user=newcomer, message=MESSAGE).sender.email == NEWCOMER


def test_an_unconfirmed_user_cannot_start_connecting_their_own_gmail(sandbox: Any, demo: Any) -> None:
    stranger = UserFactory(organization=demo.org, email="someone@demo.example", email_verified=False)
    browser = Client()
    browser.force_login(stranger)

    back = browser.post(reverse("integrations:google_connect_user"), follow=True)

    [message] = [str(m) for m in get_messages(back.wsgi_request)]
    assert message.startswith("Confirm your email address someone@demo.example first")
    assert reverse("account_email") in message
    assert SESSION_KEY not in browser.session  # no Google sign-in was started


def test_signing_up_requires_confirming_the_address_before_signing_in(client: Any, db: Any) -> None:
    signup = {
        "first_name": "Una",
        "last_name": "Proven",
        "organization_name": "Unproven Ltd",
        "email": "una@unproven.example",
        "password1": "a-long-passphrase-9",
        "password2": "a-long-passphrase-9",
    }

    client.post(reverse("account_signup"), signup)

    assert "_auth_user_id" not in client.session
    una = User.objects.get(email="una@unproven.example")
    assert not EmailAddress.objects.filter(user=una, verified=True).exists()
    other = Client()
    back = other.post(reverse("account_login"), {"login": una.email, "password": "a-long-passphrase-9"})
    assert back.url == reverse("account_email_verification_sent")
    assert "_auth_user_id" not in other.session
    assert [m for m in mail.outbox if m.to == [una.email] and "confirm" in m.subject.lower()]


@pytest.mark.django_db(transaction=True)  # the invitation goes out on commit
def test_an_invitee_is_verified_by_the_invitation_link(owner_client: Any, acme: Any) -> None:
    owner_client.post(
        reverse("copilot:user_invite"),
        {"first_name": "Ivy", "last_name": "Invitee", "email": "ivy@acme.example", "role": Role.CONTRIBUTOR},
    )
    link = re.search(r"http://testserver(/invite/[^/\s]+/)", mail.outbox[-1].body).group(1)
    owner_client.logout()
    owner_client.post(link, {"password1": "a-long-passphrase-9", "password2": "a-long-passphrase-9"})

    ivy = User.objects.get(email="ivy@acme.example")
    assert EmailAddress.objects.filter(user=ivy, email=ivy.email, verified=True, primary=True).exists()
    assert selectors.address_verified(ivy)
    other = Client()
    other.post(reverse("account_login"), {"login": ivy.email, "password": "a-long-passphrase-9"})
    assert other.get(reverse("engage:home")).status_code == 200  # signs in without another confirmation


def test_the_demo_seed_gives_its_people_confirmed_addresses(db: Any) -> None:
    organization = demo_seed()

    people = list(User.objects.for_org(organization))
    assert people and all(selectors.address_verified(person) for person in people)


def test_the_demo_support_account_signs_in_even_in_a_database_seeded_before_confirmation(db: Any) -> None:
    demo_seed()
    support = User.objects.get(email=SUPPORT_EMAIL)
    EmailAddress.objects.filter(user=support).delete()  # as an older seed left it

    demo_seed()  # make run seeds on every start
    client = Client()
    response = client.post(reverse("account_login"), {"login": SUPPORT_EMAIL, "password": DEMO_PASSWORD})

    assert response.status_code == 302 and response["Location"] != reverse("account_email_verification_sent")
    assert client.get(reverse("admin:index"), follow=True).status_code == 403  # TOTP set-up page next
