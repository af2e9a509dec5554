"""``make chaos``: kill Celery pool processes and cut the workers' database connections while a
historical Salesforce poll and a Gmail first sync run; then check that nothing was lost or
duplicated and measure how soon the work moved again after each blow.

Everything is its own and removed at the end: a PostgreSQL database ``cadence_chaos_<pid>`` on
the server ``DATABASE_URL`` names (default ``postgres://postgres@127.0.0.1:5432/postgres``), the
first two empty Redis databases from ``--redis-db`` (broker and cache), the provider
sandbox in this process, ``--workers`` real Celery workers (``celery -A config worker --pool
prefork --concurrency 2``) and one real ``celery beat`` with the database scheduler: the 5-minute
dispatcher and every other periodic task run as in production, nothing is called on their behalf.
The processes read the ``local`` settings profile with the sandbox's endpoints, the database and
the broker from the environment. The Gmail quota limiter gets room (``GMAIL_USER_QUOTA``), as in
``bench_mail``: the run measures recovery, not Google's per-user quota.

Scenarios, one after the other:

a. **poll**: ``--leads`` Leads in Salesforce; a historical poll started through Engage's service
   (``poll_start``), as the Admin Portal's button does.
b. **mail**: one mailbox of ``--messages`` messages; the admin-managed Google connection is made
   and its scope set (``governance.connection_set_scope``), which starts the first sync as an
   admin's click does.

While each runs, events at random moments, spread over the work's expected remaining time, each
one only once the work has moved again after the previous one: ``--kills`` times SIGKILL to every
pool process of every worker (the workers' main processes live on and start new ones), and
``--db-blips`` times ``pg_terminate_backend`` on every database connection the workers hold.

Figures (printed, and merged into var/bench/results.json like ``make bench``'s):

- ``chaos_lost``: records in the sandbox that never arrived (Leads without a contact linked by
  their Salesforce id; messages without an activity source in the mailbox).
- ``chaos_duplicated``: rows beyond one per record (contacts per Lead; sources and activities per
  message).
- ``chaos_recovery_seconds``: the longest time from an event to the next committed progress of
  the work: the poll's ``processed`` grows or it is done; the mailbox row's cursor moves, a new
  message is ingested or the sync finishes (a lease taken over is not progress). Per scenario too
  (``chaos_poll_recovery_seconds``, ``chaos_mail_recovery_seconds``), with the scenario's
  duration, the kills and blips done, and ``chaos_unrecovered_events``: events after which the work
  never moved again (it failed, or nothing moved for ``--stall-seconds``).

Exits 1 when anything was lost or duplicated, an event went unrecovered, or a recovery took over
300 s (one dispatch cycle).

    .venv/bin/python -m tests.bench.chaos                                    # the default sizes
    .venv/bin/python -m tests.bench.chaos --leads 5000 --messages 500 --kills 3
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import shutil
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from tests.bench import support

CHAOS_DIR = support.BENCH_DIR / "chaos"  # one folder per run, named after its process id
WORK_DIR = CHAOS_DIR / str(os.getpid())  # the sandbox's certificates, the processes' logs
DATABASE_NAME = "chaos"
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"
SETTINGS_MODULE = "config.settings.local"  # reads every provider setting from the environment
RECOVERY_LIMIT_SECONDS = 300  # one dispatch cycle
QUOTA_UNBOUND = "100000000/60"
ADMIN_EMAIL = "admin@chaos.example"
MAILBOX = "chaos.mailbox@demo.example"  # the sandbox's Google domain: eligible for sync
MESSAGE_DAYS = 80  # inside the default 90-day first-sync window
# application_name of each process's database connections: the blips cut the workers' only.
APP_HARNESS, APP_WORKER, APP_BEAT = "cadence-chaos", "cadence-chaos-worker", "cadence-chaos-beat"
SAMPLE_SECONDS = 0.1
REDIS_DATABASES = 16  # Redis's default number of databases
REDIS_MARKER = "cadence-chaos-run"
PRINT_EVERY_SECONDS = 5.0


def main(argv: list[str]) -> int:
    args = _arguments(argv)
    seed = args.seed if args.seed is not None else random.randrange(1_000_000)
    rng = random.Random(seed)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)  # so the clean-up below runs
    _remove_finished_runs()
    WORK_DIR.mkdir(parents=True)
    print(
        f"chaos: {args.leads:,} Leads with {args.kills} kills and {args.db_blips} database blips, then "
        f"{args.messages:,} messages with {args.mail_kills} kills and {args.db_blips} blips; "
        f"{args.workers} workers x {args.concurrency} processes; random seed {seed}; logs in "
        f"{WORK_DIR.relative_to(support.BASE_DIR)}",
        flush=True,
    )
    redis_urls = _claim_redis(args.redis, args.redis_db)
    run = _Run(args, rng, broker_url=redis_urls[0], cache_url=redis_urls[1])
    try:
        figures = run.run()
    finally:
        run.clean_up()
        _flush_redis(redis_urls)
    from tests.bench.__main__ import RESULTS_PATH, merge_results

    merge_results(figures)
    failures = _failures(figures)
    print(f"\nResults in {RESULTS_PATH.relative_to(support.BASE_DIR)}")
    if failures:
        print("FAILED: " + "; ".join(failures), file=sys.stderr)
        return 1
    print("chaos: nothing lost, nothing duplicated, every blow recovered within one dispatch cycle")
    return 0


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.chaos", description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000, help="Leads the poll reads (default 100,000)")
    parser.add_argument(
        "--messages", type=int, default=10_000, help="messages in the mailbox (default 10,000)"
    )
    parser.add_argument(
        "--kills", type=int, default=10, help="pool-process kills during the poll (default 10)"
    )
    parser.add_argument("--mail-kills", type=int, help="kills during the first sync (default: --kills + 1)")
    parser.add_argument(
        "--db-blips", type=int, default=3, help="backend terminations per scenario (default 3)"
    )
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes (default 2)")
    parser.add_argument("--concurrency", type=int, default=2, help="pool processes per worker (default 2)")
    parser.add_argument(
        "--stall-seconds",
        type=float,
        default=RECOVERY_LIMIT_SECONDS + 30,
        help="give a scenario up after this long without progress (default 330)",
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379", help="Redis server (default local)")
    parser.add_argument(
        "--redis-db",
        type=int,
        default=12,
        help="first Redis database to try (default 12): two empty ones are used",
    )
    parser.add_argument("--seed", type=int, help="random seed (default: a fresh one, printed)")
    parser.add_argument(
        "--only", choices=["poll", "mail"], help="run one scenario (default: both)", default=None
    )
    args = parser.parse_args(argv)
    if args.mail_kills is None:
        args.mail_kills = args.kills + 1
    return args


def _remove_finished_runs() -> None:
    """The folders of earlier runs (kept for their logs) whose process has ended."""
    for folder in CHAOS_DIR.glob("*"):
        if folder.name.isdigit() and not Path(f"/proc/{folder.name}").exists():
            shutil.rmtree(folder, ignore_errors=True)


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


# --- Redis, PostgreSQL, processes -----------------------------------------------------------------


def _claim_redis(base: str, first_db: int) -> tuple[str, str]:
    """The broker's and the cache's Redis URLs: the first two empty databases from ``first_db``
    on, each claimed with a marker key (another run beside this one takes the next ones).
    Everything in them at the end is this run's, so they are emptied then."""
    import redis

    claimed: list[str] = []
    for number in range(first_db, REDIS_DATABASES):
        url = f"{base.rstrip('/')}/{number}"
        with redis.Redis.from_url(url) as client:
            if client.dbsize() == 0 and client.set(REDIS_MARKER, os.getpid(), nx=True):
                claimed.append(url)
        if len(claimed) == 2:
            return claimed[0], claimed[1]
    _flush_redis(claimed)
    raise SystemExit(f"no two empty Redis databases from {first_db} to {REDIS_DATABASES - 1} on {base}")


