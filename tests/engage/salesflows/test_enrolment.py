"""The Add to Salesflow dialog's check and its confirmation: every reason a contact is refused or
warned about, shown before anything is written; merge fields each step would lack, per contact;
the permission to enrol on behalf of a colleague; nothing of another organisation; a constant
number of queries; all or nothing; and the background job for many contacts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from copilot.models import AuditEvent, User
from engage import tasks
from engage.jobs import jobs_dead
from engage.models import Contact, Enrolment, EnrolmentEvent, EnrolmentJob, SalesflowStep, SellerProfile
from engage.salesflows import enrolment
from engage.salesflows.access import ON_BEHALF_REFUSED
from engage.salesflows.enrolment import enrolment_check, enrolment_job_run, enrolment_start
from engage.services.statuses import status_create
from integrations.sending import NO_CONNECTION
from tests.engage.jobs_helpers import dead_worker
from tests.engage.salesflows.conftest import connect_mailboxes
from tests.engage.salesflows.flows_helpers import call, email, make_flow
from tests.factories import AccountFactory, ContactFactory

pytestmark = pytest.mark.django_db

MONDAY_9 = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
SATURDAY_10 = datetime(2026, 3, 7, 10, 0, tzinfo=UTC)


def _codes(plan) -> dict[str, list[str]]:
    """Each contact's refusal and warning codes, by email (or id when it has none)."""
    return {
        (e.contact.email or str(e.contact.pk)): sorted(p.code for p in [*e.refusals, *e.warnings])
        for e in plan.entries
    }


@pytest.fixture
def flow(owner, acme_mail):
    return make_flow(owner, email(subject="Intro for {{ company|your team }}"), call(delay=2))


# --- Refusals and warnings ----------------------------------------------------------------------
def test_every_refusal_reason_is_said_per_contact_before_anything_is_written(acme, owner, flow):
    fine = ContactFactory(organization=acme, email="fine@prospect.example", first_name="Fay")
    no_email = ContactFactory(organization=acme, email="", first_name="Nora")
    opted_out = ContactFactory(
        organization=acme, email="out@prospect.example", first_name="O", email_opt_out=True
    )
    bounced = ContactFactory(
        organization=acme,
        email="gone@prospect.example",
        first_name="G",
        email_bounced_at=datetime(2026, 2, 1, 12, 0, tzinfo=UTC),
    )
    elsewhere = ContactFactory(organization=acme, email="busy@prospect.example", first_name="B")
    here = ContactFactory(organization=acme, email="here@prospect.example", first_name="H")
    other_flow = make_flow(owner, email(), name="Webinar follow-up")
    enrolment_start(enrolment_check(other_flow, [elsewhere], sender=owner, enrolled_by=owner), now=MONDAY_9)
    enrolment_start(enrolment_check(flow, [here], sender=owner, enrolled_by=owner), now=MONDAY_9)
    before = Enrolment.objects.count()

    plan = enrolment_check(
        flow, [fine, no_email, opted_out, bounced, elsewhere, here], sender=owner, enrolled_by=owner
    )
    assert Enrolment.objects.count() == before
    assert _codes(plan) == {
        "fine@prospect.example": [],
        str(no_email.pk): ["no_email"],
        "out@prospect.example": ["opted_out"],
        "gone@prospect.example": ["bounced"],
        "busy@prospect.example": ["active_elsewhere"],
        "here@prospect.example": ["in_this_flow"],
    }
    messages = {e.contact.pk: [p.message for p in [*e.refusals, *e.warnings]] for e in plan.entries}
    assert messages[bounced.pk] == ["Email to gone@prospect.example bounced on 2026-02-01."]
    assert messages[elsewhere.pk] == ["Already active in Salesflow “Webinar follow-up”."]
    assert [e.contact for e in plan.accepted()] == [fine]
    # The seller may override the warning, never a refusal.
    assert [e.contact for e in plan.accepted(override_warnings=True)] == [fine, elsewhere]
    started = enrolment_start(plan, override_warnings=True, now=MONDAY_9)
    assert sorted(e.contact.email for e in started.enrolments) == [
        "busy@prospect.example",
        "fine@prospect.example",
    ]
    assert Enrolment.objects.filter(contact=elsewhere, state="active").count() == 2
    event = EnrolmentEvent.objects.get(enrolment__contact=elsewhere, enrolment__flow=flow)
    assert event.data["warnings_overridden"] == ["active_elsewhere"]


