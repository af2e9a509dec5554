"""The seller's Actions queue: what is in it and in which order (overdue, today, upcoming in the
seller's zone), the counts in one query, keyset pages; logging a call, finishing a task, skipping
and snoozing move the flow on once however often the form is sent; the page, its controls and
the navigation count; nobody but the seller (and nobody of another organisation) reaches them.
Emails the send engine could not send (a value missing, a provider's refusal) wait on top as
needing attention with their reason: tried again they go on the next beat, or are skipped or
removed."""

from __future__ import annotations

import email as email_parser
from datetime import UTC, datetime, timedelta
from email import policy as email_policy

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from engage.models import CallLog, Contact, CrmActivity, Enrolment, EnrolmentEvent, SalesflowStep, StepSend
from engage.salesflows import actions as queue
from engage.salesflows import events
from tests.engage.salesflows.actions_helpers import calls_flow, due_calls, enrol
from tests.engage.salesflows.engine_helpers import beat, demo_co, gmail_sent, set_caps
from tests.engage.salesflows.flows_helpers import email, make_flow, task
from tests.factories import AccountFactory, ContactFactory
from tests.integrations.sync.mailbox_helpers import SELLER1, sandbox_google_connection

pytestmark = pytest.mark.django_db

MONDAY_9 = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
FRIDAY_1730 = datetime(2026, 3, 13, 17, 30, tzinfo=UTC)
State = Enrolment.State
Kind = SalesflowStep.Kind


@pytest.fixture
def flow(owner, acme_mail):
    return calls_flow(owner)


@pytest.fixture
def ann(acme):
    initech = AccountFactory(organization=acme, name="Initech")
    return ContactFactory(
        organization=acme,
        first_name="Ann",
        last_name="Lee",
        email="ann@initech.example",
        account=initech,
        direct_phone="+14155550142",
        mobile_phone="+447911123456",
    )


def _enrolled(flow, owner, contact, *, now=MONDAY_9) -> Enrolment:
    (enrolment,) = enrol(flow, owner, [contact], now=now)
    return enrolment


def _log(enrolment, owner, *, now, result="connected_direct", comments="Pilot in May"):
    return queue.action_complete_call(
        enrolment,
        actor=owner,
        step_id=enrolment.current_step_id,
        subject="Call: Spring outreach step 1",
        result=result,
        comments=comments,
        now=now,
    )


# --- Services -----------------------------------------------------------------------------------
def test_logging_the_call_records_it_and_moves_on_to_the_task_due_in_the_senders_window(
    acme, owner, flow, ann
):
    enrolment = _enrolled(flow, owner, ann)
    assert (enrolment.current_step.kind, enrolment.due_at) == (Kind.CALL, MONDAY_9)

    outcome = _log(enrolment, owner, now=FRIDAY_1730)

    assert outcome.done
    enrolment.refresh_from_db()
    # The task is due a day after the call: Saturday 17:30 is outside the sender's Monday-Friday
    # 08:00-18:00, so Monday 08:00.
    assert (enrolment.state, enrolment.current_step.kind, enrolment.current_step.position) == (
        State.ACTIVE,
        Kind.TASK,
        2,
    )
    assert enrolment.due_at == datetime(2026, 3, 16, 8, 0, tzinfo=UTC)
    assert enrolment.last_step_at == FRIDAY_1730
    log = CallLog.objects.get()
    assert (log.contact, log.user, log.enrolment, log.step.position) == (ann, owner, enrolment, 1)
    assert (log.subject, log.get_result_display(), log.comments, log.logged_at) == (
        "Call: Spring outreach step 1",
        "Connected via direct line",
        "Pilot in May",
        FRIDAY_1730,
    )
    assert log.is_conversation
    # The Salesforce Task is queued as the dialer's calls are (skipped here: no Salesforce).
    activity = CrmActivity.objects.get()
    assert (activity.kind, activity.idempotency_key, activity.contact) == ("call", f"call:{log.pk}", ann)
    assert activity.payload["CallDisposition"] == "Connected via direct line"
    assert activity.state == CrmActivity.State.SKIPPED and "not connected" in activity.error


def test_a_second_submit_of_the_same_call_changes_nothing(acme, owner, flow, ann):
    enrolment = _enrolled(flow, owner, ann)
    stale = Enrolment.objects.get(pk=enrolment.pk)  # the second tab's copy
    call_step = stale.current_step_id
    assert _log(enrolment, owner, now=FRIDAY_1730).done
    moved = Enrolment.objects.get(pk=enrolment.pk)

    again = queue.action_complete_call(
        stale,
        actor=owner,
        step_id=call_step,
        subject="Call again",
        result="no_answer",
        comments="",
        now=FRIDAY_1730 + timedelta(seconds=2),
    )

    assert not again.done
    assert again.enrolment.current_step_id == moved.current_step_id
    assert Enrolment.objects.get(pk=enrolment.pk).due_at == moved.due_at
    assert CallLog.objects.count() == 1 and CrmActivity.objects.count() == 1
    # Nor may the next step be done with the call's form: it names the call step.
    assert not queue.action_complete_task(stale, actor=owner, step_id=call_step).done


