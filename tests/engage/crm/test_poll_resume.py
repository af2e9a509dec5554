"""A historical poll whose worker is killed (kill -9, out of memory, a deploy) carries on after
the last page it stored: the task's redelivery, "Poll now" or the sweep take it over, Cancel
stops it at once, and the page says it is being resumed. Against the Salesforce sandbox's 3,000
demo leads, read in pages of 500; a worker is "killed" while it applies its third page (the
page's transaction is rolled back, as the database does for a lost connection) and its owner
name then points at a process that really was killed with SIGKILL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import OperationalError
from django.urls import reverse
from django.utils import timezone

from copilot.models import AuditEvent
from engage import tasks
from engage.jobs import JOB_MAX_TAKEOVERS
from engage.models import Contact, CrmPoll
from engage.services.crm import poll as crm_poll
from integrations.models import SyncState
from integrations.sandbox.salesforce import control as sf
from tests.engage.jobs_helpers import WorkerKilled, dead_worker, live_worker

Status = CrmPoll.Status
PAGE = 500
LEADS = 3_000  # the sandbox's demo leads


@pytest.fixture(autouse=True)
def pages_of_500(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("integrations.salesforce.fetch.poll.BATCH_SIZE", PAGE)


def counters(poll: CrmPoll) -> tuple[Any, ...]:
    return (
        poll.status,
        poll.total,
        poll.processed,
        poll.created_count,
        poll.updated_count,
        poll.unchanged_count,
        poll.error_count,
    )


def page_calls(sandbox: Any) -> dict[str, int]:
    calls = sf.api_calls(sandbox.state)
    return {name: calls.get(name, 0) for name in ("query", "query_more", "queryAll")}


def crm_ids(acme: Any) -> list[str]:
    return list(Contact.objects.filter(organization=acme, crm_type="Lead").values_list("crm_id", flat=True))


def poll_killed_on_page(acme, owner, monkeypatch, page: int = 3) -> CrmPoll:
    """A poll whose worker was killed while applying ``page``: the pages before it are stored."""
    real = crm_poll._Progress.page
    seen = []

    def die(self, *args):
        seen.append(args)
        if len(seen) == page:
            raise WorkerKilled
        real(self, *args)

    monkeypatch.setattr(crm_poll._Progress, "page", die)
    poll = crm_poll.poll_start(organization=acme, sobject="Lead", actor=owner)
    with pytest.raises(WorkerKilled):
        crm_poll.poll_run(poll_id=poll.pk)
    monkeypatch.setattr(crm_poll._Progress, "page", real)
    CrmPoll.objects.filter(pk=poll.pk).update(worker=dead_worker("crm-poll"))
    poll.refresh_from_db()
    return poll


def test_a_redelivered_poll_carries_on_from_its_last_page_and_adds_up_to_an_uninterrupted_one(
    acme, owner, sandbox, salesforce_connection, monkeypatch
):
    # What an uninterrupted poll does, then the same from scratch with a killed worker.
    uninterrupted = crm_poll.poll_start(organization=acme, sobject="Lead", actor=owner)
    crm_poll.poll_run(poll_id=uninterrupted.pk)
    uninterrupted.refresh_from_db()
    expected, expected_ids = counters(uninterrupted), sorted(crm_ids(acme))
    assert expected[:3] == (Status.DONE, LEADS, LEADS)
    Contact.objects.filter(organization=acme).delete()
    SyncState.objects.filter(connection=salesforce_connection, object_name="Lead").delete()

    poll = poll_killed_on_page(acme, owner, monkeypatch)

    assert (poll.status, poll.processed, poll.total) == (Status.RUNNING, 2 * PAGE, LEADS)
    first_pages = sorted(expected_ids)[: 2 * PAGE]
    assert poll.resume_after_id == first_pages[-1]  # read in Id order
    assert len(crm_ids(acme)) == poll.created_count + poll.updated_count  # page 3 rolled back
    started = poll.started_modstamp
    # Meanwhile someone edits a lead the poll has already read: the sync must still see it.
    sf.advance_clock(sandbox.state, seconds=120)
    sf.update_record(sandbox.state, "Lead", first_pages[0], {"Title": "Edited meanwhile"})
    before = page_calls(sandbox)

    crm_poll.poll_run(poll_id=poll.pk)  # the redelivered task

    poll.refresh_from_db()
    assert counters(poll) == expected, poll.failure_message
    assert sorted(crm_ids(acme)) == expected_ids  # every record once, none twice
    after = page_calls(sandbox)
    # Only the 2,000 records after the stored Id: one query and three more pages of 500; no new
    # count, no new newest-SystemModstamp read (queryAll).
    assert {name: after[name] - before[name] for name in after} == {
        "query": 1,
        "query_more": 3,
        "queryAll": 0,
    }
    assert poll.started_modstamp == started
    cursor = SyncState.objects.get(connection=salesforce_connection, object_name="Lead").cursor
    assert dt.datetime.fromisoformat(cursor) == started  # the first run's start, not the resume's


def test_a_poll_a_live_worker_runs_is_not_taken_over(acme, owner, sandbox, salesforce_connection):
    poll = crm_poll.poll_start(organization=acme, sobject="Lead", actor=owner)
    with live_worker("crm-poll") as alive:
        now = timezone.now()
        CrmPoll.objects.filter(pk=poll.pk).update(
            status=Status.RUNNING, started_at=now, heartbeat_at=now, worker=alive, processed=PAGE
        )
        before = page_calls(sandbox)

        crm_poll.poll_run(poll_id=poll.pk)  # a duplicate delivery

        poll.refresh_from_db()
        assert (poll.status, poll.worker, poll.processed) == (Status.RUNNING, alive, PAGE)
        assert page_calls(sandbox) == before


def test_a_poll_whose_worker_on_another_host_fell_silent_is_taken_over(
    acme, owner, sandbox, salesforce_connection
):
    poll = crm_poll.poll_start(organization=acme, sobject="Lead", actor=owner)
    silent = timezone.now() - dt.timedelta(minutes=3)
    CrmPoll.objects.filter(pk=poll.pk).update(
        status=Status.RUNNING, started_at=silent, heartbeat_at=silent, worker="crm-poll:elsewhere:41:0ff1ce"
    )
    crm_poll.poll_run(poll_id=poll.pk)
    poll.refresh_from_db()
    assert (poll.status, poll.processed) == (Status.DONE, LEADS)


def test_poll_now_on_a_dead_poll_carries_it_on(
    acme, owner, sandbox, salesforce_connection, monkeypatch, django_capture_on_commit_callbacks
):
    poll = poll_killed_on_page(acme, owner, monkeypatch)

    with django_capture_on_commit_callbacks(execute=True):
        again = crm_poll.poll_start(organization=acme, sobject="Lead", actor=owner)

    assert again.pk == poll.pk
    assert again.resume_message == (
        "The earlier poll stopped when its worker did; it carries on from record 1,001."
    )
    poll.refresh_from_db()
    assert (poll.status, poll.processed) == (Status.DONE, LEADS)
    assert CrmPoll.objects.filter(organization=acme).count() == 1
    assert AuditEvent.objects.filter(organization=acme, action="crm.poll_resumed").exists()


def test_the_admin_who_clicks_poll_now_on_a_dead_poll_is_told_it_carries_on(
    acme, owner, owner_client, sandbox, salesforce_connection, monkeypatch
):
    poll_killed_on_page(acme, owner, monkeypatch)

    response = owner_client.post(reverse("engage:crm_poll", args=["Lead"]), follow=True)

    assert "it carries on from record 1,001." in response.content.decode()
    assert CrmPoll.objects.filter(organization=acme).count() == 1


def test_cancel_on_a_dead_poll_cancels_it_at_once(
    acme, owner, owner_client, sandbox, salesforce_connection, monkeypatch
):
    poll = poll_killed_on_page(acme, owner, monkeypatch)

    poll = crm_poll.poll_cancel(poll=poll, actor=owner)

    assert poll.status == Status.CANCELLED and poll.finished_at is not None
    html = owner_client.get(reverse("engage:crm_poll_progress", args=[poll.pk])).content.decode()
    assert "Last poll was cancelled" in html and "It stopped after 1,000 of 3,000 records" in html
    assert "hx-trigger" not in html
    crm_poll.poll_run(poll_id=poll.pk)  # the redelivered task arrives anyway
    poll.refresh_from_db()
    assert (poll.status, poll.processed) == (Status.CANCELLED, 2 * PAGE)


def test_the_page_says_a_dead_poll_is_being_resumed_not_failed(
    acme, owner, owner_client, sandbox, salesforce_connection, monkeypatch
):
    poll = poll_killed_on_page(acme, owner, monkeypatch)

    html = owner_client.get(reverse("engage:crm_poll_progress", args=[poll.pk])).content.decode()

    assert "Resuming after a worker restart…" in html
    assert "it carries on from record 1,001" in html
    assert 'hx-trigger="every 1s"' in html and "did not finish" not in html
    poll.refresh_from_db()
    assert poll.status == Status.RUNNING


def test_a_poll_silent_past_its_time_limit_is_shown_stopped_and_the_sweep_fails_it(
    acme, owner, owner_client, salesforce_connection, monkeypatch
):
    """Silent for longer than its task may run: no worker will take it over any more. The pages
    say it stopped at once without writing (GETs), and the every-minute sweep stores it failed
    instead of queueing it again."""
    silent = timezone.now() - crm_poll.STALE_AFTER - dt.timedelta(minutes=1)
    poll = CrmPoll.objects.create(
        organization=acme,
        sobject="Lead",
        started_by=owner,
        status=Status.RUNNING,
        started_at=silent,
        heartbeat_at=silent,
        worker=dead_worker("crm-poll"),
        processed=2 * PAGE,
    )
    progress = reverse("engage:crm_poll_progress", args=[poll.pk])

    for url in (progress, reverse("engage:crm_poll", args=["Lead"])):
        html = owner_client.get(url).content.decode()
        assert "Last poll did not finish" in html and crm_poll.WORKER_LOST in html
        assert 'hx-trigger="every 1s"' not in html  # the page stops waiting
    poll.refresh_from_db()
    assert poll.status == Status.RUNNING  # the pages only read

    queued = []
    monkeypatch.setattr(tasks.crm_poll_run, "apply_async", lambda **kw: queued.append(kw))
    assert tasks.jobs_resume_dead() == 0 and not queued  # failed, not carried on

    poll.refresh_from_db()
    assert (poll.status, poll.failure_message) == (Status.FAILED, crm_poll.WORKER_LOST)
    assert poll.processed == 2 * PAGE and poll.finished_at is not None
    assert crm_poll.WORKER_LOST in owner_client.get(progress).content.decode()


def test_a_poll_that_kills_its_worker_again_and_again_fails(
    acme, owner, sandbox, salesforce_connection, monkeypatch
):
    poll = poll_killed_on_page(acme, owner, monkeypatch)
    CrmPoll.objects.filter(pk=poll.pk).update(takeovers=JOB_MAX_TAKEOVERS)

    crm_poll.poll_run(poll_id=poll.pk)

    poll.refresh_from_db()
    assert poll.status == Status.FAILED and "again and again" in poll.failure_message
    assert poll.processed == 2 * PAGE  # what was stored stays


def test_a_poll_whose_worker_loses_its_database_connection_carries_on_at_once(
    acme, owner, sandbox, salesforce_connection, monkeypatch, django_capture_on_commit_callbacks
):
    """A cut connection (pg_terminate_backend, a failover) rolls the page back; the live worker
    hands the poll back and queues it again instead of failing it."""
    real = crm_poll._Progress.page
    seen = []

    def cut(self, *args):
        seen.append(args)
        if len(seen) == 3:
            raise OperationalError("terminating connection due to administrator command")
        real(self, *args)

    monkeypatch.setattr(crm_poll._Progress, "page", cut)
    poll = crm_poll.poll_start(organization=acme, sobject="Lead", actor=owner)

    with django_capture_on_commit_callbacks(execute=True) as queued:
        crm_poll.poll_run(poll_id=poll.pk)
        poll.refresh_from_db()
        assert (poll.status, poll.worker, poll.processed) == (Status.RUNNING, "", 2 * PAGE)

    assert len(queued) == 1  # its task, queued again: it ran (eagerly) and took the poll over
    poll.refresh_from_db()
    assert (poll.status, poll.processed, poll.created_count + poll.updated_count + poll.error_count) == (
        Status.DONE,
        LEADS,
        LEADS - poll.unchanged_count,
    )
    assert len(seen) == LEADS // PAGE + 1  # the cut page once more, then the rest: none twice
    assert len(set(crm_ids(acme))) == len(crm_ids(acme))
