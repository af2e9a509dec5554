"""Issue 10, point 1 (and the Microsoft half of points 2 and 6): a Microsoft tenant is bound to a
Cadence organisation only through an ID token Microsoft signed, never through ``?tenant=``.

Everything runs through the real msal and the sandbox's identity platform over HTTPS; bad ID tokens
reach Cadence as the sandbox's token endpoint would hand them out (a fault answering the code
exchange), so the product verifies them exactly as it would Entra's.
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.contrib.messages import get_messages
from django.db import connection as db_connection
from django.test import Client
from django.urls import reverse

from integrations import services
from integrations.microsoft.checks import NOT_TENANT_ADMIN, TENANT_TAKEN
from integrations.microsoft.views import OTHER_TENANT, STALE_STATE
from integrations.models import Connection, ConnectionApp
from integrations.oauth import SESSION_KEY
from integrations.sandbox.microsoft import tokens
from integrations.sandbox.microsoft.demo import DEMO_CLIENT_ID, DEMO_TENANT_ID
from integrations.sandbox.microsoft.directory import directory
from tests.factories import AdminFactory, OrganizationFactory, UserFactory
from tests.integrations.microsoft import conftest as microsoft
from tests.integrations.microsoft.conftest import (
    ADMIN,
    SELLER1,
    SELLER2,
    admin_sign_in,
    answer_consent,
    follow_back,
    start_admin_connect,
)

# The Microsoft tests' fixtures: the sandbox with Cadence's settings pointing at it, fresh msal
# caches, and Acme's admin-managed connection to the demo tenant.
ms = microsoft.ms
app_connection = microsoft.app_connection
_fresh_microsoft_caches = microsoft._fresh_microsoft_caches

CONSENT_CALLBACK = reverse("integrations:microsoft_consent_callback")
CONNECT = reverse("integrations:microsoft_connect")
GLOBEX_TENANT_ID = "7a3c1d2e-0000-4000-8000-00000000b0b0"
GLOBEX_ADMIN = "it@globex.example"


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@pytest.fixture
def outsider_client(outsider: Any) -> Client:
    client = Client()
    client.force_login(outsider)
    return client


@pytest.fixture
def victim_consented(ms: Any) -> Any:
    """The victim (Demo Co's tenant) has already consented to Cadence for its own organisation, so
    an app token for it works: exactly what the attacker wants to ride on."""
    ms.control.seed("microsoft", {"consents": [{"tenant_id": DEMO_TENANT_ID}]})
    return ms


@pytest.fixture
def globex_tenant(ms: Any) -> Any:
    """The attacker's own Microsoft tenant, with a Global Administrator."""
    ms.control.seed(
        "microsoft",
        {
            "tenants": [
                {
                    "id": GLOBEX_TENANT_ID,
                    "domain": "globexcorp.onmicrosoft.com",
                    "domains": ["globex.example"],
                }
            ],
            "users": [{"user_principal_name": GLOBEX_ADMIN, "tenant_id": GLOBEX_TENANT_ID, "admin": True}],
        },
    )
    return ms


def assert_nothing_stored(*orgs: Any) -> None:
    assert not Connection.objects.filter(organization__in=orgs, provider="microsoft").exists()


# --- The attack of the issue --------------------------------------------------------------------
def test_an_admin_of_another_org_who_skips_microsoft_cannot_bind_the_victims_tenant(
    victim_consented, outsider_client, globex, acme
):
    sign_in_url = start_admin_connect(outsider_client)

    response = outsider_client.get(
        CONSENT_CALLBACK,
        {"admin_consent": "True", "tenant": DEMO_TENANT_ID, "state": query_of(sign_in_url)["state"]},
    )

    assert response.status_code == 302
    assert STALE_STATE in messages_of(response)
    assert_nothing_stored(globex, acme)
    assert victim_consented.control.requests("/graph/v1.0/") == []


def test_consent_for_another_tenant_than_the_signed_in_one_is_refused(
    victim_consented, globex_tenant, outsider_client, globex
):
    consent_url = admin_sign_in(globex_tenant, outsider_client, user=GLOBEX_ADMIN)
    assert urlsplit(consent_url).path == f"/{GLOBEX_TENANT_ID}/v2.0/adminconsent"

    response = outsider_client.get(
        CONSENT_CALLBACK,
        {"admin_consent": "True", "tenant": DEMO_TENANT_ID, "state": query_of(consent_url)["state"]},
    )

    assert OTHER_TENANT in messages_of(response)
    assert_nothing_stored(globex)
    assert globex_tenant.control.requests("/graph/v1.0/") == []


def test_the_connection_is_for_the_verified_tenant_even_with_its_id_in_another_case(ms, owner_client, acme):
    location = answer_consent(ms, admin_sign_in(ms, owner_client), user=ADMIN)
    query = query_of(location)

    follow_back(
        owner_client,
        f"{urlsplit(location).path}?"
        + "&".join(f"{k}={v.upper() if k == 'tenant' else v}" for k, v in query.items()),
    )

    connection = Connection.objects.get(organization=acme, provider="microsoft")
    assert connection.external_org_id == DEMO_TENANT_ID
    assert connection.details["tenant_id"] == DEMO_TENANT_ID


# --- The state is bound to the session, the admin and the organisation ---------------------------
def test_a_consent_state_from_another_session_is_refused(
    victim_consented, owner_client, outsider_client, globex
):
    consent_url = admin_sign_in(victim_consented, owner_client)

    response = outsider_client.get(
        CONSENT_CALLBACK,
        {"admin_consent": "True", "tenant": DEMO_TENANT_ID, "state": query_of(consent_url)["state"]},
    )

    assert STALE_STATE in messages_of(response)
    assert_nothing_stored(globex)


def test_a_consent_state_carried_into_another_admins_session_is_refused(
    victim_consented, owner_client, outsider_client, globex, acme
):
    consent_url = admin_sign_in(victim_consented, owner_client)
    # The outsider somehow holds the owner's pending state (a fixated or copied session).
    session = outsider_client.session
    session[SESSION_KEY] = owner_client.session[SESSION_KEY]
    session.save()

    response = outsider_client.get(
        CONSENT_CALLBACK,
        {"admin_consent": "True", "tenant": DEMO_TENANT_ID, "state": query_of(consent_url)["state"]},
    )

    assert STALE_STATE in messages_of(response)
    assert_nothing_stored(globex, acme)


def test_a_sign_in_state_cannot_be_used_as_a_consent_state(victim_consented, owner_client, acme):
    sign_in_url = start_admin_connect(owner_client)

    response = owner_client.get(
        CONSENT_CALLBACK,
        {"admin_consent": "True", "tenant": DEMO_TENANT_ID, "state": query_of(sign_in_url)["state"]},
    )

    assert STALE_STATE in messages_of(response)
    assert_nothing_stored(acme)


# --- The ID token is verified --------------------------------------------------------------------
def _claims(ms: Any, nonce: str, **changes: Any) -> dict[str, Any]:
    store = directory(ms.state)
    user = store.find_user(ADMIN)
    claims = tokens.id_token_claims(
        app=store.apps[DEMO_CLIENT_ID], user=user, issuer_base=ms.url, nonce=nonce
    )
    return {**claims, **changes}


def _unsigned(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'typ': 'JWT', 'alg': 'none'})}.{part(claims)}."


