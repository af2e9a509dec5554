"""The Add to Salesflow dialog, a flow's enrolments page and a contact's Salesflow card: every
refusal is on the page before anything starts, warnings are added only when the seller says so,
the on-behalf choice is the permitted users' alone (and refused when forged), another
organisation's flows, contacts, enrolments and jobs are 404, GETs write nothing, the lists cost
the same queries for 5 or 50 rows, and the bulk and per-row actions do what they say."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from engage.models import Contact, Enrolment, EnrolmentEvent, EnrolmentJob, StepSend
from engage.salesflows import enrolment, enrolment_selectors
from engage.salesflows.access import ON_BEHALF_REFUSED
from engage.salesflows.builder import flow_archive, flow_create
from engage.salesflows.enrolment import enrolment_check, enrolment_start
from engage.salesflows.events import enrolment_exit, enrolment_pause
from tests.engage.salesflows.flows_helpers import call, email, make_flow
from tests.factories import ContactFactory, UserFactory

pytestmark = pytest.mark.django_db

ENROL = reverse("engage:salesflow_enrol")
WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)


def _writes(captured) -> list[str]:
    return [q["sql"][:200] for q in captured if WRITE.match(q["sql"]) and "django_session" not in q["sql"]]


def _text(response) -> str:
    """The page's text without tags, whitespace collapsed (what a reader sees)."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    text = re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))
    for mark in ".:,'":
        text = text.replace(f" {mark}", mark)
    return text


def _check(client, flow, contacts, **extra):
    return client.get(ENROL, {"contact": [c.pk for c in contacts], "flow": flow.pk, "check": "1", **extra})


def _digest(response) -> str:
    match = re.search(r'name="digest" value="([0-9a-f]+)"', response.content.decode())
    assert match, "the plan has no Start form"
    return match.group(1)


def _start(client, flow, contacts, *, digest, **extra):
    data = {"contact": [c.pk for c in contacts], "flow": flow.pk, "digest": digest, **extra}
    return client.post(ENROL, data)


def _enrol(flow, contacts, sender, *, by=None, now=None):
    plan = enrolment_check(flow, contacts, sender=sender, enrolled_by=by or sender)
    return enrolment_start(plan, override_warnings=True, now=now).enrolments


@pytest.fixture
def flow(owner, acme_mail):
    return make_flow(owner, email(subject="Intro for {{ company|your team }}"), call(delay=2))


@pytest.fixture
def seller(owner_client):
    return owner_client


# --- The dialog: the plan before anything is done -------------------------------------------------
def test_every_refusal_is_shown_with_its_reason_before_anything_is_written(acme, owner, flow, seller):
    fine = ContactFactory(
        organization=acme, email="fine@prospect.example", first_name="Fay", last_name="Fine"
    )
    no_email = ContactFactory(organization=acme, email="", first_name="Nora", last_name="Nomail")
    opted = ContactFactory(
        organization=acme,
        email="out@prospect.example",
        first_name="Otto",
        last_name="Out",
        email_opt_out=True,
    )
    bounced = ContactFactory(
        organization=acme,
        email="gone@prospect.example",
        first_name="Gil",
        last_name="Gone",
        email_bounced_at=datetime(2026, 2, 1, 12, 0, tzinfo=UTC),
    )
    here = ContactFactory(
        organization=acme, email="here@prospect.example", first_name="Hal", last_name="Here"
    )
    _enrol(flow, [here], owner)
    before = Enrolment.objects.count()

    with CaptureQueriesContext(connection) as captured:
        response = _check(seller, flow, [fine, no_email, opted, bounced, here])

    assert response.status_code == 200
    assert _writes(captured) == []
    assert Enrolment.objects.count() == before
    text = _text(response)
    assert "Will be added 1 Fay Fine" in text
    assert "Can't be added 4" in text
    assert "Nora Nomail: No email address." in text
    assert "Otto Out: Opted out of email." in text
    assert "Gil Gone: Email to gone@prospect.example bounced on 2026-02-01." in text
    assert "Hal Here: Already in this Salesflow." in text
    assert "sent from Olive Owner's mailbox" in text
    assert 'id="enrol-start"' in response.content.decode()


