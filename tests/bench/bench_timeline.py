"""The company timeline (B8) at 10,000 activities for one company.

The activities go in through the real ingestion path (``integrations.sync.registry.deliver`` → copilot's
handlers), as a mailbox sync delivers them: a seller's emails with the company's 40 people (a
teammate on cc now and then) and meetings with them, spread over a year.

- ``timeline_queries``: SQL queries of the company page, in-process (test client), at 100 and at
  10,000 activities — they must be equal (keyset pagination over the index table, participants and
  teammates prefetched: nothing grows with the number of activities).
- ``timeline_p95_ms``: p95 latency of the company page over real HTTP (gunicorn, 2 workers,
  loopback, 4 client threads) at 10,000 activities. For context the table also shows the page
  filtered to meetings and the htmx partial of an older page (keyset cursor deep in the timeline).
- ``timeline_trivial_page_p95_ms``: the same load, in the same run, on a trivial page of the same
  gunicorn (``/`` signed out: the middleware stack and a redirect, no SQL). Every p95 is given in
  units of it (``…_vs_trivial_page_ratio``); the benchmark fails on the company page's ratio
  (``RATIO_LIMITS``) and on a growing query count, never on an absolute time.
"""

from __future__ import annotations

import datetime as dt
import random
from urllib.parse import urlencode

from django.utils.html import escape

from tests.bench import support

SMALL, LARGE = 100, 10_000
MEETING_EVERY = 8  # one activity in eight is a meeting
PAGE_SIZE = 500  # records per delivered batch, as a sync page
REQUESTS = 300
CLIENT_THREADS = 4
# Limit on the company page's p95 in units of the trivial page's p95. Measured on SQLite on
# 2026-12-06 (issue 11) on the 2-core machine with other test runs beside it: 25.9 (378 ms over
# 14.6 ms). The trivial page's p95 is a few milliseconds and moves by half with scheduling noise,
# so the limit is about twice the measured ratio.
RATIO_LIMITS = {"timeline_p95_vs_trivial_page_ratio": 55}
SELLER_EMAIL = "seller@bench-timeline.example"
SELLER_PASSWORD = "bench-seller-password"
TEAMMATE_EMAIL = "teammate@bench-timeline.example"
COMPANY_DOMAIN = "northwind-bench.example"
DATABASE_NAME = "bench_timeline"

# fmt: off
FIRST = ["Ada", "Ben", "Chloé", "Dmitri", "Elif", "Femi", "Greta", "Hiro", "Ines", "Jonas", "Kalani", "Lars"]
LAST = ["Anderson", "Brown", "Dubois", "Evans", "García", "Hansen", "Müller", "Okafor", "Rossi"]
SUBJECTS = ["Pricing for the rollout", "Follow-up from our call", "Security questionnaire",
            "Renewal timeline", "Pilot results", "Contract redlines", "Onboarding plan"]
# fmt: on


def run() -> dict[str, float]:
    return support.run_in_bench_database(_measure, name=DATABASE_NAME)


def _measure(vendor: str) -> dict[str, float]:
    import logging

    from django.db import connection, connections

    from copilot.models import Activity, Company

    logging.disable(logging.INFO)  # a line per ingested page would bury the table
    org, seller, teammate = _seed_org()
    _deliver(org, seller, teammate, 0, SMALL)
    company = Company.objects.for_org(org).get(domain=COMPANY_DOMAIN)
    page_path = f"/companies/{company.pk}/"
    title = escape(str(company))
    check = support.expect_page(title, 'class="timeline-item timeline-email', 'id="timeline-more"')
    small = support.page_queries(seller, page_path, check)
    _deliver(org, seller, teammate, SMALL, LARGE)
    if vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    activities = Activity.objects.for_org(org).filter(company_links__company=company).count()
    assert activities == LARGE, f"{activities} activities for the company, expected {LARGE:,}"
    large = support.page_queries(seller, page_path, check)
    if len(small) != len(large):
        raise AssertionError(
            f"the company page costs {len(small)} queries at {SMALL:,} activities but {len(large)} at {LARGE:,}"
        )
    older = _older_partial_path(company)
    support.check_trivial_page()

    connections.close_all()  # gunicorn's workers open their own
    pages = [
        ("company", "company page (all kinds)", page_path, check),
        (
            "meetings",
            "company page, meetings only",
            f"{page_path}?kind=meeting",
            support.expect_page(title, 'class="timeline-item timeline-meeting'),
        ),
        ("older", "htmx partial ~6,000 activities in", older, _partial_ok),
    ]
    with support.gunicorn_server(workers=2, ready_path="/accounts/login/") as base_url:
        cookies = support.login(base_url, email=SELLER_EMAIL, password=SELLER_PASSWORD).cookies
        trivial = support.trivial_page_load(base_url, total=REQUESTS, threads=CLIENT_THREADS)
        load = {
            key: support.run_load(
                base_url + path, cookies=cookies, total=REQUESTS, threads=CLIENT_THREADS, check=page_check
            )
            for key, _, path, page_check in pages
        }

    names = {"company": "timeline", "meetings": "timeline_meetings", "older": "timeline_older_page"}
    return support.page_load_report(
        title=f"Company timeline: one company with {LARGE:,} activities ({vendor}; {REQUESTS} requests per page, "
        f"{CLIENT_THREADS} client threads, gunicorn 2 workers)",
        sizes=(SMALL, LARGE),
        queries=(small, large),
        pages=[(key, label, names[key]) for key, label, _, _ in pages],
        load=load,
        trivial=trivial,
        prefix="timeline",
        limits=RATIO_LIMITS,
    )