def test_a_status_that_ends_salesflows_is_a_warning(acme, owner, flow):
    closed = status_create(organization=acme, actor=owner, name="Closed lost", color="#475569")
    closed.ends_salesflows = True
    closed.save(update_fields=["ends_salesflows"])
    contact = ContactFactory(organization=acme, first_name="C", status=closed)
    plan = enrolment_check(flow, [contact], sender=owner, enrolled_by=owner)
    assert _codes(plan)[contact.email] == ["status_ends_salesflows"]


def test_a_sender_without_a_connected_mailbox_refuses_everyone_with_the_reason(acme, owner):
    flow = make_flow(owner)
    contacts = [ContactFactory(organization=acme, first_name="A") for _ in range(2)]
    plan = enrolment_check(flow, contacts, sender=owner, enrolled_by=owner)
    assert [p.code for p in plan.blocking] == ["mailbox"]
    assert [[p.message for p in e.refusals] for e in plan.entries] == [[NO_CONNECTION]] * 2
    assert plan.accepted(override_warnings=True) == []
    with pytest.raises(ValidationError) as excinfo:
        enrolment_start(plan, override_warnings=True)
    assert excinfo.value.messages == [NO_CONNECTION]
    assert not Enrolment.objects.exists()


def test_merge_fields_each_step_would_lack_are_listed_per_step_and_contact(acme, owner, acme_mail):
    flow = make_flow(
        owner,
        email(subject="Hi {{ first_name }}", body="<p>{{ first_name }} at {{ account.name }}</p>"),
        call(),
        email(subject="", body="<p>{{ title|your role }} – {{ city }}</p>", reply=True, delay=3),
    )
    account = AccountFactory(organization=acme, name="Initech")
    complete = ContactFactory(
        organization=acme, email="ann@initech.example", first_name="Ann", account=account, city="Austin"
    )
    nameless = ContactFactory(
        organization=acme, email="x@initech.example", first_name="", account=account, city=""
    )
    plan = enrolment_check(flow, [complete, nameless], sender=owner, enrolled_by=owner)
    by_email = {e.contact.email: e for e in plan.entries}
    assert by_email["ann@initech.example"].merge_gaps == []
    gaps = by_email["x@initech.example"].merge_gaps
    assert [(g.position, g.fields) for g in gaps] == [(1, ("first_name",)), (3, ("city",))]
    assert [w.message for w in by_email["x@initech.example"].warnings] == [
        "Step 1 (Automatic email): no value for {{ first_name }} and no fallback",
        "Step 3 (Automatic email): no value for {{ city }} and no fallback",
    ]
    assert [e.contact for e in plan.accepted()] == [complete]


def test_a_step_template_with_mistakes_stops_the_enrolment(acme, owner, acme_mail):
    flow = make_flow(owner)
    SalesflowStep.objects.filter(flow=flow).update(
        body_html="<p>{{ frist_name }}</p>"
    )  # stored before checks
    plan = enrolment_check(flow, [ContactFactory(organization=acme)], sender=owner, enrolled_by=owner)
    assert [p.message for p in plan.blocking] == ["Step 1 has mistakes in its merge fields: fix it first."]


# --- On behalf ----------------------------------------------------------------------------------
def test_enrolling_for_a_colleague_needs_the_permission_and_uses_their_mailbox(acme, owner, teammate, flow):
    contact = ContactFactory(organization=acme, first_name="P")
    plan = enrolment_check(flow, [contact], sender=owner, enrolled_by=teammate)
    assert [p.message for p in plan.blocking] == [ON_BEHALF_REFUSED]
    with pytest.raises(ValidationError):
        enrolment_start(plan)
    teammate.can_start_salesflow_on_behalf = True
    teammate.save(update_fields=["can_start_salesflow_on_behalf"])
    plan = enrolment_check(flow, [contact], sender=owner, enrolled_by=teammate)
    assert plan.blocking == []
    (made,) = enrolment_start(plan, now=MONDAY_9).enrolments
    assert (made.sender, made.enrolled_by) == (owner, teammate)
    assert EnrolmentEvent.objects.get(enrolment=made).data["on_behalf"] is True
    assert AuditEvent.objects.filter(action="salesflow.enrolled", actor=teammate).count() == 1


def test_a_private_flow_is_its_owners_alone(acme, owner, teammate, acme_mail):
    private = make_flow(owner, name="Mine", team=False)
    with pytest.raises(PermissionDenied):
        enrolment_check(private, [ContactFactory(organization=acme)], sender=teammate, enrolled_by=teammate)


