"""Salesflows in the support admin (A7): support staff open every Salesflow page and search them,
and change, add or delete nothing."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from engage.models import EnrolmentJob, SalesflowStep, SalesflowTemplate, SalesflowVariant, SellerTimeOff
from engage.salesflows.enrolment import enrolment_check, enrolment_start
from engage.salesflows.events import enrolment_pause
from tests.engage.salesflows.flows_helpers import email, make_flow
from tests.factories import ContactFactory
from tests.support_login_helpers import sign_in_to_support, support_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def support_client(client, db):
    sign_in_to_support(client, support_user())
    return client


@pytest.fixture
def rows(acme, owner, acme_mail):
    flow = make_flow(owner, email(subject="Intro"), email(subject="", reply=True, delay=2))
    step = SalesflowStep.objects.filter(flow=flow).first()
    (enrolment,) = enrolment_start(
        enrolment_check(
            flow,
            [ContactFactory(organization=acme, email="vip@initech.example")],
            sender=owner,
            enrolled_by=owner,
        )
    ).enrolments
    enrolment_pause(enrolment, actor=owner)
    return {
        "salesflow": flow,
        "salesflowstep": step,
        "salesflowvariant": SalesflowVariant.objects.create(
            organization=acme, step=step, label="B", subject="Other"
        ),
        "enrolment": enrolment,
        "enrolmentevent": enrolment.events.first(),
        "stepsend": enrolment.sends.create(organization=acme, step=step, message_id="sf-1-1-1@acme.example"),
        "salesflowtemplate": SalesflowTemplate.objects.create(organization=acme, owner=owner, name="T"),
        "sellertimeoff": SellerTimeOff.objects.create(
            organization=acme, user=owner, start_date=date(2026, 8, 3), end_date=date(2026, 8, 14)
        ),
        "enrolmentjob": EnrolmentJob.objects.create(
            organization=acme, flow=flow, sender=owner, enrolled_by=owner, contact_ids=[1, 2], total=2
        ),
    }


@pytest.mark.parametrize(
    "model",
    [
        "salesflow",
        "salesflowstep",
        "salesflowvariant",
        "enrolment",
        "enrolmentevent",
        "stepsend",
        "salesflowtemplate",
        "sellertimeoff",
        "enrolmentjob",
    ],
)
def test_every_salesflow_page_opens_read_only_and_nothing_is_added_or_deleted(support_client, rows, model):
    changelist = reverse(f"admin:engage_{model}_changelist")
    assert support_client.get(changelist).status_code == 200
    obj = rows[model]
    page = support_client.get(reverse(f"admin:engage_{model}_change", args=[obj.pk]))
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert support_client.get(reverse(f"admin:engage_{model}_add")).status_code == 403
    delete = support_client.post(reverse(f"admin:engage_{model}_delete", args=[obj.pk]), {"post": "yes"})
    assert delete.status_code == 403 and type(obj).objects.filter(pk=obj.pk).exists()


def test_enrolments_are_found_by_the_contacts_email(support_client, rows):
    page = support_client.get(reverse("admin:engage_enrolment_changelist"), {"q": "vip@initech"})
    assert "vip@initech.example" in page.content.decode()
    page = support_client.get(reverse("admin:engage_stepsend_changelist"), {"q": "sf-1-1-1@"})
    assert "sf-1-1-1@acme.example" in page.content.decode()