def _flush_redis(urls: Sequence[str]) -> None:
    import redis

    for url in urls:
        with redis.Redis.from_url(url) as client:
            if client.get(REDIS_MARKER) == str(os.getpid()).encode():
                client.flushdb()


def _postgres_server() -> None:
    """Point ``DATABASE_URL`` at a PostgreSQL server (``pg_terminate_backend`` is the point)."""
    import environ

    environ.Env.read_env(support.BASE_DIR / ".env", overwrite=False)
    configured = os.environ.get("DATABASE_URL", "")
    if not configured or "postgresql" not in environ.Env.db_url_config(configured)["ENGINE"]:
        os.environ["DATABASE_URL"] = DEFAULT_POSTGRES


def _named(url: str, application_name: str) -> str:
    """``url`` whose connections show ``application_name`` in ``pg_stat_activity``."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query=urlencode({"application_name": application_name})))


@dataclass
class Event:
    kind: str  # "kill" | "db blip"
    at: float  # seconds since the scenario started
    what: str
    done_at_event: int
    recovery: float | None = None  # seconds to the next committed progress; None: never


@dataclass
class Outcome:
    name: str
    size: int
    seconds: float = 0.0
    events: list[Event] = field(default_factory=list)
    lost: int = 0
    duplicated: int = 0
    ended: str = ""  # how the work ended, in words
    evidence: str = ""  # the rows' state at the end

    def count(self, kind: str) -> int:
        return sum(1 for e in self.events if e.kind == kind)

    @property
    def recoveries(self) -> list[float]:
        return [e.recovery for e in self.events if e.recovery is not None]

    @property
    def unrecovered(self) -> int:
        return sum(1 for e in self.events if e.recovery is None)

    def figures(self) -> dict[str, float]:
        p = f"chaos_{self.name}"
        return {
            f"{p}_size": self.size,
            f"{p}_seconds": round(self.seconds, 1),
            f"{p}_kills": self.count("kill"),
            f"{p}_db_blips": self.count("db blip"),
            f"{p}_recovery_seconds": round(max(self.recoveries, default=0.0), 1),
            f"{p}_unrecovered_events": self.unrecovered,
            f"{p}_lost": self.lost,
            f"{p}_duplicated": self.duplicated,
        }


class _Run:
    def __init__(
        self, args: argparse.Namespace, rng: random.Random, *, broker_url: str, cache_url: str
    ) -> None:
        self.args, self.rng = args, rng
        self.broker_url, self.cache_url = broker_url, cache_url
        self.server: Any = None
        self.db: support.BenchDatabase | None = None
        self.workers: list[support.CeleryProcess] = []
        self.beat: support.CeleryProcess | None = None

    # -- set-up and clean-up --
    def run(self) -> dict[str, float]:
        from integrations.sandbox.control import SandboxControl
        from integrations.sandbox.server import start_sandbox
        from tests.fixtures.sandbox import RunningSandbox

        self.server = start_sandbox("127.0.0.1", 0, WORK_DIR / "certs")  # needs no Django
        sandbox = RunningSandbox(
            url=self.server.url,
            ca_path=str(self.server.ca_path),
            control=SandboxControl(self.server.url, self.server.ca_path),
            server=self.server,
        )
        _postgres_server()
        # Named after this process: a run beside this one (or a crashed one) keeps its own.
        self.db = support.use_bench_database(f"{DATABASE_NAME}_{os.getpid()}")
        common = {
            **sandbox.provider_settings(),
            "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE,
            "DEBUG": "False",
            "CELERY_BROKER_URL": self.broker_url,
            "CACHE_URL": self.cache_url,
            "GMAIL_USER_QUOTA": QUOTA_UNBOUND,
        }
        os.environ.update(common, DATABASE_URL=_named(self.db.url, APP_HARNESS))
        t0 = time.monotonic()
        support.django_setup()
        logging.disable(logging.INFO)  # this process's own log lines would bury the progress
        seeded = _Seeded.create(sandbox, leads=self.args.leads, messages=self.args.messages)
        print(f"database migrated and sandbox seeded in {time.monotonic() - t0:.0f}s", flush=True)

        env = {**os.environ, **common}
        for n in range(1, self.args.workers + 1):
            name = f"chaos-{n}-{os.getpid()}"
            worker_env = {**env, "DATABASE_URL": _named(self.db.url, APP_WORKER)}
            self.workers.append(
                support.celery_worker(
                    name, worker_env, WORK_DIR / f"worker-{n}.log", concurrency=self.args.concurrency
                )
            )
        beat_env = {**env, "DATABASE_URL": _named(self.db.url, APP_BEAT)}
        self.beat = support.celery_beat("chaos-beat", beat_env, WORK_DIR / "beat.log")
        for worker in self.workers:
            worker.wait_for_log(" ready.")
        self.beat.wait_for_log("beat: Starting")
        print(f"{len(self.workers)} workers and beat running", flush=True)

        outcomes = []
        if self.args.only in (None, "poll"):
            outcomes.append(self._scenario(_Poll(seeded), kills=self.args.kills))
        if self.args.only in (None, "mail"):
            outcomes.append(self._scenario(_Mail(seeded, sandbox), kills=self.args.mail_kills))
        return _report(outcomes)

    def clean_up(self) -> None:
        for process in [*self.workers, *([self.beat] if self.beat else [])]:
            try:
                process.stop(grace=5)
            except Exception as exc:  # keep cleaning up
                print(f"stopping {process.name}: {exc}", file=sys.stderr)
        if self.server is not None:
            self.server.stop()
        if self.db is not None:
            if "django" in sys.modules:
                from django.db import connections

                connections.close_all()
            self.db.drop()

    # -- one scenario --
    def _scenario(self, work: _Work, *, kills: int) -> Outcome:
        plan = ["kill"] * kills + ["db blip"] * self.args.db_blips
        self.rng.shuffle(plan)
        outcome = Outcome(work.name, work.total)
        print(f"\n=== {work.name}: {work.total:,} {work.unit}, {len(plan)} events", flush=True)
        work.start()
        watch = _Watch(work, outcome, stall_seconds=self.args.stall_seconds, check=self._check_processes)
        moved = watch.until_progress(since=work.sample())
        for number, kind in enumerate(plan, start=1):
            if not moved or watch.finished:
                break
            if not watch.pause(self._delay(watch, events_left=len(plan) - number + 1)):
                break  # finished meanwhile
            before = work.sample()
            at = watch.elapsed()
            what = self._kill() if kind == "kill" else self._blip()
            event = Event(kind, at, what, work.done(before))
            outcome.events.append(event)
            print(f"  [{work.name} {at:6.1f}s] event {number}/{len(plan)}: {kind}: {what}", flush=True)
            moved = watch.until_progress(since=before)
            if moved:
                event.recovery = watch.elapsed() - at
                print(
                    f"  [{work.name} {watch.elapsed():6.1f}s] moved again after {event.recovery:.1f}s",
                    flush=True,
                )
        while moved and not watch.finished:
            moved = watch.until_progress(since=work.sample())
        outcome.seconds = watch.elapsed()
        outcome.ended = (
            work.ended() if watch.finished else f"stalled: no progress for {self.args.stall_seconds:.0f}s"
        )
        outcome.lost, outcome.duplicated = work.lost_and_duplicated()
        outcome.evidence = work.evidence()
        print(
            f"=== {work.name}: {outcome.ended} after {outcome.seconds:.1f}s; lost {outcome.lost}, "
            f"duplicated {outcome.duplicated}\n    {outcome.evidence}",
            flush=True,
        )
        if not watch.finished or outcome.lost or outcome.unrecovered:
            for process in [*self.workers, self.beat]:
                print(process.log_tail(15))
        return outcome

    def _delay(self, watch: _Watch, *, events_left: int) -> float:
        """A random moment within the expected remaining time's share of one event."""
        remaining = watch.expected_remaining_seconds()
        return min(max(self.rng.uniform(0.1, 0.9) * remaining / (events_left + 1), 0.2), 60.0)

    def _kill(self) -> str:
        killed = 0
        for worker in self.workers:
            for pid in worker.children():
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed += 1
                except ProcessLookupError:
                    pass
        return f"SIGKILL to {killed} pool processes"

    def _blip(self) -> str:
        """Terminate the workers' backends (retried briefly: a pool process may be between connections)."""
        from django.db import connection

        deadline = time.monotonic() + 2
        while True:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND application_name = %s AND pid <> pg_backend_pid()",
                    [APP_WORKER],
                )
                terminated = cursor.fetchone()[0]
            if terminated or time.monotonic() > deadline:
                return f"terminated {terminated} worker database connections"
            time.sleep(0.05)

    def _check_processes(self) -> None:
        for process in [*self.workers, self.beat]:
            process.check_alive()


