"""The connect flows through Django's test client and the sandbox's consent page (B2, B3)."""

from __future__ import annotations

from typing import Any

from django.contrib.messages import get_messages
from django.urls import reverse

from integrations import governance, services
from integrations.google.dwd import service_account_client_id
from integrations.google.provider import MAILBOX_SCOPES
from integrations.models import Connection, ConnectionApp
from integrations.oauth import SESSION_KEY
from integrations.sandbox.google import control as google
from tests.integrations.google.conftest import ADMIN, SELLER1, consent, dwd_connection

CONNECT = reverse("integrations:google_connect")


def _messages(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_an_admin_connects_the_domain_picks_the_sales_group_and_is_all_set_up(
    sandbox: Any, admin_client: Any, seller1: Any, seller2: Any
) -> None:
    start = admin_client.post(CONNECT, {"app": "email"})
    assert start.status_code == 302

    back = admin_client.get(consent(sandbox, start["Location"], email=ADMIN))

    assert back.status_code == 302, _messages(back)
    assert back["Location"] == reverse("integrations:google_scope")
    connection = Connection.objects.get(provider="google")
    assert connection.scope == Connection.Scope.ORGANIZATION
    assert connection.details["mode"] == "dwd"
    assert connection.details["domain"] == "demo.example"
    assert connection.details["admin_email"] == ADMIN
    assert connection.details["customer_id"]
    assert connection.details["verified_domains"] == ["demo.example"]  # the Directory's domains list
    assert sorted(connection.apps.filter(installed=True).values_list("app", flat=True)) == [
        "calendar",
        "email",
    ]

    page = admin_client.get(back["Location"])
    assert page.status_code == 200
    assert b"sales@demo.example" in page.content
    assert b"/Sales" in page.content

    chosen = admin_client.post(back["Location"], {"scope": "group:sales@demo.example"})
    assert chosen["Location"] == reverse("integrations:google_done")
    connection.refresh_from_db()
    assert connection.details["scope"]["kind"] == "group"
    assert connection.details["scope"]["key"] == "sales@demo.example"
    assert connection.details["scope_members"] == [SELLER1, "seller2@demo.example"]

    done = admin_client.get(chosen["Location"])
    assert b"You&#x27;re all set up" in done.content or b"You're all set up" in done.content
    assert b"<strong>2</strong> of 3 users" in done.content


def test_an_admin_who_denies_consent_is_told_nothing_was_connected(sandbox: Any, admin_client: Any) -> None:
    start = admin_client.post(CONNECT, {"app": "calendar"})

    back = admin_client.get(consent(sandbox, start["Location"], email=ADMIN, decision="deny"), follow=True)

    assert "You cancelled the Google sign-in; nothing was connected." in _messages(back)
    assert back.redirect_chain[-1][0] == reverse("integrations:catalog")
    assert not Connection.objects.filter(provider="google").exists()


def test_a_wrong_client_secret_is_a_plain_error_and_nothing_is_stored(
    sandbox: Any, admin_client: Any, settings: Any
) -> None:
    start = admin_client.post(CONNECT, {"app": "email"})
    callback = consent(sandbox, start["Location"], email=ADMIN)
    settings.GOOGLE_CLIENT_SECRET = "not-the-secret"

    back = admin_client.get(callback, follow=True)

    (message,) = _messages(back)
    assert "Google refused Cadence's OAuth client credentials" in message
    assert "GOOGLE_CLIENT_SECRET" in message and "Nothing was connected" in message
    assert not Connection.objects.filter(provider="google").exists()


def test_a_domain_that_has_not_authorised_delegation_gets_the_client_id_and_scopes_to_authorise(
    sandbox: Any, admin_client: Any
) -> None:
    google.revoke_dwd(sandbox.control)
    start = admin_client.post(CONNECT, {"app": "email"})

    back = admin_client.get(consent(sandbox, start["Location"], email=ADMIN), follow=True)

    problem, nothing = _messages(back)
    assert service_account_client_id() in problem
    assert "domain-wide delegation" in problem
    for scope in MAILBOX_SCOPES:
        assert scope in problem
    assert nothing == "Nothing was connected."
    assert not Connection.objects.filter(provider="google").exists()
    # What Cadence did not keep, it revoked.
    assert sandbox.control.requests("/google/revoke")


def test_signing_in_as_someone_who_is_not_a_domain_admin_is_refused(sandbox: Any, admin_client: Any) -> None:
    start = admin_client.post(CONNECT, {"app": "email"})

    back = admin_client.get(consent(sandbox, start["Location"], email=SELLER1), follow=True)

    assert f"{SELLER1} is not an administrator of demo.example." in _messages(back)[0]
    assert not Connection.objects.filter(provider="google").exists()


def test_an_org_unit_scope_is_saved_with_its_members(
    sandbox: Any, admin_client: Any, demo_admin: Any, seller1: Any
) -> None:
    connection = dwd_connection(sandbox, demo_admin.organization, demo_admin)

    admin_client.post(reverse("integrations:google_scope"), {"scope": "org_unit:/Sales"})

    connection.refresh_from_db()
    assert connection.details["scope"] == {"kind": "org_unit", "key": "/Sales", "name": "Sales"}
    assert connection.details["scope_members"] == [SELLER1, "seller2@demo.example"]
    done = admin_client.get(reverse("integrations:google_done"))
    assert b"organisational unit <strong>Sales</strong>" in done.content
    assert b"<strong>1</strong> of 2 users" in done.content  # seller1 only: seller2 has no Cadence user


def test_everyone_in_the_domain_is_a_scope_too(sandbox: Any, admin_client: Any, demo_admin: Any) -> None:
    connection = dwd_connection(sandbox, demo_admin.organization, demo_admin)

    admin_client.post(reverse("integrations:google_scope"), {"scope": "domain"})

    connection.refresh_from_db()
    assert connection.details["scope"] == {}
    assert "scope_members" not in connection.details


def test_an_unknown_scope_choice_is_refused(sandbox: Any, admin_client: Any, demo_admin: Any) -> None:
    connection = dwd_connection(sandbox, demo_admin.organization, demo_admin)

    page = admin_client.post(reverse("integrations:google_scope"), {"scope": "group:nobody@demo.example"})

    assert page.status_code == 200
    assert "Choose a group, an organisational unit, or everyone in the domain." in _messages(page)
    connection.refresh_from_db()
    assert "scope" not in connection.details


def test_a_disconnected_app_comes_back_from_its_tile_without_another_consent(
    sandbox: Any, admin_client: Any, demo_admin: Any
) -> None:
    connection = dwd_connection(sandbox, demo_admin.organization, demo_admin, scope={})
    email_app = connection.apps.get(app="email")
    governance.app_disconnect(connection_app=email_app, actor=demo_admin)
    sandbox.control.clear_requests()

    confirm = admin_client.post(CONNECT, {"app": "email"})
    assert confirm.status_code == 200
    assert b"Connect Gmail again?" in confirm.content
    installed = admin_client.post(CONNECT, {"app": "email", "confirm": "1"})

    assert installed["Location"] == reverse("integrations:google_done")
    assert ConnectionApp.objects.get(pk=email_app.pk).installed
    assert sandbox.control.requests("/google/") == []


def test_reconnecting_keeps_the_chosen_scope_and_the_apps_as_they_were(
    sandbox: Any, admin_client: Any, demo_admin: Any
) -> None:
    scope = {"kind": "group", "key": "sales@demo.example", "name": "Sales team"}
    connection = dwd_connection(sandbox, demo_admin.organization, demo_admin, scope=scope)
    governance.app_toggle(connection_app=connection.apps.get(app="calendar"), enabled=False, actor=demo_admin)
    services.connection_mark_needs_reconnect(connection=connection, reason="refused")

    start = admin_client.post(CONNECT, {"app": "email"})
    back = admin_client.get(consent(sandbox, start["Location"], email=ADMIN))

    assert back["Location"] == reverse("integrations:google_done")
    connection.refresh_from_db()
    assert connection.status == Connection.Status.CONNECTED
    assert connection.details["scope"] == scope
    assert not connection.apps.get(app="calendar").enabled


def test_a_callback_that_is_not_one_of_ours_changes_nothing(sandbox: Any, admin_client: Any) -> None:
    back = admin_client.get(
        reverse("integrations:google_callback"), {"state": "forged", "code": "x"}, follow=True
    )

    assert "could not be matched" in _messages(back)[0]
    assert not Connection.objects.filter(provider="google").exists()


def test_an_org_without_the_copilot_package_sees_the_lock(
    sandbox: Any, admin_client: Any, demo_co: Any
) -> None:
    demo_co.package_copilot = False
    demo_co.save()

    back = admin_client.post(CONNECT, {"app": "email"}, follow=True)

    assert "Needs the Revenue intelligence package" in _messages(back)[0]


def test_an_installation_without_google_settings_says_what_is_missing(
    sandbox: Any, admin_client: Any, settings: Any
) -> None:
    settings.GOOGLE_SERVICE_ACCOUNT_FILE = ""

    back = admin_client.post(CONNECT, {"app": "email"}, follow=True)

    assert "GOOGLE_SERVICE_ACCOUNT_FILE" in _messages(back)[0]


def test_only_admins_connect_for_the_organisation(sandbox: Any, client: Any, seller1: Any) -> None:
    client.force_login(seller1)

    assert client.post(CONNECT, {"app": "email"}).status_code == 403


def test_connecting_refuses_get_so_a_link_or_image_cannot_start_or_reinstall_anything(
    sandbox: Any, admin_client: Any, demo_admin: Any
) -> None:
    connection = dwd_connection(sandbox, demo_admin.organization, demo_admin, scope={})
    email_app = connection.apps.get(app="email")
    governance.app_disconnect(connection_app=email_app, actor=demo_admin)

    assert admin_client.get(CONNECT, {"app": "email", "confirm": "1"}).status_code == 405
    assert admin_client.get(reverse("integrations:google_connect_user")).status_code == 405
    assert not ConnectionApp.objects.get(pk=email_app.pk).installed
    assert SESSION_KEY not in admin_client.session  # no sign-in was started either


# --- User-managed --------------------------------------------------------------------------------
def test_a_seller_connects_gmail_and_calendar_with_one_consent(
    sandbox: Any, client: Any, seller1: Any
) -> None:
    client.force_login(seller1)
    start = client.post(reverse("integrations:google_connect_user"))
    assert "login_hint=seller1%40demo.example" in start["Location"]

    back = client.get(consent(sandbox, start["Location"], email=SELLER1), follow=True)

    assert "Gmail and Google Calendar are connected." in _messages(back)
    assert back.redirect_chain[-1][0] == reverse("engage:settings") + "#connections"
    connection = Connection.objects.get(provider="google")
    assert (connection.scope, connection.user, connection.details["mode"]) == (
        Connection.Scope.USER,
        seller1,
        "oauth",
    )
    assert connection.get_credentials()["refresh_token"]
    assert sorted(connection.apps.filter(installed=True).values_list("app", flat=True)) == [
        "calendar",
        "email",
    ]


def test_a_seller_who_denies_consent_is_told_nothing_was_connected(
    sandbox: Any, client: Any, seller1: Any
) -> None:
    client.force_login(seller1)
    start = client.post(reverse("integrations:google_connect_user"))

    back = client.get(consent(sandbox, start["Location"], email=SELLER1, decision="deny"), follow=True)

    assert "You cancelled the Google sign-in; nothing was connected." in _messages(back)
    assert not Connection.objects.filter(provider="google").exists()


def test_a_seller_signing_in_with_another_account_is_refused(sandbox: Any, client: Any, seller1: Any) -> None:
    client.force_login(seller1)
    start = client.post(reverse("integrations:google_connect_user"))

    back = client.get(consent(sandbox, start["Location"], email="seller2@demo.example"), follow=True)

    assert "your Cadence address is seller1@demo.example" in _messages(back)[0]
    assert not Connection.objects.filter(provider="google").exists()


def test_sellers_are_not_offered_their_own_connection_when_the_admin_connected_the_domain(
    sandbox: Any, client: Any, demo_admin: Any, seller1: Any
) -> None:
    dwd_connection(sandbox, demo_admin.organization, demo_admin, scope={})
    client.force_login(seller1)

    back = client.post(reverse("integrations:google_connect_user"), follow=True)

    assert "administrator has connected Google Workspace for everyone" in _messages(back)[0]
    assert not Connection.objects.filter(provider="google", scope=Connection.Scope.USER).exists()
