"""Actions waiting in a seller's queue, made through the real services: a flow whose first step
is a call (then a task, then an email) with contacts enrolled from ``seller``'s mailbox, due when
the test says."""

from __future__ import annotations

from datetime import datetime

from engage.models import Enrolment, Salesflow
from engage.salesflows.enrolment import enrolment_check, enrolment_start
from integrations.models import Connection
from tests.engage.salesflows.conftest import connect_mailboxes
from tests.engage.salesflows.flows_helpers import call, email, make_flow, task
from tests.factories import ContactFactory


def calls_flow(seller, *, name: str = "Spring outreach") -> Salesflow:
    """Call now (with notes), then a task a day later, then an email two days after that."""
    return make_flow(
        seller,
        call(delay=0, notes="Ask who runs the pilot"),
        task("Send the case study", delay=1),
        email(subject="Following up", delay=2),
        name=name,
    )


def enrol(flow: Salesflow, seller, contacts, *, now: datetime | None = None) -> list[Enrolment]:
    plan = enrolment_check(flow, contacts, sender=seller, enrolled_by=seller)
    return enrolment_start(plan, override_warnings=True, now=now).enrolments


def due_calls(
    seller, count: int, *, due_at: datetime, flow: Salesflow | None = None, domain: str = "acme.example"
) -> list[Enrolment]:
    """``count`` contacts (with a direct line) on the first step, a call, due at ``due_at``. The
    seller's organisation gets mailboxes on ``domain`` if it has none yet."""
    organization = seller.organization
    if not Connection.objects.filter(organization=organization, provider="google").exists():
        connect_mailboxes(organization, domain)
    flow = flow or calls_flow(seller)
    contacts = [
        ContactFactory(
            organization=organization,
            first_name=f"Pat{i}",
            last_name="Prospect",
            email=f"pat{i}.{flow.pk}@prospect.example",
            direct_phone="+14155550142",
        )
        for i in range(count)
    ]
    enrolments = enrol(flow, seller, contacts)
    Enrolment.objects.filter(pk__in=[e.pk for e in enrolments]).update(due_at=due_at)
    for e in enrolments:
        e.due_at = due_at
    return enrolments
