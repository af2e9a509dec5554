"""Governance of mail/calendar connections (B4–B6): who is synced, toggling, opting out and
disconnecting — each with the consequences the admin guide states."""

from __future__ import annotations

import pytest

from copilot.models import AuditEvent
from integrations import governance, selectors, services
from integrations.models import Connection, ConnectionApp, SyncOptOut, SyncState
from integrations.records import Address
from integrations.sending import (
    EMAIL_DISCONNECTED,
    NO_CONNECTION,
    SendingUnavailable,
    send_message,
    sending_unavailable_reason,
)
from integrations.sync import fanout
from integrations.sync import tasks as mailsync_tasks
from integrations.sync.engine import Stop
from integrations.sync.engine import run as run_mailbox_sync
from integrations.sync.source import OutgoingMessage
from tests.factories import UserFactory
from tests.integrations.sync import mailbox_helpers
from tests.integrations.sync.mailbox_helpers import ADMIN, SELLER1, SELLER2, make_google_connection

demo, google, recorder = mailbox_helpers.demo, mailbox_helpers.google, mailbox_helpers.recorder

pytestmark = pytest.mark.django_db


@pytest.fixture
def enqueued(monkeypatch) -> list[int]:
    """The sync-state ids the fan-out enqueues (instead of running them)."""
    ids: list[int] = []
    monkeypatch.setattr(mailsync_tasks, "enqueue_sync", lambda pk, **kw: ids.append(pk))
    return ids


def app(connection: Connection, name: str) -> ConnectionApp:
    return ConnectionApp.objects.get(connection=connection, app=name)


def reasons(connection: Connection, name: str) -> dict[str, str]:
    return {row.user.email: row.reason for row in selectors.eligibility(connection=connection, app=name)}


def fanned_out(enqueued: list[int]) -> set[str]:
    fanout.fan_out()
    return set(SyncState.objects.filter(pk__in=enqueued).values_list("object_name", flat=True))


# --- Eligibility (B4) ------------------------------------------------------------------------------
def test_every_org_user_is_synced_once_connected(demo, google):
    assert reasons(google, "email") == {ADMIN: "Synced", SELLER1: "Synced", SELLER2: "Synced"}
    assert {m.address for m in selectors.eligible_mailboxes(connection=google, app="calendar")} == {
        ADMIN,
        SELLER1,
        SELLER2,
    }


def test_only_active_users_whose_user_name_is_their_email_are_synced(demo, google):
    demo.seller1.mailbox_username = "sam"
    demo.seller1.save(update_fields=["mailbox_username"])
    demo.seller2.is_active = False
    demo.seller2.save(update_fields=["is_active"])
    UserFactory(email="someone@other.example")  # another organisation's user is never listed

    assert reasons(google, "email") == {
        ADMIN: "Synced",
        SELLER1: "User name differs from email",
        SELLER2: "Deactivated user",
    }


def test_the_providers_scope_wins_over_the_opt_out_list(demo, google):
    governance.connection_set_scope(
        connection=google,
        kind="group",
        key="sales@demo.example",
        name="Sales",
        members=[SELLER1, "SELLER2@demo.example"],
        actor=demo.admin,
    )
    governance.opt_outs_set(
        connection=google, app="email", opted_out_user_ids=[demo.admin.pk, demo.seller2.pk], actor=demo.admin
    )

    assert reasons(google, "email") == {
        ADMIN: "Not in the Sales group — the provider's scope wins",  # listed as opted out, but outside anyway
        SELLER1: "Synced",
        SELLER2: "Opted out",
    }
    assert reasons(google, "calendar")[SELLER2] == "Synced"  # opt-outs are per app


def test_an_org_unit_scope_says_so(demo, google):
    governance.connection_set_scope(
        connection=google, kind="org_unit", key="/Sales", name="/Sales", members=[SELLER1], actor=demo.admin
    )

    assert (
        reasons(google, "email")[ADMIN] == "Not in the /Sales organisational unit — the provider's scope wins"
    )


def test_setting_the_scope_is_audited_once_and_members_are_lower_cased(demo, google):
    for _ in range(2):
        governance.connection_set_scope(
            connection=google,
            kind="group",
            key="sales@demo.example",
            name="Sales",
            members=[" Seller1@Demo.example "],
            actor=demo.admin,
        )

    google.refresh_from_db()
    assert google.details["scope"] == {"kind": "group", "key": "sales@demo.example", "name": "Sales"}
    assert google.details["scope_members"] == [SELLER1]
    assert AuditEvent.objects.filter(action="integration.scope_set").count() == 1


def test_a_user_managed_connection_syncs_only_its_owner(demo):
    own = Connection.objects.create(
        organization=demo.org,
        provider="google",
        scope=Connection.Scope.USER,
        user=demo.seller1,
        external_username=SELLER1,
        details={"mode": "oauth", "email": SELLER1},
    )
    governance.apps_install(connection=own, actor=demo.seller1)

    assert reasons(own, "email") == {SELLER1: "Synced"}