def test_a_call_needs_a_result_from_the_list(acme, owner, flow, ann):
    enrolment = _enrolled(flow, owner, ann)
    with pytest.raises(ValidationError):
        _log(enrolment, owner, now=FRIDAY_1730, result="maybe")
    assert not CallLog.objects.exists()
    enrolment.refresh_from_db()
    assert enrolment.current_step.kind == Kind.CALL


def test_finishing_the_task_moves_on_and_the_last_step_finishes_the_flow(acme, owner, ann, acme_mail):
    flow = make_flow(owner, task("Connect on LinkedIn", delay=0), name="Short")
    enrolment = _enrolled(flow, owner, ann)
    outcome = queue.action_complete_task(
        enrolment, actor=owner, step_id=enrolment.current_step_id, now=MONDAY_9
    )
    assert outcome.done and outcome.finished
    enrolment.refresh_from_db()
    assert (enrolment.state, enrolment.current_step, enrolment.due_at) == (State.FINISHED, None, None)
    assert not queue.action_complete_task(enrolment, actor=owner, step_id=flow.steps.get().pk).done


def test_skipping_moves_on_and_says_so_in_the_history(acme, owner, flow, ann):
    enrolment = _enrolled(flow, owner, ann)
    call_step = enrolment.current_step
    assert queue.action_skip(enrolment, actor=owner, step_id=call_step.pk, now=FRIDAY_1730).done
    enrolment.refresh_from_db()
    assert enrolment.current_step.kind == Kind.TASK
    skipped = EnrolmentEvent.objects.get(enrolment=enrolment, kind="step_skipped")
    assert (skipped.actor, skipped.data["step"]) == (owner, call_step.pk)
    assert not CallLog.objects.exists()
    assert not queue.action_skip(enrolment, actor=owner, step_id=call_step.pk).done


def test_a_snoozed_action_leaves_the_queue_and_comes_back_due_when_its_day_comes(acme, owner, flow, ann):
    enrolment = _enrolled(flow, owner, ann)
    tomorrow_9 = queue.snooze_tomorrow(owner, now=MONDAY_9 + timedelta(hours=2))
    assert tomorrow_9 == datetime(2026, 3, 10, 9, 0, tzinfo=UTC)

    outcome = queue.action_snooze(
        enrolment, actor=owner, step_id=enrolment.current_step_id, until=tomorrow_9, now=MONDAY_9
    )

    assert outcome.done
    assert queue.action_counts(user=owner, now=MONDAY_9).due == 0
    assert queue.action_page(user=owner, now=MONDAY_9).rows == []
    assert not queue.action_snooze(
        enrolment, actor=owner, step_id=enrolment.current_step_id, until=tomorrow_9, now=MONDAY_9
    ).done  # snoozed already
    # The minute beat resumes it at 9:00 on Tuesday: the call is back, due then.
    assert events.enrolments_resume_due(now=tomorrow_9) == 1
    (row,) = queue.action_page(user=owner, now=tomorrow_9).rows
    assert (row.pk, row.kind, row.due_at, row.group) == (enrolment.pk, Kind.CALL, tomorrow_9, queue.TODAY)


def test_a_snooze_must_end_in_the_future(acme, owner, flow, ann):
    enrolment = _enrolled(flow, owner, ann)
    with pytest.raises(ValidationError):
        queue.action_snooze(
            enrolment, actor=owner, step_id=enrolment.current_step_id, until=MONDAY_9, now=MONDAY_9
        )


def test_only_the_seller_sending_does_the_action(acme, owner, teammate, flow, ann):
    enrolment = _enrolled(flow, owner, ann)
    with pytest.raises(PermissionDenied):
        queue.action_complete_task(enrolment, actor=teammate, step_id=enrolment.current_step_id)


def test_the_snooze_day_is_the_sellers(owner):
    owner.time_zone = "America/Los_Angeles"
    # Monday 23:30 in Los Angeles is Tuesday 07:30 UTC: tomorrow is Tuesday there, 9:00 PDT.
    late = datetime(2026, 3, 10, 6, 30, tzinfo=UTC)
    assert queue.snooze_tomorrow(owner, now=late) == datetime(2026, 3, 10, 16, 0, tzinfo=UTC)