class _Watch:
    """Samples the work every 0.1 s: waits for progress, pauses, prints a line every 5 s."""

    def __init__(
        self, work: _Work, outcome: Outcome, *, stall_seconds: float, check: Callable[[], None]
    ) -> None:
        self.work, self.outcome, self.stall_seconds, self.check = work, outcome, stall_seconds, check
        self.t0 = time.monotonic()
        self.last = work.sample()
        self.finished = False
        self.first_progress_at: float | None = None
        self.printed_at = 0.0

    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    def _sample(self) -> bool:
        """Take a sample; whether the work moved since the previous one."""
        self.check()
        current = self.work.sample()
        moved = self.work.advanced(self.last, current)
        self.last = current
        self.finished = self.work.finished(current)
        if moved and self.first_progress_at is None:
            self.first_progress_at = self.elapsed()
        if self.elapsed() - self.printed_at >= PRINT_EVERY_SECONDS:
            self.printed_at = self.elapsed()
            done = self.work.done(current)
            print(
                f"  [{self.work.name} {self.elapsed():6.1f}s] {done:,}/{self.work.total:,} {self.work.unit} "
                f"({self.work.status(current)}); events {len(self.outcome.events)}",
                flush=True,
            )
        return moved

    def until_progress(self, *, since: Any) -> bool:
        """Wait until the work moves past ``since``; False when it ended without (a failed poll)
        or nothing moved for ``stall_seconds``."""
        self.last = since
        deadline = time.monotonic() + self.stall_seconds
        while time.monotonic() < deadline:
            if self._sample():
                return True
            if self.finished:
                return False
            time.sleep(SAMPLE_SECONDS)
        return False

    def pause(self, seconds: float) -> bool:
        """Sleep ``seconds`` while sampling; False when the work finished meanwhile."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self._sample()
            if self.finished:
                return False
            time.sleep(SAMPLE_SECONDS)
        return True

    def expected_remaining_seconds(self) -> float:
        done = self.work.done(self.last)
        if self.first_progress_at is None or done <= 0:
            return 10.0
        # The rate while working: the waits after the events so far are left out.
        waited = sum(e.recovery or 0.0 for e in self.outcome.events)
        rate = done / max(self.elapsed() - self.first_progress_at - waited, 1.0)
        return max(self.work.total - done, 0) / rate


# --- The data and the two pieces of work -----------------------------------------------------------


@dataclass
class _Seeded:
    org: Any
    admin: Any
    mailbox_user: Any
    lead_ids: list[str]

    @classmethod
    def create(cls, sandbox: Any, *, leads: int, messages: int) -> _Seeded:
        """An organisation whose admin connected Salesforce (sync on, statuses following the Lead
        Status picklist), ``leads`` Leads in Salesforce, and a teammate whose Gmail mailbox holds
        ``messages`` messages (the Google connection is made by the mail scenario)."""
        from allauth.account.models import EmailAddress
        from django.utils import timezone

        from copilot.models import Role, User
        from engage.services.crm.configuration import crm_settings_update, crm_statuses_follow_mapping
        from integrations.sandbox.google import control as google
        from tests.integrations.salesforce.conftest import sandbox_connection

        org, admin = support.create_org_user(
            "Chaos Co", ADMIN_EMAIL, None, role=Role.ADMINISTRATOR, first_name="Ada", last_name="Admin"
        )
        sandbox_connection(sandbox, org, admin)
        crm_settings_update(organization=org, actor=admin, sync_enabled=True)
        crm_statuses_follow_mapping(organization=org, actor=admin)
        lead_ids = _generate_leads(sandbox, leads)
        user = User.objects.create_user(
            MAILBOX,
            None,
            organization=org,
            first_name="Max",
            last_name="Mailbox",
            mailbox_username=MAILBOX,
            onboarding_finished_at=timezone.now(),
        )
        EmailAddress.objects.create(user=user, email=MAILBOX, verified=True, primary=True)  # synced only then
        google.seed(sandbox.control, {"users": [{"email": MAILBOX, "name": "Max Mailbox"}]})
        t0 = time.perf_counter()
        google.generate_mailbox(sandbox.control, MAILBOX, count=messages, days=MESSAGE_DAYS)
        print(
            f"generated {messages:,} messages in the sandbox in {time.perf_counter() - t0:.1f}s", flush=True
        )
        return cls(org, admin, user, lead_ids)


def _generate_leads(sandbox: Any, count: int) -> list[str]:
    """Exactly ``count`` live Leads, loaded an hour ago (the demo org's own went to the recycle bin
    before), so the 5-minute incremental sync's lookback never re-reads them (bench_salesforce_sync)."""
    from integrations.sandbox.salesforce import control as sf

    state = sandbox.state
    sf.advance_clock(state, hours=-2)
    demo = [i for i, r in sf.store(state).records["Lead"].items() if not r.get("IsDeleted")]
    for record_id in demo:
        sf.delete_record(state, "Lead", record_id)
    sf.advance_clock(state, hours=1)
    t0 = time.perf_counter()
    ids = sf.generate(state, "Lead", count)
    sf.advance_clock(state, hours=1)  # back to real time
    print(f"generated {count:,} Leads in the sandbox in {time.perf_counter() - t0:.1f}s", flush=True)
    return ids


