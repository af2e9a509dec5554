"""The Salesforce sync, Engage side (G5, G6): a historical poll of 100,000 Leads, then an
incremental cycle with 1,000 changed Leads, then an idle cycle — through the real product code:
the provider sandbox's Salesforce emulator over loopback HTTPS (in this process), a connection
made through its OAuth consent flow, the sync engine of ``integrations.salesforce.sync`` and
Engage's handler writing contacts. Figures:

- ``sf_poll_100k_seconds``: wall time of the poll task's body (``poll_run``: count, 50 query
  pages, every record applied).
- ``sf_poll_100k_api_calls``: REST calls the sandbox answered during the poll — at most 55
  (50 pages + describe, count, limits).
- ``sf_poll_100k_peak_mb``: the largest resident set size of this process during the poll
  (``support.PeakRss``) — limit 400 MB on PostgreSQL. The sandbox runs in this process too,
  so its share is included: an upper bound of the worker's.
- ``sf_poll_100k_db_queries``: SQL statements the poll ran (``connection.execute_wrapper``).
- ``sf_ingest_rows_per_s``: records ÷ seconds spent inside the handler's ``apply`` (API waits
  excluded).
- ``sf_incremental_1k_changes_seconds`` / ``_api_calls``: one incremental cycle of Lead after
  1,000 Leads changed in Salesforce.
- ``sf_incremental_no_changes_api_calls``: one cycle with nothing changed — at most 1.

Baselines, measured in the same run on the same machine, so the figures mean the same on a slower
machine; the benchmark fails on the ratios (``RATIO_LIMITS``), on API call counts and on the peak
RSS, never on an absolute time:

- ``sf_bare_copy_100k_seconds`` (best of three): the same 100,000 Leads' mapped fields loaded into
  a bare scratch table — ``COPY`` on PostgreSQL, ``executemany`` in one transaction on SQLite.
  ``sf_ingest_vs_bare_copy_ratio`` is the handler's ``apply`` time over it.
- ``sf_poll_100k_bare_round_trips_seconds`` / ``sf_incremental_1k_bare_round_trips_seconds``: every
  request the sandbox answered during the poll (the incremental cycle) sent again as recorded with
  a plain ``requests`` session, replies read whole and nothing done with them.
  ``sf_poll_100k_vs_bare_round_trips_ratio`` and
  ``sf_incremental_1k_changes_vs_bare_round_trips_ratio`` divide by them.

Before any figure is returned the run checks: 100,000 contacts linked to the 100,000 Leads (no
duplicates, values as Salesforce has them), the 1,000 changes visible, nothing else written.
"""

from __future__ import annotations

import random
import time
from typing import Any

from tests.bench import support

LEADS = 100_000
CHANGES = 1_000
LIMIT_POLL_API_CALLS = 55
LIMIT_PEAK_MB = 400  # memory is the same on a slower machine: an absolute limit still means something
# Limits on the time in units of a same-run baseline. Measured on SQLite on 2026-12-06 (issue 11),
# on the 2-core machine with other test runs beside it: ingest 33.7x a bare executemany of the
# rows (4,079 rows/s that run; README: about 11,000-12,000 on an idle machine, where the ratio
# is about the same), the poll 6.1x its bare round trips, 1,000 changes 5.4x theirs (a single
# request of ~0.2 s: the noisiest). The limits are about twice that: the old absolute floor
# (10,000 rows/s) failed on a machine whose CPU is 2.5x slower although nothing had changed.
RATIO_LIMITS = {
    "sf_ingest_vs_bare_copy_ratio": 70,
    "sf_poll_100k_vs_bare_round_trips_ratio": 13,
    "sf_incremental_1k_changes_vs_bare_round_trips_ratio": 12,
}
BASELINE_REPEATS = 3
# The Lead fields the default mapping reads: what the bare load writes per row.
LEAD_FIELDS = ("Id", "FirstName", "LastName", "Email", "Company", "Title", "City", "Status",
               "HasOptedOutOfEmail", "Phone", "MobilePhone", "Country", "Website", "SystemModstamp")  # fmt: skip
# Its own database and files, so it can run beside another benchmark.
DATABASE_NAME = "bench_sf"
WORK_DIR = support.BENCH_DIR / "salesforce_sync"


def run() -> dict[str, float]:
    return support.run_in_bench_database(_measure, name=DATABASE_NAME, work_dir=WORK_DIR)


