"""The Salesflow send engine (issue 13, points 4-6): the minute beat claims due automatic emails
and sends them from the seller's mailbox exactly once, inside the windows and under the caps,
threaded when a step is a reply; what the provider refuses fails visibly, a mailbox that cannot
send pauses its enrolments until it can, a merge field without a value waits for the seller.

Demo Co's mailboxes are served by the provider sandbox through the real Gmail client; time is
the beat's injected clock (Demo Co's sellers work 08:00-18:00 UTC, Monday to Friday)."""

from __future__ import annotations

import contextlib
import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection as db_connection
from django_celery_beat.models import PeriodicTask

from engage import tasks
from engage.models import Contact, EngageSettings, Enrolment, EnrolmentEvent, StepSend
from engage.salesflows import engine, events, sending
from engage.scheduling import SendCaps
from engage.services.email import EmailNotSent
from integrations import services
from integrations.records import Address, Attendee, CalendarEventRecord, MailboxContext
from integrations.schedule import install_periodic_tasks
from integrations.sync.registry import deliver
from tests.engage.salesflows.engine_helpers import at, beat, contacts, demo_co, enrol, gmail_sent, set_caps
from tests.engage.salesflows.flows_helpers import Kind, email, make_flow
from tests.factories import ContactFactory, OrganizationFactory, UserFactory
from tests.integrations.sync.mailbox_helpers import SELLER1, sandbox_google_connection

State = Enrolment.State
Sent = StepSend.State


@pytest.fixture
def demo(db):
    return demo_co()


@pytest.fixture
def gmail(sandbox, demo):
    return sandbox_google_connection(sandbox, demo)


@pytest.fixture
def three_steps(demo, gmail):
    return make_flow(
        demo.seller1,
        email(subject="Quick question, {{ first_name|there }}", body="<p>Hi {{ first_name|there }},</p>"),
        email(subject="", body="<p>Following up on my note.</p>", delay=2, reply=True),
        email(subject="Last try", body="<p>One more thing</p>", delay=1, kind=Kind.MANUAL_EMAIL),
    )


def test_a_three_step_flow_sends_in_hours_then_a_threaded_follow_up_then_waits_for_the_seller(
    sandbox,
    demo,
    three_steps,
):
    (ava,) = contacts(demo.org, 1, first_name="Ava")
    (enrolment,) = enrol(three_steps, demo.seller1, [ava], now=at(0, 6))  # Monday 06:00, before hours

    assert beat(at(0, 7, 30)) == 0  # due at 08:00: nothing yet
    assert gmail_sent(sandbox, SELLER1) == []
    assert beat(at(0, 8)) == 1

    [first] = gmail_sent(sandbox, SELLER1)
    assert first.header("Subject") == "Quick question, Ava"
    assert first.header("To").endswith(f"<{ava.email}>")
    enrolment.refresh_from_db()
    step1 = StepSend.objects.get(enrolment=enrolment, step__position=1)
    assert (step1.state, step1.message_id, step1.sent_at) == (Sent.SENT, first.rfc_id, at(0, 8))
    assert step1.provider_message_id == first.id and step1.thread_id == first.thread_id
    # The follow-up is due two days on, in hours; the beats before send nothing.
    assert enrolment.current_step.position == 2 and enrolment.due_at == at(2, 8)
    assert beat(at(1, 12)) == 0 and beat(at(2, 7, 59)) == 0

    assert beat(at(2, 8)) == 1
    first_again, second = gmail_sent(sandbox, SELLER1)
    assert first_again.id == first.id
    assert second.thread_id == first.thread_id  # the same Gmail thread
    assert second.header("Subject") == "Re: Quick question, Ava"
    assert second.header("In-Reply-To") == f"<{first.rfc_id}>"
    assert second.header("References") == f"<{first.rfc_id}>"
    # The manual email is the seller's: due a day on, in the Actions queue, never sent by the beat.
    enrolment.refresh_from_db()
    assert enrolment.current_step.kind == Kind.MANUAL_EMAIL and enrolment.due_at == at(3, 8)
    assert beat(at(3, 9)) == 0
    assert len(gmail_sent(sandbox, SELLER1)) == 2
    assert enrolment.state == State.ACTIVE
    assert list(EnrolmentEvent.objects.filter(enrolment=enrolment).values_list("kind", flat=True)) == [
        "enrolled"
    ]
    assert sending.reply_subject("RE: x") == "RE: x"


