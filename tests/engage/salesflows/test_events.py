"""What happens to enrolments after they start: exits (the API reply and bounce detection will
call), the company rule on a reply, pause and resume (rescheduled into the window), skip and
remove, the mailbox pause, and a status that ends Salesflows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from engage.models import Contact, Enrolment, EnrolmentEvent, SalesflowStep, StepSend
from engage.models.salesflows import message_id_for
from engage.salesflows import builder, events
from engage.salesflows.enrolment import enrolment_check, enrolment_start
from engage.services.contacts import contact_set_status, contacts_bulk_update
from engage.services.statuses import status_create
from tests.engage.salesflows.flows_helpers import call, email, make_flow, task
from tests.factories import AccountFactory, ContactFactory

pytestmark = pytest.mark.django_db

MONDAY_9 = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
State = Enrolment.State


@pytest.fixture
def flow(owner, acme_mail):
    return make_flow(owner, email(subject="Intro"), call(delay=2), task("Send a gift", delay=3))


def _enrol(flow, owner, *contacts) -> list[Enrolment]:
    plan = enrolment_check(flow, contacts, sender=owner, enrolled_by=owner)
    return enrolment_start(plan, override_warnings=True, now=MONDAY_9).enrolments


def _kinds(enrolment) -> list[str]:
    return list(
        EnrolmentEvent.objects.filter(enrolment=enrolment).order_by("at", "id").values_list("kind", flat=True)
    )


def _pending_send(enrolment) -> StepSend:
    step = enrolment.current_step
    return StepSend.objects.create(
        organization_id=enrolment.organization_id,
        enrolment=enrolment,
        step=step,
        message_id=message_id_for(
            organization_id=enrolment.organization_id,
            enrolment_id=enrolment.pk,
            step_id=step.pk,
            domain="acme.example",
        ),
        due_at=enrolment.due_at,
    )


def test_an_exit_ends_the_enrolment_once_and_nothing_more_is_sent(acme, owner, flow):
    (enrolment,) = _enrol(flow, owner, ContactFactory(organization=acme))
    send = _pending_send(enrolment)
    events.enrolment_exit(enrolment, "bounced", data={"message_id": "abc@x"}, now=MONDAY_9)
    enrolment.refresh_from_db()
    send.refresh_from_db()
    assert (enrolment.state, enrolment.exit_reason, enrolment.exited_at, enrolment.due_at) == (
        State.EXITED,
        "bounced",
        MONDAY_9,
        None,
    )
    assert send.state == StepSend.State.SKIPPED
    # Detection may report the same bounce twice: nothing changes the second time.
    events.enrolment_exit(enrolment, "replied")
    enrolment.refresh_from_db()
    assert enrolment.exit_reason == "bounced"
    assert _kinds(enrolment) == ["enrolled", "exited"]
    exited = EnrolmentEvent.objects.get(enrolment=enrolment, kind="exited")
    assert exited.data == {"reason": "bounced", "message_id": "abc@x", "step": enrolment.current_step_id}
    with pytest.raises(ValueError):
        events.enrolment_exit(enrolment, "bored")


@pytest.mark.parametrize("option, others", [("none", "active"), ("pause", "paused"), ("exit", "exited")])
def test_a_reply_pauses_or_takes_out_the_rest_of_the_company_as_the_flow_says(
    acme, owner, flow, option, others
):
    builder.flow_update(flow=flow, actor=owner, exit_company_on_reply=option)
    initech = AccountFactory(organization=acme, name="Initech")
    replied, colleague, by_domain = (
        ContactFactory(organization=acme, account=initech, email="ann@initech.example"),
        ContactFactory(organization=acme, account=initech, email="bob@initech.example"),
        ContactFactory(organization=acme, email="carl@initech.example"),  # same domain, no account
    )
    elsewhere = ContactFactory(organization=acme, email="dora@globex.example")
    enrolments = _enrol(flow, owner, replied, colleague, by_domain, elsewhere)
    mine = next(e for e in enrolments if e.contact == replied)
    events.enrolment_exit(mine, "replied", data={"message_id": "re@initech"})
    states = dict(Enrolment.objects.values_list("contact__email", "state"))
    assert states == {
        "ann@initech.example": "exited",
        "bob@initech.example": others,  # the same account
        "carl@initech.example": "active",  # the account decides when there is one
        "dora@globex.example": "active",
    }
    if option != "none":
        reason = Enrolment.objects.get(contact=colleague)
        assert "company_replied" in (reason.exit_reason, reason.pause_reason)


def test_without_an_account_the_email_domain_is_the_company_but_never_a_free_mail_one(acme, owner, flow):
    builder.flow_update(flow=flow, actor=owner, exit_company_on_reply="exit")
    contacts = [
        ContactFactory(organization=acme, email=address)
        for address in ("ann@initech.example", "bob@initech.example", "x@gmail.com", "y@gmail.com")
    ]
    enrolments = _enrol(flow, owner, *contacts)
    events.enrolment_exit(enrolments[0], "replied")
    events.enrolment_exit(enrolments[2], "replied")
    assert dict(Enrolment.objects.values_list("contact__email", "exit_reason")) == {
        "ann@initech.example": "replied",
        "bob@initech.example": "company_replied",
        "x@gmail.com": "replied",
        "y@gmail.com": "",
    }


def test_pause_and_resume_reschedule_a_step_due_meanwhile_into_the_window(acme, owner, flow):
    (enrolment,) = _enrol(flow, owner, ContactFactory(organization=acme))
    assert enrolment.due_at == MONDAY_9
    events.enrolment_pause(enrolment, actor=owner, now=MONDAY_9)
    enrolment.refresh_from_db()
    assert (enrolment.state, enrolment.pause_reason) == (State.PAUSED, "seller")
    # Resumed on Saturday: the email was due on Monday, it goes at the next window (Monday 08:00).
    saturday = datetime(2026, 3, 14, 11, 0, tzinfo=UTC)
    events.enrolment_resume(enrolment, actor=owner, now=saturday)
    enrolment.refresh_from_db()
    assert (enrolment.state, enrolment.pause_reason, enrolment.due_at) == (
        State.ACTIVE,
        "",
        datetime(2026, 3, 16, 8, 0, tzinfo=UTC),
    )
    assert _kinds(enrolment) == ["enrolled", "paused", "resumed"]


def test_a_pause_until_a_date_resumes_by_itself_when_it_comes(acme, owner, flow):
    (enrolment,) = _enrol(flow, owner, ContactFactory(organization=acme))
    with pytest.raises(ValidationError):
        events.enrolment_pause(enrolment, until=MONDAY_9 - timedelta(hours=1), now=MONDAY_9)
    until = MONDAY_9 + timedelta(days=2)
    events.enrolment_pause(enrolment, until=until, actor=owner, now=MONDAY_9)
    assert events.enrolments_resume_due(now=until - timedelta(minutes=1)) == 0
    assert events.enrolments_resume_due(now=until) == 1
    enrolment.refresh_from_db()
    assert (enrolment.state, enrolment.paused_until, enrolment.due_at) == (State.ACTIVE, None, until)


def test_skipping_moves_on_to_the_next_step_and_after_the_last_the_enrolment_finishes(acme, owner, flow):
    (enrolment,) = _enrol(flow, owner, ContactFactory(organization=acme))
    send = _pending_send(enrolment)
    _intro, phone, gift = SalesflowStep.objects.filter(flow=flow).order_by("position")
    events.enrolment_skip_step(enrolment, actor=owner, now=MONDAY_9)
    enrolment.refresh_from_db()
    send.refresh_from_db()
    assert send.state == StepSend.State.SKIPPED
    # The call is due its two days after the skip, inside the seller's window.
    assert (enrolment.current_step, enrolment.due_at) == (phone, MONDAY_9 + timedelta(days=2))
    events.enrolment_advance(enrolment, done_at=MONDAY_9 + timedelta(days=2))
    enrolment.refresh_from_db()
    # Three days after Wednesday is a Saturday: the task waits for Monday's window.
    assert (enrolment.current_step, enrolment.due_at) == (gift, datetime(2026, 3, 16, 8, 0, tzinfo=UTC))
    events.enrolment_skip_step(enrolment, actor=owner)
    enrolment.refresh_from_db()
    assert (enrolment.state, enrolment.current_step, enrolment.due_at) == (State.FINISHED, None, None)
    assert _kinds(enrolment) == ["enrolled", "step_skipped", "step_skipped", "finished"]


def test_the_seller_removes_a_contact_from_the_flow(acme, owner, flow):
    (enrolment,) = _enrol(flow, owner, ContactFactory(organization=acme))
    events.enrolment_remove(enrolment, actor=owner)
    enrolment.refresh_from_db()
    assert (enrolment.state, enrolment.exit_reason) == (State.EXITED, "removed")
    assert EnrolmentEvent.objects.get(enrolment=enrolment, kind="exited").actor == owner


def test_a_disconnected_mailbox_pauses_its_enrolments_and_they_resume_once_it_is_back(acme, owner, flow):
    mine = _enrol(flow, owner, *[ContactFactory(organization=acme) for _ in range(3)])
    events.enrolment_pause(mine[0], actor=owner, now=MONDAY_9)  # paused by the seller: left alone
    assert events.sender_enrolments_pause(sender=owner, reason="mailbox_disconnected", now=MONDAY_9) == 2
    assert sorted(Enrolment.objects.values_list("pause_reason", flat=True)) == [
        "mailbox_disconnected",
        "mailbox_disconnected",
        "seller",
    ]
    tuesday = MONDAY_9 + timedelta(days=1)
    assert events.sender_enrolments_resume(sender=owner, reason="mailbox_disconnected", now=tuesday) == 2
    resumed = Enrolment.objects.filter(state=State.ACTIVE)
    assert {e.due_at for e in resumed} == {tuesday}
    assert Enrolment.objects.get(pk=mine[0].pk).state == State.PAUSED


def test_a_status_that_ends_salesflows_takes_the_contact_out_of_every_flow(acme, owner, flow):
    other = make_flow(owner, task(), name="Nurture")
    closed = status_create(organization=acme, actor=owner, name="Closed lost", color="#475569")
    working = status_create(organization=acme, actor=owner, name="Working", color="#2563eb")
    closed.ends_salesflows = True
    closed.save(update_fields=["ends_salesflows"])
    one, two, three = (ContactFactory(organization=acme) for _ in range(3))
    _enrol(flow, owner, one, two, three)
    _enrol(other, owner, one)
    contact_set_status(contact=one, status=working, actor=owner)
    assert Enrolment.objects.filter(contact=one, state=State.ACTIVE).count() == 2
    contact_set_status(contact=one, status=closed, actor=owner)
    assert (
        list(Enrolment.objects.filter(contact=one).values_list("state", "exit_reason"))
        == [("exited", "status_changed")] * 2
    )
    exited = EnrolmentEvent.objects.filter(kind="exited", enrolment__contact=one).first()
    assert (exited.data["status"], exited.actor) == ("Closed lost", owner)
    # In bulk, from a list filtered on the old status (gone after the update).
    on_default = Contact.objects.filter(pk__in=[two.pk, three.pk], status=two.status)
    contacts_bulk_update(organization=acme, actor=owner, contacts=on_default, status=closed)
    assert set(Enrolment.objects.filter(contact__in=[two, three]).values_list("exit_reason", flat=True)) == {
        "status_changed"
    }
