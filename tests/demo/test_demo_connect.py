"""``make run``'s Demo Co comes connected (issue 12, point 7): ``demo_connect`` walks the Google
and Salesforce connect flows through the sandbox's consent pages, so the connections are bound by
what the provider verified, then links the demo contacts the sandbox's Salesforce knows."""

from __future__ import annotations

import pytest

from demo.connect import demo_connect
from demo.engage import engage_demo_seed
from demo.seed import demo_seed
from engage.models import Contact
from engage.services.statuses import statuses_from_crm
from integrations import services
from integrations.models import Connection
from integrations.sandbox import demo_world
from integrations.sandbox.salesforce import control as sf
from integrations.sandbox.salesforce.demo import ORG_ID

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
