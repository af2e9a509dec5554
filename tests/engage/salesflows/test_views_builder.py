"""The Salesflow pages (issue 13 points 1, 2 and 8): the list with its counts and filters, the
builder (steps on a timeline of days, the step editor with merge-field checks, templates, moves,
deleting a step people are due on, settings, archiving, preview) and the template library.

Personas: ``teammate`` (a Contributor) builds flows; ``owner`` is Acme's administrator; ``seller``
is another Contributor of Acme; ``outsider`` is Globex's administrator."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from engage.models import Enrolment, Salesflow, SalesflowStep, SalesflowTemplate
from engage.salesflows import builder
from tests.engage.salesflows.flows_helpers import Unit, call, email, make_flow, positions, task
from tests.factories import ContactFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def seller(acme):
    return UserFactory(organization=acme, email="seller@acme.example", first_name="Sam", last_name="Seller")


@pytest.fixture
def tom(client, teammate):
    client.force_login(teammate)
    return client


def _html(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def _step_post(**values) -> dict[str, str]:
    data = {
        "kind": "auto_email",
        "delay_amount": "0",
        "delay_unit": "days",
        "subject": "",
        "body_html": "",
        "body_text": "",
        "task_text": "",
    }
    data.update({k: str(v) for k, v in values.items()})
    return data


def _enrol(flow, step, *, state="active", exit_reason="", n=1, sender=None):
    rows = []
    for _ in range(n):
        contact = ContactFactory(organization=flow.organization)
        rows.append(
            Enrolment.objects.create(
                organization=flow.organization,
                flow=flow,
                contact=contact,
                sender=sender or flow.owner,
                state=state,
                exit_reason=exit_reason,
                current_step=step if state in Enrolment.LIVE_STATES else None,
                due_at=timezone.now() if state in Enrolment.LIVE_STATES else None,
            )
        )
    return rows


# --- The list -----------------------------------------------------------------------------------
def test_the_list_shows_each_flow_with_its_steps_owner_and_enrolment_counts(tom, teammate, owner):
    flow = make_flow(teammate, email(), task(), name="Q3 outbound")
    first = SalesflowStep.objects.get(flow=flow, position=1)
    _enrol(flow, first, n=3)
    _enrol(flow, first, state="paused")
    _enrol(flow, None, state="finished", n=2)
    _enrol(flow, None, state="exited", exit_reason="replied", n=4)
    _enrol(flow, None, state="exited", exit_reason="bounced")
    make_flow(owner, name="Olive shared")
    make_flow(owner, name="Olive private", team=False)

    page = _html(tom.get(reverse("engage:salesflows")))
    assert "Q3 outbound" in page and "2 steps" in page
    row = page.split("Q3 outbound", 1)[1].split("</tr>", 1)[0]
    cells = [c.split(">", 1)[1].split("<", 1)[0] for c in row.split('<td class="num"')[1:]]
    assert cells == ["3", "2", "4", "1"]  # active, finished, replied, bounced
    assert "Olive shared" not in page  # mine: only the viewer's own

    team = _html(tom.get(reverse("engage:salesflows"), {"scope": "team"}))
    assert "Olive shared" in team and "Q3 outbound" in team
    assert "Olive private" not in team


def test_archived_flows_are_hidden_until_asked_for_and_the_name_is_searched(tom, teammate):
    make_flow(teammate, name="Cold CTOs")
    old = make_flow(teammate, name="Old webinar")
    builder.flow_archive(flow=old, actor=teammate)

    page = _html(tom.get(reverse("engage:salesflows")))
    assert "Cold CTOs" in page and "Old webinar" not in page
    archived = _html(tom.get(reverse("engage:salesflows"), {"state": "archived"}))
    assert "Old webinar" in archived and "Archived" in archived and "Cold CTOs" not in archived
    found = _html(tom.get(reverse("engage:salesflows"), {"q": "ctos", "state": "all"}))
    assert "Cold CTOs" in found and "Old webinar" not in found
    nothing = _html(tom.get(reverse("engage:salesflows"), {"q": "zebra"}))
    assert "No Salesflows match" in nothing


def test_the_list_pages_by_keyset(tom, teammate, settings):
    for n in range(53):
        Salesflow.objects.create(organization=teammate.organization, owner=teammate, name=f"Flow {n:02d}")
    first = _html(tom.get(reverse("engage:salesflows")))
    assert "Flow 49" in first and "Flow 50" not in first and "53 Salesflows" in first
    after = first.split('rel="next" href="?', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    second = _html(tom.get(f"{reverse('engage:salesflows')}?{after}"))
    assert "Flow 50" in second and "Flow 52" in second and "Flow 49" not in second
    assert 'rel="prev"' in second


def _flows_with_counts(owner, start: int, stop: int) -> None:
    for n in range(start, stop):
        flow = Salesflow.objects.create(organization=owner.organization, owner=owner, name=f"F{n:02d}")
        step = SalesflowStep.objects.create(
            organization=flow.organization, flow=flow, position=1, kind="task", task_text="Call"
        )
        _enrol(flow, step)
        _enrol(flow, None, state="exited", exit_reason="replied")


def test_the_list_costs_the_same_queries_for_5_and_50_flows(tom, teammate):
    url = reverse("engage:salesflows")
    counted = {}
    for rows, (start, stop) in ((5, (0, 5)), (50, (5, 50))):
        _flows_with_counts(teammate, start, stop)
        with CaptureQueriesContext(connection) as queries:
            response = tom.get(url)
        assert response.content.decode().count('<td class="num">1</td>') == 2 * rows
        counted[rows] = len(queries)
    assert counted[5] == counted[50], counted


def test_a_new_salesflow_opens_the_builder_and_a_taken_name_keeps_what_was_typed(tom, teammate):
    response = tom.post(reverse("engage:salesflow_create"), {"name": "Q3 outbound", "visibility": "team"})
    flow = Salesflow.objects.get(name="Q3 outbound")
    assert response.url == reverse("engage:salesflow_detail", args=[flow.pk])
    assert flow.owner == teammate and flow.visibility == "team"
    page = _html(tom.post(reverse("engage:salesflow_create"), {"name": "q3 OUTBOUND", "visibility": "team"}))
    assert "There is already a Salesflow called “q3 OUTBOUND”. Choose another name." in page
    assert 'value="q3 OUTBOUND"' in page
    assert Salesflow.objects.count() == 1


# --- The builder --------------------------------------------------------------------------------
def test_the_builder_draws_the_days_of_the_steps(tom, teammate):
    flow = make_flow(
        teammate,
        email(),
        email(subject="", reply=True, delay=2, unit=Unit.BUSINESS_DAYS),
        call(delay=4),
        task(delay=3, unit=Unit.HOURS),
    )
    page = _html(tom.get(reverse("engage:salesflow_detail", args=[flow.pk])))
    timeline = page.split('class="sf-timeline"', 1)[1].split("</ol>", 1)[0]
    assert [d.split("<", 1)[0] for d in timeline.split("Day ")[1:]] == ["1", "3", "7", "7"]
    assert "2 business days after the previous step" in page
    assert "Business days are counted as days on this timeline" in page
    assert "Reply in the same thread" in page
    assert page.count(">Move up<") == 4 and "Add a step" in page


def test_others_see_a_team_flow_read_only_and_cannot_change_it(client, seller, teammate):
    flow = make_flow(teammate, email(), task())
    step = SalesflowStep.objects.get(flow=flow, position=2)
    client.force_login(seller)
    page = _html(client.get(reverse("engage:salesflow_detail", args=[flow.pk])))
    assert "Only Tom Mate (its owner) and administrators can change it." in page
    assert "Move up" not in page and "Add a step" not in page and "Save settings" not in page
    assert "<form" not in _html(client.get(reverse("engage:salesflow_step_edit", args=[step.pk]))).split(
        "<main", 1
    )[1].split('class="card sf-preview-card"', 1)[0].replace('role="search"', "")
    for name, args, data in (
        ("engage:salesflow_step_add", [flow.pk], _step_post(kind="task", task_text="Mine now")),
        ("engage:salesflow_step_edit", [step.pk], _step_post(kind="task", task_text="Mine now")),
        ("engage:salesflow_step_move", [step.pk], {"direction": "up"}),
        ("engage:salesflow_step_delete", [step.pk], {"confirmed": "1"}),
        ("engage:salesflow_settings", [flow.pk], {"name": "Mine", "visibility": "team"}),
        ("engage:salesflow_archive", [flow.pk], {}),
    ):
        assert client.post(reverse(name, args=args), data).status_code == 403, name
    assert positions(flow) == [(1, "Hello {{ first_name|there }}"), (2, "Connect on LinkedIn")]
    flow.refresh_from_db()
    assert flow.name == "Outbound" and flow.archived_at is None


def test_an_administrator_may_change_a_sellers_flow(client, owner, teammate):
    flow = make_flow(teammate, email(), name="Tom's")
    client.force_login(owner)
    page = _html(client.get(reverse("engage:salesflow_detail", args=[flow.pk])))
    assert "Add a step" in page
    client.post(
        reverse("engage:salesflow_settings", args=[flow.pk]),
        {"name": "Tom's flow", "visibility": "team", "exit_company_on_reply": "exit"},
    )
    flow.refresh_from_db()
    assert (flow.name, flow.exit_company_on_reply) == ("Tom's flow", "exit")


def test_a_private_flow_is_nobody_elses(client, seller, teammate):
    flow = make_flow(teammate, email(), team=False)
    step = SalesflowStep.objects.get(flow=flow)
    client.force_login(seller)
    assert client.get(reverse("engage:salesflow_detail", args=[flow.pk])).status_code == 404
    assert client.get(reverse("engage:salesflow_step_edit", args=[step.pk])).status_code == 404
    assert client.get(reverse("engage:salesflow_step_preview", args=[step.pk])).status_code == 404


def test_every_page_is_404_to_another_organisation(client, outsider, teammate, acme):
    flow = make_flow(teammate, email(), task())
    step = SalesflowStep.objects.get(flow=flow, position=2)
    template = builder.template_create(owner=teammate, name="Ours", subject="Hi", body_html="<p>Hi</p>")
    template.shared = "team"
    template.save()
    enrolment = _enrol(flow, step)[0]
    client.force_login(outsider)
    urls = [
        reverse("engage:salesflow_detail", args=[flow.pk]),
        reverse("engage:salesflow_settings", args=[flow.pk]),
        reverse("engage:salesflow_archive", args=[flow.pk]),
        reverse("engage:salesflow_step_add", args=[flow.pk]),
        reverse("engage:salesflow_step_edit", args=[step.pk]),
        reverse("engage:salesflow_step_move", args=[step.pk]),
        reverse("engage:salesflow_step_delete", args=[step.pk]),
        reverse("engage:salesflow_step_preview", args=[step.pk]) + f"?enrolment={enrolment.pk}",
        reverse("engage:salesflow_template_edit", args=[template.pk]),
        reverse("engage:salesflow_template_delete", args=[template.pk]),
    ]
    for url in urls:
        assert client.get(url).status_code in (404, 405), url
        assert client.post(url, {"confirmed": "1", "direction": "up", "name": "Theirs"}).status_code == 404, (
            url
        )
    assert positions(flow) == [(1, "Hello {{ first_name|there }}"), (2, "Connect on LinkedIn")]
    assert Salesflow.objects.get(pk=flow.pk).archived_at is None
    assert SalesflowTemplate.objects.filter(pk=template.pk).exists()
    # and their lists do not show ours
    assert "Outbound" not in _html(client.get(reverse("engage:salesflows"), {"scope": "team"}))
    assert "Ours" not in _html(client.get(reverse("engage:salesflow_templates"), {"scope": "team"}))


# --- The step editor ----------------------------------------------------------------------------
def test_adding_an_email_step_goes_through_the_service_and_cleans_the_html(tom, teammate):
    flow = make_flow(teammate, task())
    response = tom.post(
        reverse("engage:salesflow_step_add", args=[flow.pk]),
        _step_post(
            subject="Hi {{ first_name|there }}",
            body_html='<p onclick="x()">Hi {{ first_name|there }}</p><script>steal()</script>'
            '<a href="javascript:alert(1)">me</a>',
            delay_amount=2,
            delay_unit="business_days",
        ),
    )
    step = SalesflowStep.objects.get(flow=flow, position=2)
    assert response.url == reverse("engage:salesflow_detail", args=[flow.pk]) + f"#step-{step.pk}"
    assert step.subject == "Hi {{ first_name|there }}"
    assert step.body_html == '<p>Hi {{ first_name|there }}</p><a rel="noopener noreferrer">me</a>'
    assert (step.delay_amount, step.delay_unit) == (2, "business_days")


def test_an_unknown_merge_field_is_said_on_its_field_with_the_suggestion_and_the_text_kept(tom, teammate):
    flow = make_flow(teammate, email())
    page = _html(
        tom.post(
            reverse("engage:salesflow_step_add", args=[flow.pk]),
            _step_post(
                subject="Quick one, {{ frist_name }}",
                body_html="<p>Hello {{ acount.name }}</p>",
                delay_amount=3,
            ),
        )
    )
    assert (
        "Line 1, column 12: Unknown merge field {{ frist_name }} — did you mean {{ first_name }}?"
        in page.replace("&#x27;", "'")
    )
    subject_errors = page.split('id="id_subject-errors"', 1)[1].split("</ul>", 1)[0]
    assert "frist_name" in subject_errors and "acount" not in subject_errors
    body_errors = page.split('id="id_body_html-errors"', 1)[1].split("</ul>", 1)[0]
    assert "did you mean {{ account.name }}?" in body_errors
    assert 'value="Quick one, {{ frist_name }}"' in page
    assert "&lt;p&gt;Hello {{ acount.name }}&lt;/p&gt;" in page
    assert 'name="delay_amount" value="3"' in page
    assert SalesflowStep.objects.filter(flow=flow).count() == 1


def test_the_first_email_cannot_be_a_reply_and_the_checkbox_says_why(tom, teammate):
    flow = make_flow(teammate, task())
    page = _html(tom.get(reverse("engage:salesflow_step_add", args=[flow.pk]), {"kind": "auto_email"}))
    checkbox = page.split('name="reply_in_thread"', 1)[1].split(">", 1)[0]
    assert "disabled" in checkbox
    assert "Not available: This is the first email of the Salesflow" in page
    # a forged post is refused by the service, nothing added
    tom.post(
        reverse("engage:salesflow_step_add", args=[flow.pk]),
        _step_post(subject="Hi", body_html="<p>Hi</p>", reply_in_thread="on"),
    )
    step = SalesflowStep.objects.get(flow=flow, position=2)
    assert step.reply_in_thread is False
    follow_up = _html(tom.get(reverse("engage:salesflow_step_add", args=[flow.pk])))
    assert "disabled" not in follow_up.split('name="reply_in_thread"', 1)[1].split(">", 1)[0]


def test_editing_a_step_saves_it_and_a_task_needs_its_text(tom, teammate):
    flow = make_flow(teammate, email(), task())
    step = SalesflowStep.objects.get(flow=flow, position=2)
    page = _html(tom.get(reverse("engage:salesflow_step_edit", args=[step.pk])))
    assert "Connect on LinkedIn" in page
    page = _html(
        tom.post(
            reverse("engage:salesflow_step_edit", args=[step.pk]), _step_post(kind="task", delay_amount=5)
        )
    )
    assert "Say what the task is" in page
    tom.post(
        reverse("engage:salesflow_step_edit", args=[step.pk]),
        _step_post(kind="task", task_text="Send a LinkedIn note", delay_amount=5),
    )
    step.refresh_from_db()
    assert (step.task_text, step.delay_amount) == ("Send a LinkedIn note", 5)


def test_a_template_is_inserted_into_the_form_and_the_email_saved_as_one(tom, teammate, owner):
    flow = make_flow(teammate, email())
    step = SalesflowStep.objects.get(flow=flow)
    mine = builder.template_create(
        owner=teammate,
        name="Breakup",
        subject="Closing the loop",
        body_html="<p>Last note, {{ first_name|there }}</p>",
    )
    builder.template_create(owner=owner, name="Olive own", subject="x", body_html="<p>x</p>")
    page = _html(tom.get(reverse("engage:salesflow_step_edit", args=[step.pk])))
    assert "Breakup" in page and "Olive own" not in page

    page = _html(
        tom.post(
            reverse("engage:salesflow_step_edit", args=[step.pk]),
            _step_post(
                subject="Old",
                body_html="<p>Old</p>",
                delay_amount=4,
                _action="insert_template",
                template=mine.pk,
            ),
        )
    )
    assert "Inserted the template Breakup. Save the step to keep it." in page
    assert 'value="Closing the loop"' in page and "Last note, {{ first_name|there }}" in page
    assert 'name="delay_amount" value="4"' in page
    step.refresh_from_db()
    assert step.subject == "Hello {{ first_name|there }}"  # nothing saved yet

    page = _html(
        tom.post(
            reverse("engage:salesflow_step_edit", args=[step.pk]),
            _step_post(
                subject="Worth a chat?",
                body_html="<p>Hi {{ first_name|there }}</p>",
                _action="save_template",
                template_name="Opener",
                template_shared="team",
            ),
        )
    )
    assert "Saved the template Opener." in page
    saved = SalesflowTemplate.objects.get(name="Opener")
    assert (saved.owner, saved.shared, saved.subject) == (teammate, "team", "Worth a chat?")


# --- Moving and deleting steps ------------------------------------------------------------------
def test_move_up_and_down_keep_the_focus_on_the_moved_step(tom, teammate):
    flow = make_flow(teammate, email(subject="A"), task("B"), task("C"))
    c = SalesflowStep.objects.get(flow=flow, task_text="C")
    response = tom.post(
        reverse("engage:salesflow_step_move", args=[c.pk]), {"direction": "up"}, HTTP_HX_REQUEST="true"
    )
    fragment = _html(response)
    assert fragment.strip().startswith('<section id="steps"') and f'data-focus="step-{c.pk}-up"' in fragment
    assert "Moved “C” to step 2." in fragment
    assert positions(flow) == [(1, "A"), (2, "C"), (3, "B")]
    response = tom.post(reverse("engage:salesflow_step_move", args=[c.pk]), {"direction": "down"})
    assert response.url.endswith(f"#step-{c.pk}")
    assert positions(flow) == [(1, "A"), (2, "B"), (3, "C")]
    tom.post(reverse("engage:salesflow_step_move", args=[c.pk]), {"position": "1"}, HTTP_HX_REQUEST="true")
    assert positions(flow) == [(1, "C"), (2, "A"), (3, "B")]


def test_a_threaded_reply_cannot_be_dragged_before_every_email(tom, teammate):
    flow = make_flow(teammate, task("T"), email(subject="A"), email(subject="B", reply=True))
    b = SalesflowStep.objects.get(flow=flow, subject="B")
    fragment = _html(
        tom.post(
            reverse("engage:salesflow_step_move", args=[b.pk]), {"position": "1"}, HTTP_HX_REQUEST="true"
        )
    )
    assert "is sent as a reply to an earlier email" in fragment and 'role="alert"' in fragment
    assert positions(flow) == [(1, "T"), (2, "A"), (3, "B")]


def test_a_step_nobody_is_due_on_is_deleted_at_once(tom, teammate):
    flow = make_flow(teammate, email(subject="A"), task("B"))
    b = SalesflowStep.objects.get(flow=flow, task_text="B")
    response = tom.post(reverse("engage:salesflow_step_delete", args=[b.pk]))
    assert response.status_code == 302
    assert positions(flow) == [(1, "A")]


def test_deleting_a_step_people_are_due_on_asks_first_and_says_what_happens(tom, teammate):
    flow = make_flow(teammate, email(subject="A"), task("B"), call())
    b = SalesflowStep.objects.get(flow=flow, task_text="B")
    _enrol(flow, b, n=2)
    page = _html(tom.post(reverse("engage:salesflow_step_delete", args=[b.pk])))
    assert "2 contacts are due on this step." in page
    assert "They move on to step 3 (Phone call)" in page
    assert positions(flow) == [(1, "A"), (2, "B"), (3, "call")]
    assert "2 contacts are due on this step." in _html(
        tom.get(reverse("engage:salesflow_step_delete", args=[b.pk]))
    )

    tom.post(reverse("engage:salesflow_step_delete", args=[b.pk]), {"confirmed": "1"})
    assert positions(flow) == [(1, "A"), (2, "call")]
    call_step = SalesflowStep.objects.get(flow=flow, kind="call")
    assert set(Enrolment.objects.filter(flow=flow).values_list("current_step", flat=True)) == {call_step.pk}


# --- Settings and archiving ---------------------------------------------------------------------
def test_settings_save_and_a_mistake_keeps_what_was_typed(tom, teammate):
    flow = make_flow(teammate, email(), name="Outbound")
    make_flow(teammate, name="Inbound")
    page = _html(
        tom.post(
            reverse("engage:salesflow_settings", args=[flow.pk]),
            {"name": "inbound", "visibility": "private", "exit_company_on_reply": "pause"},
        )
    )
    assert "There is already a Salesflow called “inbound”." in page
    assert 'value="inbound"' in page
    assert re.search(r'<input type="radio" name="exit_company_on_reply" value="pause"[^>]* checked', page)
    tom.post(
        reverse("engage:salesflow_settings", args=[flow.pk]),
        {"name": "Outbound EMEA", "visibility": "private", "exit_company_on_reply": "pause"},
    )
    flow.refresh_from_db()
    assert (flow.name, flow.visibility, flow.exit_company_on_reply) == ("Outbound EMEA", "private", "pause")


def test_archiving_says_how_many_enrolments_end_and_ends_them(tom, teammate):
    flow = make_flow(teammate, email())
    _enrol(flow, SalesflowStep.objects.get(flow=flow), n=3)
    page = _html(tom.get(reverse("engage:salesflow_archive", args=[flow.pk])))
    assert "3 contacts are in this Salesflow now." in page and "Archive and end 3 enrolments" in page
    assert Salesflow.objects.get(pk=flow.pk).archived_at is None  # the GET asked only
    response = tom.post(reverse("engage:salesflow_archive", args=[flow.pk]))
    assert response.url == reverse("engage:salesflows")
    assert set(Enrolment.objects.filter(flow=flow).values_list("state", "exit_reason")) == {
        ("exited", "flow_archived")
    }
    page = _html(tom.get(reverse("engage:salesflow_detail", args=[flow.pk])))
    assert "This Salesflow is archived" in page and "Move up" not in page
    step = SalesflowStep.objects.get(flow=flow)
    response = tom.post(reverse("engage:salesflow_step_edit", args=[step.pk]), _step_post(subject="New"))
    assert response.status_code == 302
    assert "its steps cannot be changed" in _html(tom.get(response.url))
    step.refresh_from_db()
    assert step.subject == "Hello {{ first_name|there }}"


# --- Preview ------------------------------------------------------------------------------------
def test_the_preview_fills_the_step_for_an_enrolled_contact_and_shows_missing_values(tom, teammate, acme):
    flow = make_flow(
        teammate,
        email(subject="Hi {{ first_name }}", body="<p>Hi {{ first_name|there }} at {{ company }}</p>"),
    )
    step = SalesflowStep.objects.get(flow=flow)
    ada = ContactFactory(organization=acme, first_name="Ada", company="Northwind")
    nameless = ContactFactory(organization=acme, first_name="", company="")
    e_ada = Enrolment.objects.create(organization=acme, flow=flow, contact=ada, sender=teammate)
    e_none = Enrolment.objects.create(organization=acme, flow=flow, contact=nameless, sender=teammate)
    edit = _html(tom.get(reverse("engage:salesflow_step_edit", args=[step.pk])))
    assert f'value="{e_ada.pk}"' in edit and f'value="{e_none.pk}"' in edit

    page = _html(tom.get(reverse("engage:salesflow_step_preview", args=[step.pk]), {"enrolment": e_ada.pk}))
    assert "Hi Ada" in page and "<p>Hi Ada at Northwind</p>" in page

    page = _html(
        tom.get(
            reverse("engage:salesflow_step_preview", args=[step.pk]),
            {"enrolment": e_none.pk},
            HTTP_HX_REQUEST="true",
        )
    )
    assert "Hi there at" in page  # the fallback
    assert '<mark class="merge-missing">{{ first_name }} has no value</mark>' in page
    assert '<mark class="merge-missing">{{ company }} has no value</mark>' in page
    assert "Hi ," not in page and "No value for {{ first_name }}, {{ company }}" in page

    example = _html(tom.get(reverse("engage:salesflow_step_preview", args=[step.pk])))
    assert "<p>Hi Ada at Northwind</p>" in example and "With example values" in example


# --- Templates ----------------------------------------------------------------------------------
def test_the_template_library_lists_mine_and_the_teams(tom, teammate, owner):
    builder.template_create(owner=teammate, name="My opener", subject="Hi", body_html="<p>Hi</p>")
    builder.template_create(
        owner=owner, name="Team breakup", subject="Bye", body_html="<p>Bye</p>", shared="team"
    )
    builder.template_create(owner=owner, name="Olive secret", subject="x", body_html="<p>x</p>")
    mine = _html(tom.get(reverse("engage:salesflow_templates")))
    assert "My opener" in mine and "Team breakup" not in mine and "Olive secret" not in mine
    team = _html(tom.get(reverse("engage:salesflow_templates"), {"scope": "team"}))
    assert "Team breakup" in team and "Olive secret" not in team
    assert ">View<" in team and ">Delete<" not in team  # Olive's: Tom may use it, not change it


def test_templates_are_created_edited_and_deleted_with_merge_checks(tom, teammate):
    page = _html(
        tom.post(
            reverse("engage:salesflow_template_create"),
            {
                "name": "Opener",
                "shared": "personal",
                "subject": "Hi {{ firstname }}",
                "body_html": "<p>Hi</p>",
            },
        )
    )
    assert "did you mean {{ first_name }}?" in page and 'value="Hi {{ firstname }}"' in page
    assert not SalesflowTemplate.objects.exists()
    tom.post(
        reverse("engage:salesflow_template_create"),
        {
            "name": "Opener",
            "shared": "team",
            "subject": "Hi {{ first_name|there }}",
            "body_html": "<p>Hi</p><style>x</style>",
        },
    )
    template = SalesflowTemplate.objects.get()
    assert (template.owner, template.shared, template.body_html) == (teammate, "team", "<p>Hi</p>")
    tom.post(
        reverse("engage:salesflow_template_edit", args=[template.pk]),
        {"name": "Opener v2", "shared": "team", "subject": "Hello", "body_html": "<p>Hello</p>"},
    )
    template.refresh_from_db()
    assert (template.name, template.subject) == ("Opener v2", "Hello")
    page = _html(tom.get(reverse("engage:salesflow_template_delete", args=[template.pk])))
    assert "Delete the template Opener v2?" in page and "shared with the team" in page
    assert SalesflowTemplate.objects.exists()
    tom.post(reverse("engage:salesflow_template_delete", args=[template.pk]))
    assert not SalesflowTemplate.objects.exists()


def test_someone_elses_template_is_read_only_or_not_there(client, seller, teammate):
    shared = builder.template_create(
        owner=teammate, name="Shared", subject="Hi", body_html="<p>Hi <b>there</b></p>", shared="team"
    )
    personal = builder.template_create(owner=teammate, name="Personal", subject="Hi", body_html="<p>Hi</p>")
    client.force_login(seller)
    page = _html(client.get(reverse("engage:salesflow_template_edit", args=[shared.pk])))
    assert "Only they and administrators can change it" in page and "<p>Hi <b>there</b></p>" in page
    assert 'name="subject"' not in page
    edit = {"name": "Mine", "shared": "team", "subject": "x", "body_html": "<p>x</p>"}
    assert client.post(reverse("engage:salesflow_template_edit", args=[shared.pk]), edit).status_code == 403
    assert client.post(reverse("engage:salesflow_template_delete", args=[shared.pk])).status_code == 403
    assert client.get(reverse("engage:salesflow_template_edit", args=[personal.pk])).status_code == 404
    shared.refresh_from_db()
    assert shared.name == "Shared"


@pytest.mark.parametrize("page", ["salesflow_detail", "salesflow_templates"])
def test_the_navigation_marks_salesflows_current_on_its_pages(tom, teammate, page):
    flow = make_flow(teammate, email(), name="Q3 outbound")
    url = reverse(f"engage:{page}", args=[flow.pk] if page == "salesflow_detail" else [])

    html = _html(tom.get(url))

    current = re.search(r'<a href="([^"]+)" aria-current="page">', html)
    assert current and current.group(1) == reverse("engage:salesflows")