def _measure(vendor: str) -> dict[str, float]:
    from django.test.utils import override_settings

    from config.celery import app as celery_app
    from integrations.sandbox.control import SandboxControl
    from integrations.sandbox.server import start_sandbox
    from tests.fixtures.sandbox import RunningSandbox

    celery_app.conf.task_always_eager = True  # nothing is queued for a worker that is not there
    server = start_sandbox("127.0.0.1", 0, WORK_DIR / "certs")
    sandbox = RunningSandbox(
        url=server.url,
        ca_path=str(server.ca_path),
        control=SandboxControl(server.url, server.ca_path),
        server=server,
    )
    try:
        with override_settings(
            PROVIDER_CA_BUNDLE=sandbox.ca_path,
            SALESFORCE_LOGIN_URL=sandbox.url,
            SALESFORCE_CLIENT_ID="cadence-sandbox-client",
            SALESFORCE_CLIENT_SECRET="cadence-sandbox-secret",
        ):
            return _bench(vendor, sandbox)
    finally:
        server.stop()


def _bench(vendor: str, sandbox: Any) -> dict[str, float]:
    from django.db import connection

    from engage.models import Contact, CrmPoll
    from engage.services.crm import poll as crm_poll
    from engage.services.crm.sync_handler import handler

    org, admin, sf_connection = _seed(sandbox)
    lead_ids = _salesforce_leads(sandbox)

    # --- The historical poll ------------------------------------------------------------------
    poll = _queued_poll(org, admin)
    apply_timer = _time_calls(handler, "apply")
    calls_before = _api_calls(sandbox)
    queries = _QueryCounter()
    with (
        support.PeakRss() as peak,
        connection.execute_wrapper(queries),
        support.SandboxRecorder(sandbox) as poll_requests,
    ):
        t0 = time.perf_counter()
        crm_poll.poll_run(poll_id=poll.pk)
        poll_seconds = time.perf_counter() - t0
    poll_api_calls = _api_calls(sandbox) - calls_before
    poll.refresh_from_db()
    assert poll.status == CrmPoll.Status.DONE, (poll.status, poll.failure_message)
    assert (poll.total, poll.processed, poll.created_count) == (LEADS, LEADS, LEADS), (
        poll.total,
        poll.processed,
        poll.created_count,
    )
    assert poll.error_count == 0, poll.errors[:5]
    linked = Contact.objects.filter(organization=org, crm_type="Lead")
    assert linked.count() == LEADS == linked.values("crm_id").distinct().count()
    assert Contact.objects.filter(organization=org).count() == LEADS  # nothing duplicated
    assert set(linked.values_list("crm_id", flat=True)) == set(lead_ids)
    _check_values(sandbox, org, random.Random(1).sample(lead_ids, 25))
    apply_seconds = apply_timer.seconds
    ingest_rows_per_s = LEADS / apply_seconds
    poll_bare_seconds = support.replay_seconds(poll_requests.requests, sandbox.ca_path)
    rows = _lead_rows(sandbox, lead_ids)
    copy_seconds = support.best_of(
        BASELINE_REPEATS, lambda: support.bare_bulk_load_seconds(connection, len(LEAD_FIELDS), rows)
    )

    # --- One incremental cycle with 1,000 changes, then an idle one ---------------------------
    changed = _change_leads(sandbox, lead_ids)
    apply_timer.reset()
    calls_before = _api_calls(sandbox)
    with support.SandboxRecorder(sandbox) as incremental_requests:
        t0 = time.perf_counter()
        first = _incremental(sf_connection)
        incremental_seconds = time.perf_counter() - t0
    incremental_api_calls = _api_calls(sandbox) - calls_before
    incremental_bare_seconds = support.replay_seconds(incremental_requests.requests, sandbox.ca_path)
    titles = dict(Contact.objects.filter(organization=org, crm_id__in=changed).values_list("crm_id", "title"))
    assert len(titles) == CHANGES and set(titles.values()) == {"Changed in Salesforce"}, first
    assert Contact.objects.filter(organization=org).count() == LEADS
    assert Contact.objects.filter(organization=org, title="Changed in Salesforce").count() == CHANGES

    calls_before = _api_calls(sandbox)
    idle = _incremental(sf_connection)
    idle_api_calls = _api_calls(sandbox) - calls_before
    assert Contact.objects.filter(organization=org).count() == LEADS

    figures: dict[str, float] = {
        "sf_poll_100k_seconds": round(poll_seconds, 2),
        "sf_poll_100k_api_calls": poll_api_calls,
        "sf_poll_100k_peak_mb": round(peak.peak_mb, 1),
        "sf_poll_100k_db_queries": queries.count,
        "sf_ingest_rows_per_s": round(ingest_rows_per_s),
        "sf_incremental_1k_changes_seconds": round(incremental_seconds, 2),
        "sf_incremental_1k_changes_api_calls": incremental_api_calls,
        "sf_incremental_no_changes_api_calls": idle_api_calls,
        "sf_bare_copy_100k_seconds": round(copy_seconds, 3),
        "sf_poll_100k_bare_round_trips_seconds": round(poll_bare_seconds, 2),
        "sf_incremental_1k_bare_round_trips_seconds": round(incremental_bare_seconds, 3),
        "sf_ingest_vs_bare_copy_ratio": support.ratio(apply_seconds, copy_seconds),
        "sf_poll_100k_vs_bare_round_trips_ratio": support.ratio(poll_seconds, poll_bare_seconds),
        "sf_incremental_1k_changes_vs_bare_round_trips_ratio": support.ratio(
            incremental_seconds, incremental_bare_seconds
        ),
    }
    bare_copy = "COPY" if vendor == "postgresql" else "executemany"
    support.print_table(
        f"Salesforce sync, Engage side ({vendor}; {LEADS:,} Leads in the sandbox)",
        ["step", "seconds", "API calls", ""],
        [
            [
                "historical poll of every Lead",
                poll_seconds,
                poll_api_calls,
                f"{queries.count:,} SQL; apply {apply_seconds:.1f}s = {ingest_rows_per_s:,.0f} rows/s; "
                f"peak RSS {peak.peak_mb:,.0f} MB",
            ],
            [
                "  baseline: the poll's requests replayed bare",
                poll_bare_seconds,
                len(poll_requests.requests),
                f"HTTP requests; bare {bare_copy} of the {LEADS:,} rows {copy_seconds:.2f}s (best of 3)",
            ],
            ["incremental: 1,000 Leads changed", incremental_seconds, incremental_api_calls, _summary(first)],
            [
                "  baseline: its requests replayed bare",
                incremental_bare_seconds,
                len(incremental_requests.requests),
                "HTTP requests",
            ],
            ["incremental: nothing changed", "", idle_api_calls, _summary(idle)],
        ],
    )
    failures = support.ratio_failures(figures, RATIO_LIMITS)
    if poll_api_calls > LIMIT_POLL_API_CALLS:
        failures.append(f"the poll made {poll_api_calls} API calls (limit {LIMIT_POLL_API_CALLS})")
    if idle_api_calls > 1:
        failures.append(f"an idle cycle made {idle_api_calls} API calls (limit 1 per object)")
    if vendor == "postgresql" and peak.peak_mb > LIMIT_PEAK_MB:  # PostgreSQL's, the production database
        failures.append(f"peak RSS was {peak.peak_mb:.0f} MB (limit {LIMIT_PEAK_MB} MB)")
    support.fail_on(failures, figures)
    return figures