# --- The queue ----------------------------------------------------------------------------------
def _at(enrolment, due_at):
    Enrolment.objects.filter(pk=enrolment.pk).update(due_at=due_at)


def test_the_queue_lists_overdue_then_today_then_upcoming_and_counts_them_in_one_query(
    acme, owner, teammate, flow, django_assert_num_queries
):
    now = datetime(2026, 3, 11, 15, 0, tzinfo=UTC)  # Wednesday afternoon
    contacts = [ContactFactory(organization=acme, first_name=n) for n in ("Up", "Today", "Late", "Later")]
    up, today, late, later = enrol(flow, owner, contacts, now=MONDAY_9)
    _at(up, datetime(2026, 3, 12, 8, 0, tzinfo=UTC))
    _at(today, datetime(2026, 3, 11, 17, 0, tzinfo=UTC))  # later today: due today already
    _at(late, datetime(2026, 3, 9, 9, 0, tzinfo=UTC))
    _at(later, datetime(2026, 3, 10, 9, 0, tzinfo=UTC))
    manual = make_flow(owner, email(kind=Kind.MANUAL_EMAIL, subject="Quick question"), name="Manual")
    (written,) = enrol(manual, owner, [ContactFactory(organization=acme, first_name="Write")], now=MONDAY_9)
    _at(written, datetime(2026, 3, 11, 9, 0, tzinfo=UTC))
    # Not actions: another seller's, a paused one, an automatic email's.
    theirs = make_flow(teammate, task(delay=0), name="Theirs")
    enrol(theirs, teammate, [ContactFactory(organization=acme)], now=MONDAY_9)
    (paused,) = enrol(flow, owner, [ContactFactory(organization=acme)], now=MONDAY_9)
    events.enrolment_pause(paused, actor=owner, now=MONDAY_9)
    enrol(make_flow(owner, email(), name="Auto"), owner, [ContactFactory(organization=acme)], now=MONDAY_9)

    page = queue.action_page(user=owner, now=now)
    assert [(r.contact.first_name, r.group) for r in page.rows] == [
        ("Late", "overdue"),
        ("Later", "overdue"),
        ("Write", "today"),
        ("Today", "today"),
        ("Up", "upcoming"),
    ]
    assert page.rows[0].late == "2\xa0days"  # kept on one line
    assert (page.rows[0].step.position, page.rows[0].steps_total) == (1, 3)
    with django_assert_num_queries(1):
        counts = queue.action_counts(user=owner, now=now)
    assert counts == queue.ActionCounts(due=4, overdue=2, upcoming=1, manual_email=1, call=3, task=0)
    assert counts.today == 2
    due_calls_only = queue.action_page(
        user=owner, now=now, filters=queue.ActionFilters(kind="call", when="due")
    )
    assert [r.contact.first_name for r in due_calls_only.rows] == ["Late", "Later", "Today"]
    upcoming = queue.action_page(user=owner, now=now, filters=queue.ActionFilters(when="upcoming"))
    assert [r.contact.first_name for r in upcoming.rows] == ["Up"]
    assert [r.contact.first_name for r in queue.todays_actions(user=owner, now=now, limit=2)] == [
        "Late",
        "Later",
    ]


def test_today_is_the_sellers_day(acme, owner, flow):
    owner.time_zone = "America/Los_Angeles"
    owner.save(update_fields=["time_zone"])
    (enrolment,) = enrol(flow, owner, [ContactFactory(organization=acme)], now=MONDAY_9)
    _at(enrolment, datetime(2026, 3, 10, 6, 0, tzinfo=UTC))  # Monday 23:00 in Los Angeles
    monday_evening = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)  # Monday 20:00 there, Tuesday in UTC
    assert queue.action_counts(user=owner, now=monday_evening).due == 1
    (row,) = queue.action_page(user=owner, now=monday_evening).rows
    assert row.group == queue.TODAY
    tuesday_morning = datetime(2026, 3, 10, 16, 0, tzinfo=UTC)  # Tuesday 09:00 there
    (row,) = queue.action_page(user=owner, now=tuesday_morning).rows
    assert (row.group, row.late) == (queue.OVERDUE, "10\xa0hours")


def test_pages_follow_each_other_without_gaps_or_repeats(acme, owner, flow):
    same = datetime(2026, 3, 9, 10, 0, tzinfo=UTC)
    enrolments = due_calls(owner, 7, due_at=same, flow=flow)
    _at(enrolments[3], datetime(2026, 3, 9, 8, 0, tzinfo=UTC))
    now = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
    seen, after, pages = [], "", []
    while True:
        page = queue.action_page(user=owner, after=after, size=3, now=now)
        pages.append(page)
        seen += [r.pk for r in page.rows]
        if not page.next_cursor:
            break
        after = page.next_cursor
    expected = [enrolments[3].pk, *sorted(e.pk for e in enrolments if e is not enrolments[3])]
    assert seen == expected and len(pages) == 3
    back = queue.action_page(user=owner, before=pages[2].prev_cursor, size=3, now=now)
    assert [r.pk for r in back.rows] == [r.pk for r in pages[1].rows]
    assert queue.action_page(user=owner, after="not-a-cursor", size=3, now=now).rows == pages[0].rows


