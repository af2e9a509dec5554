"""Shared by the send engine's tests: Demo Co's mailboxes served by the provider sandbox (the
real Gmail and Graph clients), flows and enrolments made through the product's services, the
minute beat run as its Celery task with an injected clock, and what the sandbox's mailboxes hold."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.test import TestCase

from engage import tasks
from engage.models import EngageSettings, Enrolment
from engage.salesflows.enrolment import enrolment_check, enrolment_start
from integrations.microsoft import auth
from integrations.microsoft.fetch import delta
from integrations.sandbox.google import control as google
from integrations.sandbox.microsoft import control as ms
from tests.factories import AdminFactory, ContactFactory, OrganizationFactory, UserFactory
from tests.integrations.sync.mailbox_helpers import ADMIN, SELLER1, SELLER2, Demo

# Monday 9 March 2026: a working day, no US holiday. Demo Co's sellers work 08:00-18:00 UTC.
MONDAY = datetime(2026, 3, 9, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """``day`` days after Monday 9 March 2026, at that UTC time."""
    return MONDAY + timedelta(days=day, hours=hour, minutes=minute, seconds=second)


def demo_co() -> Demo:
    """Demo Co as the sandbox knows it: its admin and two sellers (seller2 on the same mailbox
    domain), on the sandbox's demo domain."""
    org = OrganizationFactory(name="Demo Co")
    return Demo(
        org=org,
        admin=AdminFactory(organization=org, email=ADMIN, first_name="Ada", last_name="Admin"),
        seller1=UserFactory(organization=org, email=SELLER1, first_name="Sam", last_name="Seller"),
        seller2=UserFactory(organization=org, email=SELLER2, first_name="Sofia", last_name="Reyes"),
    )


def outlook_connection(sandbox, settings, demo: Demo):
    """Demo Co's admin-managed Microsoft 365 connection as after the admin consent (the sandbox's
    Graph; caches of earlier tests cleared)."""
    from tests.integrations.sync.mailbox_helpers import microsoft_connection

    auth.reset_caches()
    delta.reset_batch_support()
    return microsoft_connection(sandbox, settings, demo)


def beat(now: datetime) -> int:
    """The minute beat as Celery runs it (eager in tests), at ``now``: how many it claimed. The
    send tasks it queues run when its transaction commits (the test's, here: at once)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return tasks.salesflows_dispatch.apply_async(args=[now.isoformat()]).get()


def enrol(flow, sender, contacts: Iterable[Any], *, now: datetime) -> list[Enrolment]:
    plan = enrolment_check(flow, list(contacts), sender=sender, enrolled_by=sender)
    return enrolment_start(plan, override_warnings=True, now=now).enrolments


def contacts(organization, count: int, *, domains: int = 1, **fields: Any) -> list[Any]:
    """``count`` contacts spread over ``domains`` recipient domains."""
    return [
        ContactFactory(organization=organization, email=f"person{n}@company{n % domains}.example", **fields)
        for n in range(count)
    ]


def set_caps(organization, *, per_day=200, per_hour=40, per_domain=20, gap=30) -> None:
    row, _ = EngageSettings.objects.get_or_create(organization=organization)
    row.send_cap_per_day, row.send_cap_per_hour = per_day, per_hour
    row.send_cap_per_domain_per_day, row.send_gap_seconds = per_domain, gap
    row.save()


def gmail_sent(sandbox, mailbox: str) -> list[Any]:
    """The Salesflow emails (Message-ID ``sf-…``) in ``mailbox``'s SENT (the sandbox's Gmail),
    oldest first; the demo's own sent mail is left out."""
    with sandbox.state.lock:
        box = google.store(sandbox.state).mailbox(mailbox)
        messages = [m for m in box.messages.values() if "SENT" in m.label_ids and m.rfc_id.startswith("sf-")]
    return sorted(messages, key=lambda m: (m.internal_date, m.id))


def sent_message_ids(sandbox, provider: str, mailboxes: Iterable[str]) -> Counter[str]:
    """How many copies of each Message-ID (without <>) the senders' Sent mail holds."""
    counts: Counter[str] = Counter()
    for mailbox in mailboxes:
        if provider == "google":
            counts.update(m.rfc_id for m in gmail_sent(sandbox, mailbox))
        else:
            ms.release_sent_items(sandbox.control)
            ids = (
                m["internetMessageId"].strip("<>") for m in ms.messages(sandbox.state, mailbox, "sentitems")
            )
            counts.update(i for i in ids if i.startswith("sf-"))
    return counts
