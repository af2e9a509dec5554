"""Exactly once, under crashes (issue 13, point 5): the send path is killed (a ``BaseException``,
as a killed worker stops mid-way: nothing after it runs, its open transaction is rolled back) at
each point of the send sequence — after the claim, after the send is committed as sending, after
the provider took the message but before it is recorded, after it is recorded but before the
enrolment moves on — and recovered the way production recovers: the claim's lease lapses
(the injected clock) and a later beat claims the enrolment again. The senders' Sent mail in the
sandbox then holds every message exactly once (counted by Message-ID) and every enrolment moved
on once: no duplicate, none lost."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

import pytest

from engage.models import Enrolment, StepSend
from engage.models.salesflows import message_id_for
from engage.salesflows import sending
from integrations.sandbox.microsoft import control as ms
from tests.engage.salesflows.engine_helpers import (
    at,
    beat,
    contacts,
    demo_co,
    enrol,
    outlook_connection,
    sent_message_ids,
    set_caps,
)
from tests.engage.salesflows.flows_helpers import email, make_flow, task
from tests.integrations.sync.mailbox_helpers import ADMIN, SELLER1, SELLER2, sandbox_google_connection

POINTS = ("claimed", "sending", "provider_called", "sent")
AFTER_LEASE = sending.SEND_LEASE + timedelta(minutes=1)


class Killed(BaseException):
    """The worker died here."""


class Killer:
    """Stands in for ``sending._checkpoint``: kills the run the ``nth`` time ``point`` is reached."""

    def __init__(self) -> None:
        self.point, self.nth, self.reached, self.kills = "", 0, 0, Counter()

    def arm(self, point: str, nth: int) -> None:
        self.point, self.nth, self.reached = point, nth, 0

    def disarm(self) -> None:
        self.point = ""

    def __call__(self, point: str) -> None:
        if point != self.point:
            return
        self.reached += 1
        if self.reached == self.nth:
            self.kills[point] += 1
            self.disarm()
            raise Killed(point)


@pytest.fixture
def demo(db):
    return demo_co()


@pytest.fixture
def outlook(sandbox, settings, demo):
    return outlook_connection(sandbox, settings, demo)


@pytest.fixture
def killer(monkeypatch) -> Killer:
    killer = Killer()
    monkeypatch.setattr(sending, "_checkpoint", killer)
    return killer


def _run_until_done(killer: Killer, schedule: list[tuple[str, int]], start, first_step, *, limit: int = 60):
    """One beat per crash of ``schedule`` (each killed at its point), each after the last one's
    leases lapsed, then a beat every few minutes without crashes until no enrolment waits on
    ``first_step`` any more. Returns the time it took."""
    now = start
    for point, nth in schedule:
        killer.arm(point, nth)
        with pytest.raises(Killed):
            beat(now)
        now += AFTER_LEASE
    killer.disarm()
    for _ in range(limit):
        beat(now)
        if not Enrolment.objects.filter(current_step=first_step).exists():
            return now - start
        now += AFTER_LEASE
    raise AssertionError("The beats never settled.")


def _expected_ids(enrolments, step) -> set[str]:
    return {
        message_id_for(
            organization_id=e.organization_id,
            enrolment_id=e.pk,
            step_id=step.pk,
            domain=e.sender.email.rpartition("@")[2],
        )
        for e in enrolments
    }


def test_a_thousand_enrolments_killed_at_every_point_of_the_send_are_each_sent_once(
    sandbox, settings, demo, killer
):
    # Three mailboxes send a thousand emails within seconds of the test's wall clock: more than
    # Gmail's per-user quota lets one mailbox send in a minute (the client would rightly hold
    # back and the beat reschedule; that is another test's).
    settings.GMAIL_USER_QUOTA = "10000000/60"
    sandbox_google_connection(sandbox, demo)
    set_caps(demo.org, per_day=1000, per_hour=1000, per_domain=1000, gap=0)
    flow = make_flow(demo.seller1, email(), email(subject="", delay=1, reply=True), task())
    first, follow_up, _ = flow.steps.order_by("position")
    people = contacts(demo.org, 1000, domains=50)
    senders = (demo.seller1, demo.seller2, demo.admin)
    enrolments = []
    for n in range(0, 1000, 200):  # the dialog enrols up to 200 at once
        enrolments += enrol(flow, senders[n // 200 % 3], people[n : n + 200], now=at(0, 7))
    rng = random.Random(13)
    # Every point three times, each at a random send of the beat it kills (the claim: its first
    # mailbox task, before that sends anything).
    schedule = [
        (point, 1 if point == "claimed" else rng.randint(1, 60)) for _ in range(3) for point in POINTS
    ]

    _run_until_done(killer, schedule, at(0, 8), first)

    assert killer.kills == {point: 3 for point in POINTS}
    sent = sent_message_ids(sandbox, "google", (SELLER1, SELLER2, ADMIN))
    expected = _expected_ids(enrolments, first)
    duplicates = sum(n - 1 for n in sent.values())
    lost = len(expected - set(sent))
    assert (duplicates, lost) == (0, 0)
    assert set(sent) == expected
    assert StepSend.objects.filter(step=first, state=StepSend.State.SENT).count() == 1000
    # Each moved on once: every enrolment waits on the follow-up (twice would be the task).
    assert Counter(Enrolment.objects.values_list("current_step", "state")) == {(follow_up.pk, "active"): 1000}
    assert not Enrolment.objects.exclude(claimed_by="").exists()


@pytest.mark.parametrize("point", POINTS)
def test_microsoft_killed_at_each_point_sends_once_waiting_out_the_sent_items_lag(
    sandbox, demo, outlook, killer, point
):
    """Exchange saves the Sent Items copy late: the look-up after a crash finds nothing at first
    and the enrolment waits (no second send) until the copy shows or the lag is over."""
    set_caps(demo.org, per_day=1000, per_hour=1000, per_domain=1000, gap=0)
    flow = make_flow(demo.seller1, email(), email(subject="", delay=1, reply=True))
    first = flow.steps.get(position=1)
    enrolments = enrol(flow, demo.seller1, contacts(demo.org, 6, domains=6), now=at(0, 7))
    ms.set_sent_items_lag(sandbox.control, 4)  # the next four mail reads miss each new Sent copy

    _run_until_done(killer, [(point, 1 if point == "claimed" else 3)], at(0, 8), first)

    sent = sent_message_ids(sandbox, "microsoft", (SELLER1,))
    assert set(sent) == _expected_ids(enrolments, first) and set(sent.values()) == {1}
    assert StepSend.objects.filter(step=first, state=StepSend.State.SENT).count() == 6


# --- Microsoft 365 saves the Sent Items copy late -------------------------------------------------
def _one_outlook_enrolment(demo):
    flow = make_flow(demo.seller1, email())
    (enrolment,) = enrol(flow, demo.seller1, contacts(demo.org, 1), now=at(0, 7))
    return enrolment


def _sendmails(sandbox) -> int:
    return len([r for r in sandbox.control.requests("/sendMail") if r["method"] == "POST"])


def test_a_sent_copy_exchange_has_not_saved_yet_is_waited_for_and_never_sent_twice(
    sandbox, demo, outlook, killer
):
    enrolment = _one_outlook_enrolment(demo)
    ms.set_sent_items_lag(sandbox.control, 1000)  # Exchange holds every Sent copy for now
    killer.arm("provider_called", 1)
    with pytest.raises(Killed):
        beat(at(0, 8))
    assert _sendmails(sandbox) == 1

    # The lease lapsed: the look-up finds nothing yet, and within the lag that means "wait".
    assert beat(at(0, 8, 6)) == 1
    send = StepSend.objects.get(enrolment=enrolment)
    enrolment.refresh_from_db()
    assert send.state == StepSend.State.SENDING and _sendmails(sandbox) == 1
    assert enrolment.due_at == at(0, 8) + sending.SENT_COPY_LAG["microsoft"] and enrolment.claimed_by == ""
    assert beat(at(0, 8, 12)) == 0  # not due again yet

    ms.release_sent_items(sandbox.control)  # Exchange saved it
    assert beat(at(0, 8, 15)) == 1
    send.refresh_from_db()
    assert send.state == StepSend.State.SENT and send.sent_at == at(0, 8) and send.provider_message_id
    assert _sendmails(sandbox) == 1
    assert sent_message_ids(sandbox, "microsoft", (SELLER1,)) == {send.message_id: 1}


def test_a_message_that_never_reached_exchange_is_sent_once_the_lag_is_over(sandbox, demo, outlook, killer):
    enrolment = _one_outlook_enrolment(demo)
    killer.arm("sending", 1)  # committed as sending, then the worker died before calling Graph
    with pytest.raises(Killed):
        beat(at(0, 8))

    assert beat(at(0, 8, 6)) == 1  # not found, but it might still show: wait
    assert _sendmails(sandbox) == 0
    assert beat(at(0, 8, 15)) == 1  # not found after the lag: it never went; sent now
    assert _sendmails(sandbox) == 1
    send = StepSend.objects.get(enrolment=enrolment)
    assert send.state == StepSend.State.SENT and send.attempts == 2
    assert sent_message_ids(sandbox, "microsoft", (SELLER1,)) == {send.message_id: 1}