# --- Setting up ---------------------------------------------------------------------------------


def _seed(sandbox: Any):
    """An organisation whose admin connected Salesforce through the consent flow; sync on;
    statuses following the Lead Status picklist."""
    from copilot.models import Role
    from engage.services.crm.configuration import crm_settings_update, crm_statuses_follow_mapping
    from tests.integrations.salesforce.conftest import sandbox_connection

    org, admin = support.create_org_user(
        "Bench Salesforce Co",
        "admin@bench-sf.example",
        "bench-admin-password",
        role=Role.ADMINISTRATOR,
        first_name="Ada",
        last_name="Admin",
    )
    sf_connection = sandbox_connection(sandbox, org, admin)
    crm_settings_update(organization=org, actor=admin, sync_enabled=True)
    assert crm_statuses_follow_mapping(organization=org, actor=admin)
    return org, admin, sf_connection


def _salesforce_leads(sandbox: Any) -> list[str]:
    """Exactly ``LEADS`` Leads, loaded into Salesforce well before the poll, as an org's data is:
    the demo org's own Leads went to the recycle bin two hours ago and 100,000 were generated an
    hour ago (so neither sits in the sync's 10-minute lookback when the idle cycle runs)."""
    from integrations.sandbox.salesforce import control as sf

    state = sandbox.state
    sf.advance_clock(state, hours=-2)
    demo = [i for i, r in sf.store(state).records["Lead"].items() if not r.get("IsDeleted")]
    for record_id in demo:
        sf.delete_record(state, "Lead", record_id)
    sf.advance_clock(state, hours=1)
    t0 = time.perf_counter()
    ids = sf.generate(state, "Lead", LEADS)
    seconds = time.perf_counter() - t0
    sf.advance_clock(state, hours=1)  # back to real time
    print(f"generated {LEADS:,} Leads in the sandbox in {seconds:.1f}s ({len(demo):,} demo Leads deleted)")
    return ids


