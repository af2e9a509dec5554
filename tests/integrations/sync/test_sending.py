"""Sending from the app through the user's connected mailbox (B9, issue point 10), against the
sandbox's Gmail: on the timeline at once, allowed with the email toggle OFF, refused after a
disconnect (B5, B6)."""

from __future__ import annotations

import pytest

from copilot.models import Activity
from integrations import governance
from integrations.models import Connection, ConnectionApp, SyncState
from integrations.records import Address
from integrations.sending import EMAIL_DISCONNECTED, NO_CONNECTION, SendingUnavailable, send_message
from integrations.sync import states as sync_states
from integrations.sync.engine import Stop
from integrations.sync.engine import run as run_mailbox_sync
from integrations.sync.source import OutgoingMessage
from tests.integrations.sync.mailbox_helpers import SELLER1, sandbox_google_connection

MESSAGE = OutgoingMessage(
    to=(Address("buyer@bigcustomer.example", "Bea Buyer"),),
    subject="Next steps",
    text="Hello Bea, here is the proposal we discussed.",
)


@pytest.fixture
def connection(sandbox, demo) -> Connection:
    return sandbox_google_connection(sandbox, demo)


def app(connection: Connection, name: str) -> ConnectionApp:
    return ConnectionApp.objects.get(connection=connection, app=name)


def test_a_sent_message_is_on_the_timeline_at_once_and_deduplicated_by_the_sync(
    sandbox, demo, connection, recorder
):
    record = send_message(user=demo.seller1, message=MESSAGE)

    assert record.message_id_header.endswith("@demo.example") and "<" not in record.message_id_header
    [(context, records)] = recorder.batches
    assert context.sent_from_app and context.kind == "email" and context.mailbox == SELLER1
    assert records == [record]
    sent = Activity.objects.filter(organization=demo.org, subject="Next steps")
    assert sent.count() == 1
    # Gmail has the message with the same Message-ID; the sync sees it and stores nothing new.
    [state] = sync_states.mailbox_sync_states_ensure(
        connection=connection, wanted=[(demo.seller1.pk, "email", f"email:{SELLER1}")]
    )
    assert run_mailbox_sync(sync_state_id=state.pk).stopped == Stop.DONE
    assert record.message_id_header in {r.message_id_header for r in recorder.records("email")[1:]}
    assert sent.count() == 1


def test_sending_works_while_the_email_app_is_off_and_nothing_is_synced(sandbox, demo, connection, recorder):
    governance.app_toggle(connection_app=app(connection, "email"), enabled=False, actor=demo.admin)

    record = send_message(user=demo.seller1, message=MESSAGE)

    assert record.external_id
    assert [context.sent_from_app for context in recorder.contexts()] == [True]


def test_disconnecting_email_stops_sending_and_both_apps_disconnect_the_connection(sandbox, demo, connection):
    governance.app_disconnect(connection_app=app(connection, "email"), actor=demo.admin)

    with pytest.raises(SendingUnavailable) as refused:
        send_message(user=demo.seller1, message=MESSAGE)
    assert refused.value.reason == EMAIL_DISCONNECTED
    connection.refresh_from_db()
    assert connection.status == Connection.Status.CONNECTED and connection.credentials
    sandbox.control.clear_requests()

    governance.app_disconnect(connection_app=app(connection, "calendar"), actor=demo.admin)

    connection.refresh_from_db()
    assert connection.status == Connection.Status.DISCONNECTED and not connection.credentials
    assert not SyncState.objects.filter(connection=connection).exists()
    assert sandbox.control.requests("/google/revoke")  # Cadence's access revoked at Google
    with pytest.raises(SendingUnavailable) as refused:
        send_message(user=demo.seller1, message=MESSAGE)
    assert refused.value.reason == NO_CONNECTION


def test_a_users_own_connection_sends_from_their_mailbox(sandbox, demo, recorder):
    sandbox_google_connection(sandbox, demo, user=demo.seller2)

    record = send_message(user=demo.seller2, message=MESSAGE)

    assert record.sender.email == "seller2@demo.example"
    with pytest.raises(SendingUnavailable):
        send_message(user=demo.seller1, message=MESSAGE)