def test_an_outsider_cannot_enrol_our_contacts_nor_use_our_flow_or_our_sellers(
    acme, globex, owner, outsider, flow
):
    outsider.can_start_salesflow_on_behalf = True
    outsider.save(update_fields=["can_start_salesflow_on_behalf"])
    connect_mailboxes(globex, "globex.example")
    ours = [ContactFactory(organization=acme) for _ in range(3)]
    # Our flow, with their own mailbox: refused outright.
    with pytest.raises(PermissionDenied):
        enrolment_check(flow, ours, sender=outsider, enrolled_by=outsider)
    # Their flow, our contacts' ids: not found, nothing to enrol.
    theirs = make_flow(outsider, name="Theirs")
    plan = enrolment_check(theirs, [c.pk for c in ours], sender=outsider, enrolled_by=outsider)
    assert plan.entries == [] and plan.not_found == [c.pk for c in ours]
    with pytest.raises(ValidationError):
        enrolment_start(plan)
    plan = enrolment_check(theirs, Contact.objects.all(), sender=outsider, enrolled_by=outsider)
    assert plan.entries == []
    # Their flow, sent from our seller's mailbox: refused outright.
    with pytest.raises(PermissionDenied):
        enrolment_check(theirs, [], sender=owner, enrolled_by=outsider)
    assert not Enrolment.objects.exists()


# --- Queries ------------------------------------------------------------------------------------
def test_the_check_writes_nothing_not_even_the_senders_profile(acme, owner, flow):
    contacts = [ContactFactory(organization=acme, first_name="A") for _ in range(3)]
    with CaptureQueriesContext(connection) as queries:
        plan = enrolment_check(flow, contacts, sender=_fresh(owner), enrolled_by=_fresh(owner))
    assert len(plan.accepted()) == 3
    assert [q["sql"] for q in queries if not q["sql"].lstrip().upper().startswith("SELECT")] == []
    assert not SellerProfile.objects.filter(user=owner).exists()


def _fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)


def test_the_check_costs_the_same_queries_for_10_or_100_contacts(
    acme, owner, flow, django_assert_num_queries
):
    account = AccountFactory(organization=acme)
    contacts = [ContactFactory(organization=acme, account=account, first_name=f"C{n}") for n in range(100)]
    busy = make_flow(owner, name="Busy")
    enrolment_start(enrolment_check(busy, contacts[::7], sender=owner, enrolled_by=owner), now=MONDAY_9)
    with CaptureQueriesContext(connection) as ten:
        plan = enrolment_check(flow, contacts[:10], sender=_fresh(owner), enrolled_by=_fresh(owner))
    assert len(plan.entries) == 10
    with django_assert_num_queries(len(ten)):
        plan = enrolment_check(flow, contacts, sender=_fresh(owner), enrolled_by=_fresh(owner))
    assert len(plan.entries) == 100 and len(plan.warned) == 15


# --- Starting -----------------------------------------------------------------------------------
def test_the_first_step_is_due_in_the_senders_window_after_its_delay(acme, owner, acme_mail):
    flow = make_flow(owner, email(delay=0), name="Now")
    later = make_flow(owner, email(delay=2, unit="business_days"), name="Later")
    contact = ContactFactory(organization=acme, first_name="A")
    # Saturday: the email waits for Monday 08:00 (the default business hours, in UTC here).
    (made,) = enrolment_start(
        enrolment_check(flow, [contact], sender=owner, enrolled_by=owner), now=SATURDAY_10
    ).enrolments
    assert made.due_at == datetime(2026, 3, 9, 8, 0, tzinfo=UTC)
    # Two business days after Saturday 10:00: Tuesday 10:00.
    plan = enrolment_check(later, [contact], sender=owner, enrolled_by=owner)
    with pytest.raises(ValidationError) as excinfo:  # already in "Now": a warning to confirm
        enrolment_start(plan, now=SATURDAY_10)
    assert excinfo.value.messages == [
        "Every one of these contacts has a warning: confirm that they should be added anyway."
    ]
    (made,) = enrolment_start(plan, override_warnings=True, now=SATURDAY_10).enrolments
    assert made.due_at == datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
    # A chosen start time in the future counts from then.
    third = make_flow(owner, email(delay=1, unit="hours"), name="Third")
    start = MONDAY_9 + timedelta(days=1)
    plan = enrolment_check(third, [contact], sender=owner, enrolled_by=owner, start_at=start)
    (made,) = enrolment_start(plan, override_warnings=True, now=MONDAY_9).enrolments
    assert (made.due_at, made.last_step_at, made.started_at) == (start + timedelta(hours=1), start, MONDAY_9)