def _forge(ms: Any, kind: str, nonce: str) -> str:
    now = int(time.time())
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if kind == "unsigned":
        return _unsigned(_claims(ms, nonce))
    if kind == "other_key":  # claims the sandbox's kid, signed by a key Microsoft never published
        return tokens.sign_rs256(_claims(ms, nonce), key=other_key, kid=tokens.signing_key().kid)
    if kind == "unknown_kid":
        return tokens.sign_rs256(_claims(ms, nonce), key=other_key, kid="attacker-key")
    if kind == "wrong_audience":
        return tokens.sign_rs256(_claims(ms, nonce, aud="another-app"))
    if kind == "wrong_issuer":  # the victim's tid under another tenant's issuer
        return tokens.sign_rs256(_claims(ms, nonce, iss=f"{ms.url}/{GLOBEX_TENANT_ID}/v2.0"))
    if kind == "expired":
        return tokens.sign_rs256(_claims(ms, nonce, iat=now - 7200, nbf=now - 7200, exp=now - 3600))
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind", ["unsigned", "other_key", "unknown_kid", "wrong_audience", "wrong_issuer", "expired"]
)
def test_a_bad_id_token_is_refused_before_any_consent(ms, owner_client, acme, kind):
    sign_in_url = start_admin_connect(owner_client)
    nonce = query_of(sign_in_url)["nonce"]  # what msal checks; the forgery passes msal
    location = answer_consent(ms, sign_in_url, user=ADMIN)
    user = directory(ms.state).find_user(ADMIN)
    ms.control.inject_fault(
        r"/oauth2/v2\.0/token$",
        status=200,
        body={
            "token_type": "Bearer",
            "scope": "openid profile",
            "expires_in": 3599,
            "ext_expires_in": 3599,
            "access_token": "forged",
            "id_token": _forge(ms, kind, nonce),
            "client_info": tokens.client_info(user),
        },
    )

    response = follow_back(owner_client, location)

    assert response["Location"] == reverse("integrations:catalog")
    assert any("could not be verified" in m for m in messages_of(response)), messages_of(response)
    assert ms.control.requests("/adminconsent") == []
    assert_nothing_stored(acme)