def test_a_user_managed_connection_is_not_synced_once_the_admin_connects(demo):
    own = Connection.objects.create(
        organization=demo.org,
        provider="google",
        scope=Connection.Scope.USER,
        user=demo.seller1,
        external_username=SELLER1,
        details={"mode": "oauth", "email": SELLER1},
    )
    governance.apps_install(connection=own, actor=demo.seller1)
    make_google_connection(demo)

    assert reasons(own, "email") == {SELLER1: selectors.REASON_ADMIN_MANAGED}


# --- Opt-outs ------------------------------------------------------------------------------------
def test_saving_opt_outs_makes_them_exactly_the_given_users(demo, google, outsider):
    governance.opt_outs_set(
        connection=google, app="email", opted_out_user_ids=[demo.seller1.pk], actor=demo.admin
    )
    governance.opt_outs_set(
        connection=google, app="email", opted_out_user_ids=[demo.seller2.pk, outsider.pk], actor=demo.admin
    )

    assert list(SyncOptOut.objects.filter(connection=google).values_list("user__email", "app")) == [
        (SELLER2, "email")
    ]
    event = AuditEvent.objects.filter(action="integration.opt_outs_changed").order_by("pk").last()
    assert event.data["opted_out"] == [demo.seller2.pk] and event.data["included"] == [demo.seller1.pk]


def test_an_opted_out_user_is_no_longer_fanned_out_and_their_rows_go(demo, google, enqueued):
    assert f"email:{SELLER1}" in fanned_out(enqueued)

    governance.opt_outs_set(
        connection=google, app="email", opted_out_user_ids=[demo.seller1.pk], actor=demo.admin
    )
    enqueued.clear()

    assert not SyncState.objects.filter(connection=google, object_name=f"email:{SELLER1}").exists()
    names = fanned_out(enqueued)
    assert f"email:{SELLER1}" not in names and f"calendar:{SELLER1}" in names


# --- Toggle (B5) ---------------------------------------------------------------------------------
def test_email_off_stops_email_sync_only(demo, google, enqueued, recorder):
    fanned_out(enqueued)
    email_row = SyncState.objects.get(connection=google, object_name=f"email:{SELLER1}")
    enqueued.clear()

    governance.app_toggle(connection_app=app(google, "email"), enabled=False, actor=demo.admin)

    names = fanned_out(enqueued)
    assert names == {
        f"{kind}:{user}" for kind in ("calendar", "contacts") for user in (ADMIN, SELLER1, SELLER2)
    }
    # A run already queued before the toggle ingests nothing either.
    result = run_mailbox_sync(sync_state_id=email_row.pk)
    assert result.stopped == Stop.DISABLED and result.reason == selectors.REASON_APP_OFF
    assert recorder.batches == []
    assert AuditEvent.objects.filter(action="integration.app_disabled", data__app="email").exists()


def test_email_off_leaves_sending_available(demo, google):
    governance.app_toggle(connection_app=app(google, "email"), enabled=False, actor=demo.admin)

    assert sending_unavailable_reason(demo.seller1) == (google, "")


def test_calendar_off_stops_calendar_and_address_book_sync(demo, google, enqueued):
    governance.app_toggle(connection_app=app(google, "calendar"), enabled=False, actor=demo.admin)

    assert fanned_out(enqueued) == {f"email:{user}" for user in (ADMIN, SELLER1, SELLER2)}


def test_turning_an_app_back_on_includes_every_user_again(demo, google, enqueued):
    governance.opt_outs_set(
        connection=google,
        app="email",
        opted_out_user_ids=[demo.seller1.pk, demo.seller2.pk],
        actor=demo.admin,
    )
    governance.opt_outs_set(
        connection=google, app="calendar", opted_out_user_ids=[demo.seller1.pk], actor=demo.admin
    )
    governance.app_toggle(connection_app=app(google, "email"), enabled=False, actor=demo.admin)

    governance.app_toggle(connection_app=app(google, "email"), enabled=True, actor=demo.admin)

    assert reasons(google, "email") == {ADMIN: "Synced", SELLER1: "Synced", SELLER2: "Synced"}
    assert list(SyncOptOut.objects.filter(connection=google).values_list("app", flat=True)) == ["calendar"]
    assert {f"email:{u}" for u in (ADMIN, SELLER1, SELLER2)} <= fanned_out(enqueued)
    event = AuditEvent.objects.filter(action="integration.app_enabled").get()
    assert event.data["opt_outs_removed"] == 2 and event.actor == demo.admin


def test_toggling_to_the_current_state_changes_nothing(demo, google):
    governance.opt_outs_set(
        connection=google, app="email", opted_out_user_ids=[demo.seller1.pk], actor=demo.admin
    )

    governance.app_toggle(connection_app=app(google, "email"), enabled=True, actor=demo.admin)

    assert SyncOptOut.objects.filter(connection=google).count() == 1
    assert not AuditEvent.objects.filter(action="integration.app_enabled").exists()