# --- The pages ----------------------------------------------------------------------------------
@pytest.fixture
def due_now(owner, flow, ann):
    enrolment = _enrolled(flow, owner, ann)
    _at(enrolment, timezone.now() - timedelta(days=2, hours=1))
    enrolment.refresh_from_db()
    return enrolment


def _text(response) -> str:
    return response.content.decode().replace("\xa0", " ")


def _post(client, name, enrolment, **data):
    return client.post(
        reverse(f"engage:{name}"),
        {"enrolment": enrolment.pk, "step": enrolment.current_step_id, **data},
    )


def test_the_page_shows_the_call_with_its_numbers_and_a_prefilled_log_form(owner_client, due_now):
    text = _text(owner_client.get(reverse("engage:actions")))
    assert "Overdue by 2 days" in text
    assert "Ann Lee" in text and "Initech" in text and "Spring outreach · step 1 of 3" in text
    assert (
        'Direct: <a href="tel:+1-415-555-0142">' in text and 'Mobile: <a href="tel:+44-7911-123456">' in text
    )
    assert "Ask who runs the pilot" in text
    assert 'value="Call: Spring outreach step 1"' in text
    assert "Gatekeeper - blocked" in text and "Until tomorrow, 9:00 AM" in text
    # The navigation counts it.
    assert 'data-actions-due>1<span class="visually-hidden"> due</span>' in text


def test_logging_a_call_on_the_page_moves_the_flow_on_once(owner_client, due_now, ann):
    response = _post(
        owner_client,
        "action_call",
        due_now,
        subject="Call: Spring outreach step 1",
        result="left_message",
        comments="Call back Thursday",
        next=reverse("engage:actions") + "?kind=call",
    )
    assert response.status_code == 302 and response["Location"] == reverse("engage:actions") + "?kind=call"
    page = owner_client.get(response["Location"]).content.decode()
    assert "Call with Ann Lee logged. Next for Ann Lee: step 2, task, due" in page
    assert CallLog.objects.get().result == "left_message"
    due_now.refresh_from_db()
    assert due_now.current_step.kind == Kind.TASK

    stale = {"enrolment": due_now.pk, "step": CallLog.objects.get().step_id}
    again = owner_client.post(reverse("engage:action_call"), {**stale, "subject": "x", "result": "no_answer"})
    assert again.status_code == 302
    assert "already done" in owner_client.get(reverse("engage:actions")).content.decode()
    assert CallLog.objects.count() == 1


def test_a_call_without_a_result_comes_back_with_what_was_typed(owner_client, due_now):
    response = _post(owner_client, "action_call", due_now, subject="My own subject", comments="Said hi")
    text = response.content.decode()
    assert response.status_code == 200
    assert "Choose what came of the call." in text
    assert 'value="My own subject"' in text and "Said hi</textarea>" in text
    assert not CallLog.objects.exists()


def test_done_skip_and_snooze_from_the_page(owner_client, owner, acme, acme_mail):
    flow = make_flow(owner, task("Send a gift", delay=0), task("Connect on LinkedIn", delay=0), name="Gifts")
    (enrolment,) = enrol(flow, owner, [ContactFactory(organization=acme, first_name="Gil")])
    _at(enrolment, timezone.now() - timedelta(minutes=5))
    enrolment.refresh_from_db()
    assert "Send a gift" in owner_client.get(reverse("engage:actions")).content.decode()

    _post(owner_client, "action_done", enrolment)
    enrolment.refresh_from_db()
    assert enrolment.current_step.position == 2

    bad = _post(owner_client, "action_snooze", enrolment, until="2001-01-01")
    assert bad.status_code == 302
    assert "Choose a day after today." in owner_client.get(reverse("engage:actions")).content.decode()
    _post(owner_client, "action_snooze", enrolment)  # no day chosen: tomorrow morning
    enrolment.refresh_from_db()
    assert (enrolment.state, enrolment.pause_reason) == (State.PAUSED, "until_date")
    assert timezone.localtime(enrolment.paused_until, timezone=UTC).hour == 9  # owner's zone is UTC

    events.enrolment_resume(enrolment, actor=owner)
    _post(owner_client, "action_skip", enrolment)
    enrolment.refresh_from_db()
    assert enrolment.state == State.FINISHED