def test_a_genuine_id_token_passes(ms, owner_client):
    consent_url = admin_sign_in(ms, owner_client)

    assert urlsplit(consent_url).path == f"/{DEMO_TENANT_ID}/v2.0/adminconsent"


# --- Point 6: starting a connect is POST-only -----------------------------------------------------
def test_get_on_connect_does_not_reinstall_a_disconnected_app(ms, owner_client, app_connection):
    ConnectionApp.objects.filter(connection=app_connection).delete()

    response = owner_client.get(CONNECT, {"app": "calendar"})

    assert response.status_code == 405
    assert not ConnectionApp.objects.filter(connection=app_connection, installed=True).exists()


def test_get_on_the_own_connect_starts_nothing(ms, client, acme):
    client.force_login(UserFactory(organization=acme, email=SELLER1))

    response = client.get(reverse("integrations:microsoft_connect_user"))

    assert response.status_code == 405
    assert ms.control.requests() == []


# --- Point 2: a user's own connection is for their own address only --------------------------------
def test_signing_in_as_someone_else_does_not_connect_their_mailbox(ms, client, acme):
    seller = UserFactory(organization=acme, email=SELLER1)
    client.force_login(seller)
    start = client.post(reverse("integrations:microsoft_connect_user"))

    response = follow_back(client, answer_consent(ms, start["Location"], user=SELLER2))

    assert any(f"You signed in to Microsoft as {SELLER2}" in m for m in messages_of(response))
    assert not Connection.objects.filter(organization=acme, provider="microsoft").exists()


def test_the_connection_keeps_the_tenants_verified_domains_and_members(ms, owner_client, acme):
    follow_back(owner_client, answer_consent(ms, admin_sign_in(ms, owner_client), user=ADMIN))

    details = Connection.objects.get(organization=acme, provider="microsoft").details
    assert "demo.example" in details["verified_domains"]
    assert {ADMIN, SELLER1, SELLER2} <= set(details["tenant_members"])
    assert GLOBEX_ADMIN not in details["tenant_members"]


# --- Point 1 follow-up: only someone who could consent binds a tenant ------------------------------
def _skip_consent(client: Any, consent_url: str) -> Any:
    """Call Cadence's consent callback as if Microsoft had answered, without any consent page
    (the answer is unsigned: anyone can type it)."""
    return client.get(
        CONSENT_CALLBACK,
        {"admin_consent": "True", "tenant": DEMO_TENANT_ID, "state": query_of(consent_url)["state"]},
    )


def test_an_ordinary_user_of_the_victims_tenant_cannot_bind_it(
    victim_consented, outsider_client, globex, acme
):
    # The attacker administers Globex in Cadence and has a plain account in the victim's tenant.
    consent_url = admin_sign_in(victim_consented, outsider_client, user=SELLER1)
    assert urlsplit(consent_url).path == f"/{DEMO_TENANT_ID}/v2.0/adminconsent"

    response = _skip_consent(outsider_client, consent_url)

    assert response["Location"] == reverse("integrations:catalog")
    assert NOT_TENANT_ADMIN.format(address=SELLER1, tenant="Demo Co") in messages_of(response)
    assert_nothing_stored(globex, acme)
    assert victim_consented.control.requests("/transitiveMemberOf/microsoft.graph.directoryRole")


def test_a_directory_role_that_cannot_consent_to_application_permissions_is_not_enough(
    victim_consented, outsider_client, globex
):
    victim_consented.control.seed(
        "microsoft",
        {"users": [{"user_principal_name": "apps@demo.example", "roles": ["Application Administrator"]}]},
    )
    consent_url = admin_sign_in(victim_consented, outsider_client, user="apps@demo.example")

    response = _skip_consent(outsider_client, consent_url)

    assert NOT_TENANT_ADMIN.format(address="apps@demo.example", tenant="Demo Co") in messages_of(response)
    assert_nothing_stored(globex)


def test_a_privileged_role_administrator_connects_the_tenant(ms, owner_client, acme):
    ms.control.seed(
        "microsoft",
        {
            "users": [
                {"user_principal_name": "roles@demo.example", "roles": ["Privileged Role Administrator"]}
            ]
        },
    )
    consent_url = admin_sign_in(ms, owner_client, user="roles@demo.example")

    follow_back(owner_client, answer_consent(ms, consent_url, user="roles@demo.example"))

    assert Connection.objects.get(organization=acme, provider="microsoft").external_org_id == DEMO_TENANT_ID


# --- One tenant, one Cadence organisation ---------------------------------------------------------
def test_a_tenant_connected_to_another_organisation_is_refused(
    ms, app_connection, outsider_client, globex, acme
):
    # The tenant's real Global Administrator, from a second Cadence organisation.
    consent_url = admin_sign_in(ms, outsider_client, user=ADMIN)

    response = follow_back(outsider_client, answer_consent(ms, consent_url, user=ADMIN))

    assert TENANT_TAKEN.format(tenant="Demo Co") in messages_of(response)
    assert "contact Cadence support" in TENANT_TAKEN
    assert_nothing_stored(globex)
    app_connection.refresh_from_db()
    assert app_connection.status == Connection.Status.CONNECTED and app_connection.organization == acme


