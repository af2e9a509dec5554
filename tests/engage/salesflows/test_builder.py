"""Building a Salesflow: flows, steps in a dense order, the checks on what a step says (field by
field, merge fields included), deleting a step that people are due on, and templates."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from engage.models import Enrolment, EnrolmentEvent, Salesflow, SalesflowStep, SalesflowTemplate
from engage.salesflows import builder
from engage.salesflows.builder import StepContent
from engage.salesflows.enrolment import enrolment_check, enrolment_start
from tests.engage.salesflows.flows_helpers import call, email, make_flow, positions, task
from tests.factories import ContactFactory, UserFactory

pytestmark = pytest.mark.django_db

MONDAY_9 = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)


def _errors(excinfo) -> dict[str, list[str]]:
    return excinfo.value.message_dict


# --- Flows --------------------------------------------------------------------------------------
def test_a_flow_needs_a_name_free_among_the_flows_not_archived(owner, teammate):
    flow = builder.flow_create(owner=owner, name="  Q3   outbound ")
    assert flow.name == "Q3 outbound" and flow.visibility == Salesflow.Visibility.PRIVATE
    with pytest.raises(ValidationError) as excinfo:
        builder.flow_create(owner=teammate, name="q3 OUTBOUND")
    assert _errors(excinfo) == {
        "name": ["There is already a Salesflow called “q3 OUTBOUND”. Choose another name."]
    }
    with pytest.raises(ValidationError) as excinfo:
        builder.flow_create(owner=owner, name="   ")
    assert _errors(excinfo) == {"name": ["Give the Salesflow a name."]}
    builder.flow_archive(flow=flow, actor=owner)
    assert builder.flow_create(owner=teammate, name="Q3 outbound").pk != flow.pk


def test_only_the_owner_or_an_administrator_changes_a_flow(owner, teammate, acme):
    flow = make_flow(teammate, name="Tom's")
    builder.flow_update(flow=flow, actor=owner, name="Tom's flow", exit_company_on_reply="pause")
    flow.refresh_from_db()
    assert (flow.name, flow.exit_company_on_reply) == ("Tom's flow", "pause")
    other = UserFactory(organization=acme)
    with pytest.raises(PermissionDenied):
        builder.flow_update(flow=flow, actor=other, name="Mine now")
    with pytest.raises(PermissionDenied):
        builder.step_add(flow=flow, actor=other, content=task())
    with pytest.raises(ValidationError) as excinfo:
        builder.flow_update(flow=flow, actor=teammate, exit_company_on_reply="everyone")
    assert list(_errors(excinfo)) == ["exit_company_on_reply"]


def test_archiving_a_flow_takes_its_people_out(acme, acme_mail, owner):
    flow = make_flow(owner)
    contacts = [ContactFactory(organization=acme) for _ in range(2)]
    enrolment_start(enrolment_check(flow, contacts, sender=owner, enrolled_by=owner), now=MONDAY_9)
    assert builder.flow_archive(flow=flow, actor=owner) == 2
    assert set(Enrolment.objects.filter(flow=flow).values_list("state", "exit_reason")) == {
        ("exited", "flow_archived")
    }
    with pytest.raises(ValidationError):
        enrolment_check(flow, contacts, sender=owner, enrolled_by=owner)


# --- Steps --------------------------------------------------------------------------------------
def test_steps_are_added_at_the_end_or_at_a_position_and_stay_numbered_one_to_n(owner):
    flow = make_flow(owner, email(subject="One"), task("Two"), call(notes="Three"))
    builder.step_add(flow=flow, actor=owner, content=task("First"), position=1)
    builder.step_add(flow=flow, actor=owner, content=task("Middle"), position=3)
    builder.step_add(flow=flow, actor=owner, content=task("Way past the end"), position=99)
    assert positions(flow) == [
        (1, "First"),
        (2, "One"),
        (3, "Middle"),
        (4, "Two"),
        (5, "Three"),
        (6, "Way past the end"),
    ]


def test_moving_a_step_closes_the_gap_it_leaves(owner):
    flow = make_flow(owner, email(subject="A"), task("B"), task("C"), task("D"))
    d = SalesflowStep.objects.get(flow=flow, task_text="D")
    builder.step_move(step=d, actor=owner, position=2)
    assert positions(flow) == [(1, "A"), (2, "D"), (3, "B"), (4, "C")]
    a = SalesflowStep.objects.get(flow=flow, subject="A")
    builder.step_move(step=a, actor=owner, position=4)
    assert positions(flow) == [(1, "D"), (2, "B"), (3, "C"), (4, "A")]


def test_each_mistake_in_a_step_is_said_on_its_field(owner):
    flow = make_flow(owner, task())
    bad = StepContent(
        kind="auto_email",
        subject="Hi {{ frist_name }} {{ sender.signature }}",
        body_html="<p>Hello {{ first_name|</p>",
        delay_amount=-1,
        delay_unit="days",
    )
    with pytest.raises(ValidationError) as excinfo:
        builder.step_add(flow=flow, actor=owner, content=bad)
    errors = _errors(excinfo)
    assert errors["delay_amount"] == ["The wait must be a whole number, 0 or more."]
    assert errors["subject"] == [
        "Line 1, column 4: Unknown merge field {{ frist_name }} — did you mean {{ first_name }}?",
        "Line 1, column 21: {{ sender.signature }} cannot be used in a subject line.",
    ]
    assert errors["body_html"] == [
        "Line 1, column 10: Merge field “{{ first_name|</p>” is not closed: end it with }} "
        "(or write \\{{ for a literal {{)."
    ]
    with pytest.raises(ValidationError) as excinfo:
        builder.step_add(flow=flow, actor=owner, content=StepContent(kind="auto_email", delay_amount=400))
    assert _errors(excinfo) == {
        "delay_amount": ["Wait at most 365 days."],
        "subject": ["Write a subject."],
        "body_html": ["Write the email."],
    }
    with pytest.raises(ValidationError) as excinfo:
        builder.step_add(flow=flow, actor=owner, content=StepContent(kind="task"))
    assert list(_errors(excinfo)) == ["task_text"]
    assert positions(flow) == [(1, "Connect on LinkedIn")]  # nothing half-added


def test_the_first_email_cannot_be_a_reply_in_the_thread(owner):
    flow = make_flow(owner, task())
    with pytest.raises(ValidationError) as excinfo:
        builder.step_add(flow=flow, actor=owner, content=email(subject="", reply=True))
    assert _errors(excinfo) == {"reply_in_thread": [builder.NO_PREVIOUS_EMAIL]}
    builder.step_add(flow=flow, actor=owner, content=email(subject="Intro"))
    follow_up = builder.step_add(flow=flow, actor=owner, content=email(subject="", reply=True, delay=3))
    assert follow_up.reply_in_thread and follow_up.subject == ""
    # Moving the reply before the email it answers is refused, and so is making that email a call.
    with pytest.raises(ValidationError) as excinfo:
        builder.step_move(step=follow_up, actor=owner, position=1)
    assert list(_errors(excinfo)) == ["position"]
    intro = SalesflowStep.objects.get(flow=flow, subject="Intro")
    with pytest.raises(ValidationError) as excinfo:
        builder.step_update(step=intro, actor=owner, kind="call")
    assert list(_errors(excinfo)) == ["kind"]
    assert positions(flow) == [(1, "Connect on LinkedIn"), (2, "Intro"), (3, "auto_email")]


def test_editing_a_step_changes_what_is_sent_from_now_on(owner):
    flow = make_flow(owner, email(subject="Old"))
    step = SalesflowStep.objects.get(flow=flow)
    builder.step_update(step=step, actor=owner, subject="New {{ company|your team }}", delay_amount=2)
    step.refresh_from_db()
    assert (step.subject, step.delay_amount, step.body_html.startswith("<p>Hi")) == (
        "New {{ company|your team }}",
        2,
        True,
    )
    with pytest.raises(TypeError):
        builder.step_update(step=step, actor=owner, position=3)


def test_deleting_a_step_people_are_due_on_asks_first_then_moves_them_on(acme, acme_mail, owner):
    flow = make_flow(owner, task("Research", delay=0), email(subject="Intro", delay=2), call(delay=3))
    research, intro, phone = SalesflowStep.objects.filter(flow=flow).order_by("position")
    contacts = [ContactFactory(organization=acme) for _ in range(3)]
    enrolment_start(enrolment_check(flow, contacts, sender=owner, enrolled_by=owner), now=MONDAY_9)
    Enrolment.objects.filter(contact=contacts[2]).update(current_step=intro)
    # Someone is due on "Research": nothing is deleted without asking.
    result = builder.step_delete(step=research, actor=owner)
    assert (result.deleted, result.due) == (False, 2)
    assert positions(flow) == [(1, "Research"), (2, "Intro"), (3, "call")]
    result = builder.step_delete(step=research, actor=owner, confirmed=True, now=MONDAY_9)
    assert (result.deleted, result.due) == (True, 2)
    assert positions(flow) == [(1, "Intro"), (2, "call")]
    moved = Enrolment.objects.filter(contact__in=contacts[:2])
    assert {e.current_step_id for e in moved} == {intro.pk}
    # Due two days after they started (Monday 09:00 UTC), inside the window: Wednesday 09:00.
    assert {e.due_at for e in moved} == {datetime(2026, 3, 11, 9, 0, tzinfo=UTC)}
    assert EnrolmentEvent.objects.filter(kind="step_deleted").count() == 2
    research.refresh_from_db()
    assert research.deleted_at is not None  # kept for history
    # A step nobody is due on goes at once; the last step's people finish.
    Enrolment.objects.filter(contact=contacts[2]).update(current_step=phone)
    assert builder.step_delete(step=phone, actor=owner, confirmed=True).due == 1
    assert Enrolment.objects.get(contact=contacts[2]).state == Enrolment.State.FINISHED


def test_deleting_the_email_a_reply_answers_sends_the_reply_on_its_own(owner):
    flow = make_flow(owner, email(subject="Intro"), email(subject="", reply=True, delay=2))
    intro, follow_up = SalesflowStep.objects.filter(flow=flow).order_by("position")
    result = builder.step_delete(step=intro, actor=owner)
    assert result.deleted and result.unthreaded == follow_up
    follow_up.refresh_from_db()
    assert not follow_up.reply_in_thread and follow_up.position == 1


# --- Templates ----------------------------------------------------------------------------------
def test_templates_are_checked_and_belong_to_their_owner_or_the_team(acme, owner, teammate):
    mine = builder.template_create(
        owner=teammate, name="Intro", subject="Hi {{ first_name }}", body_html="<p>x</p>"
    )
    shared = builder.template_create(
        owner=teammate, name="Team intro", subject="Hi", body_html="<p>x</p>", shared="team"
    )
    with pytest.raises(ValidationError) as excinfo:
        builder.template_create(owner=teammate, name="", subject="{{ nope }}", body_html="")
    assert set(_errors(excinfo)) == {"name", "subject", "body_html"}
    # An administrator may change the team's template, not a personal one.
    builder.template_update(template=shared, actor=owner, name="Team intro v2")
    with pytest.raises(PermissionDenied):
        builder.template_update(template=mine, actor=owner, name="Taken")
    with pytest.raises(PermissionDenied):
        builder.template_delete(template=mine, actor=UserFactory(organization=acme))
    builder.template_delete(template=mine, actor=teammate)
    assert list(SalesflowTemplate.objects.values_list("name", flat=True)) == ["Team intro v2"]
    assert builder.step_from_template(shared) == {"subject": "Hi", "body_html": "<p>x</p>", "body_text": ""}


def test_an_outsider_cannot_touch_our_flows_or_templates(owner, outsider):
    outsider.can_start_salesflow_on_behalf = True
    flow = make_flow(owner, email(), task())
    template = builder.template_create(owner=owner, name="T", subject="s", body_html="b", shared="team")
    step = SalesflowStep.objects.filter(flow=flow).first()
    for attempt in (
        lambda: builder.flow_update(flow=flow, actor=outsider, name="Ours"),
        lambda: builder.flow_archive(flow=flow, actor=outsider),
        lambda: builder.step_add(flow=flow, actor=outsider, content=task()),
        lambda: builder.step_update(step=step, actor=outsider, subject="Ours"),
        lambda: builder.step_move(step=step, actor=outsider, position=2),
        lambda: builder.step_delete(step=step, actor=outsider, confirmed=True),
        lambda: builder.template_update(template=template, actor=outsider, name="Ours"),
        lambda: builder.template_delete(template=template, actor=outsider),
    ):
        with pytest.raises(PermissionDenied):
            attempt()
    assert positions(flow) == [(1, "Hello {{ first_name|there }}"), (2, "Connect on LinkedIn")]