def test_the_empty_queue_says_what_will_appear(owner_client, owner):
    text = owner_client.get(reverse("engage:actions")).content.decode()
    assert "No actions waiting for you" in text and "with the contact's numbers" in text
    assert "data-actions-due" not in text


def test_the_today_page_shows_the_first_actions(owner_client, due_now):
    text = _text(owner_client.get(reverse("engage:home")))
    assert "Today's actions" in text and "Overdue by 2 days" in text and "Ann Lee" in text
    assert "Steps of your Salesflows due today" not in text  # the empty state is gone


# --- Manual emails: the composer and the send path -----------------------------------------------
@pytest.fixture
def demo(db):
    return demo_co()


@pytest.fixture
def written(sandbox, demo):
    """Demo Co's seller1 (Gmail through the sandbox, a signature) with Ava on an email to write,
    then a task."""
    sandbox_google_connection(sandbox, demo)
    seller = demo.seller1
    seller.signature_choice = "compact"
    seller.save(update_fields=["signature_choice"])
    flow = make_flow(
        seller,
        email(
            subject="Quick question, {{ first_name }}",
            body="<p>Hi {{ first_name }}, how is {{ title }} going?</p><p>{{ sender.signature }}</p>",
            kind=Kind.MANUAL_EMAIL,
        ),
        task("Connect on LinkedIn", delay=1),
        name="Hand-written",
    )
    ava = ContactFactory(
        organization=demo.org, first_name="Ava", last_name="Stone", email="ava@stone.example"
    )
    (enrolment,) = enrol(flow, seller, [ava])
    return enrolment


def test_the_composer_opens_with_the_step_filled_for_the_contact(client, demo, written):
    client.force_login(demo.seller1)
    queue_page = client.get(reverse("engage:actions")).content.decode()
    assert "Write email" in queue_page and "Quick question, {{ first_name }}" in queue_page
    text = client.get(reverse("engage:action_email", args=[written.pk])).content.decode()
    assert 'value="Quick question, Ava"' in text
    # Ava has no title: the tag stays, and the page says so; the signature's place is kept.
    assert "Hi Ava, how is {{ title }} going?" in text and "Ava Stone has no value for" in text
    assert "{{ sender.signature }}" in text and 'class="signature-preview"' in text
    assert not StepSend.objects.exists()


def _html_part(raw: bytes) -> str:
    message = email_parser.message_from_bytes(raw, policy=email_policy.default)
    return message.get_body(preferencelist=("html",)).get_content()


def test_sending_the_written_email_goes_once_through_the_send_path_and_moves_on(
    client, sandbox, demo, written
):
    client.force_login(demo.seller1)
    url = reverse("engage:action_email", args=[written.pk])
    form = {
        "step": written.current_step_id,
        "subject": "Quick question, Ava",
        "body_html": "<p>Hi Ava, how is {{ title }} going?</p><p>{{ sender.signature }}</p>",
        "next": reverse("engage:actions"),
    }
    kept = client.post(url, form)
    assert kept.status_code == 200 and not gmail_sent(sandbox, SELLER1)
    assert "Ava Stone has no value for {{ title }}: write it in, or take it out." in kept.content.decode()
    assert "how is {{ title }} going?" in kept.content.decode()  # what was typed is kept

    form["body_html"] = (
        "<p>Hi Ava, how is the <b>new role</b> going?</p><script>x()</script><p>{{ sender.signature }}</p>"
    )
    response = client.post(url, form)

    assert response.status_code == 302 and response["Location"] == reverse("engage:actions")
    (sent,) = gmail_sent(sandbox, SELLER1)
    assert sent.header("Subject") == "Quick question, Ava"
    html = _html_part(sent.raw)
    assert "<b>new role</b>" in html and "x()" not in html
    assert "Sam Seller" in html and "Sam Seller" in sent.text  # the signature went in
    send = StepSend.objects.get()
    assert (send.state, send.message_id) == (StepSend.State.SENT, sent.rfc_id)
    written.refresh_from_db()
    assert written.current_step.kind == Kind.TASK
    assert "Email to Ava Stone sent. Next for Ava Stone: step 2, task" in _text(
        client.get(reverse("engage:actions"))
    )
    # The same form again: nothing more goes out.
    client.post(url, form)
    assert len(gmail_sent(sandbox, SELLER1)) == 1
    assert "No email to write here now" in client.get(url).content.decode()


