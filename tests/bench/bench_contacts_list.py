"""The contacts list at 100,000 contacts in one organisation.

- SQL queries per page, in-process: the filtered list at 1,000 and at 100,000 contacts must cost
  the same number of queries (no N+1, no query that grows with the rows) — ``contacts_list_queries``.
- p95 latency over real HTTP (gunicorn, 2 workers, loopback) of the list with a filter applied
  (status = Qualified, about 1 in 8 contacts) — ``contacts_list_p95_ms`` — and, for context, the
  unfiltered first page, a page deep in the list (keyset cursor ~60,000 rows in) and a search.
  Every response must be the page itself and list contacts, never an error or a redirect.
- The same load, in the same run, on a trivial page of the same gunicorn (``/`` signed out: the
  middleware stack and a redirect, no SQL): ``contacts_list_trivial_page_p95_ms``. Every p95 is
  given in units of it (``…_vs_trivial_page_ratio``); the benchmark fails on the filtered list's
  ratio (``RATIO_LIMITS``) and on a growing query count, never on an absolute time.
"""

from __future__ import annotations

import random
from datetime import timedelta
from urllib.parse import urlencode

from tests.bench import support

SMALL, LARGE = 1_000, 100_000
REQUESTS = 300
CLIENT_THREADS = 4
ADMIN_EMAIL = "seller@bench.example"
ADMIN_PASSWORD = "bench-seller-password"
# Limit on the filtered list's p95 in units of the trivial page's p95. Measured on SQLite on
# 2026-12-06 (issue 11) on the 2-core machine with other test runs beside it: 6.7 (172 ms over
# 25.9 ms; on an idle machine the list took about 40 ms and the trivial page a few ms, about 10).
# The trivial page's p95 is the noisier of the two, so the limit is three times the higher.
RATIO_LIMITS = {"contacts_list_p95_vs_trivial_page_ratio": 30}
LIST_PAGE = support.expect_page("Contacts", 'name="ids"')  # the list itself, with contacts in it

# fmt: off
FIRST = ["Ada", "Ben", "Chloé", "Dmitri", "Elif", "Femi", "Greta", "Hiro", "Ines", "Jonas", "Kalani",
    "Lars", "Mei", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Viktor"]
LAST = ["Anderson", "Brown", "Carlson", "Dubois", "Evans", "Fischer", "García", "Hansen", "Ivanova",
    "Johnson", "Kowalski", "Lopez", "Müller", "Nakamura", "Okafor", "Petrov", "Rossi", "Svensson"]
TITLES = ["VP Sales", "Head of Operations", "CFO", "IT Director", "Procurement Lead", "CTO", "Office Manager"]
# fmt: on


def run() -> dict[str, float]:
    return support.run_in_bench_database(_measure)


def _measure(vendor: str) -> dict[str, float]:
    from django.db import connection, connections

    from engage.models import ContactStatus

    org, seller = _seed_org()
    qualified = ContactStatus.objects.for_org(org).get(name="Qualified")
    filtered = f"/app/contacts/?{urlencode({'status': qualified.pk})}"

    _add_contacts(org, seller, 0, SMALL)
    small = support.page_queries(seller, filtered, LIST_PAGE)
    _add_contacts(org, seller, SMALL, LARGE)
    if vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE engage_contact")
    large = support.page_queries(seller, filtered, LIST_PAGE)
    if len(small) != len(large):
        raise AssertionError(
            f"the contacts list costs {len(small)} queries at {SMALL:,} contacts but {len(large)} at {LARGE:,}"
        )
    deep = _deep_cursor_path(org, seller)
    support.check_trivial_page()

    connections.close_all()  # gunicorn's workers open their own
    pages = [
        ("filtered", "status = Qualified", filtered),
        ("first", "no filter", "/app/contacts/"),
        ("deep", "keyset page ~60,000 rows in", deep),
        ("search", "search “müller”", "/app/contacts/?q=m%C3%BCller"),
    ]
    with support.gunicorn_server(workers=2, ready_path="/accounts/login/") as base_url:
        cookies = support.login(base_url, email=ADMIN_EMAIL, password=ADMIN_PASSWORD).cookies
        trivial = support.trivial_page_load(base_url, total=REQUESTS, threads=CLIENT_THREADS)
        load = {
            key: support.run_load(
                base_url + path,
                cookies=cookies,
                total=REQUESTS,
                threads=CLIENT_THREADS,
                check=LIST_PAGE,
            )
            for key, _, path in pages
        }

    names = {"filtered": "contacts_list", "first": "contacts_list_unfiltered", "deep": "contacts_list_deep_page",
             "search": "contacts_search"}  # fmt: skip
    return support.page_load_report(
        title=f"Contacts list: one org with {LARGE:,} contacts ({vendor}; {REQUESTS} requests per page, "
        f"{CLIENT_THREADS} client threads, gunicorn 2 workers)",
        sizes=(SMALL, LARGE),
        queries=(small, large),
        pages=[(key, label, names[key]) for key, label, _ in pages],
        load=load,
        trivial=trivial,
        prefix="contacts_list",
        limits=RATIO_LIMITS,
    )


def _seed_org():
    from copilot.models import Role, User

    org, seller = support.create_org_user(
        "Bench Co", ADMIN_EMAIL, ADMIN_PASSWORD, role=Role.CONTRIBUTOR, first_name="Sam", last_name="Seller"
    )
    for i in range(4):
        User.objects.create_user(f"rep{i}@bench.example", None, organization=org, first_name=f"Rep{i}")
    return org, seller


def _add_contacts(org, seller, start: int, stop: int) -> None:
    from django.utils import timezone

    from copilot.models import User
    from engage.models import Account, Contact, ContactStatus

    rng = random.Random(start)
    owners = [*User.objects.for_org(org), None]
    statuses = list(ContactStatus.objects.for_org(org))
    accounts = list(Account.objects.for_org(org))
    if not accounts:
        accounts = Account.objects.bulk_create(
            Account(organization=org, name=f"Company {i}", domain=f"company{i}.example") for i in range(2_000)
        )
    now = timezone.now()
    batch: list = []
    for i in range(start, stop):
        account = accounts[i % len(accounts)]
        first, last = FIRST[i % len(FIRST)], LAST[(i // len(FIRST)) % len(LAST)]
        moment = now - timedelta(minutes=rng.randrange(0, 60 * 24 * 365))
        batch.append(
            Contact(
                organization=org,
                owner=owners[i % len(owners)],
                status=statuses[i % len(statuses)],
                first_name=first,
                last_name=last,
                email=f"{first.lower()}.{last.lower()}.{i}@{account.domain}",
                title=TITLES[i % len(TITLES)],
                company=account.name,
                account=account,
                business_phone=f"+1 555 {i % 10_000:04d}",
                source="import" if i % 3 else "manual",
                email_opt_out=i % 97 == 0,
                created_at=moment,
                updated_at=moment,
            )
        )
        if len(batch) == 5_000:
            Contact.objects.bulk_create(batch)
            batch = []
    if batch:
        Contact.objects.bulk_create(batch)


def _deep_cursor_path(org, seller) -> str:
    """The URL of a page about 60,000 rows into the default order, as its cursor link gives it."""
    from engage import selectors
    from engage.models import Contact

    row = Contact.objects.for_org(org).order_by("-updated_at", "-id")[60_000]
    cursor = selectors._encode_cursor(row, selectors.SORTS[selectors.DEFAULT_SORT])
    return f"/app/contacts/?after={cursor}"
