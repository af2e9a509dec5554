"""Calls and email events become completed Tasks in Salesforce (G11, G12), against the sandbox:
the seed's exact subjects and comments, 200 Tasks a request, the CRM settings honoured, and
exactly one Task per activity even when a flush dies between Salesforce's create and our save."""

from __future__ import annotations

import datetime as dt

import pytest

from engage.models import CrmActivity, CrmWriteLog
from engage.services.crm import activities
from engage.services.crm.activities import crm_log_call, crm_log_email_event
from engage.services.crm.configuration import crm_settings_update
from integrations.sandbox.salesforce import control as sfc
from integrations.sandbox.salesforce.demo import ADMIN_USERNAME
from tests.engage.crm import sf_helpers as sf
from tests.factories import ContactFactory

WHEN = dt.datetime(2026, 11, 20, 15, 30, tzinfo=dt.UTC)
State = CrmActivity.State


@pytest.fixture
def lead_contact(acme, sandbox, salesforce_connection):
    return sf.linked_contact(acme, "Lead", sf.open_leads(sandbox)[0])


def composite_creates(sandbox) -> int:
    return sfc.api_calls(sandbox.state).get("composite_create", 0)


def flush(organization) -> activities.FlushReport:
    return activities.activities_flush(organization_id=organization.pk)


# --- What the Task says ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("event", "subject", "link_text", "expected"),
    [
        ("sent", "Quick question", None, "Engage: Sent Email Quick question"),
        ("opened", "Quick question", None, "Engage: Email opened Quick question"),
        ("failed", "Quick question", None, "Engage: Email failed Quick question"),
        ("unsubscribed", "Quick question", None, "Engage: Contact unsubscribed Quick question"),
        ("content_viewed", "Quick question", "Pricing sheet", "Engage: Content viewed Pricing sheet"),
        ("content_downloaded", "Quick question", "Pricing sheet", "Engage: Content downloaded Pricing sheet"),
        ("link_clicked", "Quick question", "Book a demo", "Engage: A link clicked Book a demo"),
        ("link_clicked", "Quick question", None, "Engage: A link clicked Quick question"),
        ("reply", "Re: Quick question", None, "Engage: Email reply Re: Quick question"),
    ],
)
def test_email_event_subjects_follow_the_seed(event, subject, link_text, expected):
    assert activities.email_event_subject(event, subject, link_text) == expected


def test_an_unknown_event_is_a_programming_error():
    with pytest.raises(ValueError):
        activities.email_event_subject("bounced", "Hi")


def test_the_call_subject_and_comments_block():
    assert activities.call_subject("Discovery call") == "Engage Call: Discovery call"
    assert activities.call_comments(
        result="Connected via direct line",
        sentiment="Next step booked",
        comments="Wants a demo on Tuesday.",
        voicemail_title="",
        recording_url="https://recordings.example/r/42",
    ) == (
        "Sentiment: Next step booked\nComments: Wants a demo on Tuesday.\n"
        "Call Recording URL: https://recordings.example/r/42"
    )
    # Sentiment only for conversations.
    assert activities.call_comments(
        result="Left message", sentiment="Bad timing", voicemail_title="Intro voicemail"
    ) == ("VoiceMail Left: Intro voicemail")


def test_a_long_subject_is_cut_to_what_salesforce_takes():
    subject = activities.email_event_subject("sent", "x" * 400)
    assert len(subject) == 255 and subject.endswith("…")


# --- Sending ----------------------------------------------------------------------------------------------
def test_a_call_becomes_a_completed_task_on_the_lead(acme, owner, lead_contact, sandbox):
    activity = crm_log_call(
        contact=lead_contact,
        subject="Discovery call",
        result="Connected via switchboard",
        sentiment="More information requested",
        comments="Send the deck.",
        recording_url="https://rec.example/1",
        duration_seconds=185,
        occurred_at=WHEN,
        actor=owner,
        key="call:1",
    )
    report = flush(acme)

    activity.refresh_from_db()
    assert (report.sent, activity.state) == (1, State.SENT)
    task = sf.record(sandbox, "Task", activity.salesforce_task_id)
    assert task["Subject"] == "Engage Call: Discovery call"
    assert (task["Status"], task["TaskSubtype"], task["CallType"]) == ("Completed", "Call", "Outbound")
    assert (task["WhoId"], task["ActivityDate"]) == (lead_contact.crm_id, "2026-11-20")
    assert (task["CallDisposition"], task["CallDurationInSeconds"]) == ("Connected via switchboard", 185)
    assert task["Description"] == (
        "Sentiment: More information requested\nComments: Send the deck.\nCall Recording URL: https://rec.example/1"
    )
    assert task["OwnerId"] == sfc.user_id(sandbox.state, ADMIN_USERNAME)  # the seller who connected
    assert task["CallObject"] == "call:1" and task.get("CompletedDateTime")