def test_a_mailbox_that_cannot_send_keeps_the_email(client, demo):
    seller = demo.seller1  # Demo Co has no mailbox connected in this test
    flow = make_flow(seller, email(subject="Hello", kind=Kind.MANUAL_EMAIL), name="Nowhere")
    contact = ContactFactory(organization=demo.org, email="ann@example.com")
    enrolment = Enrolment.objects.create(
        organization=demo.org,
        flow=flow,
        contact=contact,
        sender=seller,
        current_step=flow.steps.get(),
        due_at=timezone.now(),
    )
    client.force_login(seller)
    url = reverse("engage:action_email", args=[enrolment.pk])
    assert "connect" in client.get(url).content.decode().lower()
    response = client.post(
        url, {"step": enrolment.current_step_id, "subject": "Hello", "body_html": "<p>Hi Ann</p>"}
    )
    assert response.status_code == 200 and "&lt;p&gt;Hi Ann&lt;/p&gt;</textarea>" in response.content.decode()
    enrolment.refresh_from_db()
    assert enrolment.current_step.kind == Kind.MANUAL_EMAIL


def test_another_organisations_seller_gets_404_on_the_composer(client, outsider, demo, written):
    client.force_login(outsider)
    url = reverse("engage:action_email", args=[written.pk])
    assert client.get(url).status_code == 404
    assert (
        client.post(url, {"step": written.current_step_id, "subject": "x", "body_html": "x"}).status_code
        == 404
    )


ROUTES = ("action_call", "action_done", "action_skip", "action_snooze", "action_retry", "action_remove")


@pytest.mark.parametrize("name", ROUTES)
def test_another_organisations_seller_gets_404_with_our_ids(name, client, outsider, due_now):
    client.force_login(outsider)
    response = _post(client, name, due_now, subject="x", result="no_answer")
    assert response.status_code == 404
    assert client.get(reverse(f"engage:{name}")).status_code == 405
    assert "Ann Lee" not in client.get(reverse("engage:actions")).content.decode()
    due_now.refresh_from_db()
    assert (due_now.state, due_now.current_step.kind) == (State.ACTIVE, Kind.CALL)
    assert not CallLog.objects.exists()


@pytest.mark.parametrize("name", ROUTES)
def test_a_teammate_cannot_do_someone_elses_action(name, client, teammate, due_now):
    client.force_login(teammate)
    assert _post(client, name, due_now, subject="x", result="no_answer").status_code == 404
    assert "Ann Lee" not in client.get(reverse("engage:actions")).content.decode()


@pytest.mark.parametrize("size", [5, 50])
def test_the_page_costs_the_same_number_of_queries_at_any_size(
    size, owner_client, owner, acme, acme_mail, django_assert_num_queries
):
    owner_client.get(reverse("engage:actions"))  # session, user and organisation warmed the same way
    due_calls(owner, size, due_at=timezone.now() - timedelta(hours=1))
    # session, user, organisation; the rows (one query); the counts (one, shared with the navigation)
    with django_assert_num_queries(QUERIES):
        response = owner_client.get(reverse("engage:actions"))
    assert response.content.decode().count('name="result"') == min(size, queue.PAGE_SIZE)


QUERIES = 5


# --- Needs attention: emails the send engine could not send ---------------------------------------
@pytest.fixture
def unsent(sandbox, demo):
    """Demo Co's seller1 (Gmail through the sandbox) sending a two-email flow whose first email
    needs the contact's first name and title: Ava has no title, Bo has everything. No gap between sends: a
    beat at a due time sends what is due then."""
    sandbox_google_connection(sandbox, demo)
    set_caps(demo.org, gap=0)
    flow = make_flow(
        demo.seller1,
        email(subject="For {{ first_name }}", body="<p>How is being {{ title }} going?</p>"),
        email(subject="Following up", body="<p>Any thoughts?</p>", delay=2),
        name="Title check",
    )
    ava = ContactFactory(
        organization=demo.org, first_name="Ava", last_name="Stone", title="", email="ava@stone.example"
    )
    bo = ContactFactory(
        organization=demo.org, first_name="Bo", last_name="Chan", title="CTO", email="bo@chan.example"
    )
    return flow, enrol(flow, demo.seller1, [ava, bo])


def _due(enrolment) -> datetime:
    enrolment.refresh_from_db()
    return enrolment.due_at


def _attention_form(enrolment, **extra):
    return {"enrolment": enrolment.pk, "step": enrolment.current_step_id, **extra}


