"""An import's push to Salesforce whose worker is killed carries on after the last chunk it stored:
the sweep (judged with an injected clock) or the task's redelivery takes it over, every contact
ends up in Salesforce once and linked, the counters add up as an uninterrupted push's, and a push
that keeps killing its worker fails saying so. Against the provider sandbox's Salesforce, in
chunks of 5 contacts; the worker is "killed" by an exception nothing catches (as the poll and
import take-over tests do), which rolls back what the chunk had not committed."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import OperationalError
from django.urls import reverse
from django.utils import timezone

from engage import tasks
from engage.jobs import JOB_HEARTBEAT_TIMEOUT, JOB_MAX_TAKEOVERS
from engage.models import Contact, ContactImport
from engage.services.crm import linking
from integrations.sandbox.salesforce import control as sfc
from tests.engage.crm import conftest as crm_fixtures
from tests.engage.crm import sf_helpers as sf
from tests.engage.imports.test_crm_push import csv_of, with_email
from tests.engage.jobs_helpers import WorkerKilled, dead_worker
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db
salesforce_connection = crm_fixtures.salesforce_connection
_fresh_describe_cache = crm_fixtures._fresh_describe_cache

Push = ContactImport.CrmPush
CHUNK = 5
NEW = 12  # three chunks with the two people Salesforce has: 5, 5 and 4
SECOND = dt.timedelta(seconds=1)


@pytest.fixture(autouse=True)
def chunks_of_five(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(linking, "IN_CHUNK", CHUNK)


@pytest.fixture
def queued_push(acme, salesforce_connection, sandbox, import_file, monkeypatch):
    """An import of NEW people Salesforce does not have and two it has (a Contact and a Lead),
    done, its push queued: its task is delivered by the tests."""
    known = [next(r for r in sf.records(sandbox, "Contact") if r.get("Email")), sf.open_leads(sandbox)[0]]
    emails = [f"push{i:02d}@prospect.example" for i in range(NEW)] + [r["Email"].lower() for r in known]
    delivered = []
    monkeypatch.setattr(tasks.crm_push_imported, "delay", delivered.append)
    imp = import_file(csv_of(emails))
    assert delivered == [imp.pk] and imp.crm_push_status == Push.QUEUED
    return imp, emails


class Dying:
    """Kills the worker in the push's second chunk (the same contacts, run after run) until
    disarmed: before the chunk's first call to Salesforce, or (``after_salesforce``) once
    Salesforce has created its people but before their links commit. ``seen`` lists each chunk
    a run started, as the position of its first contact among the import's."""

    def __init__(self, monkeypatch, imp: ContactImport, *, after_salesforce: bool = False) -> None:
        self.order = list(
            Contact.objects.filter(import_links__contact_import=imp)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        self.dies_at = self.order[CHUNK]
        self.after_salesforce = after_salesforce
        self.armed = True
        self.seen: list[int] = []
        self.current = 0
        real_chunk, real_link = linking._push_chunk, linking._link_by_email

        def chunk_or_die(writer, push, chunk, *args):
            self.current = chunk[0].pk
            self.seen.append(self.order.index(self.current))
            if self._dies() and not self.after_salesforce:
                raise WorkerKilled
            return real_chunk(writer, push, chunk, *args)

        def link_or_die(organization, found, **kwargs):
            if self._dies() and self.after_salesforce:
                raise WorkerKilled
            return real_link(organization, found, **kwargs)

        monkeypatch.setattr(linking, "_push_chunk", chunk_or_die)
        monkeypatch.setattr(linking, "_link_by_email", link_or_die)

    def _dies(self) -> bool:
        return self.armed and self.current == self.dies_at


def killed_in_chunk_two(monkeypatch, imp: ContactImport, **options) -> Dying:
    """The push's first delivery, its worker killed in chunk two (chunk one is stored)."""
    dying = Dying(monkeypatch, imp, **options)
    with pytest.raises(WorkerKilled):
        linking.crm_push_imported(import_id=imp.pk)
    return dying


def push_of(imp: ContactImport) -> ContactImport:
    imp.refresh_from_db()
    return imp


def counters(imp: ContactImport) -> tuple:
    return (
        imp.crm_push_status,
        imp.crm_push_total,
        imp.crm_pushed,
        imp.crm_created,
        imp.crm_linked,
        imp.crm_push_errors,
    )


def salesforce_once_and_linked(acme, sandbox, emails: list[str]) -> None:
    """Each person is in Salesforce exactly once, and their contact is linked to that record."""
    for email in emails:
        [record] = with_email(sandbox, email)
        contact = Contact.objects.get(organization=acme, email=email)
        assert contact.crm_id == record["Id"], email


def test_the_sweep_takes_over_a_push_whose_worker_fell_silent_and_it_carries_on_after_chunk_one(
    acme, sandbox, queued_push, monkeypatch
):
    imp, emails = queued_push
    dying = killed_in_chunk_two(monkeypatch, imp)

    imp = push_of(imp)
    assert counters(imp)[:3] == (Push.RUNNING, NEW + 2, CHUNK)
    assert imp.crm_push_after_id == dying.order[CHUNK - 1]
    assert Contact.objects.filter(organization=acme).exclude(crm_id="").count() == CHUNK
    creates_before = sfc.api_calls(sandbox.state).get("composite_create", 0)
    beat = imp.crm_push_at
    queued: list[dict] = []
    monkeypatch.setattr(tasks.crm_push_imported, "apply_async", lambda **kw: queued.append(kw))

    # Its worker (this process: alive as far as its pid goes) is silent: dead once the heartbeat
    # timeout has passed, not before.
    assert tasks.jobs_resume_dead(now=beat + JOB_HEARTBEAT_TIMEOUT) == 0 and not queued
    later = beat + JOB_HEARTBEAT_TIMEOUT + SECOND
    assert tasks.jobs_resume_dead(now=later) == 1
    assert queued == [{"args": [imp.pk], "expires": tasks.JOBS_RESUME_EXPIRES}]

    dying.armed = False
    taken = linking.crm_push_imported(import_id=imp.pk, now=later)  # the sweep's delivery

    assert taken is not None and taken.taken_over
    imp = push_of(imp)
    # Counters as an uninterrupted push's: nobody counted twice.
    assert counters(imp) == (Push.DONE, NEW + 2, NEW + 2, NEW, 2, 0), imp.crm_push_message
    assert (imp.crm_push_takeovers, imp.crm_push_message) == (0, "")
    salesforce_once_and_linked(acme, sandbox, emails)
    # The take-over started after chunk one: two more chunks, one create request each.
    assert dying.seen == [0, CHUNK, CHUNK, 2 * CHUNK]
    assert sfc.api_calls(sandbox.state).get("composite_create", 0) - creates_before == 2
    assert linking.crm_push_imported(import_id=imp.pk, now=later) is None  # a late duplicate: nothing


def test_a_chunk_killed_after_salesforce_created_its_people_creates_nobody_twice(
    acme, sandbox, queued_push, monkeypatch
):
    """The worker dies after Salesforce created chunk two's people but before their links
    committed: the chunk is done again, finds them by email and links them."""
    imp, emails = queued_push
    dying = killed_in_chunk_two(monkeypatch, imp, after_salesforce=True)
    assert push_of(imp).crm_pushed == CHUNK
    assert len(with_email(sandbox, emails[CHUNK])) == 1  # created, not linked yet
    ContactImport.objects.filter(pk=imp.pk).update(crm_push_worker=dead_worker("crm-push"))

    dying.armed = False
    tasks.crm_push_imported(imp.pk)  # redelivered at once: its worker's process is gone

    imp = push_of(imp)
    assert counters(imp)[:3] == (Push.DONE, NEW + 2, NEW + 2), imp.crm_push_message
    assert imp.crm_created + imp.crm_linked == NEW + 2 and imp.crm_push_errors == 0
    salesforce_once_and_linked(acme, sandbox, emails)


def test_the_page_says_a_dead_push_is_being_taken_over_and_writes_nothing(
    acme, teammate, client, queued_push, monkeypatch
):
    imp, _emails = queued_push
    dying = killed_in_chunk_two(monkeypatch, imp)
    ContactImport.objects.filter(pk=imp.pk).update(crm_push_worker=dead_worker("crm-push"))
    stored = counters(push_of(imp))
    client.force_login(teammate)

    page = client.get(reverse("engage:import_progress", args=[imp.pk])).text

    assert f"Linking to Salesforce: {CHUNK} of {NEW + 2}. Resuming after a worker restart" in page
    assert f"it carries on from contact {CHUNK + 1}, by itself within a minute." in page
    assert 'hx-trigger="every 1s"' in page and "did not finish" not in page
    assert counters(push_of(imp)) == stored  # the page only reads

    dying.armed = False
    tasks.crm_push_imported(imp.pk)
    page = client.get(reverse("engage:import_progress", args=[imp.pk])).text
    assert f"Salesforce: 2 linked, {NEW} created, 0 errors." in page and "Resuming" not in page
    assert "hx-trigger" not in page


def test_a_push_that_keeps_killing_its_worker_fails_after_the_last_take_over(
    acme, teammate, client, queued_push, monkeypatch
):
    imp, _emails = queued_push
    dying = killed_in_chunk_two(monkeypatch, imp)
    clock = push_of(imp).crm_push_at
    monkeypatch.setattr(tasks.crm_push_imported, "apply_async", lambda **kw: None)

    for takeover in range(1, JOB_MAX_TAKEOVERS + 1):
        clock += JOB_HEARTBEAT_TIMEOUT + SECOND
        assert tasks.jobs_resume_dead(now=clock) == 1
        with pytest.raises(WorkerKilled):
            linking.crm_push_imported(import_id=imp.pk, now=clock)
        assert push_of(imp).crm_push_takeovers == takeover

    clock += JOB_HEARTBEAT_TIMEOUT + SECOND
    assert tasks.jobs_resume_dead(now=clock) == 1
    assert linking.crm_push_imported(import_id=imp.pk, now=clock) is None

    imp = push_of(imp)
    assert (imp.crm_push_status, imp.crm_push_message) == (Push.FAILED, linking.PUSH_KEEPS_DYING)
    assert imp.crm_pushed == CHUNK  # what was stored stays
    assert dying.seen == [0] + [CHUNK] * (JOB_MAX_TAKEOVERS + 1)  # the same contacts each time
    assert tasks.jobs_resume_dead(now=clock + dt.timedelta(hours=1)) == 0  # failed: left alone
    client.force_login(teammate)
    page = client.get(reverse("engage:import_progress", args=[imp.pk])).text
    assert "stopped again and again on the same contacts" in page and "hx-trigger" not in page


def test_a_push_a_live_worker_runs_is_not_taken_over(acme, queued_push):
    imp, _emails = queued_push
    now = timezone.now()
    elsewhere = "crm-push:another-host:41:0ff1ce"  # judged by its heartbeat only
    ContactImport.objects.filter(pk=imp.pk).update(
        crm_push_status=Push.RUNNING, crm_push_started_at=now, crm_push_at=now, crm_push_worker=elsewhere
    )

    assert linking.crm_push_imported(import_id=imp.pk) is None  # a duplicate delivery
    assert tasks.jobs_resume_dead() == 0

    imp = push_of(imp)
    assert (imp.crm_push_status, imp.crm_pushed, imp.crm_push_worker) == (Push.RUNNING, 0, elsewhere)
    assert not Contact.objects.filter(organization=acme).exclude(crm_id="").exists()


def test_a_contact_added_meanwhile_is_not_pushed_by_the_take_over_either(
    acme, sandbox, queued_push, monkeypatch
):
    imp, _emails = queued_push
    dying = killed_in_chunk_two(monkeypatch, imp)
    meanwhile = ContactFactory(organization=acme, email="zz.meanwhile@prospect.example", company="Else Co")
    ContactImport.objects.filter(pk=imp.pk).update(crm_push_worker=dead_worker("crm-push"))

    dying.armed = False
    tasks.crm_push_imported(imp.pk)

    assert counters(push_of(imp))[:3] == (Push.DONE, NEW + 2, NEW + 2)
    meanwhile.refresh_from_db()
    assert meanwhile.crm_id == "" and with_email(sandbox, meanwhile.email) == []


def test_a_push_whose_worker_loses_its_database_connection_is_handed_back_and_carries_on(
    acme, sandbox, queued_push, monkeypatch, django_capture_on_commit_callbacks
):
    """A cut connection rolls chunk two back; the live worker hands the push back and queues it
    again instead of failing it, and the next delivery takes it over at once."""
    imp, emails = queued_push
    real_chunk = linking._push_chunk
    delivered: list[int] = []
    monkeypatch.setattr(tasks.crm_push_imported, "delay", delivered.append)

    def cut_in_chunk_two(writer, push, chunk, *args):
        if push.after_id and not delivered:
            raise OperationalError("terminating connection due to administrator command")
        return real_chunk(writer, push, chunk, *args)

    monkeypatch.setattr(linking, "_push_chunk", cut_in_chunk_two)
    with django_capture_on_commit_callbacks(execute=True):
        assert linking.crm_push_imported(import_id=imp.pk) is None

    imp = push_of(imp)
    assert (imp.crm_push_status, imp.crm_push_worker, imp.crm_pushed) == (Push.RUNNING, "", CHUNK)
    assert delivered == [imp.pk]  # queued again
    tasks.crm_push_imported(imp.pk)

    assert counters(push_of(imp)) == (Push.DONE, NEW + 2, NEW + 2, NEW, 2, 0)
    salesforce_once_and_linked(acme, sandbox, emails)
