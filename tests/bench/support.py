"""Pieces every benchmark shares: its own database, Django set up against it, a gunicorn server
on loopback, a bounded HTTP load, the same-run baselines every time figure is divided by, and the
printed table.

A benchmark module runs in a fresh interpreter (``python -m tests.bench`` starts one per module),
so its ``run()`` hands its measurement to ``run_in_bench_database()``, which sets Django up
against a fresh database first (models are imported inside the measurement).
The developer's database is never touched: with ``DATABASE_URL`` pointing at PostgreSQL the
benchmark uses ``cadence_<name>`` on the same server, otherwise a fresh SQLite file.
"""

from __future__ import annotations

import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import environ
import requests

BASE_DIR = Path(__file__).resolve().parent.parent.parent
BENCH_DIR = BASE_DIR / "var" / "bench"
SETTINGS_MODULE = "config.settings.test"


# --- Database -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class BenchDatabase:
    url: str
    vendor: str  # "postgresql" | "sqlite"
    name: str  # the PostgreSQL database's name, or the SQLite file's path

    def drop(self) -> None:
        if self.vendor == "postgresql":
            _pg_admin(self.url, f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        else:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.name}{suffix}").unlink(missing_ok=True)


def _pg_admin(url: str, *statements: str) -> None:
    """Run statements on the server's ``postgres`` database (CREATE/DROP DATABASE need one)."""
    import psycopg

    cfg = environ.Env.db_url_config(url)
    with psycopg.connect(
        host=cfg.get("HOST") or None,
        port=cfg.get("PORT") or None,
        user=cfg.get("USER") or None,
        password=cfg.get("PASSWORD") or None,
        dbname="postgres",
        autocommit=True,
    ) as conn:
        for statement in statements:
            conn.execute(statement)


def use_bench_database(name: str = "bench") -> BenchDatabase:
    """Create an empty benchmark database — ``cadence_<name>`` on PostgreSQL, ``<name>.sqlite3``
    otherwise, so benchmarks with different names can run side by side — and point this process's
    environment at it, together with the settings profile (DEBUG off). Call before ``django_setup()``."""
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)  # what config/settings/base.py reads
    configured = os.environ.get("DATABASE_URL", "")
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    if configured and "postgresql" in environ.Env.db_url_config(configured)["ENGINE"]:
        pg_name = f"cadence_{name}"
        parts = urlsplit(configured)
        db = BenchDatabase(urlunsplit(parts._replace(path=f"/{pg_name}")), "postgresql", pg_name)
        db.drop()
        _pg_admin(configured, f'CREATE DATABASE "{pg_name}"')
    else:
        sqlite_path = BENCH_DIR / f"{name}.sqlite3"
        db = BenchDatabase(f"sqlite:///{sqlite_path}", "sqlite", str(sqlite_path))
        db.drop()
    os.environ.update(DATABASE_URL=db.url, DJANGO_SETTINGS_MODULE=SETTINGS_MODULE, DEBUG="False")
    return db


def run_in_bench_database(
    measure: Callable[[str], dict[str, float]], *, name: str = "bench", work_dir: Path | None = None
) -> dict[str, float]:
    """A benchmark's ``run()``: a fresh database (see ``use_bench_database``), Django set up and
    migrated into it, then ``measure(vendor)``; the database is dropped afterwards. ``work_dir``,
    when given, is created empty before and removed after."""
    db = use_bench_database(name)
    try:
        django_setup()
        if work_dir is not None:
            shutil.rmtree(work_dir, ignore_errors=True)
            work_dir.mkdir(parents=True)
        return measure(db.vendor)
    finally:
        from django.db import connections

        connections.close_all()
        db.drop()
        if work_dir is not None:
            shutil.rmtree(work_dir, ignore_errors=True)


def django_setup() -> None:
    """``django.setup()`` and ``migrate`` into the (empty) benchmark database."""
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)