def test_a_missing_merge_value_waits_in_the_queue_naming_the_field_and_try_again_sends_it_next_beat(
    client, sandbox, demo, unsent
):
    _, (lacking, _fine) = unsent
    assert beat(_due(lacking)) == 2
    assert [m.header("Subject") for m in gmail_sent(sandbox, SELLER1)] == ["For Bo"]
    lacking.refresh_from_db()
    assert (lacking.state, lacking.pause_reason) == (State.PAUSED, "needs_attention")

    client.force_login(demo.seller1)
    text = _text(client.get(reverse("engage:actions")))
    assert "Needs your attention" in text
    assert "Ava Stone has no value for {{ title }}." in text
    assert f'href="/app/contacts/{lacking.contact_id}/edit/"' in text
    assert "Try again" in text and "Skip this step" in text and "Remove from Salesflow" in text
    assert "Bo Chan" not in text  # sent: nothing to do
    assert 'data-actions-due>1<span class="visually-hidden"> due</span>' in text  # counted
    counts = queue.action_counts(user=demo.seller1)
    assert (counts.due, counts.attention, counts.today, counts.overdue) == (1, 1, 0, 0)

    # Trying again before the contact is fixed: the next beat makes the email afresh, still
    # without a title, and it comes back naming the field; nothing is sent.
    response = client.post(
        reverse("engage:action_retry"), _attention_form(lacking, next=reverse("engage:actions"))
    )
    assert response.status_code == 302
    assert "The email to Ava Stone will be tried again" in _text(client.get(response["Location"]))
    lacking.refresh_from_db()
    assert lacking.state == State.ACTIVE
    assert beat(lacking.due_at) == 1
    assert len(gmail_sent(sandbox, SELLER1)) == 1
    lacking.refresh_from_db()
    assert (lacking.state, lacking.pause_reason) == (State.PAUSED, "needs_attention")
    assert "Ava Stone has no value for {{ title }}." in _text(client.get(reverse("engage:actions")))

    # The seller fills the title in and tries again: sent on the next beat, and the flow moves on.
    Contact.objects.filter(pk=lacking.contact_id).update(title="VP Sales")
    client.post(reverse("engage:action_retry"), _attention_form(lacking))
    lacking.refresh_from_db()
    assert beat(lacking.due_at) == 1
    _first, second = gmail_sent(sandbox, SELLER1)
    assert second.header("Subject") == "For Ava" and "How is being VP Sales going?" in second.text
    send = StepSend.objects.get(enrolment=lacking, step__position=1)
    assert (send.state, send.message_id) == (StepSend.State.SENT, second.rfc_id)
    lacking.refresh_from_db()
    assert (lacking.state, lacking.current_step.position) == (State.ACTIVE, 2)
    text = _text(client.get(reverse("engage:actions")))
    assert "Needs your attention" not in text and "data-actions-due" not in text
    # A second click of the stale form changes nothing.
    stale = {"enrolment": lacking.pk, "step": send.step_id}
    client.post(reverse("engage:action_retry"), stale)
    assert "already tried again, skipped or removed" in _text(client.get(reverse("engage:actions")))
    assert Enrolment.objects.get(pk=lacking.pk).current_step.position == 2


def test_a_provider_refusal_shows_its_reason_and_skip_moves_on(client, sandbox, demo, unsent):
    _, (ava, bo) = unsent
    Contact.objects.filter(pk=ava.contact_id).update(title="VP Sales")
    sandbox.control.inject_fault(
        "/gmail/v1/users/.*/messages/send",
        status=400,
        body={"error": {"code": 400, "message": "Invalid To header", "status": "INVALID_ARGUMENT"}},
        times=1,
    )
    assert beat(_due(ava)) == 2
    refused = next(e for e in (ava, bo) if Enrolment.objects.get(pk=e.pk).state == State.PAUSED)
    refused.refresh_from_db()
    assert refused.pause_reason == "send_failed"

    client.force_login(demo.seller1)
    text = _text(client.get(reverse("engage:actions")))
    assert "Refused" in text and "Your mail provider refused the message" in text
    assert "Invalid To header" in text
    assert queue.action_counts(user=demo.seller1).attention == 1
    # Today shows it first, with its reason.
    home = _text(client.get(reverse("engage:home")))
    assert "Needs your attention" in home and "Invalid To header" in home

    step1 = refused.current_step_id
    response = client.post(reverse("engage:action_skip"), _attention_form(refused))
    assert response.status_code == 302
    assert f"Step skipped for {refused.contact}. Next for {refused.contact}: step 2" in _text(
        client.get(reverse("engage:actions"))
    )
    refused.refresh_from_db()
    assert (refused.state, refused.pause_reason, refused.current_step.position) == (State.ACTIVE, "", 2)
    assert StepSend.objects.get(enrolment=refused, step_id=step1).state == StepSend.State.FAILED
    assert EnrolmentEvent.objects.filter(enrolment=refused, kind="step_skipped").count() == 1
    assert queue.action_counts(user=demo.seller1).attention == 0
    # The second email goes in its turn (with the other contact's).
    beat(refused.due_at)
    follow_up = StepSend.objects.get(enrolment=refused, step__position=2)
    assert follow_up.state == StepSend.State.SENT and follow_up.subject == "Following up"


