"""The support staff's Django admin (A7): apps, opt-outs and mailbox rows are read-only; a mailbox
row can be run again."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from integrations import governance
from integrations.models import SyncState
from integrations.sync import states as sync_states
from integrations.sync import tasks as mailsync_tasks
from tests.integrations.sync.mailbox_helpers import SELLER1
from tests.support_login_helpers import sign_in_to_support, support_user


def test_support_staff_see_apps_opt_outs_and_mailbox_rows_read_only(client, demo, google):
    governance.opt_outs_set(
        connection=google, app="email", opted_out_user_ids=[demo.seller2.pk], actor=demo.admin
    )
    sync_states.mailbox_sync_states_ensure(
        connection=google, wanted=[(demo.seller1.pk, "email", f"email:{SELLER1}")]
    )
    sign_in_to_support(client, support_user())

    for path in ("connectionapp", "syncoptout", "syncstate"):
        assert client.get(f"/support/integrations/{path}/").status_code == 200
        assert client.get(f"/support/integrations/{path}/add/").status_code == 403
    assert SELLER1 in client.get("/support/integrations/syncstate/").content.decode()


def test_re_run_sync_clears_a_mailbox_backoff_and_enqueues_it(
    client, demo, google, monkeypatch, django_capture_on_commit_callbacks
):
    [state] = sync_states.mailbox_sync_states_ensure(
        connection=google, wanted=[(demo.seller1.pk, "email", f"email:{SELLER1}")]
    )
    SyncState.objects.filter(pk=state.pk).update(
        status=SyncState.Status.FAILED, attempts=5, next_run_at=timezone.now() + dt.timedelta(hours=1)
    )
    started: list[tuple[int, bool]] = []
    monkeypatch.setattr(
        mailsync_tasks, "enqueue_sync", lambda pk, force=False, **kw: started.append((pk, force))
    )
    sign_in_to_support(client, support_user())

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/support/integrations/syncstate/", {"action": "rerun_sync", "_selected_action": [state.pk]}
        )

    state.refresh_from_db()
    assert (state.status, state.attempts, state.next_run_at) == (SyncState.Status.IDLE, 0, None)
    assert started == [(state.pk, True)]
