"""The foundation pages under load: the workspace home and User Management with 1,000 users in
one organisation.

- SQL queries per page, in-process (test client), with 10 and then 1,000 users: a page whose
  count grows with the number of rows fails the benchmark, naming the query that multiplies.
- Requests per second and p95 latency over real HTTP: gunicorn (2 workers) on loopback, one
  real sign-in, then a fixed number of requests from 4 client threads; every response must be
  the page itself (HTTP 200 and its title), never a redirect or an error page.
- The same load, in the same run, on a trivial page of the same gunicorn (``/`` signed out: the
  middleware stack and a redirect, no SQL): ``foundation_trivial_page_p95_ms``. Each page's p95 is
  given in units of it, ``<page>_p95_vs_trivial_page_ratio``; the benchmark fails on those ratios
  (``RATIO_LIMITS``) and on growing query counts, never on an absolute time.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from tests.bench import support

SMALL, LARGE = 10, 1_000
REQUESTS_PER_PAGE = 400
CLIENT_THREADS = 4
ADMIN_EMAIL = "admin@bench.example"
ADMIN_PASSWORD = "bench-admin-password"
# Limits on the p95 in units of the trivial page's p95. Measured on SQLite on 2026-12-06 (issue 11)
# on the 2-core machine with other test runs beside it: home 6.9, User Management 43.3 (trivial
# page 9.7 ms). The trivial page's p95 is a few milliseconds, so scheduling noise moves it by
# half and the ratios with it; the limits are about twice the measured ratios.
RATIO_LIMITS = {
    "workspace_home_p95_vs_trivial_page_ratio": 15,
    "user_management_p95_vs_trivial_page_ratio": 90,
}
SEARCH = "son"  # in 5 of the 25 last names below, so a search matching many users, several pages

# fmt: off
FIRST_NAMES = ["Ada", "Ben", "Chloé", "Dmitri", "Elif", "Femi", "Greta", "Hiro", "Ines", "Jonas",
    "Kalani", "Lars", "Mei", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq"]
LAST_NAMES = ["Anderson", "Brown", "Carlson", "Dubois", "Evans", "Fischer", "García", "Hansen",
    "Ivanova", "Johnson", "Kowalski", "Lopez", "Müller", "Nakamura", "Okafor", "Petrov", "Quispe",
    "Rossi", "Svensson", "Tanaka", "Urban", "Valdez", "Wilson", "Xu", "Young"]
# fmt: on
GROUP_NAMES = ["Account Executives", "Customer Success", "Sales Americas", "Sales EMEA", "SDRs"]


@dataclass(frozen=True)
class Page:
    key: str
    path: str
    title: str


HOME = Page("workspace_home", "/app/", "Home")
USERS = Page("user_management", "/admin/users/", "User Management")
USERS_SEARCH = Page("user_management_search", f"/admin/users/?q={SEARCH}", "User Management")


def run() -> dict[str, float]:
    return support.run_in_bench_database(_measure)


def _measure(vendor: str) -> dict[str, float]:
    from django.db import connections

    org, admin = _seed_org()
    _add_users(org, 0, SMALL)
    small = _queries(admin)
    _add_users(org, SMALL, LARGE)
    large = _queries(admin)
    _fail_if_queries_grow(small, large)
    users_total = _user_count(org)
    support.check_trivial_page()

    connections.close_all()  # gunicorn's workers open their own
    with support.gunicorn_server(workers=2) as base_url:
        cookies = support.login(base_url, email=ADMIN_EMAIL, password=ADMIN_PASSWORD).cookies
        trivial = support.trivial_page_load(base_url, total=REQUESTS_PER_PAGE, threads=CLIENT_THREADS)
        load = {
            page.key: support.run_load(
                base_url + page.path,
                cookies=cookies,
                total=REQUESTS_PER_PAGE,
                threads=CLIENT_THREADS,
                check=support.expect_page(page.title, *extra),
            )
            for page, extra in ((HOME, ["Welcome, Ada"]), (USERS, [f"of {users_total}</span>"]))
        }

    figures: dict[str, float] = {
        "workspace_home_queries": len(large[HOME.key]),
        "user_management_queries": len(large[USERS.key]),
        "user_management_search_queries": len(large[USERS_SEARCH.key]),
    }
    figures["foundation_trivial_page_p95_ms"] = round(trivial.percentile(95), 1)
    for key, result in load.items():
        figures[f"{key}_rps"] = round(result.rps, 1)
        figures[f"{key}_p95_ms"] = round(result.percentile(95), 1)
        figures[f"{key}_p95_vs_trivial_page_ratio"] = support.ratio(
            result.percentile(95), trivial.percentile(95)
        )
    rows = [
        [
            f"{support.TRIVIAL_PATH} (trivial page, signed out)",
            0,
            0,
            trivial.rps,
            trivial.percentile(50),
            trivial.percentile(95),
        ]
    ]
    for page in (HOME, USERS, USERS_SEARCH):
        result = load.get(page.key)
        timing = [result.rps, result.percentile(50), result.percentile(95)] if result else ["", "", ""]
        rows.append([page.path, len(small[page.key]), len(large[page.key]), *timing])
    support.print_table(
        f"Foundation: one org with {LARGE:,} users ({vendor}; {REQUESTS_PER_PAGE} requests per page, "
        f"{CLIENT_THREADS} client threads, gunicorn 2 workers)",
        ["page", f"queries@{SMALL}", f"queries@{LARGE:,}", "req/s", "p50 ms", "p95 ms"],
        rows,
    )
    failures = support.ratio_failures(figures, RATIO_LIMITS)
    support.fail_on(failures, figures)
    return figures


# --- Data ---------------------------------------------------------------------------------------
def _seed_org():
    from django.utils import timezone

    from copilot.models import Invitation, OrgGroup, Role, hash_token

    org, admin = support.create_org_user(
        "Bench Co", ADMIN_EMAIL, ADMIN_PASSWORD, role=Role.ADMINISTRATOR, first_name="Ada", last_name="Admin"
    )
    OrgGroup.objects.bulk_create([OrgGroup(organization=org, name=name) for name in GROUP_NAMES])
    now = timezone.now()
    Invitation.objects.bulk_create(
        [
            Invitation(
                organization=org,
                email=f"invitee{i}@bench.example",
                first_name=FIRST_NAMES[i],
                last_name=LAST_NAMES[i],
                invited_by=admin,
                token_hash=hash_token(f"bench-invitation-{i}"),
                created_at=now - timedelta(days=i),
                last_sent_at=now - timedelta(days=i),
                send_count=1 + i % 2,
                # one has expired but is still pending: User Management shows it with a badge
                expires_at=now + timedelta(days=7 - 2 * i),
            )
            for i in range(5)
        ]
    )
    return org, admin


def _add_users(org, start: int, stop: int) -> None:
    """Users ``start``..``stop - 1``: bulk-created with one pre-hashed password (only the admin
    signs in), each in one or two groups; a few with a mailbox user name that earns a warning."""
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from copilot.models import OrgGroup, Role, User

    password = make_password("bench-user-password")
    now = timezone.now()
    users = User.objects.bulk_create(
        [
            User(
                organization=org,
                email=f"user{i:04d}@bench.example",
                password=password,
                mailbox_username=f"user{i:04d}" if i % 40 == 7 else f"user{i:04d}@bench.example",
                first_name=FIRST_NAMES[i % len(FIRST_NAMES)],
                last_name=LAST_NAMES[i % len(LAST_NAMES)],
                role=Role.ADMINISTRATOR if i % 50 == 3 else Role.CONTRIBUTOR,
                can_start_salesflow_on_behalf=i % 7 == 0,
                onboarding_finished_at=now,
            )
            for i in range(start, stop)
        ]
    )
    groups = list(OrgGroup.objects.for_org(org).order_by("pk"))
    membership = User.org_groups.through
    rows = []
    for i, user in enumerate(users, start=start):
        rows.append(membership(user_id=user.pk, orggroup_id=groups[i % len(groups)].pk))
        if i % 3 == 0:
            rows.append(membership(user_id=user.pk, orggroup_id=groups[(i + 2) % len(groups)].pk))
    membership.objects.bulk_create(rows)


def _user_count(org) -> int:
    from copilot.models import User

    return User.objects.for_org(org).count()


# --- Queries ------------------------------------------------------------------------------------
def _queries(admin) -> dict[str, list[str]]:
    """The SQL of one request for each page, signed in as ``admin``."""
    pages = (HOME, USERS, USERS_SEARCH)
    return {
        page.key: support.page_queries(admin, page.path, support.expect_page(page.title)) for page in pages
    }


def _shape(sql: str) -> str:
    """The query with its literals blanked, so one query per row counts as one shape."""
    sql = re.sub(r"'(?:[^']|'')*'", "?", sql)
    sql = re.sub(r"\b\d+\b", "?", sql)
    return re.sub(r"\((?:\?, )+\?\)", "(?...)", sql)


def _fail_if_queries_grow(small: dict[str, list[str]], large: dict[str, list[str]]) -> None:
    problems = []
    for key, queries in large.items():
        if len(queries) <= len(small[key]):
            continue
        grown = Counter(map(_shape, queries)) - Counter(map(_shape, small[key]))
        worst = "\n    ".join(f"+{n}x {sql[:400]}" for sql, n in grown.most_common(3))
        problems.append(
            f"{key}: {len(small[key])} queries at {SMALL} users, {len(queries)} at "
            f"{LARGE:,}; more of:\n    {worst}"
        )
    if problems:
        raise AssertionError("SQL queries per page grow with the number of rows:\n" + "\n".join(problems))