def test_a_sender_without_a_connected_mailbox_is_said_once_and_nobody_can_start(acme, owner, seller):
    flow = make_flow(owner)  # Acme has no mail connection here
    contacts = [ContactFactory(organization=acme), ContactFactory(organization=acme)]

    response = _check(seller, flow, contacts)

    text = _text(response)
    assert "Nobody can be added." in text
    assert 'id="enrol-start"' not in response.content.decode()
    assert "Can't be added" not in text  # the reason for everyone is not repeated per contact


def test_a_contact_active_in_another_flow_is_added_only_when_the_seller_overrides(acme, owner, flow, seller):
    busy = ContactFactory(organization=acme, first_name="Bea", last_name="Busy")
    other = make_flow(owner, email(), name="Webinar follow-up")
    _enrol(other, [busy], owner)

    plan = _check(seller, flow, [busy])
    text = _text(plan)
    assert "Added only if you say so 1" in text
    assert "Bea Busy: Already active in Salesflow “Webinar follow-up”." in text
    assert "Add the 1 contact with warnings anyway" in text

    refused = _start(seller, flow, [busy], digest=_digest(plan))
    assert refused.status_code == 200
    assert "confirm that they should be added anyway" in _text(refused)
    assert not Enrolment.objects.filter(flow=flow).exists()

    started = _start(seller, flow, [busy], digest=_digest(plan), override="1")
    assert started.status_code == 302
    made = Enrolment.objects.get(flow=flow)
    assert made.contact == busy
    assert EnrolmentEvent.objects.get(enrolment=made).data["warnings_overridden"] == ["active_elsewhere"]


def test_merge_fields_without_a_value_are_grouped_by_step_with_the_contacts(acme, owner, acme_mail, seller):
    flow = make_flow(owner, email(subject="Hi", body="<p>Hello {{ first_name }}</p>"), call(), name="Cold")
    nameless = [
        ContactFactory(organization=acme, first_name="", last_name=n) for n in ("Ames", "Baker", "Cole")
    ]
    named = ContactFactory(organization=acme, first_name="Dee", last_name="Dunn")

    text = _text(_check(seller, flow, [*nameless, named]))

    assert (
        "Step 1 (automatic email): {{ first_name }} has no value for 3 contacts: Ames, Baker, Cole." in text
    )
    assert "Will be added 1 Dee Dunn" in text


def test_starting_enrols_the_contacts_and_goes_back_where_the_seller_was(acme, owner, flow, seller):
    contacts = [ContactFactory(organization=acme, first_name=n) for n in ("Ann", "Ben")]
    plan = _check(seller, flow, contacts, next="/app/contacts/?q=ann")

    response = _start(seller, flow, contacts, digest=_digest(plan), next="/app/contacts/?q=ann")

    assert response.status_code == 302 and response["Location"] == "/app/contacts/?q=ann"
    assert set(Enrolment.objects.filter(flow=flow).values_list("contact", flat=True)) == {
        c.pk for c in contacts
    }
    page = seller.get(response["Location"])
    assert "Added 2 contacts to “Outbound”." in _text(page)