class _Work:
    """A piece of work the harness starts and watches through the product's rows only."""

    name: str
    unit: str
    total: int

    def start(self) -> None: ...
    def sample(self) -> Any: ...
    def advanced(self, before: Any, after: Any) -> bool: ...
    def finished(self, sample: Any) -> bool: ...
    def done(self, sample: Any) -> int: ...
    def status(self, sample: Any) -> str: ...
    def ended(self) -> str: ...
    def lost_and_duplicated(self) -> tuple[int, int]: ...
    def evidence(self) -> str: ...


class _Poll(_Work):
    """The historical poll: its ``CrmPoll`` row (status, processed, total)."""

    name, unit = "poll", "Leads"

    def __init__(self, seeded: _Seeded) -> None:
        self.seeded = seeded
        self.total = len(seeded.lead_ids)
        self.poll_id: int | None = None

    def start(self) -> None:
        from engage.services.crm.poll import poll_start

        self.poll_id = poll_start(organization=self.seeded.org, sobject="Lead", actor=self.seeded.admin).pk

    def _row(self) -> Any:
        from engage.models import CrmPoll

        return CrmPoll.objects.get(pk=self.poll_id)

    def sample(self) -> tuple[str, int]:
        from engage.models import CrmPoll

        status, processed = CrmPoll.objects.values_list("status", "processed").get(pk=self.poll_id)
        return status, processed

    def advanced(self, before: tuple[str, int], after: tuple[str, int]) -> bool:
        return after[1] > before[1] or (after[0] == "done" and before[0] != "done")

    def finished(self, sample: tuple[str, int]) -> bool:
        return sample[0] in ("done", "failed", "cancelled")

    def done(self, sample: tuple[str, int]) -> int:
        return sample[1]

    def status(self, sample: tuple[str, int]) -> str:
        return sample[0]

    def ended(self) -> str:
        poll = self._row()
        return f"poll {poll.status}" + (f" ({poll.failure_message})" if poll.failure_message else "")

    def lost_and_duplicated(self) -> tuple[int, int]:
        """Leads without a contact linked to their id; contact rows beyond one per linked record."""
        from engage.models import Contact

        rows = list(Contact.objects.filter(organization=self.seeded.org).values_list("crm_type", "crm_id"))
        keys = Counter(rows)
        linked = {crm_id for (crm_type, crm_id) in keys if crm_type == "Lead"}
        lost = len(set(self.seeded.lead_ids) - linked)
        distinct_linked = sum(1 for (_, crm_id) in keys if crm_id)
        return lost, len(rows) - distinct_linked

    def evidence(self) -> str:
        poll = self._row()
        fields = ("status", "total", "processed", "created_count", "updated_count", "error_count", "started_at",
                  "finished_at", "stop_reason", "api_calls")  # fmt: skip
        return "CrmPoll " + ", ".join(f"{f}={getattr(poll, f)}" for f in fields)


