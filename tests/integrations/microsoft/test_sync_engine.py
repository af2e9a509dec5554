"""Microsoft mailboxes through the real sync engine (fan-out, lease, cursor per page, ingestion):
a security-group-scoped connection syncs its members, an idle second cycle costs one Graph request,
and a mailbox outside the application access policy fails alone with the reason."""

from __future__ import annotations

import json

import pytest

from integrations import governance
from integrations.base import get_source as get_adapter
from integrations.base import register_source as register_adapter
from integrations.microsoft.errors import OUTSIDE_POLICY
from integrations.microsoft.fetch.source import MICROSOFT_ADAPTER
from integrations.models import SyncState
from integrations.sync.engine import run as run_mailbox_sync
from integrations.sync.fanout import due_states
from tests.factories import UserFactory
from tests.integrations.microsoft.conftest import ADMIN, SELLER1, SELLER2


@pytest.fixture
def demo_users(acme):
    return {email: UserFactory(organization=acme, email=email) for email in (ADMIN, SELLER1, SELLER2)}


@pytest.fixture
def email_app(app_connection, owner, demo_users):
    if get_adapter("microsoft") is not MICROSOFT_ADAPTER:
        register_adapter(MICROSOFT_ADAPTER)
    governance.apps_install(connection=app_connection, apps=("email",), actor=owner)
    return app_connection


def state_of(connection, address: str) -> SyncState:
    return SyncState.objects.get(connection=connection, object_name=f"email:{address}")


def test_a_scoped_connection_syncs_its_members_and_an_idle_cycle_costs_one_request(ms, email_app, owner):
    governance.connection_set_scope(
        connection=email_app,
        kind="security_group",
        key="g",
        name="Cadence sellers",
        members=[SELLER1, SELLER2],
        actor=owner,
    )
    states = due_states(email_app)
    assert sorted(s.object_name for s in states) == [f"email:{SELLER1}", f"email:{SELLER2}"]

    first = run_mailbox_sync(sync_state_id=state_of(email_app, SELLER1).pk)

    assert first.records > 0 and first.full_sync
    state = state_of(email_app, SELLER1)
    assert state.last_success_at is not None
    assert all("$deltatoken" in link for link in json.loads(state.cursor).values())
    ms.control.clear_requests()

    second = run_mailbox_sync(sync_state_id=state.pk, force=True)

    assert (second.records, second.api_calls) == (0, 1)
    assert [r["path"] for r in ms.control.requests()] == ["/graph/v1.0/$batch"]


def test_a_mailbox_outside_the_access_policy_fails_alone_with_the_reason(ms, email_app, owner):
    ms.control.seed(
        "microsoft", {"access_policies": [{"group_id": "Cadence sellers", "access_right": "RestrictAccess"}]}
    )
    due_states(email_app)

    outside = run_mailbox_sync(sync_state_id=state_of(email_app, ADMIN).pk)
    inside = run_mailbox_sync(sync_state_id=state_of(email_app, SELLER1).pk)

    assert OUTSIDE_POLICY in outside.reason
    assert state_of(email_app, ADMIN).status == SyncState.Status.FAILED
    assert OUTSIDE_POLICY in state_of(email_app, ADMIN).last_error
    assert inside.records > 0
    assert state_of(email_app, SELLER1).status == SyncState.Status.IDLE
    email_app.refresh_from_db()
    assert email_app.status == "connected"
