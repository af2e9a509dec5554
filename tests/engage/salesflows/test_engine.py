"""The Salesflow send engine (issue 13, points 4-6): the minute beat claims due automatic emails
and sends them from the seller's mailbox exactly once, inside the windows and under the caps,
threaded when a step is a reply; what the provider refuses fails visibly, a mailbox that cannot
send pauses its enrolments until it can, a merge field without a value waits for the seller.

Demo Co's mailboxes are served by the provider sandbox through the real Gmail client; time is
the beat's injected clock (Demo Co's sellers work 08:00-18:00 UTC, Monday to Friday)."""

from __future__ import annotations

import contextlib
import threading

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection as db_connection

from engage.models import Enrolment, EnrolmentEvent, StepSend
from engage.salesflows import engine, sending
from engage.services.email import EmailNotSent
from tests.engage.salesflows.engine_helpers import at, beat, contacts, demo_co, enrol, gmail_sent
from tests.engage.salesflows.flows_helpers import Kind, email, make_flow
from tests.factories import OrganizationFactory, UserFactory
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
