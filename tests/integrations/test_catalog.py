"""Admin Portal › Integrations (issue point 3): the searchable catalog, the Connected tab with
each connection's health and actions, toggling, disconnecting, "Manage users' sync data"; and the
Google/Microsoft cards of Settings › Integrations (B3)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from copilot.models import AuditEvent
from integrations import governance
from integrations.models import Connection, ConnectionApp, SyncOptOut, SyncState
from integrations.sync import states as sync_states
from integrations.sync import tasks as sync_tasks
from tests.integrations.sync import mailbox_helpers
from tests.integrations.sync.mailbox_helpers import ADMIN, SELLER1, SELLER2

demo, google = mailbox_helpers.demo, mailbox_helpers.google

CATALOG = reverse("integrations:catalog")
CONNECTED = CATALOG + "?tab=connected"
TILE_NAMES = ("Gmail", "Google Calendar", "Microsoft Outlook", "Microsoft Calendar", "Salesforce")


@pytest.fixture(autouse=True)
def google_configured(settings, tmp_path):
    """The installation holds Google's OAuth client and Cadence's service-account key."""
    key = tmp_path / "google-service-account.json"
    key.write_text("{}")
    settings.GOOGLE_SERVICE_ACCOUNT_FILE = str(key)


@pytest.fixture
def admin_client(client, demo):
    client.force_login(demo.admin)
    return client


def app(connection: Connection, name: str) -> ConnectionApp:
    return ConnectionApp.objects.get(connection=connection, app=name)


def tile(page: str, key: str) -> str:
    start = page.index(f'data-tile="{key}"')
    return page[start : page.index("</section>", start)]


# --- Catalog -------------------------------------------------------------------------------------
def test_the_catalog_lists_every_integration_with_a_connect_action(admin_client, settings):
    page = admin_client.get(CATALOG).content.decode()

    for name in TILE_NAMES:
        assert f">{name}</h2>" in page
    # Connecting starts a sign-in: a form that POSTs (with its CSRF token), never a plain link.
    assert f'<form method="post" action="{reverse("integrations:google_connect")}?app=email">' in tile(
        page, "gmail"
    )
    assert f'<form method="post" action="{reverse("integrations:google_connect")}?app=calendar">' in tile(
        page, "google_calendar"
    )
    assert f'<form method="post" action="{reverse("integrations:microsoft_connect")}?app=email">' in tile(
        page, "outlook"
    )
    assert ">Connect</button>" in tile(page, "salesforce")  # Salesforce keeps its own flow


def test_the_catalog_search_filters_on_the_server(admin_client):
    page = admin_client.get(CATALOG, {"q": "calendar"}).content.decode()

    assert 'data-tile="google_calendar"' in page and 'data-tile="microsoft_calendar"' in page
    assert 'data-tile="gmail"' not in page and 'data-tile="salesforce"' not in page
    assert 'value="calendar"' in page and "data-catalog-filter" in page  # and the instant filter


def test_a_search_matching_nothing_says_so(admin_client):
    page = admin_client.get(CATALOG, {"q": "fax machine"}).content.decode()

    assert "data-tile=" not in page
    assert "No integration matches" in page


def test_an_org_without_the_package_sees_the_lock_and_why(admin_client, demo):
    demo.org.package_copilot = False
    demo.org.save(update_fields=["package_copilot"])

    page = admin_client.get(CATALOG).content.decode()

    gmail = tile(page, "gmail")
    assert "Locked" in gmail and "Needs the" in gmail and "package" in gmail
    assert "?app=email" not in gmail


def test_a_connected_app_shows_its_badge_instead_of_connect(admin_client, google):
    governance.app_disconnect(connection_app=app(google, "calendar"), actor=None)

    page = admin_client.get(CATALOG).content.decode()

    assert "Connected" in tile(page, "gmail") and "?app=email" not in tile(page, "gmail")
    assert "?app=calendar" in tile(page, "google_calendar")  # disconnected: can be connected again


def test_contributors_cannot_open_any_portal_page(client, demo, google):
    client.force_login(demo.seller1)
    row = app(google, "email")

    for url in (
        CATALOG,
        reverse("integrations:app_toggle", args=[row.pk]),
        reverse("integrations:app_disconnect", args=[row.pk]),
        reverse("integrations:manage_users", args=[row.pk]),
    ):
        assert client.get(url).status_code == 403


# --- Connected tab -------------------------------------------------------------------------------
def test_the_connected_tab_shows_each_app_with_its_health_and_actions(
    admin_client, demo, google, django_assert_max_num_queries
):
    now = timezone.now()
    sync_states.mailbox_sync_states_ensure(
        connection=google,
        wanted=[
            (demo.seller1.pk, "email", f"email:{SELLER1}"),
            (demo.seller2.pk, "email", f"email:{SELLER2}"),
        ],
    )
    SyncState.objects.filter(object_name=f"email:{SELLER1}").update(
        last_success_at=now - dt.timedelta(minutes=3)
    )
    SyncState.objects.filter(object_name=f"email:{SELLER2}").update(
        status=SyncState.Status.FAILED,
        last_error="Access to this mailbox was refused.",
        last_success_at=now - dt.timedelta(hours=2),
    )

    with django_assert_max_num_queries(20):
        page = admin_client.get(CONNECTED).content.decode()

    email_row = page[page.index(f'data-connection-app="{app(google, "email").pk}"') :]
    email_row = email_row[: email_row.index("</tr>")]
    assert "Gmail" in email_row and "Whole organisation" in email_row
    assert "0 syncing · 1 failed of 2" in email_row
    assert "Last error (seller2@demo.example): Access to this mailbox was refused." in email_row
    assert "Lag:" in email_row and "3\xa0minutes ago" in email_row
    assert reverse("integrations:manage_users", args=[app(google, "email").pk]) in email_row
    assert reverse("integrations:app_disconnect", args=[app(google, "email").pk]) in email_row
    assert f"{reverse('integrations:app_toggle', args=[app(google, 'email').pk])}?enabled=off" in email_row
    assert "Google Calendar" in page


def test_the_connected_tab_query_count_does_not_grow_with_mailboxes(
    admin_client, demo, google, django_assert_max_num_queries
):
    from tests.factories import UserFactory

    users = [UserFactory(organization=demo.org) for _ in range(15)]
    sync_states.mailbox_sync_states_ensure(
        connection=google,
        wanted=[(u.pk, kind, f"{kind}:{u.email}") for u in users for kind in ("email", "calendar")],
    )
    for user in users[:8]:  # people's own connections of the other provider, each with its apps
        own = Connection.objects.create(
            organization=demo.org, provider="microsoft", scope=Connection.Scope.USER, user=user
        )
        governance.apps_install(connection=own, actor=user)

    with django_assert_max_num_queries(20):
        page = admin_client.get(CONNECTED).content.decode()

    assert page.count("Microsoft Outlook, Microsoft Calendar") == 8


def test_manage_users_query_count_does_not_grow_with_users(
    admin_client, demo, google, django_assert_max_num_queries
):
    from tests.factories import UserFactory

    users = [UserFactory(organization=demo.org) for _ in range(15)]
    governance.opt_outs_set(
        connection=google, app="email", opted_out_user_ids=[users[0].pk], actor=demo.admin
    )
    sync_states.mailbox_sync_states_ensure(
        connection=google, wanted=[(u.pk, "email", f"email:{u.email}") for u in users]
    )

    with django_assert_max_num_queries(12):
        page = admin_client.get(
            reverse("integrations:manage_users", args=[app(google, "email").pk])
        ).content.decode()

    assert page.count('name="synced"') == 18 and page.count("checked") == 17


# --- Toggle --------------------------------------------------------------------------------------
def test_turning_email_off_warns_that_sending_still_works_then_stops_sync(admin_client, demo, google):
    url = reverse("integrations:app_toggle", args=[app(google, "email").pk])

    page = admin_client.get(url, {"enabled": "off"}).content.decode()
    assert "Users can still send email from Cadence." in page
    assert "all users are included again" in page

    response = admin_client.post(url, {"enabled": "off"})

    assert response.status_code == 302 and response["Location"] == CONNECTED
    assert app(google, "email").enabled is False
    assert AuditEvent.objects.filter(action="integration.app_disabled", actor=demo.admin).exists()


def test_turning_an_app_back_on_warns_that_everyone_is_included_again(admin_client, demo, google):
    governance.opt_outs_set(
        connection=google, app="email", opted_out_user_ids=[demo.seller1.pk], actor=demo.admin
    )
    governance.app_toggle(connection_app=app(google, "email"), enabled=False, actor=demo.admin)
    url = reverse("integrations:app_toggle", args=[app(google, "email").pk])

    page = admin_client.get(url, {"enabled": "on"}).content.decode()
    assert "All users are included again." in page and "the 1 user opted out now will be synced again" in page

    admin_client.post(url, {"enabled": "on"})

    assert app(google, "email").enabled is True
    assert not SyncOptOut.objects.exists()


# --- Disconnect ----------------------------------------------------------------------------------
def test_disconnecting_email_says_exactly_what_stops(admin_client, google):
    url = reverse("integrations:app_disconnect", args=[app(google, "email").pk])

    page = admin_client.get(url).content.decode()

    assert "all users' mailboxes are unsynced" in page
    assert "nobody can send email from Cadence" in page
    assert "last connected app" not in page
    admin_client.post(url)
    assert app(google, "email").installed is False
    google.refresh_from_db()
    assert google.status == Connection.Status.CONNECTED


def test_disconnecting_the_last_app_disconnects_the_connection(admin_client, google):
    governance.app_disconnect(connection_app=app(google, "email"), actor=None)
    url = reverse("integrations:app_disconnect", args=[app(google, "calendar").pk])

    page = admin_client.get(url).content.decode()
    assert "all users' calendars and address books are unsynced" in page
    assert "this is the last connected app of Google Workspace" in page

    admin_client.post(url)

    google.refresh_from_db()
    assert google.status == Connection.Status.DISCONNECTED and not google.credentials
    page = admin_client.get(CONNECTED).content.decode()
    assert "Nothing is connected yet." in page


# --- Manage users' sync data ---------------------------------------------------------------------
def test_manage_users_lists_every_user_with_why_they_are_or_are_not_synced(admin_client, demo, google):
    governance.connection_set_scope(
        connection=google,
        kind="group",
        key="sales@demo.example",
        name="Sales",
        members=[SELLER1, SELLER2],
        actor=demo.admin,
    )
    governance.opt_outs_set(
        connection=google, app="email", opted_out_user_ids=[demo.seller2.pk], actor=demo.admin
    )
    [failed] = sync_states.mailbox_sync_states_ensure(
        connection=google, wanted=[(demo.seller1.pk, "email", f"email:{SELLER1}")]
    )
    SyncState.objects.filter(pk=failed.pk).update(
        status=SyncState.Status.FAILED, last_error="Gmail kept failing."
    )

    page = admin_client.get(
        reverse("integrations:manage_users", args=[app(google, "email").pk])
    ).content.decode()

    assert "Provider scope: only members of <strong>Sales</strong>" in page
    rows = {
        email: page[page.index(f'data-user="{email}"') :].split("</tr>", 1)[0]
        for email in (ADMIN, SELLER1, SELLER2)
    }
    assert "Not in the Sales group — the provider&#x27;s scope wins" in rows[ADMIN]
    assert "Synced" in rows[SELLER1] and "checked" in rows[SELLER1]
    assert (
        "Failed" in rows[SELLER1] and "Gmail kept failing." in rows[SELLER1] and "Retry now" in rows[SELLER1]
    )
    assert "Opted out" in rows[SELLER2] and "checked" not in rows[SELLER2]
    assert "1 of 3 users synced" in page


def test_saving_manage_users_writes_the_opt_outs(admin_client, demo, google):
    url = reverse("integrations:manage_users", args=[app(google, "calendar").pk])

    response = admin_client.post(url, {"synced": [str(demo.admin.pk), str(demo.seller2.pk)]})

    assert response.status_code == 302
    assert list(SyncOptOut.objects.values_list("app", "user__email")) == [("calendar", SELLER1)]


def test_retry_now_clears_the_backoff_and_starts_a_run(
    admin_client, demo, google, monkeypatch, django_capture_on_commit_callbacks
):
    started: list[tuple[int, bool]] = []
    monkeypatch.setattr(sync_tasks, "enqueue_sync", lambda pk, force=False: started.append((pk, force)))
    [state] = sync_states.mailbox_sync_states_ensure(
        connection=google, wanted=[(demo.seller1.pk, "email", f"email:{SELLER1}")]
    )
    SyncState.objects.filter(pk=state.pk).update(
        status=SyncState.Status.FAILED, attempts=5, next_run_at=timezone.now() + dt.timedelta(hours=1)
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("integrations:mailbox_retry", args=[state.pk]))

    assert response["Location"] == reverse("integrations:manage_users", args=[app(google, "email").pk])
    state.refresh_from_db()
    assert (state.status, state.attempts, state.next_run_at) == (SyncState.Status.IDLE, 0, None)
    assert started == [(state.pk, True)]
    assert AuditEvent.objects.filter(action="integration.mailbox_retry").exists()


# --- Settings › Integrations (user-managed, B3) --------------------------------------------------
SETTINGS = reverse("engage:settings")


def card(page: str, provider: str) -> str:
    start = page.index(f'class="connection-card" data-provider="{provider}"')
    end = page.find('class="connection-card"', start + 1)
    return page[start : end if end > 0 else None]


def test_a_seller_can_connect_google_or_microsoft_themselves(client, demo):
    client.force_login(demo.seller1)

    page = client.get(SETTINGS).content.decode()

    assert reverse("integrations:google_connect_user") in card(page, "google")
    assert reverse("integrations:microsoft_connect_user") in card(page, "microsoft")
    assert "One consent connects both Gmail and Google Calendar" in card(page, "google")


def test_an_admin_managed_connection_hides_the_sellers_own_connect(client, demo, google):
    client.force_login(demo.seller1)

    page = client.get(SETTINGS).content.decode()

    google_card = card(page, "google")
    assert "Managed by your admin: Gmail and Google Calendar connected" in google_card
    assert reverse("integrations:google_connect_user") not in google_card
    assert reverse("integrations:microsoft_connect_user") in card(page, "microsoft")


def test_a_seller_disconnects_their_own_connection_after_confirming(client, demo):
    own = Connection.objects.create(
        organization=demo.org,
        provider="google",
        scope=Connection.Scope.USER,
        user=demo.seller1,
        external_username=SELLER1,
        details={"mode": "oauth"},
    )
    governance.apps_install(connection=own, actor=demo.seller1)
    client.force_login(demo.seller1)
    page = client.get(SETTINGS).content.decode()
    assert "Gmail and Google Calendar connected" in card(page, "google")
    url = reverse("integrations:own_disconnect")
    assert f"{url}?provider=google" in card(page, "google")

    confirm = client.get(url, {"provider": "google"}).content.decode()
    assert "you can no longer send email from Cadence" in confirm

    response = client.post(url, {"provider": "google"})

    assert response["Location"] == SETTINGS + "#connections"
    own.refresh_from_db()
    assert own.status == Connection.Status.DISCONNECTED
    assert not own.apps.filter(installed=True).exists()


def test_nobody_can_disconnect_someone_elses_connection(client, demo):
    own = Connection.objects.create(
        organization=demo.org, provider="google", scope=Connection.Scope.USER, user=demo.seller1
    )
    client.force_login(demo.seller2)

    client.post(reverse("integrations:own_disconnect"), {"provider": "google"})

    own.refresh_from_db()
    assert own.status == Connection.Status.CONNECTED