def test_a_sent_email_task_carries_the_body_other_events_do_not(acme, lead_contact, sandbox):
    sent = crm_log_email_event(
        contact=lead_contact,
        event="sent",
        email_subject="Quick question",
        body="Hi Ann,\nShall we talk?",
        occurred_at=WHEN,
        key="email:m1:sent:1",
    )
    opened = crm_log_email_event(
        contact=lead_contact,
        event="opened",
        email_subject="Quick question",
        body="ignored",
        occurred_at=WHEN,
        key="email:m1:opened:1",
    )
    flush(acme)
    sent.refresh_from_db()
    opened.refresh_from_db()
    sent_task = sf.record(sandbox, "Task", sent.salesforce_task_id)
    opened_task = sf.record(sandbox, "Task", opened.salesforce_task_id)
    assert (sent_task["Subject"], sent_task["Description"]) == (
        "Engage: Sent Email Quick question",
        "Hi Ann,\nShall we talk?",
    )
    assert sent_task["TaskSubtype"] == "Email" and "OwnerId" in sent_task  # Salesforce's default owner
    assert opened_task["Subject"] == "Engage: Email opened Quick question" and not opened_task.get(
        "Description"
    )


def test_a_task_goes_to_a_salesforce_contact_too(acme, sandbox, salesforce_connection):
    contact = sf.linked_contact(acme, "Contact", sf.sf_contact(sandbox))
    activity = crm_log_email_event(
        contact=contact, event="reply", email_subject="Re: Hi", occurred_at=WHEN, key="email:m2:reply:1"
    )
    flush(acme)
    activity.refresh_from_db()
    assert sf.record(sandbox, "Task", activity.salesforce_task_id)["WhoId"] == contact.crm_id


def test_450_activities_take_3_collection_requests(acme, lead_contact, sandbox):
    for i in range(450):
        crm_log_email_event(
            contact=lead_contact,
            event="opened",
            email_subject=f"Mail {i}",
            occurred_at=WHEN,
            key=f"email:bulk{i}:opened:1",
        )
    before = composite_creates(sandbox)
    report = flush(acme)
    assert report.sent == 450 and composite_creates(sandbox) - before == 3
    assert CrmActivity.objects.filter(state=State.SENT).count() == 450
    assert CrmWriteLog.objects.filter(action="create_tasks", result="ok").count() == 3


def test_the_on_commit_task_sends_it(acme, lead_contact, sandbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        activity = crm_log_call(
            contact=lead_contact, subject="Hi", result="No answer", occurred_at=WHEN, key="call:7"
        )
    activity.refresh_from_db()
    assert activity.state == State.SENT and len(sf.tasks_with(sandbox, "call:7")) == 1


# --- Settings and links ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("setting", "kind"),
    [
        ("create_activities", "call"),
        ("create_activities", "email"),
        ("log_calls", "call"),
        ("log_emails", "email"),
    ],
)
def test_activities_are_skipped_when_the_settings_say_so(acme, owner, lead_contact, sandbox, setting, kind):
    crm_settings_update(organization=acme, actor=owner, **{setting: False})
    if kind == "call":
        activity = crm_log_call(
            contact=lead_contact, subject="Hi", result="No answer", occurred_at=WHEN, key="call:9"
        )
    else:
        activity = crm_log_email_event(
            contact=lead_contact, event="sent", email_subject="Hi", occurred_at=WHEN, key="email:m9:sent:1"
        )
    before = composite_creates(sandbox)
    flush(acme)
    activity.refresh_from_db()
    assert activity.state == State.SKIPPED and "off" in activity.error
    assert composite_creates(sandbox) == before


def test_turning_activities_off_skips_those_still_pending(acme, owner, lead_contact, sandbox):
    activity = crm_log_call(
        contact=lead_contact, subject="Hi", result="No answer", occurred_at=WHEN, key="call:10"
    )
    crm_settings_update(organization=acme, actor=owner, create_activities=False)
    before = composite_creates(sandbox)
    flush(acme)
    activity.refresh_from_db()
    assert activity.state == State.SKIPPED and composite_creates(sandbox) == before


