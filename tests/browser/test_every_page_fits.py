"""One look at every width (issue 12, point 6): every Admin Portal and workspace page, opened with
GET by Acme's admin in real Chromium at 800 and 1366 px, is no wider than the window; wide tables
scroll inside their card and the portal's sidebar folds above the content instead.

The URLs are enumerated from the resolver (as in tests/copilot/test_tenancy_urls.py), so a page
added later is covered without being listed. Each is first fetched with Django's test client: a
URL that answers a full portal or workspace page (``<body class="portal">`` / ``"workspace"``)
is opened in the browser; redirects, POST-only URLs, fragments and downloads are not pages.
Salesforce is connected through the sandbox and the mailboxes have synced a customer's mail, so
pages show rows rather than empty states.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page

from copilot.models import User
from engage.models import Enrolment, EnrolmentJob, SalesflowStep, SalesflowTemplate, StepSend
from integrations.models import ConnectionApp
from tests.copilot.intelligence.factories import CompanyFactory, PersonFactory
from tests.copilot.test_tenancy_urls import ALL_ROUTES, OBJECT_FACTORIES
from tests.engage.crm.conftest import salesforce_connection  # noqa: F401  (a fixture)
from tests.engage.salesflows.flows_helpers import call, email, make_flow, task
from tests.engage.test_one_customer import MEI, _new_contact, sync_kestrel
from tests.factories import ContactFactory, ContactImportFactory, InvitationFactory
from tests.integrations.salesforce.factories import ConnectionFactory, SyncStateFactory
from tests.security.test_get_changes_nothing import PLAIN_KWARGS

PAGE_KINDS = ('<body class="portal', '<body class="workspace')
# Wider than anything a field holds in the demo: a page must wrap it or scroll it inside a card.
LONG = "Kestrel Robotics International Holdings and Manufacturing Partners of the Northern Territories"

FITS = """() => {
  const root = document.documentElement;
  if (root.scrollWidth <= window.innerWidth) return null;
  const wide = [...document.querySelectorAll("body *")]
    .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
    .filter((e) => { // the outermost culprits: not inside something that scrolls or clips
      for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
        if (getComputedStyle(a).overflowX !== "visible") return false;
      }
      return true;
    })
    .slice(0, 3)
    .map((e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className ? "." + String(e.className).split(" ")[0] : ""));
  return `${root.scrollWidth}px wide (${wide.join(", ")})`;
}"""


# Action cells that are not aligned with their row (a cell laid out as a flex box leaves the row).
MISALIGNED_ACTIONS = """() => [...document.querySelectorAll("td.actions")].filter((td) => {
  const cell = td.getBoundingClientRect(), row = td.parentElement.getBoundingClientRect();
  return cell.height > 0 && (Math.abs(cell.top - row.top) > 1 || Math.abs(cell.bottom - row.bottom) > 1);
}).length"""


def _objects(acme: Any, owner: User, salesforce: Any) -> dict[str, Any]:
    """One object per id-taking URL kwarg; one Google connection with its mail app and a mailbox."""
    google = ConnectionFactory(organization=acme, provider="google", connected_by=owner)
    app = ConnectionApp.objects.create(organization=acme, connection=google, app="email")
    mailbox = SyncStateFactory(
        connection=google, user=owner, kind="email", object_name=f"email:{owner.email}"
    )
    existing = {"connection_id": salesforce, "connection_app_id": app, "sync_state_id": mailbox}
    return {kwarg: existing.get(kwarg) or factory(acme) for kwarg, factory in OBJECT_FACTORIES.items()}


def _pages(client: Client, objects: dict[str, Any]) -> list[str]:
    urls = []
    for route in ALL_ROUTES:
        kwargs = {k: (objects[k].pk if k in objects else PLAIN_KWARGS[k]) for k in route.kwargs}
        url = reverse(route.name, kwargs=kwargs)
        response = client.get(url)
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        if any(kind in response.content.decode(errors="replace") for kind in PAGE_KINDS):
            urls.append(url)
    return sorted(set(urls))


@pytest.fixture
def pages(acme: Any, owner: User, teammate: User, salesforce_connection: Any) -> list[str]:  # noqa: F811
    mei = _new_contact(acme, teammate, MEI, "Mei", company=LONG)
    _new_contact(acme, teammate, "raj.patel@kestrel.example", "Raj")
    sync_kestrel(owner, teammate)
    CompanyFactory(organization=acme, name=LONG, domain="kestrel-international.example")
    PersonFactory(organization=acme, email="a.very.long.address.for.someone@kestrel-international.example")
    ContactImportFactory(organization=acme, created_by=owner, original_name=f"{LONG}.csv")
    InvitationFactory(organization=acme, email="invited.person.with.a.long.address@kestrel.example")
    objects = _objects(acme, owner, salesforce_connection)
    objects["contact_id"] = mei
    # A Salesflow, its email step and a template with long names and words.
    flow = make_flow(
        owner, email(subject=LONG, body=f"<p>{LONG.replace(' ', '')}</p>"), task(LONG), name=LONG
    )
    objects["flow_id"] = flow
    objects["step_id"] = SalesflowStep.objects.get(flow=flow, position=1)
    objects["template_id"] = SalesflowTemplate.objects.create(
        organization=acme, owner=owner, name=LONG, subject=LONG, body_html=f"<p>{LONG}</p>", shared="team"
    )
    # People in that Salesflow (Mei and others at the long-named company; one paused until a
    # date, one who left), a background enrolment that refused someone, and the Add to
    # Salesflow plan for them, which the walk reaches only with its query.
    people = [mei, *(ContactFactory(organization=acme, company=LONG, last_name=LONG) for _ in range(2))]
    enrolments = [
        Enrolment.objects.create(
            organization=acme,
            flow=flow,
            contact=contact,
            sender=owner,
            enrolled_by=owner,
            current_step=objects["step_id"],
            due_at=timezone.now() + timedelta(days=1),
            **state,
        )
        for contact, state in zip(
            people,
            [
                {},
                {
                    "state": "paused",
                    "pause_reason": "until_date",
                    "paused_until": timezone.now() + timedelta(days=9),
                },
                {"state": "exited", "exit_reason": "company_replied", "exited_at": timezone.now()},
            ],
            strict=True,
        )
    ]
    objects["enrolment_id"] = enrolments[0]
    objects["job_id"] = EnrolmentJob.objects.create(
        organization=acme,
        flow=flow,
        sender=owner,
        enrolled_by=owner,
        status=EnrolmentJob.Status.DONE,
        total=3,
        processed=3,
        enrolled_count=2,
        refused_count=1,
        errors=[{"id": mei.pk, "reason": f"Already active in Salesflow “{LONG}”."}],
        finished_at=timezone.now(),
    )
    # The owner's Actions: an overdue call (a long-named contact with numbers), the long task
    # due today, an email to write coming up, an email needing attention; the email's composer is
    # walked as well.
    to_do = make_flow(
        owner,
        call(delay=0, notes=LONG),
        email(subject=LONG, body=f"<p>{LONG}</p><p>{{{{ sender.signature }}}}</p>", kind="manual_email"),
        name=f"{LONG} (calls)",
    )
    call_step, write_step = SalesflowStep.objects.filter(flow=to_do).order_by("position")
    caller = ContactFactory(organization=acme, company=LONG, last_name=LONG, direct_phone="+14155550142")
    writer = ContactFactory(organization=acme, company=LONG, last_name=LONG)
    actions = [
        Enrolment.objects.create(
            organization=acme,
            flow=flow_of,
            contact=contact,
            sender=owner,
            enrolled_by=owner,
            current_step=step,
            due_at=due,
        )
        for flow_of, contact, step, due in (
            (to_do, caller, call_step, timezone.now() - timedelta(days=3)),
            (flow, caller, SalesflowStep.objects.get(flow=flow, position=2), timezone.now()),
            (to_do, writer, write_step, timezone.now() + timedelta(days=2)),
        )
    ]
    composer = reverse("engage:action_email", args=[actions[2].pk])
    # An email the provider refused, needing attention (a long unbroken reason), on Actions and Today.
    refused = Enrolment.objects.create(
        organization=acme,
        flow=flow,
        contact=ContactFactory(organization=acme, company=LONG, last_name=LONG),
        sender=owner,
        enrolled_by=owner,
        current_step=objects["step_id"],
        due_at=timezone.now() - timedelta(hours=2),
        state="paused",
        pause_reason="send_failed",
    )
    StepSend.objects.create(
        organization=acme,
        enrolment=refused,
        step=refused.current_step,
        message_id=f"sf-{acme.pk}-{refused.pk}-{refused.current_step_id}@acme.example",
        state="failed",
        error=f"Your mail provider refused the message: {LONG.replace(' ', '')}",
    )
    opted_out = ContactFactory(organization=acme, company=LONG, last_name=LONG, email_opt_out=True)
    chosen = "&".join(f"contact={c.pk}" for c in [*people, opted_out])
    plan = f"{reverse('engage:salesflow_enrol')}?{chosen}&flow={flow.pk}&check=1"
    client = Client()
    client.force_login(owner)
    client.raise_request_exception = False
    urls = _pages(client, objects)
    assert "Before you start" in client.get(plan).content.decode()
    urls.append(plan)
    assert LONG in client.get(composer).content.decode()
    urls.append(composer)
    # Guards the walk: if it silently found nothing, the width check below would prove nothing.
    salesflow_pages = (
        "/app/salesflows/",
        f"/app/salesflows/{flow.pk}/",
        f"/app/salesflows/steps/{objects['step_id'].pk}/",
        "/app/salesflows/templates/",
        f"/app/salesflows/templates/{objects['template_id'].pk}/",
        f"/app/salesflows/{flow.pk}/enrolments/",
        f"/app/salesflows/enrol/jobs/{objects['job_id'].pk}/",
        f"/app/enrolments/{enrolments[0].pk}/remove/",
        "/app/salesflows/enrol/",
        "/app/actions/",
    )
    for expected in (
        "/admin/",
        "/admin/users/",
        "/app/contacts/",
        f"/app/contacts/{mei.pk}/",
        *salesflow_pages,
    ):
        assert expected in urls, f"{expected} is not among the pages walked: {urls}"
    return urls


@pytest.mark.browser
@pytest.mark.parametrize("width", [800, 1366])
def test_every_portal_and_workspace_page_fits_the_window(
    new_page: Callable[..., Page],
    sign_in: Callable[[Page, User], Page],
    live_server: Any,
    owner: User,
    pages: list[str],
    width: int,
) -> None:
    page = sign_in(new_page(ignore_https_errors=True), owner)
    page.set_viewport_size({"width": width, "height": 900})
    too_wide = []
    for url in pages:
        page.goto(f"{live_server.url}{url}")
        problem = page.evaluate(FITS)
        if problem:
            too_wide.append(f"{url}: {problem}")
        if misaligned := page.evaluate(MISALIGNED_ACTIONS):
            too_wide.append(f"{url}: {misaligned} action cell(s) not aligned with their row")
    assert not too_wide, f"{len(too_wide)} problems on {len(pages)} pages at {width} px:\n" + "\n".join(
        too_wide
    )


TRUNCATED_SELECTS = """() => {
  const ctx = document.createElement("canvas").getContext("2d");
  return [...document.querySelectorAll(".crm-table select")].flatMap((s) => {
    const style = getComputedStyle(s);
    ctx.font = style.font;
    const text = s.options[s.selectedIndex]?.text ?? "";
    // the text, the select's own padding and its arrow (about 1.25em) must fit inside it
    const needed = ctx.measureText(text).width + parseFloat(style.paddingLeft) + parseFloat(style.paddingRight)
      + 1.25 * parseFloat(style.fontSize);
    return needed > s.clientWidth ? [`${s.name}: "${text}" needs ${Math.ceil(needed)}px, has ${s.clientWidth}px`] : [];
  });
}"""


@pytest.mark.browser
def test_the_field_mapping_fits_1366_without_truncated_selects(
    page: Page,
    sign_in: Callable[[Page, User], Page],
    live_server: Any,
    owner: User,
    salesforce_connection: Any,  # noqa: F811  (the fixture imported above)
) -> None:
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, owner)
    for sobject in ("Lead", "Contact", "Account"):
        page.goto(f"{live_server.url}{reverse('engage:crm_mapping', args=[sobject])}")
        assert page.locator(".crm-table select").count() > 5
        assert page.evaluate(FITS) is None
        overflow = page.evaluate(
            "() => [...document.querySelectorAll('.crm-table')].map(t => t.parentElement.scrollWidth - t.parentElement.clientWidth)"
        )
        assert overflow and max(overflow) <= 0, (
            f"{sobject}: the table is {max(overflow)} px wider than its card"
        )
        truncated = page.evaluate(TRUNCATED_SELECTS)
        assert not truncated, f"{sobject} mapping at 1366 px:\n" + "\n".join(truncated)