def test_a_tenant_disconnected_elsewhere_may_be_connected(ms, app_connection, outsider_client, globex):
    Connection.objects.filter(pk=app_connection.pk).update(status=Connection.Status.DISCONNECTED)
    consent_url = admin_sign_in(ms, outsider_client, user=ADMIN)

    follow_back(outsider_client, answer_consent(ms, consent_url, user=ADMIN))

    assert Connection.objects.get(organization=globex, provider="microsoft").external_org_id == DEMO_TENANT_ID


def test_the_service_refuses_a_tenant_held_by_another_organisation(app_connection, globex, outsider):
    with pytest.raises(services.ExternalOrgTaken):
        services.connection_save_from_oauth(
            organization=globex,
            actor=outsider,
            provider="microsoft",
            scope=Connection.Scope.ORGANIZATION,
            credentials={"tenant_id": DEMO_TENANT_ID},
            external_org_id=DEMO_TENANT_ID.upper(),
            external_user_id="",
            external_username="demo.example",
            instance_url="",
        )

    assert_nothing_stored(globex)


# --- Point 3: a person's own mailbox is decided by Graph's /me, not the email claim ----------------
def test_an_email_claim_naming_the_victim_does_not_connect_their_mailbox(ms, globex_tenant, client, acme):
    # Entra may fill the optional email claim from an address nobody verified.
    globex_tenant.control.seed(
        "microsoft",
        {"users": [{"user_principal_name": "mallory@globex.example", "email_claim": SELLER1}]},
    )
    client.force_login(UserFactory(organization=acme, email=SELLER1))
    start = client.post(reverse("integrations:microsoft_connect_user"))

    response = follow_back(client, answer_consent(ms, start["Location"], user="mallory@globex.example"))

    assert any("You signed in to Microsoft as mallory@globex.example" in m for m in messages_of(response))
    assert not Connection.objects.filter(organization=acme, provider="microsoft").exists()
    assert ms.control.requests("/graph/v1.0/me")


def test_the_own_mailbox_connects_when_me_names_the_address(ms, client, acme):
    seller = UserFactory(organization=acme, email=SELLER1)
    client.force_login(seller)
    start = client.post(reverse("integrations:microsoft_connect_user"))

    follow_back(client, answer_consent(ms, start["Location"], user=SELLER1))

    connection = Connection.objects.get(organization=acme, provider="microsoft", user=seller)
    assert connection.external_username == SELLER1


@pytest.mark.skipif(
    "postgresql" not in settings.DATABASES["default"]["ENGINE"],
    reason="two writers at once need a server database (SQLite writes one transaction at a time)",
)
@pytest.mark.django_db(transaction=True)
def test_two_organisations_connecting_one_tenant_at_the_same_instant_get_one_connection(monkeypatch):
    """Both pass the 'is it taken?' check before either has a row to lock, unless the tenant itself
    is locked first. The save of a new connection waits (bounded) for the other writer to get
    there too: without the lock both arrive and both store; with it the second never gets past
    the check until the first commits, then finds the tenant taken."""
    admins = [AdminFactory(organization=OrganizationFactory(name=f"Racer {n}")) for n in range(2)]
    both_checked = threading.Barrier(2, timeout=3)
    original_save = Connection.save

    def save_when_both_checked(self, *args, **kwargs):
        if self._state.adding:
            # A broken barrier: the other writer is held at the tenant lock and never got here.
            with contextlib.suppress(threading.BrokenBarrierError):
                both_checked.wait()
        return original_save(self, *args, **kwargs)

    monkeypatch.setattr(Connection, "save", save_when_both_checked)
    outcomes: list[str] = []

    def connect(admin) -> None:
        try:
            services.connection_save_from_oauth(
                organization=admin.organization,
                actor=admin,
                provider="microsoft",
                scope=Connection.Scope.ORGANIZATION,
                credentials={"tenant_id": DEMO_TENANT_ID},
                external_org_id=DEMO_TENANT_ID,
                external_user_id="",
                external_username="demo.example",
                instance_url="",
            )
            outcomes.append("stored")
        except services.ExternalOrgTaken:
            outcomes.append("taken")
        finally:
            db_connection.close()

    threads = [threading.Thread(target=connect, args=(admin,)) for admin in admins]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    assert sorted(outcomes) == ["stored", "taken"]
    assert Connection.objects.filter(provider="microsoft", external_org_id=DEMO_TENANT_ID).count() == 1