def test_start_in_the_dialog_leaves_it_with_an_htmx_redirect(acme, owner, flow, seller):
    contact = ContactFactory(organization=acme)
    plan = _check(seller, flow, [contact])

    response = seller.post(
        ENROL,
        {"contact": contact.pk, "flow": flow.pk, "digest": _digest(plan)},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("engage:contact_detail", args=[contact.pk])


def test_a_plan_that_changed_since_the_check_starts_nobody_and_shows_the_new_plan(acme, owner, flow, seller):
    ann, ben = (
        ContactFactory(organization=acme, first_name="Ann"),
        ContactFactory(organization=acme, first_name="Ben"),
    )
    plan = _check(seller, flow, [ann, ben])
    Contact.objects.filter(pk=ben.pk).update(email_opt_out=True)  # meanwhile, Ben opts out

    response = _start(seller, flow, [ann, ben], digest=_digest(plan))

    assert response.status_code == 200
    text = _text(response)
    assert "Something changed since you checked" in text
    assert "Opted out of email." in text
    assert not Enrolment.objects.filter(flow=flow).exists()


def test_a_start_time_in_the_past_is_refused_with_the_input_kept(acme, owner, flow, seller):
    contact = ContactFactory(organization=acme)

    response = _check(seller, flow, [contact], start_at="2020-01-06T09:00")

    assert "Choose a time from now on" in _text(response)
    assert 'value="2020-01-06T09:00"' in response.content.decode()
    assert 'id="enrol-start"' not in response.content.decode()


def test_a_specific_start_time_is_read_in_the_viewers_zone(acme, owner, flow, seller):
    owner.time_zone = "America/New_York"
    owner.save(update_fields=["time_zone"])
    contact = ContactFactory(organization=acme)
    start = (
        (timezone.now() + timedelta(days=10))
        .astimezone(UTC)
        .replace(hour=12, minute=0, second=0, microsecond=0)
    )
    local = start.astimezone(ZoneInfo("America/New_York")).strftime("%Y-%m-%dT%H:%M")
    plan = _check(seller, flow, [contact], start_at=local)

    _start(seller, flow, [contact], digest=_digest(plan), start_at=local)

    made = Enrolment.objects.get(flow=flow)
    assert made.last_step_at == start


def test_without_contacts_the_dialog_says_how_to_choose_them(seller, flow):
    text = _text(seller.get(ENROL))
    assert "Choose who to add first" in text


# --- On behalf --------------------------------------------------------------------------------------
def test_the_on_behalf_field_is_shown_only_to_users_with_the_permission(acme, owner, teammate, flow, seller):
    contact = ContactFactory(organization=acme)
    assert 'name="sender"' not in seller.get(ENROL, {"contact": contact.pk}).content.decode()

    owner.can_start_salesflow_on_behalf = True
    owner.save(update_fields=["can_start_salesflow_on_behalf"])
    page = seller.get(ENROL, {"contact": contact.pk}).content.decode()
    assert "Start on behalf of" in page
    assert f'<option value="{teammate.pk}">Tom Mate</option>' in page


def test_a_forged_sender_is_refused_and_nobody_is_enrolled(acme, owner, teammate, flow, seller):
    contact = ContactFactory(organization=acme)
    own_plan = _check(seller, flow, [contact])

    checked = _check(seller, flow, [contact], sender=teammate.pk)
    started = _start(seller, flow, [contact], digest=_digest(own_plan), sender=teammate.pk)

    for response in (checked, started):
        assert response.status_code == 200
        assert ON_BEHALF_REFUSED in _text(response)
    assert not Enrolment.objects.exists()


def test_a_user_with_the_permission_enrols_for_a_colleague_from_their_mailbox(
    acme, owner, teammate, flow, client
):
    teammate.can_start_salesflow_on_behalf = True
    teammate.save(update_fields=["can_start_salesflow_on_behalf"])
    client.force_login(teammate)
    contact = ContactFactory(organization=acme)

    plan = _check(client, flow, [contact], sender=owner.pk)
    assert "sent from Olive Owner's mailbox (on their behalf)" in _text(plan)
    _start(client, flow, [contact], digest=_digest(plan), sender=owner.pk)

    made = Enrolment.objects.get(flow=flow)
    assert (made.sender, made.enrolled_by) == (owner, teammate)


# --- From the contacts list -----------------------------------------------------------------------
def test_the_list_bulk_action_opens_the_dialog_for_the_selection_or_the_filter(acme, owner, seller):
    a, b = ContactFactory(organization=acme), ContactFactory(organization=acme)
    bulk = reverse("engage:contact_bulk")

    selected = seller.post(bulk, {"action": "salesflow", "scope": "selected", "ids": [a.pk, b.pk], "q": "x"})
    everyone = seller.post(
        bulk, {"action": "salesflow", "scope": "all", "ids": [a.pk], "q": "acme", "owner": "me"}
    )
    nothing = seller.post(bulk, {"action": "salesflow", "scope": "selected"})

    url = urlsplit(selected["Location"])
    assert url.path == ENROL
    assert parse_qs(url.query)["contact"] == [str(a.pk), str(b.pk)]
    query = parse_qs(urlsplit(everyone["Location"]).query)
    assert (query["scope"], query["q"], query["owner"]) == (["all"], ["acme"], ["me"])
    assert "contact" not in query
    assert nothing["Location"].startswith(reverse("engage:contacts"))


def test_everyone_matching_the_filter_is_planned_and_enrolled(acme, owner, flow, seller):
    for name in ("Kim", "Kai", "Lee"):
        ContactFactory(organization=acme, first_name=name, last_name="K" if name != "Lee" else "L")
    plan = seller.get(ENROL, {"scope": "all", "q": "Ka", "flow": flow.pk, "check": "1"})
    assert "All 1 contact matching your filters" in _text(plan)

    seller.post(ENROL, {"scope": "all", "q": "Ka", "flow": flow.pk, "digest": _digest(plan)})

    assert [e.contact.first_name for e in Enrolment.objects.filter(flow=flow)] == ["Kai"]


# --- Another organisation ---------------------------------------------------------------------------
def test_another_organisations_flows_contacts_enrolments_and_jobs_are_404(
    acme, owner, outsider, flow, client, globex
):
    ours = ContactFactory(organization=acme)
    (made,) = _enrol(flow, [ours], owner)
    job = EnrolmentJob.objects.create(organization=acme, flow=flow, sender=owner, enrolled_by=owner, total=1)
    theirs = ContactFactory(organization=globex)
    client.force_login(outsider)

    assert client.get(ENROL, {"contact": ours.pk}).status_code == 404
    assert client.get(ENROL, {"contact": theirs.pk, "flow": flow.pk, "check": "1"}).status_code == 404
    assert client.post(ENROL, {"contact": ours.pk, "flow": flow.pk, "digest": "x"}).status_code == 404
    for url in (
        reverse("engage:salesflow_enrolments", args=[flow.pk]),
        reverse("engage:salesflow_enrol_job", args=[job.pk]),
        reverse("engage:enrolment_remove", args=[made.pk]),
    ):
        assert client.get(url).status_code == 404, url
    for name in ("enrolment_pause", "enrolment_resume", "enrolment_skip", "enrolment_remove"):
        assert client.post(reverse(f"engage:{name}", args=[made.pk])).status_code == 404, name
    bulk = reverse("engage:salesflow_enrolments_bulk", args=[flow.pk])
    assert client.post(bulk, {"action": "remove", "confirmed": "on", "ids": [made.pk]}).status_code == 404
    made.refresh_from_db()
    assert made.state == Enrolment.State.ACTIVE


def test_a_teammates_private_flow_is_not_found(acme, owner, teammate, acme_mail, client):
    private = make_flow(owner, name="Mine alone", team=False)
    contact = ContactFactory(organization=acme)
    client.force_login(teammate)

    assert client.get(ENROL, {"contact": contact.pk, "flow": private.pk, "check": "1"}).status_code == 404
    assert client.get(reverse("engage:salesflow_enrolments", args=[private.pk])).status_code == 404


# --- The background job -----------------------------------------------------------------------------
def test_many_contacts_go_to_a_job_whose_page_shows_progress_then_the_refusals(
    acme, owner, flow, seller, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(enrolment, "ENROL_INLINE_MAX", 3)
    monkeypatch.setattr(enrolment, "ENROL_CHUNK", 2)
    contacts = [ContactFactory(organization=acme, first_name=f"P{i}", last_name="Many") for i in range(5)]
    plan = seller.get(ENROL, {"scope": "all", "q": "Many", "flow": flow.pk, "check": "1"})

    with django_capture_on_commit_callbacks() as callbacks:
        response = seller.post(ENROL, {"scope": "all", "q": "Many", "flow": flow.pk, "digest": _digest(plan)})
    job = EnrolmentJob.objects.get()
    assert response["Location"] == reverse("engage:salesflow_enrol_job", args=[job.pk])
    waiting = seller.get(response["Location"])
    assert "Waiting to start" in _text(waiting) and "0 of 5 contacts done" in _text(waiting)
    assert 'hx-trigger="every 1s"' in waiting.content.decode()

    Contact.objects.filter(pk=contacts[4].pk).update(email_opt_out=True)  # before its turn comes
    for callback in callbacks:
        callback()  # the task, run eagerly

    done = seller.get(response["Location"], headers={"HX-Request": "true", "HX-Target": "enrol-progress"})
    text = _text(done)
    assert 'hx-trigger="every 1s"' not in done.content.decode()
    assert "<html" not in done.content.decode()  # the polled block alone
    assert "Added 4 Not added 1" in text
    assert "P4 Many Opted out of email." in text
    assert Enrolment.objects.filter(flow=flow).count() == 4


# --- A flow's enrolments ----------------------------------------------------------------------------
def _people(acme, owner, flow, n: int) -> list[Enrolment]:
    contacts = [ContactFactory(organization=acme) for _ in range(n)]
    return _enrol(flow, contacts, owner)


def test_the_enrolments_page_shows_state_step_due_and_reasons_in_words(acme, owner, flow, seller):
    owner.time_zone = "Europe/Paris"
    owner.save(update_fields=["time_zone"])
    active, paused, until, left = _people(acme, owner, flow, 4)
    enrolment_pause(paused, actor=owner)
    enrolment_pause(until, until=datetime(2031, 5, 4, 22, 0, tzinfo=UTC), actor=owner)
    enrolment_exit(left, Enrolment.ExitReason.REPLIED)
    Enrolment.objects.filter(pk=active.pk).update(due_at=datetime(2030, 3, 4, 9, 0, tzinfo=UTC))

    page = seller.get(reverse("engage:salesflow_enrolments", args=[flow.pk]))

    text = _text(page)
    assert "Step 1 of 2 Automatic email" in text
    assert "Mar 4, 2030, 10:00 AM" in text  # 09:00 UTC in Paris
    assert "Paused by the seller" in text
    assert "Until May 5, 2031, 12:00 AM" in text
    assert "Left Replied" in text
    only_paused = _text(
        seller.get(reverse("engage:salesflow_enrolments", args=[flow.pk]), {"state": "paused"})
    )
    assert str(paused.contact) in only_paused and str(active.contact) not in only_paused


def test_the_enrolments_page_costs_the_same_queries_for_5_or_50_people(
    acme, owner, flow, seller, django_assert_num_queries
):
    url = reverse("engage:salesflow_enrolments", args=[flow.pk])
    _people(acme, owner, flow, 5)
    with CaptureQueriesContext(connection) as five:
        assert seller.get(url).status_code == 200
    _people(acme, owner, flow, 45)

    with django_assert_num_queries(len(five)):
        page = seller.get(url)
    assert page.content.decode().count('name="ids"') == 50


def test_the_enrolments_page_goes_page_by_page(acme, owner, flow, seller, monkeypatch):
    monkeypatch.setattr(enrolment_selectors, "PAGE_SIZE", 2)
    made = _people(acme, owner, flow, 5)
    for i, e in enumerate(made):  # distinct start times, the newest last
        Enrolment.objects.filter(pk=e.pk).update(started_at=datetime(2026, 1, 1 + i, tzinfo=UTC))
    url = reverse("engage:salesflow_enrolments", args=[flow.pk])
    seen = []
    page = seller.get(url)
    while True:
        html = page.content.decode()
        seen += [int(v) for v in re.findall(r'name="ids" value="(\d+)"', html)]
        nxt = re.search(r'rel="next" href="\?([^"]+)"', html)
        if not nxt:
            break
        page = seller.get(f"{url}?{nxt.group(1).replace('&amp;', '&')}")
    assert seen == [e.pk for e in reversed(made)]


def test_bulk_pause_resume_and_remove_which_asks_first(acme, owner, flow, seller):
    a, b, c = _people(acme, owner, flow, 3)
    bulk = reverse("engage:salesflow_enrolments_bulk", args=[flow.pk])

    seller.post(bulk, {"action": "pause", "ids": [a.pk, b.pk]})
    assert set(Enrolment.objects.filter(state="paused").values_list("pk", flat=True)) == {a.pk, b.pk}
    seller.post(bulk, {"action": "resume", "ids": [a.pk]})
    assert Enrolment.objects.get(pk=a.pk).state == "active"

    asked = seller.post(bulk, {"action": "remove", "ids": [a.pk, c.pk]})
    assert asked.status_code == 200 and "Remove 2 people from Outbound?" in _text(asked)
    assert Enrolment.objects.filter(state="exited").count() == 0

    seller.post(bulk, {"action": "remove", "ids": [a.pk, c.pk], "confirmed": "on"})
    exited = Enrolment.objects.filter(state="exited")
    assert {e.pk for e in exited} == {a.pk, c.pk}
    assert {e.exit_reason for e in exited} == {"removed"}
    assert Enrolment.objects.get(pk=b.pk).state == "paused"


def test_row_actions_pause_until_a_date_resume_skip_and_remove(acme, owner, flow, seller):
    (e,) = _people(acme, owner, flow, 1)
    page = reverse("engage:salesflow_enrolments", args=[flow.pk])

    seller.post(reverse("engage:enrolment_pause", args=[e.pk]), {"until": "2031-05-05", "next": page})
    e.refresh_from_db()
    assert (e.state, e.pause_reason, e.paused_until) == (
        "paused",
        "until_date",
        datetime(2031, 5, 5, tzinfo=UTC),
    )

    seller.post(reverse("engage:enrolment_resume", args=[e.pk]))
    e.refresh_from_db()
    assert e.state == "active"

    first = e.current_step_id
    skip = reverse("engage:enrolment_skip", args=[e.pk])
    seller.post(skip, {"step": first})
    seller.post(skip, {"step": first})  # the same click again: nothing more is skipped
    e.refresh_from_db()
    assert e.current_step.position == 2
    assert StepSend.objects.filter(enrolment=e).count() == 0

    confirm = seller.get(reverse("engage:enrolment_remove", args=[e.pk]))
    assert "Remove from the Salesflow" in _text(confirm)
    e.refresh_from_db()
    assert e.state == "active"
    seller.post(reverse("engage:enrolment_remove", args=[e.pk]))
    e.refresh_from_db()
    assert (e.state, e.exit_reason) == ("exited", "removed")


def test_a_pause_date_in_the_past_is_refused(acme, owner, flow, seller):
    (e,) = _people(acme, owner, flow, 1)
    response = seller.post(
        reverse("engage:enrolment_pause", args=[e.pk]), {"until": "2020-01-01"}, follow=True
    )
    assert "Choose a day after today." in _text(response)
    e.refresh_from_db()
    assert e.state == "active"


def test_a_teammate_sees_a_team_flows_people_but_changes_only_their_own(acme, owner, teammate, flow, client):
    (theirs,) = _people(acme, owner, flow, 1)
    (mine,) = _enrol(flow, [ContactFactory(organization=acme)], teammate)
    client.force_login(teammate)

    page = client.get(reverse("engage:salesflow_enrolments", args=[flow.pk])).content.decode()
    assert f'name="ids" value="{mine.pk}"' in page
    assert f'name="ids" value="{theirs.pk}"' not in page
    assert client.post(reverse("engage:enrolment_pause", args=[theirs.pk])).status_code == 403
    client.post(
        reverse("engage:salesflow_enrolments_bulk", args=[flow.pk]),
        {"action": "pause", "ids": [theirs.pk, mine.pk]},
    )
    assert Enrolment.objects.get(pk=theirs.pk).state == "active"
    assert Enrolment.objects.get(pk=mine.pk).state == "paused"


def test_the_enrolment_pages_write_nothing_on_get(acme, owner, flow, seller):
    made = _people(acme, owner, flow, 3)
    job = EnrolmentJob.objects.create(organization=acme, flow=flow, sender=owner, enrolled_by=owner, total=3)
    urls = [
        reverse("engage:salesflow_enrolments", args=[flow.pk]),
        reverse("engage:salesflow_enrol_job", args=[job.pk]),
        reverse("engage:enrolment_remove", args=[made[0].pk]),
        reverse("engage:contact_detail", args=[made[0].contact_id]),
        f"{ENROL}?contact={made[0].contact_id}&flow={flow.pk}&check=1",
    ]
    for url in urls:
        with CaptureQueriesContext(connection) as captured:
            assert seller.get(url).status_code == 200, url
        assert _writes(captured) == [], url


# --- The contact page's card --------------------------------------------------------------------------
def test_the_contact_card_lists_flows_steps_sent_and_why_they_left(acme, owner, flow, seller):
    contact = ContactFactory(organization=acme, first_name="Cara")
    (e,) = _enrol(flow, [contact], owner)
    StepSend.objects.create(
        organization=acme,
        enrolment=e,
        step=e.current_step,
        message_id="sf-test@acme.example",
        state=StepSend.State.SENT,
        sent_at=datetime(2026, 3, 9, 9, 5, tzinfo=UTC),
    )
    enrolment_exit(e, Enrolment.ExitReason.REPLIED)
    other = make_flow(owner, email(), name="Nurture")
    _enrol(other, [contact], owner)

    text = _text(seller.get(reverse("engage:contact_detail", args=[contact.pk])))

    assert "Salesflows Add to Salesflow" in text
    assert "Outbound Left Replied" in text
    assert "Step 1 (automatic email): sent Mar 9, 2026, 9:05 AM" in text
    assert "Nurture Active" in text and "next: step 1 of 1 (automatic email)" in text


def test_the_contact_card_costs_the_same_queries_for_1_or_5_flows(
    acme, owner, acme_mail, seller, django_assert_num_queries
):
    contact = ContactFactory(organization=acme)
    url = reverse("engage:contact_detail", args=[contact.pk])
    _enrol(make_flow(owner, email(), name="F0"), [contact], owner)
    with CaptureQueriesContext(connection) as one:
        seller.get(url)
    for i in range(1, 5):
        _enrol(make_flow(owner, email(), call(), name=f"F{i}"), [contact], owner)

    with django_assert_num_queries(len(one)):
        page = seller.get(url)
    assert page.content.decode().count("data-enrolment=") == 5


def test_a_contact_in_a_teammates_private_flow_is_counted_not_named(acme, owner, teammate, acme_mail, client):
    contact = ContactFactory(organization=acme)
    _enrol(make_flow(owner, email(), name="Secret plan", team=False), [contact], owner)
    client.force_login(teammate)

    text = _text(client.get(reverse("engage:contact_detail", args=[contact.pk])))

    assert "Secret plan" not in text
    assert "Also in 1 private Salesflow of a teammate." in text


def test_a_colleague_of_another_org_cannot_be_chosen_as_sender(acme, owner, flow, seller, globex):
    owner.can_start_salesflow_on_behalf = True
    owner.save(update_fields=["can_start_salesflow_on_behalf"])
    stranger = UserFactory(organization=globex)
    contact = ContactFactory(organization=acme)

    response = _check(seller, flow, [contact], sender=stranger.pk)

    assert "Choose a member of your organisation." in _text(response)
    assert not Enrolment.objects.exists()


def test_a_job_silent_for_longer_than_it_may_run_is_shown_stopped_and_left_for_the_sweep(
    acme, owner, flow, seller
):
    silent = timezone.now() - timedelta(hours=3)
    job = EnrolmentJob.objects.create(
        organization=acme,
        flow=flow,
        sender=owner,
        enrolled_by=owner,
        status=EnrolmentJob.Status.RUNNING,
        total=500,
        processed=200,
        enrolled_count=200,
        started_at=silent,
        heartbeat_at=silent,
        worker="worker:another-host:41:0ff1ce",
    )

    page = seller.get(reverse("engage:salesflow_enrol_job", args=[job.pk]))

    text = _text(page)
    assert "Stopped before the end" in text and enrolment.WORKER_LOST in text
    assert 'hx-trigger="every 1s"' not in page.content.decode()
    job.refresh_from_db()
    assert job.status == EnrolmentJob.Status.RUNNING  # shown stopped; the sweep records it


def test_a_flow_without_steps_says_so_on_its_field_and_an_archived_one_is_not_offered(
    acme, owner, acme_mail, seller
):
    empty = flow_create(owner=owner, name="Not written yet", visibility="team")
    archived = make_flow(owner, name="Last year")
    flow_archive(flow=archived, actor=owner)
    contact = ContactFactory(organization=acme)

    page = seller.get(ENROL, {"contact": contact.pk})
    checked = _check(seller, empty, [contact])

    assert "Not written yet" in page.content.decode() and "Last year" not in page.content.decode()
    assert "Add a step to this Salesflow before adding people to it." in _text(checked)
    assert f'<option value="{empty.pk}" selected>' in checked.content.decode()
