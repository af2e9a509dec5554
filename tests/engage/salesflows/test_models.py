"""Salesflow data: the database keeps one live enrolment per flow and contact, one send per
enrolment and step with a Message-ID unique in the organisation, dense unique step positions,
and flow names unique among the flows not archived."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from engage.models import Enrolment, Salesflow, SalesflowStep, SellerTimeOff, StepSend
from engage.models.salesflows import message_id_for
from tests.engage.salesflows.flows_helpers import email, make_flow
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


def _enrol(flow, contact, sender, **kwargs) -> Enrolment:
    return Enrolment.objects.create(
        organization=flow.organization, flow=flow, contact=contact, sender=sender, **kwargs
    )


def test_a_contact_is_live_in_a_flow_once_but_may_come_back_after_leaving_it(acme, owner):
    flow = make_flow(owner)
    contact = ContactFactory(organization=acme)
    first = _enrol(flow, contact, owner)
    with pytest.raises(IntegrityError), transaction.atomic():
        _enrol(flow, contact, owner, state=Enrolment.State.PAUSED)
    first.state = Enrolment.State.EXITED
    first.save(update_fields=["state"])
    again = _enrol(flow, contact, owner)
    _enrol(make_flow(owner, name="Another"), contact, owner)  # another flow is another matter
    assert again.pk != first.pk


def test_one_send_per_enrolment_and_step_and_its_message_id_is_unique_in_the_organisation(acme, owner):
    flow = make_flow(owner, email(), email(reply=True, delay=2))
    first, second = SalesflowStep.objects.filter(flow=flow).order_by("position")
    enrolment = _enrol(flow, ContactFactory(organization=acme), owner)
    message_id = message_id_for(
        organization_id=acme.pk, enrolment_id=enrolment.pk, step_id=first.pk, domain="acme.example"
    )
    StepSend.objects.create(organization=acme, enrolment=enrolment, step=first, message_id=message_id)
    with pytest.raises(IntegrityError), transaction.atomic():
        StepSend.objects.create(organization=acme, enrolment=enrolment, step=first, message_id="other@x")
    with pytest.raises(IntegrityError), transaction.atomic():
        StepSend.objects.create(organization=acme, enrolment=enrolment, step=second, message_id=message_id)


def test_the_message_id_is_the_same_on_every_try_and_names_organisation_enrolment_and_step():
    made = [
        message_id_for(organization_id=7, enrolment_id=42, step_id=3, domain="Acme.Example") for _ in range(2)
    ]
    assert made == ["sf-7-42-3@acme.example"] * 2
    assert message_id_for(organization_id=7, enrolment_id=42, step_id=4, domain="acme.example") != made[0]
    assert message_id_for(organization_id=8, enrolment_id=42, step_id=3, domain="acme.example") != made[0]


def test_step_positions_are_unique_among_live_steps_only(acme, owner):
    flow = make_flow(owner, email(), email(subject="Second"))
    first = SalesflowStep.objects.get(flow=flow, position=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        SalesflowStep.objects.create(organization=acme, flow=flow, position=1, kind="task", task_text="x")
    first.deleted_at = timezone.now()
    first.save(update_fields=["deleted_at"])
    SalesflowStep.objects.create(organization=acme, flow=flow, position=1, kind="task", task_text="x")


def test_a_flow_name_is_free_again_once_the_flow_is_archived(acme, owner):
    flow = make_flow(owner, name="Q3 outbound")
    with pytest.raises(IntegrityError), transaction.atomic():
        Salesflow.objects.create(organization=acme, owner=owner, name="q3 OUTBOUND")
    flow.archived_at = timezone.now()
    flow.save(update_fields=["archived_at"])
    Salesflow.objects.create(organization=acme, owner=owner, name="q3 OUTBOUND")


def test_time_off_cannot_end_before_it_starts(acme, owner):
    with pytest.raises(IntegrityError), transaction.atomic():
        SellerTimeOff.objects.create(
            organization=acme, user=owner, start_date=date(2026, 8, 10), end_date=date(2026, 8, 9)
        )
    SellerTimeOff.objects.create(
        organization=acme, user=owner, start_date=date(2026, 8, 10), end_date=date(2026, 8, 10)
    )


def test_an_email_steps_plain_text_is_made_from_its_html_when_none_was_written(acme, owner):
    flow = make_flow(
        owner,
        email(
            body='<p>Hi {{ first_name|there }},</p><p>see <a href="https://acme.example/x">our page</a><br>Sam</p>'
        ),
    )
    step = SalesflowStep.objects.get(flow=flow)
    assert step.text_body() == "Hi {{ first_name|there }},\n\nsee our page (https://acme.example/x)\nSam"
    step.body_text = "Written by hand"
    assert step.text_body() == "Written by hand"