def test_an_unlinked_contact_gets_no_task(acme, sandbox, salesforce_connection):
    activity = crm_log_call(
        contact=ContactFactory(organization=acme),
        subject="Hi",
        result="No answer",
        occurred_at=WHEN,
        key="call:11",
    )
    flush(acme)
    activity.refresh_from_db()
    assert activity.state == State.SKIPPED and "not linked" in activity.error


def test_without_salesforce_nothing_is_queued_to_send(acme):
    activity = crm_log_call(
        contact=ContactFactory(organization=acme),
        subject="Hi",
        result="No answer",
        occurred_at=WHEN,
        key="call:12",
    )
    assert activity.state == State.SKIPPED and activity.error == "Salesforce is not connected."


def test_a_refused_task_is_marked_failed_with_salesforces_reason(acme, lead_contact, sandbox):
    activity = crm_log_call(
        contact=lead_contact, subject="Hi", result="No answer", occurred_at=WHEN, key="call:13"
    )
    CrmActivity.objects.filter(pk=activity.pk).update(payload={**activity.payload, "Priority": "Urgent"})
    report = flush(acme)
    activity.refresh_from_db()
    assert report.failed == 1 and activity.state == State.FAILED
    assert activity.error.startswith("Salesforce refused:") and "Priority" in activity.error


def test_an_outage_leaves_activities_pending_for_the_retry(acme, lead_contact, sandbox):
    activity = crm_log_call(
        contact=lead_contact, subject="Hi", result="No answer", occurred_at=WHEN, key="call:14"
    )
    sandbox.control.inject_fault("/services/data/v59.0/composite/sobjects", status=503)
    report = flush(acme)
    activity.refresh_from_db()
    assert report.retry and activity.state == State.PENDING
    assert flush(acme).sent == 1 and len(sf.tasks_with(sandbox, "call:14")) == 1


# --- Idempotency -----------------------------------------------------------------------------------------
def test_the_same_event_is_queued_once(acme, lead_contact, sandbox):
    first = crm_log_call(
        contact=lead_contact, subject="Hi", result="No answer", occurred_at=WHEN, key="call:20"
    )
    again = crm_log_call(
        contact=lead_contact, subject="Hi", result="No answer", occurred_at=WHEN, key="call:20"
    )
    assert first.pk == again.pk and CrmActivity.objects.count() == 1
    flush(acme)
    flush(acme)
    assert len(sf.tasks_with(sandbox, "call:20")) == 1


def test_a_flush_that_dies_after_salesforce_created_the_tasks_never_creates_them_twice(
    acme, lead_contact, sandbox, monkeypatch
):
    for i in range(3):
        crm_log_call(
            contact=lead_contact, subject=f"Call {i}", result="No answer", occurred_at=WHEN, key=f"call:c{i}"
        )
    real = activities._record_sent
    crashes = {"left": 1}

    def crash_once(sent):
        if crashes["left"]:
            crashes["left"] -= 1
            raise RuntimeError("worker killed")
        return real(sent)

    monkeypatch.setattr(activities, "_record_sent", crash_once)
    with pytest.raises(RuntimeError):
        flush(acme)
    assert CrmActivity.objects.filter(state=State.PENDING).count() == 3
    assert all(len(sf.tasks_with(sandbox, f"call:c{i}")) == 1 for i in range(3))
    creates_before = composite_creates(sandbox)

    report = flush(acme)

    assert (report.adopted, report.sent) == (3, 0)
    assert composite_creates(sandbox) == creates_before  # nothing created again
    assert all(len(sf.tasks_with(sandbox, f"call:c{i}")) == 1 for i in range(3))
    for activity in CrmActivity.objects.all():
        assert activity.state == State.SENT
        assert activity.salesforce_task_id == sf.tasks_with(sandbox, activity.idempotency_key)[0]["Id"]


def test_two_flushes_of_one_organisation_never_overlap(acme, lead_contact):
    from django.core.cache import cache

    cache.add(f"engage:crm_flush:{acme.pk}", "someone", 60)
    crm_log_call(contact=lead_contact, subject="Hi", result="No answer", occurred_at=WHEN, key="call:30")
    assert flush(acme).busy
    assert CrmActivity.objects.get().state == State.PENDING