class _Mail(_Work):
    """The mailbox's first sync: its email ``SyncState`` row and the activity sources ingested."""

    name, unit = "mail", "messages"

    def __init__(self, seeded: _Seeded, sandbox: Any) -> None:
        from integrations.sandbox.google import control as google

        self.seeded, self.sandbox = seeded, sandbox
        with sandbox.state.lock:
            self.message_ids = set(google.store(sandbox.state).mailbox(MAILBOX).messages)
        self.total = len(self.message_ids)
        self.connection: Any = None

    def start(self) -> None:
        """Connect Google as an admin would and choose the whole organisation: the first sync starts."""
        from integrations import governance, selectors
        from tests.integrations.google.conftest import dwd_connection

        org, admin = self.seeded.org, self.seeded.admin
        self.connection = dwd_connection(self.sandbox, org, admin)
        calendar = selectors.app_row(self.connection, "calendar")
        governance.app_toggle(connection_app=calendar, enabled=False, actor=admin)
        governance.connection_set_scope(
            connection=self.connection, kind="", key="", name="", members=[], actor=admin
        )

    def _state(self) -> Any:
        from integrations.models import SyncState

        return SyncState.objects.filter(connection=self.connection, object_name=f"email:{MAILBOX}").first()

    def _sources(self) -> Any:
        from copilot.models import ActivitySource

        return ActivitySource.objects.filter(user=self.seeded.mailbox_user, kind="email")

    def sample(self) -> tuple[str, int, str, str]:
        state = self._state() if self.connection is not None else None
        if state is None:
            return "", 0, "", "no sync row yet"
        return state.cursor, self._sources().count(), str(state.last_success_at or ""), state.status

    def advanced(self, before: tuple[str, int, str, str], after: tuple[str, int, str, str]) -> bool:
        return after[0] != before[0] or after[1] > before[1] or after[2] != before[2]

    def finished(self, sample: tuple[str, int, str, str]) -> bool:
        return bool(sample[2])

    def done(self, sample: tuple[str, int, str, str]) -> int:
        return sample[1]

    def status(self, sample: tuple[str, int, str, str]) -> str:
        return sample[3]

    def ended(self) -> str:
        state = self._state()
        return (
            f"first sync finished ({state.status})"
            if state and state.last_success_at
            else "first sync unfinished"
        )

    def lost_and_duplicated(self) -> tuple[int, int]:
        """Messages without a source in the mailbox; sources and activities beyond one per message."""
        from copilot.models import Activity

        sources = list(self._sources().values_list("external_id", flat=True))
        arrived = set(sources)
        activities = Activity.objects.for_org(self.seeded.org).filter(kind="email").count()
        duplicated = (len(sources) - len(arrived)) + max(activities - len(arrived), 0)
        return len(self.message_ids - arrived), duplicated

    def evidence(self) -> str:
        state = self._state()
        if state is None:
            return "no SyncState row for the mailbox"
        fields = ("status", "attempts", "next_run_at", "lease_owner", "lease_expires_at", "last_success_at",
                  "updated_at")  # fmt: skip
        text = "SyncState " + ", ".join(f"{f}={getattr(state, f)}" for f in fields)
        return text + f", last_error={state.last_error[:200]!r}, sources={self._sources().count()}"