# --- Claiming -----------------------------------------------------------------------------------
def test_two_claimers_never_take_the_same_enrolment_and_a_lapsed_claim_is_taken_again(demo, gmail):
    flow = make_flow(demo.seller1, email())
    enrolled = enrol(flow, demo.seller1, contacts(demo.org, 30, domains=30), now=at(0, 8))
    now = at(0, 9)

    # SQLite's path: a conditional UPDATE. A saw the first 20 free, B claimed them first: A's
    # UPDATE matches none of them, and A's next claim gets the other ten.
    seen_by_a = engine.claim_candidates(now=now, limit=20)
    won_b = [pk for pk, _ in engine.enrolments_claim(worker="B", now=now, limit=20)]
    assert engine.claim_ids(seen_by_a, worker="A", now=now) == []
    won_a = [pk for pk, _ in engine.enrolments_claim(worker="A", now=now, limit=20)]
    assert sorted(won_b) == sorted(seen_by_a) and len(won_a) == 10
    assert set(won_a) | set(won_b) == {e.pk for e in enrolled} and not set(won_a) & set(won_b)
    assert engine.enrolments_claim(worker="C", now=now) == []
    # A claim lapses with its lease: a run that died leaves nothing stuck.
    lapsed = now + sending.SEND_LEASE
    assert len(engine.enrolments_claim(worker="C", now=lapsed)) == 30
    assert set(Enrolment.objects.values_list("claimed_by", flat=True)) == {"C"}