# --- Server -------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn_server(
    *, workers: int = 2, ready_path: str = "/accounts/login/", startup_seconds: float = 30
) -> Iterator[str]:
    """Serve ``config.wsgi`` on a free loopback port with this process's environment (so the
    benchmark database and settings profile); yields the base URL. Stopped on exit."""
    port = _free_port()
    log_path = BENCH_DIR / "gunicorn.log"
    cmd = [
        str(Path(sys.executable).parent / "gunicorn"),
        "config.wsgi",
        "--workers",
        str(workers),
        "--bind",
        f"127.0.0.1:{port}",
        # The default control socket lives in ~/.gunicorn and would clash with another server.
        "--no-control-socket",
        "--error-logfile",
        str(log_path),
    ]
    base_url = f"http://127.0.0.1:{port}"
    with log_path.open("w") as log:
        proc = subprocess.Popen(cmd, cwd=BASE_DIR, env=os.environ.copy(), stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + startup_seconds
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {proc.returncode}; see {log_path}")
            try:
                if requests.get(base_url + ready_path, timeout=2).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):  # not listening, or a worker still booting
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn not ready after {startup_seconds}s; see {log_path}")
            time.sleep(0.2)
        yield base_url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def login(base_url: str, *, email: str, password: str) -> requests.Session:
    """Sign in through the real allauth form; the session's cookies then act as that user."""
    session = requests.Session()
    response = session.get(f"{base_url}/accounts/login/", timeout=10)
    response.raise_for_status()
    response = session.post(
        f"{base_url}/accounts/login/",
        data={"csrfmiddlewaretoken": session.cookies["csrftoken"], "login": email, "password": password},
        headers={"Referer": f"{base_url}/accounts/login/"},
        allow_redirects=False,
        timeout=10,
    )
    if response.status_code != 302 or "sessionid" not in session.cookies:
        raise RuntimeError(f"login as {email} failed: HTTP {response.status_code}")
    return session


# --- Load ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile of the per-request latencies."""
        ordered = sorted(self.latencies_ms)
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


Check = Callable[[requests.Response], str | None]  # an error message, or None when fine