def _partial_ok(response) -> str | None:
    """The timeline partial (no page around it) listing activities."""
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    body = response.content.decode()
    if "<title>" in body:
        return "a whole page, not the partial"
    if 'class="timeline-item' not in body:
        return "no activities in the partial"
    return None


def _seed_org():
    from copilot.models import Role, User

    org, seller = support.create_org_user(
        "Bench Timeline Co",
        SELLER_EMAIL,
        SELLER_PASSWORD,
        role=Role.CONTRIBUTOR,
        first_name="Sam",
        last_name="Seller",
    )
    teammate = User.objects.create_user(
        TEAMMATE_EMAIL, None, organization=org, first_name="Tess", last_name="Mate", role=Role.CONTRIBUTOR
    )
    return org, seller, teammate


def _deliver(org, seller, teammate, start: int, stop: int) -> None:
    """Activities ``start``..``stop`` of the company's timeline, through the ingestion handlers
    in sync-page-sized batches: mostly emails (seller ↔ one of the company's 40 people, the
    teammate on cc now and then), every eighth a meeting."""
    from django.db import transaction

    from integrations.records import Address, Attendee, CalendarEventRecord, MailboxContext, MailMessageRecord
    from integrations.sync.registry import deliver

    rng = random.Random(start)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    people = [
        Address(f"{FIRST[i % len(FIRST)].lower()}.{LAST[i % len(LAST)].lower()}{i}@{COMPANY_DOMAIN}",
                f"{FIRST[i % len(FIRST)]} {LAST[i % len(LAST)]}")
        for i in range(40)
    ]  # fmt: skip
    me = Address(seller.email, seller.get_full_name())
    mate = Address(teammate.email, teammate.get_full_name())
    mail: list = []
    meetings: list = []
    for n in range(start, stop):
        when = now - dt.timedelta(minutes=rng.randrange(60, 60 * 24 * 365))
        person = people[n % len(people)]
        if n % MEETING_EVERY == MEETING_EVERY - 1:
            meetings.append(
                CalendarEventRecord(
                    external_id=f"bench-event-{n}",
                    ical_uid=f"bench-event-{n}@bench-timeline.example",
                    subject=f"Check-in with {person.name}",
                    start=when,
                    end=when + dt.timedelta(minutes=30),
                    organizer=me,
                    attendees=(
                        Attendee(me.email, me.name, "accepted", is_organizer=True),
                        Attendee(person.email, person.name, "accepted"),
                    ),
                    conference_url=f"https://meet.google.com/ben-{n:04d}-chx" if n % 2 else "",
                    updated_at=when,
                )
            )
            continue
        outgoing = n % 2 == 0
        mail.append(
            MailMessageRecord(
                external_id=f"bench-msg-{n}",
                thread_id=f"bench-thread-{n // 3}",
                message_id_header=f"bench-{n}@mail.bench-timeline.example",
                subject=SUBJECTS[n % len(SUBJECTS)] if n % 3 == 0 else f"Re: {SUBJECTS[n % len(SUBJECTS)]}",
                snippet="Thanks — the volume tier works for us. Can we talk on Thursday?",
                sender=me if outgoing else person,
                sent_at=when,
                to=(person,) if outgoing else (me,),
                cc=(mate,) if n % 5 == 0 else (),
                body_text="Thanks — the volume tier works for us. Can we talk on Thursday?\n\n— Sam",
                labels=("SENT",) if outgoing else ("INBOX",),
            )
        )
    for kind, records in (("email", mail), ("calendar", meetings)):
        context = MailboxContext(
            organization_id=org.pk,
            connection_id=0,
            provider="google",
            user_id=seller.pk,
            mailbox=seller.email,
            kind=kind,
            full_resync=True,
        )
        for i in range(0, len(records), PAGE_SIZE):
            with transaction.atomic():
                deliver(context, records[i : i + PAGE_SIZE])


def _older_partial_path(company) -> str:
    """The timeline partial's URL for the page about 6,000 activities in, as its "Older" link
    gives it (the keyset cursor of the activity just before)."""
    from copilot.intelligence.selectors import encode_cursor
    from copilot.models import ActivityCompany

    link = ActivityCompany.objects.filter(company=company).order_by("-occurred_at", "-activity_id")[6_000]
    cursor = encode_cursor(link.occurred_at, link.activity_id)
    return f"/timeline/?{urlencode({'company': company.pk, 'before': cursor})}"
