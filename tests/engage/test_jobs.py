"""Which jobs are dead, who takes one over, and the every-minute sweep that queues them again
(engage/jobs.py). Dead workers are real processes killed with SIGKILL, or workers on another host
whose heartbeat has gone silent (judged with an injected clock)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from engage import tasks
from engage.jobs import JOB_HEARTBEAT_TIMEOUT, job_claim, job_is_dead, jobs_dead
from engage.models import ContactImport, CrmPoll
from engage.services import imports as import_services
from engage.services.crm import poll as poll_services
from integrations.schedule import install_periodic_tasks
from tests.engage.jobs_helpers import dead_worker, live_worker

ELSEWHERE = "crm-poll:another-host:41:0ff1ce"  # never judged dead by its pid: only by its silence


def running_poll(acme: Any, sobject: str = "Lead", **fields: Any) -> CrmPoll:
    now = timezone.now()
    values = {"status": CrmPoll.Status.RUNNING, "started_at": now, "heartbeat_at": now, **fields}
    return CrmPoll.objects.create(organization=acme, sobject=sobject, **values)


def running_import(acme: Any, status: str = ContactImport.Status.IMPORTING, **fields: Any) -> ContactImport:
    now = timezone.now()
    values = {"status": status, "started_at": now, "heartbeat_at": now, **fields}
    return ContactImport.objects.create(organization=acme, original_name="leads.csv", file="x.csv", **values)


def claim(poll: CrmPoll, worker: str) -> CrmPoll | None:
    failed: list[CrmPoll] = []
    job = job_claim(
        CrmPoll,
        poll.pk,
        queued=CrmPoll.Status.QUEUED,
        running=CrmPoll.Status.RUNNING,
        worker=worker,
        fail=failed.append,
    )
    assert not failed
    return job


def test_a_job_is_dead_when_its_process_was_killed_or_its_heartbeat_fell_silent(acme):
    poll = running_poll(acme, worker=ELSEWHERE)
    beat = poll.heartbeat_at
    running = (CrmPoll.Status.RUNNING,)

    assert not job_is_dead(poll, running=running, now=beat + JOB_HEARTBEAT_TIMEOUT)
    assert job_is_dead(poll, running=running, now=beat + JOB_HEARTBEAT_TIMEOUT + timedelta(seconds=1))
    poll.worker = dead_worker("crm-poll")
    assert job_is_dead(poll, running=running, now=beat)  # at once, whatever the heartbeat says
    with live_worker("crm-poll") as alive:
        poll.worker = alive
        assert not job_is_dead(poll, running=running, now=beat)
    poll.status = CrmPoll.Status.DONE
    assert not job_is_dead(poll, running=running, now=beat + timedelta(days=1))


def test_of_two_deliveries_of_a_dead_workers_job_only_one_takes_it_over(acme):
    dead = dead_worker("crm-poll")
    poll = running_poll(acme, worker=dead)

    with live_worker("crm-poll") as first, live_worker("crm-poll") as second:
        taken = claim(poll, first)
        assert taken is not None and taken.taken_over and taken.worker == first
        assert claim(poll, second) is None  # the job is the first's now, and it is alive
        poll.refresh_from_db()
        assert (poll.worker, poll.takeovers) == (first, 1)


def test_the_sweep_queues_only_dead_jobs_again(acme, monkeypatch, django_assert_num_queries):
    silent = timezone.now() - timedelta(minutes=3)
    with live_worker("crm-poll") as alive:
        running_poll(acme, "Contact", worker=alive)
        running_import(acme, worker=ELSEWHERE)  # another host, beating
        running_import(acme, started_at=None, heartbeat_at=None)  # queued: its task is on its way
        with django_assert_num_queries(1):
            assert jobs_dead() == []

        dead_poll = running_poll(acme, "Lead", worker=dead_worker("crm-poll"))
        dead_check = running_import(
            acme, ContactImport.Status.VALIDATING, worker=ELSEWHERE, heartbeat_at=silent
        )
        dead_import = running_import(acme, worker=dead_worker("contact-import"))
        sent: list[tuple[str, list[int], int]] = []
        for name in ("crm_poll_run", "contact_import_validate", "contact_import_run"):
            monkeypatch.setattr(
                getattr(tasks, name),
                "apply_async",
                lambda args, expires, name=name: sent.append((name, args, expires)),
            )

        assert tasks.jobs_resume_dead() == 3

    assert sorted(sent) == sorted(
        [
            ("crm_poll_run", [dead_poll.pk], tasks.JOBS_RESUME_EXPIRES),
            ("contact_import_validate", [dead_check.pk], tasks.JOBS_RESUME_EXPIRES),
            ("contact_import_run", [dead_import.pk], tasks.JOBS_RESUME_EXPIRES),
        ]
    )


def test_the_sweep_fails_a_job_only_once_it_is_silent_for_longer_than_its_task_may_run(acme):
    poll = running_poll(acme, worker=ELSEWHERE)
    passing = running_import(acme, worker=ELSEWHERE)
    poll_beat, import_beat = poll.heartbeat_at, passing.heartbeat_at
    second = timedelta(seconds=1)

    assert poll_services.polls_fail_stale(now=poll_beat + poll_services.STALE_AFTER) == 0
    assert import_services.imports_fail_stale(now=import_beat + import_services.STALE_AFTER) == 0
    assert poll_services.polls_fail_stale(now=poll_beat + poll_services.STALE_AFTER + second) == 1
    assert import_services.imports_fail_stale(now=import_beat + import_services.STALE_AFTER + second) == 1

    poll.refresh_from_db()
    passing.refresh_from_db()
    assert (poll.status, poll.failure_message) == (CrmPoll.Status.FAILED, poll_services.WORKER_LOST)
    assert (passing.status, passing.failure_message) == (
        ContactImport.Status.FAILED,
        import_services.WORKER_LOST,
    )
    assert poll_services.polls_fail_stale(now=poll_beat + timedelta(days=1)) == 0  # failed once


@pytest.mark.django_db
def test_the_sweep_is_installed_in_the_beat_schedule_every_minute():
    PeriodicTask.objects.filter(name=tasks.JOBS_SWEEP_NAME).delete()
    install_periodic_tasks()
    sweep = PeriodicTask.objects.get(name=tasks.JOBS_SWEEP_NAME)
    assert sweep.task == "engage.jobs_resume_dead" and sweep.enabled
    assert sweep.interval.every == 60 and sweep.interval.period == "seconds"
