"""Mailbox sync (B13) through the real product code: the sync engine (``integrations.sync``),
the Google adapter (google-auth / google-api-python-client) talking HTTPS to the provider
sandbox's Google emulator (in this process, on a loopback thread-server) and copilot's ingestion
writing people, companies and activities into the benchmark database. Figures:

- ``mail_initial_10k_seconds``: the first sync of one mailbox holding 10,000 messages (made by the
  emulator's generator, spread over the last 80 days, with 200 external domains): the
  ``integrations.sync_row`` task's body, end to end. This measures Cadence's own
  throughput, so Cadence's Gmail quota limiter is given room for it (``GMAIL_USER_QUOTA`` =
  ``QUOTA_UNBOUND``; the sandbox enforces no quota unless asked). Under Google's real per-user
  quota of 15,000 units a minute the 10,000 ``messages.get`` (5 units each) cannot take less than
  about 140 s — the first minute's 15,000 units, then 15,000 a minute — so the table prints that
  floor too (``mail_initial_10k_quota_floor_seconds``); the sync then spreads over several runs.
- ``mail_incremental_idle_api_calls``: the provider requests (sandbox request log) of one
  incremental round of an idle mailbox's email — must be exactly 1 (Gmail ``history.list``).
- ``mail_cycle_500_mailboxes_seconds``: 500 mailboxes, each with 20 messages that arrived since
  its last sync: the dispatcher's fan-out enqueues one task per mailbox on the broker
  (``CELERY_BROKER_URL`` when set, as Redis in CI, else the filesystem transport in a temporary
  folder, ``CELERY_BROKER_DIR``) and **two real Celery worker processes** (``celery -A config
  worker -c 1``, twice) run them; the time from the dispatch until every mailbox's sync state is
  idle again with a successful run after the dispatch.

The workers get the settings the way production processes do, through environment variables that
``config/settings`` reads: the benchmark's ``DATABASE_URL``, the ``GOOGLE_*`` endpoints and
``PROVIDER_CA_BUNDLE`` of the sandbox, ``CELERY_TASK_ALWAYS_EAGER=false``. When no ``CACHE_URL``
is configured they share a file-based cache with this process (production shares Redis), so the
per-mailbox access tokens minted during the first syncs are reused as they would be. The tasks use
the default queue (a throttled run re-enqueues itself there), so the broker must be the
benchmark's own: a temporary folder, or the Redis that ``CELERY_BROKER_URL`` names.

Baselines, measured in the same run on the same machine: every request the sandbox answered
during the first sync (and during the cycle) is recorded as sent and sent again afterwards with
plain ``requests`` sessions (one for the first sync, one per worker for the cycle), each reply read
whole and nothing done with it — the bare round trips those syncs need, without Cadence's work
(``mail_initial_10k_bare_round_trips_seconds``, ``mail_cycle_500_bare_round_trips_seconds``).
``mail_initial_10k_vs_bare_round_trips_ratio`` and ``mail_cycle_500_mailboxes_vs_bare_round_trips_ratio``
divide by them; the benchmark fails on those ratios (``RATIO_LIMITS``) and on request counts,
never on an absolute time. The sandbox runs in this process for both, so the baseline shares the
interpreter with it as the sync did.

Before any figure is returned the run checks what was synced: 10,000 activities for the big
mailbox (nothing duplicated), 20 more ingested messages for each of the 500 mailboxes, and one
request per mailbox for a round with nothing new.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.bench import support

MESSAGES = 10_000
MESSAGE_DAYS = 80  # inside the default 90-day first-sync window
EXTERNAL_DOMAINS = 200
MAILBOXES = 500
NEW_EACH = 20
WORKERS = 2
QUOTA_UNBOUND = "100000000/60"
LIMIT_IDLE_API_CALLS = 1
# Limits on the time in units of the same requests replayed bare. Measured on SQLite on
# 2026-12-06 (issue 11), on the 2-core machine with other test runs beside it: the first sync 5.4,
# the cycle 15.4 (two worker processes and this one share two cores, so the cycle is the noisier).
# The limits are a little over twice that: a slower machine moves the figure and its baseline
# together, a change that doubles Cadence's own work per message fails.
RATIO_LIMITS = {
    "mail_initial_10k_vs_bare_round_trips_ratio": 12,
    "mail_cycle_500_mailboxes_vs_bare_round_trips_ratio": 35,
}
CYCLE_TIMEOUT_SECONDS = 600
GOOGLE_DOMAIN = "demo.example"
BIG_MAILBOX = "bench.bigmailbox@demo.example"
ADMIN_EMAIL = "admin@demo.example"
# Its own database and files, so it can run beside another benchmark.
DATABASE_NAME = "bench_mail"
WORK_DIR = support.BENCH_DIR / "mail"


def run() -> dict[str, float]:
    if not os.environ.get("CACHE_URL"):
        # One cache for this process and the workers, as production shares Redis (set before
        # Django reads its settings; the directory is created on first write). Room for every
        # mailbox's token and quota counters: the default keeps 300 entries.
        os.environ["CACHE_URL"] = f"filecache://{WORK_DIR / 'cache'}?max_entries=1000000"
    broker_dir = ""
    if not os.environ.get("CELERY_BROKER_URL"):
        # The filesystem transport in a folder of its own, never a developer's var/broker.
        broker_dir = tempfile.mkdtemp(prefix="cadence-bench-broker-")
        os.environ["CELERY_BROKER_DIR"] = broker_dir
    try:
        return support.run_in_bench_database(_measure, name=DATABASE_NAME, work_dir=WORK_DIR)
    finally:
        if broker_dir:
            shutil.rmtree(broker_dir, ignore_errors=True)


def _measure(vendor: str) -> dict[str, float]:
    import logging

    from django.test.utils import override_settings

    from config.celery import app as celery_app
    from integrations.sandbox.control import SandboxControl
    from integrations.sandbox.server import start_sandbox
    from tests.fixtures.sandbox import RunningSandbox

    celery_app.conf.task_always_eager = True  # the first syncs run in this process
    logging.disable(logging.INFO)  # a line per mailbox run would bury the table
    server = start_sandbox("127.0.0.1", 0, WORK_DIR / "certs")
    sandbox = RunningSandbox(
        url=server.url,
        ca_path=str(server.ca_path),
        control=SandboxControl(server.url, server.ca_path),
        server=server,
    )
    try:
        provider_settings = sandbox.provider_settings()
        with override_settings(**provider_settings):
            return _bench(vendor, sandbox, provider_settings)
    finally:
        server.stop()


def _bench(vendor: str, sandbox: Any, provider_settings: dict[str, str]) -> dict[str, float]:
    initial = _initial_10k(sandbox)
    cycle = _cycle_500(sandbox, provider_settings)
    figures: dict[str, float] = {
        "mail_initial_10k_seconds": round(initial["seconds"], 2),
        "mail_incremental_idle_api_calls": initial["idle_api_calls"],
        "mail_initial_10k_quota_floor_seconds": round(initial["quota_floor"], 1),
        "mail_cycle_500_mailboxes_seconds": round(cycle["seconds"], 2),
        "mail_initial_10k_bare_round_trips_seconds": round(initial["bare_seconds"], 2),
        "mail_cycle_500_bare_round_trips_seconds": round(cycle["bare_seconds"], 2),
        "mail_initial_10k_vs_bare_round_trips_ratio": support.ratio(
            initial["seconds"], initial["bare_seconds"]
        ),
        "mail_cycle_500_mailboxes_vs_bare_round_trips_ratio": support.ratio(
            cycle["seconds"], cycle["bare_seconds"]
        ),
    }
    support.print_table(
        f"Mailbox sync, Google through the sandbox ({vendor})",
        ["step", "seconds", "API calls", ""],
        [
            [
                f"first sync of one mailbox of {MESSAGES:,} messages",
                initial["seconds"],
                initial["api_calls"],
                f"{initial['http_requests']} HTTP requests; {initial['activities']:,} activities, "
                f"{initial['people']:,} people, {initial['companies']:,} companies; "
                f"{initial['sql']:,} SQL; peak RSS {initial['peak_mb']:,.0f} MB",
            ],
            [
                f"  its floor under Gmail's per-user quota ({initial['quota'].replace('/', ' units / ')} s)",
                initial["quota_floor"],
                "",
                f"{initial['quota_units']:,} quota units",
            ],
            [
                "  baseline: the same requests replayed bare",
                initial["bare_seconds"],
                "",
                f"{initial['http_requests']} HTTP requests, one session",
            ],
            ["incremental round, idle mailbox", initial["idle_seconds"], initial["idle_api_calls"], ""],
            [
                f"cycle: {MAILBOXES} mailboxes × {NEW_EACH} new messages, {WORKERS} workers",
                cycle["seconds"],
                cycle["api_calls"],
                f"dispatch {cycle['dispatch_seconds']:.1f}s; {cycle['records']:,} records; "
                f"{cycle['activities']:,} new activities; broker {cycle['broker']}",
            ],
            [
                "  baseline: the same requests replayed bare",
                cycle["bare_seconds"],
                "",
                f"{cycle['http_requests']:,} HTTP requests, {WORKERS} sessions",
            ],
            [
                f"idle round of the {MAILBOXES} mailboxes (in-process)",
                cycle["idle_seconds"],
                cycle["idle_http_requests"],
                f"{cycle['idle_http_requests'] / MAILBOXES:.2f} requests per mailbox",
            ],
        ],
    )
    failures = support.ratio_failures(figures, RATIO_LIMITS)
    if initial["idle_api_calls"] != LIMIT_IDLE_API_CALLS:
        failures.append(f"an idle mailbox cost {initial['idle_api_calls']} requests (must be 1)")
    if cycle["idle_http_requests"] != MAILBOXES:
        failures.append(f"an idle round of {MAILBOXES} mailboxes cost {cycle['idle_http_requests']} requests")
    support.fail_on(failures, figures)
    return figures


# --- One big mailbox ----------------------------------------------------------------------------


def _initial_10k(sandbox: Any) -> dict[str, Any]:
    from django.conf import settings
    from django.db import connection as db
    from django.test.utils import override_settings

    from copilot.models import Activity, ActivitySource, Company, Person, Role
    from integrations import governance, selectors
    from integrations.google.limits import QuotaSetting, units_of
    from integrations.models import SyncState
    from integrations.sandbox.google import control as google
    from integrations.sync.fanout import due_states
    from integrations.sync.tasks import sync_row

    org, admin = support.create_org_user(
        "Bench Mail Co", ADMIN_EMAIL, None, role=Role.ADMINISTRATOR, first_name="Ada", last_name="Admin"
    )
    _mailbox_user(org, BIG_MAILBOX, "Bella", "Bigmailbox")
    google.seed(sandbox.control, {"users": [{"email": BIG_MAILBOX, "name": "Bella Bigmailbox"}]})
    t0 = time.perf_counter()
    google.generate_mailbox(
        sandbox.control, BIG_MAILBOX, count=MESSAGES, days=MESSAGE_DAYS, external_domains=EXTERNAL_DOMAINS
    )
    print(f"generated {MESSAGES:,} messages in the sandbox in {time.perf_counter() - t0:.1f}s")
    connection = _dwd_connection(sandbox, org, admin)
    state = next(s for s in due_states(connection) if s.object_name == f"email:{BIG_MAILBOX}")

    sandbox.server.app.request_log.clear()
    google.clear_api_calls(sandbox.state)
    queries = _QueryCounter()
    with (
        override_settings(GMAIL_USER_QUOTA=QUOTA_UNBOUND),
        support.PeakRss() as peak,
        db.execute_wrapper(queries),
        support.SandboxRecorder(sandbox) as recorder,
    ):
        t0 = time.perf_counter()
        result = sync_row(sync_state_id=state.pk)
        seconds = time.perf_counter() - t0
    http_requests = len(sandbox.server.app.request_log.entries())
    units = sum(
        units_of(method.removeprefix("gmail.")) * n
        for method, n in google.api_calls(sandbox.state, BIG_MAILBOX).items()
        if method.startswith("gmail.")
    )
    quota = QuotaSetting.parse(settings.GMAIL_USER_QUOTA)
    quota_floor = max(units - quota.units, 0) / quota.units * quota.seconds
    assert result["stopped"] == "done", result
    assert result["full_sync"], result
    state.refresh_from_db()
    assert state.status == SyncState.Status.IDLE and state.cursor, (state.status, state.last_error)
    sources = ActivitySource.objects.filter(organization=org, user__email=BIG_MAILBOX, kind="email")
    activities = Activity.objects.for_org(org).filter(kind="email")
    assert result["records"] == MESSAGES, result
    assert sources.count() == MESSAGES, sources.count()
    assert activities.count() == MESSAGES == activities.values("dedupe_key").distinct().count()
    bare_seconds = support.replay_seconds(recorder.requests, sandbox.ca_path)

    # One more round with nothing new: Gmail's history.list answers "no changes".
    sandbox.server.app.request_log.clear()
    t0 = time.perf_counter()
    with override_settings(GMAIL_USER_QUOTA=QUOTA_UNBOUND):  # the last minute's 50,000 units
        idle = sync_row(sync_state_id=state.pk)
    idle_seconds = time.perf_counter() - t0
    idle_requests = sandbox.server.app.request_log.entries()
    assert idle["stopped"] == "done" and not idle["full_sync"] and idle["records"] == 0, idle
    if len(idle_requests) != 1:
        print("idle round requests:", [(e["method"], e["path"]) for e in idle_requests])
    # The 500-mailbox cycle runs under its own organisation: this one stops syncing.
    governance.app_toggle(connection_app=selectors.app_row(connection, "email"), enabled=False, actor=admin)
    return {
        "seconds": seconds,
        "api_calls": result["api_calls"],
        "http_requests": http_requests,
        "activities": activities.count(),
        "people": Person.objects.for_org(org).count(),
        "companies": Company.objects.for_org(org).count(),
        "bare_seconds": bare_seconds,
        "sql": queries.count,
        "peak_mb": peak.peak_mb,
        "idle_seconds": idle_seconds,
        "idle_api_calls": len(idle_requests),
        "quota_units": units,
        "quota_floor": quota_floor,
        "quota": settings.GMAIL_USER_QUOTA,
    }


# --- 500 mailboxes, two workers -----------------------------------------------------------------


def _cycle_500(sandbox: Any, provider_settings: dict[str, str]) -> dict[str, Any]:
    from django.db import connections

    from config.celery import app as celery_app
    from copilot.models import Activity, Organization, Role
    from integrations.dispatcher import dispatch_all
    from integrations.models import SyncState
    from integrations.sandbox.google import control as google

    google.generate_users(sandbox.control, count=MAILBOXES)
    emails = [f"user{n:04d}@{GOOGLE_DOMAIN}" for n in range(1, MAILBOXES + 1)]
    with sandbox.state.lock:
        assert all(google.store(sandbox.state).user(email) for email in emails)
    org = Organization.objects.create(name="Bench Fleet Co")
    admin = None
    for n, email in enumerate(emails):
        user = _mailbox_user(org, email, "Rep", f"{n:03d}")
        if n == 0:
            user.role = Role.ADMINISTRATOR
            user.save(update_fields=["role"])
            admin = user
    connection = _dwd_connection(sandbox, org, admin)

    # The first sync of every mailbox (empty ones), in this process.
    t0 = time.perf_counter()
    dispatch_all()
    states = SyncState.objects.filter(connection=connection, kind="email")
    assert states.count() == MAILBOXES, states.count()
    assert not states.exclude(status=SyncState.Status.IDLE).exists()
    assert states.filter(last_success_at__isnull=False).count() == MAILBOXES
    print(f"first sync of {MAILBOXES} empty mailboxes in this process: {time.perf_counter() - t0:.1f}s")

    google.append_messages(sandbox.control, users=emails, count=NEW_EACH)
    activities_before = Activity.objects.for_org(org).count()

    broker = _broker_description()
    if "var/broker" in broker:
        print(f"note: the settings ignore CELERY_BROKER_DIR, so the tasks go through {broker}")
    celery_app.conf.task_always_eager = False
    env = {
        **os.environ,
        **provider_settings,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "DJANGO_SETTINGS_MODULE": support.SETTINGS_MODULE,
    }
    connections.close_all()
    workers = [_start_worker(n, env) for n in range(1, WORKERS + 1)]
    # Records every request the sandbox answers until the workers stop: only the cycle's syncs call it.
    with support.SandboxRecorder(sandbox) as recorder:
        seconds, dispatch_seconds = _run_cycle(workers, states)
    bare_seconds = support.replay_seconds(recorder.requests, sandbox.ca_path, threads=WORKERS)

    runs = [s.stats.get("last_run", {}) for s in states]
    records = sum(r.get("records", 0) for r in runs)
    api_calls = sum(r.get("api_calls", 0) for r in runs)
    assert all(not r.get("full_sync") for r in runs), "a mailbox ran a full sync"
    new_activities = Activity.objects.for_org(org).count() - activities_before
    assert new_activities == MAILBOXES * NEW_EACH, new_activities

    # And a round with nothing new, in this process: one request per mailbox.
    sandbox.server.app.request_log.clear()
    t0 = time.perf_counter()
    dispatch_all()
    idle_seconds = time.perf_counter() - t0
    idle_http_requests = len(sandbox.server.app.request_log.entries())
    return {
        "seconds": seconds,
        "dispatch_seconds": dispatch_seconds,
        "bare_seconds": bare_seconds,
        "http_requests": len(recorder.requests),
        "records": records,
        "api_calls": api_calls,
        "activities": new_activities,
        "broker": broker,
        "idle_seconds": idle_seconds,
        "idle_http_requests": idle_http_requests,
    }


def _run_cycle(workers: list[_Worker], states) -> tuple[float, float]:
    """Dispatch once and wait until every mailbox synced again: (seconds, dispatch seconds)."""
    from django.utils import timezone

    from config.celery import app as celery_app
    from integrations.dispatcher import dispatch_all
    from integrations.models import SyncState

    try:
        for worker in workers:
            worker.wait_ready()
        dispatched_at = timezone.now()
        t0 = time.perf_counter()
        enqueued = dispatch_all()
        dispatch_seconds = time.perf_counter() - t0
        assert enqueued.get("mail") == MAILBOXES, enqueued
        deadline = time.monotonic() + CYCLE_TIMEOUT_SECONDS
        while True:
            done = states.filter(status=SyncState.Status.IDLE, last_success_at__gte=dispatched_at).count()
            if done == MAILBOXES:
                break
            for worker in workers:
                worker.check_alive()
            if time.monotonic() > deadline:
                errors = sorted(
                    {e for e in states.exclude(last_error="").values_list("last_error", flat=True)}
                )
                for worker in workers:
                    worker.print_log_tail()
                raise AssertionError(
                    f"only {done} of {MAILBOXES} mailboxes synced in {CYCLE_TIMEOUT_SECONDS}s; errors: {errors[:3]}"
                )
            time.sleep(0.05)
        seconds = time.perf_counter() - t0
    finally:
        for worker in workers:
            worker.stop()
        celery_app.conf.task_always_eager = True
    return seconds, dispatch_seconds


def _broker_description() -> str:
    from django.conf import settings

    scheme = settings.CELERY_BROKER_URL.split("://", 1)[0]
    if scheme != "filesystem":
        return scheme
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
    folder = options.get("data_folder_in", "")
    where = "temp dir" if folder.startswith(os.environ.get("CELERY_BROKER_DIR") or "//") else folder
    return f"filesystem ({where}, polled every {options.get('polling_interval', 1.0)} s)"


class _Worker:
    def __init__(self, number: int, proc: subprocess.Popen, log_path: Path) -> None:
        self.number, self.proc, self.log_path = number, proc, log_path

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while " ready." not in self.log_path.read_text():
            self.check_alive()
            if time.monotonic() > deadline:
                self.print_log_tail()
                raise RuntimeError(f"worker {self.number} not ready after {timeout:.0f}s")
            time.sleep(0.1)

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            self.print_log_tail()
            raise RuntimeError(f"worker {self.number} exited with {self.proc.returncode}")

    def print_log_tail(self, lines: int = 30) -> None:
        """The end of the worker's log (the work dir goes when the benchmark ends)."""
        print(f"--- worker {self.number}, last {lines} log lines:")
        print("\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:]))

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # the worker and its pool child
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)