def run_load(
    url: str,
    *,
    cookies: requests.cookies.RequestsCookieJar,
    check: Check,
    total: int = 400,
    threads: int = 4,
    warmup: int = 10,
    timeout: float = 30,
) -> LoadResult:
    """GET ``url`` ``total`` times from ``threads`` keep-alive sessions (after ``warmup`` requests
    each) and time every request. Every response goes through ``check``; any failure raises."""
    per_thread = [total // threads + (1 if i < total % threads else 0) for i in range(threads)]
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors: list[str] = []
    start_line = threading.Barrier(threads + 1)

    def get(session: requests.Session) -> tuple[float, str | None]:
        t0 = time.perf_counter()
        try:
            response = session.get(url, allow_redirects=False, timeout=timeout)
        except requests.RequestException as exc:
            return time.perf_counter() - t0, f"{type(exc).__name__}: {exc}"
        return time.perf_counter() - t0, check(response)

    def worker(index: int) -> None:
        with requests.Session() as session:
            session.cookies.update(cookies)
            for _ in range(warmup):
                _, error = get(session)
                if error:
                    errors.append(f"warm-up: {error}")
            start_line.wait(timeout=300)
            for _ in range(per_thread[index]):
                seconds, error = get(session)
                latencies[index].append(seconds * 1000)
                if error:
                    errors.append(error)

    pool = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for thread in pool:
        thread.start()
    start_line.wait(timeout=300)
    t0 = time.perf_counter()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - t0
    if errors:
        raise RuntimeError(f"{len(errors)} bad responses from {url}, first: {errors[0]}")
    return LoadResult(total, elapsed, [ms for chunk in latencies for ms in chunk])


def expect_page(title: str, *contains: str) -> Check:
    """A check that the response is the real page: HTTP 200 with the page title in ``<title>``."""
    needles = [f"<title>{title} · Cadence</title>", *contains]

    def check(response: requests.Response) -> str | None:
        if response.status_code != 200:
            return f"HTTP {response.status_code} (Location: {response.headers.get('Location', '-')})"
        missing = [n for n in needles if n not in response.text]
        return f"page lacks {missing[0]!r}" if missing else None

    return check


# --- Data -------------------------------------------------------------------------------------
def create_org_user(org_name: str, email: str, password: str | None, **fields):
    """A new organisation (it gets the default statuses) and one user in it who has finished
    onboarding; with a password, they also confirmed their address (signing in requires it).
    Returns ``(org, user)``.
    ``fields`` go to ``create_user`` (role, names...)."""
    from allauth.account.models import EmailAddress
    from django.utils import timezone

    from copilot.models import Organization, User

    org = Organization.objects.create(name=org_name)
    user = User.objects.create_user(
        email, password, organization=org, onboarding_finished_at=timezone.now(), **fields
    )
    if password:
        EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return org, user


# --- Queries ------------------------------------------------------------------------------------
def page_queries(user, path: str, check: Check) -> list[str]:
    """The SQL of one in-process request (test client) for ``path`` after a warm-up request,
    signed in as ``user``; the response must pass ``check`` (see ``expect_page``)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(SERVER_NAME="127.0.0.1")  # an ALLOWED_HOSTS name; no test environment here
    client.force_login(user)
    client.get(path)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    error = check(response)
    if error:
        raise RuntimeError(f"{path}: {error}")
    return [q["sql"] for q in ctx.captured_queries]


class PeakRss:
    """The largest resident set size of this process while the block runs, in MB: /proc/self/status
    VmRSS sampled every ``interval`` seconds, and VmHWM after resetting it through
    /proc/self/clear_refs when the kernel allows (the larger of the two counts)."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.sampled_kb = 0
        self.hwm_kb = 0
        self._stop = threading.Event()
        self._hwm_reset = False

    def __enter__(self) -> PeakRss:
        try:  # "5" resets VmHWM to the current RSS (Linux >= 4.0), making it this block's peak
            Path("/proc/self/clear_refs").write_text("5")
            self._hwm_reset = True
        except OSError:
            pass
        self.sampled_kb = _status_kb("VmRSS")
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.sampled_kb = max(self.sampled_kb, _status_kb("VmRSS"))

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.sampled_kb = max(self.sampled_kb, _status_kb("VmRSS"))
        if self._hwm_reset:
            self.hwm_kb = _status_kb("VmHWM")

    @property
    def peak_mb(self) -> float:
        return max(self.sampled_kb, self.hwm_kb) / 1024

    @property
    def how(self) -> str:
        sampled = f"VmRSS sampled every {self.interval * 1000:.0f} ms: {self.sampled_kb / 1024:,.0f} MB"
        if self._hwm_reset:
            return f"{sampled}; VmHWM since reset: {self.hwm_kb / 1024:,.0f} MB"
        return sampled


def _status_kb(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


# --- Output -------------------------------------------------------------------------------------
def print_table(title: str, header: list[str], rows: list[list[object]]) -> None:
    cells = [header, *[[_fmt(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    print(f"\n{title}")
    for n, row in enumerate(cells):
        print(
            "  "
            + "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            print("  " + "  ".join("-" * w for w in widths))


def _fmt(value: object) -> str:
    return f"{value:,.1f}" if isinstance(value, float) else str(value)


# --- Baselines ----------------------------------------------------------------------------------
# A time figure alone says as much about the machine as about Cadence: the same run on a CPU that
# runs a plain Python loop 2.5x slower gave 2.5-3.5x the times. So every time figure is divided
# by a baseline measured in the same run on the same machine, named
# ``<figure>_vs_<baseline>_ratio`` (how many times the baseline's time; lower is better), and the
# benchmarks fail on those ratios and on counts, never on an absolute time.
CPU_LOOP_ADDITIONS = 10_000_000
TRIVIAL_PATH = "/"  # the landing page, signed out: the full middleware stack, a 302, no SQL


def cpu_loop_seconds(repeats: int = 3) -> float:
    """``bench_cpu_loop_seconds``: the best of ``repeats`` runs of a fixed pure-Python loop
    (10 million additions) — the machine's yardstick for comparing absolute figures."""
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        total = 0
        for i in range(CPU_LOOP_ADDITIONS):
            total += i
        best = min(best, time.perf_counter() - t0)
    return best


def ratio(figure: float, baseline: float) -> float:
    """``figure`` in units of ``baseline`` (both seconds, or both milliseconds), two decimals."""
    return round(figure / baseline, 2)


def ratio_failures(figures: dict[str, float], limits: dict[str, float]) -> list[str]:
    """A message for every ratio in ``figures`` above its limit in ``limits``."""
    return [
        f"{key} is {figures[key]:.2f} (limit {limit:g})"
        for key, limit in limits.items()
        if key in figures and figures[key] > limit
    ]


class LimitsExceeded(AssertionError):
    """A benchmark over its limits; it carries the figures so the run still records them."""

    def __init__(self, failures: list[str], figures: dict[str, float]) -> None:
        super().__init__("; ".join(failures))
        self.figures = figures


def fail_on(failures: list[str], figures: dict[str, float]) -> None:
    if failures:
        raise LimitsExceeded(failures, figures)


def best_of(repeats: int, measure: Callable[[], float]) -> float:
    """The smallest of ``repeats`` measurements: a short baseline's noise only ever adds time."""
    return min(measure() for _ in range(repeats))


def check_trivial_page() -> None:
    """The baseline page is what it claims: signed out, ``/`` redirects to the sign-in page
    without one SQL query (in-process, before the server starts)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(SERVER_NAME="127.0.0.1")
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(TRIVIAL_PATH)
    error = _trivial_redirect(response)
    if error or ctx.captured_queries:
        raise RuntimeError(f"{TRIVIAL_PATH} is no trivial page: {error or ctx.captured_queries}")


def _trivial_redirect(response: Any) -> str | None:
    location = response.headers.get("Location", "")
    if response.status_code != 302 or "/accounts/login/" not in location:
        return f"HTTP {response.status_code} (Location: {location or '-'}), not the redirect to sign in"
    return None


def trivial_page_row(trivial: LoadResult, *, blanks: int = 2) -> list[Any]:
    """The trivial page's line in a benchmark's table (``blanks`` empty cells where the pages have
    their sizes and query counts)."""
    return [
        "trivial page (/ signed out)",
        *[""] * blanks,
        trivial.rps,
        trivial.percentile(50),
        trivial.percentile(95),
    ]


def page_load_report(
    *,
    title: str,
    sizes: tuple[int, int],
    queries: tuple[list[str], list[str]],
    pages: Sequence[tuple[str, str, str]],
    load: dict[str, LoadResult],
    trivial: LoadResult,
    prefix: str,
    limits: dict[str, float],
) -> dict[str, float]:
    """The end of a page benchmark: its table (each page's req/s, p50 and p95; the first page's
    query counts at both sizes) and its figures — ``<prefix>_queries`` (at the larger size), the
    trivial page's p95 and, for each ``(key, label, figure name)`` of ``pages``, the page's p95 and
    its ratio to the trivial page's. Fails the run on the ratios over ``limits``."""
    small, large = queries
    first = pages[0][0]
    print_table(
        title,
        ["page", f"queries@{sizes[0]:,}", f"queries@{sizes[1]:,}", "req/s", "p50 ms", "p95 ms"],
        [
            [
                label,
                len(small) if key == first else "",
                len(large) if key == first else "",
                load[key].rps,
                load[key].percentile(50),
                load[key].percentile(95),
            ]
            for key, label, _ in pages
        ]
        + [trivial_page_row(trivial)],
    )
    base = trivial.percentile(95)
    figures: dict[str, float] = {
        f"{prefix}_queries": len(large),
        f"{prefix}_trivial_page_p95_ms": round(base, 1),
    }
    for key, _label, name in pages:
        p95 = load[key].percentile(95)
        figures[f"{name}_p95_ms"] = round(p95, 1)
        figures[f"{name}_p95_vs_trivial_page_ratio"] = ratio(p95, base)
    fail_on(ratio_failures(figures, limits), figures)
    return figures


def trivial_page_load(base_url: str, *, total: int, threads: int) -> LoadResult:
    """The same load as a page's (``total`` requests from ``threads`` clients) on the trivial
    page served by the same gunicorn: the p95 every page's p95 is divided by."""
    return run_load(
        base_url + TRIVIAL_PATH,
        cookies=requests.cookies.RequestsCookieJar(),
        check=_trivial_redirect,
        total=total,
        threads=threads,
    )


def bare_bulk_load_seconds(connection: Any, columns: int, rows: Iterable[Sequence[object]]) -> float:
    """Seconds the database takes to load ``rows`` into a bare scratch table of ``columns`` text
    columns (no index, no constraint): ``COPY ... FROM STDIN`` on PostgreSQL, ``executemany`` on
    SQLite. The floor no row-by-row writer of the same rows can beat."""
    from django.db import transaction

    names = [f"c{i}" for i in range(columns)]
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_bare_load")
        cursor.execute(f"CREATE TABLE bench_bare_load ({', '.join(f'{n} text' for n in names)})")
    try:
        t0 = time.perf_counter()
        if connection.vendor == "postgresql":  # autocommit: COPY is one statement, one transaction
            raw = connection.connection  # the psycopg 3 connection
            with (
                raw.cursor() as cursor,
                cursor.copy(f"COPY bench_bare_load ({', '.join(names)}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
        else:
            placeholders = ", ".join("%s" for _ in names)
            with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
                cursor.executemany(f"INSERT INTO bench_bare_load VALUES ({placeholders})", rows)
        seconds = time.perf_counter() - t0
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE bench_bare_load")
    return seconds


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    status: int


class SandboxRecorder:
    """Every request the in-process sandbox answers while the block runs, as sent (credentials
    included, kept in memory only), so ``replay_seconds`` can send the same requests again."""

    SKIP_HEADERS = frozenset({"host", "content-length", "connection", "accept-encoding"})

    def __init__(self, sandbox: Any) -> None:
        self.app = sandbox.server.app
        self.base_url = sandbox.url
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()

    def __enter__(self) -> SandboxRecorder:
        handle = self.app.handle

        def recording(request: Any) -> Any:
            response = handle(request)
            query = f"?{urlencode(request.query, doseq=True)}" if request.query else ""
            headers = {k: v for k, v in request.headers.items() if k.lower() not in self.SKIP_HEADERS}
            entry = RecordedRequest(
                request.method, self.base_url + request.path + query, headers, request.body, response.status
            )
            with self._lock:
                self.requests.append(entry)
            return response

        self.app.handle = recording
        return self

    def __exit__(self, *exc: object) -> None:
        del self.app.handle  # the class's method again


def replay_seconds(recorded: list[RecordedRequest], ca_path: str, *, threads: int = 1) -> float:
    """The bare round trips: the same requests sent again to the sandbox with plain ``requests``
    keep-alive sessions (``threads`` of them sharing the list, as that many workers did), each
    response read whole and nothing done with it. Replies whose status differs from the
    original's are counted and printed (a replay that fails fast would flatter the baseline)."""
    queues = [recorded[i::threads] for i in range(threads)]
    mismatches: list[str] = []
    start_line = threading.Barrier(threads + 1)

    def worker(batch: list[RecordedRequest]) -> None:
        with requests.Session() as session:
            start_line.wait(timeout=60)
            for req in batch:
                # verify per request: a REQUESTS_CA_BUNDLE variable would override Session.verify
                response = session.request(
                    req.method,
                    req.url,
                    headers=req.headers,
                    data=req.body or None,
                    timeout=60,
                    verify=ca_path,
                )
                _ = response.content
                if response.status_code != req.status:
                    mismatches.append(f"{req.method} {req.url}: {response.status_code}, was {req.status}")

    pool = [threading.Thread(target=worker, args=(batch,), daemon=True) for batch in queues]
    for thread in pool:
        thread.start()
    start_line.wait(timeout=60)
    t0 = time.perf_counter()
    for thread in pool:
        thread.join()
    seconds = time.perf_counter() - t0
    if mismatches:
        raise RuntimeError(
            f"{len(mismatches)} replayed requests answered differently, first: {mismatches[0]}"
        )
    return seconds


# --- Celery processes ---------------------------------------------------------------------------
class CeleryProcess:
    """A ``celery -A config <command>`` process (a worker's main process, or beat) in a process
    group of its own, its output in ``log_path``, run with ``env`` (the benchmark database, broker
    and provider settings, as production processes read them). It dies with this process even
    when this one is killed (Linux ``PR_SET_PDEATHSIG``); ``stop()`` ends it and its children."""

    def __init__(self, name: str, args: Sequence[str], env: dict[str, str], log_path: Path) -> None:
        self.name, self.log_path = name, log_path
        cmd = [sys.executable, "-m", "celery", "-A", "config", *args]
        with log_path.open("w") as log:
            self.proc = subprocess.Popen(
                cmd,
                cwd=BASE_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_for_log(self, marker: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while marker not in self.log_path.read_text(errors="replace"):
            self.check_alive()
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name}: no {marker!r} after {timeout:.0f}s\n{self.log_tail()}")
            time.sleep(0.1)

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.proc.returncode}\n{self.log_tail()}")

    def children(self) -> list[int]:
        """The process ids whose parent is this one (a prefork worker's pool processes)."""
        return child_pids(self.proc.pid)

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return f"--- {self.name}, last {lines} log lines:\n" + "\n".join(text.splitlines()[-lines:])

    def stop(self, grace: float = 10) -> None:
        """SIGTERM to the group (a warm shutdown waits for running tasks), SIGKILL after ``grace``."""
        if self.proc.poll() is None:
            _signal_group(self.proc.pid, signal.SIGTERM)
            with suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=grace)
        _signal_group(self.proc.pid, signal.SIGKILL)  # the pool processes too, when the main one is gone
        if self.proc.poll() is None:
            self.proc.wait(timeout=10)


def celery_worker(
    name: str, env: dict[str, str], log_path: Path, *, concurrency: int = 2, pool: str = "prefork"
) -> CeleryProcess:
    """A worker consuming the default queue (what the product enqueues on)."""
    return CeleryProcess(
        name,
        ["worker", "--pool", pool, "--concurrency", str(concurrency), "--hostname", f"{name}@%h",
         "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        env,
        log_path,
    )  # fmt: skip


def celery_beat(name: str, env: dict[str, str], log_path: Path) -> CeleryProcess:
    """``celery beat`` with the database scheduler, as production runs it (README)."""
    work = log_path.parent
    return CeleryProcess(
        name,
        ["beat", "--scheduler", "django_celery_beat.schedulers:DatabaseScheduler",
         "--pidfile", str(work / f"{name}.pid"), "--schedule", str(work / f"{name}-schedule"),
         "--loglevel", "INFO"],
        env,
        log_path,
    )  # fmt: skip


def child_pids(parent: int) -> list[int]:
    """The live processes whose parent is ``parent`` (read from /proc, Linux)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        fields = stat.rsplit(")", 1)[-1].split()  # after "pid (comm)": state, ppid, ...
        if int(fields[1]) == parent and fields[0] not in ("Z", "X"):
            found.append(int(entry.name))
    return sorted(found)


def _signal_group(pgid: int, sig: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def _die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:  # not glibc Linux: stop() still ends it
        pass