def test_a_plan_overtaken_by_events_enrols_nobody(acme, owner, flow):
    contacts = [ContactFactory(organization=acme, first_name="A") for _ in range(3)]
    plan = enrolment_check(flow, contacts, sender=owner, enrolled_by=owner)
    Contact.objects.filter(pk=contacts[1].pk).update(email_opt_out=True)
    with pytest.raises(ValidationError) as excinfo:
        enrolment_start(plan, now=MONDAY_9)
    assert excinfo.value.messages == ["1 of these contacts changed since you checked: review the list again."]
    assert not Enrolment.objects.exists()


# --- The background job -------------------------------------------------------------------------
@pytest.fixture
def small_job(monkeypatch):
    monkeypatch.setattr(enrolment, "ENROL_INLINE_MAX", 5)
    monkeypatch.setattr(enrolment, "ENROL_CHUNK", 3)


def test_more_than_the_inline_limit_is_a_background_job_with_progress(
    acme, owner, flow, small_job, monkeypatch, django_capture_on_commit_callbacks
):
    contacts = [ContactFactory(organization=acme, first_name=f"C{n}") for n in range(8)]
    plan = enrolment_check(flow, contacts, sender=owner, enrolled_by=owner)
    progress = []
    saving = enrolment.job_save

    def spy(job, fields, *, running):
        saving(job, fields, running=running)
        progress.append((job.processed, job.enrolled_count, job.refused_count))

    monkeypatch.setattr(enrolment, "job_save", spy)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        started = enrolment_start(plan)
    assert started.enrolments == [] and started.job.total == 8
    assert not Enrolment.objects.exists()  # nothing until the job runs
    # Meanwhile one of them opts out: refused when its chunk comes, with the reason.
    Contact.objects.filter(pk=contacts[4].pk).update(email_opt_out=True)
    for callback in queued:
        callback()  # the task runs (eager)
    job = EnrolmentJob.objects.get()
    assert progress == [(3, 3, 0), (6, 5, 1), (8, 7, 1)]
    assert (job.status, job.processed, job.enrolled_count, job.refused_count) == ("done", 8, 7, 1)
    assert job.errors == [{"id": contacts[4].pk, "reason": "Opted out of email."}]
    assert Enrolment.objects.filter(flow=flow, state="active").count() == 7


def test_a_job_whose_worker_died_is_carried_on_after_its_last_chunk(acme, owner, flow, small_job):
    contacts = [ContactFactory(organization=acme, first_name=f"C{n}") for n in range(7)]
    first = enrolment_check(flow, contacts[:3], sender=owner, enrolled_by=owner)
    enrolment_start(first, now=MONDAY_9)  # what the dead worker's first chunk committed
    now = timezone.now()
    job = EnrolmentJob.objects.create(
        organization=acme,
        flow=flow,
        sender=owner,
        enrolled_by=owner,
        contact_ids=[c.pk for c in contacts],
        total=7,
        status="running",
        started_at=now - timedelta(minutes=1),
        heartbeat_at=now - timedelta(seconds=5),
        worker=dead_worker("salesflow-enrol"),
        processed=3,
        enrolled_count=3,
    )
    assert ("salesflow_enrol_run", job.pk) in jobs_dead()
    enrolment_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.processed, job.enrolled_count, job.refused_count) == ("done", 7, 7, 0)
    assert Enrolment.objects.filter(flow=flow).count() == 7  # nobody twice


def test_a_job_stops_saying_why_when_the_sender_loses_the_mailbox(acme, owner, flow, small_job, acme_mail):
    contacts = [ContactFactory(organization=acme, first_name=f"C{n}") for n in range(6)]
    started = enrolment_start(enrolment_check(flow, contacts, sender=owner, enrolled_by=owner))
    acme_mail.delete()
    enrolment_job_run(job_id=started.job.pk)
    job = EnrolmentJob.objects.get()
    assert job.status == "failed" and job.failure_message.startswith(f"Stopped: {NO_CONNECTION}")
    assert not Enrolment.objects.exists()


def test_the_minute_sweep_fails_a_job_silent_for_longer_than_it_may_run(acme, owner, flow):
    now = timezone.now()
    job = EnrolmentJob.objects.create(
        organization=acme,
        flow=flow,
        sender=owner,
        enrolled_by=owner,
        contact_ids=[1, 2, 3],
        total=3,
        status="running",
        started_at=now - timedelta(hours=1),
        heartbeat_at=now - timedelta(minutes=46),
        worker="salesflow-enrol:elsewhere:1:x",
        processed=1,
    )
    tasks.jobs_resume_dead(now=now)
    job.refresh_from_db()
    assert (job.status, job.failure_message) == ("failed", enrolment.WORKER_LOST)