def _start_worker(number: int, env: dict[str, str]) -> _Worker:
    log_path = WORK_DIR / f"worker-{number}.log"
    cmd = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "-c",
        "1",
        "--hostname",
        f"bench-mail-{number}-{os.getpid()}@%h",
        "--loglevel",
        "INFO",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            cmd, cwd=support.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    return _Worker(number, proc, log_path)


# --- Setting up ---------------------------------------------------------------------------------


def _mailbox_user(org, email: str, first: str, last: str):
    """A Cadence user whose mailbox the connection syncs (user name = email, A2)."""
    from allauth.account.models import EmailAddress
    from django.utils import timezone

    from copilot.models import User

    user = User.objects.create_user(
        email,
        None,
        organization=org,
        first_name=first,
        last_name=last,
        mailbox_username=email,
        onboarding_finished_at=timezone.now(),
    )
    # Only confirmed addresses are synced (issue 10): confirmed, as the invitation link leaves it.
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def _dwd_connection(sandbox: Any, org, admin):
    """An admin-managed Google connection (domain-wide delegation) to the sandbox's Demo Co domain
    as the connect flow leaves it, email only (the benchmark measures mail)."""
    from integrations import governance, selectors
    from tests.integrations.google.conftest import dwd_connection

    connection = dwd_connection(sandbox, org, admin)
    calendar = selectors.app_row(connection, "calendar")
    governance.app_toggle(connection_app=calendar, enabled=False, actor=admin)
    return connection


class _QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)
