"""``make run``'s Demo Co comes connected (issue 12, point 7): ``demo_connect`` walks the Google
and Salesforce connect flows through the sandbox's consent pages, so the connections are bound by
what the provider verified, then links the demo contacts the sandbox's Salesforce knows."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from demo.connect import demo_connect
from demo.engage import engage_demo_seed
from demo.salesflows import demo_salesflows
from demo.seed import demo_seed
from engage.models import Contact, Enrolment, Salesflow, StepSend
from engage.services.statuses import statuses_from_crm
from integrations import services
from integrations.models import Connection
from integrations.sandbox import demo_world
from integrations.sandbox.salesforce import control as sf
from integrations.sandbox.salesforce.demo import ORG_ID
from tests.engage.salesflows.engine_helpers import beat, gmail_sent

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo_org(sandbox):
    org = demo_seed()
    engage_demo_seed(org)
    return org


def _connect(sandbox) -> tuple[object, list[str]]:
    said: list[str] = []
    report = demo_connect(
        sandbox_url=sandbox.url, ca_path=sandbox.ca_path, web_host="testserver", say=said.append
    )
    return report, said


def test_the_demo_comes_connected_to_google_and_salesforce(sandbox, demo_org):
    report, said = _connect(sandbox)

    assert report.connected == ["google", "salesforce"]
    google = Connection.objects.get(organization=demo_org, provider="google")
    assert google.is_active and google.is_org_wide
    assert google.details["domain"] == "demo.example"
    assert google.details["scope"]["key"] == demo_world.SALES_GROUP_EMAIL
    assert set(google.apps.filter(installed=True).values_list("app", flat=True)) == {"email", "calendar"}
    crm = Connection.objects.get(organization=demo_org, provider="salesforce")
    assert crm.is_active and crm.is_org_wide
    assert crm.external_org_id == ORG_ID  # what Salesforce's identity said, not a value we made up
    assert crm.external_username == "admin@demo.example"
    # The admin would have accepted the suggested Lead Status mapping.
    assert statuses_from_crm(organization=demo_org)
    # The demo world's people are linked to the Contacts the sandbox's Salesforce holds for them.
    world = [p.email for p in demo_world.build_world().people if p.company]
    linked = Contact.objects.for_org(demo_org).filter(email__in=world).exclude(crm_id="")
    assert report.lookups == len(world) and linked.count() == len(world)
    contact = linked.first()
    record = sf.get_record(sandbox.state, "Contact", contact.crm_id)
    assert record["Email"] == contact.email and contact.crm_type == "Contact"
    # Contacts Salesforce does not know stay unlinked: nothing was created there behind anyone's back.
    assert Contact.objects.for_org(demo_org).exclude(email__in=world).exclude(crm_id="").count() == 0
    assert any("connected" in line for line in said)


def test_a_second_start_leaves_the_connections_alone(sandbox, demo_org):
    _connect(sandbox)
    calls_before = sf.api_calls(sandbox.state)
    report, _said = _connect(sandbox)

    assert report.connected == [] and report.skipped == ["google", "salesforce"]
    assert Connection.objects.filter(organization=demo_org).count() == 2
    assert sf.api_calls(sandbox.state) == calls_before  # not even asked


def test_a_disconnected_provider_is_not_reconnected_behind_the_admins_back(sandbox, demo_org):
    _connect(sandbox)
    crm = Connection.objects.get(organization=demo_org, provider="salesforce")
    services.connection_disconnect(connection=crm, actor=None)

    report, _said = _connect(sandbox)

    crm.refresh_from_db()
    assert report.connected == [] and crm.status == Connection.Status.DISCONNECTED


def test_the_sandbox_adds_demo_cos_salesforce_records_once(sandbox):
    assert sf.add_demo_world(sandbox.state) is True
    owners = {sf.user_id(sandbox.state, email) for email in demo_world.SELLERS}
    assert len(owners) == 2
    assert sf.add_demo_world(sandbox.state) is False


def test_the_demo_has_two_salesflows_sending_and_calls_waiting_for_seller1(sandbox, demo_org):
    report, _said = _connect(sandbox)

    assert [name for name, _n in report.salesflows] == ["New logos — first touch", "Warm follow-up"]
    assert [n for _name, n in report.salesflows] == [5, 3]
    seller1 = demo_org.users.get(email="seller1@demo.example")
    flows = Salesflow.objects.for_org(demo_org)
    assert {f.owner for f in flows} == {seller1} and all(f.visibility == "team" for f in flows)
    # The first touch's emails are due now (the demo's seller works around the clock)...
    first_touch = Enrolment.objects.for_org(demo_org).filter(flow__name="New logos — first touch")
    assert first_touch.count() == 5
    assert all(e.state == "active" and e.due_at <= timezone.now() for e in first_touch)
    # ...and the warm follow-up's calls wait in seller1's Actions queue.
    page = Client()
    page.force_login(seller1)
    text = page.get(reverse("engage:actions")).content.decode()
    warm = Enrolment.objects.for_org(demo_org).filter(flow__name="Warm follow-up").select_related("contact")
    assert warm.count() == 3
    for enrolment in warm:
        assert enrolment.contact.full_name in text


def test_the_demo_salesflows_are_made_once(sandbox, demo_org):
    _connect(sandbox)

    assert demo_salesflows(demo_org) == []
    assert Salesflow.objects.for_org(demo_org).count() == 2


def test_the_first_touch_emails_go_out_through_the_sandbox_within_minutes(sandbox, demo_org):
    _connect(sandbox)
    start = timezone.now()

    # The minute beat, for five minutes (an injected clock: the sends are spread by the mailbox's gap).
    for minute in range(6):
        beat(start + dt.timedelta(minutes=minute))

    sent = StepSend.objects.for_org(demo_org).filter(state="sent", step__flow__name="New logos — first touch")
    assert sent.count() == 5
    in_gmail = [m.rfc_id for m in gmail_sent(sandbox, "seller1@demo.example")]
    assert sorted(in_gmail) == sorted(s.message_id for s in sent)