def _needing_attention(seller, count: int, *, flow=None, reason="needs_attention") -> list[Enrolment]:
    """``count`` contacts whose first (automatic) email the engine paused for the seller, each
    with its send's reason, as the engine leaves them."""
    flow = flow or make_flow(seller, email(subject="For {{ title }}"), name="Titles")
    people = [
        ContactFactory(organization=seller.organization, first_name=f"Nia{i}", email=f"nia{i}@n.example")
        for i in range(count)
    ]
    enrolments = enrol(flow, seller, people)
    for e in enrolments:
        StepSend.objects.create(
            organization=e.organization,
            enrolment=e,
            step=e.current_step,
            message_id=f"sf-{e.organization_id}-{e.pk}-{e.current_step_id}@acme.example",
            state=StepSend.State.NEEDS_ATTENTION,
            error="No value for {{ title }}",
        )
        events.enrolment_pause(e, reason=reason)
    return enrolments


def test_removing_one_needing_attention_takes_the_contact_out(owner_client, owner, acme, acme_mail):
    (enrolment,) = _needing_attention(owner, 1)
    enrolment.refresh_from_db()
    response = owner_client.post(reverse("engage:action_remove"), _attention_form(enrolment))
    assert response.status_code == 302
    enrolment.refresh_from_db()
    assert (enrolment.state, enrolment.exit_reason) == (State.EXITED, "removed")
    assert StepSend.objects.get(enrolment=enrolment).state == StepSend.State.SKIPPED
    text = _text(owner_client.get(reverse("engage:actions")))
    assert "Removed Nia0" in text and "Needs your attention" not in text


def test_a_paused_enrolment_the_seller_paused_is_not_one_needing_attention(owner, acme, acme_mail):
    (enrolment,) = _needing_attention(owner, 1, reason="seller")
    enrolment.refresh_from_db()
    assert queue.action_counts(user=owner).attention == 0
    assert not queue.action_retry(enrolment, actor=owner, step_id=enrolment.current_step_id).done
    assert not queue.action_skip(enrolment, actor=owner, step_id=enrolment.current_step_id).done
    enrolment.refresh_from_db()
    assert (enrolment.state, enrolment.pause_reason) == (State.PAUSED, "seller")


def test_only_the_seller_sending_handles_what_needs_attention(owner, teammate, acme, acme_mail):
    (enrolment,) = _needing_attention(owner, 1)
    enrolment.refresh_from_db()
    with pytest.raises(PermissionDenied):
        queue.action_retry(enrolment, actor=teammate, step_id=enrolment.current_step_id)
    assert queue.action_counts(user=teammate).attention == 0


@pytest.mark.parametrize("name", ("action_retry", "action_skip", "action_remove"))
def test_another_organisation_gets_404_on_what_needs_attention(name, client, outsider, owner, acme_mail):
    (enrolment,) = _needing_attention(owner, 1)
    enrolment.refresh_from_db()
    client.force_login(outsider)
    assert client.post(reverse(f"engage:{name}"), _attention_form(enrolment)).status_code == 404
    assert "Nia0" not in client.get(reverse("engage:actions") + "?when=attention").content.decode()
    enrolment.refresh_from_db()
    assert (enrolment.state, enrolment.pause_reason) == (State.PAUSED, "needs_attention")


@pytest.mark.parametrize("size", [5, 50])
def test_the_page_with_some_needing_attention_costs_the_same_queries_at_any_size(
    size, owner_client, owner, acme, acme_mail, django_assert_num_queries
):
    owner_client.get(reverse("engage:actions"))
    due_calls(owner, size, due_at=timezone.now() - timedelta(hours=1))
    _needing_attention(owner, size)
    # As without any, and one query for those needing attention.
    with django_assert_num_queries(QUERIES + 1):
        response = owner_client.get(reverse("engage:actions"))
    text = response.content.decode()
    assert text.count("No value for") == 0  # said of the contact instead
    assert text.count("has no value for {{ title }}.") == min(size, queue.PAGE_SIZE)
    assert text.count('name="result"') == min(size, queue.PAGE_SIZE)
    assert (f"All {size} needing your attention" in text) == (size > queue.PAGE_SIZE)
    with django_assert_num_queries(QUERIES):  # their own pages: one query a page
        page = owner_client.get(reverse("engage:actions") + "?when=attention")
    assert page.content.decode().count("Try again<span") == min(size, queue.PAGE_SIZE)
    # Today: the same one query for its actions, those needing attention first.
    rows = queue.todays_actions(user=owner)
    assert [r.group for r in rows] == [queue.ATTENTION] * queue.TODAY_SHOWN
