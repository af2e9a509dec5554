"""State changes only on POST (issue 10, point 6): for every URL pattern, a GET writes nothing.

The URL patterns are enumerated from the resolver (as in tests/copilot/test_tenancy_urls.py), so
a view added later is covered without being listed. Each URL is opened with GET by an
administrator of the organisation that owns the objects in it, with and without query
parameters that state-changing views read (``?app=calendar`` re-installed a disconnected app
before this test existed), and every SQL statement the request runs is captured: any INSERT,
UPDATE or DELETE outside the session table fails the test with the URL and the statement.
Cross-site GETs (a link, an <img>) therefore cannot change anything; POSTs carry the CSRF token.

The walk runs twice: once for a plain organisation, once for one as it is on a busy day (issue
12): Salesforce connected through the sandbox with a Lead Status picklist its statuses do not
mirror (a mapping waits; the pages show it without storing it), and a historical poll and a CSV
import whose workers fell silent hours ago (the every-minute sweep fails them; the pages only
show them as stopped), and a Salesflow with people due on a step (its pages count them and
preview the step for them; only a POST moves anyone on).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection as db
from django.db import models
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from engage.models import CallLog, ContactImport, CrmPoll, Enrolment, EnrolmentJob, SalesflowStep, StepSend
from engage.services.crm import gateway
from engage.services.crm.configuration import crm_settings_for
from engage.services.statuses import engage_settings_for
from integrations.models import Connection, ConnectionApp
from integrations.sandbox.microsoft.demo import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TENANT_ID
from tests.copilot.test_tenancy_urls import ALL_ROUTES, OBJECT_FACTORIES, Route
from tests.engage.salesflows.flows_helpers import call, email, make_flow, task
from tests.factories import ContactFactory, ContactImportFactory
from tests.integrations.salesforce.conftest import sandbox_connection
from tests.integrations.salesforce.factories import ConnectionFactory

# Values for URL kwargs that are not object ids.
PLAIN_KWARGS = {
    "token": "not-a-real-invitation-token",
    "step": "contact",
    "key": "not-a-real-key",
    "uidb36": "1",
    "sobject": "Lead",
}
# Query parameters that state-changing views read.
PROVOKING_QUERIES = (
    {},
    {"app": "calendar"},
    # ... and those the Salesflow builder's forms post (delete a step people are due on, move it).
    {
        "app": "email",
        "confirm": "1",
        "all": "1",
        "enabled": "0",
        "confirmed": "1",
        "direction": "up",
        "position": "1",
    },
)
WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)
# Tables a GET may write, and why.
ALLOWED_TABLES = {
    "django_session": "the session: messages, the OAuth state a connect flow starts",
    "engage_sellerprofile": "a seller's profile row with default values, made the first time a page needs it",
}
# Writes a GET may cause, and why: what a provider answered, never what the visitor asked for.
ALLOWED_WRITES = {
    re.compile(r"""^UPDATE "integrations_connection" SET "status" = 'needs_reconnect'"""): (
        "a provider read that finds Cadence's credentials refused records it on the connection"
    ),
    re.compile(r"""^INSERT INTO "copilot_auditevent" .*'integration\.needs_reconnect'"""): (
        "... and in the audit trail, so admins see when and why"
    ),
    re.compile(
        r"""^UPDATE "integrations_connection" SET "api_used" = \S+, "api_max" = \S+, "api_checked_at" """
    ): ("Salesforce's daily API allocation as its last answer reported it (Sforce-Limit-Info)"),
}
# Routes whose GET is the protocol's own, and why (each still refuses to act without its secret).
GET_BY_PROTOCOL = {
    "integrations:salesforce_callback": "OAuth redirect target: acts only with the session's one-time state",
    "integrations:google_callback": "OAuth redirect target: acts only with the session's one-time state",
    "integrations:microsoft_callback": "OAuth redirect target: acts only with the session's one-time state",
    "integrations:microsoft_consent_callback": "admin-consent redirect target: acts only with the session's state",
}


def _url(route: Route, organization, objects: dict[str, models.Model] | None = None) -> str:
    kwargs = {}
    for kwarg in route.kwargs:
        if objects and kwarg in objects:
            kwargs[kwarg] = objects[kwarg].pk
        elif kwarg in OBJECT_FACTORIES:
            kwargs[kwarg] = OBJECT_FACTORIES[kwarg](organization).pk
        else:
            kwargs[kwarg] = PLAIN_KWARGS[kwarg]
    return reverse(route.name, kwargs=kwargs)


def _writes(queries: list[dict]) -> list[str]:
    found = []
    for query in queries:
        sql = query["sql"]
        if not WRITE.match(sql):
            continue
        if any(f'"{table}"' in sql or f" {table} " in sql for table in ALLOWED_TABLES):
            continue
        if any(pattern.search(sql) for pattern in ALLOWED_WRITES):
            continue
        found.append(sql[:300])
    return found


ROUTES = [r for r in ALL_ROUTES if r.name not in GET_BY_PROTOCOL]


def test_the_walk_covers_the_state_changing_urls():
    names = {r.name for r in ROUTES}
    assert {
        "integrations:microsoft_connect",
        "integrations:google_connect",
        "integrations:app_toggle",
        "copilot:user_delete",
        "engage:contact_delete",
        "engage:settings_phone_start",
    } <= names


def _connections(organization, admin, sandbox, settings) -> None:
    """Organisation-wide Google, Microsoft and Salesforce connections, each mail connection with
    its Calendar app disconnected by the admin: a GET that (re)installs, toggles or connects
    anything has something to act on. Microsoft's is to the sandbox's consented demo tenant, so
    a view that checks the connection still works gets a yes."""
    settings.MICROSOFT_LOGIN_URL = sandbox.url
    settings.MICROSOFT_GRAPH_URL = f"{sandbox.url}/graph"
    settings.MICROSOFT_CLIENT_ID = DEMO_CLIENT_ID
    settings.MICROSOFT_CLIENT_SECRET = DEMO_CLIENT_SECRET
    sandbox.control.seed("microsoft", {"consents": [{"tenant_id": DEMO_TENANT_ID}]})
    taken = set(
        Connection.objects.filter(organization=organization, scope="organization").values_list(
            "provider", flat=True
        )
    )
    microsoft = {"mode": "app", "tenant_id": DEMO_TENANT_ID, "tenant_domain": "demo.example"}
    for provider, details in (("google", {"mode": "dwd"}), ("microsoft", microsoft)):
        if provider in taken:  # the URL's own object is this provider's connection
            continue
        connection = ConnectionFactory(
            organization=organization,
            provider=provider,
            details=details,
            connected_by=admin,
            external_org_id=details.get("tenant_id", "C0demo"),
        )
        ConnectionApp.objects.create(organization=organization, connection=connection, app="email")
        ConnectionApp.objects.create(
            organization=organization, connection=connection, app="calendar", installed=False, enabled=False
        )
    if "salesforce" not in taken:
        ConnectionFactory(organization=organization, provider="salesforce")


def _busy_day(organization, admin, sandbox, settings) -> dict[str, models.Model]:
    """Salesforce connected through the sandbox's real consent flow, its Lead Status picklist not
    mapped yet (the statuses are still the defaults), and a Lead poll and a CSV import running
    with no sign of life for three hours: past their ``STALE_AFTER``, not failed by any sweep yet.
    Returns them as the objects of the URL kwargs they answer to."""
    settings.SALESFORCE_LOGIN_URL = sandbox.url
    settings.SALESFORCE_CLIENT_ID = "cadence-sandbox-client"
    settings.SALESFORCE_CLIENT_SECRET = "cadence-sandbox-secret"
    gateway.cache_clear()  # this connection's describes come from the sandbox, not another test
    salesforce = sandbox_connection(sandbox, organization, admin)
    silent = timezone.now() - timedelta(hours=3)
    another_host = "worker:another-host:41:0ff1ce"  # judged only by its silence
    poll = CrmPoll.objects.create(
        organization=organization,
        sobject="Lead",
        started_by=admin,
        status=CrmPoll.Status.RUNNING,
        started_at=silent,
        heartbeat_at=silent,
        worker=another_host,
        processed=500,
    )
    contact_import = ContactImportFactory(
        organization=organization,
        created_by=admin,
        status=ContactImport.Status.IMPORTING,
        started_at=silent,
        heartbeat_at=silent,
        worker=another_host,
    )
    # A Salesflow with people due on its second step: the builder's delete and archive pages count
    # them, its preview renders the step for one of them; none of it may move anyone on.
    flow = make_flow(admin, email(), task(), name="Busy outbound")
    step = SalesflowStep.objects.get(flow=flow, position=2)
    due = [
        Enrolment.objects.create(
            organization=organization,
            flow=flow,
            contact=contact,
            sender=admin,
            current_step=step,
            due_at=silent,
        )
        for contact in ContactFactory.create_batch(2, organization=organization)
    ]
    # ... one of them paused until a moment that has come (the minute beat resumes it, not a
    # page), and a background enrolment into the flow whose worker fell silent (the sweep fails it).
    Enrolment.objects.filter(pk=due[1].pk).update(
        state=Enrolment.State.PAUSED, pause_reason=Enrolment.PauseReason.UNTIL_DATE, paused_until=silent
    )
    job = EnrolmentJob.objects.create(
        organization=organization,
        flow=flow,
        sender=admin,
        enrolled_by=admin,
        contact_ids=[e.contact_id for e in due],
        status=EnrolmentJob.Status.RUNNING,
        total=2,
        started_at=silent,
        heartbeat_at=silent,
        worker=another_host,
    )
    return {
        "connection_id": salesforce,
        "poll_id": poll,
        "import_id": contact_import,
        "flow_id": flow,
        "step_id": step,
        "enrolment_id": due[1],
        "job_id": job,
    }


def _walk(url: str, client) -> None:
    client.raise_request_exception = False
    for query in PROVOKING_QUERIES:
        with CaptureQueriesContext(db) as captured:
            response = client.get(url, query)
        assert response.status_code < 500, f"GET {url} {query} answered {response.status_code}"
        writes = _writes(captured.captured_queries)
        assert not writes, f"GET {url} {query} wrote to the database:\n" + "\n".join(writes)


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_a_get_writes_nothing(route, client, owner, acme, teammate, sandbox, settings):
    # Defaults that the organisation gets at creation or first use exist beforehand, as they do
    # for any organisation that has used Cadence for a day.
    engage_settings_for(acme)
    crm_settings_for(acme)
    url = _url(route, acme)
    _connections(acme, owner, sandbox, settings)
    client.force_login(owner)

    _walk(url, client)


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_a_get_writes_nothing_on_a_busy_day(route, client, owner, acme, sandbox, settings):
    engage_settings_for(acme)
    crm_settings_for(acme)
    url = _url(route, acme, _busy_day(acme, owner, sandbox, settings))
    _connections(acme, owner, sandbox, settings)
    client.force_login(owner)

    _walk(url, client)


def test_the_busy_day_is_what_the_pages_show(client, owner, acme, sandbox, settings):
    """Guards the walk above: the waiting mapping and the stopped jobs are on the pages (read,
    not stored), so a walk that found nothing to write would not be a walk past nothing."""
    engage_settings_for(acme)
    crm_settings_for(acme)
    objects = _busy_day(acme, owner, sandbox, settings)
    client.force_login(owner)

    for name in ("engage:crm_settings", "engage:statuses"):
        assert "Map your statuses to Salesforce Lead Status." in client.get(reverse(name)).content.decode()
    assert "Apply mapping" in client.get(reverse("engage:crm_status_mapping")).content.decode()
    poll_page = client.get(reverse("engage:crm_poll", args=["Lead"])).content.decode()
    assert "Last poll did not finish" in poll_page and "The background worker stopped" in poll_page
    import_page = client.get(reverse("engage:import_detail", args=[objects["import_id"].pk])).content.decode()
    assert "The import did not finish" in import_page and "The background worker stopped" in import_page
    job_page = client.get(reverse("engage:salesflow_enrol_job", args=[objects["job_id"].pk])).content.decode()
    assert "Stopped before the end" in job_page and "The background worker stopped" in job_page
    assert CrmPoll.objects.get().status == CrmPoll.Status.RUNNING  # shown stopped, left for the sweep
    assert EnrolmentJob.objects.get().status == EnrolmentJob.Status.RUNNING
    assert ContactImport.objects.get().status == ContactImport.Status.IMPORTING


def test_the_add_to_salesflow_check_writes_nothing_even_with_the_start_fields(
    client, owner, acme, sandbox, settings
):
    """The dialog's Check is a GET: the plan for the busy day's people (one due, one paused, one
    new, one opted out), by a sender whose profile was never saved, with every field Start posts
    (a digest, the override) in the query: nothing is enrolled, stored or started."""
    engage_settings_for(acme)
    objects = _busy_day(acme, owner, sandbox, settings)
    _connections(acme, owner, sandbox, settings)
    flow = objects["flow_id"]
    people = [e.contact_id for e in Enrolment.objects.filter(flow=flow)]
    people += [ContactFactory(organization=acme).pk, ContactFactory(organization=acme, email_opt_out=True).pk]
    other = make_flow(owner, email(), name="Fresh outbound")
    client.force_login(owner)
    query = {"contact": people, "flow": other.pk, "check": "1", "override": "1", "digest": "0" * 24}
    before = Enrolment.objects.count()

    with CaptureQueriesContext(db) as captured:
        response = client.get(reverse("engage:salesflow_enrol"), query)

    assert "Before you start" in response.content.decode()
    assert not _writes(captured.captured_queries)
    assert Enrolment.objects.count() == before


def test_the_actions_pages_write_nothing_even_with_their_forms_fields(client, owner, acme, sandbox, settings):
    """The seller's queue, Today and an email's composer with a call, a task and an email to write
    due and an email needing attention, each opened (and each control's URL tried) with every field the controls post in the
    query: nobody moves on, nothing is logged, snoozed or sent."""
    engage_settings_for(acme)
    crm_settings_for(acme)
    flow = make_flow(
        owner, call(delay=0), task(delay=0), email(kind="manual_email", subject="Hi {{ first_name|there }}")
    )
    overdue = timezone.now() - timedelta(days=1)
    enrolments = [
        Enrolment.objects.create(
            organization=acme,
            flow=flow,
            contact=ContactFactory(organization=acme, direct_phone="+14155550142"),
            sender=owner,
            enrolled_by=owner,
            current_step=step,
            due_at=overdue,
        )
        for step in SalesflowStep.objects.filter(flow=flow).order_by("position")
    ]
    # And an email the send engine could not send, waiting as needing attention.
    auto = make_flow(owner, email(subject="For {{ title }}"), name="Titles")
    waiting = Enrolment.objects.create(
        organization=acme,
        flow=auto,
        contact=ContactFactory(organization=acme, title=""),
        sender=owner,
        enrolled_by=owner,
        current_step=auto.steps.get(),
        due_at=overdue,
        state=Enrolment.State.PAUSED,
        pause_reason=Enrolment.PauseReason.NEEDS_ATTENTION,
    )
    unsent = StepSend.objects.create(
        organization=acme,
        enrolment=waiting,
        step=waiting.current_step,
        message_id=f"sf-{acme.pk}-{waiting.pk}-{waiting.current_step_id}@acme.example",
        state=StepSend.State.NEEDS_ATTENTION,
        error="No value for {{ title }}",
    )
    _connections(acme, owner, sandbox, settings)
    client.force_login(owner)
    page = client.get(reverse("engage:actions")).content.decode()
    assert "Log call" in page and "Try again" in page  # the rows are there
    controls = (
        "actions",
        "home",
        "action_call",
        "action_done",
        "action_skip",
        "action_snooze",
        "action_retry",
        "action_remove",
    )

    for enrolment in [*enrolments, waiting]:
        fields = {
            "enrolment": enrolment.pk,
            "step": enrolment.current_step_id,
            "subject": "Call",
            "result": "no_answer",
            "comments": "x",
            "tomorrow": "1",
            "until": "2030-01-02",
            "body_html": "<p>Hi</p>",
            "next": "/app/",
        }
        urls = [reverse(f"engage:{name}") for name in controls]
        urls.append(reverse("engage:action_email", args=[enrolment.pk]))
        for url in urls:
            with CaptureQueriesContext(db) as captured:
                response = client.get(url, fields)
            assert response.status_code in (200, 405), f"GET {url}: {response.status_code}"
            assert not _writes(captured.captured_queries), f"GET {url} wrote to the database"

    assert [
        (e.state, e.current_step_id, e.due_at) for e in Enrolment.objects.filter(flow=flow).order_by("pk")
    ] == [(Enrolment.State.ACTIVE, e.current_step_id, overdue) for e in enrolments]
    assert not CallLog.objects.exists() and list(StepSend.objects.all()) == [unsent]
    waiting.refresh_from_db()
    unsent.refresh_from_db()
    assert (waiting.state, waiting.pause_reason, waiting.due_at) == (
        Enrolment.State.PAUSED,
        "needs_attention",
        overdue,
    )
    assert unsent.state == StepSend.State.NEEDS_ATTENTION