# --- Report ----------------------------------------------------------------------------------------


def _report(outcomes: list[Outcome]) -> dict[str, float]:
    figures: dict[str, float] = {}
    for outcome in outcomes:
        figures.update(outcome.figures())
        support.print_table(
            f"{outcome.name}: {outcome.size:,} records, {outcome.ended}, {outcome.seconds:.1f}s",
            ["event", "at s", "what", "progress at event", "moved again after s"],
            [
                [
                    f"{n}. {e.kind}",
                    e.at,
                    e.what,
                    f"{e.done_at_event:,}",
                    "never" if e.recovery is None else e.recovery,
                ]
                for n, e in enumerate(outcome.events, start=1)
            ],
        )
    recoveries = [r for o in outcomes for r in o.recoveries]
    figures.update(
        chaos_lost=sum(o.lost for o in outcomes),
        chaos_duplicated=sum(o.duplicated for o in outcomes),
        chaos_recovery_seconds=round(max(recoveries, default=0.0), 1),
        chaos_unrecovered_events=sum(o.unrecovered for o in outcomes),
    )
    print("\nchaos figures:")
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        print(f"  {key.ljust(width)}  {value}")
    return figures


def _failures(figures: dict[str, float]) -> list[str]:
    failures = []
    if figures["chaos_lost"]:
        failures.append(f"{figures['chaos_lost']:g} records lost")
    if figures["chaos_duplicated"]:
        failures.append(f"{figures['chaos_duplicated']:g} rows duplicated")
    if figures["chaos_unrecovered_events"]:
        failures.append(
            f"{figures['chaos_unrecovered_events']:g} events after which the work never moved again"
        )
    if figures["chaos_recovery_seconds"] > RECOVERY_LIMIT_SECONDS:
        failures.append(
            f"recovery took {figures['chaos_recovery_seconds']:g}s (limit {RECOVERY_LIMIT_SECONDS}s)"
        )
    return failures


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