# --- Disconnect (B6) -----------------------------------------------------------------------------
def test_disconnecting_email_unsyncs_every_mailbox_and_stops_sending(demo, google, enqueued):
    fanned_out(enqueued)
    enqueued.clear()

    governance.app_disconnect(connection_app=app(google, "email"), actor=demo.admin)

    assert not SyncState.objects.filter(connection=google, kind="email").exists()
    assert SyncState.objects.filter(connection=google, kind="calendar").count() == 3
    assert all(not name.startswith("email:") for name in fanned_out(enqueued))
    google.refresh_from_db()
    assert google.status == Connection.Status.CONNECTED  # the calendar app still runs on it
    with pytest.raises(SendingUnavailable) as refused:
        send_message(
            user=demo.seller1,
            message=OutgoingMessage(to=(Address("buyer@customer.example"),), subject="Hi", text="Hello"),
        )
    assert refused.value.reason == EMAIL_DISCONNECTED
    assert AuditEvent.objects.filter(action="integration.app_disconnected", data__app="email").exists()


def test_disconnecting_the_calendar_unsyncs_calendars_and_address_books(demo, google, enqueued):
    fanned_out(enqueued)
    enqueued.clear()

    governance.app_disconnect(connection_app=app(google, "calendar"), actor=demo.admin)

    assert set(SyncState.objects.filter(connection=google).values_list("kind", flat=True)) == {"email"}
    assert fanned_out(enqueued) == {f"email:{user}" for user in (ADMIN, SELLER1, SELLER2)}
    assert sending_unavailable_reason(demo.seller1) == (google, "")


def test_a_disconnected_app_cannot_be_toggled(demo, google):
    governance.app_disconnect(connection_app=app(google, "email"), actor=demo.admin)

    with pytest.raises(ValueError):
        governance.app_toggle(connection_app=app(google, "email"), enabled=True, actor=demo.admin)


def test_connecting_a_disconnected_app_again_includes_everyone(demo, google):
    governance.opt_outs_set(
        connection=google, app="email", opted_out_user_ids=[demo.seller1.pk], actor=demo.admin
    )
    governance.opt_outs_set(
        connection=google, app="calendar", opted_out_user_ids=[demo.seller1.pk], actor=demo.admin
    )
    governance.app_disconnect(connection_app=app(google, "email"), actor=demo.admin)

    governance.apps_install(connection=google, actor=demo.admin)  # the connect flow again, both apps

    row = app(google, "email")
    assert row.installed and row.enabled
    assert list(SyncOptOut.objects.filter(connection=google).values_list("app", flat=True)) == ["calendar"]


def test_disconnecting_the_whole_connection_disconnects_its_apps(demo, google):
    governance.opt_outs_set(
        connection=google, app="email", opted_out_user_ids=[demo.seller1.pk], actor=demo.admin
    )

    services.connection_disconnect(connection=google, actor=demo.admin)

    assert not google.apps.filter(installed=True).exists()
    governance.apps_install(connection=google, actor=demo.admin)  # connecting again includes everyone
    assert not SyncOptOut.objects.filter(connection=google).exists()


# --- Which connection serves a mailbox ------------------------------------------------------------
def test_the_admin_managed_connection_serves_everyone_in_its_scope(demo, google):
    own = Connection.objects.create(
        organization=demo.org,
        provider="microsoft",
        scope=Connection.Scope.USER,
        user=demo.seller2,
        external_username=SELLER2,
    )
    governance.connection_set_scope(
        connection=google,
        kind="group",
        key="sales@demo.example",
        name="Sales",
        members=[SELLER1],
        actor=demo.admin,
    )

    assert selectors.mail_connection_for(demo.seller1) == google
    assert selectors.mail_connection_for(demo.admin) is None  # outside the scope, nothing of their own
    assert selectors.mail_connection_for(demo.seller2) == own  # a provider the admin did not connect


def test_a_users_own_connection_serves_only_without_an_admin_managed_one(demo):
    own = Connection.objects.create(
        organization=demo.org,
        provider="google",
        scope=Connection.Scope.USER,
        user=demo.seller1,
        external_username=SELLER1,
    )
    assert selectors.mail_connection_for(demo.seller1) == own
    assert selectors.mail_connection_for(demo.seller2) is None

    org_wide = make_google_connection(demo)

    assert selectors.mail_connection_for(demo.seller1) == org_wide


def test_sending_without_a_connection_is_refused_plainly(demo):
    with pytest.raises(SendingUnavailable) as refused:
        send_message(
            user=demo.seller1, message=OutgoingMessage(to=(Address("a@b.example"),), subject="s", text="t")
        )

    assert refused.value.reason == NO_CONNECTION


def test_sending_through_a_connection_that_needs_a_reconnect_is_refused(demo, google):
    services.connection_mark_needs_reconnect(connection=google, reason="Google refused the refresh token.")

    _, reason = sending_unavailable_reason(demo.seller1)

    assert "needs to be reconnected" in reason and "administrator" in reason