def _lead_rows(sandbox: Any, lead_ids: list[str]) -> list[tuple[str | None, ...]]:
    """The Leads' mapped fields as text, as the bare load writes them (built before it is timed)."""
    from integrations.sandbox.salesforce import control as sf

    records = sf.store(sandbox.state).records["Lead"]
    return [
        tuple(None if records[i].get(f) is None else str(records[i][f]) for f in LEAD_FIELDS)
        for i in lead_ids
    ]


def _queued_poll(org, admin):
    """A poll started as the page starts it, without running its task (the run is measured)."""
    from unittest import mock

    from engage.services.crm import poll as crm_poll

    with mock.patch("engage.tasks.crm_poll_run.delay"):
        return crm_poll.poll_start(organization=org, sobject="Lead", actor=admin)


def _change_leads(sandbox: Any, lead_ids: list[str]) -> list[str]:
    """1,000 Leads edited as a Salesforce user would (converted ones cannot be), a second after
    the poll so their SystemModstamp is later than Engage's copy."""
    from integrations.sandbox.salesforce import control as sf

    time.sleep(1.1)
    state = sandbox.state
    records = sf.store(state).records["Lead"]
    open_leads = [i for i in lead_ids if not records[i].get("IsConverted")]
    changed = random.Random(2).sample(open_leads, CHANGES)
    for record_id in changed:
        sf.update_record(state, "Lead", record_id, {"Title": "Changed in Salesforce"})
    return changed


def _incremental(sf_connection):
    from integrations.sync import states as sync_states
    from integrations.sync.engine import run as run_incremental

    state = sync_states.sync_state_get_or_create(connection=sf_connection, object_name="Lead")
    return run_incremental(sync_state_id=state.pk)


def _check_values(sandbox: Any, org, sample: list[str]) -> None:
    """Contacts hold what Salesforce has (the default mapping)."""
    from engage.models import Contact
    from integrations.sandbox.salesforce import control as sf

    for record_id in sample:
        record = sf.get_record(sandbox.state, "Lead", record_id)
        contact = Contact.objects.select_related("status").get(organization=org, crm_id=record_id)
        assert contact.email == record["Email"].lower(), record_id
        assert (contact.first_name, contact.last_name, contact.company) == (
            record["FirstName"],
            record["LastName"],
            record["Company"],
        ), record_id
        assert (contact.title, contact.city) == (record["Title"], record["City"]), record_id
        assert contact.status.crm_value == record["Status"], record_id
        assert contact.email_opt_out == bool(record.get("HasOptedOutOfEmail")), record_id
        assert contact.source == "crm"


# --- Measuring ----------------------------------------------------------------------------------


def _api_calls(sandbox: Any) -> int:
    """REST calls the sandbox's Salesforce answered so far (the OAuth endpoints aside)."""
    from integrations.sandbox.salesforce import control as sf

    return sum(sf.api_calls(sandbox.state).values())


class _QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


class _CallTimer:
    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0

    def reset(self) -> None:
        self.seconds, self.calls = 0.0, 0


def _time_calls(obj: Any, name: str) -> _CallTimer:
    """Time every call of ``obj.name`` from now on (the instance the sync engine holds)."""
    timer = _CallTimer()
    original = getattr(obj, name)

    def timed(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            timer.seconds += time.perf_counter() - t0
            timer.calls += 1

    setattr(obj, name, timed)
    return timer


def _summary(result: Any) -> str:
    fields = ("created", "updated", "unchanged", "unlinked", "pages", "stopped")
    parts = [f"{f} {getattr(result, f)}" for f in fields if hasattr(result, f)]
    errors = getattr(result, "errors", None)
    if errors:
        parts.append(f"errors {len(errors)}")
    return ", ".join(parts)