@pytest.mark.skipif(
    "postgresql" not in settings.DATABASES["default"]["ENGINE"],
    reason="two claimers at once need a server database (SQLite writes one transaction at a time)",
)
@pytest.mark.django_db(transaction=True)
def test_two_claimers_at_the_same_instant_on_postgresql_take_disjoint_enrolments(monkeypatch):
    """Both select before either updates: FOR UPDATE SKIP LOCKED makes the second pass over the
    rows the first holds instead of waiting for them (or taking them)."""
    seller = UserFactory(organization=OrganizationFactory(name="Racers"), email="racer@racers.example")
    flow = make_flow(seller, email())
    for contact in contacts(seller.organization, 30, domains=30):
        Enrolment.objects.create(
            organization=seller.organization,
            flow=flow,
            contact=contact,
            sender=seller,
            current_step=flow.steps.get(),
            due_at=at(0, 8),
        )
    both_selected = threading.Barrier(2, timeout=5)
    original = engine.claim_ids

    def claim_when_both_selected(ids, **kwargs):
        with contextlib.suppress(threading.BrokenBarrierError):
            both_selected.wait()
        return original(ids, **kwargs)

    monkeypatch.setattr(engine, "claim_ids", claim_when_both_selected)
    won: dict[str, list[int]] = {}

    def claim(worker: str) -> None:
        try:
            won[worker] = [pk for pk, _ in engine.enrolments_claim(worker=worker, now=at(0, 9), limit=20)]
        finally:
            db_connection.close()

    threads = [threading.Thread(target=claim, args=(w,)) for w in ("A", "B")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    assert not both_selected.broken  # neither waited for the other's rows
    assert sorted(len(ids) for ids in won.values()) == [10, 20]
    assert not set(won["A"]) & set(won["B"])
    assert len(set(won["A"]) | set(won["B"])) == 30


# --- Manual emails (the Actions queue's send) -----------------------------------------------------
def test_a_manual_email_goes_once_through_the_same_path_threaded_and_moves_the_flow_on(
    sandbox,
    demo,
    gmail,
):
    flow = make_flow(
        demo.seller1,
        email(subject="Intro for {{ first_name }}"),
        email(
            subject="",
            body="<p>Hi {{ first_name }}, {{ title }}?</p>",
            delay=1,
            reply=True,
            kind=Kind.MANUAL_EMAIL,
        ),
        email(subject="Bye", delay=1),
    )
    (ava,) = contacts(demo.org, 1, first_name="Ava", title="")
    (enrolment,) = enrol(flow, demo.seller1, [ava], now=at(0, 8))
    beat(at(0, 8))
    enrolment.refresh_from_db()
    [first] = gmail_sent(sandbox, SELLER1)
    manual = enrolment.current_step

    draft = sending.manual_email_draft(enrolment)
    assert draft.subject == "Re: Intro for Ava"
    assert draft.html == "<p>Hi Ava, {{ title }}?</p>" and draft.missing == ("title",)
    assert draft.in_reply_to == first.rfc_id

    send = sending.manual_email_send(
        enrolment=enrolment,
        actor=demo.seller1,
        subject=draft.subject,
        html="<p>Hi Ava, how is the new role?</p>",
        text="Hi Ava, how is the new role?",
        step_id=manual.pk,
        now=at(1, 10),
    )

    _, second = gmail_sent(sandbox, SELLER1)
    assert send.state == Sent.SENT and send.message_id == second.rfc_id
    assert second.rfc_id.startswith(f"sf-{demo.org.pk}-{enrolment.pk}-{manual.pk}@")
    assert second.thread_id == first.thread_id and second.header("In-Reply-To") == f"<{first.rfc_id}>"
    assert second.header("Subject") == "Re: Intro for Ava" and "new role" in second.text
    enrolment.refresh_from_db()
    assert enrolment.current_step.position == 3 and enrolment.due_at == at(2, 10)
    # A second submit of the same form: the same send, nothing more goes out.
    again = sending.manual_email_send(
        enrolment=enrolment, actor=demo.seller1, subject="x", html="<p>x</p>", text="x", step_id=manual.pk
    )
    assert again.pk == send.pk and len(gmail_sent(sandbox, SELLER1)) == 2
    with pytest.raises(ValidationError):  # no manual email is due now
        sending.manual_email_send(enrolment=enrolment, actor=demo.seller1, subject="x", html="x", text="x")
    with pytest.raises(PermissionDenied):
        sending.manual_email_send(
            enrolment=enrolment, actor=UserFactory(), subject="x", html="x", text="x", step_id=manual.pk
        )


def test_a_manual_email_the_provider_refuses_says_why_and_stays_due(sandbox, demo, gmail):
    flow = make_flow(demo.seller1, email(subject="Hello", kind=Kind.MANUAL_EMAIL))
    (enrolment,) = enrol(flow, demo.seller1, contacts(demo.org, 1), now=at(0, 8))
    sandbox.control.inject_fault("/gmail/v1/users/.*/messages/send", status=400, times=1)

    with pytest.raises(EmailNotSent, match="refused"):
        sending.manual_email_send(
            enrolment=enrolment,
            actor=demo.seller1,
            subject="Hello",
            html="<p>Hi</p>",
            text="Hi",
            now=at(0, 9),
        )

    send = StepSend.objects.get(enrolment=enrolment)
    assert send.state == Sent.FAILED and "refused" in send.error
    enrolment.refresh_from_db()
    assert enrolment.state == State.ACTIVE and enrolment.claimed_by == ""
    # Tried again later: looked up first (not there), then sent, once.
    sending.manual_email_send(
        enrolment=enrolment, actor=demo.seller1, subject="Hello", html="<p>Hi</p>", text="Hi", now=at(0, 10)
    )
    assert [m.rfc_id for m in gmail_sent(sandbox, SELLER1)] == [send.message_id]
    enrolment.refresh_from_db()
    assert enrolment.state == State.FINISHED


# --- Windows, caps and spreading -----------------------------------------------------------------
def test_over_a_cap_sends_roll_to_the_next_hour_then_the_next_day_never_dropped(sandbox, demo, gmail):
    set_caps(demo.org, per_day=3, per_hour=2, per_domain=20, gap=0)
    flow = make_flow(demo.seller1, email())
    enrolments = enrol(flow, demo.seller1, contacts(demo.org, 5, domains=5), now=at(0, 7))

    assert beat(at(0, 8)) == 5
    assert len(gmail_sent(sandbox, SELLER1)) == 2  # two an hour, three a day:
    waiting = Enrolment.objects.filter(current_step__position=1).order_by("due_at", "pk")
    assert [e.due_at for e in waiting] == [at(0, 9), at(1, 8), at(1, 8)]  # the rest laid out at once
    assert beat(at(0, 8, 30)) == 0
    assert beat(at(0, 9)) == 1
    assert len(gmail_sent(sandbox, SELLER1)) == 3
    assert [e.due_at for e in waiting.all()] == [at(1, 8)] * 2
    assert beat(at(0, 17)) == 0
    assert beat(at(1, 8)) == 2
    assert len(gmail_sent(sandbox, SELLER1)) == 5
    assert not Enrolment.objects.filter(pk__in=[e.pk for e in enrolments], current_step__position=1).exists()


def test_one_recipient_domain_gets_its_daily_cap_and_a_mailbox_spreads_its_sends(sandbox, demo, gmail):
    set_caps(demo.org, per_day=200, per_hour=40, per_domain=1, gap=60)
    flow = make_flow(demo.seller1, email())
    ann, bob = contacts(demo.org, 2, domains=1)  # both at company0.example
    (cat,) = [ContactFactory(organization=demo.org, email="cat@elsewhere.example")]
    enrol(flow, demo.seller1, [ann, bob, cat], now=at(0, 7))

    assert beat(at(0, 8)) == 3
    assert [m.header("To").rsplit("<", 1)[1] for m in gmail_sent(sandbox, SELLER1)] == [f"{ann.email}>"]
    bob_due = Enrolment.objects.get(contact=bob).due_at
    cat_due = Enrolment.objects.get(contact=cat).due_at
    assert bob_due == at(1, 8)  # company0.example had its one email today
    assert at(0, 8, 0, 30) <= cat_due <= at(0, 8, 1, 30)  # a gap of 60 s +/- 50 % after Ann's
    assert beat(at(0, 8, 2)) == 1
    assert len(gmail_sent(sandbox, SELLER1)) == 2
    sends = StepSend.objects.order_by("sent_at")
    assert [s.recipient_domain for s in sends] == ["company0.example", "elsewhere.example"]


def test_the_caps_are_the_organisations_and_only_its_admins_change_them(demo):
    assert sending.send_caps_for(demo.org.pk) == SendCaps()  # the defaults, nothing written
    assert not EngageSettings.objects.filter(organization=demo.org).exists()
    with pytest.raises(PermissionDenied):
        sending.send_caps_set(
            organization_id=demo.org.pk,
            actor=demo.seller1,
            per_day=5,
            per_hour=5,
            per_domain_per_day=5,
            gap_seconds=0,
        )
    with pytest.raises(ValidationError) as error:
        sending.send_caps_set(
            organization_id=demo.org.pk,
            actor=demo.admin,
            per_day=5,
            per_hour=0,
            per_domain_per_day=9,
            gap_seconds=-1,
        )
    assert set(error.value.message_dict) == {"per_hour", "gap_seconds"}
    caps = sending.send_caps_set(
        organization_id=demo.org.pk,
        actor=demo.admin,
        per_day=500,
        per_hour=60,
        per_domain_per_day=10,
        gap_seconds=5,
    )
    assert (caps.per_day, caps.per_hour, caps.per_domain_per_day, caps.gap) == (
        500,
        60,
        10,
        timedelta(seconds=5),
    )


# --- What the provider says ------------------------------------------------------------------------
def test_a_refused_email_fails_with_the_providers_reason_and_the_rest_of_the_queue_goes_on(
    sandbox, demo, gmail
):
    set_caps(demo.org, gap=0)
    flow = make_flow(demo.seller1, email(), email(delay=1))
    refused, *others = enrol(flow, demo.seller1, contacts(demo.org, 3, domains=3), now=at(0, 7))
    sandbox.control.inject_fault(
        "/gmail/v1/users/.*/messages/send",
        status=400,
        body={"error": {"code": 400, "message": "Invalid To header", "status": "INVALID_ARGUMENT"}},
        times=1,
    )

    assert beat(at(0, 8)) == 3

    failed = StepSend.objects.get(enrolment=refused)
    assert failed.state == Sent.FAILED
    assert (
        failed.error.startswith("Your mail provider refused the message")
        and "Invalid To header" in failed.error
    )
    refused.refresh_from_db()
    assert (refused.state, refused.pause_reason, refused.current_step.position) == (
        "paused",
        "send_failed",
        1,
    )
    assert len(gmail_sent(sandbox, SELLER1)) == 2
    assert all(StepSend.objects.get(enrolment=e).state == Sent.SENT for e in others)
    # The seller resumes it: looked up first (it did not go), then sent once.
    events.enrolment_resume(refused, actor=demo.seller1, now=at(0, 10))
    assert beat(at(0, 10)) == 1
    failed.refresh_from_db()
    assert failed.state == Sent.SENT and len(gmail_sent(sandbox, SELLER1)) == 3


def test_a_throttled_mailbox_is_rescheduled_not_failed(sandbox, settings, demo, gmail):
    settings.GMAIL_USER_QUOTA = "250/60"  # two sends a minute (100 units each), then hold back
    set_caps(demo.org, gap=0)
    flow = make_flow(demo.seller1, email())
    enrol(flow, demo.seller1, contacts(demo.org, 4, domains=4), now=at(0, 7))

    assert beat(at(0, 8)) == 4

    assert len(gmail_sent(sandbox, SELLER1)) == 2
    assert not StepSend.objects.filter(state=Sent.FAILED).exists()
    assert StepSend.objects.filter(state=Sent.PENDING).count() == 1  # tried, not taken: nothing to look up
    waiting = Enrolment.objects.filter(current_step__position=1)
    assert {(e.state, e.due_at) for e in waiting} == {("active", at(0, 8) + sending.THROTTLE_BACKOFF)}
    assert not waiting.exclude(claimed_by="").exists()


def test_a_mailbox_that_needs_reconnecting_pauses_its_enrolments_until_it_is_back(sandbox, demo, gmail):
    set_caps(demo.org, gap=0)
    flow = make_flow(demo.seller1, email(), email(delay=1))
    enrolments = enrol(flow, demo.seller1, contacts(demo.org, 3, domains=3), now=at(0, 7))
    services.connection_mark_needs_reconnect(connection=gmail, reason="Google refused Cadence's access")

    assert beat(at(0, 8)) == 3

    assert gmail_sent(sandbox, SELLER1) == [] and not StepSend.objects.exists()
    assert set(Enrolment.objects.values_list("state", "pause_reason")) == {("paused", "mailbox_disconnected")}
    assert beat(at(0, 9)) == 0  # still out of reach: nothing resumes

    sandbox_google_connection(sandbox, demo)  # the admin reconnects Google
    assert beat(at(2, 19)) == 0  # Wednesday evening: resumed, due at the next window
    assert {(e.state, e.due_at) for e in Enrolment.objects.all()} == {("active", at(3, 8))}
    assert beat(at(3, 8)) == 3
    assert len(gmail_sent(sandbox, SELLER1)) == 3
    assert {e.pk for e in enrolments} == set(
        EnrolmentEvent.objects.filter(kind="resumed", data__paused_for="mailbox_disconnected").values_list(
            "enrolment", flat=True
        )
    )


def test_a_merge_field_without_a_value_waits_for_the_seller_and_blocks_nobody(sandbox, demo, gmail):
    set_caps(demo.org, gap=0)
    flow = make_flow(
        demo.seller1, email(subject="For {{ first_name }}", body="<p>{{ title }} at {{ company }}</p>")
    )
    unnamed = ContactFactory(organization=demo.org, first_name="", title="", company="Initech")
    named = ContactFactory(organization=demo.org, first_name="Bo", title="CTO", company="Hooli")
    enrolled = enrol(flow, demo.seller1, [unnamed, named], now=at(0, 7))
    lacking = next(e for e in enrolled if e.contact_id == unnamed.pk)

    assert beat(at(0, 8)) == 2

    [sent] = gmail_sent(sandbox, SELLER1)
    assert sent.header("Subject") == "For Bo"
    waiting = StepSend.objects.get(enrolment=lacking)
    assert waiting.state == Sent.NEEDS_ATTENTION
    assert waiting.error == "No value for {{ first_name }}, {{ title }}"
    lacking.refresh_from_db()
    assert (lacking.state, lacking.pause_reason) == ("paused", "needs_attention")
    # The seller fills the contact in and resumes: sent with the same Message-ID.
    Contact.objects.filter(pk=unnamed.pk).update(first_name="Al", title="CEO")
    events.enrolment_resume(lacking, actor=demo.seller1, now=at(0, 9))
    assert beat(at(0, 9)) == 1
    waiting.refresh_from_db()
    assert waiting.state == Sent.SENT and gmail_sent(sandbox, SELLER1)[-1].rfc_id == waiting.message_id


def test_a_contact_who_opted_out_since_enrolling_leaves_the_flow_instead(sandbox, demo, gmail):
    flow = make_flow(demo.seller1, email())
    (enrolment,) = enrol(flow, demo.seller1, contacts(demo.org, 1), now=at(0, 7))
    Contact.objects.filter(pk=enrolment.contact_id).update(email_opt_out=True)

    assert beat(at(0, 8)) == 1

    enrolment.refresh_from_db()
    assert (enrolment.state, enrolment.exit_reason) == ("exited", "unsubscribed")
    assert gmail_sent(sandbox, SELLER1) == []


# --- Meeting booked ---------------------------------------------------------------------------------
def _meeting(contact_email: str, *, changed, cancelled: bool = False) -> CalendarEventRecord:
    return CalendarEventRecord(
        external_id=f"ev-{contact_email}",
        ical_uid=f"{contact_email}@calendar.example",
        subject="Intro call",
        start=changed + timedelta(days=1),
        end=changed + timedelta(days=1, minutes=30),
        organizer=Address(SELLER1, "Sam Seller"),
        attendees=(Attendee(SELLER1, is_organizer=True), Attendee(contact_email.upper(), "A contact")),
        cancelled=cancelled,
        updated_at=changed,
    )


def test_a_synced_meeting_with_the_contact_booked_after_enrolling_takes_them_out(demo, gmail):
    flow = make_flow(demo.seller1, email(), email(delay=2))
    booked, earlier, cancelled, untouched = enrol(
        flow, demo.seller1, contacts(demo.org, 4, domains=4), now=at(0, 7)
    )
    context = MailboxContext(
        organization_id=demo.org.pk,
        connection_id=gmail.pk,
        provider="google",
        user_id=demo.seller1.pk,
        mailbox=SELLER1,
        kind="calendar",
    )

    deliver(
        context,
        [
            _meeting(booked.contact.email, changed=at(0, 9)),
            _meeting(earlier.contact.email, changed=at(0, 6)),  # booked before they were enrolled
            _meeting(cancelled.contact.email, changed=at(0, 9), cancelled=True),
        ],
    )

    states = {e.pk: (e.state, e.exit_reason) for e in Enrolment.objects.all()}
    assert states == {
        booked.pk: ("exited", "meeting_booked"),
        earlier.pk: ("active", ""),
        cancelled.pk: ("active", ""),
        untouched.pk: ("active", ""),
    }
    assert EnrolmentEvent.objects.get(enrolment=booked, kind="exited").data["event"] == (
        f"{booked.contact.email}@calendar.example"
    )


def test_a_manual_email_whose_submit_died_after_the_provider_call_is_found_not_sent_again(
    sandbox, demo, gmail, monkeypatch
):
    flow = make_flow(demo.seller1, email(subject="Hello", kind=Kind.MANUAL_EMAIL), email(delay=1))
    (enrolment,) = enrol(flow, demo.seller1, contacts(demo.org, 1), now=at(0, 8))
    written = {"subject": "Hello", "html": "<p>Hi</p>", "text": "Hi"}

    def die(point: str) -> None:
        if point == "provider_called":
            raise SystemExit("worker killed")

    monkeypatch.setattr(sending, "_checkpoint", die)
    with pytest.raises(SystemExit):
        sending.manual_email_send(enrolment=enrolment, actor=demo.seller1, now=at(0, 9), **written)
    monkeypatch.undo()
    assert len(gmail_sent(sandbox, SELLER1)) == 1

    with pytest.raises(ValidationError, match="still checking"):  # a second click at once
        sending.manual_email_send(enrolment=enrolment, actor=demo.seller1, now=at(0, 9, 0, 20), **written)
    send = sending.manual_email_send(enrolment=enrolment, actor=demo.seller1, now=at(0, 9, 5), **written)

    assert send.state == Sent.SENT and send.sent_at == at(0, 9)
    assert [m.rfc_id for m in gmail_sent(sandbox, SELLER1)] == [send.message_id]
    enrolment.refresh_from_db()
    assert enrolment.current_step.position == 2


# --- The beat -----------------------------------------------------------------------------------
def test_the_beat_is_installed_every_minute_and_resumes_pauses_that_are_over(sandbox, demo, gmail):
    PeriodicTask.objects.filter(name=tasks.SALESFLOWS_BEAT_NAME).delete()
    install_periodic_tasks()
    installed = PeriodicTask.objects.get(name=tasks.SALESFLOWS_BEAT_NAME)
    assert installed.task == "engage.salesflows_dispatch" and installed.enabled
    assert (installed.interval.every, installed.interval.period) == (60, "seconds")

    flow = make_flow(demo.seller1, email())
    (enrolment,) = enrol(flow, demo.seller1, contacts(demo.org, 1), now=at(0, 7))
    events.enrolment_pause(enrolment, until=at(1, 9), actor=demo.seller1, now=at(0, 7))
    assert beat(at(0, 12)) == 0
    assert beat(at(1, 9)) == 1  # resumed by the beat, and its email, overdue, sent at once
    enrolment.refresh_from_db()
    assert enrolment.state == State.FINISHED
    assert len(gmail_sent(sandbox, SELLER1)) == 1
