"""Pieces every benchmark shares: its own database, Django set up against it, a gunicorn server
on loopback, a bounded HTTP load and the printed table.

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
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

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
    onboarding; returns ``(org, user)``. ``fields`` go to ``create_user`` (role, names...)."""
    from django.utils import timezone

    from copilot.models import Organization, User

    org = Organization.objects.create(name=org_name)
    user = User.objects.create_user(
        email, password, organization=org, onboarding_finished_at=timezone.now(), **fields
    )
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
